"""Entities: units (as written + resolved), people with posts, places, event dates."""
from pathlib import Path

import pytest

from pipeline.archive import entities as E
from pipeline.archive import load
from pipeline import models

SC = "四川省机关事务管理局"


def units(text, publisher=None, known=()):
    return [u.surface for u in E.extract_units(text, publisher, known)]


def by_surface(text, publisher=None):
    return {u.surface: u for u in E.extract_units(text, publisher)}


# ---------------------------------------------------------------- units as written

def test_span_stops_at_prepositions_and_conjunctions():
    assert units("8月15日，由市生态环境局、市委宣传部、市文明办联合主办的活动在公园举行。") == [
        "市生态环境局", "市委宣传部", "市文明办"]
    assert units("近日，绵阳市机关事务管理局与重庆市北碚区机关事务管理中心开展联学共建活动。") == [
        "绵阳市机关事务管理局", "重庆市北碚区机关事务管理中心"]
    assert units("县教育局联合县市场监督管理局对全县学校食堂开展检查。") == ["县教育局", "县市场监督管理局"]
    assert units("县教育局会同县财政局扩大覆盖范围。") == ["县教育局", "县财政局"]


def test_posts_are_not_units_and_end_a_span():
    got = units("会议由省政府副秘书长，局党组书记、局长郭春英主持。局领导出席。", SC)
    assert got == ["省政府"]
    got = units("副县长周晓梅出席会议并讲话，县教育局党组书记、局长杨志刚主持会议。")
    assert got == ["县教育局"]


def test_plural_units_with_bracketed_levels():
    got = units("各乡（镇）中心学校校长、县直各学校校长参加会议。同时督促各乡（镇）人民政府排查。")
    assert got == ["各乡（镇）中心学校", "县直各学校", "各乡（镇）人民政府"]


def test_names_containing_he():
    got = units("市发展和改革委员会、市自然资源和规划局参加。县教育局和县财政局参加。")
    assert got == ["市发展和改革委员会", "市自然资源和规划局", "县教育局", "县财政局"]


def test_generic_places_and_institutions_are_not_units():
    assert units("在乡村学校办学条件改善方面作交流发言。") == []
    assert units("组织物业公司和维保单位开展安全生产大排查。") == []
    assert units("为党员干部带来一场盛宴，推动形成新格局。") == []


def test_abbreviations_and_party_organs():
    got = units("团省委副书记王惠明出席。谨代表团省委向省机关事务管理局致以问候。", SC)
    assert got == ["团省委", "团省委", "省机关事务管理局"]
    assert units("保持和加强向国管局的汇报与对接。") == ["国管局"]


def test_authorities_named_in_boilerplate_are_not_listed():
    assert units("全县教育系统认真落实县委、县政府决策部署。") == []
    assert units("在省委、省政府和国管局的坚强领导下，各项工作取得成效。") == []
    # but 省委省直机关党校 is one unit
    assert units("省委省直机关党校校长王承先作专题宣讲。", SC) == ["省委省直机关党校"]


def test_places_acting_as_subject_and_abbreviated_bureaus():
    assert units("临溪县建立“河湖长＋检察长”协作机制。") == ["临溪县"]
    assert units("日前，溪城高新区在省级以上产业园区率先推行改革。") == ["溪城高新区"]
    assert units("成都局“四大工程”推进公共机构节约能源资源", SC) == ["成都局"]
    # a place that is only a location is not a unit
    assert units("调研组还到成都市人才公寓项目现场察看。") == []


def test_known_units_from_the_archive_are_matched():
    known = E.known_units_from_lists(["云溪县教育局"], ["县委办公室", "局领导", "县直各学校（幼儿园）",
                                                     "各乡（镇）中心学校", "局机关各股室"])
    assert "县委办公室" in known and "各乡（镇）中心学校" in known
    assert "局领导" not in known and "局机关各股室" not in known


# ---------------------------------------------------------------- resolution

def test_resolution_in_a_provincial_bulletin():
    text = ("省机关事务管理局召开会议。国管局党组书记、局长李宝荣署名文章。局政策法规处负责同志介绍。"
            "成都局推进节能。团省委出席。国家机关事务管理局政策法规司来调研。")
    u = by_surface(text, SC)
    assert (u["省机关事务管理局"].normalised, u["省机关事务管理局"].confidence) == (SC, 0.8)
    assert u["省机关事务管理局"].level == "province"
    assert (u["国管局"].normalised, u["国管局"].level) == ("国家机关事务管理局", "national")
    assert u["国管局"].confidence == 0.9
    assert u["局政策法规处"].normalised == SC + "政策法规处"
    assert u["局政策法规处"].parent == SC
    assert (u["成都局"].normalised, u["成都局"].confidence, u["成都局"].level) == (
        "成都市机关事务管理局", 0.6, "city")
    assert u["团省委"].normalised == "共青团四川省委员会"
    assert u["团省委"].level == "province"
    full = u["国家机关事务管理局政策法规司"]
    assert (full.normalised, full.confidence, full.parent) == (
        "国家机关事务管理局政策法规司", 1.0, "国家机关事务管理局")


