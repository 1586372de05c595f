"""The bar chart of a query's answer (issue 18, item 8): which columns it draws, and where each
bar stands — worked out by hand from the drawing's sizes (labels 170 px, bars 260 px, rows 20 px)."""

from __future__ import annotations

import pytest

from bastide.web.chart import bars


def test_counts_by_age_group_are_bars_scaled_to_the_largest():
    chart = bars(["age", "n"], [["0-4", 10], ["5-9", 30], ["10-14", 20]])
    assert (chart.label, chart.value, chart.zero, chart.width, chart.height, chart.left_out) == \
        ("age", "n", 170, 500, 64, 0)
    assert [(b.label, b.x, round(b.width, 2), b.y) for b in chart.bars] == [
        ("0-4", 170, 86.67, 0), ("5-9", 170, 260, 20), ("10-14", 170, 173.33, 40)]


def test_negative_values_go_left_of_the_axis():
    """-10 and 30: 40 units over 260 px (6.5 px each), the axis 65 px right of the labels."""
    chart = bars(["k", "delta"], [["a", -10], ["b", 30]])
    assert chart.zero == 235
    assert [(b.x, b.width) for b in chart.bars] == [(170, 65), (235, 195)]


def test_two_numeric_columns_draw_the_second_by_the_first():
    chart = bars(["year", "n"], [[2022, 5], [2023, 7]])
    assert (chart.label, chart.value) == ("year", "n") and [b.label for b in chart.bars] == ["2022", "2023"]


def test_missing_values_are_not_drawn_and_long_answers_are_cut():
    rows = [[f"g{i}", i] for i in range(50)] + [["none", None]]
    chart = bars(["g", "n"], rows)
    assert len(chart.bars) == 40 and chart.left_out == 11 and chart.bars[-1].label == "g39"
    assert bars(["g", "n"], [["a", None], ["b", 3]]).bars[0].label == "b"


def test_a_long_label_is_shortened():
    chart = bars(["label", "n"], [["x" * 30, 1], ["y", 2]])
    assert chart.bars[0].label == "x" * 23 + "…"


@pytest.mark.parametrize(("columns", "rows"), [
    (["a", "b"], [["x", "y"], ["z", "w"]]),  # nothing measured
    (["a", "n"], [["x", 1]]),  # one row: nothing to compare
    (["n"], [[1], [2]]),  # one column
    (["a", "flag"], [["x", True], ["y", False]]),  # booleans are not quantities
])
def test_nothing_is_drawn_when_there_is_nothing_to_compare(columns, rows):
    assert bars(columns, rows) is None
