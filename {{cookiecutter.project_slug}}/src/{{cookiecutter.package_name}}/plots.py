"""The plots of dvc.yaml drawn as one page that needs no network: dvc_plots/index.html.

`dvc plots show` writes a page that loads its chart library from a CDN, so it
stays blank offline. This reads the same definitions (dvc.yaml `plots:`) and the
workspace's plot files, and draws each plot as inline SVG: no script, no link,
nothing to fetch. Templates: `confusion*` draw a matrix of counts
(`confusion_normalized`: shares of each actual class), `scatter*` draw points,
`bar_horizontal*` a bar from 0 to each x value, one per y category, any other a line per
y field. Image plots (PNG, SVG, ...) are embedded as they are.
"""

from __future__ import annotations

import base64
import csv
import json
import math
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any

import yaml

from .errors import DataError

PIPELINE = Path("dvc.yaml")
PAGE = Path("dvc_plots/index.html")
IMAGES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".svg": "image/svg+xml",
}
COLORS = ("#0969da", "#cf222e", "#1a7f37", "#8250df", "#bc4c00", "#57606a")
WIDTH, HEIGHT, LEFT, RIGHT, TOP, BOTTOM = 460, 300, 52, 12, 10, 40
MOST_X_LABELS = 6  # category labels along x (e.g. dates); more would overlap


@dataclass
class Series:
    file: str
    x: str | None  # None: the row number, as DVC's `step`
    y: str | None  # None: the last field of the file's rows


@dataclass
class Plot:
    title: str
    template: str
    series: list[Series]
    x_label: str | None = None
    y_label: str | None = None


def _fields(value: Any) -> list[str | None]:
    if value is None:
        return [None]
    return [str(value)] if isinstance(value, str) else [str(field) for field in value]


def definitions(pipeline: Any) -> list[Plot]:
    """dvc.yaml's `plots:`: `- file`, `- file: {x: ..., y: ...}`, `- title: {y: {file: y}}`."""
    plots = []
    for item in (pipeline or {}).get("plots") or []:
        for name, config in item.items() if isinstance(item, dict) else [(item, None)]:
            config = config or {}
            y, x = config.get("y"), config.get("x")
            files = y if isinstance(y, dict) else {name: y}
            series = []
            for file, fields in files.items():
                x_field = x.get(file, next(iter(x.values()), None)) if isinstance(x, dict) else x
                series += [Series(str(file), x_field, field) for field in _fields(fields)]
            plots.append(
                Plot(
                    title=str(config.get("title", name)),
                    template=str(config.get("template", "linear")),
                    series=series,
                    x_label=config.get("x_label"),
                    y_label=config.get("y_label"),
                )
            )
    return plots


def read_rows(path: Path) -> list[dict[str, Any]]:
    """A plot file's rows: JSON or YAML (a list of objects, or an object holding one), CSV, TSV."""
    if not path.is_file():
        raise DataError(f"{path}: no such plot file; run `dvc repro` first")
    suffix = path.suffix.lower()
    text = path.read_text(encoding="utf-8")
    if suffix in {".csv", ".tsv"}:
        return list(csv.DictReader(text.splitlines(), delimiter="\t" if suffix == ".tsv" else ","))
    try:
        data = json.loads(text) if suffix == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as error:
        raise DataError(f"{path}: not readable as {suffix.lstrip('.')}: {error}") from error
    if isinstance(data, dict):
        data = next((value for value in data.values() if isinstance(value, list)), [])
    if not isinstance(data, list) or not all(isinstance(row, dict) for row in data):
        raise DataError(f"{path}: expected a list of objects")
    return data


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


def _image(path: Path) -> str:
    if not path.is_file():
        raise DataError(f"{path}: no such plot file; run `dvc repro` first")
    encoded = base64.b64encode(path.read_bytes()).decode("ascii")
    source = f"data:{IMAGES[path.suffix.lower()]};base64,{encoded}"
    return f'<img alt="{escape(str(path))}" src="{source}">'


def chart(plot: Plot, data: dict[str, list[dict[str, Any]]]) -> str:
    if plot.template.startswith("confusion"):
        return _confusion_chart(plot, data)
    return _xy_chart(plot, data)


STYLE = """
body { font: 15px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 70rem; color: #1f2328;
       padding: 0 1rem; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.1rem; margin: 0 0 .3rem; }
code { font-size: 90%; background: #eff1f3; padding: .1rem .3rem; border-radius: 4px; }
.plots { display: grid; grid-template-columns: repeat(auto-fill, minmax(28rem, 1fr)); gap: 1rem; }
.card { border: 1px solid #d0d7de; border-radius: 6px; padding: .8rem; }
.card img { max-width: 100%; }
svg text { font-size: 11px; fill: #57606a; } svg line.grid { stroke: #d0d7de; stroke-width: 1; }
.legend span { display: inline-block; width: .8rem; height: .8rem; margin: 0 .3rem 0 .8rem; }
"""


def page(plots: list[Plot], root: Path = Path()) -> str:
    """The whole page; plot files are read relative to `root`."""
    cards = []
    for plot in plots:
        files = dict.fromkeys(series.file for series in plot.series)
        images = [file for file in files if Path(file).suffix.lower() in IMAGES]
        if images:
            body = "".join(_image(root / file) for file in images)
        else:
            body = chart(plot, {file: read_rows(root / file) for file in files})
        sources = ", ".join(f"<code>{escape(file)}</code>" for file in files)
        cards.append(
            f'<div class="card"><h2>{escape(plot.title)}</h2>{body}<div>from {sources}</div></div>'
        )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Plots</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>{STYLE}</style></head><body>
<h1>Plots</h1>
<p>The plots of <code>dvc.yaml</code>, drawn from the plot files in this workspace
(no script: the page needs no network). Hover a cell or a point for its numbers.</p>
<div class="plots">{"".join(cards)}</div>
</body></html>
"""


def main() -> None:
    if not PIPELINE.is_file():
        raise DataError(f"{PIPELINE} not found; run this from the repository root")
    plots = definitions(yaml.safe_load(PIPELINE.read_text(encoding="utf-8")))
    if not plots:
        raise DataError(f"{PIPELINE} defines no plots")
    PAGE.parent.mkdir(parents=True, exist_ok=True)
    PAGE.write_text(page(plots), encoding="utf-8")  # a view: kept free of pandas (files.py)
    print(f"plots: {len(plots)} plots -> {PAGE.resolve().as_uri()}")
