"""Pieces of the single model's PR report that report_markdown and task_report share: the
Mermaid line chart's opening with its legend, and the table of both models on the same rows."""

from __future__ import annotations

import math

from .cells import VERDICTS, number
from .markdown import text
from .paired import Comparison

# The line colours of a two-sided Mermaid chart, fixed so that a legend can name them
# (xychart-beta draws none of its own).
LINE_COLOURS = (("#1f77b4", "blue"), ("#ff7f0e", "orange"))


def line_chart(labels: list[str]) -> list[str]:
    """The opening of a Mermaid line chart whose lines are `labels`' in order, and its legend
    as the caption that goes before it."""
    colours = LINE_COLOURS[: len(labels)]  # more lines than colours: Mermaid's own for the rest
    palette = ", ".join(code for code, _ in colours)
    named = ", ".join(
        f"{text(label)}: {name}" for label, (_, name) in zip(labels, colours, strict=False)
    )
    init = '%%{init: {"themeVariables": {"xyChart": {"plotColorPalette": "' + palette + '"}}}}%%'
    return [f"Lines: {named}.", "", "```mermaid", init, "xychart-beta"]


def same_rows_table(found: list[Comparison]) -> list[str]:
    """Both models on the PR's test rows: each difference with its interval and verdict."""
    if not found:
        return []
    level = f"{found[0].level:.0%}"
    rows = [
        f"Both models scored on this PR's {found[0].rows:,} test rows; the interval is paired"
        f" ({level}).",
        "",
        "| metric | main's model | PR's model | improvement | interval | verdict |",
        "|---|---:|---:|---:|---|---|",
    ]
    for item in found:
        ends = f"{item.low:+.4f} to {item.high:+.4f}" if math.isfinite(item.low) else "—"
        rows.append(
            f"| {text(item.metric)} | {number(item.champion)} | {number(item.candidate)} |"
            f" {item.improvement:+.4f} | {ends} | {VERDICTS[item.verdict]} |"
        )
    methods = ", ".join(dict.fromkeys(text(item.method.split(",")[0]) for item in found))
    return [*rows, "", f"<sub>Intervals: {methods}. Improvement: up is better.</sub>"]
