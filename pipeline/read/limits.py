"""Limits against hostile input, and paths made safe to store and print.

Memory: a small file can decode to gigabytes. Pixels are capped by the memory
they take once decoded (width x height x channels x bytes per channel), not
just by their count, and a PDF content stream by its decoded size, measured
by inflating it in bounded chunks before any PDF library parses it.

Paths: a file name is bytes on Linux. One that is not valid UTF-8 (``bad\\xff.pdf``)
or holds a control character (a newline) cannot be stored in SQLite, printed
to a UTF-8 stream or kept on one line as it is; ``printable`` gives the form
that is stored in the archive and printed: undecodable bytes as ``\\xNN``,
control characters as ``\\n``, ``\\t`` or ``\\xNN``.
"""
from __future__ import annotations

import os
import re
import zlib
from typing import Optional

# One decoded image (the file's own pixels, before any conversion): at most
# this many bytes. A 14100 x 14100 greyscale PNG (199 MB decoded) passes, the
# same in RGB (596 MB) does not. With the copies page clean-up makes of an
# image reduced to RASTER_MAX_PIXELS, one input stays well under 1.5 GB
# (bench/bench_hostile_memory.py measures it).
MAX_DECODED_BYTES = 400_000_000

# One PDF content stream (page or form XObject), decoded: at most this many
# bytes. A dense born-digital bulletin page is well under 1 MB; 2.4 GB of
# zeros compress to 2.4 MB.
MAX_STREAM_BYTES = 64_000_000

_INFLATE_CHUNK = 1 << 20          # bytes inflated per step while measuring a stream

# bytes per pixel of PIL modes (decoded, in memory)
_MODE_BYTES = {"1": 1, "L": 1, "P": 1, "LA": 2, "La": 2, "PA": 2, "I;16": 2, "I;16B": 2,
               "I;16L": 2, "I;16N": 2, "RGB": 3, "YCbCr": 3, "LAB": 3, "HSV": 3, "RGBA": 4,
               "RGBa": 4, "RGBX": 4, "CMYK": 4, "I": 4, "F": 4}


def image_bytes(width: int, height: int, mode: str) -> int:
    """Memory one decoded image of this size and PIL mode takes."""
    return int(width) * int(height) * _MODE_BYTES.get(mode, 4)


def image_too_big(width: int, height: int, mode: str) -> Optional[str]:
    """The one-line reason an image of this size and mode is refused, or None."""
    need = image_bytes(width, height, mode)
    if need > MAX_DECODED_BYTES:
        return (f"image of {width}x{height} px ({mode}) needs {need / 1e6:.0f} MB decoded, over the "
                f"{MAX_DECODED_BYTES / 1e6:.0f} MB limit (decompression bomb?)")
    return None


def inflated_size(raw: bytes, cap: int) -> int:
    """Size of a zlib (FlateDecode) stream once inflated, counting at most
    ``cap + 1`` bytes: memory stays at one chunk whatever the stream holds.
    A damaged stream counts what inflated before the damage."""
    d = zlib.decompressobj()
    total = 0
    data = raw
    try:
        while data and total <= cap:
            out = d.decompress(data, _INFLATE_CHUNK)
            total += len(out)
            data = d.unconsumed_tail
        while total <= cap and not d.eof:
            out = d.decompress(b"", _INFLATE_CHUNK)
            if not out:
                break
            total += len(out)
    except zlib.error:
        pass
    return total


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(m: re.Match) -> str:
    c = m.group(0)
    if c in _NAMED:
        return _NAMED[c]
    o = ord(c)
    if 0xDC80 <= o <= 0xDCFF:          # an undecodable byte (surrogateescape)
        return f"\\x{o - 0xDC00:02x}"
    return f"\\x{o:02x}" if o < 0x100 else f"\\u{o:04x}"


def printable(path) -> str:
    """The form of a path (str, bytes or Path) that is stored and printed: valid
    UTF-8 on one line. Idempotent; the same as ``str(path)`` for ordinary names."""
    s = os.fsdecode(path) if isinstance(path, bytes) else str(path)
    return _CONTROL.sub(_escape, s)


def one_line(text) -> str:
    """An error message as one printable line (whitespace runs become one space,
    undecodable bytes and control characters escaped)."""
    return printable(" ".join(str(text).split()))
