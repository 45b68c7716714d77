"""Segment stage: split an issue's blocks into articles.

Articles start at title blocks, or at a run-in title: the first sentence of a
paragraph that is itself a headline (``遂宁局把好“三关”狠抓安全生产工作。一是……``).
When the issue prints a table of contents (本期提要), its entries are the
authority: an entry not yet found as a title is looked for as a run-in
sentence, and a run-in candidate must match an entry.
"""
from __future__ import annotations

import re
from typing import Optional

from rapidfuzz.distance import Indel

from pipeline.lexicon import BULLET, IN_ARTICLE_HEADING, strip_decoration
from pipeline.models import Article, Block, DocType, Role
from pipeline.structure.doctype import doc_type

VERSION = 4

# roles that are the document's apparatus, not the text of an article
_APPARATUS = {Role.MASTHEAD, Role.ISSUE_LINE, Role.PUBLISHER_DATE, Role.DOC_NO, Role.RECIPIENTS,
              Role.FOOTER, Role.PAGE_NUMBER, Role.RUNNING_HEADER, Role.TOC_HEADING, Role.TOC_ENTRY}

_OPENER = re.compile(
    r"^(近日|日前|近期|近年来|今年|去年|年初|\d{1,2}月|[0-9〇一二三四五六七八九十]{4}年|[一二三四五六七八九十]+是|"
    r"为(了)?|截至|目前|据|自|从|随着|在|按照|根据|围绕|结合|针对|本学期|今春|入夏|当前|\d)")
_NOT_TITLE_START = re.compile(r"^(各|要|将|[一二三四五六七八九十]+[是要、]|第[一二三四五六七八九十]|首先|其次|同时|此外|另外|会议|大家|"
                              r"他|她|我们|该|这|其|对此|为此|截至|目前|\d{1,2}月\d{1,2}日|近日|日前)")
_SENT_END = "。！？"


def _norm(t: str) -> str:
    return re.sub(r"\s+", "", t)


def similar(a: str, b: str) -> float:
    a, b = _norm(a), _norm(b)
    if not a or not b:
        return 0.0
    return Indel.normalized_similarity(a, b)   # 2·LCS / (|a| + |b|)


_LEADER = re.compile(r"\s*(?:[.．·…。]{2,}|\s{2,}|[.．·…]\s*)\s*(?:第\s*)?\d{1,3}\s*页?\s*$")


def toc_entries(blocks: list[Block]) -> list[str]:
    """本期提要 entries without bullets and without leader dots and page numbers (……2)."""
    return [_LEADER.sub("", BULLET.sub("", b.text)).strip() for b in blocks if b.role == Role.TOC_ENTRY]


def run_in_title(block: Block, toc: list[str]) -> Optional[str]:
    """The run-in title of a paragraph, or None."""
    text = block.text
    first = block.lines[0] if block.lines else None
    # typographic evidence: the sentence is set in a heading font
    if first is not None and first.bold_prefix >= 4:
        m = re.match(r"^(.{4,60}?)[。！？]", text)
        if m and m.end() >= first.bold_prefix - 1 and not text.startswith("编者按") \
                and len(text) > m.end():
            return m.group(1)
    if toc:
        return _toc_prefix(text, toc)
    m = re.match(r"^(.{6,48}?)[。！？]", text)
    if not m:
        return None
    sent, rest = m.group(1), text[m.end():]
    if sent.startswith("编者按"):
        return None
    if re.search(r"[，,；;：:]", sent) or _NOT_TITLE_START.match(sent) or len(rest) < 10:
        return None
    if re.search(r"要|将|应|须", sent[2:]):   # an instruction or plan, not a headline
        return None
    if _OPENER.match(rest) or rest[:3] == sent[:3]:
        return sent
    return None


def _toc_prefix(text: str, toc: list[str]) -> Optional[str]:
    """The start of ``text`` that repeats a table-of-contents entry, if any.

    Tolerates OCR errors in either copy, including a lost 。 after the title.
    """
    best, best_title = 0.0, None
    for e in toc:
        n = len(_norm(e))
        if n < 4:
            continue
        for k in (n - 1, n, n + 1):
            cand = text[:k].rstrip("。！？ ")
            s = similar(cand, e)
            if s > best:
                best, best_title = s, cand
    if best < 0.85 or best_title is None:
        return None
    # prefer the printed sentence end when it is right there
    m = re.match(r"^(.{4,60}?)[。！？]", text)
    if m and abs(len(m.group(1)) - len(best_title)) <= 1:
        return m.group(1)
    return best_title


def segment(blocks: list[Block]) -> list[Article]:
    """Articles in reading order with section, title, subtitle, body and page span.

    A bulletin holds many articles; a 公文, a report or any other document is
    one article titled with the document's title."""
    if doc_type(blocks) != DocType.BULLETIN:
        return _single(blocks)
    return _articles(blocks)


