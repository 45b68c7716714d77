"""Extract stage: issue metadata from the front matter and footer, article dates.

Parses 期号 and dates written in Arabic or Chinese numerals
(``第十二期``, ``二〇二三年三月十五日``, ``2021 年 5 月 28 日``), 总期号, 特刊/增刊,
编印单位, 印发 date, 印数, 信息公开选项 and the addressee lists in either the
主送/抄送 or the 报：/送：/发： form.
"""
from __future__ import annotations

import re

from pipeline.lexicon import DATE_FULL, NUM, cn_number, event_dates, parse_date, short_year_date
from pipeline.lexicon import (DATE, DOC_NO, FOOTER_LABEL, FOOTER_START, HAN, ISSUE_ORDINAL, ISSUE_PAREN,
                              OFFICIAL_MASTHEAD, UNIT_END, addressee_like)
from pipeline.models import Article, Block, DocType, IssueMeta, Role
from pipeline.structure import review
from pipeline.structure.doctype import doc_type, document_title
from pipeline.structure.segment import toc_entries

VERSION = 12   # 12: a 文号 bracket read as a brace, a Chinese year with one numeral misread; 11: specks (. ·) inside an addressee dropped; 10: a year after next year is a misreading (二二二二), addressee end specks; 9: OCR slips in addressees (客/太/《, end specks); 8: a date whose Chinese year OCR cut short (二二年九月六日), checked against the 印发 date or 文号; 7: 各 read 备/名 at an addressee's head, copies on the 印发 line, year from the 文号; 6: spaces between whole unit names separate addressees; 5: a colon at either end of an addressee list item dropped

_ISSUE_NO = re.compile(rf"第\s*({NUM}+)\s*期")
_TOTAL = re.compile(rf"总\s*第?\s*({NUM}+)\s*期?")
_YEAR = re.compile(rf"({NUM}{{4}})\s*年")
_SPECIAL = re.compile(r"(特\s*刊|增\s*刊|专\s*刊|号\s*外)")
_COPIES = re.compile(r"(?:共\s*印[^\d\s]?|印\s*数\s*[:：]?)\s*(\d+)\s*份")   # 印[^\d]: a seal speck
_TOTAL_BRACKETED = re.compile(rf"[（(]?\s*总\s*第?\s*{NUM}+\s*期?\s*[)）]?")
_ISSUE_PART = re.compile(rf"(?:{NUM}{{4}}\s*年\s*)?(?:特\s*刊|增\s*刊|专\s*刊)?\s*第\s*{NUM}+\s*期|{NUM}{{4}}\s*年")
_UNITISH = re.compile(f"[{HAN}]{{2,}}")


def _split_outside_brackets(text: str, seps: str, compact: bool = True) -> list[str]:
    items, buf, depth = [], "", 0
    for ch in text:
        if ch in "（(〔【":
            depth += 1
        elif ch in "）)〕】":
            depth = max(0, depth - 1)
        if depth == 0 and ch in seps:
            if buf.strip():
                items.append(buf.strip())
            buf = ""
        else:
            buf += ch
    if buf.strip():
        items.append(buf.strip())
    return [re.sub(r"\s+", "", i) if compact else i for i in items if re.sub(r"\s+", "", i)]


def _space_separated(item: str) -> list[str]:
    """``县委办公室 县政府办公室``: units set apart by spaces alone, when every
    piece is a whole unit name (4+ characters ending in a unit word); a space
    inside one name (``县委 办公室``, letter-spaced or OCR) is not a separator."""
    pieces = item.split()
    if len(pieces) > 1 and all(len(p) >= 4 and UNIT_END.search(p) for p in pieces):
        return pieces
    return [re.sub(r"\s+", "", item)]


# 各 (each) begins most addressees (各县（市、区）…, 机关各科（室）); OCR reads it
# 备, 名 or 客, which never begin one before these words
_GE_MISREAD = re.compile(r"(?:^|(?<=机关)|(?<=局属)|(?<=[市县省区]直))[备名客]"
                         r"(?=[县市区乡镇省科处室股部单级地有直成学])")


# OCR slips no addressee list holds (it names no title: its 《 is a misread （)
_UNIT_SLIPS = (("人太常委", "人大常委"), ("《", "（"), ("》", "）"))


def _mend_unit(name: str) -> str:
    """An addressee as printed: 各 misread mended, specks (. ·) dropped, and a
    colon at either end (a label's: 主送：, a 主送 line ending 各单位：, or one OCR
    moved: 市教育局：。)."""
    return _GE_MISREAD.sub("各", re.sub(r"[.·]", "", name.strip(":：").strip(",")))


