"""Units (organisations) named in article text: jieba part-of-speech tokens
plus rules for organisation suffixes; resolution of abbreviated and relative
names against the publisher (``省机关事务管理局`` in a 四川 bulletin ->
``四川省机关事务管理局``)."""
from __future__ import annotations

import contextlib
import logging
import re
from dataclasses import dataclass
from typing import Iterable, Optional

from pipeline.lexicon import HAN, event_dates  # noqa: F401  (part of this module's API)

import jieba
import jieba.posseg as pseg

from pipeline.archive import jiebadict

jieba.setLogLevel(logging.WARNING)


from pipeline.archive.entity_words import (  # noqa: F401
    ABBREVIATIONS, GENERIC_MODIFIERS, HEADS, INNER_OK, INSTITUTION_HEADS,
    LEAD_STRIP, LEVEL_CHARS, MUNICIPALITIES, NOT_HEADS, NOT_HEAD_ENDINGS,
    ORGANS, POST_SET, POST_STOP_EXEMPT, PROVINCE_RE, PUNCT_STOP,
    REFERENCE_AFTER, RELATIVE_ABBREV, STOP_PREFIXES, STOP_WORDS, TOP_ORGANS)


class _Jieba:
    """A private jieba tokenizer: unit names taught to it (publishers, 主送/抄送)
    do not change how other modules (search) segment text."""

    def __init__(self):
        self._jt = None
        self._pt = None
        self.current: frozenset = frozenset()   # the words taught for this call

    def _init(self):
        if self._jt is None:
            jt = jiebadict.initialize(jieba.Tokenizer())
            # the tag table jieba.posseg read at import (same dictionary),
            # shared, not copied (nothing else here tags with pseg.dt):
            # POSTokenizer(jt) would parse dict.txt again, 0.5 CPU-s and
            # ~40 MB a process
            pt = pseg.POSTokenizer.__new__(pseg.POSTokenizer)
            pt.tokenizer, pt.word_tag_tab = jt, pseg.dt.word_tag_tab
            self._pt = pt
            self._jt = jt
            for w, t in _BASE_WORDS.items():
                jt.add_word(w, freq=max(jt.FREQ.get(w) or 0, 50000), tag=t)

    @property
    def FREQ(self) -> dict:
        self._init()
        return self._jt.FREQ

    @property
    def word_tag_tab(self) -> dict:
        self._init()
        self._pt.makesure_userdict_loaded()
        return self._pt.word_tag_tab

    def add_word(self, word, freq=None, tag=None):
        self._init()
        self._jt.add_word(word, freq=freq, tag=tag)

    def cut(self, text):
        self._init()
        return self._pt.cut(text)

    @contextlib.contextmanager
    def taught(self, words: Iterable[str], tag: str = "nt"):
        """Unit names known for one call (an issue's publisher and 主送/抄送),
        taken out again afterwards: the dictionary every call starts from is
        the same, so results do not depend on what was read before."""
        self._init()
        self._pt.makesure_userdict_loaded()
        jt, tab = self._jt, self._pt.word_tag_tab
        total, undo = jt.total, []
        for w in sorted(set(words)):
            frags = [w[:k] for k in range(1, len(w) + 1)]
            undo.append(([f for f in frags if f not in jt.FREQ], w, jt.FREQ.get(w), tab.get(w)))
            jt.add_word(w, freq=max(jt.FREQ.get(w) or 0, 50000), tag=tag)
        self._pt.makesure_userdict_loaded()
        self.current = frozenset(u[1] for u in undo)
        try:
            yield
        finally:
            self.current = frozenset()
            for new, w, freq, old_tag in reversed(undo):
                for f in new:
                    jt.FREQ.pop(f, None)
                if freq is not None:
                    jt.FREQ[w] = freq
                if old_tag is None:
                    tab.pop(w, None)
                else:
                    tab[w] = old_tag
            jt.total = total


_JB = _Jieba()


def warm() -> None:
    """Load the tokenizer now (0.35 CPU-s, see ``jiebadict``): worker
    processes forked afterwards share it instead of each loading its own."""
    _JB._init()

@dataclass
class Resolution:
    name: str
    confidence: float
    level: str
    parent: Optional[str] = None