def test_resolution_county_and_district_publishers():
    r = E.resolve_unit("县市场监督管理局", "云溪县教育局")
    assert (r.name, r.confidence, r.level) == ("云溪县市场监督管理局", 0.8, "county")
    r = E.resolve_unit("区公安分局", "北岸区市场监督管理局")
    assert (r.name, r.level) == ("北岸区公安分局", "district")
    r = E.resolve_unit("市委", "溪城市生态环境局")
    assert (r.name, r.level) == ("中共溪城市委员会", "city")
    r = E.resolve_unit("重庆市北碚区机关事务管理中心", SC)
    assert (r.name, r.confidence, r.level) == ("重庆市北碚区机关事务管理中心", 1.0, "district")
    # nothing to complete it with: kept as written, low confidence
    r = E.resolve_unit("县教育局", None)
    assert (r.name, r.confidence, r.level) == ("县教育局", 0.5, "county")


# ---------------------------------------------------------------- people, places

def test_people_with_posts():
    got = [(p.name, p.post) for p in E.extract_people(
        "会议由省政府副秘书长，局党组书记、局长郭春英主持。团省委副书记王惠明、省直机关团工委书记李骏应邀出席。"
        "副县长周晓梅出席会议并讲话。")]
    assert got == [("郭春英", "省政府副秘书长，局党组书记、局长"), ("王惠明", "团省委副书记"),
                   ("李骏", "省直机关团工委书记"), ("周晓梅", "副县长")]


def test_people_chain_of_posts():
    got = E.extract_people("邀请省委宣讲团省直机关分团负责人、省直机关工委常务副书记、"
                           "省委省直机关党校校长王承先作专题宣讲。王承先指出，要深入学习。")
    assert got[0].name == "王承先"
    assert got[0].post == "省委宣讲团省直机关分团负责人、省直机关工委常务副书记、省委省直机关党校校长"
    assert [(p.name, p.post) for p in got[1:]] == [("王承先", None)]


def test_ocr_spaces_between_characters():
    text = "会议由省政府副秘书长， 局党组书记、局长郭 春英主持。省机关 事务管理局 召开会议。"
    us = E.extract_units(text, SC)
    assert [u.surface for u in us] == ["省政府", "省机关事务管理局"]
    assert text[us[1].position:].startswith("省机关")
    assert [(p.name, p.post) for p in E.extract_people(text)] == [("郭春英", "省政府副秘书长，局党组书记、局长")]


def test_places():
    got = [(p.name, p.level) for p in E.extract_places(
        "绵阳市机关事务管理局与重庆市北碚区机关事务管理中心开展活动。党组中心组赴巴中开展培训，在四川地区。")]
    assert ("绵阳市", "city") in got and ("重庆市", "province") in got and ("北碚区", "district") in got
    assert ("巴中", "unknown") in got and ("四川省", "province") in got


# ---------------------------------------------------------------- dates

@pytest.mark.parametrize("text,issue_date,want", [
    ("5月17日至19日，党组中心组赴巴中开展培训。", "2021-05-28", ["2021-05-17", "2021-05-19"]),
    ("4月26日至27日，政策法规司来调研。", "2021-05-28", ["2021-04-26", "2021-04-27"]),
    ("5月8日，省机关事务管理局召开会议。", "2021-05-28", ["2021-05-08"]),
    ("近日，实验幼儿园举办座谈会。日前，溪城高新区推行改革。", "2021-05-28", []),
    ("2021年5月28日印发。", None, ["2021-05-28"]),
    ("二〇二三年三月十五日，全县召开大会。", "2023-05-10", ["2023-03-15"]),
    ("二〇二三年三月十五日至十七日举办培训。", "2023-05-10", ["2023-03-15", "2023-03-17"]),
    ("6月30日至7月2日开展检查，7月2日通报。", "2023-07-10", ["2023-06-30", "2023-07-02"]),
    ("会议定于2023-08-18召开。", "2023-08-22", ["2023-08-18"]),
    ("5月10日以来，开展执法行动。截至8月中旬，优良天数比例达到86.4%。", "2023-08-22", ["2023-05-10"]),
    ("今年8月15日是首个全国生态日。8月15日，活动举行。", "2023-08-22", ["2023-08-15"]),
    ("2023年春季学期，2月30日不存在。", "2023-05-10", []),
    ("5月17-19日开展培训。", "2023-05-28", ["2023-05-17", "2023-05-19"]),
    ("12月28日召开年终总结会。", "2024-01-05", ["2023-12-28"]),
    ("12月30日至1月2日安排值班。", "2023-01-10", ["2022-12-30", "2023-01-02"]),
    ("印发《关于2023年5月1日起施行新规定的通知》。", "2023-05-10", []),
    ("5 月 8 日，召开会议。", "2021-05-28", ["2021-05-08"]),
])
def test_event_dates(text, issue_date, want):
    assert E.event_dates(text, issue_date) == want