def split_units(text: str) -> list[str]:
    """Split an addressee list at ，、；。, line breaks and spaces between whole
    unit names, but not inside brackets.

    A 、 separates units (``省委办公厅、省人大办公厅``) only when every piece is
    a unit name; otherwise it enumerates inside one unit's name
    (``各省、自治区、直辖市发展改革委``). Repeated items are listed once."""
    out: list[str] = []
    for wrong, right in _UNIT_SLIPS:
        text = text.replace(wrong, right)
    for item in (u for i in _split_outside_brackets(text, "，,；;。\n", compact=False)
                 for u in _space_separated(i)):
        pieces = _split_outside_brackets(item, "、")
        if len(pieces) > 1 and not all(UNIT_END.search(p) for p in pieces):
            pieces = [item]
        pieces = [_mend_unit(p) for p in pieces]
        out += [p for p in pieces if p and p not in out]
    return out


def _clean_unit(t: str) -> str:
    t = re.sub(r"\s+", "", t)
    t = re.sub(r"^(编印单位|编印|主办单位|主办|编发单位)[:：]?", "", t)
    return re.sub(r"(编印|主办|编)$", "", t).strip("，,。 ")


def _despeckle(t: str) -> str:
    """Drop OCR specks inside numbers: （总第.103 期） -> （总第103期）."""
    return re.sub(r"(?<=[第总年])[\s.·,，。:：]+|[\s.·,，。:：]+(?=[期年月日])", "", t)


def extract_meta(blocks: list[Block]) -> IssueMeta:
    meta = IssueMeta()
    mast = [b for b in blocks if b.role == Role.MASTHEAD]
    if mast:
        meta.title = "".join(re.sub(r"\s+", "", b.text) for b in mast)
    front = [b for b in blocks if b.role in (Role.ISSUE_LINE, Role.PUBLISHER_DATE)]
    for b in front:
        # 期号 may share a line with the publisher and the date
        t = _despeckle(b.text)
        m = _TOTAL.search(t)
        if m:
            meta.total_no = cn_number(m.group(1))
            t = t[:m.start()] + t[m.end():]
        m = _ISSUE_NO.search(t)
        if m and meta.issue_no is None:
            meta.issue_no = cn_number(m.group(1))
        m = _SPECIAL.search(t)
        if m and meta.special is None:
            meta.special = re.sub(r"\s+", "", m.group(1))
        m = _YEAR.search(DATE_FULL.sub("", t))   # the year of the issue line, not of a date
        if m and meta.year is None:
            meta.year = cn_number(m.group(1))
        d = parse_date(b.text)
        if d and meta.date is None:
            meta.date = d
        # whatever is left once numbers and dates are taken out may be the publisher,
        # also when it shares a line with the issue number (第3期  XX局办公室  2023年3月15日)
        rest = DATE_FULL.sub(" ", t)
        rest = DATE.sub(" ", rest)
        for rx in (_TOTAL_BRACKETED, _ISSUE_PART, _SPECIAL):
            rest = rx.sub(" ", rest)
        rest = _clean_unit(rest)
        if rest and meta.publisher is None and _UNITISH.search(rest) and len(rest) >= 3:
            meta.publisher = rest
        if meta.issue_no is None:
            m = ISSUE_PAREN.match(re.sub(r"\s+", "", t)) or ISSUE_ORDINAL.match(re.sub(r"\s+", "", t))
            if m:
                meta.issue_no = cn_number(m.group(1))
    meta.doc_type = doc_type(blocks)
    for b in blocks:
        if b.role == Role.DOC_NO and meta.doc_no is None:
            meta.doc_no = doc_number(b.text)
    recipients = [u for b in blocks if b.role == Role.RECIPIENTS
                  for u in split_units(b.text)]
    signed = _signature(meta, [b for b in blocks if b.role == Role.SIGNATURE])
    printed_by = _footer(meta, [b for b in blocks if b.role == Role.FOOTER], has_recipients=bool(recipients))
    meta.recipients = recipients + [u for u in meta.recipients if u not in recipients]
    if meta.doc_type in (DocType.OFFICIAL, DocType.REPORT) and meta.publisher is None:
        meta.publisher = signed or _organs(blocks) or printed_by
    title = document_title(blocks) or ""
    if meta.doc_type == DocType.REPORT:
        m = re.match(rf"^([{HAN}（）()]{{2,30}}?)(?={NUM}{{4}}\s*年|关于)", title)
        if meta.publisher is None and m and UNIT_END.search(m.group(1)):
            meta.publisher = m.group(1)     # 洪泽区人民政府2023年…报告
    doc_year = int(DOC_NO.search(meta.doc_no).group(2)) if meta.doc_no else None
    if meta.date is None:       # a date whose year OCR cut short, checked against the years stated elsewhere
        years = [int(meta.printed_date[:4]) if meta.printed_date else None, doc_year, meta.year]
        dated = (short_year_date(b.text, years) for b in blocks
                 if b.role in (Role.PUBLISHER_DATE, Role.ISSUE_LINE, Role.SIGNATURE))
        meta.date = next(filter(None, dated), None)
    if meta.year is None and meta.date:
        meta.year = int(meta.date[:4])
    if meta.year is None:       # a 公文 whose date OCR could not read: its 文号's year
        meta.year = doc_year
    if meta.year is None and meta.doc_type == DocType.REPORT:
        m = _YEAR.search(title)
        meta.year = cn_number(m.group(1)) if m else None
    meta.toc = toc_entries(blocks)
    meta.flags = review.issue_flags(meta)
    return meta


