"""The ``bulletin`` command: a thin layer over the Python API."""
from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import sys
import threading
from pathlib import Path

DEFAULT_DB = "data/processed/archive.db"


def _progress_printer(mode: str):
    """Progress on stderr (human), JSON lines on stdout (--jsonl), or nothing (--quiet).
    Human progress on a terminal is a bar by pages (pages/s, ETA from pages)."""
    if mode == "human" and sys.stderr.isatty():
        return _PageBar()

    def human(event, d):
        if event == "start":
            print(f"{d['total']} inputs, {d.get('pages_total', 0)} pages", file=sys.stderr, flush=True)
        if event == "file":
            name = Path(d["source_path"]).name
            eta = f"ETA {d['eta']:.0f}s" if d.get("eta") is not None else ""
            if d.get("rate_pages_s"):
                eta = f"{d['rate_pages_s']:.1f} pages/s, {eta}"
            if d["status"] == "failed":
                print(f"ERROR {d['source_path']}: {d['error']} [{d['stage']}]", file=sys.stderr)
            print(f"[{d['done']:>4}/{d['total']}] {d['status']:9} {name}: {_detail(d)}"
                  f"  | {d['pages_done']} pages done, {d['failures']} failed {eta}", file=sys.stderr)

    lock = threading.Lock()

    def jsonl(event, d):
        with lock:                      # page events may come from a pool thread
            print(json.dumps({"event": event, **d}, ensure_ascii=False), flush=True)

    return {"human": human, "jsonl": jsonl, "quiet": lambda e, d: None}[mode]


def _detail(d) -> str:
    flags = f" [flagged: {', '.join(d['flags'])}]" if d.get("flags") else ""
    return {"loaded": f"{d['pages']} pages, {d['articles']} articles, {d['seconds']:.1f}s",
            "unchanged": "unchanged, skipped", "failed": "failed",
            "duplicate": d.get("note") or "duplicate"}[d["status"]] + flags


class _PageBar:
    """A tqdm bar over the batch's pages, redrawn at least every second (a
    ticker thread) so a slow page never leaves the terminal silent."""

    def __init__(self):
        self.bar = None
        self.lock = threading.Lock()
        self.stop = threading.Event()

    def __call__(self, event, d):
        from tqdm import tqdm
        with self.lock:
            if event == "start":
                size = shutil.get_terminal_size((100, 20))      # not 0x0, as on a bare pty
                self.bar = tqdm(total=d.get("pages_total") or None, unit="page", file=sys.stderr,
                                desc=f"{d['total']} inputs", ncols=size.columns, nrows=size.lines,
                                mininterval=0.5)
                threading.Thread(target=self._tick, daemon=True).start()
            elif self.bar is None:
                return
            elif event in ("page", "file"):
                self.bar.n = max(self.bar.n, int(d.get("pages_read", self.bar.n)))
                if event == "file":
                    self.bar.set_postfix_str(f"{d['done']}/{d['total']} inputs, {d['failures']} failed",
                                             refresh=False)
                    if d["status"] == "failed":
                        self.bar.write(f"ERROR {d['source_path']}: {d['error']} [{d['stage']}]")
                self.bar.refresh()
            elif event == "end":
                self.stop.set()
                self.bar.close()

    def _tick(self):
        while not self.stop.wait(1.0):
            with self.lock:
                if self.bar is not None and not self.stop.is_set():
                    self.bar.refresh()


def cmd_run(args) -> int:
    from pipeline.batch.runner import RunOptions, run
    opts = RunOptions(db_path=args.db, work_dir=args.work_dir, engine=args.engine, dpi=args.dpi,
                      workers=args.workers, executor=args.executor, scheduler=args.scheduler,
                      force=args.force, page_images=not args.no_page_images)
    mode = "jsonl" if args.jsonl else "quiet" if args.quiet else "human"
    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGINT, _interrupt) if main_thread else None
    try:
        summary = run(args.paths or ["data/raw"], opts, progress=_progress_printer(mode))
    finally:
        if main_thread:
            signal.signal(signal.SIGINT, previous)
    s = summary.to_dict()
    if mode != "jsonl":
        print(f"{s['loaded']} loaded, {s['unchanged']} unchanged, {s['duplicate']} duplicate, "
              f"{s['failed']} failed; {s['pages']} pages in {s['seconds']:.1f}s -> {args.db}")
        for r in summary.results:
            if r.flags:
                print(f"FLAGGED {r.source_path}: {', '.join(r.flags)}")
        for r in summary.failed:
            print(f"FAILED  {r.source_path}: {r.error}")
    return 1 if summary.failed else 0


EXIT_GRACE = 2.5     # seconds a Ctrl-C'd run gets to close its archive and kill its workers


def _interrupt(signum, frame):
    """Ctrl-C: unwind (the run kills its workers, pages already read stay
    checkpointed, the issue being loaded rolls back) and, whatever blocks the
    unwinding, leave within EXIT_GRACE: the archive is safe at any instant
    (WAL, one transaction per issue), as after kill -9."""
    def leave():
        print("interrupted; re-run the same command to continue", file=sys.stderr, flush=True)
        os._exit(130)
    timer = threading.Timer(EXIT_GRACE, leave)
    timer.daemon = True
    timer.start()
    raise KeyboardInterrupt


