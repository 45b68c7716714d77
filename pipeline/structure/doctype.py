"""What kind of document an input is, from printed evidence only.

- ``bulletin``: a masthead with a 期号 (or a masthead naming a 简报/快报/动态 …);
- ``official_document`` (公文): a ``…文件`` masthead, a 文号, or a 通知/通报/意见/
  决定/函 … title with a 主送 list or a 落款;
- ``report``: a titled report (报告, 年度报告, 总结 …) without a masthead;
- ``other``: anything else (a leaflet, a standard).
"""
from __future__ import annotations

import re
from typing import Optional

from pipeline.lexicon import BULLETIN_MASTHEAD, OFFICIAL_MASTHEAD, OFFICIAL_TITLE, REPORT_TITLE
from pipeline.models import Block, DocType, Role


def _norm(t: str) -> str:
    return re.sub(r"\s+", "", t or "")


def masthead(blocks: list[Block]) -> str:
    return "".join(_norm(b.text) for b in blocks if b.role == Role.MASTHEAD)


def document_title(blocks: list[Block]) -> Optional[str]:
    """The first title block before any body text (the document's own title)."""
    for b in blocks:
        if b.role == Role.TITLE:
            return _norm(b.text)
        if b.role in (Role.BODY, Role.SECTION, Role.TOC_HEADING, Role.TOC_ENTRY):
            return None
    return None


def doc_type(blocks: list[Block]) -> str:
    roles = {b.role for b in blocks}
    mast = masthead(blocks)
    if mast and OFFICIAL_MASTHEAD.search(mast) or Role.DOC_NO in roles:
        return DocType.OFFICIAL
    if Role.ISSUE_LINE in roles or (mast and BULLETIN_MASTHEAD.search(mast)):
        return DocType.BULLETIN
    title = document_title(blocks) or ""
    if title and OFFICIAL_TITLE.search(title) and (Role.RECIPIENTS in roles or Role.SIGNATURE in roles):
        return DocType.OFFICIAL
    if not mast and title and REPORT_TITLE.search(title):
        return DocType.REPORT
    return DocType.OTHER
