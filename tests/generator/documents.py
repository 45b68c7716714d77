"""Bulletin generator: documents that are not the house bulletin.

Real archives hold 公文 (发文机关标志 …文件, 文号, 主送, 落款, 版记), bulletins
printed in older conventions (a two-line masthead, 期号 as ``（93）``, a
Chinese-numeral date, a copy's serial number ``№ 0002798`` in the corner),
reports without masthead (with statistical tables) and leaflets. A
:class:`DocumentSpec` describes one; :func:`render_document` lays it out into a
born-digital PDF and returns the truth in the corpus format (with
``issue.doc_type`` and ``issue.doc_no``).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Union

from generator.pdf import (BLACK, BODY, BODY_BOTTOM, BODY_SIZE, HEI, LEFT, PAGE_H, PAGE_W, RED, RIGHT,
                           _centered, _Layout, _paragraph, _PLine, _runs_from_chars, _text_width, draw_pages,
                           register_fonts)
from generator.spec import Heading, _para_text, cn_date

OFFICIAL, BULLETIN, REPORT, OTHER = "official_document", "bulletin", "report", "other"


@dataclass
class DocumentSpec:
    """One document. ``kind`` is its doc_type; the fields used depend on it.

    official_document: ``organs`` (one line each, stacked beside a tall 文件
    when there are two or more), ``doc_no``, ``recipients`` (主送, printed as
    one list ending in ：), ``issuers`` (落款, one line each), ``date`` (成文日期),
    ``cc``/``printed_by``/``printed_date``/``copies`` (版记).
    bulletin: ``masthead_lines``, ``issue_no`` printed as （N）, ``date`` in
    Chinese numerals, ``serial`` printed top right, several ``articles``.
    report / other: ``title_lines`` at the top, no masthead, ``table`` rows
    (the first a caption) after ``table_after`` paragraphs.
    """
    id: str
    kind: str
    title: str = ""                                  # the (first) article's title
    title_lines: Optional[list[str]] = None
    subtitle: Optional[str] = None
    paragraphs: list[Union[str, Heading]] = field(default_factory=list)
    organs: list[str] = field(default_factory=list)
    doc_no: Optional[str] = None
    recipients: list[str] = field(default_factory=list)
    issuers: list[str] = field(default_factory=list)
    date: Optional[str] = None
    cc: list[str] = field(default_factory=list)
    printed_by: Optional[str] = None
    printed_date: Optional[str] = None
    copies: Optional[int] = None
    masthead_lines: list[str] = field(default_factory=list)
    issue_no: Optional[int] = None
    serial: Optional[str] = None
    articles: list[tuple[str, list[str]]] = field(default_factory=list)   # further (title, paragraphs)
    publisher: Optional[str] = None                  # truth publisher of a report (from its title)
    year: Optional[int] = None
    table: list[list[str]] = field(default_factory=list)
    table_after: int = 1
    title_size: float = 22.0


MAST_SIZE = 34.0
TABLE_SIZE = 11.0


def _mix(text: str, font: str) -> list[tuple[str, str]]:
    return [(c, font) for c in text]


def _line(lay: _Layout, text: str, font: str, size: float, x: float, line_h: float, color=BLACK, **kw):
    return lay.add_line(line_h, size, _runs_from_chars(_mix(text, font), size, color), x, text, **kw)


def _paragraphs(lay: _Layout, paras, art: int):
    for p in paras:
        if isinstance(p, Heading):
            _paragraph(lay, _mix(p.text, HEI), art)
        else:
            _paragraph(lay, _mix(p, BODY), art)


def _title(lay: _Layout, spec: DocumentSpec, art: int):
    for t in spec.title_lines or [spec.title]:
        _centered(lay, t, HEI, spec.title_size, spec.title_size * 1.5, art=art, role="title")
    if spec.subtitle:
        _centered(lay, "——" + spec.subtitle, BODY, BODY_SIZE, 28, art=art, role="subtitle")
    lay.y += 10


def _table(lay: _Layout, rows: list[list[str]], art: int):
    lay.y += 6
    caption, *cells = rows
    _centered(lay, caption[0], BODY, TABLE_SIZE, 20, art=art, role="table")
    xs = [LEFT + 10 + k * (RIGHT - LEFT - 20) / max(len(r) for r in cells) for k in range(8)]
    for r in cells:
        pl = lay.add_line(20, TABLE_SIZE, [], xs[0], " ".join(r), art=art, role="table")
        pl.segments = [(xs[k], _runs_from_chars(_mix(c, BODY), TABLE_SIZE)) for k, c in enumerate(r)]
        lay.rule(lay.y - 3, 0.5)
    lay.y += 6


def _official_front(lay: _Layout, spec: DocumentSpec):
    lay.y = 70.0
    if len(spec.organs) > 1:
        # joint masthead: organs stacked on the left, one 文件 beside them, centred on the stack
        top = lay.y
        x = LEFT + 20
        for o in spec.organs:
            _line(lay, o, HEI, MAST_SIZE, x, MAST_SIZE * 1.1, RED, bold_outline=True, role="masthead")
        mid = (top + lay.y) / 2
        wide = max(_text_width(o, HEI, MAST_SIZE) for o in spec.organs)
        pl = _PLine(runs=_runs_from_chars(_mix("文件", HEI), MAST_SIZE, RED), x=x + wide + 28,
                    baseline=mid + 0.36 * MAST_SIZE, text="文件", bold_outline=True, role="masthead")
        lay.pages[-1].append(pl)
    else:
        _centered(lay, spec.organs[0] + "文件", HEI, MAST_SIZE, MAST_SIZE * 1.4, RED, bold_outline=True,
                  role="masthead")
    lay.y += 14
    _centered(lay, spec.doc_no, BODY, BODY_SIZE, 26, role="doc_no")
    lay.rule(lay.y + 4, 2.0, RED)
    lay.y += 30


def _signature(lay: _Layout, spec: DocumentSpec):
    lay.y += 30
    y, m, d = (int(x) for x in spec.date.split("-"))
    lines = list(spec.issuers) + [cn_date(spec.date) if not spec.issuers else f"{y}年{m}月{d}日"]
    for t in lines:
        w = _text_width(t, BODY, BODY_SIZE)
        _line(lay, t, BODY, BODY_SIZE, RIGHT - 4 * BODY_SIZE - w, 29, art=0, role="signature")


def _colophon(lay: _Layout, spec: DocumentSpec):
    """版记 at the foot of the last page, between rules."""
    rows = (1 if spec.cc else 0) + (1 if spec.printed_by else 0) + (1 if spec.copies else 0)
    top = BODY_BOTTOM - rows * 26 - 12
    if lay.y + 10 > top:
        lay.new_page()
    lay.y = top
    lay.rule(lay.y, 1.0)
    lay.y += 4
    if spec.cc:
        _line(lay, "抄送：" + "，".join(spec.cc) + "。", BODY, 14, LEFT + 14, 26, role="footer")
    if spec.printed_by:
        y, m, d = (int(x) for x in spec.printed_date.split("-"))
        right = f"{y}年{m}月{d}日印发"
        pl = lay.add_line(26, 14, [], LEFT + 14, f"{spec.printed_by} {right}", role="footer")
        pl.segments = [(LEFT + 14, _runs_from_chars(_mix(spec.printed_by, BODY), 14)),
                       (RIGHT - 14 - _text_width(right, BODY, 14), _runs_from_chars(_mix(right, BODY), 14))]
    if spec.copies:
        t = f"（共印{spec.copies}份）"
        _line(lay, t, BODY, 14, RIGHT - 14 - _text_width(t, BODY, 14), 26, role="footer")
    lay.rule(lay.y + 2, 1.0)


def layout_document(spec: DocumentSpec) -> _Layout:
    register_fonts()
    lay = _Layout()
    if spec.kind == OFFICIAL:
        _official_front(lay, spec)
        _title(lay, spec, 0)
        _paragraph(lay, _mix("，".join(spec.recipients) + "：", BODY), None, first_indent=0, role="recipients")
        _paragraphs(lay, spec.paragraphs, 0)
        _signature(lay, spec)
        _colophon(lay, spec)
        return lay
    if spec.kind == BULLETIN:
        lay.y = 50.0
        if spec.serial:
            t = spec.serial
            _line(lay, t, BODY, 12, RIGHT - _text_width(t, BODY, 12), 22, role="serial")
        for ml in spec.masthead_lines:
            _centered(lay, ml, HEI, MAST_SIZE, MAST_SIZE * 1.35, RED, bold_outline=True, role="masthead")
        _centered(lay, f"（{spec.issue_no}）", BODY, BODY_SIZE, 28, role="issue_line")
        _centered(lay, cn_date(spec.date), BODY, BODY_SIZE, 28, role="publisher_date")
        lay.rule(lay.y + 6, 1.5, RED)
        lay.y += 24
        _title(lay, spec, 0)
        _paragraphs(lay, spec.paragraphs, 0)
        for k, (title, paras) in enumerate(spec.articles, start=1):
            lay.y += 12
            # a headline in bold body-size type
            _centered(lay, title, HEI, BODY_SIZE, 30, art=k, role="title")
            _paragraphs(lay, paras, k)
        return lay
    lay.y = 80.0
    _title(lay, spec, 0)
    _paragraphs(lay, spec.paragraphs[:spec.table_after], 0)
    if spec.table:
        _table(lay, spec.table, 0)
    _paragraphs(lay, spec.paragraphs[spec.table_after:], 0)
    return lay


def render_document(spec: DocumentSpec, path: Union[str, os.PathLike]) -> dict:
    """Lay out ``spec`` into a born-digital PDF at ``path``; return its truth dict."""
    from reportlab.pdfgen import canvas
    lay = layout_document(spec)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    c = canvas.Canvas(str(path), pagesize=(PAGE_W, PAGE_H), invariant=1, pageCompression=1)
    draw_pages(c, lay)
    c.save()
    return document_truth(spec, lay, [{"file": path.name, "condition": "digital"}])


def document_truth(spec: DocumentSpec, lay: _Layout, inputs: list[dict]) -> dict:
    first: dict[int, int] = {}
    last: dict[int, int] = {}
    for pno, items in enumerate(lay.pages, start=1):
        for it in items:
            if isinstance(it, _PLine) and it.art is not None:
                first.setdefault(it.art, pno)
                last[it.art] = pno
    titles = [spec.title] + [t for t, _ in spec.articles]
    first_body = [_para_text(p) for p in spec.paragraphs]
    if spec.table:      # table text stays inside the article, one printed row a line
        first_body[spec.table_after:spec.table_after] = [" ".join(r) for r in spec.table]
    bodies = ["\n".join(first_body)] + ["\n".join(ps) for _, ps in spec.articles]
    articles = [{"section": None, "title": t, "subtitle": spec.subtitle if k == 0 else None, "body": b,
                 "page_start": first.get(k, 0), "page_end": last.get(k, 0)}
                for k, (t, b) in enumerate(zip(titles, bodies))]
    official = spec.kind == OFFICIAL
    mast = ("".join(spec.organs) + "文件" if official else
            "".join(spec.masthead_lines) if spec.kind == BULLETIN else None)
    publisher = spec.publisher or ("、".join(spec.issuers) if official else None)
    year = int(spec.date[:4]) if spec.date else spec.year
    return {
        "id": spec.id,
        "inputs": inputs,
        "issue": {
            "title": mast, "publisher": publisher, "year": year,
            "issue_no": spec.issue_no, "total_no": None, "special": None, "date": spec.date,
            "printed_date": spec.printed_date if spec.printed_by else None, "copies": spec.copies,
            "disclosure": None, "recipients": list(spec.recipients), "cc": list(spec.cc),
            "doc_type": spec.kind, "doc_no": spec.doc_no,
        },
        "sections": [],
        "articles": articles,
        "queries": [],
        "pages": [{"page_no": n, "text": "\n".join(it.text for it in items if isinstance(it, _PLine))}
                  for n, items in enumerate(lay.pages, start=1)],
    }


_BODY = ("会议要求，各单位要提高政治站位，压紧压实责任，细化工作措施，确保各项任务落到实处，"
         "切实把会议精神转化为推动工作的强大动力。")


def document_specs() -> list[DocumentSpec]:
    """A joint 公文, an old-style bulletin, a report with a table and a leaflet."""
    return [
        DocumentSpec(
            id="doc01", kind=OFFICIAL, organs=["江北市发展改革委", "江北市财政局"],
            doc_no="江发改财〔2023〕15号", title="关于做好2023年公共机构节能工作的通知",
            recipients=["各县（市、区）发展改革局", "市直有关单位"],
            paragraphs=["为贯彻落实《公共机构节能条例》，进一步做好2023年公共机构节能工作，现就有关事项通知如下。",
                        Heading("一、总体要求"), "各地区、各部门要充分认识公共机构节能工作的重要意义。" + _BODY,
                        Heading("二、工作措施"), "（一）加强能耗统计。" + _BODY],
            issuers=["江北市发展改革委", "江北市财政局"], date="2023-03-15",
            cc=["市委办公室", "市政府办公室"], printed_by="江北市发展改革委办公室", printed_date="2023-03-16",
            copies=30),
        DocumentSpec(
            id="doc02", kind=BULLETIN, serial="№ 0002798", masthead_lines=["中共江北市委", "常委扩大会议简报"],
            issue_no=93, date="1978-10-25",
            title="市委召开常委扩大会议传达贯彻省委工作会议精神",
            title_lines=["市委召开常委扩大会议传达", "贯彻省委工作会议精神"],
            paragraphs=["十月二十五日，市委召开常委扩大会议，传达贯彻省委工作会议精神。" + _BODY,
                        "会议由市委书记主持。" + _BODY],
            articles=[("各县委认真学习会议文件", ["各县委连夜组织学习，" + _BODY, "大家一致表示，" + _BODY])]),
        DocumentSpec(
            id="doc03", kind=REPORT, title="江北市人民政府2023年政府信息公开工作年度报告",
            title_lines=["江北市人民政府", "2023年政府信息公开工作年度报告"], publisher="江北市人民政府",
            year=2023,
            paragraphs=["本报告由江北市人民政府办公室根据《中华人民共和国政府信息公开条例》要求编制。",
                        Heading("一、总体情况"), "2023年，江北市人民政府全面贯彻落实条例要求。" + _BODY,
                        Heading("二、主动公开政府信息情况"), "全年主动公开政府信息一千余条。" + _BODY],
            table=[["第二十条第（一）项"], ["信息内容", "本年制发件数", "本年废止件数", "现行有效件数"],
                   ["规章", "0", "0", "0"], ["行政规范性文件", "12", "5", "40"]],
            table_after=4),
        DocumentSpec(
            # one organ, a two-line title, no issuer printed over the date (only a seal):
            # the organ of the masthead issued it; the text runs onto a second page
            id="doc05", kind=OFFICIAL, organs=["江北市人民政府办公室"], doc_no="江政办发〔2024〕3号",
            title="江北市人民政府办公室关于印发江北市公共机构节能降碳行动方案的通知",
            title_lines=["江北市人民政府办公室关于印发江北市", "公共机构节能降碳行动方案的通知"],
            recipients=["各县（市、区）人民政府", "市政府各部门"], publisher="江北市人民政府办公室",
            paragraphs=["《江北市公共机构节能降碳行动方案》已经市政府同意，现印发给你们，请认真贯彻执行。"]
            + [_BODY * 3] * 5,
            date="2024-01-08", cc=["市委各部门"], printed_by="江北市人民政府办公室", printed_date="2024-01-09"),
        DocumentSpec(
            # a leaflet whose title is set as large as a masthead
            id="doc06", kind=OTHER, title="节约用水", title_size=40.0,
            paragraphs=["水是生命之源。" + _BODY, "请大家节约每一滴水。" + _BODY]),
        DocumentSpec(
            id="doc04", kind=OTHER, title="节约能源从我做起", subtitle="致全市居民的一封信",
            paragraphs=["问：家庭怎样节约用电？", "答：随手关灯，空调温度夏季不低于二十六度。" + _BODY,
                        "问：出行怎样节能？", "答：多乘公交，多骑自行车。" + _BODY]),
    ]
