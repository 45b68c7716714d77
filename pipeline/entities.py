"""Entities stage: units (organisations), people, places and event dates.

Pure extractors (usable from tests and notebooks)::

    extract_units(text, publisher=None, known=())  -> list[UnitMention]
    extract_people(text)                           -> list[PersonMention]
    extract_places(text)                           -> list[PlaceMention]
    event_dates(text, issue_date)                  -> list[str]   (ISO dates)
    resolve_unit(surface, publisher=None)          -> Resolution

Archive extension (listed in ``load.EXTENSIONS``)::

    ensure_schema(conn); index_issue(conn, issue_id); unindex_issue(conn, issue_id)

Tables::

    units(id, name, normalised, level, parent_id)
        one row per resolved unit: ``name`` is the resolved full name
        (四川省机关事务管理局), ``normalised`` its match key (whitespace and
        bracket variants folded); UNIQUE(normalised).
    article_units(article_id, unit_id, surface, position, confidence)
        ``surface`` as written (省机关事务管理局), ``confidence`` of the
        resolution: 1.0 exact / already complete, 0.9 well-known abbreviation,
        0.8 prefix completion from the publisher (省… -> 四川省…), 0.6
        abbreviation by context (成都局 -> 成都市机关事务管理局), 0.5 unresolved
        relative form.
    people(id, name), article_people(article_id, person_id, post, position)
    places(id, name, level), article_places(article_id, place_id, surface, position)

Positions are character offsets into the article text
``"\\n".join([title, subtitle, body])`` (empty parts left out), see
:func:`article_text`.

Evaluation against truth files: ``python -m pipeline.entities --eval DIR``.
"""
from __future__ import annotations

import json
import logging
import re
import sys
from dataclasses import dataclass
from typing import Iterable, Optional

from .dates import event_dates  # noqa: F401  (part of this module's API)

import jieba
import jieba.posseg as pseg

jieba.setLogLevel(logging.WARNING)


class _Jieba:
    """A private jieba tokenizer: unit names taught to it (publishers, 主送/抄送)
    do not change how other modules (search) segment text."""

    def __init__(self):
        self._jt = None
        self._pt = None

    def _init(self):
        if self._jt is None:
            jt = jieba.Tokenizer()
            jt.initialize()
            self._pt = pseg.POSTokenizer(jt)
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


_JB = _Jieba()

# ---------------------------------------------------------------------------
# Lexicon

# Well-known abbreviations -> full names (national or context free).
ABBREVIATIONS = {
    "国管局": "国家机关事务管理局",
    "中直管理局": "中共中央直属机关事务管理局",
    "国资委": "国务院国有资产监督管理委员会",
    "国家发改委": "国家发展和改革委员会",
    "发改委": None,            # level-relative: completed from context
    "中组部": "中共中央组织部",
    "中宣部": "中共中央宣传部",
    "中纪委": "中央纪律检查委员会",
    "中央纪委": "中央纪律检查委员会",
    "全国人大": "全国人民代表大会",
    "全国政协": "中国人民政治协商会议全国委员会",
    "团中央": "共青团中央",
    "全国总工会": "中华全国总工会",
    "全国妇联": "中华全国妇女联合会",
    "教育部": "中华人民共和国教育部",
    "财政部": "中华人民共和国财政部",
    "生态环境部": "中华人民共和国生态环境部",
}
# Level-relative abbreviations: X + level char, expanded with the publisher's region.
RELATIVE_ABBREV = {
    "团{L}委": "共青团{R}委员会",
    "{L}委": "中共{R}委员会",
    "{L}纪委": "中共{R}纪律检查委员会",
    "{L}政府": "{R}人民政府",
    "{L}人大": "{R}人民代表大会",
    "{L}政协": "中国人民政治协商会议{R}委员会",
}