def doc_number(text: str):
    """The 文号 as printed, with the year in 〔〕 whatever brackets OCR read."""
    m = DOC_NO.search(re.sub(r"\s+", "", text))
    return f"{m.group(1)}〔{m.group(2)}〕{m.group(3)}号" if m else None


def _organs(blocks: list[Block]):
    """The issuing organ(s) named by a 公文's masthead (``XX办公厅文件``), or None."""
    organs = []
    for b in blocks:
        if b.role == Role.MASTHEAD:
            for l in b.lines:
                t = OFFICIAL_MASTHEAD.sub("", re.sub(r"\s+", "", l.text))
                if t:
                    organs.append(t)
    ok = organs and all(UNIT_END.search(o) and re.fullmatch(f"[{HAN}（）()]+", o) for o in organs)
    return "、".join(organs) if ok else None


def _signature(meta: IssueMeta, sig: list[Block]):
    """成文日期 into ``meta.date``; the issuer(s) of the 落款 joined with 、, or None."""
    issuers = []
    for b in sig:
        for l in b.lines:
            d = parse_date(re.sub(r"\s+", "", l.text))
            if d:
                meta.date = meta.date or d
                continue
            # joint issuers may share a line, set apart by spaces (a letter-spaced name may not)
            parts = l.text.split()
            if any(len(p) < 3 for p in parts):
                parts = ["".join(parts)]
            for t in parts:
                if UNIT_END.search(t) and re.fullmatch(f"[{HAN}（）()]+", t):
                    issuers.append(t)
    return "、".join(issuers) or None


_KEY = re.compile(rf"^\s*(信息公开选项|公开属性|公开方式|{FOOTER_LABEL})\s*[:：]?\s*")


def _footer(meta: IssueMeta, footer: list[Block], has_recipients: bool = False):
    """Footer fields into ``meta``; returns the 印发机关 of the 印发 line, if any."""
    lists = {"主送": [], "抄送": [], "报": [], "送": [], "发": []}
    printed_by = None
    for b in footer:
        t = b.text.strip()
        m = _COPIES.search(t)
        if m:
            meta.copies = int(m.group(1))
            # OCR may join （共印30份） to the 印发 line above it
            t = (t[:m.start()] + t[m.end():]).strip(" （()）.。")
            if not t:
                continue
        if "印发" in re.sub(r"\s+", "", t) and not FOOTER_START.match(t):
            meta.printed_date = parse_date(t)
            words = DATE.sub(" ", t).replace("印发", " ").split()     # 国防部办公厅 2012年12月12日印发
            if words and UNIT_END.search(_clean_unit(words[0])):
                printed_by = _clean_unit(words[0])
            continue
        t = re.sub(r"^(信息公开选项|公开属性|公开方式|主\s*送|抄\s*送|抄\s*报|分\s*送)[。.·，,;；]", r"\1：", t)
        m = _KEY.match(t) if FOOTER_START.match(t) else None
        if not m:
            m = re.match(rf"^\s*({FOOTER_LABEL})\s*(?=[{HAN}])", t)   # label without its colon
            if not (m and addressee_like(t)):
                if addressee_like(t):   # a list whose label was lost entirely
                    lists["主送"] += split_units(t)
                continue
        key = re.sub(r"\s+", "", m.group(1))
        value = t[m.end():]
        if key in ("信息公开选项", "公开属性", "公开方式"):
            meta.disclosure = re.sub(r"\s+", "", value).strip("：:。.，,·") or None
        elif key in ("抄送", "抄报"):
            lists["抄送"] += split_units(value)
        elif key == "分送":
            if not has_recipients:      # a distribution list stands in for a missing 主送
                lists["主送"] += split_units(value)
        else:
            lists[key] += split_units(value)
    meta.recipients = list(dict.fromkeys(lists["主送"] + lists["报"] + lists["送"] + lists["发"]))
    meta.cc = list(dict.fromkeys(lists["抄送"]))
    return printed_by


def extract_articles(articles: list[Article], meta: IssueMeta) -> None:
    """Per-article event dates (in place)."""
    for a in articles:
        a.event_dates = event_dates(a.body, meta.date)
        a.event_date = a.event_dates[0] if a.event_dates else None
    meta.sections = list(dict.fromkeys(a.section for a in articles if a.section))


def extract(blocks: list[Block], articles: list[Article]) -> IssueMeta:
    meta = extract_meta(blocks)
    extract_articles(articles, meta)
    return meta