def cmd_eval(args) -> int:
    import sqlite3
    from pipeline.evaluate import evaluate, format_table
    if not Path(args.db).exists():
        print(f"error: no archive at {args.db}", file=sys.stderr)
        return 2
    result = evaluate(sqlite3.connect(args.db), args.truth)
    if not result["inputs"]:
        print(f"error: no archived input is named in the truth files of {args.truth}", file=sys.stderr)
        return 2
    print(json.dumps(result, ensure_ascii=False, indent=1) if args.json else format_table(result))
    return 0


def cmd_search(args) -> int:
    from pipeline.archive import search
    results = search.search(args.db, args.query, limit=args.limit, year=args.year,
                            publisher=args.publisher, section=args.section, unit=args.unit)
    if args.json:
        print(json.dumps(results, ensure_ascii=False, indent=1))
    else:
        print(search.format_results(results))
    return 0


def cmd_serve(args) -> int:
    from pipeline.publish import serve
    return serve.serve(args.db, port=args.port, host=args.host) or 0


def cmd_series(args) -> int:
    from pipeline.archive import load
    from pipeline.archive import series
    db = load.open_db(args.db)
    series.build_series(db.conn)
    print(series.format_report(db.conn))
    return 0


def cmd_status(args) -> int:
    from pipeline.batch.status import format_status, status
    st = status(args.db, args.paths or None, work_dir=args.work_dir)
    print(json.dumps(st, ensure_ascii=False, indent=1) if args.json else format_status(st))
    return 0



def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="bulletin",
        description="Turn Chinese government bulletins (简报) — born-digital PDFs and scans — "
                    "into a searchable SQLite archive.")
    sub = p.add_subparsers(dest="command", required=True)

    def db_arg(sp):
        sp.add_argument("--db", default=DEFAULT_DB, help=f"archive path (default {DEFAULT_DB})")

    r = sub.add_parser("run", help="run all stages on files/folders and load the archive",
                       description="ingest → text (text layer or OCR) → layout → segment → extract → load. "
                                   "Unchanged inputs are skipped; a killed run continues where it stopped.")
    r.add_argument("paths", nargs="*", help="PDF, TIFF, JPEG, PNG files or folders (default data/raw); "
                                            "a folder of page images is one issue")
    db_arg(r)
    r.add_argument("--work-dir", default="data/processed", help="stage files and page images (default data/processed)")
    r.add_argument("--engine", default="auto",
                   choices=["auto", "rapidocr", "rapidocr-openvino", "rapidocr-onnxruntime", "tesseract"],
                   help="OCR engine for scanned pages (default auto: the strongest installed; "
                        "rapidocr runs on OpenVINO where installed, else onnxruntime)")
    r.add_argument("--dpi", type=int, default=300, help="rasterisation dpi for image-only PDF pages (default 300)")
    r.add_argument("--workers", type=int, default=1,
                   help="worker processes (default 1); each gets cores // workers inference threads")
    r.add_argument("--executor", default="local", choices=["local", "dask"], help="where page work runs")
    r.add_argument("--scheduler", help="Dask scheduler address for --executor dask (tcp://host:8786)")
    r.add_argument("--force", action="store_true", help="re-process inputs even when unchanged")
    r.add_argument("--no-page-images", action="store_true", help="do not store page images for scans")
    g = r.add_mutually_exclusive_group()
    g.add_argument("--quiet", action="store_true", help="print only the summary")
    g.add_argument("--jsonl", action="store_true", help="machine-readable progress, one JSON object a line")
    r.set_defaults(func=cmd_run)

    e = sub.add_parser("eval", help="score the archive against ground-truth JSON")
    e.add_argument("--truth", required=True, help="folder of truth JSON files")
    db_arg(e)
    e.add_argument("--json", action="store_true", help="print JSON instead of a table")
    e.set_defaults(func=cmd_eval)

    s = sub.add_parser("search", help="Chinese full-text search over articles")
    s.add_argument("query")
    db_arg(s)
    s.add_argument("--limit", type=int, default=20)
    s.add_argument("--json", action="store_true")
    s.add_argument("--year", type=int)
    s.add_argument("--publisher")
    s.add_argument("--section")
    s.add_argument("--unit", help="only articles mentioning this unit")
    s.set_defaults(func=cmd_search)

    v = sub.add_parser("serve", help="browse the archive read-only in datasette")
    db_arg(v)
    v.add_argument("--port", type=int, default=8001)
    v.add_argument("--host", default="127.0.0.1")
    v.set_defaults(func=cmd_serve)

    se = sub.add_parser("series", help="issues per series and year; gaps, duplicates, numbering problems")
    db_arg(se)
    se.set_defaults(func=cmd_series)

    st = sub.add_parser("status", help="what is loaded, what failed and why, what is left")
    st.add_argument("paths", nargs="*", help="inputs to compare against the archive")
    db_arg(st)
    st.add_argument("--work-dir", default="data/processed")
    st.add_argument("--json", action="store_true")
    st.set_defaults(func=cmd_status)

    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print("interrupted; re-run the same command to continue", file=sys.stderr)
        if getattr(args, "func", None) is cmd_run:
            # the run closed its archive and killed its workers; leave now rather
            # than wait in interpreter shutdown for the pool's threads
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(130)
        return 130


if __name__ == "__main__":
    sys.exit(main())
