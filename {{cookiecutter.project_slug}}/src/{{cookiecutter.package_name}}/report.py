"""The pull-request report: the workspace compared with a base revision.

`collect` asks DVC and git for the two sides (metrics and params diffs from
`dvc metrics diff --json` / `dvc params diff --json`, plot data, the data hash
in dvc.lock); `build` is a pure function from those to Markdown that reads
well on a phone. Charts are Mermaid blocks, which GitHub renders without any
image hosting.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from . import task
from .errors import PipelineError
from .files import IMPORTANCE, METRICS, PIPELINE_LOCK, PLOTS, SEGMENTS, VALIDATION, write_text
from .gate import gate, improvement
from .markdown import cap, code, text
from .params import Params
from .task import METRICS as METRIC_DIRECTIONS

# Extra metrics whose direction is known: smaller segment gaps are better.
LOWER_IS_BETTER = {"segment_gap"}
NEUTRAL = {"test_rows"}
SAME = 1e-4  # changes smaller than this count as unchanged
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


# ---------------------------------------------------------------- collecting


def _run(args: list[str]) -> str:
    done = subprocess.run(args, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()
        raise PipelineError(
            f"`{' '.join(args)}` failed: {detail[-1] if detail else done.returncode}"
        )
    return done.stdout


def _number(value: Any) -> float:
    return (
        float(value) if isinstance(value, int | float) and not isinstance(value, bool) else math.nan
    )


def _load(rev: str | None, path: Path) -> Any:
    """A JSON or YAML file in the workspace (rev None) or at a git revision; None if absent."""
    if rev is None:
        text = path.read_text() if path.is_file() else None
    else:
        shown = ["git", "show", f"{rev}:{path.as_posix()}"]
        done = subprocess.run(shown, capture_output=True, text=True, check=False)
        text = done.stdout if done.returncode == 0 else None
    if not text or not text.strip():
        return None
    return json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)


def _side(rev: str | None, metrics: dict[str, float], segments: dict[str, float]) -> Side:
    """One side of the comparison: DVC's metric values plus plot data and data hash from `rev`."""
    return Side(
        metrics=metrics,
        segments=_nest(segments),
        plots={name: _load(rev, PLOTS / f"{name}.json") or [] for name in task.PLOTS},
        importance=_importance(_load(rev, IMPORTANCE)),
        data_md5=_data_md5(_load(rev, PIPELINE_LOCK)),
    )


def _importance(found: Any) -> dict[str, float]:
    try:
        return {entry["feature"]: float(entry["importance"]) for entry in found["features"]}
    except (KeyError, TypeError, ValueError):
        return {}


def _data_md5(lock: dict[str, Any] | None) -> str | None:
    try:
        return lock["stages"]["ingest"]["outs"][0]["md5"]  # type: ignore[index]
    except (KeyError, IndexError, TypeError):
        return None


def _split_diff(diff: dict[str, dict[str, Any]], key: str) -> tuple[dict, dict]:
    """DVC's {file: {name: {old, new}}} -> (old values, new values) of one file."""
    old, new = {}, {}
    for name, values in diff.get(key, {}).items():
        if values.get("old") is not None:
            old[name] = _number(values["old"])
        if values.get("new") is not None:
            new[name] = _number(values["new"])
    return old, new


def _nest(flat: dict[str, float]) -> dict[str, dict[str, float]]:
    """{'north.f1': 0.8} -> {'north': {'f1': 0.8}}"""
    nested: dict[str, dict[str, float]] = {}
    for key, value in flat.items():
        segment, _, metric = key.rpartition(".")
        nested.setdefault(segment, {})[metric] = value
    return nested


def run_url() -> str | None:
    """Link to the workflow run, when running in GitHub Actions."""
    parts = [
        os.environ.get(name) for name in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID")
    ]
    return f"{parts[0]}/{parts[1]}/actions/runs/{parts[2]}" if all(parts) else None


def _is_revision(rev: str) -> bool:
    revision = ["git", "rev-parse", "--verify", "--quiet", rev + "^{commit}"]
    return subprocess.run(revision, capture_output=True, check=False).returncode == 0


