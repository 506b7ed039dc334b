"""The single model's PR report inputs: both sides' metrics, segments, plot data, importance
and fairness (from `dvc metrics diff --json`, git and dvc.lock), and every metric of base's
model against the workspace's on the workspace's test rows; report_markdown.build turns them
into Markdown."""

from __future__ import annotations

import math
from typing import Any

from . import lock, task
from .errors import DataError
from .files import load_model, read_table
from .github import run_url
from .params import Params
from .paths import FAIRNESS, IMPORTANCE, METRICS, MODEL, PLOTS, SEGMENTS, TRAINING_DATA, VALIDATION
from .report import params_changed
from .report_markdown import Inputs, Side, build
from .revisions import head_name, load, require_revision


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
    from . import evaluate, same_rows

    if not MODEL.is_file() or not TRAINING_DATA.is_file():
        return {}, f"the PR has no {MODEL} or {TRAINING_DATA} (did the pipeline run?)"
    model = load_model(MODEL, params.train.estimator)
    measured = evaluate.measure(model, read_table(TRAINING_DATA), params)
    main_model = same_rows.models_at(base, [MODEL])[MODEL]
    if isinstance(main_model, DataError):
        return {}, str(main_model)
    name, metrics = f"the model of {base[:12]}", list(task.METRICS)
    try:
        found = same_rows.against_model(main_model, measured, params, name, metrics, segments=True)
    except DataError as error:
        return {}, str(error)
    return found, None


def report(base: str, params: Params) -> str:
    """The single model's report: the workspace against `base`, as Markdown."""
    inputs = collect(base)
    if inputs.base.metrics:
        inputs.paired, inputs.paired_note = against_base(base, params)
    return build(inputs, params)
