"""Series report on generated issue rows (written through load.load_issue)."""
import hashlib

import pytest

from pipeline.archive import load
from pipeline import models
from pipeline.archive import series

TITLE, PUB = "测试工作简报", "溪城市测试局"


def _issue(n, year, no, total=None, date=None, special=None, title=TITLE, publisher=PUB, content=None):
    content = content or f"{title}|{publisher}|{year}|{special}|{no}|{total}|{date}|{n}"
    sha = hashlib.sha256(content.encode()).hexdigest()
    doc = models.Document(doc_id=sha[:16], source_path=f"/raw/{n}.pdf", sha256=sha, kind="pdf")
    meta = models.IssueMeta(title=title, publisher=publisher, year=year, issue_no=no, total_no=total,
                            special=special, date=date)
    return models.Issue(doc=doc, meta=meta, pages=[], articles=[])


@pytest.fixture
def db(tmp_path):
    return load.open_db(tmp_path / "archive.db")


def _load(db, issues):
    return [load.load_issue(db, i) for i in issues]


def _rows(db):
    return [(y, k, d) for _, y, k, d in series.report_rows(db.conn)]


def test_clean_series_has_no_report_rows(db):
    _load(db, [_issue(i, 2022, i, 100 + i, f"2022-{i:02d}-10") for i in range(1, 6)] +
          [_issue(10 + i, 2023, i, 105 + i, f"2023-{i:02d}-10") for i in range(1, 3)])
    assert series.build_series(db.conn) == 1
    row = db.conn.execute("SELECT id, title, publisher, first_date, last_date, issue_count FROM series").fetchone()
    assert row == (1, TITLE, PUB, "2022-01-10", "2023-02-10", 7)
    assert _rows(db) == []
    text = series.format_report(db.conn)
    assert "2022: 1(总101) 2(总102) 3(总103) 4(总104) 5(总105)" in text
    assert "ok: no gaps" in text


def test_gaps_are_runs_of_missing_numbers(db):
    nos = [1, 2, 4, 7, 8]
    _load(db, [_issue(n, 2021, n, None, f"2021-{n:02d}-01") for n in nos])
    series.build_series(db.conn)
    assert _rows(db) == [(2021, "gap", "第3期"), (2021, "gap", "第5-6期")]


def test_duplicate_same_number_different_content(db):
    a = _issue(1, 2021, 1, 50, "2021-01-05")
    b = _issue(2, 2021, 2, 51, "2021-02-05")
    c = _issue(3, 2021, 2, 51, "2021-02-06")       # a second, different 第2期
    ids = _load(db, [a, b, c])
    series.build_series(db.conn)
    assert _rows(db) == [
        (2021, "duplicate", f"第2期 ×2: {ids[1]} (2021-02-05), {ids[2]} (2021-02-06)"),
    ]
    # loading the very same input again is not a duplicate (same content, one row)
    _load(db, [a])
    series.build_series(db.conn)
    assert len(_rows(db)) == 1


def test_total_no_must_increase_with_date(db):
    _load(db, [
        _issue(1, 2021, 1, 101, "2021-01-10"),
        _issue(2, 2021, 2, 103, "2021-02-10"),
        _issue(3, 2021, 3, 102, "2021-03-10"),     # goes back
        _issue(4, 2021, 4, 104, "2021-04-10"),
        _issue(5, 2021, 5, 104, "2021-05-10"),     # repeats
    ])
    series.build_series(db.conn)
    assert _rows(db) == [
        (2021, "total_no_order", "2021年第3期 (2021-03-10) 总第102期 not after 2021年第2期 (2021-02-10) 总第103期"),
        (2021, "total_no_order", "2021年第5期 (2021-05-10) 总第104期 not after 2021年第4期 (2021-04-10) 总第104期"),
    ]


def test_year_that_does_not_restart_at_one(db):
    _load(db, [_issue(n, 2021, n, None, f"2021-{n:02d}-15") for n in range(1, 13)] +
          [_issue(100 + n, 2022, n, None, f"2022-{n - 12:02d}-15") for n in (13, 14, 15)])
    series.build_series(db.conn)
    # no gap rows for 2022 第1-12期: the year is reported as a wrong restart instead
    assert _rows(db) == [
        (2022, "restart", "starts at 第13期, continuing 2021年 (last 第12期) (2022-01-15)"),
    ]


