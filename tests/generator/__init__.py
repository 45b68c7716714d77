"""Bulletin generator: sample data and test fixtures.

A bulletin (简报) issue is described by a typed :class:`BulletinSpec` holding
:class:`ArticleSpec` items.  :func:`render_pdf` lays it out the way printed
government bulletins look (A4, red masthead and rule, 16pt body with a two
character indent, 黑体 titles, 本期提要, footer block, ``— N —`` page numbers)
and returns the ground truth computed from the layout it actually produced, in
the format of the corpus truth files (``id``, ``inputs``, ``issue``,
``sections``, ``articles``, ``queries``, ``pages``).

:func:`render_scans` turns the born-digital PDF into scanned-looking inputs
(``clean`` / ``mild`` / ``hard``) in several containers (image-only PDF,
multi-page TIFF, folders of JPEG/PNG pages, single images), optionally rotated
or stamped with a red seal.

:func:`sample_specs` holds several invented issues and :func:`write_samples`
writes them to a ``data/raw`` layout with truth JSON in a sibling ``truth``
folder.  ``python tests/generator OUT_DIR [--scans]`` does the same.
"""
from __future__ import annotations

from generator.spec import *  # noqa: F401,F403
from generator.pdf import *  # noqa: F401,F403
from generator.scans import *  # noqa: F401,F403
from generator.samples import *  # noqa: F401,F403
from generator.documents import DocumentSpec, document_specs, render_document  # noqa: F401
from generator.photos import *  # noqa: F401,F403
