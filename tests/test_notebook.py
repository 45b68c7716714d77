"""notebooks/explore_archive.ipynb runs top to bottom (nbclient) against a test archive."""
from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from test_search import build_archive  # noqa: E402

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "explore_archive.ipynb"


def test_notebook_runs(tmp_path, monkeypatch):
    import csv
    import hashlib
    db = build_archive(tmp_path / "archive.db")
    before = hashlib.sha256(Path(db).read_bytes()).hexdigest()
    monkeypatch.setenv("BULLETIN_DB", str(db))
    monkeypatch.setenv("BULLETIN_EXPORT_DIR", str(tmp_path / "export"))
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=120, kernel_name="python3",
                                     resources={"metadata": {"path": str(NOTEBOOK.parent)}})
    client.execute()

    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.output_type == "error"]
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "3 issues, 8 articles" in text
    assert "全省推进公务用车制度改革" in text and "【公务用车】" in text   # search hits with snippets
    assert "'公務用車': 3 hit(s)" in text and "'郭春英': 1 hit(s)" in text
    assert "四川省机关事务管理局" in text                                 # most-mentioned units
    assert "节能 3 articles" in text                                       # keyword trend
    images = [o for o in outputs if o.output_type == "display_data" and "image/png" in o.get("data", {})]
    assert len(images) >= 4                                                # year/section, units, trend, timeline
    # pandas: DataFrames, series timeline with gaps, keyword in context, unit pairs, CSV, a demo query
    assert "DataFrames: issues (3, 10), articles (8, 14)" in text
    assert any("text/html" in o.get("data", {}) and "dataframe" in o["data"]["text/html"] for o in outputs)
    assert "series: 《机关事务工作简报》 四川省机关事务管理局: 2 issues, 2022-03-15 .. 2023-09-01; " \
           "gaps: 2022 第1-2期, 2023 第1-11期" in text
    assert "KWIC 节能: 4 occurrence(s)" in text and "要求抓好【节能】降耗。" in text
    assert "《机关事务工作简报》2022年第3期，2022年3月15日，第1页" in text          # citations in KWIC rows
    assert "co-occurrence: 0 unit pair(s)" in text           # one unit an article in this small archive
    rows = list(csv.DictReader(open(tmp_path / "export" / "articles.csv", encoding="utf-8-sig")))
    assert len(rows) == 8 and rows[0]["citation"].startswith("《机关事务工作简报》2022年第3期")
    assert (tmp_path / "export" / "kwic.csv").exists() and (tmp_path / "export" / "unit_pairs.csv").exists()
    assert "demo 公务用车: 3 article(s) from 2 publisher(s)" in text
    assert not any("Glyph" in o.get("text", "") and "missing" in o.get("text", "") for o in outputs)
    # it read the archive named by BULLETIN_DB and changed nothing in it
    assert hashlib.sha256(Path(db).read_bytes()).hexdigest() == before


def test_notebook_runs_on_the_archive_built_from_data_raw(tmp_path, monkeypatch):
    """The README's main job, then the notebook on what it left."""
    from pipeline.batch.runner import RunOptions, run
    raw = Path(__file__).resolve().parent.parent / "data" / "raw"
    db = tmp_path / "archive.db"
    summary = run([str(raw)], RunOptions(db_path=str(db), work_dir=str(tmp_path / "work"), workers=2))
    assert summary.count("failed") == 0 and summary.count("loaded") >= 5
    monkeypatch.setenv("BULLETIN_DB", str(db))
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbclient.NotebookClient(nb, timeout=180, kernel_name="python3",
                            resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.output_type == "error"]
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert f"{summary.count('loaded')} issues" in text
    pairs = int(re.search(r"co-occurrence: (\d+) unit pair", text).group(1))
    assert pairs > 0                                          # units named together (entity tables)
    assert re.search(r"KWIC \S+: [1-9]\d* occurrence", text) and "demo 公务用车: " in text
