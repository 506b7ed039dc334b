"""The classification task's sections of the PR report, drawn from both sides' plot data."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .markdown import text
from .report_parts import line_chart

ROC_GRID = [round(step / 10, 1) for step in range(11)]


def _interpolate_tpr(roc: list[dict[str, float]]) -> list[float]:
    """TPR at fixed false-positive rates, so both curves share one x axis."""
    points = sorted((point["fpr"], point["tpr"]) for point in roc)
    values = []
    for x in ROC_GRID:
        below = [p for p in points if p[0] <= x]
        above = [p for p in points if p[0] >= x]
        (x0, y0), (x1, y1) = below[-1], above[0]
        values.append(round(y0 if x1 == x0 else y0 + (y1 - y0) * (x - x0) / (x1 - x0), 3))
    return values


def _confusion_table(sides: list[tuple[str, list[dict[str, Any]]]]) -> list[str]:
    def cell(entries: list[dict[str, Any]], actual: str, predicted: str) -> str:
        for entry in entries:
            if entry["actual"] == actual and entry["predicted"] == predicted:
                return f"{entry['count']:,}"
        return "—"

    header = " | ".join(f"{text(label)}: 0 | {text(label)}: 1" for label, _ in sides)
    rows = [f"| actual \\ predicted | {header} |", "|---" + "|---:" * (2 * len(sides)) + "|"]
    for actual in ("0", "1"):
        cells = " | ".join(
            f"{cell(entries, actual, '0')} | {cell(entries, actual, '1')}" for _, entries in sides
        )
        rows.append(f"| {actual} | {cells} |")
    return rows


def report_sections(plots: Mapping[str, Mapping[str, Any]], params: Any) -> list[str]:
    """The task's part of the PR report from each side's plot data ({"main": ..., "PR": ...}):
    the ROC curves as one Mermaid chart and the confusion counts."""
    lines: list[str] = []
    curves = [(label, side.get("roc") or []) for label, side in plots.items()]
    curves = [(label, roc) for label, roc in curves if roc]
    if curves:
        title = " then ".join(label for label, _ in curves)
        lines += ["### ROC", "", *line_chart([label for label, _ in curves])]
        lines += [f'    title "ROC ({title}): TPR at each FPR"']
        lines += [f"    x-axis [{', '.join(str(x) for x in ROC_GRID)}]", '    y-axis "TPR" 0 --> 1']
        lines += [
            f"    line [{', '.join(str(v) for v in _interpolate_tpr(roc))}]" for _, roc in curves
        ]
        lines += ["```", ""]
    sides = [(label, side.get("confusion") or []) for label, side in plots.items()]
    sides = [(label, entries) for label, entries in sides if entries]
    if sides:
        lines += [f"### Confusion matrix (threshold {params.model.threshold})", ""]
        lines += [*_confusion_table(sides), ""]
    return lines