# Organisation heads (longest first when matched against a token's end).
STRONG_HEADS = [
    "人民代表大会常务委员会", "人大常委会", "人民政府", "人民法院", "人民检察院", "委员会", "办公厅",
    "办公室", "管理局", "管理中心", "服务中心", "分局", "总局", "政府", "法院", "检察院", "工委",
    "党校", "纪委", "监委", "人大", "政协", "支队", "大队", "中队", "纪检监察组", "领导小组",
    "联合会", "总工会", "工会", "妇联", "供销合作社", "合作社", "供销社", "救援队", "工作队",
    "服务队", "突击队", "指挥部", "团委", "宣讲团", "分团", "研究院", "研究所", "研究室",
    "居委会", "村委会", "居民委员会", "村民委员会", "报社", "日报社", "电视台", "广播电视台",
    "融媒体中心", "办事处", "街道办事处", "党支部", "党总支", "党工委", "监管所", "财政所",
    "司法所", "税务所", "供电所", "协会", "党委", "机关党委", "学会", "商会", "研究会", "促进会", "基金会",
    "厅", "局", "委", "办", "部", "司", "处", "科", "股", "中心", "所",
]
INSTITUTION_HEADS = [
    "中心学校", "中学", "小学", "学校", "幼儿园", "大学", "学院", "医院", "卫生院", "公司",
    "派出所", "文化馆", "图书馆", "博物馆", "监测站", "集团",
]
HEADS = sorted(set(STRONG_HEADS + INSTITUTION_HEADS), key=len, reverse=True)

# Tokens that end with a head character but are not organisations.
NOT_HEADS = {
    "干部", "内部", "外部", "全部", "局部", "东部", "西部", "南部", "北部", "中部", "部分", "各部",
    "大部", "一部", "腹部", "头部", "底部", "顶部", "总部", "俱乐部", "基层干部", "党员干部",
    "青年干部", "好处", "到处", "之处", "此处", "各处", "难处", "相处", "处处", "共处", "长处",
    "短处", "住处", "益处", "用处", "深处", "出处", "学科", "本科", "专科", "文科", "理科", "前科",
    "主办", "承办", "举办", "创办", "开办", "督办", "协办", "代办", "交办", "怎么办", "包办",
    "场所", "住所", "处所", "厕所", "诊所", "园所", "中小学", "结局", "格局", "布局", "部署",
    "大局", "全局", "开局", "时局", "当局", "骗局", "残局", "僵局", "赌局", "饭局", "平局", "棋局",
    "邮局", "上司", "官司", "中心组", "重心", "核心", "信心", "决心", "爱心", "用心", "初心",
    "同心", "细心", "民心", "人心", "耐心", "关心", "安心", "放心", "良心", "匠心", "齐心",
    "虚心", "真心", "热心", "贴心", "暖心", "专心", "精心", "恒心", "衷心", "诚心", "雄心",
    "科室", "处室", "股室", "机关", "部门", "单位", "党组", "局党组", "纪念馆",
}
NOT_HEAD_ENDINGS = ("干部", "中小学", "格局", "党组", "场所", "内科", "外科", "儿科", "眼科", "妇科",
                    "中医科", "口腔科", "皮肤科", "产科", "急诊科", "骨科")
# Words that end a unit span whatever jieba tags them (verbs it reads as nouns).
STOP_WORDS = {
    "由", "与", "和", "及", "同", "会同", "联合", "配合", "协同", "组织", "参观", "总结", "邀请", "督促",
    "指导", "走进", "深入", "来到", "前往", "赴", "到", "在", "向", "对", "为", "经", "据", "请",
    "联系", "协调", "参加", "出席", "召开", "举办", "主办", "承办", "陪同", "带领", "立案查处",
    "立案", "查处", "通过", "依托", "聘请", "落实", "贯彻", "贯彻落实", "认真落实", "全县", "全市",
    "全省", "全区", "全州", "全镇", "全乡", "全校", "全局", "全系统", "我县", "我市", "我省", "我区",
    "我局", "本局", "该局", "该校", "传达", "围绕", "紧紧围绕", "牵头", "观看", "开展", "推进", "推动", "加强", "建立",
    "成立", "设立", "印发", "发布", "下发", "制定", "报送", "上报", "约谈", "表彰", "会议", "活动",
    "工作会", "座谈会", "推进会", "培训班", "发展党员", "代表",
}
STOP_PREFIXES = ("会同", "联合", "配合", "协同", "组织", "参观", "总结", "邀请", "督促", "走进",
                 "深入", "来到", "前往", "和", "与", "及", "由", "同", "向", "对", "在", "到", "赴",
                 "经", "据", "请", "是")
POST_STOP_EXEMPT = {"教师", "老师", "干部", "职工", "专家", "教授", "成员", "领导"}
# Top organs that are units although no suffix rule covers them.
TOP_ORGANS = {"国务院", "中共中央", "党中央", "全国人大", "全国政协", "中央军委", "中央纪委",
              "国家监委", "最高人民法院", "最高人民检察院", "中共中央政治局", "国务院办公厅"}
