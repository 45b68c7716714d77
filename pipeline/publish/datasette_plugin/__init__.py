"""Datasette plugin (entry point ``bulletin_archive``).

* ``prepare_connection`` registers the search SQL functions of
  :mod:`pipeline.archive.search` (``bulletin_match``, ``bulletin_snippet``, ...), so
  canned queries can say ``where articles_fts match bulletin_match(:q)``.
* ``filters_from_request`` makes the ordinary table search box of
  ``articles`` work in Chinese: ``?_search=公务用车`` (and
  ``?_search_title=`` / ``?_search_body=``) become
  ``id in (select rowid from articles_fts where articles_fts match
  bulletin_match(:q))``.  The contentless bigram index is not auto-detected
  by datasette, so its built-in (escape_fts) search never runs on
  ``articles``; this hook runs after it and switches the search box on.
* ``render_cell`` links article titles (tables, views, search results) to the
  reading view, an article's pages to the ``pages`` rows and page images to
  the image route, cuts long cells, and turns 【】 marks of snippet columns
  into ``<mark>``.
* ``get_metadata`` / ``canned_queries`` supply descriptions, facets, sort
  orders and the search queries (:mod:`pipeline.publish.meta`), so a plain
  ``datasette archive.db`` gets them too.
* ``register_routes``: the reading view ``/-/bulletin/article/<id>`` and page
  images ``/-/bulletin/image/<page id>``, served only from the archive's own
  image folder (:func:`pipeline.archive.pageimages.resolve`).
* templates/index.html lists issues and articles first; static/bulletin.css
  hides the ``boxes`` column of table views.
"""
from __future__ import annotations

import html
import re

from datasette import hookimpl
from datasette.filters import FilterArguments
from datasette.utils.asgi import Response
from markupsafe import Markup

from pipeline.archive import pageimages, readonly, search
from pipeline.publish import meta, reading

PLUGIN = "bulletin-archive"


@hookimpl
def prepare_connection(conn):
    search.register_functions(conn)
    readonly.limit_connection(conn)     # no value over MAX_VALUE_BYTES (time limits cannot stop allocations)


async def _has_index(datasette, database) -> bool:
    db = datasette.get_database(database)
    return await db.table_exists(search.FTS_TABLE)


@hookimpl(trylast=True)
def filters_from_request(request, database, table, datasette):
    if table not in ("articles", search.VIEW):
        return None

    async def inner():
        if not await _has_index(datasette, database):
            return None
        where, params, human = [], {}, []
        extra = {"supports_search": True}
        for key in request.args:
            if key == "_search":
                column = None
            elif key in ("_search_title", "_search_body"):
                column = key[len("_search_"):]
            else:
                continue
            q = request.args.get(key)
            if not q or not search.match_expression(q):
                continue
            name = f"bulletin_q_{len(params)}"
            params[name] = q
            col = f", '{column}'" if column else ""
            where.append(
                f"id in (select rowid from {search.FTS_TABLE} where {search.FTS_TABLE}"
                f" match bulletin_match(:{name}{col}))")
            human.append(f'{column or "text"} contains "{q}"')
            extra["search"] = q
        return FilterArguments(where, params, human, extra)

    return inner


_MARK = re.compile("【(.*?)】", re.S)


CELL_LIMIT = 160        # characters of a long text cell shown in table views (the rest: reading view)
LONG_COLUMNS = ("body", "text", "toc", "recipients", "cc", "sections", "old_value", "new_value")
ARTICLE_TABLES = ("articles", search.VIEW)
ROUTE = "/-/bulletin"


def article_url(article_id) -> str:
    return f"{ROUTE}/article/{int(article_id)}"


def image_url(page_id: str) -> str:
    return f"{ROUTE}/image/{page_id}"


def _link(url: str, text: str) -> Markup:
    return Markup(f'<a href="{html.escape(url)}">{html.escape(text)}</a>')


def _get(row, key):
    try:
        return row[key]
    except (KeyError, IndexError, TypeError):
        return None


