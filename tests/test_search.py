"""Search: a real archive built with load.open_db + load.load_issue."""
from __future__ import annotations

import contextlib
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest

from pipeline.archive import load
from pipeline import models
from pipeline.archive import search

# (doc_id, publisher, year, issue_no, date, [(section, title, body), ...])
ISSUES = [
    ("11aa22bb33cc44dd", "四川省机关事务管理局", 2022, 3, "2022-03-15", [
        ("工作动态", "全省推进公务用车制度改革",
         "近日，四川省机关事务管理局召开会议，要求各地加强公务用车管理，严格执行配备标准。"),
        ("工作动态", "机关节能工作会议召开",
         "会议总结了去年的工作。郭春英出席会议并讲话，要求抓好节能降耗。"),
        ("经验交流", "某市平台建设经验",
         "某市依托信息化手段推进公务 用 车平台建设，\n实现统一调度。"),
    ]),
    ("22bb33cc44dd55ee", "北京市机关事务管理局", 2023, 7, "2023-06-30", [
        ("党建工作", "深入开展党史学习教育", "各单位组织干部职工学习党史，开展专题研讨。"),
        ("节约型机关", "创建节约型机关取得成效",
         "2023年，全市完成CCER项目交易三宗，推动绿色低碳发展。公共机构节能改造持续推进，节能量明显。"),
        ("工作动态", "香港來函", "來函介紹關於公務用車管理的經驗，並提出建議。"),
    ]),
    ("33cc44dd55ee66ff", "四川省机关事务管理局", 2023, 12, "2023-09-01", [
        ("工作动态", "全省公共机构能源资源工作推进会", "会议强调，要持续推进节能工作和垃圾分类。"),
        ("经验交流", "成都市经验", "成都市开展绿色办公，推广无纸化会议，2023计划继续推广。"),
    ]),
]