@dataclass
class UnitMention:
    surface: str
    position: int
    normalised: str = ""
    confidence: float = 1.0
    level: str = "unknown"
    parent: Optional[str] = None


@dataclass
class PersonMention:
    name: str
    post: Optional[str]
    position: int


@dataclass
class PlaceMention:
    name: str
    surface: str
    position: int
    level: str = "unknown"


# ---------------------------------------------------------------------------
# Dictionary

_BASE_WORDS = {
    "团省委": "nt", "团市委": "nt", "团县委": "nt", "国管局": "nt", "省直机关工委": "nt",
    "市直机关工委": "nt", "县直机关工委": "nt", "文明办": "nt", "宣传部": "nt", "组织部": "nt",
    "统战部": "nt", "政法委": "nt", "编办": "nt", "机关纪委": "nt", "团工委": "nt",
    "纪检监察组": "nt", "河长制办公室": "nt", "党组": "n", "机关党委": "nt",
}


def dictionary_words(words: Iterable[str]) -> list[str]:
    """Unit names fit to teach the tokenizer (Han only, two characters or more)."""
    out = []
    for w in words:
        w = (w or "").strip()
        if w and len(w) >= 2 and re.fullmatch(f"[{HAN}]+", w):
            out.append(w)
    return out


def known_units_from_lists(*lists: Iterable[str]) -> list[str]:
    """Unit names usable as dictionary entries from publisher / recipient lists."""
    out = []
    for lst in lists:
        for w in lst or []:
            w = (w or "").strip()
            if not w or any(g in w for g in ("单位", "部门", "领导", "成员")):
                continue
            if _head_of(w) and len(w) > len(_head_of(w)):
                out.append(w)
    return out


def _head_of(word: str) -> Optional[str]:
    for h in HEADS:
        if word.endswith(h):
            return h
    return None


# ---------------------------------------------------------------------------
# Units

@dataclass
class _Tok:
    w: str
    f: str
    s: int

    @property
    def e(self) -> int:
        return self.s + len(self.w)


def _tokens(text: str) -> list[_Tok]:
    toks, pos = [], 0
    for w, f in _JB.cut(text):
        # jieba sometimes glues a verb/preposition to the next name (会同县/和维保):
        # split it off unless the word is a dictionary word
        sp = None
        if len(w) >= 2 and f[:1] == "n" and w not in _JB.current:
            for pre in STOP_PREFIXES:
                if w.startswith(pre) and len(w) > len(pre):
                    rest = w[len(pre):]
                    if w not in _JB.FREQ or (len(rest) == 1 and rest in "省市县区"):
                        sp = pre
                    break
        if sp:
            toks.append(_Tok(sp, "p", pos))
            rest = w[len(sp):]
            toks.append(_Tok(rest, _JB.word_tag_tab.get(rest, "n"), pos + len(sp)))
        else:
            post = next((p for p in ("常委", "副书记", "书记", "委员", "主任", "副主任") if
                         w.endswith(p) and len(w) > len(p) and ORGANS.match(w[:-len(p)])), None)
            if post:
                toks.append(_Tok(w[:-len(post)], "nt", pos))
                toks.append(_Tok(post, "n", pos + len(w) - len(post)))
            elif w == "办" and toks and ORGANS.match(toks[-1].w) and toks[-1].e == pos:
                prev = toks.pop()
                toks.append(_Tok(prev.w + w, "nt", prev.s))
            else:
                if w == "所" and f != "n" and toks and toks[-1].f[:1] in ("n", "v") and \
                        toks[-1].e == pos and (pos + 1 >= len(text) or text[pos + 1] in PUNCT_STOP
                                               or text[pos + 1] in "和与及等"):
                    f = "n"     # 城关镇市场监管所、…
                toks.append(_Tok(w, f, pos))
        pos += len(w)
    return toks


_NOUNISH = {"n", "nr", "nrt", "nrfg", "ns", "nt", "nz", "j", "zg", "ng", "nl", "s"}


def _is_head(t: _Tok) -> bool:
    w = t.w
    if w in STOP_WORDS or w in POST_SET:
        return False
    if ORGANS.match(w) or w in TOP_ORGANS or w in _JB.current and _head_of(w):
        return True
    if w in NOT_HEADS or w.endswith(NOT_HEAD_ENDINGS):
        return False
    if t.f not in _NOUNISH and t.f != "l" and not (t.f == "vn" and w in INNER_OK):
        return False
    return _head_of(w) is not None


