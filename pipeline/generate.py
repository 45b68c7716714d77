"""Bulletin generator: sample data and test fixtures.

A bulletin (简报) issue is described by a typed :class:`BulletinSpec` holding
:class:`ArticleSpec` items.  :func:`render_pdf` lays it out the way printed
government bulletins look (A4, red masthead and rule, 16pt body with a two
character indent, 黑体 titles, 本期提要, footer block, ``— N —`` page numbers)
and returns the ground truth computed from the layout it actually produced, in
the format of the corpus truth files (``id``, ``inputs``, ``issue``,
``sections``, ``articles``, ``queries``, ``pages``).

:func:`render_scans` turns the born-digital PDF into scanned-looking inputs
(``clean`` / ``mild`` / ``hard``) in several containers (image-only PDF,
multi-page TIFF, folders of JPEG/PNG pages, single images), optionally rotated
or stamped with a red seal.

:func:`sample_specs` holds several invented issues and :func:`write_samples`
writes them to a ``data/raw`` layout with truth JSON in a sibling ``truth``
folder.  ``python -m pipeline.generate OUT_DIR [--scans]`` does the same.
"""
from __future__ import annotations

import argparse
import io
import json
import math
import os
import random
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Optional, Sequence, Union

# --------------------------------------------------------------------------
# Specs


@dataclass
class ArticleSpec:
    """One article of an issue.

    ``paragraphs`` are body paragraphs without indentation.  A paragraph given
    as ``Heading("一、…")`` is an in-article heading set in 黑体.  With
    ``run_in`` the title is printed as the first sentence of the first
    paragraph (``标题。正文……``) in 黑体, the rest of the line in the body font.
    ``title_lines`` forces where a displayed title breaks (joined they must
    equal ``title``); otherwise a title too wide for the line wraps.
    """
    title: str
    paragraphs: list[Union[str, "Heading"]] = field(default_factory=list)
    subtitle: Optional[str] = None                     # printed as ——subtitle
    run_in: bool = False
    editor_note: Optional[str] = None                  # text after 编者按：
    title_lines: Optional[list[str]] = None
    section: Optional[str] = None                      # undecorated section name
    event_dates: list[str] = field(default_factory=list)   # ISO
    units: list[str] = field(default_factory=list)


@dataclass
class Heading:
    """An in-article heading paragraph (``一、…`` / ``（一）…``)."""
    text: str


@dataclass
class BulletinSpec:
    """One issue.  Field values are what is printed; the truth derives from them.

    issue_style: ``"year"`` → ``2021 年第 4 期``; ``"plain"`` → ``第 7 期``;
    ``"cn"`` → ``第十二期``.  A ``special`` issue prints ``2023 年增刊第 2 期``
    (with issue_no) or just ``特刊`` (issue_no None).
    date_style: ``"arabic"`` → ``2021 年 5 月 28 日``; ``"cn"`` → ``二〇二三年三月十五日``.
    pub_date_layout: ``"two-lines"`` (centred, publisher over date) or
    ``"one-line"`` (publisher left, date right).
    section_style: ``"plain"``, ``"bracket"`` (【工作动态】), ``"diamond"`` (◆防汛动态◆).
    footer_style: ``"zhusong"`` (主送/抄送) or ``"baosongfa"`` (报：/送：/发：).
    recipients: groups of 主送 addressees, one printed line each.
    """
    id: str
    title: str                                   # masthead, joined, no spacing
    publisher: str
    date: str                                    # ISO
    articles: list[ArticleSpec] = field(default_factory=list)
    year: Optional[int] = None                   # default: year of date
    issue_no: Optional[int] = None
    total_no: Optional[int] = None
    special: Optional[str] = None                # 特刊 / 增刊
    masthead_lines: Optional[list[str]] = None   # printed form; "工 作 简 报" = letter-spaced
    masthead_size: Optional[float] = None
    issue_style: str = "year"
    date_style: str = "arabic"
    pub_date_layout: str = "two-lines"
    toc: bool = False
    toc_bullet: str = "●"
    toc_own_page: bool = False
    section_style: str = "plain"
    section_red: bool = False
    title_size: float = 20.0
    footer_style: str = "zhusong"
    recipients: list[list[str]] = field(default_factory=list)
    cc: list[str] = field(default_factory=list)
    report_to: list[str] = field(default_factory=list)   # 报：
    send_to: list[str] = field(default_factory=list)     # 送：
    issue_to: list[str] = field(default_factory=list)    # 发：
    disclosure: Optional[str] = None             # value after 信息公开选项：
    printed_by: Optional[str] = None             # XX办公室 (… 年月日印发)
    printed_date: Optional[str] = None           # ISO; default: date
    copies: Optional[int] = None
    copies_spaced: bool = True                   # （共印 60 份） vs （共印60份）
    queries: list[str] = field(default_factory=list)

    # derived -------------------------------------------------------------
    @property
    def the_year(self) -> int:
        return self.year if self.year is not None else int(self.date[:4])

    @property
    def the_printed_date(self) -> Optional[str]:
        if self.printed_by is None:
            return None
        return self.printed_date or self.date

    def sections(self) -> list[str]:
        out: list[str] = []
        for a in self.articles:
            if a.section and a.section not in out:
                out.append(a.section)
        return out


# --------------------------------------------------------------------------
# Text helpers

_CN_DIGITS = "〇一二三四五六七八九"
_CN_PLAIN = "零一二三四五六七八九"


