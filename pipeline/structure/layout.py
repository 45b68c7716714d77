"""Layout stage: give every line a role and group lines into blocks.

Works on geometry and typography only (size, centring, indentation, colour,
heading font), all in points, so text-layer and OCR pages are treated alike.
Roles: masthead, issue line, publisher/date, table of contents, section
heading, article title, subtitle, body paragraph, footer, page number,
running header.
"""
from __future__ import annotations

import re
import statistics
from collections import Counter
from dataclasses import dataclass, field, replace

from pipeline.lexicon import (BULLET, BULLETIN_MASTHEAD, DATE, DECOR, DOC_NO, END_PUNCT, FOOTER_ANY, FOOTER_START, HAN,  # noqa: F401
                              IN_ARTICLE_HEADING, ISSUE_LINE, ISSUE_ORDINAL, OFFICIAL_MASTHEAD, OFFICIAL_TITLE, PAGE_NUMBER,
                              REPORT_TITLE, SERIAL, SUBTITLE, TOC_HEADING, UNIT_END, addressee_like, strip_decoration)
from pipeline.models import Block, Line, Page, Role

VERSION = 17   # 17: a 文号 bracket read as a brace, an indented line to the right margin is a paragraph's first whatever its size; 16: a body-size heading well inside both margins (a speck widened its box); 15: a paragraph's first line sized large is no headline line, a centred body-size heading over a paragraph indented 0.7 character; 14: a publisher line with an end speck, “…” runs on; 13: a headline line ending in a colon that runs on, a larger line a headline runs on from, no section heading out of a run-on paragraph, headline line gap 0.5; 12: a date line whose Chinese year OCR cut short is a date line; 11: a joint 公文 masthead whose 文件 OCR joined to the first organ stays a masthead; 10: OCR misreads of № (N. / N9) before a serial number

# Thresholds, as multiples of the body font size unless said otherwise.
MASTHEAD_SIZE = 1.45        # a masthead line is at least this large ...
MASTHEAD_RED_SIZE = 1.2     # ... or red and at least this large
FRONT_SMALL = 1.12          # publisher/date and running-header lines under/above the masthead are smaller
HEADER_ZONE = 0.12          # share of the page height where running headers and top page numbers sit
FOOTER_ZONE = 0.8           # share of the page height below which bottom page numbers sit
TOP_ZONE = 0.2              # share of page 1's height where a running header above the masthead sits
TABLE_SIZE = 0.85           # text-layer lines smaller than this are table cells, captions or notes
TABLE_CELLS = 3             # a line with this many numeric cells is a table row
SIGNATURE_MAX = 30          # characters of a 落款 issuer line
SIGNATURE_TAIL = 4          # lines from the end of the text within which a bare date is the 成文日期
RECIPIENT_LINES = 5         # lines a 主送 list may wrap over
SUBTITLE_MAX = 20           # characters of a subtitle line under a question headline
HEADLINE_SIZE = 1.1         # a headline is set at least this much larger than the body
SAME_SIZE = 0.15            # relative size difference within which two lines are set in one size
OCR_SIZE_SPREAD = 0.25      # ... and within which OCR's estimates of one size may still differ
HEADLINE_LINE_GAP = 0.5     # gap between the lines of one headline, in its font size (sections stand apart;
                            # OCR boxes of a wrapped 20 pt headline stand 0.37-0.42 apart)
SPECK_SIZE = 0.4            # a one- or two-character 'line' this small next to the body is a speck
TITLE_GAP = 1.2             # a wrapped title's next line starts within this many of its own sizes
SHORT_LINE = 1.5            # a line ending this many body sizes short of the right margin ends its paragraph
INDENT = 0.96               # a paragraph's first line is indented by about one character (or more)
SECTION_CHARS = 12          # characters of a section heading at most
TITLE_CHARS = 40            # characters of one printed title line at most
SECTION_INDENT = 2.5        # a section heading starts within this many body sizes of the left margin
HEADER_SIZE = 1.05          # a running header is no larger than the body
MARGIN_JITTER = 5.0         # points by which OCR boxes of lines starting at one margin differ
BODY_SIZE_TOL = 0.2         # share of the body size within which a long line counts as body text
ROW_OVERLAP = 0.6           # share of the smaller box height two OCR boxes overlap to be one printed row
_QUESTION_END = re.compile(r"(什么|吗|呢|为什么|如何|怎样|怎么办|[？?])$")


