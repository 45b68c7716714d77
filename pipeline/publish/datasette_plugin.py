"""Datasette plugin (entry point ``bulletin_archive``).

* ``prepare_connection`` registers the search SQL functions of
  :mod:`pipeline.archive.search` (``bulletin_match``, ``bulletin_snippet``, ...), so
  canned queries can say ``where articles_fts match bulletin_match(:q)``.
* ``filters_from_request`` makes the ordinary table search box of
  ``articles`` work in Chinese: ``?_search=公务用车`` (and
  ``?_search_title=`` / ``?_search_body=``) become
  ``id in (select rowid from articles_fts where articles_fts match
  bulletin_match(:q))``.  The contentless bigram index is not auto-detected
  by datasette, so its built-in (escape_fts) search never runs on
  ``articles``; this hook runs after it and switches the search box on.
* ``render_cell`` links an article's pages to the ``pages`` rows, shows page
  images when a static mount is configured, and turns 【】 marks of snippet
  columns into ``<mark>``.
"""
from __future__ import annotations

import html
import re

from datasette import hookimpl
from datasette.filters import FilterArguments
from markupsafe import Markup

from pipeline.archive import readonly, search

PLUGIN = "bulletin-archive"


@hookimpl
def prepare_connection(conn):
    search.register_functions(conn)
    readonly.limit_connection(conn)     # no value over MAX_VALUE_BYTES (time limits cannot stop allocations)


async def _has_index(datasette, database) -> bool:
    db = datasette.get_database(database)
    return await db.table_exists(search.FTS_TABLE)


@hookimpl(trylast=True)
def filters_from_request(request, database, table, datasette):
    if table not in ("articles", search.VIEW):
        return None

    async def inner():
        if not await _has_index(datasette, database):
            return None
        where, params, human = [], {}, []
        extra = {"supports_search": True}
        for key in request.args:
            if key == "_search":
                column = None
            elif key in ("_search_title", "_search_body"):
                column = key[len("_search_"):]
            else:
                continue
            q = request.args.get(key)
            if not q or not search.match_expression(q):
                continue
            name = f"bulletin_q_{len(params)}"
            params[name] = q
            col = f", '{column}'" if column else ""
            where.append(
                f"id in (select rowid from {search.FTS_TABLE} where {search.FTS_TABLE}"
                f" match bulletin_match(:{name}{col}))")
            human.append(f'{column or "text"} contains "{q}"')
            extra["search"] = q
        return FilterArguments(where, params, human, extra)

    return inner


_MARK = re.compile("【(.*?)】", re.S)


@hookimpl
def render_cell(row, value, column, table, database, datasette):
    if column == "snippet" and isinstance(value, str) and "【" in value:
        return Markup(_MARK.sub(r"<mark>\1</mark>", html.escape(value)))
    if (table == search.VIEW and column == "id" or table in ("articles", "pages", search.VIEW)
            and column == "issue_id") and isinstance(value, (str, int)) and value:
        # (the table view expands foreign keys itself; the row page and the view do not)
        target = "articles" if column == "id" else "issues"
        url = datasette.urls.row(database, target, str(value))
        return Markup(f'<a href="{html.escape(url)}">{html.escape(str(value))}</a>')
    if table in ("articles", search.VIEW) and column in ("page_start", "page_end") and value:
        try:
            issue_id = row["issue_id"]
        except (KeyError, IndexError, TypeError):
            return None
        url = datasette.urls.row(database, "pages", f"{issue_id}-{value}")
        return Markup(f'<a href="{html.escape(url)}">p.{int(value)}</a>')
    if table == "pages" and column == "image_path" and value:
        cfg = datasette.plugin_config(PLUGIN) or {}
        base, root = cfg.get("images_url"), cfg.get("images_root")
        if base and root:
            rel = _relative(str(value), root)
            if rel is not None:
                url = base.rstrip("/") + "/" + rel
                return Markup(f'<a href="{html.escape(url)}">{html.escape(rel)}</a>')
    return None


def _relative(path: str, root: str):
    from pathlib import Path

    p, r = Path(path), Path(root)
    if not p.is_absolute():
        p = r / p
    try:
        rel = p.resolve().relative_to(r.resolve())
    except ValueError:
        return None
    return rel.as_posix()