def _inner_ok(t: _Tok) -> bool:
    """May this token be part of a unit name (left of its head)?"""
    w, f = t.w, t.f
    if w in STOP_WORDS:
        return False
    if (w in POST_SET and w not in POST_STOP_EXEMPT) or \
            w.endswith(("书记", "局长", "主任", "校长", "负责人", "县长", "市长", "省长", "秘书长",
                        "处长", "科长", "厅长", "部长", "院长", "同志")):
        return False
    if w in INNER_OK or w in GENERIC_MODIFIERS:
        return True
    if w.startswith("各") and len(w) <= 3:
        return True
    if re.fullmatch(r"第[一二三四五六七八九十0-9]{1,3}", w):
        return True
    return f in _NOUNISH


def _head_within(toks: list[_Tok], k: int, limit: int) -> bool:
    """A head follows within ``limit`` name-like tokens from ``k``."""
    for j in range(k, min(len(toks), k + limit)):
        if _is_head(toks[j]):
            return True
        if not _inner_ok(toks[j]):
            return False
    return False


def _head_within_v(toks: list[_Tok], k: int, limit: int) -> bool:
    """Like _head_within, but verbs (防汛/抗旱/爱国卫生运动) may come first."""
    for j in range(k, min(len(toks), k + limit)):
        if _is_head(toks[j]):
            return True
        if toks[j].w in STOP_WORDS or not (_inner_ok(toks[j]) or toks[j].f[:1] in ("v", "a")):
            return False
    return False


def _segments(text: str, toks: list[_Tok]) -> list[tuple[int, int]]:
    """Runs of tokens that may form unit names: list of (first, last) token index."""
    runs, i, n = [], 0, len(toks)
    start = None
    while i < n:
        t = toks[i]
        ok = _inner_ok(t) or _is_head(t) or (t.f == "l" and i + 1 < n and _is_head(toks[i + 1]))
        if not ok and t.f == "vn" and t.w not in STOP_WORDS and _head_within(toks, i + 1, 3):
            ok = True
        if not ok and start is not None and t.f[:1] in ("v", "a", "l") and t.w not in STOP_WORDS and \
                toks[start].w in ("省", "市", "县", "区", "州") and i - start <= 4 and \
                _head_within_v(toks, i + 1, 3):
            ok = True
        if not ok and t.w in ("和", "与") and start is not None and i > start and \
                (toks[start].w[:1] in "省市县区州乡镇各" or toks[start].f.startswith("ns") or
                 toks[start].w in ("国家", "中华人民共和国", "中共", "中央")) and \
                not _is_head(toks[i - 1]) and toks[i - 1].w not in GENERIC_MODIFIERS and \
                i + 1 < n and toks[i + 1].w[:1] not in "省市县区州乡镇各" and \
                _head_within(toks, i + 1, 3):
            ok = True
        # bracketed alternatives inside a name: 各乡（镇）中心学校, 各县（市、区）…
        if not ok and t.w in ("（", "(") and start is not None:
            j, inner = i + 1, ""
            while j < n and toks[j].w not in ("）", ")") and j - i <= 6:
                inner += toks[j].w
                j += 1
            if j < n and toks[j].w in ("）", ")") and re.fullmatch(f"[{HAN}、]{{1,5}}", inner) \
                    and j + 1 < n and (_inner_ok(toks[j + 1]) or _is_head(toks[j + 1])):
                i = j + 1
                continue
        if ok:
            if start is None:
                start = i
        else:
            if start is not None:
                runs.append((start, i - 1))
            start = None
        i += 1
    if start is not None:
        runs.append((start, n - 1))
    return runs


