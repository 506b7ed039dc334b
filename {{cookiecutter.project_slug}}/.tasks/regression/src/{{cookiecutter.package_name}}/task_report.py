"""The regression task's sections of the PR report, drawn from both sides' plot data."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from .markdown import text
from .report_parts import line_chart

MOST_DATES = 20  # points of the error-over-time chart in the PR report


def thin(count: int, most: int) -> np.ndarray:
    """At most `most` evenly spaced positions out of `count`, always the first and last."""
    if count <= most:
        return np.arange(count)
    return np.unique(np.linspace(0, count - 1, most).round().astype(int))


def _short(date: str) -> str:
    """'2025-11-03' -> 'Nov 03 2025': short x-axis labels that still say the year."""
    return pd.Timestamp(date).strftime("%b %d %Y")


def _error_chart(plots: Mapping[str, Mapping[str, Any]]) -> list[str]:
    sides = {
        label: {point["week"]: point["mae"] for point in side.get("error_over_time") or []}
        for label, side in plots.items()
    }
    sides = {label: points for label, points in sides.items() if points}
    if not sides:
        return []
    labels = list(sides)
    dates = sorted(set.intersection(*(set(points) for points in sides.values())))
    if len(labels) > 1 and not dates:  # e.g. a PR that moved the data window: its own only
        labels = labels[-1:]
        dates = sorted(sides[labels[0]])
    dates = [dates[i] for i in thin(len(dates), MOST_DATES)]
    values = [[sides[label][date] for date in dates] for label in labels]
    top = max(max(line) for line in values)
    reach = float(f"{top * 1.1:.2g}") if top > 0 else 1.0
    axis = ", ".join(f'"{_short(date)}"' for date in dates)
    lines = ["### Error over time", "", *line_chart(labels)]
    lines += [f'    title "MAE per test date, {dates[0]} to {dates[-1]} ({" then ".join(labels)})"']
    lines += [f"    x-axis [{axis}]", f'    y-axis "MAE" 0 --> {reach:g}']
    lines += [f"    line [{', '.join(f'{value:g}' for value in line)}]" for line in values]
    return [*lines, "```", ""]


def _bias_table(plots: Mapping[str, Mapping[str, Any]], most: int = 50) -> list[str]:
    """Segments come from data: their names are escaped, and at most `most` are shown."""
    sides = {
        label: {row["segment"]: row["mean_error"] for row in side.get("residuals") or []}
        for label, side in plots.items()
    }
    sides = {label: rows for label, rows in sides.items() if rows}
    if not sides:
        return []
    names = sorted(set().union(*sides.values()))
    lines = ["### Mean error by segment (forecast - actual: above 0, too high)", ""]
    header = " | ".join(text(label) for label in sides)
    lines += [f"| segment | {header} |", "|---" + "|---:" * len(sides) + "|"]
    for name in names[:most]:
        cells = " | ".join(
            "—" if name not in rows else f"{rows[name]:+.2f}" for rows in sides.values()
        )
        lines.append(f"| {text(name)} | {cells} |")
    if len(names) > most:
        lines += ["", f"… and {len(names) - most:,} more segments (the residuals plot's data)."]
    return [*lines, ""]


def report_sections(plots: Mapping[str, Mapping[str, Any]], params: Any) -> list[str]:
    """The task's part of the PR report from each side's plot data ({"main": ..., "PR": ...}):
    the MAE per test date as one Mermaid chart and the mean error (bias) per segment."""
    return [*_error_chart(plots), *_bias_table(plots)]
