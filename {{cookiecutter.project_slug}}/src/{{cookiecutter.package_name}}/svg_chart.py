"""A plot of dvc.yaml drawn as inline SVG from its rows: a line per y field, points
(`scatter*`), bars (`bar_horizontal*`) or a matrix of counts (`confusion*`). No script, no
link: the page that holds it needs no network."""

from __future__ import annotations

import math
from html import escape
from typing import TYPE_CHECKING, Any

from .errors import DataError

if TYPE_CHECKING:
    from .plots import Plot

COLORS = ("#0969da", "#cf222e", "#1a7f37", "#8250df", "#bc4c00", "#57606a")
WIDTH, HEIGHT, LEFT, RIGHT, TOP, BOTTOM = 460, 300, 52, 12, 10, 40


MOST_X_LABELS = 6  # category labels along x (e.g. dates); more would overlap


class _Axis:
    """Where values go along one axis (0 to 1): a linear scale for numbers, else categories."""

    def __init__(
        self, values: list[Any], most_labels: int | None = None, categorical: bool = False
    ) -> None:
        try:
            numbers = None if categorical else [float(value) for value in values]
        except (TypeError, ValueError):
            numbers = None
        if numbers is None:
            self.categories = list(dict.fromkeys(str(value) for value in values))
            count = len(self.categories)
            every = math.ceil(count / most_labels) if most_labels else 1  # the rest: unlabelled
            self.ticks = [
                ((i + 0.5) / count, label)
                for i, label in enumerate(self.categories)
                if i % every == 0
            ]
            return
        self.categories = []
        low, high = min(numbers, default=0.0), max(numbers, default=1.0)
        if low == high:
            low, high = low - 1, high + 1
        raw = (high - low) / 5
        power = 10 ** math.floor(math.log10(raw))
        step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw * (1 - 1e-9))
        first, last = math.floor(low / step + 1e-9), math.ceil(high / step - 1e-9)
        self.low, self.high = first * step, last * step
        self.ticks = [
            (self.fraction(i * step), f"{round(i * step, 10):g}") for i in range(first, last + 1)
        ]

    def fraction(self, value: Any) -> float:
        if self.categories:
            return (self.categories.index(str(value)) + 0.5) / len(self.categories)
        return (float(value) - self.low) / (self.high - self.low)


def _drawable(value: Any) -> bool:
    """Not a gap: null, NaN and infinity (JSON null, or inf in a CSV) are left out."""
    if value is None:
        return False
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError):
        return True  # a category


def _text(x: float, y: float, text: str, anchor: str = "middle", extra: str = "") -> str:
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}"{extra}>{escape(text)}</text>'


def _line(x1: float, y1: float, x2: float, y2: float) -> str:
    return f'<line class="grid" x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}"/>'


def _upright(x: float, y: float, text: str) -> str:
    """A label turned to read bottom to top (a y axis title)."""
    return _text(x, y, text, extra=f' transform="rotate(-90 {x:.1f} {y:.1f})"')