@dataclass
class Layout:
    """The layout stage's result: blocks in reading order and the pages as laid
    out (rows merged, OCR specks cleaned, ``text`` set to the reading-order text
    without page numbers). The input pages are left untouched."""
    blocks: list[Block]
    pages: list[Page]



def _norm(text: str) -> str:
    return re.sub(r"\s+", "", text)


@dataclass
class Geometry:
    """Body font size of the document and text-block margins of each page.

    Margins are per page: a scan is shifted, cropped and deskewed differently
    on every page.
    """
    body_size: float
    left: float
    right: float
    pages: dict = field(default_factory=dict)    # page_no -> (left, right)
    local: dict = field(default_factory=dict)    # id(line) -> (left, right) on scans

    def left_of(self, line: Line) -> float:
        if id(line) in self.local:
            return self.local[id(line)][0]
        return self.pages.get(line.page_no, (self.left, self.right))[0]

    def right_of(self, line: Line) -> float:
        if id(line) in self.local:
            return self.local[id(line)][1]
        return self.pages.get(line.page_no, (self.left, self.right))[1]

    def center_of(self, line: Line) -> float:
        return (self.left_of(line) + self.right_of(line)) / 2

    def width_of(self, line: Line) -> float:
        return self.right_of(line) - self.left_of(line)


def _densest(xs: list[float], tol: float, prefer_low: bool) -> float:
    """The x around which most values lie (within ±tol); ties go to the outer one."""
    best = max(xs, key=lambda x: (sum(1 for y in xs if abs(y - x) <= tol), -x if prefer_low else x))
    near = [y for y in xs if abs(y - best) <= tol]
    return min(near) if prefer_low else max(near)


def _margins(lines: list[Line]) -> tuple[float, float]:
    """Where most long lines start and end (OCR boxes jitter by a few points)."""
    lines = [l for l in lines if not BULLET.match(l.text)] or lines
    return (_densest([l.box[0] for l in lines], MARGIN_JITTER, True),
            _densest([l.box[2] for l in lines], MARGIN_JITTER, False))


def measure(pages: list[Page]) -> Geometry:
    """Body font size and text block margins from the long lines of the document."""
    weights: Counter = Counter()
    for p in pages:
        for l in p.lines:
            weights[round(l.size * 2) / 2] += len(l.text)
    body = weights.most_common(1)[0][0] if weights else 12.0
    long_lines = [l for p in pages for l in p.lines
                  if len(_norm(l.text)) >= 12 and abs(l.size - body) <= body * BODY_SIZE_TOL]
    if len([l for l in long_lines if not BULLET.match(l.text)]) >= 3:
        left, right = _margins(long_lines)
    else:
        w = pages[0].width if pages else 595
        left, right = w * 0.13, w * 0.87
    g = Geometry(body, left, right)
    # Scans are shifted, cropped and deskewed differently on every page, so
    # their margins are measured per page (and locally, below); text-layer
    # pages share the document's.
    full = [l for l in long_lines if l.box[2] - l.box[0] >= 0.75 * (right - left)
            and abs(l.size - body) <= 0.12 * body]
    for p in pages:
        if p.method == "text-layer":
            continue
        own = [l for l in full if l.page_no == p.page_no]
        if len(own) < 4:
            continue
        pl, pr = _margins(own)
        if abs(pl - left) < body and abs(pr - right) < body:
            g.pages[p.page_no] = (pl, pr)
        if len(own) >= 6:
            # margins drift down a scanned page (residual skew, paper curl):
            # take them from the nearest long lines, most of which are full
            # continuation lines; the second extreme skips one outlier
            for l in p.lines:
                near = sorted(own, key=lambda o: abs(o.box[1] - l.box[1]))[:8]
                xs0 = sorted(o.box[0] for o in near)
                # right: the median, as punctuation may hang past the margin
                xs1 = statistics.median(o.box[2] for o in near)
                if abs(xs0[1] - left) < body:
                    g.local[id(l)] = (xs0[1], xs1)
    return g


def is_centered(line: Line, g: Geometry) -> bool:
    """Centred between the margins (a title), as opposed to a justified body line."""
    x0, _, x1, _ = line.box
    tolerance = 0.6 * g.body_size if line.size < 1.15 * g.body_size else 0.8 * line.size
    if abs((x0 + x1) / 2 - g.center_of(line)) > tolerance:
        return False
    if x0 < g.left_of(line) + 0.5 * g.body_size and line.size < g.body_size * 1.2:
        return False   # a full-width body line is centred too, trivially
    return (x1 - x0) < g.width_of(line) * 0.97


