"""Columns and reading order from line boxes (pure geometry, no OCR)."""
from dataclasses import dataclass

from pipeline.read import regions
from pipeline.read.engines import OcrLine, group_lines


@dataclass
class L:
    text: str
    box: tuple


def _column(x0: float, x1: float, top: float, n: int, tag: str, pitch: float = 40, h: float = 30):
    return [L(f"{tag}{k}", (x0, top + k * pitch, x1, top + k * pitch + h)) for k in range(n)]


def _row_order(items):
    return sorted(items, key=lambda it: ((it.box[1] + it.box[3]) / 2, it.box[0]))


def _bands():
    return [L("masthead", (200, 20, 700, 90)), L("issue", (400, 100, 500, 130)),
            L("headline", (100, 150, 800, 185))]


def test_two_columns_under_a_masthead_read_column_by_column():
    items = _row_order(_bands() + _column(50, 430, 220, 8, "L") + _column(480, 860, 220, 8, "R")
                       + [L("footer", (50, 600, 860, 630))])
    ordered, found = regions.order_lines(items)
    texts = [it.text for it in ordered]
    assert texts == ["masthead", "issue", "headline"] + [f"L{k}" for k in range(8)] + \
        [f"R{k}" for k in range(8)] + ["footer"]
    kinds = [r.kind for r in found]
    assert kinds == ["block", "column", "column", "block"]
    assert [r.order for r in found] == [0, 1, 2, 3]
    left, right = found[1], found[2]
    assert left.box[2] <= 430 < 480 <= right.box[0]
    assert 0 < left.confidence <= 1


def test_three_columns_and_a_short_last_line():
    items = _column(50, 300, 100, 6, "A") + _column(350, 600, 100, 6, "B") + _column(650, 900, 100, 5, "C")
    items.append(L("Cend", (650, 300, 720, 330)))         # paragraph end, short
    ordered, found = regions.order_lines(_row_order(items))
    texts = [it.text for it in ordered]
    assert texts == [f"A{k}" for k in range(6)] + [f"B{k}" for k in range(6)] + \
        [f"C{k}" for k in range(5)] + ["Cend"]
    assert [r.kind for r in found] == ["column"] * 3


def test_single_column_page_keeps_row_order():
    # header row with two pieces, body lines, short paragraph ends, a two-piece footer row
    items = [L("2021年第4期", (80, 50, 250, 80)), L("总第103期", (600, 50, 760, 80))]
    items += _column(80, 760, 120, 6, "body")
    items += [L("end", (80, 360, 300, 390)), L("报：省委", (80, 420, 300, 450)),
              L("送：省政府", (500, 420, 760, 450))]
    items = _row_order(items)
    ordered, found = regions.order_lines(items)
    assert [it.text for it in ordered] == [it.text for it in items]
    assert [r.kind for r in found] == ["block"]


def test_a_gutter_narrower_than_a_character_is_not_a_column_break():
    # two phrases of one line separated by a small space, over many rows
    items = _column(50, 400, 100, 8, "a") + _column(420, 800, 100, 8, "b")
    ordered, found = regions.order_lines(_row_order(items))
    assert [r.kind for r in found] == ["block"]


def test_group_lines_does_not_join_across_a_column_gutter():
    items = [OcrLine("一" * 10, (50, 100 + 40 * k, 430, 130 + 40 * k), 0.99) for k in range(6)]
    items += [OcrLine("二" * 10, (480, 100 + 40 * k, 860, 130 + 40 * k), 0.99) for k in range(6)]
    lines = group_lines(items)
    assert len(lines) == 12 and all(set(l.text) in ({"一"}, {"二"}) for l in lines)
    # without a gutter (a single wide row of pieces) the pieces still join
    joined = group_lines([OcrLine("甲乙", (50, 100, 200, 130), 0.9), OcrLine("丙丁", (230, 100, 380, 130), 0.9)])
    assert [l.text.replace(" ", "") for l in joined] == ["甲乙丙丁"]


def test_group_lines_keeps_overlapping_boxes_on_separate_rows():
    # a photo's curved line gives a tall box reaching into the next line;
    # the short last line below it starts at the same x and must stay after it
    long_line = OcrLine("家庭划清界限也可成为左", (40, 500, 900, 560), 0.98)
    last = OcrLine("派。", (40, 535, 110, 570), 0.99)
    lines = group_lines([last, long_line])
    assert [l.text for l in lines] == ["家庭划清界限也可成为左", "派。"]
