"""Bulletin generator: pdf."""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Union

from generator.spec import ArticleSpec, BulletinSpec, Heading, _para_text, article_body, date_text, decorate_section, issue_line  # noqa: F401

# --------------------------------------------------------------------------
# Fonts and geometry

PAGE_W, PAGE_H = 595.2756, 841.8898          # A4 in points
LEFT, RIGHT = 79.4, 527.4                     # text block
BODY_TOP = 100.0                              # top of first line box (from page top)
BODY_BOTTOM = 742.0                           # lowest line box bottom
PAGE_NO_BASELINE = 777.0                      # from page top
RED = (0.86, 0.07, 0.09)
BLACK = (0.0, 0.0, 0.0)

UMING_PATH = "/usr/share/fonts/truetype/arphic/uming.ttc"
ZENHEI_PATH = "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"
BODY = "BodyMing"       # 仿宋/楷-like body: AR PL UMing CN
HEI = "HeiZen"          # 黑体: WenQuanYi Zen Hei

_fonts_ready = False
_cmaps: dict[str, set] = {}


def _find_font(path: str, family_hint: str) -> str:
    if os.path.exists(path):
        return path
    import subprocess
    try:
        out = subprocess.run(["fc-list", ":lang=zh", "file"], capture_output=True, text=True).stdout
    except OSError:
        out = ""
    for line in out.splitlines():
        f = line.split(":")[0].strip()
        if family_hint in f.lower():
            return f
    raise FileNotFoundError(f"CJK font not found: {path}")


def register_fonts() -> None:
    global _fonts_ready
    if _fonts_ready:
        return
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    body = TTFont(BODY, _find_font(UMING_PATH, "uming"), subfontIndex=0)
    hei = TTFont(HEI, _find_font(ZENHEI_PATH, "zenhei"), subfontIndex=0)
    pdfmetrics.registerFont(body)
    pdfmetrics.registerFont(hei)
    _cmaps[BODY] = set(body.face.charToGlyph)
    _cmaps[HEI] = set(hei.face.charToGlyph)
    _fonts_ready = True


_width_cache: dict[tuple[str, str], float] = {}


def _font_for(ch: str, font: str) -> str:
    if not _fonts_ready:
        register_fonts()
    if ord(ch) in _cmaps[font] or ch.isspace():
        return font
    other = HEI if font == BODY else BODY
    return other if ord(ch) in _cmaps[other] else font


def char_width(ch: str, font: str, size: float) -> float:
    key = (ch, font)
    w = _width_cache.get(key)
    if w is None:
        from reportlab.pdfbase import pdfmetrics
        register_fonts()
        w = pdfmetrics.stringWidth(ch, font, 1000.0) / 1000.0
        _width_cache[key] = w
    return w * size


# --------------------------------------------------------------------------
# Line breaking

NO_START = set("，。、；：？！”’）》」』】〕…%％·,.;:!?)]}—")
NO_END = set("“‘（《「『【〔([{")
_ASCII_WORD = re.compile(r"[A-Za-z0-9.%+\-_/:]")


def _tokens(chars: list[tuple[str, str]]) -> list[list[tuple[str, str]]]:
    """Group styled chars into unbreakable tokens.

    ASCII words/numbers stay together, ``——`` and ``……`` stay together,
    closing punctuation sticks to the token before it, opening punctuation to
    the token after it.
    """
    toks: list[list[tuple[str, str]]] = []
    i, n = 0, len(chars)
    while i < n:
        ch = chars[i][0]
        if ch.isascii() and _ASCII_WORD.match(ch):
            j = i
            while j < n and chars[j][0].isascii() and _ASCII_WORD.match(chars[j][0]):
                j += 1
            tok = chars[i:j]
            i = j
        elif ch in "—…" and i + 1 < n and chars[i + 1][0] == ch:
            tok = chars[i:i + 2]
            i += 2
        else:
            tok = [chars[i]]
            i += 1
        # leading opening punctuation glued to what follows
        if toks and toks[-1] and all(c[0] in NO_END for c in toks[-1]):
            toks[-1].extend(tok)
        # closing punctuation glued to what precedes
        elif toks and all(c[0] in NO_START for c in tok) and tok[0][0] not in "—" and not tok[0][0].isascii():
            toks[-1].extend(tok)
        else:
            toks.append(tok)
    return toks


