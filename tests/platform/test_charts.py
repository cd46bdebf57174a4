"""The server-drawn SVG charts (``hocba.kernel.charts``): accessible images whose figures are said in words, scaled
by their viewBox, every text escaped, hidden figures never drawn, and a table with the same figures."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from hocba.kernel import charts

SVG = "{http://www.w3.org/2000/svg}"


def parse(svg: str) -> ET.Element:
    return ET.fromstring(str(svg))


def test_nice_ticks_and_numbers():
    assert charts.nice_ticks(100) == (0, 20, 40, 60, 80, 100)
    assert charts.nice_ticks(37) == (0, 10, 20, 30, 40)
    assert charts.nice_ticks(0) == (0.0, 1.0)
    assert charts.nice_ticks(1234)[-1] >= 1234
    assert charts.number(1234567) == "1.234.567"
    assert charts.number(55.5, "%") == "55,5%"
    assert charts.number(None, hidden_text="< 5") == "< 5"


def test_line_is_an_accessible_scaled_image_with_its_figures_in_words():
    series = [charts.Series("Sổ điểm", (10, 20, None, 55.5)), charts.Series("Học bạ", (0, 5, 30, 40))]
    svg = charts.line(series, labels=["01/09", "02/09", "03/09", "04/09"], title="Hoàn thành", unit="%", y_max=100)
    root = parse(svg)
    assert root.get("role") == "img" and root.get("width") == "100%"
    assert re.fullmatch(r"0 0 400 \d+", root.get("viewBox"))
    title, desc = root.find(f"{SVG}title"), root.find(f"{SVG}desc")
    assert title.text == "Hoàn thành"
    assert root.get("aria-labelledby") == f"{title.get('id')} {desc.get('id')}"
    assert "Sổ điểm: từ 10% (01/09) đến 55,5% (04/09), cao nhất 55,5% (04/09)" in desc.text
    assert "Học bạ: từ 0% (01/09) đến 40% (04/09)" in desc.text
    # the gap splits the first line in two runs: one polyline of two points, one lone point
    polylines = root.findall(f"{SVG}polyline")
    assert len(polylines) == 2  # the first series' run of two, the second series' run of four
    assert {len(p.get("points").split()) for p in polylines} == {2, 4}
    # the y axis goes to 100: a point of 100 would sit on the top line; 55.5 sits below the middle
    ys = [float(p.split(",")[1]) for p in polylines[0].get("points").split()]
    assert all(14 <= y <= 184 for y in ys)
    assert "100%" in [t.text for t in root.iter(f"{SVG}text")]


def test_bars_stack_hide_none_and_describe_every_figure():
    series = [charts.Series("Tốt", (20, 4)), charts.Series("Khá", (None, 10)), charts.Series("Đạt", (7, 0))]
    svg = charts.bars(series, labels=["Khối 6", "Khối 7"], title="Học tập", stacked=True)
    root = parse(svg)
    desc = root.find(f"{SVG}desc").text
    assert desc == "Khối 6: Tốt 20, Khá < 5, Đạt 7; Khối 7: Tốt 4, Khá 10, Đạt 0."
    bars = [r for r in root.iter(f"{SVG}rect") if r.find(f"{SVG}title") is not None]
    tips = [r.find(f"{SVG}title").text for r in bars]
    assert tips == ["Khối 6 · Tốt: 20", "Khối 6 · Đạt: 7", "Khối 7 · Tốt: 4", "Khối 7 · Khá: 10"]  # none, 0: not drawn
    labels = [t.text for t in root.iter(f"{SVG}text") if t.text.startswith("Khối")]
    assert labels == ["Khối 6 · Khá: < 5", "Khối 7"]  # a hidden figure is said beside its row, never drawn
    widths = {t: float(r.get("width")) for t, r in zip(tips, bars, strict=True)}
    assert widths["Khối 6 · Tốt: 20"] > widths["Khối 7 · Khá: 10"] > widths["Khối 7 · Tốt: 4"]
    # stacked: the second segment starts where the first ends
    first, second = bars[0], bars[1]
    assert abs(float(second.get("x")) - (float(first.get("x")) + float(first.get("width")))) < 0.2
    grouped = parse(charts.bars(series, labels=["Khối 6", "Khối 7"], title="Học tập", stacked=False))
    xs = {r.get("x") for r in grouped.iter(f"{SVG}rect") if r.find(f"{SVG}title") is not None}
    assert xs == {"4.0"}  # grouped bars all start at the axis


def test_text_is_escaped_and_ids_are_unique_per_chart():
    evil = '<script>alert("x")</script>'
    svg = str(charts.bars([charts.Series(evil, (1,))], labels=[evil], title=evil))
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    parse(svg)  # still well-formed
    a = charts.line([charts.Series("a", (1, 2))], labels=["x", "y"], title="A")
    b = charts.line([charts.Series("a", (1, 3))], labels=["x", "y"], title="A")
    assert parse(a).get("id") != parse(b).get("id")
    assert parse(charts.line([], labels=[], title="A", chart_id="chart-x")).get("id") == "chart-x"


def test_empty_chart_says_so():
    root = parse(charts.line([charts.Series("a", (None, None))], labels=["x", "y"], title="A"))
    assert "a: chưa có số liệu" in root.find(f"{SVG}desc").text
    assert "Chưa có số liệu" in [t.text for t in root.iter(f"{SVG}text")]
    root = parse(charts.bars([], labels=[], title="B"))
    assert root.find(f"{SVG}desc").text == "Chưa có số liệu"


def test_chart_carries_a_table_with_the_same_figures():
    chart = charts.bar_chart(
        [charts.Series("Tốt", (20, None))], labels=["Khối 6", "Khối 7"], title="T", label_header="Khối lớp"
    )
    assert chart.headers == ("Khối lớp", "Tốt")
    assert chart.rows == (("Khối 6", "20"), ("Khối 7", "< 5"))
    assert chart.chart_id and f'id="{chart.chart_id}"' in chart.svg
    line = charts.line_chart(
        [charts.Series("Sổ điểm", (25.0, None))], labels=["05/09", "06/09"], title="L", label_header="Ngày", unit="%"
    )
    assert line.rows == (("05/09", "25%"), ("06/09", "—"))


def test_long_legends_wrap_and_long_labels_are_cut():
    series = [charts.Series(f"Một tên rất dài của chuỗi số {i}", (i,)) for i in range(6)]
    root = parse(charts.bars(series, labels=["Bru-Vân Kiều " * 10], title="Dân tộc"))
    legend_rows = {t.get("y") for t in root.iter(f"{SVG}text") if t.text.startswith("Một tên")}
    assert len(legend_rows) > 1
    label = next(t.text for t in root.iter(f"{SVG}text") if t.text.startswith("Bru"))
    assert label.endswith("…") and len(label) < 80
