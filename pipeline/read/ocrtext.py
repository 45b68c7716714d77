"""OCR text clean-up, one place for every engine: normalisation of what the
recognisers return (full-width digits, CJK punctuation, spaces between Han
characters, brackets, dashes) and joining detector pieces into printed lines."""
from __future__ import annotations

import re
import statistics
from dataclasses import dataclass


from pipeline.lexicon import HAN



@dataclass
class OcrLine:
    text: str
    box: tuple[float, float, float, float]   # x0, top, x1, bottom in pixels
    confidence: float = 1.0                  # 0..1


# --------------------------------------------------------------------------
# Text post-processing shared by the engines

_HAN = HAN
_CJK_PUNCT = "，。：；（）“”‘’、！？《》〈〉【】—…·「」『』〔〕"
_CJK = _HAN + re.escape(_CJK_PUNCT)
_HAN_RE = re.compile(f"[{_HAN}]")
_DASHES = "-－—―─‒–一ー"

_FULLWIDTH_ASCII = {chr(c): chr(c - 0xFEE0) for c in range(0xFF10, 0xFF1A)}        # ０-９
_FULLWIDTH_ASCII.update({chr(c): chr(c - 0xFEE0) for c in range(0xFF21, 0xFF3B)})   # Ａ-Ｚ
_FULLWIDTH_ASCII.update({chr(c): chr(c - 0xFEE0) for c in range(0xFF41, 0xFF5B)})   # ａ-ｚ
_FULLWIDTH_ASCII.update({"％": "%", "．": "."})
_FW_TABLE = str.maketrans(_FULLWIDTH_ASCII)
_TO_FULL = {",": "，", ":": "：", ";": "；", "(": "（", ")": "）", "!": "！", "?": "？"}


def _is_han(ch: str) -> bool:
    return bool(ch) and bool(_HAN_RE.match(ch))


def _is_cjkish(ch: str) -> bool:
    return bool(ch) and (_is_han(ch) or ch in _CJK_PUNCT)


def remove_han_spaces(text: str) -> str:
    """Drop spaces between two CJK characters (Han or full-width punctuation)."""
    return re.sub(f"(?<=[{_CJK}]) +(?=[{_CJK}])", "", text)


_OCR_LEAD = re.compile(r"^[.·•・，,。、]+(?=\S)")
_OCR_TAIL = re.compile(r"(?<=\S)[·•・]+$")
_OCR_NUM_SPECK = re.compile(r"(?<=[年月第总])[\s。.·,，:：]+(?=[0-9])|(?<=[0-9])[\s。.·,，:：]+(?=[年月日期号])")
_OCR_DOT = re.compile(f"(?<=[{HAN}”“）])[·•・](?=[{HAN}“”（])")


def clean_ocr_line(text: str) -> str:
    """Remove specks an OCR engine reads as punctuation: a dot at the start of a
    line (a lost bullet or noise — Chinese lines never start with ，。、), a
    trailing middle dot, a middle dot between Han characters."""
    text = _OCR_LEAD.sub("", text.strip())
    text = _OCR_TAIL.sub("", text)
    text = _OCR_NUM_SPECK.sub("", text)     # 2023年。.8.月22日 -> 2023年8月22日
    return _OCR_DOT.sub("", text)