def cn_number(n: int) -> str:
    """12 → 十二, 103 → 一百零三 (for issue numbers)."""
    if n < 0:
        raise ValueError(n)
    if n < 10:
        return _CN_PLAIN[n]
    if n < 20:
        return "十" + (_CN_PLAIN[n % 10] if n % 10 else "")
    if n < 100:
        return _CN_PLAIN[n // 10] + "十" + (_CN_PLAIN[n % 10] if n % 10 else "")
    if n < 1000:
        rest = n % 100
        s = _CN_PLAIN[n // 100] + "百"
        if rest == 0:
            return s
        if rest < 10:
            return s + "零" + _CN_PLAIN[rest]
        if rest < 20:
            return s + "一" + cn_number(rest)
        return s + cn_number(rest)
    raise ValueError("number too large: %d" % n)


def cn_date(iso: str) -> str:
    """2023-03-15 → 二〇二三年三月十五日."""
    y, m, d = (int(x) for x in iso.split("-"))
    return "".join(_CN_DIGITS[int(c)] for c in str(y)) + "年" + cn_number(m) + "月" + cn_number(d) + "日"


def arabic_date(iso: str, spaced: bool = True) -> str:
    y, m, d = (int(x) for x in iso.split("-"))
    return f"{y} 年 {m} 月 {d} 日" if spaced else f"{y}年{m}月{d}日"


def issue_line(spec: BulletinSpec) -> str:
    if spec.special:
        if spec.issue_no is None:
            return spec.special
        return f"{spec.the_year} 年{spec.special}第 {spec.issue_no} 期"
    if spec.issue_style == "cn":
        return f"第{cn_number(spec.issue_no)}期"
    if spec.issue_style == "plain":
        return f"第 {spec.issue_no} 期"
    return f"{spec.the_year} 年第 {spec.issue_no} 期"


def date_text(spec: BulletinSpec) -> str:
    return cn_date(spec.date) if spec.date_style == "cn" else arabic_date(spec.date)


def decorate_section(name: str, style: str) -> str:
    if style == "bracket":
        return f"【{name}】"
    if style == "diamond":
        return f"◆{name}◆"
    return name


def _para_text(p) -> str:
    return p.text if isinstance(p, Heading) else p


def article_body(a: ArticleSpec) -> str:
    paras = [_para_text(p) for p in a.paragraphs]
    if a.editor_note:
        paras = ["编者按：" + a.editor_note] + paras
    return "\n".join(paras)


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
    for pno, items in enumerate(lay.pages, start=1):
        for it in items:
            if isinstance(it, _Rule):
                c.setStrokeColorRGB(*it.color)
                c.setLineWidth(it.width)
                c.line(it.x0, PAGE_H - it.y, it.x1, PAGE_H - it.y)
                continue
            if it.segments:
                # line with separated parts (publisher | date, 印发 line)
                for x, runs in it.segments:
                    _draw_runs(c, x, it.baseline, runs, 0.0, False)
                continue
            _draw_runs(c, it.x, it.baseline, it.runs, it.charspace, it.bold_outline)
        num = f"— {pno} —"
        w = _text_width(num, BODY, 14)
        _draw_runs(c, (PAGE_W - w) / 2, PAGE_NO_BASELINE, _runs_from_chars([(ch, BODY) for ch in num], 14),
                   0.0, False)
        c.showPage()
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


# --------------------------------------------------------------------------
# Scanned-looking inputs

CONDITIONS = ("clean", "mild", "hard")
CONTAINERS = ("pdf", "tiff", "jpeg-folder", "png-folder", "png", "jpeg")
TIFF_MODES = ("auto", "gray16", "cmyk", "g4")


def _seal_anchor(pdf_path: Path) -> Optional[tuple[int, float, float, str]]:
    """(page index, x, y, unit text) of the date on the ``…印发`` line, in points."""
    import pdfplumber
    with pdfplumber.open(str(pdf_path)) as pdf:
        for pi in range(len(pdf.pages) - 1, -1, -1):
            chars = pdf.pages[pi].chars
            for k in range(len(chars) - 1):
                if chars[k]["text"] == "印" and chars[k + 1]["text"] == "发":
                    top = chars[k]["top"]
                    line = [c for c in chars if abs(c["top"] - top) < 3 and c["x1"] <= chars[k + 1]["x1"] + 0.1]
                    line.sort(key=lambda c: c["x0"])
                    # the date part: right of the widest gap
                    gaps = [(line[j + 1]["x0"] - line[j]["x1"], j) for j in range(len(line) - 1)]
                    j = max(gaps)[1] if gaps else -1
                    date_chars = line[j + 1:]
                    unit = "".join(c["text"] for c in line[:j + 1]).strip()
                    x = (date_chars[0]["x0"] + date_chars[-1]["x1"]) / 2
                    y = (chars[k]["top"] + chars[k]["bottom"]) / 2
                    return pi, x, y, unit
    return None


def _seal_layer(radius_px: int, text: str, rng: random.Random) -> "np.ndarray":
    """Alpha mask (0..1) of a round seal: ring, text along the upper arc, star."""
    import numpy as np
    from PIL import Image, ImageDraw, ImageFont
    register_fonts()
    size = 2 * radius_px + 4
    img = Image.new("L", (size, size), 0)
    d = ImageDraw.Draw(img)
    c = size / 2
    ring = max(2, int(radius_px * 0.06))
    d.ellipse([c - radius_px, c - radius_px, c + radius_px, c + radius_px], outline=255, width=ring)
    # star
    r_out, r_in = radius_px * 0.24, radius_px * 0.24 * 0.382
    pts = []
    for k in range(10):
        ang = -math.pi / 2 + k * math.pi / 5
        r = r_out if k % 2 == 0 else r_in
        pts.append((c + r * math.cos(ang), c + r * math.sin(ang)))
    d.polygon(pts, fill=255)
    # text along the arc
    text = text or "专用章"
    fsz = max(8, int(radius_px * 0.26))
    font = ImageFont.truetype(_find_font(ZENHEI_PATH, "zenhei"), fsz, index=0)
    n = len(text)
    span = min(math.radians(250), math.radians(24) * n)
    r_text = radius_px - ring - fsz * 0.65
    for k, ch in enumerate(text):
        ang = -math.pi / 2 - span / 2 + span * (k + 0.5) / n
        glyph = Image.new("L", (fsz * 2, fsz * 2), 0)
        ImageDraw.Draw(glyph).text((fsz * 0.5, fsz * 0.4), ch, fill=255, font=font)
        glyph = glyph.rotate(-math.degrees(ang + math.pi / 2), resample=Image.BICUBIC)
        gx = c + r_text * math.cos(ang) - fsz
        gy = c + r_text * math.sin(ang) - fsz
        img.paste(255, (int(gx), int(gy)), glyph)
    # horizontal line under the star
    lab = "专用章"
    w = fsz * len(lab) * 0.8
    fnt2 = ImageFont.truetype(_find_font(ZENHEI_PATH, "zenhei"), int(fsz * 0.8), index=0)
    d.text((c - w / 2, c + radius_px * 0.38), lab, fill=255, font=fnt2)
    a = np.asarray(img, dtype=np.float32) / 255.0
    # uneven ink
    nrng = np.random.default_rng(rng.randrange(1 << 30))
    blot = nrng.uniform(0.55, 1.0, size=(size // 8 + 1, size // 8 + 1)).astype(np.float32)
    import cv2
    blot = cv2.resize(blot, (size, size), interpolation=cv2.INTER_CUBIC)
    return np.clip(a * blot, 0, 1)


def _apply_seal(img: "np.ndarray", anchor_px: tuple[float, float], radius_px: int, text: str,
                rng: random.Random, opacity: float = 0.85) -> "np.ndarray":
    """Multiply a red seal onto an RGB float image (0..255) centred at anchor_px."""
    import numpy as np
    a = _seal_layer(radius_px, text, rng) * opacity
    h, w = img.shape[:2]
    cx, cy = int(anchor_px[0]), int(anchor_px[1])
    s = a.shape[0]
    x0, y0 = cx - s // 2, cy - s // 2
    xa, ya, xb, yb = max(0, x0), max(0, y0), min(w, x0 + s), min(h, y0 + s)
    if xa >= xb or ya >= yb:
        return img
    sub = a[ya - y0:yb - y0, xa - x0:xb - x0][..., None]
    ink = np.array([205.0, 25.0, 35.0], dtype=np.float32) / 255.0
    region = img[ya:yb, xa:xb]
    img[ya:yb, xa:xb] = region * (1 - sub * (1 - ink))
    return img


def _skew(img: "np.ndarray", angle: float) -> "np.ndarray":
    import cv2
    if abs(angle) < 1e-3:
        return img
    h, w = img.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    border = (255, 255, 255) if img.ndim == 3 else 255
    return cv2.warpAffine(img, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                          borderValue=border)


def _degrade(img: "np.ndarray", condition: str, angle: float, rng: random.Random) -> "np.ndarray":
    """img: RGB uint8 page.  Returns uint8 (H,W) for mild, (H,W,3) otherwise."""
    import cv2
    import numpy as np
    nrng = np.random.default_rng(rng.randrange(1 << 30))
    if condition == "clean":
        return img
    if condition == "mild":
        g = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
        g = _skew(g, angle)
        g = cv2.GaussianBlur(g, (0, 0), 0.6).astype(np.float32)
        g = g * rng.uniform(0.95, 1.0) + rng.uniform(-4, 2)
        g += nrng.normal(0, 5.0, g.shape).astype(np.float32)
        return np.clip(g, 0, 255).astype(np.uint8)
    if condition != "hard":
        raise ValueError(f"unknown condition {condition!r}")
    h, w = img.shape[:2]
    f = img.astype(np.float32)
    # yellowed paper, unevenly lit
    paper = np.array([rng.uniform(232, 245), rng.uniform(220, 234), rng.uniform(178, 200)], np.float32)
    f = f / 255.0 * paper
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    gx, gy = rng.uniform(-0.12, 0.12), rng.uniform(-0.15, 0.05)
    cx, cy = rng.uniform(0.2, 0.8) * w, rng.uniform(0.2, 0.8) * h
    light = 1.0 + gx * (xx / w - 0.5) + gy * (yy / h - 0.5)
    light -= 0.18 * (((xx - cx) / w) ** 2 + ((yy - cy) / h) ** 2)
    del xx, yy
    f *= light[..., None]
    del light
    f = _skew(f, angle)
    f = cv2.GaussianBlur(f, (0, 0), 1.0)
    # speckle: dark dots and a few light dropouts
    n_dots = int(h * w / 9000)
    ys = nrng.integers(0, h, n_dots)
    xs = nrng.integers(0, w, n_dots)
    for y, x in zip(ys.tolist(), xs.tolist()):
        r = int(nrng.integers(1, 3))
        v = float(nrng.uniform(30, 110))
        cv2.circle(f, (x, y), r, (v, v, v), -1)
    f += nrng.normal(0, 7.0, f.shape).astype(np.float32)
    out = np.clip(f, 0, 255).astype(np.uint8)
    # strong JPEG compression
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(out, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 30])
    out = cv2.cvtColor(cv2.imdecode(buf, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    return out


def _iter_scan_pages(pdf_path: Path, condition: str, dpi: int, rotate: int, skew: Optional[float],
                     seal: bool, seed: int, pages: Optional[Sequence[int]]) -> Iterator[tuple[int, "np.ndarray", float]]:
    """Yield (page_no, image, skew) one page at a time."""
    import numpy as np
    import pypdfium2 as pdfium
    rng = random.Random(seed)
    anchor = _seal_anchor(pdf_path) if seal else None
    doc = pdfium.PdfDocument(str(pdf_path))
    try:
        n = len(doc)
        wanted = list(pages) if pages else list(range(1, n + 1))
        scale = dpi / 72.0
        for pno in wanted:
            page = doc[pno - 1]
            bmp = page.render(scale=scale)
            img = np.asarray(bmp.to_pil().convert("RGB"))
            page.close()
            if anchor is not None and anchor[0] == pno - 1:
                f = img.astype(np.float32)
                _apply_seal(f, (anchor[1] * scale, anchor[2] * scale), int(46 * scale), anchor[3], rng)
                img = np.clip(f, 0, 255).astype(np.uint8)
            if skew is not None:
                angle = skew
            elif condition == "mild":
                angle = rng.choice([-1, 1]) * rng.uniform(0.2, 0.9)
            elif condition == "hard":
                angle = rng.choice([-1, 1]) * rng.uniform(0.8, 2.0)
            else:
                angle = 0.0
            out = _degrade(img, condition, angle, rng)
            if rotate:
                if rotate % 90:
                    raise ValueError("rotate must be 0, 90, 180 or 270")
                out = np.ascontiguousarray(np.rot90(out, k=-(rotate // 90) % 4))
            yield pno, out, angle
    finally:
        doc.close()


def _tiff_frame(arr: "np.ndarray", mode: str):
    import numpy as np
    from PIL import Image
    if mode == "gray16":
        g = arr if arr.ndim == 2 else np.asarray(Image.fromarray(arr).convert("L"))
        return Image.fromarray((g.astype(np.uint16) * 257)), "tiff_adobe_deflate"
    if mode == "cmyk":
        im = Image.fromarray(arr).convert("RGB").convert("CMYK")
        return im, "tiff_adobe_deflate"
    if mode == "g4":
        g = arr if arr.ndim == 2 else np.asarray(Image.fromarray(arr).convert("L"))
        return Image.fromarray(((g > 150) * 255).astype(np.uint8)).convert("1"), "group4"
    im = Image.fromarray(arr)
    return im, "tiff_adobe_deflate"


class _ImagePdfWriter:
    """Minimal PDF writer for image-only PDFs: one JPEG per page, each page
    written to disk as soon as it is added (nothing accumulates in memory)."""

    def __init__(self, path: Path):
        self.f = open(path, "wb")
        self.offsets: dict[int, int] = {}
        self.kids: list[int] = []
        self.next_obj = 3                   # 1 = catalog, 2 = page tree
        self.f.write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")

    def _obj(self, num: int, body: bytes, stream: Optional[bytes] = None):
        self.offsets[num] = self.f.tell()
        self.f.write(b"%d 0 obj\n" % num)
        self.f.write(body)
        if stream is not None:
            self.f.write(b"\nstream\n")
            self.f.write(stream)
            self.f.write(b"\nendstream")
        self.f.write(b"\nendobj\n")

    def add_jpeg_page(self, jpeg: bytes, size: tuple[int, int], gray: bool, dpi: int):
        w, h = size
        pw, ph = w * 72.0 / dpi, h * 72.0 / dpi
        img, content, page = self.next_obj, self.next_obj + 1, self.next_obj + 2
        self.next_obj += 3
        cs = b"/DeviceGray" if gray else b"/DeviceRGB"
        self._obj(img, b"<< /Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace %s "
                       b"/BitsPerComponent 8 /Filter /DCTDecode /Length %d >>" % (w, h, cs, len(jpeg)), jpeg)
        draw = b"q %.4f 0 0 %.4f 0 0 cm /Im0 Do Q" % (pw, ph)
        self._obj(content, b"<< /Length %d >>" % len(draw), draw)
        self._obj(page, b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %.4f %.4f] "
                        b"/Resources << /XObject << /Im0 %d 0 R >> >> /Contents %d 0 R >>"
                  % (pw, ph, img, content))
        self.kids.append(page)

    def close(self):
        kids = b" ".join(b"%d 0 R" % k for k in self.kids)
        self._obj(2, b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, len(self.kids)))
        self._obj(1, b"<< /Type /Catalog /Pages 2 0 R >>")
        xref = self.f.tell()
        n = self.next_obj
        self.f.write(b"xref\n0 %d\n0000000000 65535 f \n" % n)
        for num in range(1, n):
            self.f.write(b"%010d 00000 n \n" % self.offsets[num])
        self.f.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (n, xref))
        self.f.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def render_scans(spec_or_pdf: Union[BulletinSpec, str, os.PathLike], out_path: Union[str, os.PathLike],
                 container: str, condition: str, dpi: Optional[int] = None, rotate: int = 0,
                 skew: Optional[float] = None, seal: bool = False, seed: int = 0,
                 pages: Optional[Sequence[int]] = None, tiff_mode: str = "auto",
                 jpeg_quality: Optional[int] = None) -> dict:
    """Write a scanned-looking version of a bulletin.

    spec_or_pdf: a spec (rendered to a temporary PDF first) or a born-digital PDF.
    container: ``pdf`` (image-only, no text layer), ``tiff`` (multi-page;
    ``tiff_mode`` ``auto``/``gray16``/``cmyk``/``g4``), ``jpeg-folder`` /
    ``png-folder`` (``page-001.jpg`` …), ``png`` / ``jpeg`` (one page: the first
    of ``pages``, default page 1).
    condition: ``clean``, ``mild`` (grayscale, <1° skew, slight blur, noise) or
    ``hard`` (colour, 200 dpi by default, up to 2° skew, blur, speckle,
    yellowed unevenly lit paper, strong JPEG compression).
    dpi: default 300 (200 for ``hard``).  rotate: 0/90/180/270, clockwise.
    skew: degrees (counter-clockwise positive) instead of a random skew.
    seal: stamp a red round seal over the date of the ``…印发`` line.
    Pages are rendered, degraded and written one at a time.
    Returns ``{"path", "container", "condition", "dpi", "pages", "sizes", "skews", "rotate"}``.
    """
    if container not in CONTAINERS:
        raise ValueError(f"unknown container {container!r}")
    if condition not in CONDITIONS:
        raise ValueError(f"unknown condition {condition!r}")
    if tiff_mode not in TIFF_MODES:
        raise ValueError(f"unknown tiff_mode {tiff_mode!r}")
    if dpi is None:
        dpi = 200 if condition == "hard" else 300
    if jpeg_quality is None:
        jpeg_quality = {"clean": 92, "mild": 80, "hard": 40}[condition]
    out_path = Path(out_path)
    tmp = None
    if isinstance(spec_or_pdf, BulletinSpec):
        tmp = tempfile.TemporaryDirectory()
        pdf_path = Path(tmp.name) / f"{spec_or_pdf.id}.pdf"
        render_pdf(spec_or_pdf, pdf_path)
    else:
        pdf_path = Path(spec_or_pdf)
    if container in ("png", "jpeg"):
        pages = [pages[0] if pages else 1]
    sizes, skews = [], []
    try:
        it = _iter_scan_pages(pdf_path, condition, dpi, rotate, skew, seal, seed, pages)
        if container in ("jpeg-folder", "png-folder", "png", "jpeg"):
            from PIL import Image
            ext = "jpg" if container.startswith("jpeg") else "png"
            if container.endswith("folder"):
                out_path.mkdir(parents=True, exist_ok=True)
            else:
                out_path.parent.mkdir(parents=True, exist_ok=True)
            for k, (pno, arr, ang) in enumerate(it, start=1):
                im = Image.fromarray(arr)
                target = out_path / f"page-{k:03d}.{ext}" if container.endswith("folder") else out_path
                if ext == "jpg":
                    im.save(target, "JPEG", quality=jpeg_quality, dpi=(dpi, dpi))
                else:
                    im.save(target, "PNG", dpi=(dpi, dpi), optimize=False)
                sizes.append(im.size)
                skews.append(ang)
        elif container == "tiff":
            from PIL import TiffImagePlugin
            out_path.parent.mkdir(parents=True, exist_ok=True)
            mode = tiff_mode
            with TiffImagePlugin.AppendingTiffWriter(str(out_path), new=True) as tf:
                for pno, arr, ang in it:
                    if mode == "auto" and condition == "hard":
                        im, comp = _tiff_frame(arr, "auto")
                        im.save(tf, "TIFF", compression="jpeg", quality=jpeg_quality, dpi=(dpi, dpi))
                    else:
                        im, comp = _tiff_frame(arr, mode)
                        im.save(tf, "TIFF", compression=comp, dpi=(dpi, dpi))
                    tf.newFrame()
                    sizes.append(im.size)
                    skews.append(ang)
        else:  # image-only pdf, written page by page
            from PIL import Image
            out_path.parent.mkdir(parents=True, exist_ok=True)
            with _ImagePdfWriter(out_path) as writer:
                for pno, arr, ang in it:
                    im = Image.fromarray(arr)
                    buf = io.BytesIO()
                    im.save(buf, "JPEG", quality=jpeg_quality, dpi=(dpi, dpi))
                    writer.add_jpeg_page(buf.getvalue(), im.size, gray=(arr.ndim == 2), dpi=dpi)
                    sizes.append(im.size)
                    skews.append(ang)
                    del buf, im
    finally:
        if tmp is not None:
            tmp.cleanup()
    return {"path": str(out_path), "container": container, "condition": condition, "dpi": dpi,
            "pages": len(sizes), "sizes": sizes, "skews": skews, "rotate": rotate}


# --------------------------------------------------------------------------
# Sample issues (invented content)


def _gen01() -> BulletinSpec:
    A = ArticleSpec
    return BulletinSpec(
        id="gen01",
        title="青山市机关事务管理局简报",
        publisher="青山市机关事务管理局",
        date="2022-06-24",
        issue_no=6, total_no=87,
        toc=True, section_style="bracket",
        recipients=[["市委办公室", "市人大常委会办公室", "市政府办公室", "市政协办公室"],
                    ["各区（县）机关事务管理部门", "市直各部门"],
                    ["局领导", "机关各科（室）", "局属各单位"]],
        cc=["省机关事务管理局"],
        disclosure="主动公开",
        printed_by="青山市机关事务管理局办公室",
        copies=25,
        queries=["节能", "公务用车", "光盘行动", "刘建国", "垃圾分类"],
        articles=[
            A(section="工作动态",
              title="市机关事务管理局召开节约型机关建设推进会",
              paragraphs=[
                  "6月14日，市机关事务管理局召开全市节约型机关建设推进会，通报节约型机关创建进展情况，部署下一阶段重点任务。局党组书记、局长刘建国出席会议并讲话，各区（县）机关事务管理部门负责同志参加会议。",
                  "会议指出，今年以来，全市各级机关认真落实节约型机关创建行动方案，坚持从节约一度电、一滴水、一张纸做起，全市已有百分之七十二的县级及以上党政机关达到创建要求，公共机构人均综合能耗同比下降百分之三点一，创建工作取得阶段性成效。",
                  "会议要求，要对照创建标准逐项查漏补缺，加快推进未达标单位整改，确保年底前全市县级及以上党政机关创建比例达到百分之九十以上；要加大节能改造力度，推广使用高效节能设备和新能源汽车；要加强宣传引导，把勤俭节约的理念融入机关日常管理，引导干部职工养成绿色低碳的工作和生活方式。",
              ],
              event_dates=["2022-06-14"],
              units=["市机关事务管理局", "各区（县）机关事务管理部门"]),
            A(section="工作动态",
              title="市机关事务管理局联合市发展改革委开展2022年全国节能宣传周和全国低碳日系列活动",
              title_lines=["市机关事务管理局联合市发展改革委开展",
                           "2022年全国节能宣传周和全国低碳日系列活动"],
              paragraphs=[
                  "6月13日至19日，市机关事务管理局联合市发展改革委开展2022年全国节能宣传周和全国低碳日系列活动，围绕“绿色低碳，节能先行”主题，在市级机关集中办公区设置宣传展板，发放节能宣传手册3000余份。",
                  "活动期间，市级机关开展“熄灯一小时”“绿色出行日”等体验活动，组织干部职工参观市新能源汽车展示中心和公共机构能耗监测平台，举办节能知识网络竞赛，共有2600余人参与答题。",
              ],
              event_dates=["2022-06-13", "2022-06-19"],
              units=["市机关事务管理局", "市发展改革委", "市新能源汽车展示中心"]),
            A(section="工作动态",
              title="市级机关办公用房专项清理工作通过省级验收",
              paragraphs=[
                  "6月8日至9日，省机关事务管理局验收组对我市市级机关办公用房专项清理整改工作进行验收。验收组通过听取汇报、查阅台账、实地抽查等方式，对市级机关办公用房配置、使用、处置等情况进行了全面检查，一致同意通过验收。",
                  "去年以来，市机关事务管理局按照“摸清底数、分类处置、建章立制”的思路，对市级机关64家单位的办公用房开展全面清查，核实办公用房面积21.6万平方米，清理腾退超标准使用的办公用房3400平方米，全部纳入统一调剂使用。同时，建成办公用房管理信息系统，实现办公用房权属、使用、维修等信息的动态管理。",
                  "验收组指出，我市办公用房专项清理工作领导重视、措施有力、成效明显，建立的办公用房统一调配和动态监管机制具有较强的推广价值。下一步，市机关事务管理局将持续巩固清理成果，完善办公用房使用监督检查制度，推动办公用房管理规范化、标准化、信息化。",
              ],
              event_dates=["2022-06-08", "2022-06-09"],
              units=["省机关事务管理局", "市机关事务管理局"]),
            A(section="区县动态", run_in=True,
              title="东林区“三个强化”提升公务用车管理水平",
              paragraphs=[
                  "一是强化制度约束。修订公务用车使用管理办法，明确用车审批、派车、费用结算等工作流程，实行“一车一档”管理。二是强化平台监管。将全区126辆公务用车全部纳入公务用车管理平台，实现用车申请、审批、派车、评价全程线上运行。三是强化费用控制。推行定点维修、定点加油和定点保险，公务用车运行费用同比下降百分之十二。",
              ],
              units=["东林区"]),
            A(section="区县动态", run_in=True,
              title="白石县多措并举推进公共机构垃圾分类",
              paragraphs=[
                  "白石县以县级机关集中办公区为示范，在各楼层设置分类投放点48个，配备专职督导员，推行“定时定点”投放。县机关事务服务中心每月开展一次垃圾分类检查，并将检查结果纳入节约型机关创建考核。目前，全县公共机构生活垃圾分类覆盖率达到百分之百。",
              ],
              units=["白石县", "县机关事务服务中心"]),
            A(section="区县动态", run_in=True,
              title="青山经开区机关食堂开展“光盘行动”",
              paragraphs=[
                  "5月下旬起，青山经开区机关食堂推行小份菜、半份菜和按需打餐，在餐桌设置“光盘行动”提示牌，每周公布餐厨垃圾产生量。活动开展以来，食堂日均餐厨垃圾由85公斤减少到52公斤。",
              ],
              units=["青山经开区机关食堂"]),
        ],
    )


def _gen02() -> BulletinSpec:
    A = ArticleSpec
    return BulletinSpec(
        id="gen02",
        title="工作简报",
        masthead_lines=["工 作 简 报"],
        publisher="南河县农业农村局",
        date="2022-09-06",
        issue_no=12, issue_style="cn", date_style="cn",
        footer_style="baosongfa",
        report_to=["县委办公室", "县人民政府办公室", "市农业农村局"],
        send_to=["县人大常委会办公室", "县政协办公室", "县委农村工作领导小组成员单位"],
        issue_to=["各乡（镇）人民政府", "局机关各股室", "局属各单位"],
        printed_by="南河县农业农村局办公室",
        copies=40, copies_spaced=False,
        queries=["秋粮", "高标准农田", "王海燕", "农民丰收节", "稻谷"],
        articles=[
            A(title="我县全力抓好秋粮生产确保颗粒归仓",
              subtitle="全县秋粮播种面积稳定在42.6万亩",
              paragraphs=[
                  "8月30日，全县秋粮生产暨秋收秋种工作会议在县农业农村局召开。副县长王海燕出席会议并讲话，各乡（镇）分管负责同志和县农业农村局相关股室负责人参加会议。",
                  "会议通报，今年全县秋粮播种面积稳定在42.6万亩，其中水稻28.3万亩、玉米9.1万亩、大豆及其他作物5.2万亩。受前期持续高温干旱影响，部分乡（镇）水稻出现结实率下降等情况，县农业农村局及时组织农技人员分片包干、进村入户，指导农户科学灌溉、追施穗肥、防控病虫害，最大限度减少灾害损失。",
                  Heading("一、抓好田间管理"),
                  "各乡（镇）要组织农技人员深入田间地头，针对不同作物生育进程分类指导，重点抓好晚稻后期水肥管理和稻飞虱、稻纵卷叶螟等病虫害统防统治，确保秋粮稳产。",
                  Heading("二、抓好机收减损"),
                  "县农业农村局将组织农机合作社提前检修收获机械，合理调度跨区作业机具，开展机收减损技能培训，力争水稻机收损失率控制在百分之三以内。",
                  Heading("三、抓好烘干收储"),
                  "各乡（镇）要统筹用好现有烘干设施，引导种粮大户和合作社错峰收获、及时烘干，协调粮食收储企业做好收购准备，防止出现“卖粮难”。",
              ],
              event_dates=["2022-08-30"],
              units=["县农业农村局", "各乡（镇）", "农机合作社"]),
            A(title="县农业农村局开展高标准农田建设项目质量督查",
              title_lines=["县农业农村局开展", "高标准农田建设项目质量督查"],
              paragraphs=[
                  "8月22日至26日，县农业农村局组成3个督查组，对2022年度高标准农田建设项目开展质量督查。督查组深入7个项目区，采取查阅资料、现场量测、走访群众等方式，重点督查灌排工程、田间道路、土壤改良等建设内容和工程进度。",
                  "督查发现，全县今年新建高标准农田3.5万亩，已完成工程量的百分之八十一，总体进展顺利，但个别标段存在渠道砌筑不规范、资料归档不及时等问题。督查组已现场反馈，要求施工单位限期整改，监理单位加强旁站监督，确保项目建一片、成一片、见效一片。",
              ],
              event_dates=["2022-08-22", "2022-08-26"],
              units=["县农业农村局"]),
            A(title="“中国农民丰收节”南河县系列活动即将启动",
              paragraphs=[
                  "今年9月23日是第五个“中国农民丰收节”。县农业农村局会同县文化和旅游局、县供销合作社，拟在石桥镇举办“庆丰收·迎盛会”系列活动，内容包括农产品展销、农耕文化展示、稻谷收割比赛和乡村文艺演出等。",
                  "活动将集中展示全县脱贫攻坚成果巩固和乡村振兴工作成效，组织50余家农业经营主体参加展销，推动“南河贡米”“南河山茶油”等特色农产品品牌走出去。",
              ],
              event_dates=["2022-09-23"],
              units=["县农业农村局", "县文化和旅游局", "县供销合作社", "石桥镇"]),
        ],
    )


def _gen03() -> BulletinSpec:
    A = ArticleSpec
    return BulletinSpec(
        id="gen03",
        title="临江市应急管理局工作简报",
        masthead_lines=["临江市应急管理局", "工作简报"],
        publisher="临江市应急管理局",
        date="2023-07-12",
        special="特刊", issue_no=None,
        pub_date_layout="one-line",
        toc=True, toc_bullet="◆",
        section_style="diamond", section_red=True,
        title_size=22.0,
        recipients=[["市委办公室", "市政府办公室", "市防汛抗旱指挥部各成员单位"],
                    ["各县（市、区）应急管理局"]],
        cc=["省应急管理厅", "省防汛抗旱指挥部办公室"],
        disclosure="主动公开",
        printed_by="临江市应急管理局办公室",
        printed_date="2023-07-13",
        copies=50,
        queries=["防汛", "转移", "陈立新", "水库", "应急演练"],
        articles=[
            A(section="防汛动态",
              title="全市迅速应对今年首轮强降雨过程",
              editor_note="7月9日至11日，我市遭遇今年入汛以来最强降雨过程。全市各级各部门闻“汛”而动，全力以赴做好防汛救灾各项工作，实现了人员零伤亡。现将有关情况专刊编发，供参考。",
              paragraphs=[
                  "7月9日至11日，受高空低槽和西南暖湿气流共同影响，我市出现大范围强降雨天气，全市平均降雨量达到126毫米，最大累计降雨量出现在北山县青石乡，达到318毫米，境内沅溪、白水河等主要河流出现超警戒水位。",
                  Heading("一、提前部署，压紧压实责任"),
                  "7月8日，市防汛抗旱指挥部召开防汛会商调度会，市委常委、副市长陈立新主持会议，提前启动防汛Ⅳ级应急响应，并于7月10日提升至Ⅲ级。各级防汛责任人全部到岗到位，市级领导分片包干赴一线督导。",
                  Heading("二、科学调度，全力转移避险"),
                  "全市累计发布预警信息1.2万条，组织转移受威胁群众6832人，其中北山县转移2940人。市应急管理局会同市水利局对全市47座中小型水库实行“一库一策”调度，提前预泄腾库，确保水库安全度汛。",
                  Heading("三、及时救助，保障基本生活"),
                  "灾情发生后，市应急管理局第一时间启动救灾物资调拨程序，向受灾县（市、区）调拨帐篷、折叠床、棉被等救灾物资1.1万件，及时安排受灾群众临时生活。",
              ],
              event_dates=["2023-07-09", "2023-07-11", "2023-07-08", "2023-07-10"],
              units=["市防汛抗旱指挥部", "市应急管理局", "市水利局", "北山县"]),
            A(section="防汛动态",
              title="市防汛抗旱指挥部组织开展山洪灾害应急演练",
              title_lines=["市防汛抗旱指挥部组织开展", "山洪灾害应急演练"],
              paragraphs=[
                  "6月28日，市防汛抗旱指挥部在北山县青石乡组织开展山洪灾害应急演练。演练模拟强降雨引发山洪、道路中断、群众被困等险情，检验了监测预警、转移避险、抢险救援等环节的协同能力。市消防救援支队、市应急救援队和乡村两级干部群众共380余人参加演练。",
              ],
              event_dates=["2023-06-28"],
              units=["市防汛抗旱指挥部", "市消防救援支队", "市应急救援队", "北山县青石乡"]),
            A(section="基层声音",
              title="北山县“三个一”机制筑牢山区防汛安全防线",
              title_lines=["北山县“三个一”机制", "筑牢山区防汛安全防线"],
              paragraphs=[
                  "北山县针对山高坡陡、人口分散的实际，建立“一张明白卡、一支巡查队、一个避险点”防汛工作机制，为全县1.6万户山区群众发放防汛避险明白卡，组建村级巡查队215支，落实避险安置点96个。此轮强降雨期间，该县提前转移群众2940人，未发生人员伤亡。",
              ],
              units=["北山县"]),
            A(section="基层声音",
              title="江南区网格员成为防汛“前哨”",
              paragraphs=[
                  "江南区将防汛工作纳入基层网格化管理，全区1260名网格员在强降雨期间逐户排查低洼地带和危旧房屋，第一时间上报险情27处，协助转移群众430人。",
              ],
              units=["江南区"]),
        ],
    )


def _gen04() -> BulletinSpec:
    A = ArticleSpec
    return BulletinSpec(
        id="gen04",
        title="文化旅游工作简报",
        publisher="北岭市文化广电旅游局",
        date="2023-10-09",
        special="增刊", issue_no=1,
        pub_date_layout="one-line",
        toc=True, toc_bullet="◆",
        section_style="plain",
        recipients=[["市委办公室", "市政府办公室", "市委宣传部"],
                    ["各县（区）文化广电旅游局", "局机关各科室", "局属各单位"]],
        cc=[],
        disclosure="主动公开",
        printed_by="北岭市文化广电旅游局办公室",
        printed_date="2023-10-10",
        copies=35,
        queries=["国庆", "游客", "古城", "非遗", "安全检查"],
        articles=[
            A(section="假日综述",
              title="国庆假期全市文化旅游市场安全有序",
              paragraphs=[
                  "9月29日至10月6日，全市共接待游客286.4万人次，同比增长百分之三十四；实现旅游收入21.7亿元，同比增长百分之四十一。北岭古城、云台山、月湖湿地公园等重点景区游客接待量均创历史新高，全市未发生重大旅游安全事故和有效投诉。",
                  "假期前，市文化广电旅游局会同市市场监管局、市公安局等部门开展节前安全检查，检查景区、星级饭店、娱乐场所等经营单位132家，整改安全隐患41处。",
              ],
              event_dates=["2023-09-29", "2023-10-06"],
              units=["市文化广电旅游局", "市市场监管局", "市公安局"]),
            A(section="基层动态", run_in=True,
              title="北岭古城推出夜游新场景",
              paragraphs=[
                  "国庆期间，北岭古城推出“灯影古城”夜游项目，开放古城墙夜间游览线路，举办非遗展演和特色市集，日均接待夜游游客3.2万人次。",
              ],
              units=["北岭古城"]),
            A(section="基层动态", run_in=True,
              title="云台县开展非遗进景区活动",
              paragraphs=[
                  "10月2日，云台县在云台山景区举办非遗展演周，组织剪纸、竹编、皮影戏等12个非遗项目进驻景区，传承人现场展示技艺，吸引游客驻足体验。",
              ],
              event_dates=["2023-10-02"],
              units=["云台县", "云台山景区"]),
            A(section="基层动态", run_in=True,
              title="湖滨区强化假日文化市场执法检查",
              paragraphs=[
                  "假日期间，湖滨区文化市场综合执法大队每天安排两个检查组，对辖区网吧、歌舞娱乐场所和剧本娱乐经营场所开展执法检查，共出动执法人员96人次，检查经营场所58家次，责令整改问题6个。",
              ],
              units=["湖滨区文化市场综合执法大队"]),
        ],
    )


def _gen05() -> BulletinSpec:
    A = ArticleSpec
    return BulletinSpec(
        id="gen05",
        title="西川县卫生健康信息",
        publisher="西川县卫生健康局",
        date="2024-04-18",
        issue_no=5, total_no=45, issue_style="plain",
        recipients=[["县委办公室", "县政府办公室", "县人大常委会办公室", "县政协办公室"],
                    ["各乡（镇）卫生院", "县直各医疗卫生单位"]],
        cc=["市卫生健康委员会"],
        disclosure="依申请公开",
        printed_by="西川县卫生健康局办公室",
        copies=30,
        queries=["家庭医生", "义诊", "李秀英", "医共体", "健康"],
        articles=[
            A(title="西川县医共体总医院与各乡（镇）卫生院签订家庭医生签约服务提质增效责任书",
              title_lines=["西川县医共体总医院与各乡（镇）卫生院签订",
                           "家庭医生签约服务提质增效责任书"],
              paragraphs=[
                  "4月10日，西川县召开2024年家庭医生签约服务工作推进会，县医共体总医院与全县14个乡（镇）卫生院签订家庭医生签约服务提质增效责任书。县卫生健康局党组书记、局长李秀英出席会议并讲话。",
                  "今年，全县将组建家庭医生团队126个，重点人群签约服务覆盖率达到百分之七十五以上，为高血压、糖尿病患者提供个性化健康管理服务。县卫生健康局将把签约服务质量纳入乡（镇）卫生院年度绩效考核，推动签约服务由“签得上”向“服务好”转变。",
              ],
              event_dates=["2024-04-10"],
              units=["县医共体总医院", "乡（镇）卫生院", "县卫生健康局"]),
            A(title="县人民医院专家团队赴偏远乡镇开展义诊活动",
              paragraphs=[
                  "4月13日，县人民医院组织心内科、儿科、眼科等8个科室的专家，赴高岩乡、白马乡开展“健康送基层”义诊活动，免费为群众测量血压血糖、开展眼科筛查，现场发放健康宣传资料1500余份，义诊群众620余人次。",
                  "活动期间，专家团队还对乡卫生院医务人员开展了常见病诊疗规范和急救技能培训，进一步提升基层医疗服务能力。",
              ],
              event_dates=["2024-04-13"],
              units=["县人民医院", "高岩乡", "白马乡"]),
            A(title="全县开展爱国卫生月活动",
              paragraphs=[
                  "4月是第36个爱国卫生月。县爱国卫生运动委员会办公室组织开展以“环境卫生同治理，健康生活共参与”为主题的系列活动，发动机关干部、志愿者和群众清理卫生死角，普及健康知识，倡导文明健康绿色环保生活方式。",
              ],
              units=["县爱国卫生运动委员会办公室"]),
        ],
    )


def sample_specs() -> list[BulletinSpec]:
    """Invented sample issues covering the typographic variants."""
    return [_gen01(), _gen02(), _gen03(), _gen04(), _gen05()]


# --------------------------------------------------------------------------
# Writing the samples

SCAN_SAMPLE = ("gen05", "mild", "pdf")     # (issue id, condition, container) of the scanned sample


def input_name(issue_id: str, condition: str, container: str) -> str:
    """Corpus file name: ``<id>-<condition>`` + ``.pdf``/``.tiff``/``.png``/``.jpg`` or ``/`` (folders)."""
    if container.endswith("folder"):
        return f"{issue_id}-{condition}/"
    ext = {"pdf": ".pdf", "tiff": ".tiff", "png": ".png", "jpeg": ".jpg"}[container]
    return f"{issue_id}-{condition}{ext}"


def write_issue(spec: BulletinSpec, out_dir: Union[str, os.PathLike],
                forms: Sequence[tuple] = (("digital", "pdf"),),
                truth_dir: Union[str, os.PathLike, None] = None, seed: int = 0) -> dict:
    """Write one issue in several input forms plus its truth JSON.

    ``forms`` items are ``(condition, container)`` or ``(condition, container,
    {render_scans keyword options})``, e.g. ``("digital", "pdf")``,
    ``("mild", "tiff")``, ``("hard", "jpeg-folder", {"seal": True})``.  Files
    are named ``<id>-<condition>.<ext>`` (``<id>-<condition>/`` for folders);
    ``truth["inputs"]`` lists them.  The truth goes to ``truth_dir`` (default:
    the ``truth`` folder next to ``out_dir``); returns the truth dict.
    """
    out = Path(out_dir)
    tdir = Path(truth_dir) if truth_dir is not None else out.parent / "truth"
    out.mkdir(parents=True, exist_ok=True)
    tdir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        want_digital = any(f[0] == "digital" for f in forms)
        pdf_path = out / input_name(spec.id, "digital", "pdf") if want_digital else Path(tmp) / "d.pdf"
        truth = render_pdf(spec, pdf_path)
        truth["inputs"] = [{"file": pdf_path.name, "condition": "digital"}] if want_digital else []
        for k, form in enumerate(forms):
            cond, container = form[0], form[1]
            if cond == "digital":
                continue
            opts = dict(form[2]) if len(form) > 2 else {}
            opts.setdefault("seed", seed + k)
            name = input_name(spec.id, cond, container)
            render_scans(pdf_path, out / name.rstrip("/"), container, cond, **opts)
            truth["inputs"].append({"file": name, "condition": cond})
    with open(tdir / f"{spec.id}.json", "w", encoding="utf-8") as f:
        json.dump(truth, f, ensure_ascii=False, indent=1)
        f.write("\n")
    return truth


def write_samples(out_dir: Union[str, os.PathLike], scans: bool = True,
                  truth_dir: Union[str, os.PathLike, None] = None,
                  specs: Optional[Sequence[BulletinSpec]] = None) -> list[dict]:
    """Write every sample as ``<id>-digital.pdf`` into ``out_dir`` (a
    ``data/raw`` folder) and its truth as ``<truth_dir>/<id>.json`` (default:
    the ``truth`` folder next to ``out_dir``, so ingest never sees it).  With
    ``scans`` one issue is also written as a small scanned input
    (``SCAN_SAMPLE``: a 2-page mild image-only PDF at 200 dpi with a seal).
    Returns the truth dicts."""
    truths = []
    for spec in (specs if specs is not None else sample_specs()):
        forms: list[tuple] = [("digital", "pdf")]
        if scans and spec.id == SCAN_SAMPLE[0]:
            forms.append((SCAN_SAMPLE[1], SCAN_SAMPLE[2], {"dpi": 200, "seal": True, "seed": 1}))
        truths.append(write_issue(spec, out_dir, forms, truth_dir=truth_dir))
    return truths


def main(argv: Optional[Sequence[str]] = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m pipeline.generate",
                                 description="Write the sample bulletins (PDFs + truth JSON).")
    ap.add_argument("out_dir", help="raw input folder, e.g. data/raw (truth goes to its sibling truth/)")
    ap.add_argument("--scans", action="store_true", help="also write the scanned sample")
    ap.add_argument("--truth-dir", default=None)
    args = ap.parse_args(argv)
    truths = write_samples(args.out_dir, scans=args.scans, truth_dir=args.truth_dir)
    for t in truths:
        print(t["id"], ", ".join(i["file"] for i in t["inputs"]), f"{len(t['pages'])} pages")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