# Complete organs that may stand alone although they are short.
ORGANS = re.compile(
    r"^(?:[省市县区州乡镇])(?:委|政府|人民政府|人大|人大常委会|政协|纪委|监委|委办|政府办|委办公室|政府办公室)$"
)
# Posts: never part of a unit, they end a unit span.
POSTS = [
    "常务副书记", "副书记", "书记", "常务副局长", "副局长", "局长", "副厅长", "厅长", "副处长", "处长",
    "副科长", "科长", "股长", "副部长", "部长", "副主任", "主任", "副校长", "校长", "园长", "院长",
    "副院长", "副县长", "县长", "副市长", "市长", "副省长", "省长", "副区长", "区长", "乡长", "镇长",
    "副乡长", "副镇长", "秘书长", "副秘书长", "主席", "副主席", "检察长", "副检察长", "庭长",
    "队长", "支队长", "大队长", "组长", "副组长", "团长", "委员", "常委", "总经理", "经理",
    "董事长", "所长", "站长", "馆长", "负责人", "负责同志", "主任科员", "调研员", "巡视员",
    "督学", "总督学", "理事长", "会长", "副会长", "党组书记", "党委书记", "支部书记", "成员",
    "专家", "教授", "教师", "老师", "同志", "总书记", "领导", "干部", "职工", "代表",
]
POST_SET = set(POSTS)
POST_RE = "|".join(sorted(map(re.escape, POSTS), key=len, reverse=True))

# Words allowed inside a unit although jieba tags them as verbs / others.
INNER_OK = {
    "管理", "监督", "节能", "保护", "执法", "服务", "发展", "建设", "改革", "保障", "救援", "检察",
    "监察", "纪检", "研究", "宣传", "中级", "高级", "基层", "促进", "规划", "审计", "应急", "监测", "治理", "评估", "调查",
    "招生", "考试", "统计", "安全", "消防", "信访", "接待", "培训", "教育", "制", "直", "各",
    "驻", "驻局", "综合", "实验", "机关", "事务", "公共", "国有", "资产", "卫生", "健康", "文明",
    "精神", "宣讲", "组织", "人民", "政法", "生态", "环境", "生态环境", "市场", "自然", "资源",
    "交通", "运输", "水利", "农业", "农村", "住房", "城乡", "文化", "旅游", "体育", "科技",
    "经济", "信息化", "商务", "民政", "司法", "财政", "税务", "医疗", "保障", "退役", "军人",
    "事务", "档案", "保密", "机要", "编制", "老干部", "工作", "离退休", "后勤", "党史", "地方志",
    "政策", "法规", "政策法规", "行政", "审批", "政务", "数据", "大数据", "网信", "国防",
    "动员", "人防", "粮食", "物资", "储备", "林业", "草原", "气象", "地震", "残联", "红十字",
    "河长", "湖长", "直属", "所属", "省直", "市直", "县直", "区直", "中共", "共青团", "中央",
    "国家", "国务院", "全国", "第一", "第二", "第三", "第四", "第五", "第六", "第七", "第八",
    "第九", "第十", "高新", "开发", "经济开发", "示范", "职业", "技术", "师范", "青少年",
    "妇女", "儿童", "疾病", "预防", "控制", "疾病预防控制", "公安", "派出", "融媒体", "便民",
    "政务服务", "就业", "创业", "人才", "社会", "保险", "社会保险", "机构", "编制", "委员会",
    "自然资源", "人力资源", "社会保障", "城乡建设", "乡村振兴", "应急管理", "市场监督", "市场监管",
    "退役军人", "农业农村", "文化广电", "广播电视", "新闻出版", "知识产权", "医疗保障", "机关事务",
    "行政审批", "综合执法", "卫生健康", "发展改革", "发展和改革", "科学技术", "工业和信息化",
    "经济和信息化", "防汛抗旱", "供销", "总工会", "妇女联合会", "残疾人联合会", "红十字会",
}
# Modifiers that do not make a weak head specific (乡村学校, 辖区派出所).
GENERIC_MODIFIERS = {
    "乡村", "农村", "城市", "城区", "中小", "基层", "重点", "有关", "相关", "各类", "各级", "上级",
    "下级", "职能", "主管", "本级", "其他", "其它", "所属", "辖区", "当地", "周边", "部分", "公立",
    "民办", "维保", "物业", "服务", "属地", "地方", "定点", "合作", "试点", "示范", "先进",
    "优秀", "全体", "各", "该", "本", "这", "那", "所有", "每", "全", "机关", "单位", "部门",
    "我", "其", "两地", "两", "家长", "学生",
}
# Leading characters/words stripped from a span.
LEAD_STRIP = ("我", "全", "本", "该", "其", "由", "与", "和", "及", "同", "向", "在", "对", "从",
              "经", "据", "请", "被", "把", "将", "为", "给", "等", "并", "到", "赴", "来", "是",
              "的", "了", "着", "过", "又", "也", "还", "都", "就", "才")
