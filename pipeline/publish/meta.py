"""What datasette shows about the archive: descriptions, facets, sort orders,
labels and canned queries.  Supplied by the plugin's ``get_metadata`` and
``canned_queries`` hooks, so a plain ``datasette archive.db`` gets them too."""
from __future__ import annotations

from pipeline.archive import search

ISSUES_COLUMNS = {
    "id": "Stable id: first 16 hex digits of the SHA-256 of the input file (cite this)",
    "source_path": "Input file (or folder of page images) the issue was read from",
    "source_sha256": "SHA-256 of the input",
    "title": "Masthead, e.g. 机关事务工作简报",
    "publisher": "编印单位 (issuing body)",
    "year": "Year of the issue",
    "issue_no": "Issue number within the year (第N期)",
    "total_no": "Running number (总第N期)",
    "special": "特刊 / 增刊 if a special issue",
    "date": "Date printed under the masthead (ISO)",
    "printed_date": "印发 date from the footer (ISO)",
    "copies": "印数 (print run)",
    "disclosure": "信息公开选项",
    "recipients": "主送/报/送 (JSON list)",
    "cc": "抄送 (JSON list)",
    "doc_type": "bulletin, official_document (公文), report, or other",
    "doc_no": "文号 of a 公文, as printed",
    "page_count": "Pages in the input",
    "article_count": "Articles segmented",
    "toc": "本期提要 entries (JSON list)",
    "sections": "Section headings in order (JSON list)",
    "flags": "Problems noticed while reading (JSON list)",
    "needs_review": "1 if flagged or any page read with low confidence",
    "confidence": "Lowest page confidence (0-1)",
    "methods": "How pages were read: text-layer, rapidocr, tesseract",
    "loaded_at": "When this issue was written to the archive (UTC)",
}
ARTICLES_COLUMNS = {
    "id": "Stable id derived from the issue id and seq",
    "issue_id": "The issue this article appeared in",
    "seq": "Position of the article in the issue",
    "section": "Section (栏目) the article is printed under",
    "title": "Headline",
    "subtitle": "Sub-headline, if any",
    "body": "Full text, paragraphs separated by newlines",
    "page_start": "First page (links to the page record)",
    "page_end": "Last page",
    "event_date": "First date mentioned as when the reported event happened (ISO)",
    "event_dates": "All event dates (JSON list)",
    "boxes": "Regions on the pages, [[page, x0, top, x1, bottom], ...] in points",
    "confidence": "Reading confidence (0-1)",
    "needs_review": "1 if read with low confidence",
    "run_in": "1 if the title was the first sentence of a paragraph",
}
PAGES_COLUMNS = {
    "id": "<issue id>-<page no>",
    "issue_id": "The issue",
    "page_no": "Page number within the input (1-based)",
    "text": "Reading-order text of the page",
    "method": "text-layer, rapidocr or tesseract",
    "confidence": "Mean line confidence (0-1)",
    "needs_review": "1 if read with low confidence",
    "engine_version": "OCR engine and version",
    "dpi": "Resolution the page was rendered/scanned at",
    "rotation": "Rotation applied before OCR (degrees)",
    "skew": "Skew corrected before OCR (degrees)",
    "width": "Page width (points)",
    "height": "Page height (points)",
    "image_path": "Stored page image with line boxes",
    "source": "File (and frame) the page came from",
}

SEARCH_SQL = f"""select a.id as article_id, a.issue_id, i.date, i.publisher, a.section, a.title,
  bulletin_snippet(coalesce(a.body, a.title), :q) as snippet, a.page_start,
  round(-{search.FTS_TABLE}.rank, 3) as score
from {search.FTS_TABLE}
  join articles a on a.id = {search.FTS_TABLE}.rowid
  join issues i on i.id = a.issue_id
where {search.FTS_TABLE} match bulletin_match(:q)
order by {search.FTS_TABLE}.rank
limit 100"""

ARTICLE_PAGES_SQL = """select p.id, p.page_no, p.method, p.confidence, p.image_path, p.text
from articles a join pages p on p.issue_id = a.issue_id
  and p.page_no between a.page_start and coalesce(nullif(a.page_end, 0), a.page_start)
where a.id = :article_id
order by p.page_no"""