def _specific(tokens: list[_Tok]) -> bool:
    """Is a unit span specific enough (not 乡村学校 / 辖区派出所 / a bare 管理局)?"""
    head = tokens[-1]
    mods = tokens[:-1]
    hw = head.w
    if ORGANS.match(hw) or (hw in _JB.current and not mods):
        return True
    if hw not in HEADS and len(hw) >= 2 and not any(hw.endswith(h) for h in INSTITUTION_HEADS):
        # head token carries its own modifier (教育局, 宣传部, 国管局)
        return True
    spec = [m for m in mods if m.w not in GENERIC_MODIFIERS and not m.w.startswith("各")
            and m.w not in "省市县区州乡镇"]
    level = [m for m in mods if m.w in ("省", "市", "县", "区", "州", "乡", "镇") or m.f.startswith("ns")]
    if not spec and not (level and hw not in INSTITUTION_HEADS):
        return False
    inst = next((h for h in INSTITUTION_HEADS if hw.endswith(h)), None)
    if inst:
        # schools, hospitals, companies: need a place, a level, an ordinal or a proper name
        own = hw[:-len(inst)]
        if own and (own in GENERIC_MODIFIERS or own in ("物业", "维保", "保安", "劳务")):
            own = ""
        ok = bool(own and hw not in INSTITUTION_HEADS and hw not in _JB.FREQ) or any(
            m.f.startswith(("ns", "nz", "nr")) or m.w in ("省", "市", "县", "区", "州", "乡", "镇", "实验")
            or m.w[-1:] in "省市县区州乡镇" and m.f[:1] == "n" or m.w.startswith("第") or m.w in _JB.current
            for m in mods)
        return ok
    return True


def _split_organs(span: list[_Tok]) -> list[list[_Tok]]:
    """省委省政府 -> 省委 | 省政府 (two complete organs written together)."""
    parts, cur = [], []
    for t in span:
        cur.append(t)
        if ORGANS.match(t.w) or t.w in ("国务院", "中央"):
            parts.append(cur)
            cur = []
    if cur:
        parts.append(cur)
    if len(parts) > 1 and all(len(p) == 1 and (ORGANS.match(p[0].w) or p[0].w in ("国务院", "中央"))
                              for p in parts if p):
        return parts
    return [span]


def _clause_start(text: str, pos: int) -> bool:
    before = text[:pos]
    b = before.rstrip(" \t\u3000")
    if not b:
        return True
    if b[-1] in "。！？；\n：":
        return True
    if b[-1] in "，,":
        # 日前，X区… / 近日，X县… / 今年以来，…
        k = len(b) - 1
        seg = re.split(r"[。！？；\n]", b[:k])[-1]
        return len(seg) <= 10 and not re.search(f"[{HAN}]{{0,10}}(?:是|的|和|与|及)$", seg)
    return False


PLACE_SUBJECT = re.compile(
    f"([{HAN}]{{2,6}}?(?:高新技术产业开发区|经济技术开发区|高新区|开发区|经开区|新区|自治县|自治州|县|区|市|州|旗))"
)
COMMON_AREA = {"社区", "地区", "城区", "小区", "园区", "辖区", "山区", "景区", "片区", "街区", "校区",
               "矿区", "灾区", "老区", "市区", "郊区", "城市", "都市", "超市", "县城", "库区", "营区",
               "厂区", "林区", "牧区", "湾区", "示范区", "先行区", "功能区", "保护区", "试验区",
               "产业园区", "经济区", "开发区", "高新区", "新区", "全市", "全县", "全区", "全州",
               "城乡", "门市", "股市", "楼市", "夜市", "集市", "上市", "面市"}


def _place_subjects(text: str, toks: list[_Tok]) -> list[UnitMention]:
    """X县/X区 written as the acting subject at a clause start (临溪县建立…, 北岸区按照…)."""
    out = []
    by_start = {t.s: k for k, t in enumerate(toks)}
    for m in PLACE_SUBJECT.finditer(text):
        s, e = m.span(1)
        cand = m.group(1)
        if not _clause_start(text, s) or cand in COMMON_AREA or cand[0] in "我全本该各其":
            continue
        if s not in by_start:
            continue
        # the name must be one or two tokens: 临溪县 / 临溪+县 / 北岸+区 / 溪城+高新区
        k0 = by_start[s]
        cover = []
        k = k0
        while k < len(toks) and toks[k].s < e:
            cover.append(toks[k])
            k += 1
        if not cover or cover[-1].e != e or len(cover) > 2:
            continue
        if len(cover) == 2:
            stem = cover[0]
            if stem.f not in ("ns", "nz", "f", "s", "nr") and stem.w in _JB.FREQ:
                continue
        else:
            tag = _JB.word_tag_tab.get(cand)
            if tag and not tag.startswith("ns"):
                continue
        k = next((k for k, t in enumerate(toks) if t.s >= e), None)
        if k is None or toks[k].s != e:
            continue
        nt = toks[k]
        if nt.w in ("的", "之", "和", "与", "、") or nt.f[:1] == "n" and not nt.w.startswith(
                ("多措", "坚持", "着力", "聚焦")):
            continue
        if nt.f[:1] in ("v", "p", "d", "c", "m", "a") or nt.w in ("“", "\"", "「", "‘"):
            out.append(UnitMention(cand, s))
    return out