def merge_rows(lines: list[Line]) -> list[Line]:
    """Merge pieces of one printed line (OCR often returns 单位 and date of
    ``溪城市生态环境局　2023年8月22日`` as two boxes) into one line, left to right."""
    rows: list[list[Line]] = []
    for l in sorted(lines, key=lambda l: (l.box[1], l.box[0])):
        h = l.box[3] - l.box[1]
        for row in rows[-2:]:
            r = row[-1]
            overlap = min(l.box[3], r.box[3]) - max(l.box[1], r.box[1])
            rh = r.box[3] - r.box[1]
            apart = all(l.box[0] >= x.box[2] - 0.3 * l.size or l.box[2] <= x.box[0] + 0.3 * l.size
                        for x in row)
            if overlap > ROW_OVERLAP * min(h, rh) and apart and l.page_no == r.page_no:
                row.append(l)
                break
        else:
            rows.append([l])
    out = []
    for row in rows:
        if len(row) == 1:
            out.append(row[0])
            continue
        row.sort(key=lambda l: l.box[0])
        text = row[0].text
        for prev, l in zip(row, row[1:]):
            text += (" " if l.box[0] - prev.box[2] > 0.6 * l.size else "") + l.text
        n = sum(len(l.text) for l in row) or 1
        out.append(Line(
            text=text, box=(row[0].box[0], min(l.box[1] for l in row), row[-1].box[2], max(l.box[3] for l in row)),
            page_no=row[0].page_no, size=sum(l.size * len(l.text) for l in row) / n,
            color="red" if sum(len(l.text) for l in row if l.color == "red") > n / 2 else "black",
            bold=all(l.bold for l in row), bold_prefix=row[0].bold_prefix if not row[0].bold else len(row[0].text),
            font=row[0].font, confidence=min(l.confidence for l in row)))
    out.sort(key=lambda l: (l.box[1], l.box[0]))
    return out


def _drop_seal_arcs(lines: list[Line]) -> list[Line]:
    """Drop OCR 'lines' read off a seal's curved rim: a box that spans the
    rows of two or more smaller printed lines is not a printed line itself."""
    out = []
    for l in lines:
        h = l.box[3] - l.box[1]
        inside = [m for m in lines if m is not l and (m.box[3] - m.box[1]) < 0.7 * h
                  and l.box[1] <= (m.box[1] + m.box[3]) / 2 <= l.box[3]]
        if len(inside) < 2:
            out.append(l)
    return out


def _own_pages(pages: list[Page]) -> list[Page]:
    """Copies of the pages with cleaned, merged copies of their lines."""
    out = []
    for src in pages:
        p = replace(src, lines=[replace(l, text=l.text.replace("\u00ad", "")) for l in src.lines])
        if p.method != "text-layer":
            p.lines = _drop_seal_arcs([l for l in p.lines if l.text])
        p.lines = merge_rows(p.lines)
        out.append(p)
    return out


def layout(pages: list[Page]) -> list[Block]:
    """Assign roles to all lines of a document and return blocks in reading order."""
    return analyse(pages).blocks