def make_issue(doc_id, publisher, year, issue_no, date, arts, variant: str = "") -> models.Issue:
    doc = models.Document(doc_id=doc_id, source_path=f"/in/{doc_id}.pdf", sha256=doc_id * 4, kind="pdf")
    meta = models.IssueMeta(title="机关事务工作简报", publisher=publisher, year=year, issue_no=issue_no,
                            date=date, sections=sorted({a[0] for a in arts}))
    pages = [models.Page(page_no=n, width=595.0, height=842.0, text=f"page {n}") for n in (1, 2)]
    articles = [models.Article(seq=i + 1, section=sec, title=title, body=body + variant,
                               page_start=1 + i // 2, page_end=1 + i // 2)
                for i, (sec, title, body) in enumerate(arts)]
    return models.Issue(doc=doc, meta=meta, pages=pages, articles=articles)


@contextlib.contextmanager
def search_only():
    """Load with the search extension alone (independent of other stages)."""
    saved = list(load.EXTENSIONS)
    load.EXTENSIONS[:] = [search]
    try:
        yield
    finally:
        load.EXTENSIONS[:] = saved


def build_archive(path) -> Path:
    """A small archive: three issues, two publishers, 2022-2023."""
    path = Path(path)
    with search_only():
        db = load.open_db(path)
        for spec in ISSUES:
            load.load_issue(db, make_issue(*spec))
    db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.conn.close()
    return path


def aid(n_issue: int, seq: int) -> int:
    return load.article_id(ISSUES[n_issue][0], seq)


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    return build_archive(tmp_path_factory.mktemp("archive") / "archive.db")


def ids(results):
    return [r["article_id"] for r in results]


# -- normalisation and query building ----------------------------------------

def test_tokens_and_expressions():
    assert search.index_text("公务 用车改革，CCER项目2023年") == "公务 务用 用车 车改 改革 革 ccer 项目 目 2023 年"
    def tb(e):
        return "{title body} : (" + e + ")"
    assert search.match_expression("公务用车") == tb('"公务 务用 用车"')
    assert search.match_expression("公務用車") == tb('"公务 务用 用车"')
    assert search.match_expression("党") == tb('"党" *')
    assert search.match_expression("2023年") == tb('"2023 年" *')
    assert search.match_expression("节能 党史") == tb('"节能" AND "党史"')
    assert search.match_expression("节能 -党史") == tb('("节能") NOT "党史"')
    assert search.match_expression("节能 OR 党史") == tb('("节能" OR "党史")')
    assert search.match_expression("节能", "title") == '{title} : ("节能")'
    assert search.match_expression("，。 ") == ""
    assert search.filter_expression(2023, "四川", "工作动态") == \
        '{year} : (y2023) AND {publisher} : ("p四川") AND {section} : ("s工作 s作动 s动态")'
    assert search.filter_expression((2021, 2022)) == '{year} : (y2021 OR y2022)'
    assert search.normalize("ＣＣＥＲ　２０２３年 公務 用車") == "ccer 2023年公务用车"


# -- query kinds --------------------------------------------------------------

@pytest.mark.parametrize("query,expected", [
    ("节能", [(0, 2), (1, 2), (2, 1)]),                      # 2-char word
    ("党史", [(1, 1)]),
    ("公务用车", [(0, 1), (0, 3), (1, 3)]),                  # long term, OCR gap, traditional text
    ("节约型机关", [(1, 2)]),
    ("郭春英", [(0, 2)]),                                    # name in no dictionary
    ("四川省机关事务管理局", [(0, 1)]),                        # full unit name in a body
    ("公務用車", [(0, 1), (0, 3), (1, 3)]),                  # traditional query
    ("CCER", [(1, 2)]),
    ("ccer", [(1, 2)]),
    ("2023年", [(1, 2)]),                                    # (2, 2) has "2023" without 年
    ("2023", [(1, 2), (2, 2)]),
    ("党", [(1, 1)]),                                        # one character
    ("绿色 会议", [(2, 2)]),                                  # several terms ANDed
])
@pytest.mark.parametrize("cap,small", [(None, None), (2, None), (None, 0)])
def test_query_kinds(archive, query, expected, cap, small, monkeypatch):
    if cap:  # bigrams in 2+ articles count as common: dropped from the candidates, verified
        monkeypatch.setattr(search, "CAP_MIN", cap)
    if small is not None:  # rank with FTS5's bm25 instead of in Python
        monkeypatch.setattr(search, "SMALL", small)
    got = ids(search.search(archive, query))
    assert sorted(got) == sorted(aid(i, s) for i, s in expected), query
    got = ids(search.search(archive, query, year=(2000, 2100), publisher="机关事务管理局"))
    assert sorted(got) == sorted(aid(i, s) for i, s in expected), query


def test_exact_substring_not_bag_of_characters(archive):
    assert search.search(archive, "公务车") == []
    assert search.search(archive, "用车公务", fallback=False) == []
    assert {r["match"] for r in search.search(archive, "用车公务")} == {"words"}


def test_ocr_gap_snippet_marks_original_text(archive):
    res = {r["article_id"]: r for r in search.search(archive, "公务用车")}
    assert "【公务 用 车】平台建设" in res[aid(0, 3)]["snippet"]
    assert "【公務用車】" in res[aid(1, 3)]["snippet"]
    html = search.search(archive, "公务用车", html_snippet=True)
    assert all("<mark>" in r["snippet"] for r in html)


def test_result_fields(archive):
    (r,) = search.search(archive, "郭春英")
    assert r["issue_id"] == ISSUES[0][0]
    assert r["title"] == "机关节能工作会议召开"
    assert r["date"] == "2022-03-15"
    assert r["publisher"] == "四川省机关事务管理局"
    assert r["section"] == "工作动态"
    assert r["page_start"] == 1
    assert "【郭春英】" in r["snippet"] and isinstance(r["score"], float)


@pytest.mark.parametrize("small", [None, 0])
def test_title_hit_ranks_above_body_hits(archive, small, monkeypatch):
    if small is not None:
        monkeypatch.setattr(search, "SMALL", small)
    res = search.search(archive, "节能")
    assert res[0]["article_id"] == aid(0, 2)          # 节能 in the title
    assert res[0]["score"] > res[1]["score"] > 0


def test_broad_queries_ranked_within_a_window(archive, monkeypatch):
    monkeypatch.setattr(search, "SMALL", 0)          # rank with FTS5's bm25, not in Python
    full = ids(search.search(archive, "节能"))
    assert ids(search.search(archive, "节能", exhaustive=True)) == full
    monkeypatch.setattr(search, "RANK_BUDGET", 1)
    monkeypatch.setattr(search, "RANK_WINDOW_MIN", 1)
    assert ids(search.search(archive, "节能", limit=1)) == [aid(0, 2)]     # title tier first
    two = ids(search.search(archive, "节能", limit=2))
    assert len(two) == 2 and two[0] == aid(0, 2) and set(two) <= set(full)
    assert ids(search.search(archive, "节能", limit=None)) == full          # all: ranked exhaustively


@pytest.mark.parametrize("cap,small", [(None, None), (2, None), (None, 0)])
def test_filters(archive, cap, small, monkeypatch):
    if cap:
        monkeypatch.setattr(search, "CAP_MIN", cap)
    if small is not None:
        monkeypatch.setattr(search, "SMALL", small)
    assert set(ids(search.search(archive, "节能", year=2023))) == {aid(1, 2), aid(2, 1)}
    assert set(ids(search.search(archive, "节能", year=(2020, 2022)))) == {aid(0, 2)}
    assert set(ids(search.search(archive, "节能", publisher="四川省机关事务管理局"))) == {aid(0, 2), aid(2, 1)}
    assert set(ids(search.search(archive, "节能", publisher="北京"))) == {aid(1, 2)}
    assert set(ids(search.search(archive, "公务用车", section="经验交流"))) == {aid(0, 3)}
    assert search.search(archive, "节能", year=2023, publisher="北京市机关事务管理局", section="工作动态") == []
    assert len(search.search(archive, "节能", limit=1)) == 1


def test_unit_filter_without_and_with_unit_tables(tmp_path):
    path = build_archive(tmp_path / "a.db")
    conn = sqlite3.connect(path)
    conn.executescript("drop table if exists article_units; drop table if exists units;")
    conn.commit()
    # no units tables (entities stage absent): the unit must occur in the text
    assert ids(search.search(path, "公务用车", unit="四川省机关事务管理局")) == [aid(0, 1)]
    conn.executescript("""
        create table units (id integer primary key, name text);
        create table article_units (article_id integer, unit_id integer, surface text);
        insert into units values (1, '四川省机关事务管理局');
    """)
    conn.execute("insert into article_units values (?, 1, '省机关事务管理局')", [aid(0, 3)])
    conn.commit()
    conn.close()
    assert ids(search.search(path, "公务用车", unit="四川省机关事务管理局")) == [aid(0, 3)]
    assert ids(search.search(path, "公务用车", unit="省机关事务管理局")) == [aid(0, 3)]


def test_jieba_fallback_for_long_queries(archive):
    # not a substring anywhere, but all its words occur in one article
    res = search.search(archive, "四川省公务用车改革")
    assert aid(0, 1) in ids(res) and res[0]["match"] == "words"


def test_reload_replaces_index_rows(tmp_path, monkeypatch):
    path = build_archive(tmp_path / "a.db")
    monkeypatch.setattr(load, "EXTENSIONS", [search])
    db = load.open_db(path)
    spec = ISSUES[0]
    for _ in range(3):
        load.load_issue(db, make_issue(*spec))
    n_articles = db.conn.execute("select count(*) from articles").fetchone()[0]
    n_index = db.conn.execute("select count(*) from articles_fts_docsize").fetchone()[0]
    assert n_index == n_articles == 8
    assert len(search.search(db, "公务用车")) == 3
    # changed text: the old words are gone from the index, the new ones found
    arts = [(s, t, b.replace("郭春英", "王小明")) for s, t, b in spec[5]]
    load.load_issue(db, make_issue(*spec[:5], arts))
    assert search.search(db, "郭春英") == []
    assert ids(search.search(db, "王小明")) == [aid(0, 2)]
    assert db.conn.execute("select count(*) from articles_fts_docsize").fetchone()[0] == 8
    # the index agrees with a full rebuild
    before = [(r["article_id"], round(r["score"], 6)) for r in search.search(db, "节能")]
    assert search.rebuild(db) == 8
    after = [(r["article_id"], round(r["score"], 6)) for r in search.search(db, "节能")]
    assert before == after
    db.conn.execute("PRAGMA integrity_check")
    db.conn.execute("INSERT INTO articles_fts(articles_fts) VALUES ('integrity-check')")


def test_existing_archive_gets_indexed(tmp_path, monkeypatch):
    path = build_archive(tmp_path / "a.db")
    conn = sqlite3.connect(path)
    conn.executescript("drop table articles_fts; drop table search_meta;")
    conn.close()
    monkeypatch.setattr(load, "EXTENSIONS", [search])
    db = load.open_db(path)  # ensure_schema builds the missing index
    assert len(search.search(db, "公务用车")) == 3


def test_old_index_is_reported_and_rebuilt(tmp_path, monkeypatch):
    path = build_archive(tmp_path / "a.db")
    conn = sqlite3.connect(path)
    conn.execute("update search_meta set value = '0' where key = 'tokenizer_version'")
    conn.commit()
    conn.close()
    with pytest.raises(search.SearchIndexError):
        search.search(path, "公务用车")
    monkeypatch.setattr(load, "EXTENSIONS", [search])
    load.open_db(path).conn.close()          # ensure_schema rebuilds the index
    assert len(search.search(path, "公务用车")) == 3


def test_plain_sqlite_client_can_query(archive):
    conn = sqlite3.connect(f"file:{archive}?mode=ro", uri=True)  # no functions registered
    rows = conn.execute(
        "select a.id, a.title from articles_fts join articles a on a.id = articles_fts.rowid"
        " where articles_fts match ? order by rank", ['"公务 务用 用车"']).fetchall()
    assert sorted(r[0] for r in rows) == sorted([aid(0, 1), aid(0, 3), aid(1, 3)])
    rows = conn.execute("select rowid from articles_fts where articles_fts match '\"节能\"' order by rank").fetchall()
    assert rows[0][0] == aid(0, 2)
    # filters are index terms too
    rows = conn.execute("select rowid from articles_fts where articles_fts match"
                        " '{title body}: \"节能\" AND {year}: y2023 AND {publisher}: \"p北京\"'").fetchall()
    assert rows == [(aid(1, 2),)]
    conn.close()


@pytest.mark.skipif(not shutil.which("sqlite3"), reason="sqlite3 command-line shell not installed")
def test_sqlite3_shell_can_query(archive):
    out = subprocess.run(["sqlite3", "-readonly", str(archive),
                          "select count(*) from articles_fts where articles_fts match '\"公务 务用 用车\"'"],
                         capture_output=True, text=True, check=True).stdout
    assert out.strip() == "3"


def test_sql_functions(archive):
    conn = sqlite3.connect(archive)
    search.register_functions(conn)
    rows = conn.execute("select rowid from articles_fts where articles_fts match bulletin_match(?)",
                        ["公務用車"]).fetchall()
    assert len(rows) == 3
    assert conn.execute("select count(*) from articles_fts where articles_fts match bulletin_match('，')").fetchone()[0] == 0
    assert conn.execute("select count(*) from articles_fts where articles_fts match bulletin_match('节能', 'title')").fetchone()[0] == 1
    (snip,) = conn.execute("select bulletin_snippet(body, '郭春英') from articles where id = ?", [aid(0, 2)]).fetchone()
    assert "【郭春英】" in snip
    conn.close()


def test_count_and_format(archive):
    assert search.count(archive, "节能", by="year") == [(2022, 1), (2023, 2)]
    assert search.count(archive, "节能", by="month") == [("2022-03", 1), ("2023-06", 1), ("2023-09", 1)]
    text = search.format_results(search.search(archive, "郭春英"))
    assert "机关节能工作会议召开" in text and "【郭春英】" in text and "2022-03-15" in text
    assert search.format_results([]) == "no matches"


def test_one_hit_per_issue_across_renditions(tmp_path):
    """The same issue loaded twice (say a scan and the born-digital PDF) is two
    renditions of one edition: search lists each article once, from the best."""
    from pipeline.archive import editions
    path = tmp_path / "r.db"
    saved = list(load.EXTENSIONS)
    load.EXTENSIONS[:] = [search, editions]
    try:
        db = load.open_db(path)
        for spec in ISSUES:
            load.load_issue(db, make_issue(*spec))
        load.load_issue(db, make_issue("99ff88ee77dd66cc", *ISSUES[0][1:]))   # a second rendition
        db.conn.commit()
        db.conn.close()
    finally:
        load.EXTENSIONS[:] = saved
    conn = sqlite3.connect(path)
    best = conn.execute("select edition_id from renditions where issue_id = ?", ["99ff88ee77dd66cc"]).fetchone()[0]
    assert best in (ISSUES[0][0], "99ff88ee77dd66cc")
    both = search.search(conn, "公务用车", one_per_issue=False)
    assert len(both) == 5 and {r["issue_id"] for r in both} >= {ISSUES[0][0], "99ff88ee77dd66cc", ISSUES[1][0]}
    res = search.search(conn, "公务用车")
    assert len(res) == 3                                    # two articles of issue 0, one of issue 1
    assert sorted(r["title"] for r in res) == sorted(["全省推进公务用车制度改革", "某市平台建设经验", "香港來函"])
    assert all(r["issue_id"] in (best, ISSUES[1][0]) for r in res)
    assert all(r.get("renditions") == 2 for r in res if r["issue_id"] == best)
    assert len(search.search(conn, "公务用车", limit=2)) == 2
    assert ids(search.search(conn, "公务用车", limit=2, offset=1)) == ids(res)[1:3]
    conn.close()


def test_bounded_window_ranking_keeps_exact_matches(archive, monkeypatch):
    """Broad queries are ranked over a bounded window of candidates (newest
    rowids first, title matches in their own window), verified against the
    text: every hit is an exact match, the title hit comes first, and paging
    through covers exactly the matching articles."""
    from pipeline.archive import ranking
    monkeypatch.setattr(search, "SMALL", 0)
    monkeypatch.setattr(search, "WINDOW", 1)
    monkeypatch.setattr(search, "RANK_BUDGET", 1)
    calls = []
    real = ranking.window
    monkeypatch.setattr(ranking, "window", lambda *a, **k: calls.append(a[2]) or real(*a, **k))
    expected = {aid(0, 2), aid(1, 2), aid(2, 1)}
    first = search.search(archive, "节能", limit=1)
    assert calls and max(calls) == 1                       # the window, not every match, was read
    assert ids(first) == [aid(0, 2)]                       # 节能 in the title
    seen = set()
    for off in range(4):
        got = ids(search.search(archive, "节能", limit=1, offset=off))
        assert set(got) <= expected
        seen |= set(got)
    assert seen == expected
    for query, exp in [("公务用车", {aid(0, 1), aid(0, 3), aid(1, 3)}), ("公務用車", {aid(0, 1), aid(0, 3), aid(1, 3)})]:
        got = ids(search.search(archive, query, limit=2))
        assert len(got) == 2 and set(got) <= exp, query
    assert search.search(archive, "公务车", limit=1) == []


def test_document_frequency_estimate(archive):
    from pipeline.archive import ranking
    conn = sqlite3.connect(archive)
    n = ranking.doc_count(conn)
    assert n == 8
    assert ranking.df_estimate(conn, '"节能"', n) == 3            # few matches: counted exactly
    old = ranking.DF_SAMPLE
    try:
        ranking.DF_SAMPLE = 2                                      # estimated from the rowid spread
        ranking._CACHE.clear()
        est = ranking.df_estimate(conn, '"节能"', n)
        assert 2 <= est <= n
    finally:
        ranking.DF_SAMPLE = old
        ranking._CACHE.clear()
    conn.close()