def _extract_units(text: str, publisher: Optional[str] = None,
                  known: Iterable[str] = ()) -> list[UnitMention]:
    """Organisation mentions as written, with their resolution.

    ``publisher`` (编印单位) is used to resolve relative forms (省…, 局…, 成都局);
    ``known`` are full unit names the archive already knows (matched literally,
    and taught to jieba)."""
    known = [k for k in known if k]
    with _JB.taught(dictionary_words([publisher, *known])):
        return _extract_taught(text, publisher, known)


def _extract_taught(text: str, publisher: Optional[str], known: list[str]) -> list[UnitMention]:
    toks = _tokens(text)
    spans: list[tuple[int, int]] = []   # char spans
    for a, b in _segments(text, toks):
        run = toks[a:b + 1]
        # cut the run after its last head; also split it at heads followed by posts
        last = max((k for k, t in enumerate(run) if _is_head(t)), default=None)
        if last is None:
            continue
        run = run[:last + 1]
        # 市委市政府中心工作: a bare generic head right after an organ is not part of it
        if len(run) >= 2 and run[-1].w == "中心" and (ORGANS.match(run[-2].w) or run[-2].w in TOP_ORGANS):
            run = run[:-1]
        while run and (run[0].w in GENERIC_MODIFIERS and run[0].w not in ("各",) or
                       run[0].w in LEAD_STRIP) and len(run) > 1:
            run = run[1:]
        # 各 only as the first token of a plural unit (各乡（镇）中心学校)
        for part in _split_organs(run):
            if not part:
                continue
            s, e = part[0].s, part[-1].e
            surface = text[s:e]
            if len(surface) < 2 or surface in NOT_HEADS and not ORGANS.match(surface):
                continue
            if not _specific(part) and surface not in known:
                continue
            if len(surface) > 30:
                continue
            spans.append((s, e))
    # literal matches of names the archive knows
    for k in known:
        for m in re.finditer(re.escape(k), text):
            spans.append(m.span())
    for um in _place_subjects(text, toks):
        spans.append((um.position, um.position + len(um.surface)))
    # keep longest non-overlapping spans
    spans = sorted(set(spans), key=lambda se: (se[0], -(se[1] - se[0])))
    chosen: list[tuple[int, int]] = []
    for s, e in sorted(spans, key=lambda se: -(se[1] - se[0])):
        if any(not (e <= cs or s >= ce) for cs, ce in chosen):
            continue
        chosen.append((s, e))
    chosen.sort()
    refs = _reference_spans(text, chosen)
    out = []
    for s, e in chosen:
        if (s, e) in refs:
            continue
        surface = text[s:e]
        r = resolve_unit(surface, publisher)
        out.append(UnitMention(surface, s, r.name, r.confidence, r.level, r.parent))
    return out


def _reference_spans(text: str, spans: list[tuple[int, int]]) -> set[tuple[int, int]]:
    """Units named only as an authority (落实县委、县政府决策部署; 在省委、省政府…领导下)."""
    refs: set[tuple[int, int]] = set()
    group: list[tuple[int, int]] = []
    for k, (s, e) in enumerate(spans):
        group.append((s, e))
        nxt = spans[k + 1] if k + 1 < len(spans) else None
        gap = text[e:nxt[0]] if nxt else None
        if nxt and gap in ("、", "和", "及", "与", "，", ""):
            continue
        if REFERENCE_AFTER.match(text[e:e + 8]):
            refs.update(group)
        group = []
    return refs


