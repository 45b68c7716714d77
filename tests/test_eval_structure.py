"""eval: sections, units, event dates and page spans, each its own score."""
import sqlite3

from pipeline.batch.runner import RunOptions, run
from pipeline.evaluate import evaluate, format_table


def test_structure_scores(samples, tmp_path):
    out, truths = samples
    db = tmp_path / "archive.db"
    assert run([str(out / "raw")], RunOptions(db_path=str(db), work_dir=str(tmp_path / "work"))).count("failed") == 0
    conn = sqlite3.connect(db)
    res = evaluate(conn, out / "truth", queries=False)
    o = res["overall"]
    assert o["section_accuracy"] == 1.0 and o["sections_list_accuracy"] == 1.0
    assert o["event_date_f1"] == 1.0 and o["page_span_accuracy"] == 1.0
    assert 0.5 < o["unit_f1"] <= 1.0
    table = format_table(res)
    assert "sect unitF1 dateF1  pages" in table.splitlines()[0]

    # spoil one article of each kind and the scores move, each in its own column
    n_articles = sum(len(t["articles"]) for t in truths.values())
    a1, a2 = [r[0] for r in conn.execute("SELECT id FROM articles ORDER BY id LIMIT 2")]
    a3 = conn.execute("SELECT id FROM articles WHERE event_dates NOT IN ('[]', '') ORDER BY id").fetchone()[0]
    conn.execute("UPDATE articles SET section = 'wrong' WHERE id = ?", [a1])
    conn.execute("UPDATE articles SET page_end = page_end + 1 WHERE id = ?", [a2])
    conn.execute("UPDATE articles SET event_dates = '[]' WHERE id = ?", [a3])
    conn.execute("DELETE FROM article_units")
    spoiled = evaluate(conn, out / "truth", queries=False)["overall"]
    assert spoiled["section_accuracy"] == (n_articles - 1) / n_articles
    assert spoiled["page_span_accuracy"] == (n_articles - 1) / n_articles
    assert spoiled["unit_f1"] == 0.0
    assert spoiled["event_date_f1"] < 1.0
    assert spoiled["meta_accuracy"] == o["meta_accuracy"] and spoiled["f1"] == o["f1"]

    # truth that does not annotate event dates (as the real corpus) scores none
    import json
    bare = tmp_path / "bare"
    bare.mkdir()
    for path in (out / "truth").glob("*.json"):
        t = json.loads(path.read_text(encoding="utf-8"))
        for a in t["articles"]:
            a.pop("event_dates", None)
        (bare / path.name).write_text(json.dumps(t, ensure_ascii=False), encoding="utf-8")
    assert evaluate(conn, bare, queries=False)["overall"]["event_date_f1"] is None
