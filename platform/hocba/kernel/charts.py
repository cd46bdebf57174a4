"""Charts drawn on the server as SVG: no script, no library, no CDN. Each chart is an accessible image
(``role="img"``, a ``<title>`` and a ``<desc>`` that says its figures in words) scaled by its ``viewBox`` to the
width of its box, so it reads on a 390-px phone as on a 1366-px screen. Pages show the same figures as a table
beside or under the chart (``Chart`` carries both; ``tenants/_chart.html`` renders them).

Use:

* ``line(series, labels=…, title=…)`` → ``SafeString``: lines over time (one point per label, e.g. per day);
  ``y_max=100, unit="%"`` for a completion rate. A ``None`` value is a gap (no figure that day).
* ``bars(series, labels=…, title=…, stacked=True)`` → ``SafeString``: horizontal bars, one row per label (a grade,
  a gender, an ethnic group), one segment (stacked) or one bar (grouped) per series (a result's value). A ``None``
  value is a hidden figure (the "< 5" rule): not drawn, said as ``hidden_text`` in words.
* ``line_chart(…)`` / ``bar_chart(…)`` → ``Chart``: the SVG and its table (``headers``, ``rows``) from the same
  figures, for ``{% include "tenants/_chart.html" with chart=… %}``.

Pure: plain values in, markup out; the only Django it uses is escaping and the translation catalogue.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext

# Okabe–Ito: told apart with the common colour-vision deficiencies.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#8C6D00", "#999999")
WIDTH = 400  # viewBox units: drawn 1:0.9 on a 390-px phone, 1:1.3 in its 32-rem box on a 1366-px screen
FONT = 13
CHAR = 7.2  # an average character's width at FONT, to wrap the legend and cut long labels
AXIS_COLOUR = "#6b7280"
GRID_COLOUR = "#e5e7eb"


@dataclass(frozen=True)
class Series:
    """One line, or one value of a distribution across the bars' rows: a name and one value per label."""

    name: str
    values: tuple[float | None, ...]
    colour: str = ""  # empty: the palette's next


@dataclass(frozen=True)
class Chart:
    """A drawn chart and the same figures as a table (first column: the label)."""

    title: str
    svg: SafeString
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    note: str = ""
    chart_id: str = field(default="")


def nice_ticks(top: float, count: int = 5) -> tuple[float, ...]:
    """Round tick values from 0 to at least ``top`` (at most ``count`` + 1 of them): 0, 20, 40… or 0, 5, 10…"""
    if top <= 0 or not math.isfinite(top):
        return (0.0, 1.0)
    raw = top / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    n = math.ceil(top / step - 1e-9)
    return tuple(round(i * step, 10) for i in range(n + 1))


def number(value: float | None, unit: str = "", hidden_text: str = "—") -> str:
    """A figure as a person reads it: whole numbers without decimals, others to one place with a decimal comma
    (Vietnamese), thousands grouped with a dot; ``None`` as ``hidden_text``."""
    if value is None:
        return hidden_text
    if float(value).is_integer():
        text = f"{int(value):,}".replace(",", ".")
    else:
        text = f"{value:,.1f}".replace(",", " ").replace(".", ",").replace(" ", ".")
    return f"{text}{unit}"


def _id(kind: str, title: str, labels: Sequence[str], series: Sequence[Series], chart_id: str | None) -> str:
    if chart_id:
        return chart_id
    digest = hashlib.sha1(repr((kind, title, tuple(labels), series)).encode(), usedforsecurity=False)
    return f"chart-{digest.hexdigest()[:10]}"


def _colours(series: Sequence[Series]) -> list[str]:
    return [s.colour or PALETTE[i % len(PALETTE)] for i, s in enumerate(series)]


def _cut(text: str, width: float) -> str:
    most = max(3, int(width / CHAR))
    return text if len(text) <= most else text[: most - 1] + "…"


def _text(x: float, y: float, text: str, *, anchor: str = "start", size: int = FONT, colour: str = "#1f2937") -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" fill="{colour}">{escape(text)}</text>'
    )


def _legend(series: Sequence[Series], colours: list[str], top: float) -> tuple[list[str], float]:
    """Swatches and names, wrapped to the width; returns the markup and the height used."""
    out, x, y = [], 0.0, top
    for s, colour in zip(series, colours, strict=True):
        name = _cut(s.name, WIDTH - 24)
        needed = 18 + len(name) * CHAR + 14
        if x and x + needed > WIDTH:
            x, y = 0.0, y + 20
        out.append(f'<rect x="{x:.1f}" y="{y - 10:.1f}" width="12" height="12" rx="2" fill="{colour}"/>')
        out.append(_text(x + 17, y, name, size=12))
        x += needed
    return out, (y - top) + 20