# ---------------------------------------------------------------------------
# Resolution

def _region_of(publisher: Optional[str]) -> dict:
    """Split a publisher name into its regions and unit type.

    四川省机关事务管理局 -> {province: 四川省, type: 机关事务管理局}
    云溪县教育局 -> {county: 云溪县, type: 教育局}
    """
    info: dict = {}
    if not publisher:
        return info
    rest = re.sub(r"^(?:中共|共青团|中国人民政治协商会议)", "", publisher)
    m = PROVINCE_RE.match(rest)
    if m:
        info["province"] = m.group(0)
        if m.group(0) in MUNICIPALITIES:
            info["city"] = m.group(0)
        rest = rest[m.end():]
    for level, suffix in (("city", "(?:市(?!场)|州|盟)"), ("district", "区(?!域)"),
                          ("county", "(?:县(?!域)|旗)")):
        m = re.match(f"^([^省市县区州旗\\s]{{1,6}}?{suffix})(?=[{HAN}]{{2,}})", rest)
        if m and len(m.group(1)) >= 2 and m.group(1) not in COMMON_AREA:
            info[level] = m.group(1)
            rest = rest[m.end():]
    info["type"] = rest
    return info


def unit_level(name: str) -> str:
    """national / province / city / county / district / unknown of a (resolved) unit name."""
    m = re.match(r"^(?:中共|共青团|中国人民政治协商会议)(?=[\u4e00-\u9fff]{2,}[省市县区州])", name)
    if m and not name.startswith(("中共中央", "共青团中央")):
        name = name[m.end():]
    if re.match(r"^(?:国家|中央|中共中央|国务院|全国|中华|中国|共青团中央)", name):
        return "national"
    if name in ABBREVIATIONS and ABBREVIATIONS[name]:
        return unit_level(ABBREVIATIONS[name])
    level = "unknown"
    m = PROVINCE_RE.match(name)
    pos = 0
    if m:
        level = "province"
        pos = m.end()
    # the last administrative component before the organisation words
    for mm in re.finditer(f"[{HAN}]{{1,6}}?(市(?!场)|州|县(?!域)|区(?!域)|旗)", name[pos:pos + 12]):
        word = mm.group(0)
        if mm.start() != 0:
            break
        if word in COMMON_AREA or word.endswith(("市场", "区域")):
            break
        level = {"市": "city", "州": "city", "县": "county", "旗": "county", "区": "district"}[mm.group(1)]
        pos += mm.end()
        break
    if level == "unknown":
        c = name[:1]
        if c in LEVEL_CHARS and not name.startswith(("市场", "区域", "县域")):
            level = LEVEL_CHARS[c]
        elif name.startswith(("团省委",)):
            level = "province"
        elif name.startswith(("团市委",)):
            level = "city"
        elif name.startswith(("团县委",)):
            level = "county"
    return level