def _single(blocks: list[Block]) -> list[Article]:
    """The whole document as one article: its first title, its subtitle, the rest as body."""
    text = [b for b in blocks if b.role not in _APPARATUS]
    if not text:
        return []
    head = next((b for b in text if b.role == Role.TITLE), None)
    if head is not None and any(b.role in (Role.BODY, Role.TABLE) for b in text[:text.index(head)]):
        head = None     # a title after the text has begun is a heading inside it
    if head is None:
        first = next((b for b in text if b.role in (Role.BODY, Role.SUBTITLE)), text[0])
        m = re.match(r"^(.{2,40}?)[。！？，]", first.text)
        title = m.group(1) if m else first.text[:20]
        a = Article(seq=1, title=title, run_in=True, page_start=first.page_no, page_end=first.page_no)
    else:
        a = Article(seq=1, title=_norm(head.text), page_start=head.page_no, page_end=head.page_no)
    paragraphs = []
    for b in text:
        if b is head:
            pass
        elif b.role == Role.SUBTITLE and a.subtitle is None and not paragraphs and head is not None:
            a.subtitle = re.sub(r"^\s*(——|—|--|－－|一一|─+|[一\-－])", "", b.text).strip() or None
        elif b.role != Role.SIGNATURE:
            paragraphs.append(b.text)
        for l in b.lines:
            a.boxes.append((l.page_no, *l.box))
            a.page_end = max(a.page_end, l.page_no)
        confs = [l.confidence for l in b.lines]
        if confs:
            a.confidence = min(a.confidence, sum(confs) / len(confs))
    a.body = "\n".join(p.strip() for p in paragraphs if p.strip())
    return [a]


def _articles(blocks: list[Block]) -> list[Article]:
    toc = toc_entries(blocks)
    articles: list[Article] = []
    section: Optional[str] = None
    current: Optional[Article] = None
    paragraphs: dict[int, list[str]] = {}
    in_toc = False
    pending: list[Block] = []

    def start(title: str, block: Block, run_in=False) -> Article:
        a = Article(seq=len(articles) + 1, title=title, section=section, run_in=run_in,
                    page_start=block.page_no, page_end=block.page_no)
        articles.append(a)
        paragraphs[a.seq] = [p.text for p in pending]
        for p in pending:
            extend(a, p)
        pending.clear()
        return a

    def extend(a: Article, block: Block):
        for l in block.lines:
            a.boxes.append((l.page_no, *l.box))
            a.page_end = max(a.page_end, l.page_no)
        confs = [l.confidence for l in block.lines]
        a.confidence = min(a.confidence, sum(confs) / len(confs)) if confs else a.confidence

    for b in blocks:
        if b.role == Role.TOC_HEADING:
            in_toc = True
            continue
        if b.role == Role.TOC_ENTRY:
            continue
        if b.role == Role.SECTION:
            if in_toc and not any(x.role in (Role.TITLE, Role.BODY) for x in blocks[:blocks.index(b)]) \
                    and _is_toc_section(b, blocks):
                continue
            in_toc = False
            section = strip_decoration(b.text)
            current = None
            continue
        if b.role == Role.BODY and current is None and b.text.startswith("编者按") and not pending:
            pending.append(b)
            continue
        if b.role == Role.TITLE:
            in_toc = False
            current = start(b.text.strip(), b)
            extend(current, b)
            continue
        if b.role == Role.SUBTITLE and current is not None and not paragraphs[current.seq]:
            current.subtitle = re.sub(r"^\s*(——|—|--|－－|一一|─+|[一\-－])", "", b.text).strip() or None
            extend(current, b)
            continue
        if b.role == Role.TABLE:
            if current is None:
                pending.append(b)
            else:
                extend(current, b)
                paragraphs[current.seq].append(b.text)
            continue
        if b.role in (Role.BODY, Role.SUBTITLE):
            in_toc = False
            title = None
            after_heading = bool(paragraphs.get(current.seq)) and bool(
                IN_ARTICLE_HEADING.match(paragraphs[current.seq][-1])) if current else False
            if (current is None or paragraphs[current.seq] or current.run_in) and not after_heading:
                # (the first paragraph under a printed title is never a run-in title:
                # its lead sentence often repeats the headline)
                title = run_in_title(b, [e for e in toc if not _used(e, articles)])
            if title is not None:
                current = start(title, b, run_in=True)
                extend(current, b)
                rest = b.text[len(title):].lstrip("。！？ .·，,")
                if rest:
                    paragraphs[current.seq].append(rest)
                continue
            if current is None:
                if b.text.startswith("编者按"):
                    pending.append(b)   # an editor's note printed above the title
                    continue
                # text before any title: keep it, titled by its first sentence
                m = re.match(r"^(.{2,40}?)[。！？，]", b.text)
                current = start(m.group(1) if m else b.text[:20], b, run_in=True)
            extend(current, b)
            paragraphs[current.seq].append(b.text)
    for a in articles:
        a.body = "\n".join(p.strip() for p in paragraphs[a.seq] if p.strip())
    return articles


def _used(entry: str, articles: list[Article]) -> bool:
    return any(similar(entry, a.title) >= 0.85 for a in articles)


def _is_toc_section(block: Block, blocks: list[Block]) -> bool:
    """A section heading printed inside the table of contents (followed by TOC entries)."""
    i = blocks.index(block)
    return i + 1 < len(blocks) and blocks[i + 1].role == Role.TOC_ENTRY
