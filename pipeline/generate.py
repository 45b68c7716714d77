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
    paragraphs: list = field(default_factory=list)   # str or Heading
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
    if ord(ch) in _cmaps[font] or ch.isspace():
        return font
    other = HEI if font == BODY else BODY
    return other if ord(ch) in _cmaps[other] else font


def char_width(ch: str, font: str, size: float) -> float:
    key = (ch, font)
    w = _width_cache.get(key)
    if w is None:
        from reportlab.pdfbase import pdfmetrics
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
    lines = wrap([(c, HEI) for c in a.title], size, width)
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

    sections = spec.sections()
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
    label_w = 3 * fs
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
    del label_w
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
        else:  # image-only pdf
            import pikepdf
            from PIL import Image
            out_path.parent.mkdir(parents=True, exist_ok=True)
            pdf = pikepdf.new()
            for pno, arr, ang in it:
                im = Image.fromarray(arr)
                buf = io.BytesIO()
                im.save(buf, "JPEG", quality=jpeg_quality, dpi=(dpi, dpi))
                w, h = im.size
                xobj = pikepdf.Stream(pdf, buf.getvalue())
                xobj.Type = pikepdf.Name.XObject
                xobj.Subtype = pikepdf.Name.Image
                xobj.Width, xobj.Height = w, h
                xobj.ColorSpace = pikepdf.Name.DeviceGray if arr.ndim == 2 else pikepdf.Name.DeviceRGB
                xobj.BitsPerComponent = 8
                xobj.Filter = pikepdf.Name.DCTDecode
                pw, ph = w * 72.0 / dpi, h * 72.0 / dpi
                content = pikepdf.Stream(pdf, f"q {pw:.4f} 0 0 {ph:.4f} 0 0 cm /Im0 Do Q".encode())
                page = pikepdf.Dictionary(
                    Type=pikepdf.Name.Page,
                    MediaBox=[0, 0, pw, ph],
                    Resources=pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im0=xobj)),
                    Contents=content,
                )
                pdf.pages.append(pikepdf.Page(page))
                sizes.append((w, h))
                skews.append(ang)
                del buf, im
            pdf.save(str(out_path))
            pdf.close()
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


def sample_specs() -> list[BulletinSpec]:
    """Invented sample issues covering the typographic variants."""
    return [_gen01()]


# --------------------------------------------------------------------------
# Writing the samples

SCAN_SAMPLE = ("gen01", "mild", "pdf")     # (issue id, condition, container) of the scanned sample


def write_samples(out_dir: Union[str, os.PathLike], scans: bool = True,
                  truth_dir: Union[str, os.PathLike, None] = None,
                  specs: Optional[Sequence[BulletinSpec]] = None) -> list[dict]:
    """Write every sample as ``<id>-digital.pdf`` into ``out_dir`` (a
    ``data/raw`` folder) and its truth as ``<truth_dir>/<id>.json`` (default:
    the ``truth`` folder next to ``out_dir``).  With ``scans`` one issue is
    also written as a small scanned input (see ``SCAN_SAMPLE``).
    Returns the truth dicts."""
    out = Path(out_dir)
    tdir = Path(truth_dir) if truth_dir is not None else out.parent / "truth"
    out.mkdir(parents=True, exist_ok=True)
    tdir.mkdir(parents=True, exist_ok=True)
    truths = []
    for spec in (specs if specs is not None else sample_specs()):
        pdf_path = out / f"{spec.id}-digital.pdf"
        truth = render_pdf(spec, pdf_path)
        if scans and spec.id == SCAN_SAMPLE[0]:
            _, cond, container = SCAN_SAMPLE
            name = f"{spec.id}-{cond}" + ("/" if container.endswith("folder") else "." + container)
            render_scans(pdf_path, out / name.rstrip("/"), container, cond, dpi=200, seed=1)
            truth["inputs"].append({"file": name, "condition": cond})
        with open(tdir / f"{spec.id}.json", "w", encoding="utf-8") as f:
            json.dump(truth, f, ensure_ascii=False, indent=1)
            f.write("\n")
        truths.append(truth)
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
