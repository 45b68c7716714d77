"""Builders of hostile inputs for tests/test_hostile_*.py and
bench/bench_hostile_memory.py: small files that decode to a lot, written
in bounded memory (streamed through zlib) and in seconds."""
from __future__ import annotations

import struct
import zlib
from pathlib import Path


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def repeated_zlib(block: bytes, times: int) -> bytes:
    """zlib stream of ``block * times``, built in the time of compressing one
    block: the block compressed once and ended with a full flush (which
    resets the compressor) is a self-contained run of deflate blocks, so it
    can be repeated; an empty final block and the Adler-32 of the whole
    close the stream."""
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    seg = c.compress(block) + c.flush(zlib.Z_FULL_FLUSH)
    end = zlib.compressobj(9, zlib.DEFLATED, -15).flush()
    adler = 1
    for _ in range(times):
        adler = zlib.adler32(block, adler)
    return b"\x78\xda" + seg * times + end + struct.pack(">I", adler)


def png_bomb(path: Path, side: int = 14100, colour: bool = False) -> int:
    """A real, complete PNG of side x side white pixels (greyscale or RGB):
    every row is present and decodes (unlike a header-only bomb). ``side``
    must be a multiple of 100. Returns the file size."""
    channels = 3 if colour else 1
    row = b"\x00" + b"\xff" * (side * channels)
    assert side % 100 == 0
    idat = repeated_zlib(row * 100, side // 100)
    ihdr = struct.pack(">IIBBBBB", side, side, 8, 2 if colour else 0, 0, 0, 0)
    data = (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", idat)
            + _chunk(b"IEND", b""))
    Path(path).write_bytes(data)
    return len(data)


def content_stream_bomb_pdf(path: Path, decoded_mb: int = 2400) -> int:
    """A one-page PDF whose Flate content stream inflates to ``decoded_mb`` MiB
    of ``q Q`` no-ops (a valid, endless content stream). Returns the file size."""
    import pikepdf
    data = repeated_zlib(b"q Q " * (1 << 18), decoded_mb)
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(595, 842))
    st = pikepdf.Stream(pdf, data)
    st.Filter = pikepdf.Name.FlateDecode
    pdf.pages[0].Contents = pdf.make_indirect(st)
    pdf.save(path, compress_streams=False)
    return Path(path).stat().st_size