def _svg(chart_id: str, title: str, desc: str, height: float, body: list[str]) -> SafeString:
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart-svg" role="img" viewBox="0 0 {WIDTH} {height:.0f}"'
        f' width="100%" preserveAspectRatio="xMinYMin meet" font-family="system-ui, sans-serif"'
        f' aria-labelledby="{chart_id}-t {chart_id}-d" id="{chart_id}">'
        f'<title id="{chart_id}-t">{escape(title)}</title><desc id="{chart_id}-d">{escape(desc)}</desc>'
    )
    return mark_safe(head + "".join(body) + "</svg>")  # noqa: S308 - every text inside is escaped above


def _line_words(series: Sequence[Series], labels: Sequence[str], unit: str) -> str:
    parts = []
    for s in series:
        known = [(labels[i], v) for i, v in enumerate(s.values) if v is not None]
        if not known:
            parts.append(gettext("%(name)s: chưa có số liệu") % {"name": s.name})
            continue
        (first_label, first), (last_label, last) = known[0], known[-1]
        top_label, top = max(known, key=lambda p: p[1])
        parts.append(
            gettext(
                "%(name)s: từ %(first)s (%(first_label)s) đến %(last)s (%(last_label)s), cao nhất %(top)s"
                " (%(top_label)s)"
            )
            % {
                "name": s.name,
                "first": number(first, unit),
                "first_label": first_label,
                "last": number(last, unit),
                "last_label": last_label,
                "top": number(top, unit),
                "top_label": top_label,
            }
        )
    return "; ".join(parts) + "."


def line(
    series: Sequence[Series],
    *,
    labels: Sequence[str],
    title: str,
    unit: str = "",
    y_max: float | None = None,
    chart_id: str | None = None,
) -> SafeString:
    """Lines over ``labels`` (one value of each series per label; ``None``: a gap). The y axis starts at 0 and ends
    at ``y_max`` (100 for a rate) or at a round number above the largest value. The ``<desc>`` says each line's
    first, last and highest figure in words."""
    cid = _id("line", title, labels, series, chart_id)
    colours = _colours(series)
    left, right, top, plot_h = 44.0, 12.0, 14.0, 170.0
    plot_w = WIDTH - left - right
    values = [v for s in series for v in s.values if v is not None]
    ticks = nice_ticks(y_max if y_max is not None else max(values, default=0))
    y_top = ticks[-1]
    n = len(labels)

    def px(i: int) -> float:
        return left + (plot_w * i / (n - 1) if n > 1 else plot_w / 2)

    def py(v: float) -> float:
        return top + plot_h - plot_h * min(v, y_top) / y_top

    body: list[str] = []
    for t in ticks:
        y = py(t)
        body.append(f'<line x1="{left}" x2="{WIDTH - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="{GRID_COLOUR}"/>')
        body.append(_text(left - 6, y + 4, number(t, unit), anchor="end", size=11, colour=AXIS_COLOUR))
    base = top + plot_h
    body.append(f'<line x1="{left}" x2="{WIDTH - right}" y1="{base}" y2="{base}" stroke="{AXIS_COLOUR}"/>')
    if n:
        shown = sorted({round(i * (n - 1) / 3) for i in range(4)}) if n > 4 else list(range(n))
        for i in shown:
            anchor = "start" if i == 0 and n > 1 else "end" if i == n - 1 and n > 1 else "middle"
            body.append(_text(px(i), base + 16, _cut(labels[i], plot_w / 4), anchor=anchor, size=11))
    for s, colour in zip(series, colours, strict=True):
        runs: list[list[tuple[float, float]]] = [[]]
        for i, v in enumerate(s.values[:n]):
            if v is None:
                runs.append([])
            else:
                runs[-1].append((px(i), py(v)))
        for run in runs:
            if len(run) > 1:
                points = " ".join(f"{x:.1f},{y:.1f}" for x, y in run)
                body.append(f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2.5"/>')
            if len(run) == 1 or (run and n <= 31):
                body.extend(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colour}"/>' for x, y in run)
    legend, legend_h = _legend(series, colours, base + 40)
    body.extend(legend)
    if not n or not values:
        body.append(_text(WIDTH / 2, top + plot_h / 2, gettext("Chưa có số liệu"), anchor="middle"))
    return _svg(cid, title, _line_words(series, labels, unit), base + 30 + legend_h, body)


def _bar_words(series: Sequence[Series], labels: Sequence[str], unit: str, hidden_text: str) -> str:
    parts = []
    for i, label in enumerate(labels):
        figures = ", ".join(f"{s.name} {number(s.values[i], unit, hidden_text)}" for s in series)
        parts.append(f"{label}: {figures}")
    return "; ".join(parts) + "." if parts else gettext("Chưa có số liệu")


def bars(
    series: Sequence[Series],
    *,
    labels: Sequence[str],
    title: str,
    stacked: bool = True,
    unit: str = "",
    x_max: float | None = None,
    hidden_text: str = "< 5",
    chart_id: str | None = None,
) -> SafeString:
    """Horizontal bars, one row per label (its name written above its bar, so long names fit a phone): the series
    stacked in one bar (``stacked``) or side by side. ``None`` values (figures hidden by the "< 5" rule) are not
    drawn and are said as ``hidden_text`` in the ``<desc>``, which lists every figure in words."""
    cid = _id("bars", title, labels, series, chart_id)
    colours = _colours(series)
    left, right, top = 4.0, 12.0, 6.0
    plot_w = WIDTH - left - right
    bar_h = 16.0 if stacked else 10.0
    row_h = 18 + (bar_h if stacked else bar_h * max(1, len(series))) + 10
    totals = [sum(s.values[i] or 0 for s in series) for i in range(len(labels))]
    largest = max(totals if stacked else [v or 0 for s in series for v in s.values], default=0)
    ticks = nice_ticks(x_max if x_max is not None else largest, 4)
    x_top = ticks[-1]

    def pw(v: float) -> float:
        return plot_w * min(v, x_top) / x_top

    body: list[str] = []
    height = top + row_h * len(labels)
    for t in ticks:
        x = left + pw(t)
        body.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top}" y2="{height:.1f}" stroke="{GRID_COLOUR}"/>')
        anchor = "start" if t == 0 else "end" if t == ticks[-1] else "middle"
        body.append(_text(x, height + 14, number(t, unit), anchor=anchor, size=11, colour=AXIS_COLOUR))
    for i, label in enumerate(labels):
        y = top + row_h * i
        hidden = [s.name for s in series if i < len(s.values) and s.values[i] is None]
        said = f"{label} · {', '.join(hidden)}: {hidden_text}" if hidden else label
        body.append(_text(left, y + 13, _cut(said, plot_w), size=12))
        x, bar_y = left, y + 18
        for s, colour in zip(series, colours, strict=True):
            v = s.values[i] if i < len(s.values) else None
            if v:
                w = pw(v)
                tip = escape(f"{label} · {s.name}: {number(v, unit)}")
                body.append(
                    f'<rect x="{x:.1f}" y="{bar_y:.1f}" width="{max(w, 1):.1f}" height="{bar_h}" fill="{colour}"'
                    f' stroke="#fff" stroke-width="0.5"><title>{tip}</title></rect>'
                )
                if stacked:
                    x += w
            if not stacked:
                bar_y += bar_h
    legend, legend_h = _legend(series, colours, height + 40)
    body.extend(legend)
    if not labels:
        body.append(_text(WIDTH / 2, top + 20, gettext("Chưa có số liệu"), anchor="middle"))
        height = top + 30
    return _svg(cid, title, _bar_words(series, labels, unit, hidden_text), height + 30 + legend_h, body)


