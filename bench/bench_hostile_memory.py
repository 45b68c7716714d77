"""Peak memory of one hostile input through ``bulletin run`` (a real process).

Builds the memory bombs of issue 13 (tests/hostile_builders.py), runs each in
a fresh ``python -m pipeline.cli run`` process and prints its peak RSS (the
child's ru_maxrss), wall time and outcome:

    python bench/bench_hostile_memory.py [--engine tesseract] [--workers 1]

The limit: one file stays under 1.5 GB at any setting.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

import hostile_builders as hb  # noqa: E402

LIMIT_MB = 1500


def peak_run(path: Path, tmp: Path, engine: str, workers: int) -> dict:
    """Run one input in a child process; its peak RSS (MB), seconds and outcome."""
    db = tmp / f"{path.stem}.db"
    code = ("import resource, sys, json; from pipeline.cli import main; rc = main(sys.argv[1:]); "
            "ru = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss; "
            "ch = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss; "
            "print(json.dumps({'rc': rc, 'self_kb': ru, 'children_kb': ch}), file=sys.stderr)")
    t0 = time.time()
    p = subprocess.run([sys.executable, "-c", code, "run", str(path), "--jsonl", "--db", str(db),
                        "--work-dir", str(tmp / "work"), "--engine", engine, "--dpi", "300",
                        "--workers", str(workers), "--no-page-images"],
                       capture_output=True, text=True, cwd=str(ROOT),
                       env=dict(os.environ, PYTHONPATH=str(ROOT)))
    seconds = time.time() - t0
    stats = json.loads(p.stderr.strip().splitlines()[-1])
    files = [json.loads(l) for l in p.stdout.splitlines() if '"event": "file"' in l]
    f = files[0] if files else {}
    peak_kb = max(stats["self_kb"], stats["children_kb"])
    return {"input": path.name, "size_mb": round(path.stat().st_size / 1e6, 2),
            "status": f.get("status"), "error": f.get("error"), "peak_mb": round(peak_kb / 1024),
            "seconds": round(seconds, 1)}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--engine", default="tesseract")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--stream-mb", type=int, default=2400, help="decoded size of the content stream bomb")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-hostile-") as d:
        tmp = Path(d)
        inputs = []
        t0 = time.time()
        hb.png_bomb(tmp / "grey-14100.png", 14100, colour=False)
        hb.png_bomb(tmp / "rgb-14100.png", 14100, colour=True)
        hb.png_bomb(tmp / "rgb-8000.png", 8000, colour=True)
        hb.content_stream_bomb_pdf(tmp / "stream-bomb.pdf", args.stream_mb)
        print(f"built the bombs in {time.time() - t0:.1f}s")
        inputs = sorted(tmp.glob("*.p*"))
        worst = 0
        print(f"{'input':22} {'file MB':>8} {'peak MB':>8} {'s':>6}  outcome")
        for path in inputs:
            r = peak_run(path, tmp, args.engine, args.workers)
            worst = max(worst, r["peak_mb"])
            print(f"{r['input']:22} {r['size_mb']:8} {r['peak_mb']:8} {r['seconds']:6}  "
                  f"{r['status']}{': ' + r['error'] if r['error'] else ''}")
        print(f"worst peak {worst} MB (limit {LIMIT_MB} MB): {'OK' if worst < LIMIT_MB else 'OVER'}")
        return 0 if worst < LIMIT_MB else 1


if __name__ == "__main__":
    sys.exit(main())