# ---------------------------------------------------------------- archive tables

def _issue(articles, publisher=SC, date="2021-05-28", doc_id="0123456789abcdef", recipients=(), cc=()):
    doc = models.Document(doc_id=doc_id, source_path="/raw/x.pdf", sha256="0" * 64, kind="pdf")
    meta = models.IssueMeta(title=publisher + "简报", publisher=publisher, year=int(date[:4]), issue_no=4,
                            date=date, recipients=list(recipients), cc=list(cc))
    arts = [models.Article(seq=i + 1, title=t, body=b) for i, (t, b) in enumerate(articles)]
    return models.Issue(doc=doc, meta=meta, pages=[], articles=arts)


@pytest.fixture
def db(tmp_path, monkeypatch):
    assert E in load.EXTENSIONS
    return load.open_db(tmp_path / "archive.db")


def test_index_issue_through_load(db):
    issue = _issue([
        ("省机关事务管理局召开会议", "5月8日，省机关事务管理局召开会议。会议由省政府副秘书长，局党组书记、局长郭春英主持。"),
        ("成都局推进节能", "成都市机关事务管理局推进节能改造。国管局来调研。"),
    ], cc=["国家机关事务管理局"])
    iid = load.load_issue(db, issue)
    c = db.conn
    rows = c.execute("SELECT a.seq, au.surface, u.name, u.level, au.confidence FROM article_units au"
                     " JOIN units u ON u.id = au.unit_id JOIN articles a ON a.id = au.article_id"
                     " ORDER BY a.seq, au.position").fetchall()
    assert rows == [
        (1, "省机关事务管理局", SC, "province", 0.8),
        (1, "省机关事务管理局", SC, "province", 0.8),
        (1, "省政府", "四川省人民政府", "province", 0.8),
        (2, "成都局", "成都市机关事务管理局", "city", 0.6),
        (2, "成都市机关事务管理局", "成都市机关事务管理局", "city", 1.0),
        (2, "国管局", "国家机关事务管理局", "national", 0.9),
    ]
    # variants link to one unit row
    assert c.execute("SELECT COUNT(DISTINCT unit_id) FROM article_units WHERE surface IN "
                     "('成都局', '成都市机关事务管理局')").fetchone() == (1,)
    people = c.execute("SELECT p.name, ap.post FROM article_people ap JOIN people p ON p.id = ap.person_id"
                       ).fetchall()
    assert people == [("郭春英", "省政府副秘书长，局党组书记、局长")]
    assert ("成都市", "city") in c.execute("SELECT name, level FROM places").fetchall()
    # positions point into title + "\n" + body
    a_title = "省机关事务管理局召开会议"
    pos = c.execute("SELECT position FROM article_units WHERE surface = '省机关事务管理局' ORDER BY position"
                    ).fetchall()
    assert pos[0] == (0,) and pos[1][0] == len(a_title) + 1 + len("5月8日，")

    # re-loading replaces the link rows; unindex removes them
    load.load_issue(db, issue)
    assert c.execute("SELECT COUNT(*) FROM article_units").fetchone() == (6,)
    with c:
        E.unindex_issue(c, iid)
    for t in ("article_units", "article_people", "article_places"):
        assert c.execute(f"SELECT COUNT(*) FROM {t}").fetchone() == (0,)


def test_known_recipient_names_are_used(db):
    issue = _issue([("通知", "请县委教育工作领导小组办公室和各乡（镇）中心学校抓好落实。")],
                   publisher="云溪县教育局", date="2023-05-10", doc_id="fedcba9876543210",
                   recipients=["县委办公室", "各乡（镇）中心学校", "县委教育工作领导小组办公室"])
    load.load_issue(db, issue)
    got = [r[0] for r in db.conn.execute("SELECT surface FROM article_units ORDER BY position")]
    assert got == ["县委教育工作领导小组办公室", "各乡（镇）中心学校"]


# ---------------------------------------------------------------- dev truth

TRUTH = Path("/work/shared/corpus/dev/truth")


@pytest.mark.skipif(not TRUTH.is_dir(), reason="dev truth not available")
def test_dev_truth_precision_recall():
    res = E.evaluate(str(TRUTH))
    assert res["precision"] >= 0.85 and res["recall"] >= 0.85, res
    assert res["date_precision"] >= 0.9 and res["date_recall"] >= 0.9


@pytest.mark.skipif(not TRUTH.is_dir(), reason="dev truth not available")
def test_eval_cli_prints_precision_and_recall(capsys):
    assert E.main(["--eval", str(TRUTH)]) == 0
    out = capsys.readouterr().out
    assert "units: precision" in out and "recall" in out


def test_publisher_regions():
    assert E._region_of("四川省成都市武侯区教育局") == {
        "province": "四川省", "city": "成都市", "district": "武侯区", "type": "教育局"}
    assert E._region_of("北碚区城市管理局") == {"district": "北碚区", "type": "城市管理局"}
    assert E._region_of("城市管理局") == {"type": "城市管理局"}