@hookimpl
def render_cell(row, value, column, table, database, datasette):
    if column == "snippet" and isinstance(value, str) and "【" in value:
        return Markup(_MARK.sub(r"<mark>\1</mark>", html.escape(value)))
    if column == "title" and isinstance(value, str) and value:
        aid = _get(row, "article_id") if table is None else _get(row, "id") if table in ARTICLE_TABLES else None
        if aid is not None:
            return _link(article_url(aid), value)
    if column == "article_id" and isinstance(value, int):
        return _link(article_url(value), str(value))
    if table == "articles" and column == "boxes" and value:
        return Markup(f'<span class="bulletin-boxes">{value.count("[") - 1} boxes</span>')
    if (table == search.VIEW and column == "id" or table in ("articles", "pages", search.VIEW)
            and column == "issue_id") and isinstance(value, (str, int)) and value:
        # (the table view expands foreign keys itself; the row page and the view do not)
        target = "articles" if column == "id" else "issues"
        return _link(datasette.urls.row(database, target, str(value)), str(value))
    if table in ARTICLE_TABLES and column in ("page_start", "page_end") and value:
        issue_id = _get(row, "issue_id")
        if issue_id is None:
            return None
        return _link(datasette.urls.row(database, "pages", f"{issue_id}-{value}"), f"p.{int(value)}")
    if table == "pages" and column == "image_path" and value:
        page_id = _get(row, "id")
        if page_id:
            return _link(image_url(page_id), str(value))
    if column in LONG_COLUMNS and isinstance(value, str) and len(value) > CELL_LIMIT:
        more = ""
        if table == "articles" and _get(row, "id") is not None:
            more = f' <a href="{html.escape(article_url(row["id"]))}">read…</a>'
        return Markup(f'<span title="{len(value)} characters">{html.escape(value[:CELL_LIMIT])}…</span>{more}')
    return None


# --------------------------------------------------------------------------
# metadata, canned queries, styles

def _archive_names(datasette) -> list[str]:
    return [name for name, db in datasette.databases.items()
            if not getattr(db, "is_memory", False) and name != "_internal"]


@hookimpl
def get_metadata(datasette, key, database, table):
    return meta.metadata(_archive_names(datasette))


@hookimpl
def canned_queries(datasette, database, actor):
    async def inner():
        if database not in _archive_names(datasette):
            return None
        db = datasette.get_database(database)
        if not await db.table_exists("articles") or not await db.table_exists(search.FTS_TABLE):
            return None
        return meta.canned_queries(await db.table_exists("renditions"))
    return inner


FIRST_TABLES = ("issues", "articles")     # listed first on the home page


@hookimpl
def extra_template_vars(template, datasette):
    if template != "index.html":
        return {}

    async def inner():
        first = {}
        for name in _archive_names(datasette):
            db = datasette.get_database(name)
            first[name] = [t for t in FIRST_TABLES if await db.table_exists(t)]
        return {"bulletin_first_tables": first}
    return inner


@hookimpl
def extra_css_urls(datasette):
    return ["/-/static-plugins/bulletin-archive/bulletin.css"]


# --------------------------------------------------------------------------
# the reading view and page images

async def _find_article(datasette, article_id: int):
    for name in _archive_names(datasette):
        db = datasette.get_database(name)
        if not await db.table_exists("articles"):
            continue
        rows = await db.execute("select 1 from articles where id = ?", [article_id])
        if rows.first():
            return name, db
    return None, None


async def reading_view(datasette, request):
    try:
        article_id = int(request.url_vars["article_id"])
    except ValueError:
        return Response.text("not an article id", status=404)
    name, db = await _find_article(datasette, article_id)
    if db is None:
        return Response.html(f"<h1>No article {article_id}</h1>", status=404)
    ctx = await db.execute_fn(lambda conn: reading.article_context(conn, article_id))
    if ctx is None:
        return Response.html(f"<h1>No article {article_id}</h1>", status=404)
    for p in ctx["pages"]:
        if p.get("image_path") and pageimages.resolve(db.path, p["image_path"]) is not None:
            p["image_url"] = image_url(p["id"])
    urls = {"home": datasette.urls.instance(),
            "article": article_url,
            "issue": lambda iid: datasette.urls.row(name, "issues", iid),
            "row_article": lambda aid: datasette.urls.row(name, "articles", str(aid))}
    return Response.html(reading.render_article(ctx, urls))


async def page_image(datasette, request):
    page_id = request.url_vars["page_id"]
    for name in _archive_names(datasette):
        db = datasette.get_database(name)
        if not db.path or not await db.table_exists("pages"):
            continue
        row = (await db.execute("select image_path from pages where id = ?", [page_id])).first()
        if row is None:
            continue
        path = pageimages.resolve(db.path, row[0])
        if path is None:
            break
        ctype = "image/png" if path.suffix.lower() == ".png" else "image/jpeg"
        return Response(path.read_bytes(), content_type=ctype,
                        headers={"cache-control": "max-age=3600"})
    return Response.text("no image", status=404)


@hookimpl
def register_routes(datasette):
    return [
        (rf"^{ROUTE}/article/(?P<article_id>[0-9]+)$", reading_view),
        (rf"^{ROUTE}/image/(?P<page_id>[0-9a-zA-Z_.]+-[0-9]+)$", page_image),
    ]