def normalize_text(text: str) -> str:
    """Normalise OCR punctuation by context.

    * full-width digits/Latin -> ASCII; digits, Latin, decimals (5.6, 2.62%)
      stay as printed;
    * ASCII , : ; ! ? next to Han -> full-width (not 9:30, 1,200); ``"``
      pairs -> “ ”; 丶 -> 、; · between Han -> 、; ``.`` after Han -> 。;
      ``+`` between Han -> ＋; brackets: see ``_fix_brackets``; ``<...>``
      round Han -> 〈...〉 (``<<...>>`` -> 《...》); 一完一 -> —完—;
    * a leading · . 。 ， 、 (a speck: Chinese lines never start with closing
      punctuation) is dropped, spaces between Han removed;
    * dashes: page numbers ``- 2 -`` / ``一 2 一`` -> ``— 2 —``; a leading run
      of two or more dash-likes (subtitle) -> ``——`` (``一一`` stays a word).
    """
    if not text:
        return text
    t = text.translate(_FW_TABLE)
    t = t.replace("丶", "、").replace("\u3000", " ")
    t = re.sub(r"\s+", " ", t).strip()
    # page number line
    m = re.fullmatch(f"[{_DASHES}~]+ ?(\\d{{1,3}}) ?[{_DASHES}~]+", t)
    if m:
        return f"— {m.group(1)} —"
    # subtitle dash run at the start / ASCII double hyphen anywhere
    # ("一一" stays: 一一对应 / 一一落实 are words, and both recognisers print
    # a real dash as —)
    t = re.sub(f"^(?=[{_DASHES}]*[^一{_HAN}])[{_DASHES}]{{2,}} ?(?=[{_HAN}])", "——", t)
    t = re.sub(r"(?<![-\w])-{2,}|[—―─]{2,}", "——", t)
    t = re.sub(r"(?<=[\u4e00-\u9fff])—(?=[\u4e00-\u9fff（“])", "——", t) if "——" not in t else t
    # decimal points mangled: 5。6 / 5. 6 -> 5.6
    t = re.sub(r"(?<=\d)[。，·] ?(?=\d)", lambda mm: "." if mm.group(0)[0] != "，" else "，", t)
    t = re.sub(r"(?<=\d)\. (?=\d)", ".", t)
    # ASCII punctuation in Chinese context -> full width
    chars = list(t)
    n = len(chars)

    def neighbour(i: int, step: int) -> str:
        j = i + step
        while 0 <= j < n and chars[j] == " ":
            j += step
        return chars[j] if 0 <= j < n else ""

    for i, ch in enumerate(chars):
        if ch in _TO_FULL:
            left, right = neighbour(i, -1), neighbour(i, 1)
            if ch == ":" and left.isdigit() and right.isdigit():
                continue                       # 9:30
            if ch == "," and left.isdigit() and right.isdigit():
                continue                       # 1,200 thousands separator
            if ch in "()":
                continue                       # see the bracket pass below
            if _is_cjkish(left) or _is_han(right):
                chars[i] = _TO_FULL[ch]
        elif ch == "." and _is_han(neighbour(i, -1)) and not neighbour(i, 1).isdigit():
            chars[i] = "。"
    t = "".join(chars)
    # brackets: a pair holding or touching Han is full width (the recognisers
    # mix ( and （ at random; bulletins print （）), as is an unpaired ASCII
    # bracket next to Han; (1) / (a) between non-Han stay ASCII.
    t = _fix_brackets(t)
    # a line that is only a bracketed number is the 期号 of a historical
    # bulletin, printed （2）; N° / Nº before digits is the numero sign №
    t = re.sub(r"^[(（](\d{1,4})[)）]$", "（\\1）", t)
    t = re.sub(r"(?:^No|N[°º˚]) ?(?=\d)", "№ ", t)
    # angle brackets round Han are title marks the recognisers read as ASCII
    # (<红旗> for 〈红旗〉, <<人民日报>> for 《人民日报》); a comparison (x<5) holds no Han
    # (a title holds no clause punctuation: a<b，则c>d stays)
    t = re.sub(f"<<([^<>，。；]*[{_HAN}][^<>，。；]*)>>", "《\\1》", t)
    t = re.sub(f"<([^<>，。；]*[{_HAN}][^<>，。；]*)>", "〈\\1〉", t)
    # the end mark —完— read with 一 for its dashes (一完一 is no word)
    t = re.sub(f"(?<![{_HAN}])[{_DASHES}]完[{_DASHES}](?![{_HAN}])", "—完—", t)
    # ASCII double quotes in Chinese text -> “ ”
    if '"' in t and _HAN_RE.search(t):
        out, open_q = [], True
        for ch in t:
            if ch == '"':
                out.append("“" if open_q else "”")
                open_q = not open_q
            else:
                out.append(ch)
        t = "".join(out)
    # specks read as dots inside dates and issue numbers: 2023年.8.月 / 第.2·期
    t = re.sub(r"(?<=[年第月总]) ?[.·•]+ ?(?=\d)", "", t)
    t = re.sub(r"(?<=\d) ?[.·•]+ ?(?=[年月日期号份])", "", t)
    t = re.sub(r"(?<=\d年)。[.·•]*(?=\d{1,2}月)", "", t)
    # '+' between Han is the full-width plus of the text (基础托管＋特色课程)
    t = re.sub(f"(?<=[{_HAN}”）]) ?\\+ ?(?=[{_HAN}“（])", "＋", t)
    # 、 misread as a middle dot between two Han characters
    t = re.sub(f"(?<=[{_HAN}])[·•](?=[{_HAN}])", "、", t)
    # closing punctuation never starts a line (Chinese line-breaking rules):
    # a leading dot / stop is a speck of dirt
    t = re.sub(r"^[·•.。，、：；]+ ?(?=\S)", "", t)
    # stray specks read as dots after a stop
    t = re.sub(r"(?<=[。！？；，”])[.·•]+$", "", t)
    t = remove_han_spaces(t)
    # no space before/after full-width punctuation
    t = re.sub(r" +(?=[，。：；、！？）”])", "", t)
    t = re.sub(r"(?<=[（“：，。；、]) +", "", t)
    return clean_ocr_line(t)


