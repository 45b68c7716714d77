"""The ``bulletin`` command: a thin layer over the Python API.

Errors are one line on stderr (never a traceback) with an exit status per
kind (``EXIT_*`` below, listed in the README).
"""
from __future__ import annotations

import argparse
import json
import sqlite3
import os
import shutil
import signal
import sys
import threading
from pathlib import Path

DEFAULT_DB = "data/processed/archive.db"

# exit statuses (listed in the README)
EXIT_OK = 0
EXIT_FAILED = 1          # some inputs failed (run), or an unexpected error
EXIT_BAD_INPUT = 2       # bad arguments, unknown id, field or value
EXIT_NO_ARCHIVE = 3      # archive missing or unreadable (not an archive, not SQLite)
EXIT_MISSING_DEP = 4     # a Python package or program the command needs is not installed
EXIT_INTERRUPTED = 130   # Ctrl-C / SIGTERM


class ArchiveError(Exception):
    """The archive is missing or unreadable."""


def _archive(path) -> Path:
    """The archive path of a read command: refuse a missing one rather than create it."""
    p = Path(path)
    if not p.is_file():
        raise ArchiveError("no archive here (run `bulletin run` first, or pass --db)")
    try:
        conn = sqlite3.connect(f"file:{p.resolve().as_posix()}?mode=ro", uri=True)
        try:
            ok = conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'issues'").fetchone()
        finally:
            conn.close()
    except sqlite3.DatabaseError as e:
        raise ArchiveError(f"not an archive, or a damaged one ({e})") from None
    if not ok:
        raise ArchiveError("not a bulletin archive (no issues table)")
    return p


def _ro(path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{_archive(path).resolve().as_posix()}?mode=ro", uri=True)


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
    from pipeline.batch.executors import default_workers
    opts = RunOptions(db_path=args.db, work_dir=args.work_dir, engine=args.engine, dpi=args.dpi,
                      workers=args.workers if args.workers > 0 else default_workers(),
                      executor=args.executor, scheduler=args.scheduler,
                      force=args.force, page_images=not args.no_page_images)
    mode = "jsonl" if args.jsonl else "quiet" if args.quiet else "human"
    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGINT, _interrupt) if main_thread else None
    try:
        summary = run(args.paths or ["data/raw"], opts, progress=_progress_printer(mode))
    finally:
        if main_thread:
            signal.signal(signal.SIGINT, previous)
    _refresh_series(args.db)
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


def _refresh_series(db_path) -> None:
    """Keep the series/series_report tables (shown in datasette) in step after a run."""
    if not Path(db_path).is_file():
        return
    from pipeline.archive import load, series
    db = load.open_db(db_path)
    try:
        series.build_series(db.conn)
    finally:
        db.conn.close()


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
    from pipeline.evaluate import evaluate, format_table
    if not Path(args.truth).is_dir():
        raise ValueError(f"no truth folder at {args.truth}")
    result = evaluate(_ro(args.db), args.truth)
    if not result["inputs"]:
        print(f"error: no archived input is named in the truth files of {args.truth}", file=sys.stderr)
        return 2
    print(json.dumps(result, ensure_ascii=False, indent=1) if args.json else format_table(result))
    return 0


def cmd_search(args) -> int:
    from pipeline.archive import search
    from pipeline.publish.export import search_with_citations
    conn = _ro(args.db)
    search.register_functions(conn)
    results = search_with_citations(conn, " ".join(args.query), limit=args.limit, year=args.year,
                                    publisher=args.publisher, section=args.section, unit=args.unit)
    if args.json:
        print(json.dumps(results, ensure_ascii=False, indent=1))
    else:
        print(search.format_results(results))
    return 0


def cmd_serve(args) -> int:
    from pipeline.publish import serve
    return serve.serve(_archive(args.db), port=args.port, host=args.host) or 0


def cmd_series(args) -> int:
    from pipeline.archive import series
    report = series.compute(_ro(args.db))       # read-only: nothing is written
    print(json.dumps(report, ensure_ascii=False, indent=1) if args.json else series.format_report(None, report))
    return 0


def cmd_export(args) -> int:
    from pipeline.publish import export
    if args.format in ("pdf", "alto"):
        return _export_pages(args)
    conn = _ro(args.db)
    if args.what == "search":
        from pipeline.archive import search
        search.register_functions(conn)
        text = export.export_search(conn, " ".join(args.target), args.format, limit=args.limit,
                                    year=args.year, publisher=args.publisher, section=args.section)
    else:
        if len(args.target) != 1:
            raise ValueError(f"export {args.what} takes one id, got {len(args.target)}")
        fn = export.export_issue if args.what == "issue" else export.export_article
        text = fn(conn, args.target[0], args.format)
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


