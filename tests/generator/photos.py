"""Bulletin generator: photographed pages.

Phone photos of historical bulletins differ from flatbed scans: no usable
dpi (none, or the camera's 72), an EXIF orientation flag instead of upright
pixels, light falling off across the sheet, the next sheet showing through
as faint mirrored text, two or more columns, and sometimes a whole open
spread in one picture.  Each function here draws such an input with PIL and
returns its truth: the lines in reading order.

* :func:`bulletin_photo` - a two-column historical bulletin page (masthead,
  issue number, date, full-width headline, two columns of body) with
  show-through, uneven yellowed light, an EXIF rotation flag, 72 dpi;
* :func:`red_masthead_scan` - a 公文 page with a full-size red masthead
  (``中共中央文件``) and black body, no dpi recorded;
* :func:`spread_photo` - two pages side by side in one landscape image.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Optional, Sequence, Union

from generator.pdf import UMING_PATH, ZENHEI_PATH, _find_font

PathLike = Union[str, os.PathLike]

LEFT_COLUMN = [
    "本报讯全省各地积极开展",
    "秋季农业生产工作，各级",
    "领导干部深入田间地头，",
    "帮助群众解决实际困难。",
    "许多公社抓紧抢收抢种，",
    "确保今年粮食获得丰收。",
]
RIGHT_COLUMN = [
    "省水利厅组织技术人员，",
    "对全省主要水库进行检查",
    "加固，提前做好冬季农田",
    "水利建设的各项准备工作",
    "各县还举办了培训班，培",
    "养了一批农村技术骨干。",
]
BACK_PAGE = [
    "会议认为必须进一步加强领导",
    "认真总结经验切实改进工作作风",
    "各地要把这项工作列入重要议程",
    "狠抓落实务求实效不断开创新局面",
    "要广泛发动群众依靠群众做好工作",
    "同时注意调查研究及时发现新问题",
    "会议要求各级党委高度重视认真贯彻",
    "把会议精神迅速传达到全体干部群众",
]


def _font(size: int, hei: bool = False):
    from PIL import ImageFont
    path = _find_font(ZENHEI_PATH, "zenhei") if hei else _find_font(UMING_PATH, "uming")
    return ImageFont.truetype(path, size, index=0)


def _draw_lines(draw, lines, x: int, y: int, size: int, pitch: int, fill=(0, 0, 0), hei=False,
                centre: Optional[int] = None) -> int:
    font = _font(size, hei)
    for text in lines:
        if centre is not None:
            w = draw.textlength(text, font=font)
            draw.text((int(centre - w / 2), y), text, font=font, fill=fill)
        else:
            draw.text((x, y), text, font=font, fill=fill)
        y += pitch
    return y


def _bulletin_page(width: int, height: int, body: int):
    """Upright clean page (PIL RGB) of a two-column historical bulletin and its truth lines."""
    from PIL import Image, ImageDraw
    page = Image.new("RGB", (width, height), (255, 255, 255))
    d = ImageDraw.Draw(page)
    cx = width // 2
    head = ["中共某某省委", "工作简报"]
    y = _draw_lines(d, head, 0, int(0.06 * height), int(body * 2.0), int(body * 2.6), hei=True, centre=cx)
    y = _draw_lines(d, ["（7）"], 0, y, body, int(body * 1.6), centre=cx)
    y = _draw_lines(d, ["一九七八年十月五日"], 0, y, body, int(body * 1.5), centre=cx)
    d.line((int(0.08 * width), y, int(0.92 * width), y), fill=(0, 0, 0), width=max(2, body // 10))
    y += int(body * 0.8)
    y = _draw_lines(d, ["全省秋季生产和水利建设情况"], 0, y, int(body * 1.3), int(body * 2.2), hei=True,
                    centre=cx)
    margin = int(0.06 * width)
    col_w = (width - 2 * margin) // 2
    pitch = int(body * 1.7)
    _draw_lines(d, LEFT_COLUMN, margin, y, body, pitch)
    _draw_lines(d, RIGHT_COLUMN, margin + col_w + int(body * 0.8), y, body, pitch)   # gutter ~2 characters
    truth = head + ["（7）", "一九七八年十月五日", "全省秋季生产和水利建设情况"] + LEFT_COLUMN + RIGHT_COLUMN
    return page, truth


def _back_page(width: int, height: int, body: int):
    """The next sheet's text as it shows through: mirrored, grey 0..1 ink mask."""
    import numpy as np
    from PIL import Image, ImageDraw
    back = Image.new("L", (width, height), 0)
    d = ImageDraw.Draw(back)
    _draw_lines(d, BACK_PAGE * 3, int(0.06 * width), int(0.04 * height), int(body * 1.05),
                int(body * 1.45), fill=255)
    return np.asarray(back, dtype=np.float32)[:, ::-1] / 255.0


