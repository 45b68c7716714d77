"""The shared vocabulary of the pipeline: Han character ranges, the patterns
of bulletin and 公文 print (issue lines, footer labels, decorations), Chinese
numbers and dates. Every stage takes these from here, so a form added once is
recognised everywhere.

Dates:

``二〇二三年三月十五日``, ``2021 年 5 月 28 日``, ``第十二期``, ranges such as
``5月17日至19日`` / ``5月17-19日`` / ``12月30日至1月2日``.
"""
from __future__ import annotations

import datetime as dt
import re
from typing import Optional

# CJK unified ideographs (+ extension A, compatibility ideographs): a regex class body
HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
HAN_RE = re.compile(f"[{HAN}]")

# labels that open a footer (版记) line: 主送/抄送/抄报/分送 and the 报/送/发 form
FOOTER_LABEL = r"主\s*送|抄\s*送|抄\s*报|分\s*送|报|送|发"

CN_DIGITS = {"〇": 0, "零": 0, "○": 0, "Ｏ": 0, "O": 0, "o": 0, "一": 1, "二": 2, "两": 2, "三": 3,
             "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_FULLWIDTH = str.maketrans("０１２３４５６７８９", "0123456789")


def cn_number(s: str) -> Optional[int]:
    """'12', '１２', '十二', '二十三', '一〇三', '一百零三' -> int; None if not a number."""
    s = re.sub(r"\s+", "", s or "").translate(_FULLWIDTH)
    if not s:
        return None
    if s.isdigit():
        return int(s)
    if all(c in CN_DIGITS for c in s):            # digit by digit: 二〇二三, 一〇三
        return int("".join(str(CN_DIGITS[c]) for c in s))
    total, cur = 0, 0
    for c in s:
        if c in CN_DIGITS:
            cur = CN_DIGITS[c]
        elif c in "十百千":
            total += (cur or 1) * {"十": 10, "百": 100, "千": 1000}[c]
            cur = 0
        else:
            return None
    return total + cur


def iso(y, m, d) -> Optional[str]:
    try:
        return dt.date(y, m, d).isoformat()
    except (TypeError, ValueError):
        return None


NUM = r"[0-9０-９〇零○Ｏ一二三四五六七八九十百两]"
DATE_FULL = re.compile(rf"({NUM}{{4}})\s*年\s*({NUM}{{1,3}})\s*月\s*({NUM}{{1,3}})\s*日")


# A date in Chinese numerals whose year OCR cut short or garbled: on faded scans
# 二〇二二年 reads 二二年 (the small 〇 lost, the 二 on either side merged into
# one), 二二二二年 (the 〇 read as 二) or 三〇二二年 (one numeral misread).
DATE_CN_SHORT = re.compile(r"([〇○一二三四五六七八九]{2,4})\s*年\s*([一二三四五六七八九十]{1,3})\s*月"
                           r"\s*([一二三四五六七八九十]{1,3})\s*日")


def _year_shape(digits: str) -> str:
    """Chinese year numerals without their 〇 and with repeats merged: what
    survives of a year when OCR loses the 〇."""
    return re.sub(r"(.)\1+", r"\1", re.sub("[〇○零]", "", digits))


def short_year_date(text: str, years) -> Optional[str]:
    """A date of ``text`` whose year OCR cut short (``二二年九月六日``), as ISO,
    when one of ``years`` (stated elsewhere in the same document: its 文号, its
    印发 date) has the same shape; else None."""
    m = DATE_CN_SHORT.search(text or "")
    if not m:
        return None
    cn, read = "〇一二三四五六七八九", m.group(1).replace("○", "〇")
    for y in years:
        printed = "".join(cn[int(c)] for c in str(y)) if y else ""
        one_slip = len(read) == len(printed) and sum(a != b for a, b in zip(read, printed)) == 1
        if y and (_year_shape(printed) == _year_shape(read) or one_slip):     # 三〇二二 for 二〇二二
            return iso(int(y), cn_number(m.group(2)), cn_number(m.group(3)))
    return None


def parse_date(text: str) -> Optional[str]:
    """The first complete date (year, month, day) in ``text`` as ISO, or None.
    A year after next year is a misreading (二〇二二 read 二二二二), not a date."""
    for m in DATE_FULL.finditer(text or ""):
        year = cn_number(m.group(1))
        found = iso(year, cn_number(m.group(2)), cn_number(m.group(3))) \
            if year and 1800 <= year <= dt.date.today().year + 1 else None
        if found:
            return found
    return None


_N = r"[0-9０-９]{1,4}|[〇零○一二两三四五六七八九十]{1,4}"
_SP = r"\s*"
_RANGE = r"(?:至|到|—|–|－|-|~|～)"
DATE_RE = re.compile(
    rf"(?:(?P<y>{_N}){_SP}年{_SP})?(?P<m>{_N}){_SP}月{_SP}(?P<d>{_N})"
    rf"(?:{_SP}[日号](?:{_SP}{_RANGE}{_SP}(?:(?:(?P<y2>{_N}){_SP}年{_SP})?(?P<m2>{_N}){_SP}月{_SP})?"
    rf"(?P<d2>{_N}){_SP}[日号])?"
    rf"|{_SP}{_RANGE}{_SP}(?P<d3>{_N}){_SP}[日号])"   # 5月17-19日
)
ISO_RE = re.compile(r"(?<![0-9])(\d{4})-(\d{1,2})-(\d{1,2})(?![0-9])")


def event_dates(text: str, issue_date: Optional[str]) -> list[str]:
    """Dates of events written in ``text``, ISO, in order of appearance, no repeats.

    A range gives its first and last day; a month/day without a year takes the
    year of ``issue_date`` (the year before when the month is more than two
    months after the issue's: 12月 in a January issue); dates inside
    《document titles》 are not events; 近日/日前 give none.
    """
    text = re.sub(r"《[^》]*》", lambda m: " " * len(m.group(0)), text or "")
    year0 = month0 = None
    if issue_date:
        m = re.match(r"(\d{4})(?:-(\d{1,2}))?", str(issue_date))
        year0 = int(m.group(1)) if m else None
        month0 = int(m.group(2)) if m and m.group(2) else None
    found: list[tuple[int, str]] = []
    for m in ISO_RE.finditer(text):
        d = iso(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        if d:
            found.append((m.start(), d))
    for m in DATE_RE.finditer(text):
        y = cn_number(m.group("y")) if m.group("y") else year0
        mo, day = cn_number(m.group("m")), cn_number(m.group("d"))
        if not m.group("y") and y and month0 and mo and mo > month0 + 2:
            y -= 1      # 12月28日 in a January issue: last year
        if y is not None and y < 100:
            y += 2000
        first = iso(y, mo, day) if y else None
        if not first:
            continue
        found.append((m.start(), first))
        if m.group("d2") or m.group("d3"):
            y2 = cn_number(m.group("y2")) if m.group("y2") else y
            m2 = cn_number(m.group("m2")) if m.group("m2") else mo
            if m.group("m2") and not m.group("y2") and m2 < mo:
                y2 = y + 1      # 12月30日至1月2日
            last = iso(y2, m2, cn_number(m.group("d2") or m.group("d3")))
            if last and last > first:
                found.append((m.start() + 1, last))
    out: list[str] = []
    for _, d in sorted(found):
        if d not in out:
            out.append(d)
    return out


# --------------------------------------------------------------------------
# print conventions of bulletins and 公文

PAGE_NUMBER = re.compile(r"^[\s\-—–－一_~·•.]*(第\s*)?[0-9]{1,3}(\s*页)?[\s\-—–－一_~·•.]*$")
# 期号 forms: 第10期, 特刊/增刊, 总第 N 期, a bare bracketed number under the masthead (（93）, ( 2 )),
# 材料之三
ISSUE_PAREN = re.compile(r"^[（(]\s*([0-9０-９]{1,4}|[〇零一二三四五六七八九十百两]{1,5})\s*[)）]$")
ISSUE_ORDINAL = re.compile(r"^[\u4e00-\u9fff]{0,6}之\s*([0-9]{1,3}|[一二三四五六七八九十百两]{1,4})$")
ISSUE_LINE = re.compile(r"第\s*[0-9〇零一二三四五六七八九十百两]+\s*期|特\s*刊|增\s*刊|专\s*刊|总\s*第|"
                        r"^\(?（?\s*\d+\s*）?\)?$|" + ISSUE_PAREN.pattern + "|" + ISSUE_ORDINAL.pattern)
# a serial number printed on the copy (№ 0002798, 编号：…, No. 12): never a 期号.
# OCR reads a small № as "N.", "N9" or "N" (real photos): before five or more
# digits those are serials too
SERIAL = re.compile(r"^(№|N\s*[°ºo]\.?|NO\.?|编\s*号)\s*[:：.]?\s*[0-9A-Za-z\-]+$"
                    r"|^N\s*[.．9]?\s*\d{5,}$|^0\d{3,}$")   # or a 份号 000123
# 文号 of a 公文: issuer code, 〔year〕, number (OCR may read 〔〕 as [] 【】 ［］ or （）)
# (OCR may read the year's bracket twice, 江发改财【〔2023〕15号, or as a brace: 〔2023})
DOC_NO = re.compile(r"([\u4e00-\u9fff]{1,16})\s*[〔\[［【（({]{1,2}\s*((?:19|20)\d\d)\s*[〕\]］】）)}]{1,2}\s*(\d{1,5})\s*号")
# the 发文机关标志 of a 公文 ends in 文件
OFFICIAL_MASTHEAD = re.compile(r"文\s*件$")
# the title of a 公文: 关于…的通知, …通报/意见/决定/函 …
OFFICIAL_TITLE = re.compile(r"(通知|通报|意见|决定|命令|公告|通告|批复|请示|报告|函|纪要|办法|规定|方案|决议)$")
# words that name a bulletin's masthead (when its 期号 is not printed or not read)
BULLETIN_MASTHEAD = re.compile(r"简报|简讯|快报|动态|通讯|信息|专报|要情|情况反映|工作交流|周报|月报|旬报|内参|要讯|参考|工作$")
REPORT_TITLE = re.compile(r"(报告|总结|汇报|调研|调查|综述|白皮书|年报|公报)")
DATE = re.compile(r"[0-9〇零○Ｏ一二三四五六七八九]{4}\s*年\s*[0-9一二三四五六七八九十]{1,3}\s*月\s*[0-9一二三四五六七八九十]{1,3}\s*日|"
                  + DATE_CN_SHORT.pattern)     # (or one whose Chinese year OCR cut short)
TOC_HEADING = re.compile(r"^(本期(提要|要目|目录|导读|内容)|目\s*录|内容提要|要\s*目)[:：]?$")
FOOTER_START = re.compile(r"^\s*(信息公开选项|公开(属性|方式|选项)|主\s*送|抄\s*送|抄\s*报|分\s*送|(?:" + FOOTER_LABEL + r")\s*[:：])")
FOOTER_ANY = re.compile(r"印发\s*$|^[（(]?\s*(共印|印数[:：]?)\s*\d+\s*份\s*[)）]?$")
SUBTITLE = re.compile(r"^\s*(——|—|--|－－|一一|─)")
BULLET = re.compile(r"^\s*[●◆■□◇○•·▲△★☆▶►\-—*]\s*")
DECOR = "【】[]〔〕◆◇■□●○★☆▲△◎※·•<>《》〈〉"
END_PUNCT = "。！？；：，、”’）)…"


def strip_decoration(text: str) -> str:
    return re.sub(r"\s+", "", text).strip(DECOR + "—- 。.·・")



# how the name of a unit (organisation) ends
UNIT_END = re.compile(r"(办公室|办公厅|局|厅|委|委员会|会|办|院|部|部门|单位|学校|中心|政府|组|处|室|科|股|队|所|站|"
                       r"馆|园|校|司|团|社|集团|公司)[)）]?$")
_LABEL = re.compile(rf"^({FOOTER_LABEL})\s*[:：]?")


def _norm(text: str) -> str:
    return re.sub(r"\s+", "", text)


def addressee_like(text: str) -> bool:
    """A line of an addressee list: unit names separated by ，、； (the first
    and last item may be pieces of a name wrapped across lines)."""
    t = _LABEL.sub("", _norm(text)).rstrip("。；;")
    items = [x for x in re.split(r"[，,、；;。]", t) if x]
    if not items:
        return False
    whole = items[1:-1] if len(items) > 2 else items
    if len(items) == 1:
        return bool(UNIT_END.search(items[0])) and len(items[0]) <= 20 or t.endswith("单位")
    good = sum(1 for x in whole if UNIT_END.search(x))
    return good >= 0.6 * len(whole)


# in-article headings (一、… （一）… 1. …) belong to the body, never to sections
IN_ARTICLE_HEADING = re.compile(r"^\s*([一二三四五六七八九十]+\s*[、.．]|[（(][一二三四五六七八九十0-9]+[)）]|[0-9]+\s*[、.．](?!\d))")