def _export_pages(args) -> int:
    from pipeline.publish import pdfexport
    if args.what != "issue" or len(args.target) != 1:
        raise ValueError(f"--format {args.format} exports the pages of one issue: bulletin export issue ID")
    db = _archive(args.db)
    if args.format == "pdf":
        data = pdfexport.searchable_pdf(db, args.target[0])
        if args.output:
            Path(args.output).write_bytes(data)
        elif sys.stdout.isatty():
            raise ValueError("a PDF goes to a file: add -o FILE.pdf")
        else:
            sys.stdout.buffer.write(data)
        return 0
    pages = pdfexport.alto_pages(db, args.target[0])
    if not args.output:
        raise ValueError("ALTO is one file per page: add -o DIR")
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    for n, xml in pages.items():
        (out / f"{args.target[0]}-p{n:04d}.alto.xml").write_text(xml, encoding="utf-8")
    print(f"{len(pages)} ALTO files in {out}", file=sys.stderr)
    return 0


def cmd_correct(args) -> int:
    from pipeline.archive import corrections, load
    _archive(args.db)
    db = load.open_db(args.db)
    try:
        row = corrections.correct(db, args.what, args.id, args.field, args.value, by=args.by)
    finally:
        db.conn.close()
    print(f"corrected {row['target']} {row['target_id']} {row['field']}: "
          f"{row['old_value']!r} -> {row['new_value']!r} (by {row['by']} at {row['at']})")
    return 0


def cmd_review(args) -> int:
    from pipeline.archive import corrections
    items = corrections.review(_ro(args.db), limit=args.limit)
    print(json.dumps(items, ensure_ascii=False, indent=1) if args.json else corrections.format_review(items))
    return 0


def cmd_status(args) -> int:
    from pipeline.batch.status import format_status, status
    st = status(args.db, args.paths or None, work_dir=args.work_dir)
    print(json.dumps(st, ensure_ascii=False, indent=1) if args.json else format_status(st))
    return 0



def build_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="bulletin",
        description="Turn Chinese government bulletins (简报) — born-digital PDFs and scans — "
                    "into a searchable SQLite archive.")
    p.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    def filter_args(sp, prefix=""):
        """The filters a search takes (bulletin search, bulletin export search)."""
        sp.add_argument("--year", type=int, help=prefix + "only issues of this year")
        sp.add_argument("--publisher", help=prefix + "only this publisher (whole name or a part)")
        sp.add_argument("--section", help=prefix + "only this section (栏目)")

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
    r.add_argument("--workers", type=int, default=0,
                   help="worker processes (default 0: one per core, as memory allows, "
                        "about 1.2 GB each); each gets cores // workers threads")
    r.add_argument("--executor", default="local", choices=["local", "dask"], help="where page work runs")
    r.add_argument("--scheduler", help="Dask scheduler address for --executor dask (tcp://host:8786)")
    r.add_argument("--force", action="store_true", help="re-process inputs even when unchanged")
    r.add_argument("--no-page-images", action="store_true", help="do not store page images (scans or rendered born-digital pages); "
                        "faster, and the reading view then shows text and boxes only")
    g = r.add_mutually_exclusive_group()
    g.add_argument("--quiet", action="store_true", help="print only the summary")
    g.add_argument("--jsonl", action="store_true", help="machine-readable progress, one JSON object a line")
    r.set_defaults(func=cmd_run)

    e = sub.add_parser("eval", help="score the archive against ground-truth JSON",
                       description="Metadata, articles, titles, CER, sections, units, event dates, page spans "
                                   "and search, against truth files in the corpus format.")
    e.add_argument("--truth", required=True, help="folder of truth JSON files")
    db_arg(e)
    e.add_argument("--json", action="store_true", help="print JSON instead of a table")
    e.set_defaults(func=cmd_eval)

    s = sub.add_parser("search", help="Chinese full-text search over articles",
                       description="Ranked search, one hit per issue (best rendition), each with its citation. "
                                   "Spaces mean AND, -word excludes (also as the first term), a OR b, "
                                   '"..." quotes a phrase.')
    s.add_argument("query", nargs="+", help="search terms")
    db_arg(s)
    s.add_argument("--limit", type=int, default=20, help="most hits to show (default 20)")
    s.add_argument("--json", action="store_true", help="print JSON (with citations) instead of text")
    filter_args(s)
    s.add_argument("--unit", help="only articles mentioning this unit")
    s.set_defaults(func=cmd_search)

    v = sub.add_parser("serve", help="browse the archive read-only in datasette (with a reading view)",
                       description="datasette on the archive, read-only; batches may load while it runs. "
                                   "Stops on Ctrl-C or SIGTERM.")
    db_arg(v)
    v.add_argument("--port", type=int, default=8001, help="port (default 8001)")
    v.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    v.set_defaults(func=cmd_serve)

    se = sub.add_parser("series", help="issues per series and year; gaps, duplicates, numbering problems",
                        description="A read-only report: mastheads that differ by OCR slips join one series, "
                                    "renditions of one issue count once.")
    db_arg(se)
    se.add_argument("--json", action="store_true", help="print JSON instead of text")
    se.set_defaults(func=cmd_series)

    x = sub.add_parser("export", help="export an issue, an article or search results, with citations",
                       description="txt, md, json, csv for issues, articles and search results; "
                                   "for an issue also pdf (page images with an invisible text layer) "
                                   "and alto (ALTO XML per page, into -o DIR).")
    x.add_argument("what", choices=["issue", "article", "search"], help="what to export")
    x.add_argument("target", nargs="+", help="issue id, article id, or search terms")
    x.add_argument("--format", default="md", choices=["txt", "md", "json", "csv", "pdf", "alto"],
                   help="output format (default md)")
    x.add_argument("-o", "--output", help="write to this file (a folder for alto) instead of stdout")
    db_arg(x)
    x.add_argument("--limit", type=int, default=100, help="search: most hits (default 100)")
    filter_args(x, "search: ")
    x.set_defaults(func=cmd_export)

    c = sub.add_parser("correct", help="correct a field of an issue or article (kept across re-runs)",
                       description="Records who, when, the old and the new value in the corrections table; "
                                   "re-applied whenever the issue is loaded again.")
    c.add_argument("what", choices=["issue", "article"], help="what to correct")
    c.add_argument("id", help="issue id or article id")
    c.add_argument("field", help="column to correct, e.g. title, date, issue_no, section, body")
    c.add_argument("value", help="the correct value ('' clears it; lists as JSON or comma-separated)")
    db_arg(c)
    c.add_argument("--by", help="who made the correction (default: $USER)")
    c.set_defaults(func=cmd_correct)

    rv = sub.add_parser("review", help="what needs checking, worst first",
                        description="Flagged issues, then pages and articles read with low confidence.")
    db_arg(rv)
    rv.add_argument("--limit", type=int, help="most items to list")
    rv.add_argument("--json", action="store_true", help="print JSON instead of text")
    rv.set_defaults(func=cmd_review)

    st = sub.add_parser("status", help="what is loaded, what failed and why, what is left")
    st.add_argument("paths", nargs="*", help="inputs to compare against the archive")
    db_arg(st)
    st.add_argument("--work-dir", default="data/processed", help="stage files (default data/processed)")
    st.add_argument("--json", action="store_true", help="print JSON instead of text")
    st.set_defaults(func=cmd_status)

    return p


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        # one line, no usage block
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _version() -> str:
    try:
        from importlib.metadata import version
        return version("bulletin-archive")
    except Exception:
        return "unknown"