def _photograph(rgb, *, show_through=None, strength: float = 0.2, light: float = 0.55,
                seed: int = 7):
    """Yellowed paper, light falling off towards one corner, faint show-through,
    a little blur and sensor noise."""
    import cv2
    import numpy as np
    rng = np.random.default_rng(seed)
    a = np.asarray(rgb, dtype=np.float32) / 255.0
    h, w = a.shape[:2]
    paper = np.array([0.93, 0.88, 0.74], np.float32)           # RGB of old paper
    a = a * paper
    if show_through is not None:
        a = a * (1.0 - strength * show_through[:, :, None])
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    fall = 1.0 - (1.0 - light) * np.clip((xx / w * 0.6 + yy / h * 0.6), 0, 1)
    a = a * fall[:, :, None]
    a = cv2.GaussianBlur(a, (0, 0), 0.8)
    a = a + rng.normal(0, 0.015, a.shape).astype(np.float32)
    return (np.clip(a, 0, 1) * 255).astype(np.uint8)


def _save_jpeg(arr, path: Path, *, exif_rotate: bool, dpi: Optional[int]) -> None:
    from PIL import Image
    im = Image.fromarray(arr)
    kw = {"quality": 88}
    if exif_rotate:
        # stored turned a quarter counter-clockwise; orientation 6 tells
        # viewers (and ImageOps.exif_transpose) to turn it back
        im = im.transpose(Image.Transpose.ROTATE_90)
        exif = Image.Exif()
        exif[274] = 6
        kw["exif"] = exif.tobytes()
    if dpi:
        kw["dpi"] = (dpi, dpi)
    im.save(path, "JPEG", **kw)


def bulletin_photo(path: PathLike, *, width: int = 1000, body: int = 34, show_through: bool = True,
                   exif_rotate: bool = True, dpi: Optional[int] = 72, seed: int = 7) -> dict:
    """Write a photographed two-column historical bulletin page (JPEG).

    Returns ``{"lines": [...], "columns": [left, right], "back": [...]}``:
    the printed lines in reading order (masthead, 期号, date, headline, the
    left column, then the right column) and the show-through text.
    """
    height = int(width * 1.38)
    page, truth = _bulletin_page(width, height, body)
    back = _back_page(width, height, body) if show_through else None
    arr = _photograph(page, show_through=back, seed=seed)
    _save_jpeg(arr, Path(path), exif_rotate=exif_rotate, dpi=dpi)
    return {"lines": truth, "columns": [list(LEFT_COLUMN), list(RIGHT_COLUMN)], "back": list(BACK_PAGE)}