def _xy_chart(plot: Plot, data: dict[str, list[dict[str, Any]]]) -> str:
    lines = []  # per series: its name and its (x, y) values
    for series in plot.series:
        rows = data[series.file]
        if not rows:  # e.g. no ROC when the held-out split has one class only
            continue
        y = series.y or list(rows[0])[-1]
        for field in (series.x, y):
            if field is not None and any(field not in row for row in rows):
                raise DataError(f"{series.file}: a row has no field {field!r}")
        xs = [row[series.x] for row in rows] if series.x else list(range(len(rows)))
        name = str(y) if len(plot.series) == 1 else f"{series.file}: {y}"
        pairs = [
            pair
            for pair in zip(xs, [row[y] for row in rows], strict=True)
            if all(_drawable(value) for value in pair)
        ]
        if pairs:
            lines.append((name, pairs))
    if not lines:
        return "<p>No rows to draw.</p>"
    bars = plot.template.startswith("bar_horizontal")
    # A bar starts at 0, so 0 is on the axis; its y values name categories, numbers or not.
    xs = [*([0] if bars else []), *(x for _, pairs in lines for x, _ in pairs)]
    x_axis = _Axis(xs, MOST_X_LABELS)
    y_axis = _Axis([y for _, pairs in lines for _, y in pairs], categorical=bars)
    inner_w, inner_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    parts = [f'<svg viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" role="img">']
    for fraction, label in x_axis.ticks:
        x = LEFT + fraction * inner_w
        parts.append(_line(x, TOP, x, TOP + inner_h))
        parts.append(_text(x, TOP + inner_h + 14, label))
    for fraction, label in y_axis.ticks:
        y = TOP + (1 - fraction) * inner_h
        parts.append(_line(LEFT, y, WIDTH - RIGHT, y))
        parts.append(_text(LEFT - 5, y + 4, label, "end"))
    parts.append(_text(LEFT + inner_w / 2, HEIGHT - 6, plot.x_label or plot.series[0].x or "step"))
    y_title = plot.y_label or (lines[0][0] if len(lines) == 1 else "")
    parts.append(_upright(12, TOP + inner_h / 2, y_title))
    for i, (name, pairs) in enumerate(lines):
        color = COLORS[i % len(COLORS)]
        placed = [
            (LEFT + x_axis.fraction(x) * inner_w, TOP + (1 - y_axis.fraction(y)) * inner_h)
            for x, y in pairs
        ]
        if bars:
            thick = 0.8 * inner_h / len(y_axis.categories) / len(lines)
            zero = LEFT + x_axis.fraction(0) * inner_w
            parts += [
                f'<rect x="{min(x, zero):.1f}" y="{y - thick * (len(lines) / 2 - i):.1f}" '
                f'width="{abs(x - zero):.1f}" height="{thick:.1f}" fill="{color}">'
                f"<title>{escape(f'{name}: {b}, {a}')}</title></rect>"
                for (x, y), (a, b) in zip(placed, pairs, strict=True)
            ]
        elif plot.template.startswith("scatter"):
            parts += [
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="{color}">'
                f"<title>{escape(f'{name}: {a}, {b}')}</title></circle>"
                for (x, y), (a, b) in zip(placed, pairs, strict=True)
            ]
        else:
            coordinates = " ".join(f"{x:.1f},{y:.1f}" for x, y in placed)
            parts.append(
                f'<polyline points="{coordinates}" fill="none" stroke="{color}" stroke-width="2">'
                f"<title>{escape(name)}</title></polyline>"
            )
    parts.append("</svg>")
    if len(lines) > 1:
        keys = "".join(
            f'<span style="background:{COLORS[i % len(COLORS)]}"></span>{escape(name)}'
            for i, (name, _) in enumerate(lines)
        )
        parts.append(f'<div class="legend">{keys}</div>')
    return "".join(parts)


def _confusion_chart(plot: Plot, data: dict[str, list[dict[str, Any]]]) -> str:
    """Actual classes down, predicted across; a `count` field adds up, else each row counts 1."""
    series = plot.series[0]
    rows = data[series.file]
    actual_field, predicted_field = series.y, series.x
    if not rows:
        return "<p>No rows to draw.</p>"
    for field in (actual_field, predicted_field):
        if field is None or any(field not in row for row in rows):
            raise DataError(f"{series.file}: a confusion plot needs x and y fields in every row")
    cells: dict[tuple[str, str], float] = {}
    for row in rows:
        key = str(row[actual_field]), str(row[predicted_field])
        cells[key] = cells.get(key, 0) + float(row.get("count", 1))
    actual = sorted({a for a, _ in cells})
    predicted = sorted({p for _, p in cells})
    normalized = "normalized" in plot.template
    if normalized:
        totals = {a: sum(v for (row, _), v in cells.items() if row == a) or 1 for a in actual}
        cells = {(a, p): v / totals[a] for (a, p), v in cells.items()}
    top = max(cells.values()) or 1
    size, left, head = 64, 72, 34
    width, height = left + size * len(predicted) + 8, head + size * len(actual) + 8
    parts = [f'<svg viewBox="0 0 {width} {height}" width="{min(width * 1.2, 460):.0f}" role="img">']
    parts.append(_text(left + size * len(predicted) / 2, 11, plot.x_label or predicted_field))
    parts.append(_upright(10, head + size * len(actual) / 2, plot.y_label or actual_field))
    for j, guess in enumerate(predicted):
        parts.append(_text(left + size * (j + 0.5), head - 6, guess))
    for i, truth in enumerate(actual):
        parts.append(_text(left - 6, head + size * (i + 0.5) + 4, truth, "end"))
        for j, guess in enumerate(predicted):
            value = cells.get((truth, guess), 0)
            shade = 0.08 + 0.92 * value / top
            shown = f"{value:.1%}" if normalized else f"{value:,.0f}"
            parts.append(
                f'<rect x="{left + size * j}" y="{head + size * i}" width="{size - 2}" '
                f'height="{size - 2}" fill="#0969da" fill-opacity="{shade:.2f}">'
                f"<title>{escape(f'actual {truth}, predicted {guess}: {shown}')}</title></rect>"
            )
            color = ' style="fill:#fff"' if shade > 0.55 else ' style="fill:#1f2328"'
            parts.append(
                _text(left + size * (j + 0.5) - 1, head + size * (i + 0.5) + 4, shown, extra=color)
            )
    parts.append("</svg>")
    return "".join(parts)


def chart(plot: Plot, data: dict[str, list[dict[str, Any]]]) -> str:
    if plot.template.startswith("confusion"):
        return _confusion_chart(plot, data)
    return _xy_chart(plot, data)