def wrap(chars: list[tuple[str, str]], size: float, width: float,
         first_indent: float = 0.0, indent: float = 0.0) -> list[dict]:
    """Break styled characters into lines.

    Returns dicts ``{"chars", "indent", "width", "last", "hang"}``.  Closing
    punctuation that does not fit hangs into the right margin rather than
    starting a line.
    """
    toks = _tokens(chars)
    lines: list[dict] = []
    cur: list[tuple[str, str]] = []
    cur_w = 0.0
    cur_indent = first_indent

    def tw(tok):
        return sum(char_width(c, f, size) for c, f in tok)

    def flush(last: bool):
        nonlocal cur, cur_w
        lines.append({"chars": cur, "indent": cur_indent, "width": cur_w, "last": last,
                      "hang": cur_w > width - cur_indent + 0.01})
        cur, cur_w = [], 0.0

    for tok in toks:
        w = tw(tok)
        avail = width - cur_indent
        if cur and cur_w + w > avail + 0.01:
            # closing punctuation tail that alone overflows: hang it
            core = [c for c in tok if c[0] not in NO_START]
            core_w = tw(core)
            if core and cur_w + core_w <= avail + 0.01 and len(tok) - len(core) <= 2 \
                    and all(c[0] in NO_START for c in tok[len(core):]):
                cur.extend(tok)
                cur_w += w
                flush(False)
                cur_indent = indent
                continue
            flush(False)
            cur_indent = indent
        cur.extend(tok)
        cur_w += w
    if cur or not lines:
        flush(True)
    return lines


# --------------------------------------------------------------------------
# Layout


@dataclass
class _PLine:
    runs: list                    # [(text, font, size, color)]
    x: float
    baseline: float               # from page top
    text: str                     # truth text of the printed line
    charspace: float = 0.0
    art: Optional[int] = None     # article index
    bold_outline: bool = False    # fake bold (masthead)
    role: str = ""
    segments: Optional[list] = None   # [(x, runs)] for lines with separated parts


@dataclass
class _Rule:
    x0: float
    x1: float
    y: float                      # from page top
    width: float
    color: tuple = BLACK


class _Layout:
    def __init__(self):
        self.pages: list[list] = [[]]
        self.y = BODY_TOP          # top of the next line box

    @property
    def page_no(self) -> int:
        return len(self.pages)

    def new_page(self):
        self.pages.append([])
        self.y = BODY_TOP

    def room(self) -> float:
        return BODY_BOTTOM - self.y

    def add_line(self, line_h: float, size: float, runs, x, text, **kw) -> _PLine:
        if self.y + line_h > BODY_BOTTOM:
            self.new_page()
        base = self.y + line_h / 2 + 0.36 * size
        pl = _PLine(runs=runs, x=x, baseline=base, text=text, **kw)
        self.pages[-1].append(pl)
        self.y += line_h
        return pl

    def skip(self, h: float):
        if self.y > BODY_TOP + 0.1:
            self.y += h

    def rule(self, y: float, width: float, color=BLACK, x0=LEFT, x1=RIGHT):
        self.pages[-1].append(_Rule(x0, x1, y, width, color))


def _runs_from_chars(chars, size, color=BLACK):
    runs = []
    for c, f in chars:
        f = _font_for(c, f)
        if runs and runs[-1][1] == f:
            runs[-1][0] += c
        else:
            runs.append([c, f, size, color])
    return [tuple(r) for r in runs]