def _parse(parser: argparse.ArgumentParser, argv: list[str]) -> argparse.Namespace:
    """Like parse_args, but search terms may start with "-" (``-word`` excludes),
    even as the first term."""
    args, extra = parser.parse_known_args(argv)
    if extra:
        words = set(extra)
        if getattr(args, "func", None) in (cmd_search, cmd_export) and all(w.startswith("-") and not w.startswith("--") for w in words):
            key = "query" if args.func is cmd_search else "target"
            terms = set(getattr(args, key) or [])
            # original order of the terms on the command line
            ordered = [w for w in argv[argv.index(args.command) + 1:] if w in words or w in terms]
            if args.func is cmd_export:
                ordered = ordered[ordered.index(args.what) + 1:] if args.what in ordered else ordered
            setattr(args, key, ordered)
        else:
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
    return args


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    if argv and argv[0] in ("search", "export"):
        args = _parse(parser, argv)
    else:
        args = parser.parse_args(argv)
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
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return EXIT_OK
    except Exception as exc:  # never a traceback: one line, and an exit code per kind
        from pipeline.read.limits import one_line
        code, where, reason = _classify(args, exc)
        print(f"ERROR {where}: {one_line(reason)}", file=sys.stderr)
        return code


def _classify(args, exc: BaseException) -> tuple[int, str, str]:
    """(exit code, what the error is about, one-line reason) for a failed command."""
    from pipeline.archive.searchtext import QueryError
    from pipeline.errors import describe
    from pipeline.read.limits import printable
    db = printable(getattr(args, "db", "") or "")
    if isinstance(exc, QueryError):
        return EXIT_BAD_INPUT, "query", str(exc)
    if isinstance(exc, ArchiveError):
        return EXIT_NO_ARCHIVE, db, str(exc)
    known = describe(exc)               # damaged, read-only, busy or missing archive
    if isinstance(exc, sqlite3.DatabaseError) or (known is not None and not isinstance(exc, OSError)):
        return EXIT_NO_ARCHIVE, db, known or str(exc)
    if isinstance(exc, ImportError):
        return (EXIT_MISSING_DEP, "dependency",
                f"missing: {getattr(exc, 'name', None) or exc} (pip install 'bulletin-archive[notebook]' "
                "or the package named)")
    if isinstance(exc, (ValueError, LookupError)):
        return EXIT_BAD_INPUT, "input", str(exc).strip("'\"")
    if isinstance(exc, OSError):
        where = printable(exc.filename) if exc.filename else db
        return EXIT_NO_ARCHIVE if where == db else EXIT_FAILED, where, known or str(exc.strerror or exc)
    return EXIT_FAILED, "bulletin", f"{type(exc).__name__}: {exc}"


if __name__ == "__main__":
    sys.exit(main())