def test_late_first_number_without_previous_year_is_a_gap(db):
    _load(db, [_issue(1, 2021, 1, None, "2021-01-15"), _issue(2, 2021, 2, None, "2021-02-15"),
               _issue(3, 2022, 9, None, "2022-09-15")])
    series.build_series(db.conn)
    # 2021 ended at 第2期, 2022 starts at 第9期: not a continuation, issues are missing
    assert _rows(db) == [(2022, "gap", "第1-8期")]


def test_numbers_jumping_back_within_a_year(db):
    _load(db, [
        _issue(1, 2023, 1, None, "2023-01-10"),
        _issue(2, 2023, 2, None, "2023-02-10"),
        _issue(3, 2023, 3, None, "2023-03-10"),
        _issue(4, 2023, 1, None, "2023-04-10"),   # numbering restarted in April
        _issue(5, 2023, 2, None, "2023-05-10"),
    ])
    series.build_series(db.conn)
    rows = _rows(db)
    assert rows[:2] == [
        (2023, "restart", "第1期 (2023-04-10) after 第3期 (2023-03-10)"),
        (2023, "restart", "第2期 (2023-05-10) after 第3期 (2023-03-10)"),
    ]
    # the re-used numbers are also duplicates of different content
    assert [k for _, k, _ in rows[2:]] == ["duplicate", "duplicate"]


def test_special_issues_are_their_own_subseries(db):
    _load(db, [
        _issue(1, 2023, 1, None, "2023-01-10"),
        _issue(2, 2023, 2, None, "2023-02-10"),
        _issue(3, 2023, 1, None, "2023-03-01", special="增刊"),   # not a duplicate of 第1期
        _issue(4, 2023, 3, None, "2023-08-22", special="增刊"),   # 增刊第2期 missing
        _issue(5, 2023, 1, None, "2023-06-01", special="特刊"),
    ])
    series.build_series(db.conn)
    assert _rows(db) == [(2023, "gap", "增刊第2期")]
    text = series.format_report(db.conn)
    assert "2023: 1 2 增刊1 增刊3 特刊1" in text


def test_series_split_by_title_and_publisher(db):
    _load(db, [
        _issue(1, 2022, 1, None, "2022-01-01"),
        _issue(2, 2022, 3, None, "2022-03-01"),
        _issue(3, 2022, 1, None, "2022-01-02", title="另一简报"),
        _issue(4, 2022, 2, None, "2022-02-02", title="另一简报"),
        _issue(5, 2022, 5, None, "2022-02-02", publisher="云溪县测试局"),
    ])
    assert series.build_series(db.conn) == 3
    got = db.conn.execute("SELECT s.title, s.publisher, r.year, r.kind, r.detail FROM series_report r"
                          " JOIN series s ON s.id = r.series_id ORDER BY s.id, r.rowid").fetchall()
    assert got == [
        (TITLE, "云溪县测试局", 2022, "gap", "第1-4期"),
        (TITLE, PUB, 2022, "gap", "第2期"),
    ]
    counts = dict(db.conn.execute("SELECT title || '/' || publisher, issue_count FROM series").fetchall())
    assert counts == {f"{TITLE}/{PUB}": 2, "另一简报/" + PUB: 2, f"{TITLE}/云溪县测试局": 1}


def test_rebuild_replaces_report(db):
    _load(db, [_issue(1, 2022, 1, None, "2022-01-01"), _issue(2, 2022, 3, None, "2022-03-01")])
    series.build_series(db.conn)
    assert _rows(db) == [(2022, "gap", "第2期")]
    _load(db, [_issue(3, 2022, 2, None, "2022-02-01")])
    series.build_series(db)        # a sqlite_utils Database works too
    assert _rows(db) == []
    assert db.conn.execute("SELECT issue_count FROM series").fetchone() == (3,)


def test_issues_without_numbers_or_dates(db):
    _load(db, [_issue(1, None, None, None, None), _issue(2, 2022, 2, None, None)])
    series.build_series(db.conn)
    assert _rows(db) == [(2022, "gap", "第1期")]
    text = series.format_report(db.conn)
    assert "????: ?" in text