def _fix_brackets(t: str) -> str:
    chars = list(t)
    stack: list[int] = []
    pairs: dict[int, int] = {}
    for i, ch in enumerate(chars):
        if ch in "(（":
            stack.append(i)
        elif ch in ")）":
            if stack:
                pairs[stack.pop()] = i
    matched = set(pairs) | set(pairs.values())
    for o, c in pairs.items():
        mixed = (chars[o] == "（") != (chars[c] == "）")
        inner_han = any(_is_han(ch) for ch in chars[o + 1:c])
        outer_han = (o > 0 and _is_han(chars[o - 1])) or (c + 1 < len(chars) and _is_han(chars[c + 1]))
        if mixed or inner_han or outer_han:
            chars[o], chars[c] = "（", "）"
    for i, ch in enumerate(chars):
        if i in matched or ch not in "()":
            continue
        left = chars[i - 1] if i else ""
        right = chars[i + 1] if i + 1 < len(chars) else ""
        if _is_cjkish(left) or _is_cjkish(right):
            chars[i] = "（" if ch == "(" else "）"
    return "".join(chars)


# --------------------------------------------------------------------------
# Grouping detector boxes into lines


def group_lines(items: list[OcrLine], join_gap: float = 2.5) -> list[OcrLine]:
    """Merge boxes on one text row left to right; return lines in reading order.

    Boxes whose vertical extents overlap by more than half the smaller height
    are one row.  Within a row, neighbours closer than ``join_gap`` x the row
    height are merged into one line (a space is kept where the gap is wider
    than ~0.4 height); farther pieces stay separate lines of the same row.
    """
    items = [it for it in items if it.text and it.text.strip()]
    items = [it for it in items if not _read_twice(it, items)]
    if not items:
        return []
    from pipeline.read.regions import find_gutters
    gutters = find_gutters(items)
    items.sort(key=lambda it: ((it.box[1] + it.box[3]) / 2, it.box[0]))
    rows: list[list[OcrLine]] = []
    for it in items:
        placed = False
        for row in reversed(rows[-3:]):
            top = statistics.median(r.box[1] for r in row)
            bot = statistics.median(r.box[3] for r in row)
            ov = min(bot, it.box[3]) - max(top, it.box[1])
            hmin = min(bot - top, it.box[3] - it.box[1])
            # pieces of one row never overlap in x (a photo's curved lines
            # give tall boxes that reach into the next line)
            side = all(min(it.box[2], r.box[2]) - max(it.box[0], r.box[0])
                       <= min(hmin, 0.5 * (it.box[2] - it.box[0]), 0.5 * (r.box[2] - r.box[0]))
                       for r in row)
            if hmin > 0 and ov > 0.5 * hmin and side:
                row.append(it)
                placed = True
                break
        if not placed:
            rows.append([it])
    out: list[OcrLine] = []
    for row in rows:
        row.sort(key=lambda it: it.box[0])
        h = statistics.median(r.box[3] - r.box[1] for r in row)
        cur = [row[0]]
        for it in row[1:]:
            gap = it.box[0] - cur[-1].box[2]
            cy = (it.box[1] + it.box[3]) / 2
            split = any(cur[-1].box[2] <= g1 and it.box[0] >= g0 and top <= cy <= bottom
                        for g0, g1, top, bottom in gutters)
            if gap <= join_gap * h and not split:
                cur.append(it)
            else:
                out.append(_merge(cur, h))
                cur = [it]
        out.append(_merge(cur, h))
    # reading order: by row centre, then x (rows were built in y order)
    return out


def _read_twice(it: OcrLine, items: list[OcrLine]) -> bool:
    """A quote or stop the detector boxed alone although it lies inside a
    line's box (the line's reading already has it)."""
    t = it.text.strip()
    if any(ch.isalnum() for ch in t):
        return False
    w, h = it.box[2] - it.box[0], it.box[3] - it.box[1]
    return any(o is not it and any(ch.isalnum() for ch in o.text)
               and min(it.box[2], o.box[2]) - max(it.box[0], o.box[0]) > 0.5 * w
               and min(it.box[3], o.box[3]) - max(it.box[1], o.box[1]) > 0.5 * h
               for o in items)


def _merge(parts: list[OcrLine], h: float) -> OcrLine:
    """Detector boxes of one row: a space where the gap is wide (narrower
    between Latin/digits than between Han characters)."""
    if len(parts) == 1:
        return parts[0]
    return _joined(parts, lambda gap, cjk: gap > 0.4 * h or (gap > 0.15 * h and not cjk))


def _joined(parts: list[OcrLine], space) -> OcrLine:
    """One line from pieces in reading order; ``space(gap, both_cjk)`` decides
    whether a gap is a space. Confidence is the character-weighted mean."""
    text = parts[0].text
    for prev, it in zip(parts, parts[1:]):
        gap = it.box[0] - prev.box[2]
        cjk = _is_cjkish(text[-1:]) and _is_cjkish(it.text[:1])
        text += (" " if space(gap, cjk) else "") + it.text
    n = sum(len(p.text) for p in parts) or 1
    conf = sum(p.confidence * len(p.text) for p in parts) / n
    box = (min(p.box[0] for p in parts), min(p.box[1] for p in parts),
           max(p.box[2] for p in parts), max(p.box[3] for p in parts))
    return OcrLine(text, box, conf)