def resolve_base(base: str) -> str:
    """`base`, or for `<remote>/<branch>` in a repository without that remote (a fresh bake,
    before its first push) the local branch of the same name."""
    remote, _, branch = base.partition("/")
    if _is_revision(base) or not branch:
        return base
    has_remote = subprocess.run(["git", "remote", "get-url", remote], capture_output=True)
    if has_remote.returncode != 0 and _is_revision(branch):
        print(f"report: no remote {remote!r} yet: comparing with the local branch {branch!r}")
        return branch
    return base


DVC = [sys.executable, "-m", "dvc"]  # the DVC of this environment, activated or not


def require_revision(base: str) -> None:
    if not _is_revision(base):
        raise PipelineError(
            f"report: {base!r} is not a revision of this repository; "
            "fetch it or pass another with --base (e.g. --base main or --base HEAD~1)"
        )


def params_changed(base: str) -> dict[str, tuple[Any, Any]]:
    """Each param that differs between `base` and the workspace: (old, new), by name."""
    params_diff = json.loads(_run([*DVC, "params", "diff", base, "--json"]) or "{}")
    changed = {
        name: (values.get("old"), values.get("new"))
        for changes in params_diff.values()
        for name, values in changes.items()
    }
    return dict(sorted(changed.items()))


def head_name() -> str:
    return f"the workspace at `{_run(['git', 'rev-parse', '--short', 'HEAD']).strip()}`"


def collect(base: str) -> Inputs:
    """Ask DVC and git for both sides of the comparison."""
    require_revision(base)
    metrics_diff = json.loads(_run([*DVC, "metrics", "diff", base, "--all", "--json"]) or "{}")
    old_metrics, new_metrics = _split_diff(metrics_diff, METRICS.as_posix())
    old_segments, new_segments = _split_diff(metrics_diff, SEGMENTS.as_posix())
    return Inputs(
        base_name=base,
        base=_side(base, old_metrics, old_segments),
        head=_side(None, new_metrics, new_segments),
        params_changed=params_changed(base),
        validation=_load(None, VALIDATION),
        run_url=run_url(),
        head_name=head_name(),
    )


# ---------------------------------------------------------------- building


def _fmt(value: float | None) -> str:
    if value is None:
        return "—"
    if isinstance(value, float) and math.isnan(value):
        return "n/a"
    if float(value).is_integer() and abs(value) >= 10:
        return f"{int(value):,}"
    return f"{value:.4f}"


def _gain(name: str, new: float, old: float) -> float | None:
    """How much better (positive) or worse; None where the metric has no direction."""
    if name in NEUTRAL or math.isnan(new) or math.isnan(old):
        return None
    if name in LOWER_IS_BETTER:
        return old - new
    if name in METRIC_DIRECTIONS:
        return improvement(name, new, old)
    return None


def _change(name: str, new: float | None, old: float | None) -> str:
    if new is None or old is None:
        return "new" if old is None and new is not None else "removed" if new is None else ""
    if math.isnan(new) or math.isnan(old):
        return "n/a"
    delta = new - old
    if abs(delta) < SAME:
        return "= 0"
    arrow = "▲" if delta > 0 else "▼"
    gain = _gain(name, new, old)
    mark = "" if gain is None else (" 🟢" if gain > 0 else " 🔴")
    return f"{arrow} {delta:+,.0f}{mark}" if name in NEUTRAL else f"{arrow} {delta:+.4f}{mark}"


def verdict(inputs: Inputs, params: Params) -> str:
    primary = params.model.primary_metric
    direction = "higher" if METRIC_DIRECTIONS[primary] else "lower"
    new = inputs.head.metrics.get(primary, math.nan)
    old = inputs.base.metrics.get(primary)
    if math.isnan(new):
        return f"**No result**: the PR has no `{primary}` (did the pipeline run?)"
    if old is None or math.isnan(old):
        return f"**First model**: `{primary}` {_fmt(new)} ({inputs.base_name} has none to compare)"
    gain = improvement(primary, new, old)
    word = "Unchanged" if abs(gain) < SAME else "Better" if gain > 0 else "Worse"
    change = f"{new - old:+.4f}; {direction} is better"
    return f"**{word}**: `{primary}` {_fmt(old)} → {_fmt(new)} ({change})"