def _text_width(text: str, font: str, size: float) -> float:
    return sum(char_width(c, _font_for(c, font), size) for c in text)


def _centered(lay: _Layout, text: str, font: str, size: float, line_h: float, color=BLACK, **kw):
    w = _text_width(text, font, size)
    x = (PAGE_W - w) / 2
    return lay.add_line(line_h, size, _runs_from_chars([(c, font) for c in text], size, color), x, text, **kw)


BODY_SIZE = 16.0
BODY_PITCH = 29.0
INDENT = 2 * BODY_SIZE


def _paragraph(lay: _Layout, chars, art: Optional[int], size=BODY_SIZE, pitch=BODY_PITCH,
               first_indent=INDENT, indent=0.0, x0=LEFT, x1=RIGHT, justify=True, role="body"):
    width = x1 - x0
    for ln in wrap(chars, size, width, first_indent, indent):
        cs = 0.0
        n = len(ln["chars"])
        slack = width - ln["indent"] - ln["width"]
        if justify and not ln["last"] and not ln["hang"] and n > 1 and 0 < slack < 2.5 * size:
            cs = slack / (n - 1)
        text = "".join(c for c, _ in ln["chars"])
        lay.add_line(pitch, size, _runs_from_chars(ln["chars"], size), x0 + ln["indent"], text,
                     charspace=cs, art=art, role=role)


def _title_lines(a: ArticleSpec, size: float) -> list[str]:
    if a.title_lines:
        if "".join(a.title_lines) != a.title:
            raise ValueError(f"title_lines do not join to the title: {a.title}")
        return list(a.title_lines)
    width = RIGHT - LEFT - 2 * size
    chars = [(c, HEI) for c in a.title]
    lines = wrap(chars, size, width)
    n = len(lines)
    if n > 1:
        # balance the lines: narrowest width that still needs n lines
        lo, hi = width / n, width
        for _ in range(20):
            mid = (lo + hi) / 2
            if len(wrap(chars, size, mid)) > n:
                lo = mid
            else:
                hi = mid
        lines = wrap(chars, size, hi)
    return ["".join(c for c, _ in ln["chars"]) for ln in lines]


