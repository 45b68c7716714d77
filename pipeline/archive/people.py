"""People (with the post printed beside them) and places named in article text."""
from __future__ import annotations

import logging
import re
from typing import Optional

from pipeline.lexicon import HAN, event_dates  # noqa: F401  (part of this module's API)

import jieba

jieba.setLogLevel(logging.WARNING)


from pipeline.archive.entity_words import (  # noqa: F401
    LEAD_STRIP, MUNICIPALITIES, POSTS, POST_RE, POST_SET)
from pipeline.archive.units import (  # noqa: F401
    COMMON_AREA, PersonMention, PlaceMention, _JB, _inner_ok,
    _is_head, _squeeze, _tokens)


# ---------------------------------------------------------------------------
# People

NAME_STOP_AFTER = ("主持", "出席", "参加", "讲话", "表示", "指出", "强调", "陪同", "作", "应邀",
                   "带队", "一行", "同志", "等", "在", "对", "到", "赴", "率", "介绍", "汇报",
                   "致辞", "宣布", "主讲", "讲授", "参观", "调研", "检查", "看望", "慰问", "会见",
                   "接见", "听取", "要求", "希望", "代表", "说", "为", "和", "与", "及", "、",
                   "，", "。", "；", "：", "）", "(", "（")


_NAME_STOP_RE = "|".join(map(re.escape, NAME_STOP_AFTER))
SURNAMES = set(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁"
    "任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武"
    "戴莫孔向汤常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚符舒阮"
    "柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕屈饶解牟艾尤阳时穆农司卓古"
    "吉缪简车项连芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂全佟应臧闵苟邬边卞姬师和仇栾隋商刁沙荣巫"
    "寇桑郎甄丛仲虞敖巩明佘池查麻苑迟邝")


def _extract_people(text: str, toks: list) -> list[PersonMention]:
    """People written with their post: 局党组书记、局长郭春英 -> (郭春英, 局党组书记、局长)."""
    out: list[PersonMention] = []
    seen_names: set[str] = set()
    for k, t in enumerate(toks):
        name = None
        if t.f == "nr" and 2 <= len(t.w) <= 4 and re.fullmatch(f"[{HAN}]+", t.w):
            name = t.w
        elif k > 0 and toks[k - 1].w in POST_SET and t.w[:1] in SURNAMES:
            # jieba missed the name: a surname and one or two characters before a verb/punctuation
            m = re.match(f"([{HAN}]{{2,3}}?)(?:{_NAME_STOP_RE})", text[t.s:t.s + 6])
            if m and not any(m.group(1).endswith(p) for p in POSTS):
                name = m.group(1)
        if not name:
            continue
        before = text[:t.s]
        m = re.search(f"(?:{POST_RE})$", before)
        if not m:
            # the name may follow directly only if a post precedes; otherwise later mention
            if name in seen_names:
                out.append(PersonMention(name, None, t.s))
            continue
        post = _post_chain(text, t.s)
        if not post:
            continue
        out.append(PersonMention(name, post, t.s))
        seen_names.add(name)
    # drop bare repeats of people never seen with a post
    return out


def _post_chain(text: str, end: int) -> Optional[str]:
    """The chain of posts printed right before ``end``: 省政府副秘书长，局党组书记、局长."""
    # walk back over clauses separated by 、 or ，; each must end with a post title
    pos = end
    start = end
    while pos > 0:
        seg_start = max(text.rfind(c, 0, pos) for c in "，、,。；：\n（(“") + 1
        seg = text[seg_start:pos]
        if not re.search(f"(?:{POST_RE})$", seg):
            break
        # trim the segment's left side to the unit+post phrase
        toks = _tokens(seg)
        k = len(toks)
        while k > 0:
            t = toks[k - 1]
            if t.w in POST_SET or _inner_ok(t) or _is_head(t) or t.w in ("副", "常务", "原", "时任") \
                    or t.f in ("b",) or (t.f == "nr" and k == len(toks)):
                k -= 1
                continue
            break
        left = sum(len(t.w) for t in toks[:k])
        phrase = seg[left:]
        while phrase and phrase[0] in LEAD_STRIP and len(phrase) > 2:
            phrase = phrase[1:]
        if not phrase:
            break
        start = seg_start + (len(seg) - len(phrase))
        if left > 0:
            break
        sep = text[seg_start - 1] if seg_start > 0 else ""
        if sep not in "，、,":
            break
        pos = seg_start - 1
    post = text[start:end].strip("，、, ")
    return post or None