REFERENCE_AFTER = re.compile(
    r"^(?:的)?(?:决策部署|坚强领导|领导下|统一领导|正确领导|部署要求|重要指示|关心支持|大力支持|工作要求|"
    r"要求|精神|文件|部署|中心工作|工作部署|各项部署)"
)

LEVEL_CHARS = {"省": "province", "市": "city", "州": "city", "县": "county", "区": "district",
               "旗": "county", "乡": "unknown", "镇": "unknown"}
MUNICIPALITIES = ("北京市", "天津市", "上海市", "重庆市")
PROVINCE_NAMES = ("北京", "天津", "上海", "重庆", "河北", "山西", "辽宁", "吉林", "黑龙江", "江苏",
                  "浙江", "安徽", "福建", "江西", "山东", "河南", "湖北", "湖南", "广东", "海南",
                  "四川", "贵州", "云南", "陕西", "甘肃", "青海", "台湾")
PROVINCE_RE = re.compile(
    r"^(?:(?:%s)省|内蒙古自治区|广西壮族自治区|西藏自治区|宁夏回族自治区|新疆维吾尔自治区|"
    r"北京市|天津市|上海市|重庆市)" % "|".join(PROVINCE_NAMES)
)
HAN = r"\u4e00-\u9fff"
PUNCT_STOP = set("，。；：！？、,.;:!?“”‘’\"'《》〈〉【】[]()（）\n\t …—-－＋+/·")


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

_added: set[str] = set()
_BASE_WORDS = {
    "团省委": "nt", "团市委": "nt", "团县委": "nt", "国管局": "nt", "省直机关工委": "nt",
    "市直机关工委": "nt", "县直机关工委": "nt", "文明办": "nt", "宣传部": "nt", "组织部": "nt",
    "统战部": "nt", "政法委": "nt", "编办": "nt", "机关纪委": "nt", "团工委": "nt",
    "纪检监察组": "nt", "河长制办公室": "nt", "党组": "n", "机关党委": "nt",
}


def add_words(words: Iterable[str], tag: str = "nt") -> None:
    """Teach jieba unit names (publishers, 主送/抄送 lists). Idempotent."""
    for w in words:
        w = (w or "").strip()
        if not w or w in _added or not re.fullmatch(f"[{HAN}]+", w) or len(w) < 2:
            continue
        _added.add(w)
        _JB.add_word(w, freq=max(_JB.FREQ.get(w) or 0, 50000), tag=tag)




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
        if len(w) >= 2 and f[:1] == "n" and w not in _added:
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
    if ORGANS.match(w) or w in TOP_ORGANS or w in _added and _head_of(w):
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
    if ORGANS.match(hw) or (hw in _added and not mods):
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
            or m.w[-1:] in "省市县区州乡镇" and m.f[:1] == "n" or m.w.startswith("第") or m.w in _added
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
    add_words([publisher] if publisher else [])
    add_words(known)
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


def _extract_people(text: str) -> list[PersonMention]:
    """People written with their post: 局党组书记、局长郭春英 -> (郭春英, 局党组书记、局长)."""
    out: list[PersonMention] = []
    toks = _tokens(text)
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


def _extract_places(text: str) -> list[PlaceMention]:
    """Provinces, cities, counties, districts, towns (jieba ns + suffix rules)."""
    out: list[PlaceMention] = []
    toks = _tokens(text)
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


def extract_people(text: str) -> list[PersonMention]:
    """People written with their post: 局党组书记、局长郭春英 -> (郭春英, 局党组书记、局长);
    later bare mentions of the same name come with post None."""
    clean, imap = _squeeze(text)
    out = _extract_people(clean)
    for p in out:
        p.position = imap[p.position]
    return out


def extract_places(text: str) -> list[PlaceMention]:
    """Provinces, cities, counties, districts, towns (jieba ns + suffix rules)."""
    clean, imap = _squeeze(text)
    out = _extract_places(clean)
    for p in out:
        p.position = imap[p.position]
    return out