def _table(
    series: Sequence[Series], labels: Sequence[str], first: str, unit: str, hidden_text: str
) -> tuple[tuple[str, ...], tuple[tuple[str, ...], ...]]:
    headers = (first, *(s.name for s in series))
    rows = tuple(
        (label, *(number(s.values[i] if i < len(s.values) else None, unit, hidden_text) for s in series))
        for i, label in enumerate(labels)
    )
    return headers, rows


def line_chart(
    series: Sequence[Series],
    *,
    labels: Sequence[str],
    title: str,
    label_header: str,
    unit: str = "",
    y_max: float | None = None,
    note: str = "",
    chart_id: str | None = None,
) -> Chart:
    """``line`` and its table (one row per label, one column per series; ``label_header`` heads the first)."""
    cid = _id("line", title, labels, series, chart_id)
    svg = line(series, labels=labels, title=title, unit=unit, y_max=y_max, chart_id=cid)
    headers, rows = _table(series, labels, label_header, unit, "—")
    return Chart(title, svg, headers, rows, note, cid)


def bar_chart(
    series: Sequence[Series],
    *,
    labels: Sequence[str],
    title: str,
    label_header: str,
    stacked: bool = True,
    unit: str = "",
    hidden_text: str = "< 5",
    note: str = "",
    chart_id: str | None = None,
) -> Chart:
    """``bars`` and its table (one row per label, one column per series)."""
    cid = _id("bars", title, labels, series, chart_id)
    svg = bars(series, labels=labels, title=title, stacked=stacked, unit=unit, hidden_text=hidden_text, chart_id=cid)
    headers, rows = _table(series, labels, label_header, unit, hidden_text)
    return Chart(title, svg, headers, rows, note, cid)
