"""The server-drawn SVG bar chart: well-formed, labelled for screen readers, one bar per value, escaped."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from lti_tool.web.svg_chart import bar_chart, nice_ticks

NS = {"svg": "http://www.w3.org/2000/svg"}


def _parse(markup: str) -> ET.Element:
    return ET.fromstring(markup)


def test_one_bar_per_value_with_its_own_title_and_height_in_proportion() -> None:
    svg = _parse(bar_chart("Earned", "Per week", ["w1", "w2", "w3"], [3, 0, 6], chart_id="c"))
    bars = svg.findall("svg:rect", NS)
    assert [b.get("data-value") for b in bars] == ["3", "0", "6"]
    assert [b.find("svg:title", NS).text for b in bars] == ["w1: 3", "w2: 0", "w3: 6"]  # type: ignore[union-attr]
    heights = [float(b.get("height", "")) for b in bars]
    assert heights[1] == 0 and heights[2] == pytest.approx(2 * heights[0], rel=0.01)


def test_labelled_for_screen_readers() -> None:
    svg = _parse(bar_chart("Earned per week", "Bars, one per week", ["a"], [1], chart_id="weekly"))
    assert svg.get("role") == "img" and svg.get("aria-labelledby") == "weekly-title weekly-desc"
    assert svg.find("svg:title", NS).get("id") == "weekly-title"  # type: ignore[union-attr]
    assert svg.find("svg:desc", NS).text == "Bars, one per week"  # type: ignore[union-attr]


def test_text_is_escaped_and_no_script_can_get_in() -> None:
    markup = bar_chart("<script>alert(1)</script>", "a & b", ['"><script>'], [1], chart_id='x"y')
    assert "<script" not in markup
    svg = _parse(markup)
    assert svg.find("svg:title", NS).text == "<script>alert(1)</script>"  # type: ignore[union-attr]


def test_axis_ticks_are_round_and_cover_the_largest_value() -> None:
    assert nice_ticks(0) == [0.0, 1.0]
    assert nice_ticks(3) == [0, 1, 2, 3]
    assert nice_ticks(97) == [0, 50, 100]
    assert nice_ticks(160) == [0, 50, 100, 150, 200]
    assert nice_ticks(12_345)[-1] >= 12_345
    svg = _parse(bar_chart("t", "d", ["a", "b"], [7, 97], chart_id="c", y_label="Earned"))
    ticks = [t.text for t in svg.findall("svg:text", NS) if t.get("class") == "tick"]
    assert ticks == ["0", "50", "100"]
    assert any(t.text == "Earned" for t in svg.findall("svg:text", NS))


def test_many_weeks_keep_every_bar_but_thin_the_labels() -> None:
    labels = [f"week {i}" for i in range(52)]
    svg = _parse(bar_chart("t", "d", labels, list(range(52)), chart_id="c"))
    assert len(svg.findall("svg:rect", NS)) == 52
    shown = [t.text for t in svg.findall("svg:text", NS) if t.get("class") == "x-label"]
    assert 0 < len(shown) <= 12 and shown[0] == "week 0"


def test_no_values_says_so_and_mismatched_lengths_are_refused() -> None:
    svg = _parse(bar_chart("t", "d", [], [], chart_id="c"))
    assert svg.findall("svg:rect", NS) == [] and any(t.text == "No data yet" for t in svg.iter())
    with pytest.raises(ValueError):
        bar_chart("t", "d", ["a"], [1, 2], chart_id="c")