# Dates: see pipeline.dates (event_dates is re-exported here for callers of this module)


# ---------------------------------------------------------------------------
# Archive extension

SCHEMA = """
CREATE TABLE IF NOT EXISTS units (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,             -- resolved full name
    normalised TEXT NOT NULL UNIQUE,-- match key of the resolved name
    level TEXT,                     -- national/province/city/county/district/unknown
    parent_id INTEGER REFERENCES units(id)
);
CREATE TABLE IF NOT EXISTS article_units (
    article_id INTEGER NOT NULL REFERENCES articles(id),
    unit_id INTEGER NOT NULL REFERENCES units(id),
    surface TEXT NOT NULL,          -- as written
    position INTEGER NOT NULL,      -- offset in article_text()
    confidence REAL
);
CREATE INDEX IF NOT EXISTS article_units_article ON article_units(article_id);
CREATE INDEX IF NOT EXISTS article_units_unit ON article_units(unit_id);
CREATE TABLE IF NOT EXISTS people (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
);
CREATE TABLE IF NOT EXISTS article_people (
    article_id INTEGER NOT NULL REFERENCES articles(id),
    person_id INTEGER NOT NULL REFERENCES people(id),
    post TEXT,
    position INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS article_people_article ON article_people(article_id);
CREATE INDEX IF NOT EXISTS article_people_person ON article_people(person_id);
CREATE TABLE IF NOT EXISTS places (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    level TEXT
);
CREATE TABLE IF NOT EXISTS article_places (
    article_id INTEGER NOT NULL REFERENCES articles(id),
    place_id INTEGER NOT NULL REFERENCES places(id),
    surface TEXT NOT NULL,
    position INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS article_places_article ON article_places(article_id);
CREATE INDEX IF NOT EXISTS article_places_place ON article_places(place_id);
"""


def ensure_schema(conn) -> None:
    conn.executescript(SCHEMA)


def article_text(title: Optional[str], subtitle: Optional[str], body: Optional[str]) -> str:
    return "\n".join(p for p in (title, subtitle, body) if p)


def normal_key(name: str) -> str:
    name = re.sub(r"\s+", "", name)
    return name.translate(str.maketrans("()", "（）"))


def _unit_id(conn, name: str, level: str, parent: Optional[str]) -> int:
    key = normal_key(name)
    row = conn.execute("SELECT id, parent_id FROM units WHERE normalised = ?", [key]).fetchone()
    if row:
        if row[1] is None and parent:
            pid = _unit_id(conn, parent, unit_level(parent), _parent(parent))
            conn.execute("UPDATE units SET parent_id = ? WHERE id = ?", [pid, row[0]])
        return row[0]
    pid = None
    if parent and normal_key(parent) != key:
        pid = _unit_id(conn, parent, unit_level(parent), _parent(parent))
    cur = conn.execute("INSERT INTO units (name, normalised, level, parent_id) VALUES (?,?,?,?)",
                       [name, key, level, pid])
    return cur.lastrowid


def _row_id(conn, table: str, name: str, **extra) -> int:
    row = conn.execute(f"SELECT id FROM {table} WHERE name = ?", [name]).fetchone()
    if row:
        return row[0]
    cols = ["name"] + list(extra)
    cur = conn.execute(f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                       [name] + list(extra.values()))
    return cur.lastrowid


def _known_units(conn) -> list[str]:
    names: list[str] = []
    try:
        rows = conn.execute("SELECT DISTINCT publisher, recipients, cc FROM issues").fetchall()
    except Exception:
        return names
    for pub, rec, cc in rows:
        lst = [pub] if pub else []
        for js in (rec, cc):
            try:
                lst += json.loads(js) if js else []
            except (TypeError, ValueError):
                pass
        names += known_units_from_lists(lst)
    return sorted(set(names))


def unindex_issue(conn, issue_id: str) -> None:
    for table in ("article_units", "article_people", "article_places"):
        conn.execute(f"DELETE FROM {table} WHERE article_id IN "
                     f"(SELECT id FROM articles WHERE issue_id = ?)", [issue_id])