def _metrics_table(inputs: Inputs, primary: str) -> list[str]:
    known = [primary, *METRIC_DIRECTIONS, *LOWER_IS_BETTER, *NEUTRAL]
    order = {name: position for position, name in reversed(list(enumerate(known)))}
    found = {*inputs.head.metrics, *inputs.base.metrics}
    names = sorted(found, key=lambda name: (order.get(name, len(order)), name))
    rows = ["| metric | main | PR | change |", "|---|---:|---:|---|"]
    for name in names:
        old, new = inputs.base.metrics.get(name), inputs.head.metrics.get(name)
        label = f"**{text(name)}**" if name == primary else text(name)
        rows.append(f"| {label} | {_fmt(old)} | {_fmt(new)} | {_change(name, new, old)} |")
    return rows


def _segments_table(inputs: Inputs, primary: str) -> list[str]:
    names = sorted(set(inputs.base.segments) | set(inputs.head.segments))
    if not names:
        return []
    rows = [f"| segment | main {primary} | PR {primary} | change |", "|---|---:|---:|---|"]
    for name in names[:SEGMENT_ROWS]:
        old = inputs.base.segments.get(name, {}).get(primary)
        new = inputs.head.segments.get(name, {}).get(primary)
        cells = f"{_fmt(old)} | {_fmt(new)} | {_change(primary, new, old)}"
        rows.append(f"| {text(name)} | {cells} |")
    return rows + _more(len(names) - SEGMENT_ROWS, "reports/segments.json")


def _more(left: int, where: str) -> list[str]:
    """The line that counts what a bounded list left out."""
    return ["", f"… and {left:,} more ({where})."] if left > 0 else []


def _value(value: Any) -> str:
    """A parameter's value in a table cell: a code span, on one line, cut to a width."""
    if value is None:
        return "—"
    return code(value if isinstance(value, str) else json.dumps(value), cell=True)


def _axis(values: list[float]) -> str:
    """A y range around zero that fits `values`, so that a change of 0.0008 shows."""
    reach = max([abs(value) for value in values] + [SAME]) * 1.25
    digits = max(2, 1 - math.floor(math.log10(reach)))
    reach = round(reach, digits)
    return f"{-reach} --> {reach}"


def _charts(inputs: Inputs, primary: str) -> list[str]:
    """How much better each metric got (PR vs main; up is better, whichever way the metric
    goes), as bars on a zoomed axis."""
    names = [
        name
        for name in dict.fromkeys([primary, *METRIC_DIRECTIONS])
        if not math.isnan(inputs.head.metrics.get(name, math.nan))
        and not math.isnan(inputs.base.metrics.get(name, math.nan))
    ]
    if not names:
        return []
    gains = [
        round(improvement(name, inputs.head.metrics[name], inputs.base.metrics[name]), 6)
        for name in names
    ]
    return [
        "```mermaid",
        "xychart-beta",
        '    title "Improvement of each metric, PR vs main (up is better)"',
        f"    x-axis [{', '.join(names)}]",
        f'    y-axis "improvement" {_axis(gains)}',
        f"    bar [{', '.join(f'{gain:.6f}' for gain in gains)}]",
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
        rows.append(f"| {text(name)} | {_fmt(old)} | {_fmt(new)} | {change} |")
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
        lines += ["", f"### `{primary}` by segment", "", *segments]
    lines += ["", "### Parameters", ""]
    if inputs.params_changed:
        lines += ["| parameter | main | PR |", "|---|---|---|"]
        changed = list(inputs.params_changed.items())
        lines += [
            f"| {code(name, cell=True)} | {_value(old)} | {_value(new)} |"
            for name, (old, new) in changed[:PARAM_ROWS]
        ]
        lines += _more(len(changed) - PARAM_ROWS, "`dvc params diff`")
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
            lines += _more(len(failures) - FAILURE_ROWS, "reports/validation.json")
    charts = _charts(inputs, primary)
    if charts:
        lines += ["", "### Charts", "", *charts]
    importance = _importance_table(inputs)
    if importance:
        lines += ["", f"### Feature importance ({primary} worse when shuffled)", "", *importance]
    sections = task.report_sections({"main": inputs.base.plots, "PR": inputs.head.plots}, params)
    if sections:
        lines += ["", *sections]
    if inputs.run_url:
        lines += ["", f"[Workflow run]({inputs.run_url})"]
    return cap("\n".join(lines) + "\n")


def main(base: str, out: Path) -> None:
    from .params import load_params

    params = load_params()
    base = resolve_base(base)
    text = build(collect(base), params)
    write_text(text, out)
    print(f"report: {base} vs workspace -> {out}")