# ---------------------------------------------------------------------------
# Places

PLACE_RE = re.compile(
    f"([{HAN}]{{2,8}}?(?:自治区|自治州|自治县|省|市|县|区|州|镇|乡|旗))"
)
PROVINCES = ("北京", "天津", "上海", "重庆", "河北", "山西", "辽宁", "吉林", "黑龙江", "江苏", "浙江",
             "安徽", "福建", "江西", "山东", "河南", "湖北", "湖南", "广东", "海南", "四川", "贵州",
             "云南", "陕西", "甘肃", "青海", "台湾", "内蒙古", "广西", "西藏", "宁夏", "新疆",
             "香港", "澳门")


NOT_PLACES = {"青春", "爱国", "重大意义", "广大干部", "中华", "人民", "东方", "西方", "南方", "北方",
              "海外", "国内", "国外", "境内", "境外", "内地", "沿海", "中部", "西部", "东部", "全国",
              "苏区", "老区", "长江经济带", "大湾区", "新时代", "太平", "和平", "光明", "幸福",
              "红旗", "胜利", "解放", "前进", "团结", "民主", "建设", "发展", "复兴", "振兴",
              "新建", "中断", "普及", "西南", "东南", "西北", "东北", "华北", "华东", "华南", "华中",
              "开区", "古城", "新区", "老城", "城关", "大同", "长安", "吉安", "永安", "平安", "安康",
              "和谐", "文明", "富民", "兴业", "长寿", "通道", "东方红", "未来", "美好", "阳光"}


def place_level(name: str) -> str:
    if name.endswith("省") or name.endswith("自治区") or name in PROVINCES or name in MUNICIPALITIES:
        return "province"
    if name.endswith(("市", "州", "盟")):
        return "city"
    if name.endswith(("县", "旗")):
        return "county"
    if name.endswith("区"):
        return "district"
    return "unknown"


def _extract_places(toks: list) -> list[PlaceMention]:
    """Provinces, cities, counties, districts, towns (jieba ns + suffix rules)."""
    out: list[PlaceMention] = []
    for t in toks:
        w = t.w
        if not t.f.startswith("ns") or len(w) < 2:
            continue
        if w in COMMON_AREA or w in NOT_PLACES or w[0] in "我全本该各":
            continue
        if w[-1] not in "省市县区州镇乡旗" and w not in PROVINCES and \
                _JB.word_tag_tab.get(w, "") != "ns":
            continue   # jieba's HMM guessed ns for an unknown word
        if w in PROVINCES:
            out.append(PlaceMention(w + ("市" if w in ("北京", "天津", "上海", "重庆") else "省")
                                    if w not in ("内蒙古", "广西", "西藏", "宁夏", "新疆", "香港", "澳门")
                                    else w, w, t.s, "province"))
            continue
        if w[-1] in "省市县区州镇乡旗":
            out.append(PlaceMention(w, w, t.s, place_level(w)))
        else:
            out.append(PlaceMention(w, w, t.s, "national" if w in ("中国", "全国") else "unknown"))
    # X县 / X区 split by jieba (临溪/ns 县/zg)
    for k in range(len(toks) - 1):
        a, b = toks[k], toks[k + 1]
        if a.f.startswith("ns") and b.w in ("县", "区", "市", "镇", "乡", "州", "高新区", "新区") and \
                a.w[-1] not in "省市县区州镇乡":
            name = a.w + b.w
            out = [p for p in out if p.position != a.s]
            out.append(PlaceMention(name, name, a.s, place_level(name)))
    out.sort(key=lambda p: p.position)
    return out


def extract_people_and_places(text: str) -> tuple[list[PersonMention], list[PlaceMention]]:
    """Both from one jieba pass over the text (jieba is most of their cost)."""
    clean, imap = _squeeze(text)
    toks = _tokens(clean)
    people, places = _extract_people(clean, toks), _extract_places(toks)
    for m in (*people, *places):
        m.position = imap[m.position]
    return people, places


def extract_people(text: str) -> list[PersonMention]:
    """People written with their post: 局党组书记、局长郭春英 -> (郭春英, 局党组书记、局长);
    later bare mentions of the same name come with post None."""
    return extract_people_and_places(text)[0]


def extract_places(text: str) -> list[PlaceMention]:
    """Provinces, cities, counties, districts, towns (jieba ns + suffix rules)."""
    return extract_people_and_places(text)[1]


# Dates: see pipeline.lexicon (event_dates is re-exported here for callers of this module)