def database_metadata(db_name: str = "archive") -> dict:
    """Descriptions, facets and sort orders of one archive database."""
    return {
        "description_html": (
            "The archive. Cite an issue by its id (content hash) and an article by its id. "
            "Read an article with its page images: click its title. "
            "Search works in Chinese, traditional or simplified, including names and full unit names: "
            f'<a href="/{db_name}/search_articles?q=公务用车">search_articles?q=公务用车</a> (ranked, with snippets), '
            f'or the search box of <a href="/{db_name}/articles">articles</a> / '
            f'<a href="/{db_name}/{search.VIEW}">{search.VIEW}</a> (with year/publisher/section facets). '
            "Separate words with spaces to require all of them; -word excludes; a OR b."),
        "tables": {
            "issues": {
                "description": "One row per input (bulletin issue rendition). Renditions of one issue "
                               "(born-digital and scan) are grouped in renditions.",
                "columns": ISSUES_COLUMNS,
                "facets": ["doc_type", "publisher", "year", "needs_review"],
                "sort_desc": "date",
                "label_column": "title",
            },
            "articles": {
                "description": "One row per article, with full text (long cells are cut; the title opens the "
                               "reading view). The search box accepts Chinese (bigram index, exact substring).",
                "columns": ARTICLES_COLUMNS,
                "facets": ["section"],
                "sort_desc": "event_date",
                "label_column": "title",
            },
            search.VIEW: {
                "description": "Articles with their issue's date, year and publisher — for browsing "
                               "and faceting. The search box works here too.",
                "facets": ["year", "publisher", "section"],
                "sort_desc": "date",
                "label_column": "title",
            },
            "pages": {
                "description": "One row per page: reading-order text and how it was read.",
                "columns": PAGES_COLUMNS,
                "facets": ["method", "needs_review"],
                "sort": "id",
                "label_column": "id",
            },
            "failures": {
                "description": "Inputs that could not be processed, with the stage and error.",
                "facets": ["stage"],
                "sort_desc": "at",
            },
            "corrections": {
                "description": "Corrections made by people (bulletin correct): who, when, the value before "
                               "and after. Re-applied whenever an issue is loaded again.",
                "facets": ["target", "field", "by"],
                "sort_desc": "id",
            },
            "renditions": {
                "description": "Inputs that are renditions of one issue (born-digital and scan): "
                               "edition_id is the best rendition, rank 0.",
            },
            "page_lines": {"description": "Every line's text and box (points), for ALTO and PDF exports.",
                           "hidden": True},
            search.FTS_TABLE: {"hidden": True},
            search.META_TABLE: {"hidden": True},
        },
    }


def metadata(db_names=("archive",)) -> dict:
    """Instance metadata for the archive databases ``db_names``."""
    return {
        "title": "Bulletin archive · 简报档案",
        "description_html": (
            "Chinese government bulletins (简报) read into one archive: issues, articles and pages, "
            "each article readable beside its page images at /-/bulletin/article/&lt;id&gt;."),
        "license": "Source documents are public government publications",
        "databases": {name: database_metadata(name) for name in db_names},
    }


def canned_queries(renditions: bool) -> dict:
    """The canned queries; with ``renditions``, search shows the best rendition of an issue only."""
    sql = SEARCH_SQL
    if renditions:
        sql = sql.replace("where {fts} match".format(fts=search.FTS_TABLE),
                          "where a.issue_id not in (select issue_id from renditions where rank > 0)\n"
                          "  and {fts} match".format(fts=search.FTS_TABLE))
    return {
        "search_articles": {
            "title": "Search articles",
            "description": "Ranked full-text search (title matches first) with snippets; one hit per issue "
                           "when an issue has several renditions. "
                           "Examples: 公务用车, 節能, 郭春英, 四川省机关事务管理局, CCER, 2023年.",
            "sql": sql,
        },
        "article_pages": {
            "title": "Pages of an article",
            "description": "The page records (text, image) an article is printed on.",
            "sql": ARTICLE_PAGES_SQL,
        },
    }