def layout(spec: BulletinSpec) -> _Layout:
    register_fonts()
    lay = _Layout()
    lay.y = 48.0

    # masthead --------------------------------------------------------------
    mlines = spec.masthead_lines or [spec.title]
    for i, ml in enumerate(mlines):
        spaced = " " in ml.strip()
        core = ml.replace(" ", "")
        n = len(core)
        if spec.masthead_size:
            size = spec.masthead_size
        else:
            size = min(52.0, 430.0 / (n * (1.6 if spaced else 1.0)))
        if spaced:
            cs = size * 0.6
        else:
            cs = 0.0
        w = n * size + (n - 1) * cs
        size_h = size * 1.35
        x = (PAGE_W - w) / 2
        lay.add_line(size_h, size, [(core, HEI, size, RED)], x, ml, charspace=cs,
                     bold_outline=True, role="masthead")
    lay.y += 14
    _centered(lay, issue_line(spec), BODY, 16, 26, role="issue_line")
    if spec.total_no is not None:
        _centered(lay, f"（总第 {spec.total_no} 期）", BODY, 16, 26, role="issue_line")
    lay.y += 8
    dt = date_text(spec)
    if spec.pub_date_layout == "one-line":
        base_runs = _runs_from_chars([(c, BODY) for c in spec.publisher], 16)
        pl = lay.add_line(28, 16, base_runs, LEFT + 8, spec.publisher + " " + dt, role="publisher_date")
        dw = _text_width(dt, BODY, 16)
        pl.segments = [(pl.x, pl.runs), (RIGHT - 8 - dw, _runs_from_chars([(c, BODY) for c in dt], 16))]
    else:
        _centered(lay, spec.publisher, BODY, 16, 26, role="publisher_date")
        _centered(lay, dt, BODY, 16, 26, role="publisher_date")
    lay.y += 8
    lay.rule(lay.y, 2.0, RED)
    lay.y += 22

    titles = {i: a.title for i, a in enumerate(spec.articles)}

    # table of contents -----------------------------------------------------
    if spec.toc:
        _centered(lay, "本期提要", HEI, 16, 30, role="toc_heading")
        cur_sec = object()
        for i, a in enumerate(spec.articles):
            if a.section != cur_sec:
                cur_sec = a.section
                if a.section:
                    lay.add_line(24, 15, _runs_from_chars([(c, HEI) for c in a.section], 15), LEFT + 15,
                                 a.section, role="toc_section")
            chars = [(c, BODY) for c in spec.toc_bullet + " " + titles[i]]
            bullet_w = 14 + char_width(" ", BODY, 14)
            _paragraph(lay, chars, None, size=14, pitch=22, first_indent=0, indent=bullet_w,
                       x0=LEFT + 28, justify=False, role="toc_entry")
        if spec.toc_own_page:
            lay.new_page()
        else:
            lay.y += 16
            lay.rule(lay.y, 0.6, RED, x0=LEFT + 120, x1=RIGHT - 120)
            lay.y += 14

    # articles --------------------------------------------------------------
    cur_sec = None
    for i, a in enumerate(spec.articles):
        need_sec = a.section and a.section != cur_sec
        tsize = spec.title_size
        head_h = 0.0
        if need_sec:
            head_h += 44
        if a.run_in:
            head_h += 2 * BODY_PITCH
        else:
            head_h += 14 + len(_title_lines(a, tsize)) * (tsize * 1.55) + 6
            if a.subtitle:
                head_h += 30
            head_h += 2 * BODY_PITCH
        if lay.room() < head_h:
            lay.new_page()
        if need_sec:
            cur_sec = a.section
            lay.skip(8)
            label = decorate_section(a.section, spec.section_style)
            lay.add_line(36, 18, _runs_from_chars([(c, HEI) for c in label], 18,
                                                  RED if spec.section_red else BLACK),
                         LEFT, label, role="section")
        if a.run_in:
            lay.skip(2)
            first = _para_text(a.paragraphs[0]) if a.paragraphs else ""
            chars = [(c, HEI) for c in a.title + "。"] + [(c, BODY) for c in first]
            _paragraph(lay, chars, i)
            rest = a.paragraphs[1:]
        else:
            lay.skip(14)
            for tl in _title_lines(a, tsize):
                _centered(lay, tl, HEI, tsize, tsize * 1.55, art=i, role="title")
            if a.subtitle:
                _centered(lay, "——" + a.subtitle, BODY, 16, 30, art=i, role="subtitle")
            lay.y += 6
            if a.editor_note:
                chars = [(c, HEI) for c in "编者按："] + [(c, BODY) for c in a.editor_note]
                _paragraph(lay, chars, i)
            rest = a.paragraphs
        for p in rest:
            if isinstance(p, Heading):
                _paragraph(lay, [(c, HEI) for c in p.text], i)
            else:
                _paragraph(lay, [(c, BODY) for c in p], i)

    # footer ------------------------------------------------------------------
    _footer(lay, spec)
    return lay


FOOT_SIZE = 14.0
FOOT_X = 93.4
FOOT_X1 = 513.4