def analyse(pages: list[Page]) -> Layout:
    """Assign roles to all lines of a document: blocks in reading order and the
    laid-out pages (new objects; ``pages`` is not modified)."""
    if not pages:
        return Layout([], [])
    pages = _own_pages(pages)
    g = measure(pages)
    roles: dict[int, str] = {}
    seq: list[Line] = [l for p in pages for l in p.lines]
    for l in seq:
        l.centered = is_centered(l, g)
    index = {id(l): i for i, l in enumerate(seq)}

    # page numbers and running headers
    page_of = {p.page_no: p for p in pages}
    header_counts: Counter = Counter()
    for p in pages:
        for l in p.lines[:2]:
            if l.box[1] < p.height * HEADER_ZONE:
                header_counts[re.sub(r"\d+", "#", _norm(l.text))] += 1
    for i, l in enumerate(seq):
        p = page_of[l.page_no]
        near_edge = l.box[1] > p.height * FOOTER_ZONE or l.box[3] < p.height * HEADER_ZONE
        if near_edge and PAGE_NUMBER.match(l.text) and len(_norm(l.text)) <= 8:
            roles[i] = Role.PAGE_NUMBER
        elif (l.page_no > pages[0].page_no and l.box[1] < p.height * HEADER_ZONE and len(pages) > 2
              and header_counts[re.sub(r"\d+", "#", _norm(l.text))] >= max(2, len(pages) // 2)
              and l.size <= g.body_size * HEADER_SIZE and not l.text.rstrip().endswith(tuple(END_PUNCT))):
            roles[i] = Role.RUNNING_HEADER

    content = [i for i in range(len(seq)) if i not in roles]

    # front matter (masthead, issue line, publisher/date) at the top of page 1
    first_page = pages[0].page_no
    pos = 0
    saw_masthead = False
    while pos < len(content) and seq[content[pos]].page_no == first_page:
        l = seq[content[pos]]
        t = _norm(l.text)
        unspecked = t.rstrip("。.·")      # (a speck OCR read after a publisher line)
        if SERIAL.match(t):
            roles[content[pos]] = Role.RUNNING_HEADER   # a copy's serial number, not a 期号
        elif (l.size >= g.body_size * MASTHEAD_SIZE or (l.color == "red" and l.size >= g.body_size * MASTHEAD_RED_SIZE)) \
                and not TOC_HEADING.match(t) and pos <= 3 + (4 if not saw_masthead else 0):
            if saw_masthead and roles.get(content[pos - 1]) != Role.MASTHEAD:
                break
            roles[content[pos]] = Role.MASTHEAD
            saw_masthead = True
        elif saw_masthead and DOC_NO.search(t) and len(t) <= 40:
            roles[content[pos]] = Role.DOC_NO
        elif ISSUE_LINE.search(t) and len(t) <= 30 and (saw_masthead or not ISSUE_ORDINAL.match(t)):
            roles[content[pos]] = Role.ISSUE_LINE   # (材料之三 is a 期号 only under a masthead)
        elif DATE.search(t) and len(t) <= 40:
            roles[content[pos]] = Role.PUBLISHER_DATE
        elif (len(t) <= 30 and not unspecked.endswith(tuple(END_PUNCT)) and not TOC_HEADING.match(t)
              and l.size < g.body_size * FRONT_SMALL
              and (l.centered or l.box[0] > g.left_of(l) + 2 * g.body_size) and pos <= 8
              and _looks_like_unit_line(unspecked) and not l.bold):
            roles[content[pos]] = Role.PUBLISHER_DATE
        elif (not saw_masthead and pos <= 3 and len(t) <= 20 and l.box[1] < pages[0].height * TOP_ZONE
              and l.size < g.body_size * FRONT_SMALL and not l.bold and _above_large(seq, content, pos, g)):
            # e.g. 内部资料 注意保存 above the masthead; a headline at the top of a
            # document without masthead is not one
            roles[content[pos]] = Role.RUNNING_HEADER
        else:
            break
        pos += 1

    # a large title at the top of a report, a 公文 or a leaflet is no masthead: a
    # masthead has a 期号, a 文号 or a date under it, ends in 文件 or names a bulletin
    front_roles = {roles.get(i) for i in content[:pos]}
    top = [i for i in content[:pos] if roles.get(i) == Role.MASTHEAD]
    top_text = _masthead_text([seq[i].text for i in top])     # 文件 read last (a joint 公文's)
    if top and not front_roles & {Role.ISSUE_LINE, Role.DOC_NO} and not OFFICIAL_MASTHEAD.search(top_text) \
            and (REPORT_TITLE.search(top_text) or OFFICIAL_TITLE.search(top_text)
                 or (Role.PUBLISHER_DATE not in front_roles and not BULLETIN_MASTHEAD.search(top_text))):
        for i in top:
            roles[i] = Role.TITLE

    # footer block: from the first footer keyword line near the end
    footer_from = None
    tail_pages = {p.page_no for p in pages[-2:]}
    for i in content[pos:]:
        l = seq[i]
        if l.page_no in tail_pages and (FOOTER_START.match(l.text) or FOOTER_ANY.search(_norm(l.text))):
            rest = [j for j in content if j > i]
            if all(seq[j].page_no in tail_pages for j in rest):
                footer_from = i
                break
    if footer_from is not None:
        # OCR may lose the 报：/送：/主送： labels: addressee lists right above the
        # first recognised footer line still belong to the footer
        k = content.index(footer_from)
        while k > pos and seq[content[k - 1]].page_no == seq[footer_from].page_no \
                and addressee_like(seq[content[k - 1]].text):
            k -= 1
        footer_from = content[k]
    if footer_from is not None:
        for j in content:
            if j >= footer_from:
                roles[j] = Role.FOOTER

    body_idx = [i for i in content[pos:] if i not in roles]

    # table of contents
    toc_sections: list[str] = []
    k = 0
    while k < len(body_idx):
        i = body_idx[k]
        if TOC_HEADING.match(_norm(seq[i].text)):
            roles[i] = Role.TOC_HEADING
            k = _mark_toc(seq, body_idx, k + 1, roles, g, toc_sections)
            break
        if k > 3:
            break
        k += 1

    # headings, titles and body in the remaining zone
    rest = [i for i in body_idx if i not in roles]
    toc_sec_norm = {strip_decoration(s) for s in toc_sections}
    for n, i in enumerate(rest):
        l = seq[i]
        t = _norm(l.text)
        prev = seq[rest[n - 1]] if n else None
        nxt = seq[rest[n + 1]] if n + 1 < len(rest) else None
        if _table_row(l, t, pages_by_no=page_of, g=g):
            roles[i] = Role.TABLE
            continue
        roles[i] = _classify(l, t, prev, nxt, roles.get(rest[n - 1]) if n else None, g, toc_sec_norm)
        if roles[i] == Role.TITLE and n and roles.get(rest[n - 1]) == Role.TITLE and prev is not None \
                and _QUESTION_END.search(_norm(prev.text)) and len(t) <= SUBTITLE_MAX:
            roles[i] = Role.SUBTITLE    # a headline put as a question is complete: the next line is a subtitle

    bulletin = any(r == Role.ISSUE_LINE for r in roles.values())
    masthead = _masthead_text([seq[i].text for i in content[:pos] if roles.get(i) == Role.MASTHEAD])
    official = bool(OFFICIAL_MASTHEAD.search(masthead)) or any(r == Role.DOC_NO for r in roles.values())
    if not bulletin:
        _mark_recipients(seq, rest, roles, g, official)
        _mark_signature(seq, rest, roles)

    blocks = _group(seq, roles, g)
    for p in pages:
        p.text = "\n".join(l.text for l in p.lines if roles[index[id(l)]] != Role.PAGE_NUMBER)
    return Layout(blocks, pages)


def _above_large(seq, content, pos, g) -> bool:
    """A large line (a masthead or headline) follows within the next three lines."""
    return any(seq[j].size >= g.body_size * MASTHEAD_RED_SIZE for j in content[pos + 1:pos + 4])


_CELL_NUMBER = re.compile(r"^[0-9０-９.,%％]+$")


def _table_row(l: Line, t: str, pages_by_no, g: Geometry) -> bool:
    """A table row, header cell or caption: set smaller than the body on a text
    layer, or a line of several numeric cells."""
    if pages_by_no[l.page_no].method == "text-layer" and l.size < g.body_size * TABLE_SIZE:
        return True
    cells = l.text.split()
    return sum(1 for c in cells if _CELL_NUMBER.match(c)) >= TABLE_CELLS


def _mark_recipients(seq, rest, roles, g, official: bool) -> None:
    """主送: the lines right under a 公文's title, flush left, up to the one ending in ：."""
    titles = [n for n, i in enumerate(rest) if roles[i] == Role.TITLE]
    if not titles:
        return
    first = titles[0]
    while first + 1 < len(rest) and roles[rest[first + 1]] == Role.TITLE:
        first += 1
    title = "".join(_norm(seq[i].text) for i in rest[:first + 1] if roles[i] == Role.TITLE)
    if not (official or OFFICIAL_TITLE.search(title)):
        return
    span = rest[first + 1:first + 1 + RECIPIENT_LINES]
    for k, i in enumerate(span):
        l = seq[i]
        t = _norm(l.text)
        if roles[i] not in (Role.BODY, Role.TITLE) or (k and _starts_paragraph(l, g)) or "。" in t:
            return
        if t.endswith(("：", ":")):
            for j in span[:k + 1]:
                roles[j] = Role.RECIPIENTS
            return


def _mark_signature(seq, rest, roles) -> None:
    """落款: a bare date line and the issuer lines right above it, at the end of
    the text or, when attachments follow, wherever a unit name stands over it."""
    body = [i for i in rest if roles[i] in (Role.BODY, Role.TITLE, Role.SECTION)]
    for k in range(len(body) - 1, -1, -1):
        i = body[k]
        t = _norm(seq[i].text)
        m = DATE.search(t)
        if not (m and len(t) - len(m.group(0)) <= 2):
            continue
        issuers = []
        while k - 1 - len(issuers) >= 0 and len(issuers) < 3:
            j = body[k - 1 - len(issuers)]
            u = _norm(seq[j].text)
            if not u or len(u) > SIGNATURE_MAX or u.endswith(tuple(END_PUNCT)) or DATE.search(u) \
                    or re.search(r"[:：0-9，,；;。]", u) \
                    or not (UNIT_END.search(u) or len(u) <= 8):   # a unit (or a person), not a clause
                break
            issuers.append(j)
        near_end = k >= len(body) - SIGNATURE_TAIL
        if not near_end and not (issuers and UNIT_END.search(_norm(seq[issuers[0]].text))):
            continue
        for j in [i] + issuers:
            roles[j] = Role.SIGNATURE
        return




def _looks_like_unit_line(t: str) -> bool:
    """A publisher (XX局, XX局编印) or date line under the masthead."""
    return bool(UNIT_END.search(re.sub(r"(编印|编|主办)$", "", t))) or bool(DATE.search(t))


def sentence_like(t: str) -> bool:
    """Running text rather than a headline: a full stop inside, a long clause
    with commas, or a date opening (5月8日，…)."""
    return ("。" in t.rstrip("。") or ("，" in t and len(t) > 20)
            or bool(re.match(r"^\d{1,2}月\d{1,2}日", t)))


def _mark_toc(seq, body_idx, k, roles, g, toc_sections) -> int:
    """Mark table-of-contents lines from position k; returns the position after the TOC."""
    entry_x = None
    first_page = seq[body_idx[k - 1]].page_no if k else None
    while k < len(body_idx):
        i = body_idx[k]
        l = seq[i]
        t = _norm(l.text)
        bare = strip_decoration(t)
        if l.page_no != first_page and not BULLET.match(l.text):
            break
        if l.size > g.body_size * 1.12 and not BULLET.match(l.text) and (l.centered or len(bare) > 12):
            break   # a title: the contents are over
        if toc_sections and bare in {strip_decoration(s) for s in toc_sections}:
            break
        if FOOTER_START.match(l.text) or (len(t) > 14 and l.box[0] < g.left + 0.8 * l.size) \
                or (sentence_like(_norm(l.text)) and "，" in l.text):
            break   # the footer, or body text (an entry has no clause commas)
        if BULLET.match(l.text):
            roles[i] = Role.TOC_ENTRY
            entry_x = l.box[0]
        elif entry_x is not None and l.box[0] > entry_x + 0.4 * l.size and len(t) < 40:
            roles[i] = Role.TOC_ENTRY  # continuation of a wrapped entry
        elif len(bare) <= 12 and (l.bold or entry_x is None or l.box[0] < entry_x - 0.4 * l.size
                                  or any(c in t for c in "【】◆■")):
            roles[i] = Role.SECTION
            toc_sections.append(bare)
        elif len(t) <= 40:
            roles[i] = Role.TOC_ENTRY
            entry_x = entry_x if entry_x is not None else l.box[0]
        else:
            break
        k += 1
    return k



def _headline_runs_on(l: Line, nxt, g: Geometry) -> bool:
    """``nxt`` is the second line of a headline ``l`` starts: set tight below it in headline type."""
    if nxt is None or nxt.page_no != l.page_no:
        return False
    gap, t = nxt.box[1] - l.box[3], nxt.text.strip()
    return (-0.2 * l.size <= gap < HEADLINE_LINE_GAP * l.size and nxt.size >= g.body_size * HEADLINE_SIZE
            and not t.endswith(tuple(END_PUNCT)) and not sentence_like(t))


def _runs_on_into(prev, prev_role, g: Geometry) -> bool:
    """``prev``, a body line running to the right margin without a sentence's
    closing punctuation (it may end in ，、), continues on the next line: the
    short 十二 of ...下降百分之 / 十二。 over a page break, or 见效一片 of
    ...建一片、成一片、/ 见效一片。, their 。 lost, is no section heading."""
    # (a closing quote or bracket ends a sentence only after its 。: “服务好” runs on)
    return (prev is not None and prev_role == Role.BODY and not _ends_paragraph(prev, g)
            and not _norm(prev.text).rstrip("”’）)」』").endswith(("。", "！", "？", "；", "：", "…")))


_DECORATED = re.compile(r"^[【\[〔◆◇■□●★☆▲◎※].{1,14}[】\]〕◆◇■□●★☆▲◎※]?$")


def _classify(l: Line, t: str, prev, nxt, prev_role, g: Geometry, toc_secs: set) -> str:
    size = l.size
    bare = strip_decoration(t)
    ends_punct = t.endswith(tuple(END_PUNCT))
    short = len(bare) <= SECTION_CHARS
    if SUBTITLE.match(l.text) and prev_role in (Role.TITLE,) and len(t) <= TITLE_CHARS:
        return Role.SUBTITLE
    if (prev_role == Role.TITLE and l.centered and re.match(r"^[一\-－]", t) and prev is not None
            and size < 0.92 * prev.size and len(t) <= TITLE_CHARS):
        return Role.SUBTITLE   # OCR read the dash ―― as 一 or -
    if bare and bare in toc_secs and short:
        return Role.SECTION
    if IN_ARTICLE_HEADING.match(t):
        return Role.BODY
    if short and _DECORATED.match(t) and not ends_punct:
        return Role.SECTION
    larger = size >= g.body_size * HEADLINE_SIZE
    headline_below = _headline_runs_on(l, nxt, g)      # a headline l starts runs on below it
    # section heading: short, not a sentence, set apart by font/colour, not centred,
    # and not the first line of a headline that runs on in large type right below it
    if (short and not ends_punct and len(bare) >= 2 and not l.centered
            and (l.bold or l.color == "red" or larger)
            and l.box[0] <= g.left_of(l) + SECTION_INDENT * g.body_size
            and not headline_below and not _runs_on_into(prev, prev_role, g)):
        return Role.SECTION
    # (a colon ending a headline line that runs on below: a speck, or a title's own 标题：副题 break)
    runs_on = larger and l.centered and t.endswith(("：", ":")) and headline_below
    if (not ends_punct or t.endswith(("”", "）")) or runs_on) and not sentence_like(t):
        same_as_prev_title = (prev_role == Role.TITLE and prev is not None
                              and abs(prev.size - size) < SAME_SIZE * max(prev.size, size))
        # a line indented like a paragraph's first and running to the right margin is
        # one, whatever size OCR gave it and however wide that makes the centring
        # tolerance (今年9月23日是… under a headline)
        if _starts_paragraph(l, g) and l.box[2] >= g.right_of(l) - 0.5 * g.body_size:
            return Role.BODY
        # (the first line under the front matter in larger type is a headline even
        # when a scan's box runs wide)
        if larger and (l.centered or l.bold or same_as_prev_title or (prev is None and prev_role is None)
                       or headline_below):
            return Role.TITLE
        if l.centered and (l.bold or l.color == "red") and len(t) <= TITLE_CHARS:
            return Role.TITLE
        if same_as_prev_title and l.centered:
            return Role.TITLE
        # a body-size title: a short centred line between paragraphs (or one well inside
        # both margins: a speck can widen a hard scan's box to one side by a character or two)
        if (l.centered or _mid_block(l, g)) and len(t) <= TITLE_CHARS and l.box[2] - l.box[0] < 0.85 * g.width_of(l) \
                and prev is not None and nxt is not None \
                and prev_role in (Role.BODY, Role.SECTION, None) and _ends_paragraph(prev, g) \
                and nxt.box[0] >= g.left_of(nxt) + g.body_size * 0.7:
            # (the next paragraph indented: by two characters, but a speck left of a
            # hard scan's line can start its box 1.2 characters early)
            return Role.TITLE
    return Role.BODY


def _mid_block(line: Line, g: Geometry) -> bool:
    """Three characters or more inside both margins of the text block."""
    return line.box[0] >= g.left_of(line) + 3 * g.body_size and line.box[2] <= g.right_of(line) - 3 * g.body_size


def _ends_paragraph(line: Line, g: Geometry) -> bool:
    """A line that stops well short of the right margin ends its paragraph."""
    return line.box[2] < g.right_of(line) - SHORT_LINE * g.body_size


def _starts_paragraph(line: Line, g: Geometry) -> bool:
    """Indented (by the customary two characters; a scan's jitter allowed) from the margin."""
    return line.box[0] >= g.left_of(line) + INDENT * line.size


def join_lines(texts: list[str]) -> str:
    """Join printed lines without the spaces a line break is not."""
    out = ""
    for t in texts:
        t = t.strip()
        if out and re.match(r"[A-Za-z]", t[:1] or "") and re.match(r"[A-Za-z]", out[-1:]):
            out += " "
        out += t
    return out


def _group(seq: list[Line], roles: dict[int, str], g: Geometry) -> list[Block]:
    """Group consecutive lines into blocks: paragraphs for body, one block per heading."""
    blocks: list[Block] = []
    prev_body: Line | None = None
    for i, l in enumerate(seq):
        role = roles[i]
        if role in (Role.PAGE_NUMBER, Role.RUNNING_HEADER) or (
                len(l.text.strip()) <= 2 and l.size < SPECK_SIZE * g.body_size):
            continue    # (a speck OCR read as 一 or 、 would split the paragraph it sits in)
        last = blocks[-1] if blocks else None
        if role == Role.BODY:
            new_par = (last is None or last.role != Role.BODY or prev_body is None
                       or _starts_paragraph(l, g) or _ends_paragraph(prev_body, g))
            if new_par:
                blocks.append(Block(Role.BODY, [l]))
            else:
                last.lines.append(l)
            prev_body = l
            continue
        prev_body = None
        joinable = role in (Role.TITLE, Role.MASTHEAD, Role.TOC_ENTRY, Role.FOOTER, Role.RECIPIENTS, Role.TABLE)
        if last is not None and last.role == role and joinable and _continues(last, l, role, g):
            last.lines.append(l)
        else:
            blocks.append(Block(role, [l]))
    for b in blocks:
        if b.role == Role.FOOTER:
            # a list line that stops short ends its items even when OCR lost the 。
            parts = [b.lines[0].text]
            for prev, l in zip(b.lines, b.lines[1:]):
                parts.append(("\n" if _ends_paragraph(prev, g) else "") + l.text.strip())
            b.text = "".join(parts)
        elif b.role == Role.TABLE:
            b.text = "\n".join(l.text.strip() for l in b.lines)
        elif b.role == Role.MASTHEAD:
            b.text = _masthead_text([l.text for l in _masthead_order(b.lines)])
        else:
            b.text = join_lines([l.text for l in b.lines])
    return blocks


def _masthead_order(lines: list[Line]) -> list[Line]:
    """Masthead lines in reading order: columns left to right, top to bottom in
    each. A joint 公文 masthead stacks the organs beside one tall 文件."""
    cols: list[list[Line]] = []
    for l in sorted(lines, key=lambda l: l.box[0]):
        for c in cols:
            if any(min(l.box[2], m.box[2]) - max(l.box[0], m.box[0]) > 0 for m in c):
                c.append(l)
                break
        else:
            cols.append([l])
    return [l for c in cols for l in sorted(c, key=lambda l: l.box[1])]


def _masthead_text(texts: list[str]) -> str:
    """Joined masthead lines. The 文件 of a joint 公文 masthead stands beside the
    stacked organs and is read last, even when OCR joined it to the first organ."""
    texts = [_norm(t) for t in texts]
    if len(texts) > 1 and not OFFICIAL_MASTHEAD.search(texts[-1]) \
            and any(OFFICIAL_MASTHEAD.search(t) for t in texts[:-1]):
        texts = [OFFICIAL_MASTHEAD.sub("", t) for t in texts] + ["文件"]
    return join_lines(texts)


def _continues(block: Block, l: Line, role: str, g: Geometry) -> bool:
    prev = block.lines[-1]
    if role == Role.TITLE:
        gap, big = l.box[1] - prev.box[3], max(l.size, prev.size)
        # centred lines set tight are one headline even when OCR sizes differ a little
        tight = l.centered and prev.centered and gap < HEADLINE_LINE_GAP * big
        return l.page_no == prev.page_no and gap < TITLE_GAP * l.size and (
            abs(l.size - prev.size) < SAME_SIZE * big or (tight and abs(l.size - prev.size) < OCR_SIZE_SPREAD * big))
    if role == Role.TOC_ENTRY:
        # a wrapped entry: the line before ran to the right margin, this one is not a new bullet
        return not BULLET.match(l.text) and prev.box[2] > g.right_of(prev) - 2 * prev.size
    if role == Role.FOOTER:
        # an addressee list wrapped onto an indented line
        return not (FOOTER_START.match(l.text) or FOOTER_ANY.search(_norm(l.text))) and \
            not DATE.search(l.text) and l.box[0] > block.lines[0].box[0] + 0.5 * l.size
    return True