def resolve_unit(surface: str, publisher: Optional[str] = None) -> Resolution:
    """Resolve a unit as written to its full name, using the publisher as context."""
    info = _region_of(publisher)
    ptype = info.get("type", "")
    # 1. well-known abbreviations
    full = ABBREVIATIONS.get(surface)
    if full:
        return Resolution(full, 0.9, unit_level(full), _parent(full))
    # 2. already complete: starts with a province / municipality / national prefix / full region
    if PROVINCE_RE.match(surface) or re.match(r"^(?:国家|中共|中央|国务院|全国|中华|中国|共青团)", surface):
        return Resolution(surface, 1.0, unit_level(surface), _parent(surface))
    if re.match(f"^[{HAN}]{{2,5}}[市州县区旗]", surface) and not surface[0] in LEVEL_CHARS \
            and surface[:2] not in COMMON_AREA:
        name = surface
        # 绵阳市… inside a 四川 bulletin stays as written (the province is implied)
        return Resolution(name, 1.0, unit_level(name), _parent(name))
    # 3. 团省委 / 省委 / 县政府 style relative organs
    for pat, exp in RELATIVE_ABBREV.items():
        for lc, key in (("省", "province"), ("市", "city"), ("县", "county"), ("区", "district")):
            if surface == pat.replace("{L}", lc) and info.get(key):
                name = exp.replace("{R}", info[key])
                return Resolution(name, 0.8, unit_level(name), None)
    # 4. 局政策法规处 -> publisher + 政策法规处
    if publisher and ptype and surface[:1] == ptype[-1:] and len(surface) > 2 and \
            _head_of(surface[1:]):
        name = publisher + surface[1:]
        return Resolution(name, 0.8, unit_level(name), publisher)
    # 5. level-relative prefix: 省机关事务管理局 / 县教育局 / 市委宣传部 -> region + rest
    c = surface[:1]
    key = {"省": "province", "市": "city", "州": "city", "县": "county", "区": "district"}.get(c)
    if key and len(surface) > 2 and info.get(key) and not surface.startswith(("市场", "区域")):
        name = info[key] + surface[1:]
        conf = 1.0 if name == publisher else 0.8
        return Resolution(name, 0.8 if conf < 1 else 0.8, unit_level(name), _parent(name))
    if key and len(surface) > 2 and not info.get(key):
        return Resolution(surface, 0.5, unit_level(surface), None)
    # 6. 成都局 in a bulletin of 四川省机关事务管理局 -> 成都市机关事务管理局
    m = re.match(f"^([{HAN}]{{2,3}})(局|厅|委|办)$", surface)
    if m and ptype and ptype.endswith(m.group(2)):
        place = m.group(1)
        tag = _JB.word_tag_tab.get(place, "")
        if tag.startswith("ns") or place not in _JB.word_tag_tab:
            if info.get("province") and not info.get("city"):
                name = place + "市" + ptype
                return Resolution(name, 0.6, "city", None)
            if info.get("city") and not info.get("county") and not info.get("district"):
                name = place + "县" + ptype if not place.endswith(("县", "区")) else place + ptype
                return Resolution(name, 0.6, "county", None)
    # 7. a sub-unit of the publisher's own organisation (政策法规处 in its own bulletin)?
    level = unit_level(surface)
    complete = level != "unknown" and not _relative(surface)
    return Resolution(surface, 1.0 if complete else 0.5, level, _parent(surface) if complete else None)


def _relative(surface: str) -> bool:
    return surface[:1] in "省市县区州乡镇局厅委处科股部" or surface.startswith(("团", "驻", "各", "机关"))


def _parent(name: str) -> Optional[str]:
    """国家机关事务管理局政策法规司 -> 国家机关事务管理局 (an organisation prefix)."""
    for h in ("管理局", "人民政府", "委员会", "办公厅", "政府", "局", "厅", "委", "部"):
        k = name.find(h)
        while k != -1:
            end = k + len(h)
            if 4 <= end < len(name) - 1 and _head_of(name[end:]) and \
                    name[end:] not in NOT_HEADS and not name[end:].startswith(("长", "领导")):
                return name[:end]
            k = name.find(h, k + 1)
    return None


# ---------------------------------------------------------------------------
# Public extractors: OCR text often has spaces between characters
# (省机关 事务管理局); they are removed before extraction and positions are
# mapped back to the text as given.

_CJK_P = "（）()、，。；：！？“”《》"
_SQUEEZE = re.compile(f"(?<=[{HAN}{_CJK_P}])[ \t\u3000]+(?=[{HAN}{_CJK_P}])")


def _squeeze(text: str) -> tuple[str, list[int]]:
    text = text or ""
    if not _SQUEEZE.search(text):
        return text, list(range(len(text) + 1))
    out, imap, last = [], [], 0
    for m in _SQUEEZE.finditer(text):
        out.append(text[last:m.start()])
        imap.extend(range(last, m.start()))
        last = m.end()
    out.append(text[last:])
    imap.extend(range(last, len(text) + 1))
    return "".join(out), imap


def extract_units(text: str, publisher: Optional[str] = None,
                  known: Iterable[str] = ()) -> list[UnitMention]:
    """Organisation mentions as written (spaces between characters removed), resolved
    with the help of ``publisher`` (编印单位: 省…, 局…, 成都局) and ``known`` full unit
    names of the archive (matched literally and taught to jieba).  Positions are
    offsets into ``text``."""
    clean, imap = _squeeze(text)
    out = _extract_units(clean, publisher, known)
    for u in out:
        u.position = imap[u.position]
    return out
