"""Bulletin generator: spec."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Union



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
