"""Typed structures that flow between the pipeline stages.

ingest -> Document; text -> list[Page]; layout -> list[Block];
segment -> list[Article]; extract -> IssueMeta (+ article fields); load -> SQLite.

Every structure is a plain dataclass that round-trips through JSON
(``to_dict`` / ``from_dict``) so each stage can persist its result under
``data/processed/<doc_id>/`` and be re-run alone.
"""
from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass, field
from typing import Optional

# Box = (x0, top, x1, bottom) in page points (1/72 inch), origin top-left.
# OCR pixel boxes are converted to points (px * 72 / dpi) so that layout sees
# one unit whatever the source.
Box = tuple[float, float, float, float]


class Role:
    """Block roles assigned by the layout stage."""
    MASTHEAD = "masthead"
    ISSUE_LINE = "issue_line"          # 2021 年第 4 期 / 第七期 / 特刊 / （总第 103 期）
    PUBLISHER_DATE = "publisher_date"  # 编印单位 and/or date under the masthead
    TOC_HEADING = "toc_heading"        # 本期提要 / 目录
    TOC_ENTRY = "toc_entry"
    SECTION = "section"
    TITLE = "title"
    SUBTITLE = "subtitle"
    BODY = "body"
    FOOTER = "footer"                  # 信息公开选项, 主送/抄送, 报/送/发, 印发, 印数
    PAGE_NUMBER = "page_number"
    RUNNING_HEADER = "running_header"  # also a serial number (№ 0002798, 编号…) above the masthead
    DOC_NO = "doc_no"                  # 文号 of a 公文: 发改办财金规〔2019〕860号
    RECIPIENTS = "recipients"          # 主送 of a 公文: the unlabelled list ending in ： under the title
    SIGNATURE = "signature"            # 落款 of a 公文: issuer(s) and 成文日期 under the text
    TABLE = "table"                    # a table row or caption: body text, never a heading


class DocType:
    """What kind of document an input is (``IssueMeta.doc_type``)."""
    BULLETIN = "bulletin"                    # masthead + 期号 (简报, 快报, 动态 …)
    OFFICIAL = "official_document"           # 公文: …文件 masthead, 文号, 主送, 落款
    REPORT = "report"                        # a titled report without masthead
    OTHER = "other"                          # anything else: a leaflet, a standard


@dataclass
class Line:
    """One printed line, from the PDF text layer or from an OCR engine."""
    text: str
    box: Box
    page_no: int
    size: float                 # font size in points (OCR: box height in points)
    color: str = "black"        # "red" for red ink, else "black"
    bold: bool = False          # heading font (黑体/粗体) on the whole line
    bold_prefix: int = 0        # leading characters set in a heading font (run-in titles)
    font: str = ""
    confidence: float = 1.0     # 0..1; 1.0 for a trustworthy text layer
    centered: bool = False      # set by layout


@dataclass
class Region:
    """A block of the page found by ``read.regions``: a column of text, a
    full-width band (masthead, title) or a figure; ``order`` is its place in
    reading order."""
    kind: str                   # "column", "band", "figure"
    box: Box
    order: int = 0
    confidence: float = 1.0     # 0..1: how clearly the block stands apart


@dataclass
class Page:
    """A page's lines in reading order, plus provenance of how they were read."""
    page_no: int                # 1-based within the input
    width: float                # points
    height: float
    lines: list[Line] = field(default_factory=list)
    method: str = "text-layer"  # "text-layer", "rapidocr", "tesseract"
    confidence: float = 1.0     # mean line confidence
    engine_version: str = ""
    dpi: Optional[int] = None
    rotation: int = 0           # 0/90/180/270 applied before OCR
    skew: float = 0.0           # degrees corrected before OCR
    image_path: Optional[str] = None   # stored page image with line boxes
    source: str = ""            # file (and frame) the page came from
    text: str = ""              # reading-order text without page number (set by layout)
    regions: list[Region] = field(default_factory=list)   # OCR pages: columns/bands in reading order


@dataclass
class PageSource:
    """Where one page of a document comes from and how it must be read."""
    page_no: int
    path: str                   # file holding the page
    index: int = 0              # page/frame index inside that file
    kind: str = "pdf"           # "pdf" or "image"
    needs_ocr: bool = False
    reason: str = ""            # why the text layer was rejected (for the record)
    crop: Optional[tuple[float, float]] = None   # x range (share of width) of one page of a photographed spread
    scan_dpi: Optional[int] = None   # a PDF page that is one scanned image: the scan's resolution


@dataclass
class Document:
    """An input discovered by ingest: one bulletin issue."""
    doc_id: str                 # first 16 hex digits of the content hash
    source_path: str            # the input file, or the folder of page images
    sha256: str
    kind: str                   # "pdf", "tiff", "image", "image-folder"
    pages: list[PageSource] = field(default_factory=list)


@dataclass
class Block:
    """Consecutive lines with one role (a paragraph, a heading, a footer item)."""
    role: str
    lines: list[Line]
    text: str = ""              # joined text of the lines (no spurious spaces)

    @property
    def page_no(self) -> int:
        return self.lines[0].page_no if self.lines else 0


@dataclass
class Article:
    seq: int
    title: str
    section: Optional[str] = None
    subtitle: Optional[str] = None
    body: str = ""              # paragraphs joined with "\n"
    page_start: int = 0
    page_end: int = 0
    event_date: Optional[str] = None          # first event date (ISO)
    event_dates: list[str] = field(default_factory=list)
    boxes: list[tuple[int, float, float, float, float]] = field(default_factory=list)  # (page, x0, top, x1, bottom)
    confidence: float = 1.0
    run_in: bool = False        # title was the first sentence of the paragraph
    units: list[str] = field(default_factory=list)    # filled by entities


@dataclass
class IssueMeta:
    title: Optional[str] = None         # masthead
    publisher: Optional[str] = None     # 编印单位
    year: Optional[int] = None
    issue_no: Optional[int] = None
    total_no: Optional[int] = None
    special: Optional[str] = None       # 特刊 / 增刊
    date: Optional[str] = None          # ISO
    printed_date: Optional[str] = None
    copies: Optional[int] = None
    disclosure: Optional[str] = None
    recipients: list[str] = field(default_factory=list)
    cc: list[str] = field(default_factory=list)
    toc: list[str] = field(default_factory=list)      # 本期提要 entries
    sections: list[str] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)    # e.g. "no-masthead", "no-issue-no", "low-confidence"
    doc_type: Optional[str] = None      # DocType value
    doc_no: Optional[str] = None        # 文号 as printed (公文 only)


@dataclass
class Issue:
    """Everything the load stage writes for one input."""
    doc: Document
    meta: IssueMeta
    pages: list[Page]
    articles: list[Article]


# --------------------------------------------------------------------------
# JSON round-trip


def to_dict(obj):
    return dataclasses.asdict(obj)


def from_dict(cls, data):
    """Rebuild a (nested) dataclass from ``to_dict`` output."""
    if data is None:
        return None
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for f in dataclasses.fields(cls):
        if f.name not in data:
            continue
        kwargs[f.name] = _convert(hints[f.name], data[f.name])
    return cls(**kwargs)


def _convert(tp, value):
    if value is None:
        return None
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if dataclasses.is_dataclass(tp):
        return from_dict(tp, value)
    if origin is list:
        return [_convert(args[0], v) for v in value]
    if origin is tuple:
        return tuple(value)
    if origin is typing.Union:  # Optional[X]
        inner = [a for a in args if a is not type(None)]
        return _convert(inner[0], value) if inner else value
    return value