def _footer_items(spec: BulletinSpec) -> list:
    """Footer as a list of ('line', chars-lines) / ('rule', width) items."""
    fs = FOOT_SIZE
    width = RIGHT - FOOT_X
    items: list = []

    def addressed(label: str, groups: list[list[str]]):
        out = []
        for gi, g in enumerate(groups):
            text = "，".join(g) + "。"
            chars = [(c, BODY) for c in ((label if gi == 0 else "") + text)]
            first_indent = 0.0 if gi == 0 else len(label) * fs
            for ln in wrap(chars, fs, width, first_indent, len(label) * fs):
                out.append(("line", ln))
        return out

    if spec.disclosure:
        items.append(("line", {"chars": [(c, BODY) for c in "信息公开选项：" + spec.disclosure],
                               "indent": 0.0}))
        items.append(("gap", 12))
    items.append(("rule", 0.9))
    if spec.footer_style == "baosongfa":
        for label, lst in (("报：", spec.report_to), ("送：", spec.send_to), ("发：", spec.issue_to)):
            if lst:
                items.extend(addressed(label, [lst]))
    else:
        if spec.recipients:
            items.extend(addressed("主送：", spec.recipients))
        if spec.cc:
            items.append(("rule", 0.5))
            items.extend(addressed("抄送：", [spec.cc]))
    if spec.printed_by:
        items.append(("rule", 0.5))
        items.append(("printed", None))
    items.append(("rule", 0.9))
    if spec.copies is not None:
        items.append(("copies", None))
    return items


def _footer(lay: _Layout, spec: BulletinSpec):
    items = _footer_items(spec)
    line_h, rule_h = 24.0, 6.0
    height = sum(line_h if k in ("line", "printed", "copies") else (v if k == "gap" else rule_h)
                 for k, v in items)
    top = BODY_BOTTOM - height
    if lay.y + 20 > top:
        lay.new_page()
    lay.y = top
    fs = FOOT_SIZE
    for kind, val in items:
        if kind == "rule":
            lay.rule(lay.y + rule_h / 2, val)
            lay.y += rule_h
        elif kind == "gap":
            lay.y += val
        elif kind == "line":
            text = "".join(c for c, _ in val["chars"])
            lay.add_line(line_h, fs, _runs_from_chars(val["chars"], fs), FOOT_X + val["indent"], text,
                         role="footer")
        elif kind == "printed":
            pd = spec.the_printed_date
            y, m, d = (int(x) for x in pd.split("-"))
            right = f"{y}年{m}月{d}日印发"
            pl = lay.add_line(line_h, fs, [], FOOT_X, f"{spec.printed_by} {right}", role="printed")
            rw = _text_width(right, BODY, fs)
            pl.segments = [(FOOT_X, _runs_from_chars([(c, BODY) for c in spec.printed_by], fs)),
                           (FOOT_X1 - rw, _runs_from_chars([(c, BODY) for c in right], fs))]
        elif kind == "copies":
            t = f"（共印 {spec.copies} 份）" if spec.copies_spaced else f"（共印{spec.copies}份）"
            w = _text_width(t, BODY, fs)
            lay.add_line(line_h, fs, _runs_from_chars([(c, BODY) for c in t], fs), FOOT_X1 - w, t,
                         role="footer")


# --------------------------------------------------------------------------
# Rendering


def _draw_runs(c, x: float, baseline: float, runs, charspace: float, outline: bool):
    c.saveState()
    t = c.beginText()
    t.setTextOrigin(x, PAGE_H - baseline)
    t.setCharSpace(charspace)
    if outline:
        t.setTextRenderMode(2)
    for text, font, size, color in runs:
        t.setFont(font, size)
        t.setFillColorRGB(*color)
        if outline:
            t.setStrokeColorRGB(*color)
        t.textOut(text)
    if outline:
        c.setLineWidth(0.9)
    c.drawText(t)
    c.restoreState()


def draw_pages(c, lay: "_Layout") -> None:
    """Draw every laid-out page on reportlab canvas ``c``, each with its — n — page number."""
    for pno, items in enumerate(lay.pages, start=1):
        for it in items:
            if isinstance(it, _Rule):
                c.setStrokeColorRGB(*it.color)
                c.setLineWidth(it.width)
                c.line(it.x0, PAGE_H - it.y, it.x1, PAGE_H - it.y)
            elif it.segments:       # a line of separated parts (publisher | date, the 印发 line)
                for x, runs in it.segments:
                    _draw_runs(c, x, it.baseline, runs, 0.0, False)
            else:
                _draw_runs(c, it.x, it.baseline, it.runs, it.charspace, it.bold_outline)
        num = f"— {pno} —"
        _draw_runs(c, (PAGE_W - _text_width(num, BODY, 14)) / 2, PAGE_NO_BASELINE,
                   _runs_from_chars([(ch, BODY) for ch in num], 14), 0.0, False)
        c.showPage()


