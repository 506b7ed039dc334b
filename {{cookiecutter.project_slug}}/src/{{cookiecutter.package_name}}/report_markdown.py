"""The PR report's Markdown: a pure function of both sides of the comparison that reads well on
a phone. Charts are Mermaid blocks, which GitHub renders without any image hosting."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from . import fairness, task_report
from .cells import LOWER_IS_BETTER, NEUTRAL, SAME, change, more, number, parameter
from .gate import gate, improvement, interval
from .markdown import cap, code, text
from .paired import SEGMENT, Comparison
from .params import Params
from .report_parts import same_rows_table
from .task import METRICS as METRIC_DIRECTIONS

IMPORTANCE_ROWS = 5  # features in the report's importance table


PARAM_ROWS = 50  # rows of the parameters table; the rest are counted


SEGMENT_ROWS = 50  # rows of the segments table; the rest are counted


FAILURE_ROWS = 20  # failed expectations listed; the rest are counted


OBSERVED = 200  # characters of a failed expectation's observation


@dataclass
class Side:
    """What the report needs from one revision; empty where that revision has nothing."""

    metrics: dict[str, float] = field(default_factory=dict)
    segments: dict[str, dict[str, float]] = field(default_factory=dict)
    plots: dict[str, Any] = field(default_factory=dict)  # task.PLOTS' data by name
    importance: dict[str, float] = field(default_factory=dict)  # feature -> importance
    fairness: dict[str, Any] = field(default_factory=dict)  # reports/fairness.json
    data_md5: str | None = None


@dataclass
class Inputs:
    base_name: str
    base: Side
    head: Side
    params_changed: dict[str, tuple[Any, Any]]
    validation: dict[str, Any] | None = None
    run_url: str | None = None
    head_name: str = "the workspace"
    paired: dict[str, Comparison] = field(default_factory=dict)  # both models, the PR's rows
    paired_note: str | None = None  # why base's model was not scored on them


def verdict(inputs: Inputs, params: Params) -> str:
    primary = params.model.primary_metric
    direction = "higher" if METRIC_DIRECTIONS[primary] else "lower"
    new = inputs.head.metrics.get(primary, math.nan)
    old = inputs.base.metrics.get(primary)
    if math.isnan(new):
        return f"**No result**: the PR has no `{primary}` (did the pipeline run?)"
    if old is None or math.isnan(old):
        return (
            f"**First model**: `{primary}` {number(new)} ({inputs.base_name} has none to compare)"
        )
    found = inputs.paired.get(primary)
    if found is not None:
        word = found.verdict.capitalize()
        return (
            f"**{word}** on the same {found.rows:,} test rows: `{primary}` {number(found.champion)}"
            f" (main's model) → {number(found.candidate)} (this PR), {interval(found)};"
            f" {direction} is better"
        )
    gain = improvement(primary, new, old)
    word = "Unchanged" if abs(gain) < SAME else "Better" if gain > 0 else "Worse"
    change = f"{new - old:+.4f}; {direction} is better"
    line = f"**{word}**: `{primary}` {number(old)} → {number(new)} ({change})"
    if inputs.paired_note:
        line += (
            f"\n\nRecorded metrics, each measured on its own test rows: main's model was not"
            f" scored on this PR's rows ({text(inputs.paired_note, 300)})."
        )
    return line


def _metrics_table(inputs: Inputs, primary: str) -> list[str]:
    known = [primary, *METRIC_DIRECTIONS, *LOWER_IS_BETTER, *NEUTRAL]
    order = {name: position for position, name in reversed(list(enumerate(known)))}
    found = {*inputs.head.metrics, *inputs.base.metrics}
    names = sorted(found, key=lambda name: (order.get(name, len(order)), name))
    rows = ["| metric | main | PR | change |", "|---|---:|---:|---|"]
    for name in names:
        old, new = inputs.base.metrics.get(name), inputs.head.metrics.get(name)
        label = f"**{text(name)}**" if name == primary else text(name)
        found = inputs.paired.get(name)
        cell = change(name, new, old, found.verdict if found else None)
        rows.append(f"| {label} | {number(old)} | {number(new)} | {cell} |")
    return rows


def _segments_table(inputs: Inputs, primary: str) -> list[str]:
    names = sorted(set(inputs.base.segments) | set(inputs.head.segments))
    if not names:
        return []
    rows = [f"| segment | main {primary} | PR {primary} | change |", "|---|---:|---:|---|"]
    for name in names[:SEGMENT_ROWS]:
        old = inputs.base.segments.get(name, {}).get(primary)
        new = inputs.head.segments.get(name, {}).get(primary)
        found = inputs.paired.get(f"{SEGMENT}{name}")
        if found is not None:  # both models on the PR's rows of the segment
            old, new = found.champion, found.candidate
        mark = found.verdict if found else "" if inputs.paired else None
        cells = f"{number(old)} | {number(new)} | {change(primary, new, old, mark)}"
        rows.append(f"| {text(name)} | {cells} |")
    return rows + more(len(names) - SEGMENT_ROWS, "reports/segments.json")


def _axis(values: list[float]) -> str:
    """A y range around zero that fits `values`, so that a change of 0.0008 shows."""
    reach = max([abs(value) for value in values] + [SAME]) * 1.25
    digits = max(2, 1 - math.floor(math.log10(reach)))
    reach = round(reach, digits)
    return f"{-reach} --> {reach}"


def _charts(inputs: Inputs, primary: str) -> list[str]:
    """How much better each metric got (PR vs main; up is better, whichever way the metric
    goes), as bars on a zoomed axis: on the same rows when both models were scored there."""
    gains: dict[str, float] = {}
    for name in dict.fromkeys([primary, *METRIC_DIRECTIONS]):
        found = inputs.paired.get(name)
        new, old = inputs.head.metrics.get(name, math.nan), inputs.base.metrics.get(name, math.nan)
        gain = improvement(name, new, old) if not inputs.paired else math.nan
        gain = found.improvement if found else gain
        if not math.isnan(gain):
            gains[name] = round(gain, 6)
    if not gains:
        return []
    rows = " on the same rows" if inputs.paired else ""
    return [
        "```mermaid",
        "xychart-beta",
        f'    title "Improvement of each metric{rows}, PR vs main (up is better)"',
        f"    x-axis [{', '.join(gains)}]",
        f'    y-axis "improvement" {_axis(list(gains.values()))}',
        f"    bar [{', '.join(f'{gain:.6f}' for gain in gains.values())}]",
        "```",
    ]


def _importance_table(inputs: Inputs) -> list[str]:
    """The features whose permutation importance changed most (or, without main's, the top)."""
    head, base = inputs.head.importance, inputs.base.importance
    if not head:
        return []
    if base:
        names = sorted(head, key=lambda name: -abs(head[name] - base.get(name, 0.0)))
        intro = "Features whose importance changed most:"
    else:
        names = sorted(head, key=lambda name: -head[name])
        intro = "Most important features (main has no importance to compare):"
    rows = [intro, "", "| feature | main | PR | change |", "|---|---:|---:|---|"]
    for name in names[:IMPORTANCE_ROWS]:
        old, new = base.get(name), head[name]
        change = "" if old is None else f"{new - old:+.4f}"
        rows.append(f"| {text(name)} | {number(old)} | {number(new)} | {change} |")
    return rows


def build(inputs: Inputs, params: Params) -> str:
    """The report as Markdown; pure."""
    primary = params.model.primary_metric
    champion = inputs.base.metrics or None
    decision = gate(
        inputs.head.metrics,
        champion,
        params.gate,
        primary,
        against="main",
        segmented=params.data.schema_.segment is not None,
        paired=inputs.paired.get(primary),
        fair=(inputs.head.fairness, params.fairness.max_gap),
    )
    lines = [
        f"## Model report: {code(params.model.name)}",
        "",
        verdict(inputs, params),
        "",
        (
            f"Merge gate against main: ✅ **would pass** ({decision.summary})"
            if decision.passed
            else f"Merge gate against main: ❌ **would hold the model back**: {decision.summary}"
        ),
        "",
        "<sub>On merge, promote applies the same gate to the registry's champion.</sub>",
        "",
    ]
    overall = [found for key, found in inputs.paired.items() if not key.startswith(SEGMENT)]
    same = same_rows_table(overall)
    if same:
        lines += ["### On the same rows", "", *same, ""]
        if inputs.base.data_md5 != inputs.head.data_md5:
            lines += [
                "The training data changed: main's recorded metrics below were measured on"
                " other test rows, so only the table above compares like with like.",
                "",
            ]
    lines += [
        f"### Metrics (main = {code(inputs.base_name)}; PR = {inputs.head_name})",
        "",
        *_metrics_table(inputs, primary),
    ]
    segments = _segments_table(inputs, primary)
    if params.data.schema_.segment is None:
        lines += [
            "",
            "No segment column (`data.schema.segment`): no per-segment metrics and no"
            " segment-gap check.",
        ]
    elif segments:
        same = " (both models on the PR's test rows)" * any(SEGMENT in key for key in inputs.paired)
        lines += ["", f"### `{primary}` by segment{same}", "", *segments]
    lines += ["", "### Parameters", ""]
    if inputs.params_changed:
        lines += ["| parameter | main | PR |", "|---|---|---|"]
        changed = list(inputs.params_changed.items())
        lines += [
            f"| {code(name, cell=True)} | {parameter(old)} | {parameter(new)} |"
            for name, (old, new) in changed[:PARAM_ROWS]
        ]
        lines += more(len(changed) - PARAM_ROWS, "`dvc params diff`")
    else:
        lines += ["No parameter changed."]
    lines += ["", "### Data", ""]
    old_md5, new_md5 = inputs.base.data_md5, inputs.head.data_md5
    if new_md5 is None:
        lines += ["The PR has no training snapshot in `dvc.lock` (did the pipeline run?)."]
    elif old_md5 is None:
        lines += [f"Training snapshot {code(new_md5[:12])} is new (main has none)."]
    elif old_md5 == new_md5:
        lines += [f"Training data unchanged ({code(new_md5[:12])})."]
    else:
        lines += [f"Training data **changed**: {code(old_md5[:12])} → {code(new_md5[:12])}."]
    lines += ["", "### Data validation", ""]
    validation = inputs.validation
    if validation is None:
        lines += ["No validation report (`reports/validation.json`)."]
    else:
        stats = validation.get("statistics", {})
        met, total = (
            text(stats.get("successful_expectations", "?"), 20),
            text(stats.get("evaluated_expectations", "?"), 20),
        )
        rows = stats.get("rows")
        on_rows = f" on {rows:,} rows" if isinstance(rows, int) else ""
        if validation.get("success"):
            lines += [f"✅ {met}/{total} expectations met{on_rows}."]
        else:
            lines += [f"❌ {met}/{total} expectations met{on_rows}. Failed:"]
            failures = validation.get("failures", [])
            for failure in failures[:FAILURE_ROWS]:
                column = f" on {code(failure['column'])}" if failure.get("column") else ""
                observed = text(failure.get("observed"), OBSERVED)
                lines += [f"- {code(failure['expectation'])}{column}: observed {observed}"]
            lines += more(len(failures) - FAILURE_ROWS, "reports/validation.json")
    charts = _charts(inputs, primary)
    if charts:
        lines += ["", "### Charts", "", *charts]
    if inputs.head.fairness:
        lines += ["", "### Fairness (the PR's test rows; 95% bootstrap intervals)", ""]
        lines += fairness.lines(inputs.head.fairness, inputs.base.fairness)
    importance = _importance_table(inputs)
    if importance:
        lines += ["", f"### Feature importance ({primary} worse when shuffled)", "", *importance]
    sides = {"main": inputs.base.plots, "PR": inputs.head.plots}
    sections = task_report.report_sections(sides, params)
    if sections:
        lines += ["", *sections]
    if inputs.run_url:
        lines += ["", f"[Workflow run]({inputs.run_url})"]
    return cap("\n".join(lines) + "\n")