def red_masthead_scan(path: PathLike, *, width: int = 1000, red=(200, 30, 35), dark: float = 0.75) -> dict:
    """Write a 公文 page with a full-size red masthead ``中共中央文件`` (~0.6 inch
    characters at the page's ~150 dpi), a red rule and black text, photographed
    in dim light (the red is dark), as a JPEG that records 72 dpi.
    Returns ``{"masthead": ..., "lines": [...]}``."""
    from PIL import Image, ImageDraw
    height = int(width * 1.41)
    page = Image.new("RGB", (width, height), (255, 255, 255))
    d = ImageDraw.Draw(page)
    cx = width // 2
    body = int(width / 28)
    y = _draw_lines(d, ["中共中央文件"], 0, int(0.1 * height), int(width * 0.11), int(width * 0.15),
                    fill=red, hei=True, centre=cx)
    y = _draw_lines(d, ["中发〔1980〕12号"], 0, y, body, int(body * 1.8), centre=cx)
    d.line((int(0.1 * width), y, int(0.9 * width), y), fill=red, width=max(3, body // 8))
    y += body
    lines = ["关于加强农村工作的通知", "各省、市、自治区党委："]
    y = _draw_lines(d, lines[:1], 0, y, int(body * 1.2), int(body * 2.2), hei=True, centre=cx)
    body_lines = ["现将有关问题通知如下，请", "结合本地实际认真贯彻执行。"]
    y = _draw_lines(d, lines[1:], int(0.1 * width), y, body, int(body * 1.7))
    _draw_lines(d, body_lines, int(0.1 * width), y, body, int(body * 1.7))
    arr = _photograph(page, light=dark, seed=3)
    _save_jpeg(arr, Path(path), exif_rotate=False, dpi=72)
    return {"masthead": "中共中央文件", "lines": ["中共中央文件", "中发〔1980〕12号"] + lines + body_lines}


SPREAD_LEFT = ["第一页的标题", "左边一页正文第一行文字", "左边一页正文第二行文字", "左边一页正文第三行文字"]
SPREAD_RIGHT = ["第二页的标题", "右边一页正文第一行内容", "右边一页正文第二行内容", "右边一页正文第三行内容"]


def spread_photo(path: PathLike, *, page_width: int = 620, body: int = 30, dpi: Optional[int] = None) -> dict:
    """Write a photographed open spread: two pages side by side (landscape
    JPEG) with the fold's shadow between them.  Returns ``{"pages": [left
    lines, right lines]}``."""
    import numpy as np
    from PIL import Image, ImageDraw
    height = int(page_width * 1.4)
    pages = []
    for lines in (SPREAD_LEFT, SPREAD_RIGHT):
        p = Image.new("RGB", (page_width, height), (255, 255, 255))
        d = ImageDraw.Draw(p)
        y = _draw_lines(d, lines[:1], 0, int(0.1 * height), int(body * 1.3), int(body * 2.4), hei=True,
                        centre=page_width // 2)
        _draw_lines(d, lines[1:], int(0.1 * page_width), y, body, int(body * 1.8))
        pages.append(np.asarray(p))
    spread = np.concatenate(pages, axis=1)
    # the fold: a soft shadow down the middle
    w = spread.shape[1]
    xx = np.arange(w, dtype=np.float32)
    shade = 1.0 - 0.35 * np.exp(-((xx - w / 2) / (0.02 * w)) ** 2)
    spread = (spread.astype(np.float32) * shade[None, :, None]).astype(np.uint8)
    arr = _photograph(Image.fromarray(spread), light=0.8, seed=5)
    _save_jpeg(arr, Path(path), exif_rotate=False, dpi=dpi)
    return {"pages": [list(SPREAD_LEFT), list(SPREAD_RIGHT)]}


def write_photos(out_dir: PathLike, names: Sequence[str] = ("bulletin", "masthead", "spread")) -> dict:
    """Write the photo fixtures into ``out_dir`` (one folder per input, as a
    folder of page images is one issue); returns ``{name: (folder, truth)}``."""
    out = Path(out_dir)
    made = {}
    makers = {"bulletin": bulletin_photo, "masthead": red_masthead_scan, "spread": spread_photo}
    for name in names:
        folder = out / f"photo-{name}"
        folder.mkdir(parents=True, exist_ok=True)
        made[name] = (folder, makers[name](folder / "1.jpg"))
    return made


__all__ = ["bulletin_photo", "red_masthead_scan", "spread_photo", "write_photos",
           "LEFT_COLUMN", "RIGHT_COLUMN", "BACK_PAGE", "SPREAD_LEFT", "SPREAD_RIGHT"]
