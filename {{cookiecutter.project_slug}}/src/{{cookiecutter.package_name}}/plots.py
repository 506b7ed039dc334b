"""The plots of dvc.yaml drawn as one page that needs no network: dvc_plots/index.html.

`dvc plots show` writes a page that loads its chart library from a CDN, so it
stays blank offline. This reads the same definitions (dvc.yaml `plots:`) and the
workspace's plot files, and draws each plot with matplotlib as inline SVG: no
script, no link, nothing to fetch. Templates: `confusion*` draw a matrix of counts
(`confusion_normalized`: shares of each actual class), `scatter*` draw points,
`bar_horizontal*` a bar from 0 to each x value, one per y category, any other a line per
y field. An x of ISO dates (`2025-01-27`) is a date axis. Image plots (PNG, SVG, ...) are
embedded as they are.
"""

from __future__ import annotations

import base64
import csv
import json
import math
from dataclasses import dataclass
from datetime import datetime
from html import escape
from pathlib import Path
from typing import Any

import yaml

from .errors import DataError
from .svg_chart import COLORS, cut, svg

PIPELINE = Path("dvc.yaml")
PAGE = Path("dvc_plots/index.html")
IMAGES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".svg": "image/svg+xml",
}


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


def _image(path: Path) -> str:
    if not path.is_file():
        raise DataError(f"{path}: no such plot file; run `dvc repro` first")
    encoded = base64.b64encode(path.read_bytes()).decode("ascii")
    source = f"data:{IMAGES[path.suffix.lower()]};base64,{encoded}"
    return f'<img alt="{escape(str(path))}" src="{source}">'


def _drawable(value: Any) -> bool:
    """Not a gap: null, NaN and infinity (JSON null, or inf in a CSV) are left out."""
    if value is None:
        return False
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError):
        return True  # a category or a date


def _axis(values: list[Any]) -> list[Any]:
    """Numbers if all are, else dates if all are ISO 8601, else text (categories)."""
    for read in (float, datetime.fromisoformat):
        try:
            return [read(value) for value in values]
        except (TypeError, ValueError):
            continue
    return [cut(value) for value in values]


def _lines(plot: Plot, data: dict[str, list[dict[str, Any]]]) -> list[tuple[str, list, list]]:
    """Per series: its name, its x and its y values, gaps left out."""
    lines = []
    for series in plot.series:
        rows = data[series.file]
        if not rows:  # e.g. no ROC when the held-out split has one class only
            continue
        y = series.y or list(rows[0])[-1]
        for field in (series.x, y):
            if field is not None and any(field not in row for row in rows):
                raise DataError(f"{series.file}: a row has no field {field!r}")
        xs = [row[series.x] for row in rows] if series.x else list(range(len(rows)))
        ys = [row[y] for row in rows]
        pairs = [pair for pair in zip(xs, ys, strict=True) if all(map(_drawable, pair))]
        if pairs:
            name = str(y) if len(plot.series) == 1 else f"{series.file}: {y}"
            lines.append((name, [a for a, _ in pairs], [b for _, b in pairs]))
    return lines


def _xy_chart(plot: Plot, data: dict[str, list[dict[str, Any]]]) -> str:
    lines = _lines(plot, data)
    if not lines:
        return "<p>No rows to draw.</p>"
    bars = plot.template.startswith("bar_horizontal")
    # bars: a row per y category (numbers or not), the series' bars side by side in it
    rows = list(dict.fromkeys(cut(y) for _, _, ys in lines for y in ys)) if bars else []

    def draw(ax: Any) -> None:
        for i, (name, xs, ys) in enumerate(lines):
            style = {"color": COLORS[i % len(COLORS)], "label": cut(name)}
            if bars:
                thick = 0.8 / len(lines)
                at = [rows.index(cut(y)) - 0.4 + (i + 0.5) * thick for y in ys]
                drawn = ax.barh(at, _axis(xs), height=thick, **style)
                ax.bar_label(drawn, fmt="{:,.4g}", padding=2, fontsize=8)
            elif plot.template.startswith("scatter"):
                ax.scatter(_axis(xs), _axis(ys), s=10, alpha=0.6, linewidths=0, **style)
            else:
                ax.plot(_axis(xs), _axis(ys), linewidth=1.8, **style)
        if bars:
            ax.set_yticks(range(len(rows)), rows)
            ax.invert_yaxis()  # the first category on top
            ax.axvline(0, color="#57606a", linewidth=0.8)
            ax.margins(x=0.12)
            ax.grid(axis="y", visible=False)
        if not bars and isinstance(_axis(lines[0][1])[0], str):  # categories along x
            from matplotlib.ticker import MaxNLocator

            ax.xaxis.set_major_locator(MaxNLocator(6, integer=True))  # more would overlap
        y_label = plot.y_label or (lines[0][0] if len(lines) == 1 else "")
        ax.set(xlabel=cut(plot.x_label or plot.series[0].x or "step"), ylabel=cut(y_label))
        if len(lines) > 1:
            ax.legend()

    return svg(draw, height=max(3.4, 1 + 0.3 * len(rows)))


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
    matrix = [[cells.get((a, p), 0) for p in predicted] for a in actual]
    top = max(cells.values()) or 1

    def draw(ax: Any) -> None:
        ax.pcolormesh(matrix, cmap="Blues", vmin=0, vmax=top, edgecolors="white", linewidth=2)
        for i, values in enumerate(matrix):
            for j, value in enumerate(values):
                shown = f"{value:.1%}" if normalized else f"{value:,.0f}"
                color = "white" if value > 0.55 * top else "#1f2328"
                ax.text(j + 0.5, i + 0.5, shown, ha="center", va="center", color=color)
        ax.set_xticks([j + 0.5 for j in range(len(predicted))], [cut(p) for p in predicted])
        ax.set_yticks([i + 0.5 for i in range(len(actual))], [cut(a) for a in actual])
        ax.set_xlabel(cut(plot.x_label or predicted_field))
        ax.set_ylabel(cut(plot.y_label or actual_field))
        ax.invert_yaxis()  # the first class on top
        ax.set_aspect("equal")
        ax.grid(False)
        ax.tick_params(length=0)
        ax.set_frame_on(False)

    width, height = (min(8.0, 1.5 + 0.9 * len(names)) for names in (predicted, actual))
    return svg(draw, width=width, height=height)


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
.card img, .card svg { max-width: 100%; height: auto; }
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
(no script: the page needs no network).</p>
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