def render_pdf(spec: BulletinSpec, path: Union[str, os.PathLike]) -> dict:
    """Lay out ``spec`` into a born-digital PDF at ``path``; return its truth dict."""
    from reportlab.pdfgen import canvas
    lay = layout(spec)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    c = canvas.Canvas(str(path), pagesize=(PAGE_W, PAGE_H), invariant=1, pageCompression=1)
    c.setTitle(spec.title)
    c.setAuthor(spec.publisher)
    c.setCreator("bulletin-archive pipeline.generate")
    draw_pages(c, lay)
    c.save()
    return truth_from_layout(spec, lay, [{"file": path.name, "condition": "digital"}])


def layout_lines(spec: BulletinSpec) -> list[dict]:
    """Every printed line of the laid-out issue (page numbers excluded) with
    its role (``masthead``, ``issue_line``, ``publisher_date``, ``toc_heading``,
    ``toc_section``, ``toc_entry``, ``section``, ``title``, ``subtitle``,
    ``body``, ``footer``, ``printed``), left x, baseline (points from the page
    top), font size and article index (or None) — handy for layout tests."""
    out = []
    for pno, items in enumerate(layout(spec).pages, start=1):
        for it in items:
            if isinstance(it, _PLine):
                size = it.runs[0][2] if it.runs else (it.segments[0][1][0][2] if it.segments else 0.0)
                out.append({"page_no": pno, "text": it.text, "role": it.role, "x": round(it.x, 2),
                            "baseline": round(it.baseline, 2), "size": size, "article": it.art})
    return out


def truth_from_layout(spec: BulletinSpec, lay: _Layout, inputs: list[dict]) -> dict:
    pages = []
    first: dict[int, int] = {}
    last: dict[int, int] = {}
    for pno, items in enumerate(lay.pages, start=1):
        lines = [it.text for it in items if isinstance(it, _PLine)]
        pages.append({"page_no": pno, "text": "\n".join(lines)})
        for it in items:
            if isinstance(it, _PLine) and it.art is not None:
                first.setdefault(it.art, pno)
                last[it.art] = pno
    articles = []
    for i, a in enumerate(spec.articles):
        articles.append({
            "section": a.section,
            "title": a.title,
            "subtitle": a.subtitle,
            "body": article_body(a),
            "event_dates": list(a.event_dates),
            "units": list(a.units),
            "page_start": first.get(i, 0),
            "page_end": last.get(i, 0),
        })
    if spec.footer_style == "baosongfa":
        recipients = list(spec.report_to) + list(spec.send_to) + list(spec.issue_to)
    else:
        recipients = [r for g in spec.recipients for r in g]
    queries = []
    for q in spec.queries:
        hits = [a["title"] for a in articles if q in a["title"] or q in a["body"]]
        queries.append({"q": q, "expect_titles": hits})
    return {
        "id": spec.id,
        "inputs": inputs,
        "issue": {
            "title": spec.title,
            "publisher": spec.publisher,
            "year": spec.the_year,
            "issue_no": spec.issue_no,
            "total_no": spec.total_no,
            "special": spec.special,
            "date": spec.date,
            "printed_date": spec.the_printed_date,
            "copies": spec.copies,
            "disclosure": spec.disclosure,
            "recipients": recipients,
            "cc": list(spec.cc) if spec.footer_style != "baosongfa" else [],
        },
        "sections": spec.sections(),
        "articles": articles,
        "queries": queries,
        "pages": pages,
    }
