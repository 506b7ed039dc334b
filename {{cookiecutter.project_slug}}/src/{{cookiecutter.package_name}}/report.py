"""The pull-request report: the workspace compared with a base revision.

`collect` asks DVC and git for the two sides (metrics and params diffs from
`dvc metrics diff --json` / `dvc params diff --json`, plot data, the data hash
in dvc.lock); `report_markdown.build` turns them into Markdown.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from . import lock, task
from .errors import DataError
from .files import (
    FAIRNESS,
    IMPORTANCE,
    METRICS,
    MODEL,
    PLOTS,
    SEGMENTS,
    TRAINING_DATA,
    VALIDATION,
    load_model,
    read_table,
    write_text,
)
from .github import run_url
from .params import Params
from .report_markdown import Inputs, Side, build
from .revisions import head_name, load, require_revision, resolve_base


def _number(value: Any) -> float:
    return (
        float(value) if isinstance(value, int | float) and not isinstance(value, bool) else math.nan
    )


def _side(rev: str | None, metrics: dict[str, float], segments: dict[str, float]) -> Side:
    """One side of the comparison: DVC's metric values plus plot data and data hash from `rev`."""
    return Side(
        metrics=metrics,
        segments=_nest(segments),
        plots={name: load(rev, PLOTS / f"{name}.json") or [] for name in task.PLOTS},
        importance=_importance(load(rev, IMPORTANCE)),
        fairness=load(rev, FAIRNESS) or {},
        data_md5=lock.data_md5(lock.read(rev)),
    )


def _importance(found: Any) -> dict[str, float]:
    try:
        return {entry["feature"]: float(entry["importance"]) for entry in found["features"]}
    except (KeyError, TypeError, ValueError):
        return {}


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


def params_changed(base: str) -> dict[str, tuple[Any, Any]]:
    """Each param that differs between `base` and the workspace: (old, new), by name."""
    params_diff = lock.diff("params", base)
    changed = {
        name: (values.get("old"), values.get("new"))
        for changes in params_diff.values()
        for name, values in changes.items()
    }
    return dict(sorted(changed.items()))


def collect(base: str) -> Inputs:
    """Ask DVC and git for both sides of the comparison."""
    require_revision(base)
    metrics_diff = lock.diff("metrics", base)
    old_metrics, new_metrics = _split_diff(metrics_diff, METRICS.as_posix())
    old_segments, new_segments = _split_diff(metrics_diff, SEGMENTS.as_posix())
    return Inputs(
        base_name=base,
        base=_side(base, old_metrics, old_segments),
        head=_side(None, new_metrics, new_segments),
        params_changed=params_changed(base),
        validation=load(None, VALIDATION),
        run_url=run_url(),
        head_name=head_name(),
    )


def against_base(base: str, params: Params) -> tuple[dict[str, Any], str | None]:
    """Every metric of base's model against the workspace's, on the workspace's test rows;
    or nothing and why not (the caller then compares the recorded metrics)."""
    from . import evaluate
    from .same_rows import against_revision

    if not MODEL.is_file() or not TRAINING_DATA.is_file():
        return {}, f"the PR has no {MODEL} or {TRAINING_DATA} (did the pipeline run?)"
    model = load_model(MODEL, params.train.estimator)
    measured = evaluate.measure(model, read_table(TRAINING_DATA), params)
    try:
        found = against_revision(base, measured, params, metrics=list(task.METRICS), segments=True)
        return found, None
    except DataError as error:
        return {}, str(error)


def main(base: str, out: Path) -> None:
    from .params import load_params

    params = load_params()
    base = resolve_base(base)
    inputs = collect(base)
    if inputs.base.metrics:
        inputs.paired, inputs.paired_note = against_base(base, params)
    text = build(inputs, params)
    write_text(text, out)
    print(f"report: {base} vs workspace -> {out}")
