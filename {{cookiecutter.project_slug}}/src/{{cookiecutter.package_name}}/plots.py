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
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any

import yaml

from .errors import DataError
from .svg_chart import chart

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