def index_issue(conn, issue_id: str) -> None:
    # runs inside load_issue's transaction: no DDL here (executescript would commit)
    unindex_issue(conn, issue_id)
    row = conn.execute("SELECT publisher FROM issues WHERE id = ?", [issue_id]).fetchone()
    publisher = row[0] if row else None
    known = _known_units(conn)
    arts = conn.execute("SELECT id, title, subtitle, body FROM articles WHERE issue_id = ? ORDER BY seq",
                        [issue_id]).fetchall()
    for aid, title, subtitle, body in arts:
        text = article_text(title, subtitle, body)
        if not text:
            continue
        for u in extract_units(text, publisher, known):
            uid = _unit_id(conn, u.normalised or u.surface, u.level, u.parent)
            conn.execute("INSERT INTO article_units (article_id, unit_id, surface, position, confidence)"
                         " VALUES (?,?,?,?,?)", [aid, uid, u.surface, u.position, u.confidence])
        for p in extract_people(text):
            pid = _row_id(conn, "people", p.name)
            conn.execute("INSERT INTO article_people (article_id, person_id, post, position)"
                         " VALUES (?,?,?,?)", [aid, pid, p.post, p.position])
        for pl in extract_places(text):
            plid = _row_id(conn, "places", pl.name, level=pl.level)
            conn.execute("INSERT INTO article_places (article_id, place_id, surface, position)"
                         " VALUES (?,?,?,?)", [aid, plid, pl.surface, pl.position])


def unit_surfaces(title: str, body: str, publisher: Optional[str] = None,
                  known: Iterable[str] = (), subtitle: Optional[str] = None) -> list[str]:
    """Distinct unit surfaces of an article in order of first appearance (Article.units)."""
    out: list[str] = []
    for u in extract_units(article_text(title, subtitle, body), publisher, known):
        if u.surface not in out:
            out.append(u.surface)
    return out


# ---------------------------------------------------------------------------
# Evaluation CLI

def evaluate(truth_dir: str, verbose: bool = False) -> dict:
    from pathlib import Path
    tp = fp = fn = 0
    dtp = dfp = dfn = 0
    lines = []
    for f in sorted(Path(truth_dir).glob("*.json")):
        d = json.loads(f.read_text(encoding="utf-8"))
        iss = d.get("issue", {})
        known = known_units_from_lists([iss.get("publisher")], iss.get("recipients"), iss.get("cc"))
        for a in d.get("articles", []):
            want = set(a.get("units") or [])
            got = set(unit_surfaces(a.get("title") or "", a.get("body") or "", iss.get("publisher"),
                                    known, a.get("subtitle")))
            tp += len(want & got)
            fp += len(got - want)
            fn += len(want - got)
            if verbose and (got != want):
                lines.append(f"{f.stem} {a.get('title')}\n   missing {sorted(want - got)}\n"
                             f"   extra   {sorted(got - want)}")
            if "event_dates" in a:
                wd = set(a["event_dates"] or [])
                gd = set(event_dates(article_text(a.get("title"), a.get("subtitle"), a.get("body")),
                                     iss.get("date")))
                dtp += len(wd & gd)
                dfp += len(gd - wd)
                dfn += len(wd - gd)
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    dp = dtp / (dtp + dfp) if dtp + dfp else 1.0
    dr = dtp / (dtp + dfn) if dtp + dfn else 1.0
    return {"precision": p, "recall": r, "tp": tp, "fp": fp, "fn": fn,
            "date_precision": dp, "date_recall": dr, "details": lines}


def main(argv=None) -> int:
    import argparse
    ap = argparse.ArgumentParser(prog="python -m pipeline.entities")
    ap.add_argument("--eval", metavar="TRUTH_DIR", help="score unit extraction against truth files")
    ap.add_argument("-v", "--verbose", action="store_true", help="list misses and extras")
    ap.add_argument("text", nargs="?", help="extract from this text")
    ap.add_argument("--publisher")
    args = ap.parse_args(argv)
    if args.eval:
        res = evaluate(args.eval, args.verbose)
        for line in res["details"]:
            print(line)
        print(f"units: precision {res['precision']:.3f} recall {res['recall']:.3f} "
              f"(tp {res['tp']}, fp {res['fp']}, fn {res['fn']})")
        print(f"event dates: precision {res['date_precision']:.3f} recall {res['date_recall']:.3f}")
        return 0
    if args.text:
        for u in extract_units(args.text, args.publisher):
            print("unit", u)
        for p in extract_people(args.text):
            print("person", p)
        for pl in extract_places(args.text):
            print("place", pl)
        return 0
    ap.print_help()
    return 2


if __name__ == "__main__":
    sys.exit(main())
