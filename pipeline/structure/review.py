"""Flags and needs_review, decided in one place.

An issue is flagged for what its print lacks (a masthead; a 期号, or for a 公文
its 文号), for being a document of no known kind and for how
it was read (low OCR confidence, pages rasterised below the requested dpi).
A record needs review when it is flagged or was read with low confidence.
"""
from __future__ import annotations

from pipeline.models import DocType, IssueMeta, Page
from pipeline.read.text import unreadable_flags

LOW_CONFIDENCE = 0.80   # mean OCR confidence of a page/article below which a person should look at it



def issue_flags(meta: IssueMeta, pages: list[Page] = (), reduced_dpi: bool = False) -> list[str]:
    flags = []
    if not meta.title:
        flags.append("no-masthead")
    if meta.issue_no is None and meta.special is None and not meta.doc_no:
        flags.append("no-issue-no")     # a 公文 is numbered by its 文号 instead
    if meta.doc_type == DocType.OTHER:
        flags.append("unknown-document-type")
    if pages and min(p.confidence for p in pages) < LOW_CONFIDENCE:
        flags.append("low-confidence")
    if reduced_dpi:
        flags.append("reduced-dpi")
    flags += unreadable_flags(pages)
    return flags


def needs_review(confidence: float, flags=()) -> bool:
    return bool(flags) or confidence < LOW_CONFIDENCE
