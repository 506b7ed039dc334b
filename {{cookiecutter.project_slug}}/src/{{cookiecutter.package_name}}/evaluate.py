"""Stage 4: score the held-out split, write metrics, plots and the model card, log the run."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from . import fairness, registry, task, tracking
from .files import md5, read_table, write_json, write_text
from .markdown import cap, code, text
from .params import Params
from .paths import FAIRNESS, PLOTS, PROJECT, SEGMENTS, TRAINING_DATA

if TYPE_CHECKING:
    from .members import Member

IMPORTANCE_REPEATS = 5
IMPORTANCE_ROWS = 5000  # permutation importance on at most this many test rows
CARD_FEATURES = 10  # features listed in the model card


def largest_gap(per_segment: Mapping[str, Mapping[str, float]], metric: str) -> float:
    """Largest difference of `metric` between two segments (0 with fewer than two)."""
    values = [m[metric] for m in per_segment.values() if not math.isnan(m[metric])]
    return float(max(values) - min(values)) if len(values) >= 2 else 0.0


def importance(model: Any, test: pd.DataFrame, params: Params) -> dict[str, Any]:
    """Permutation importance on the test split (scikit-learn's, seeded): how much worse the
    primary metric gets when one feature's values are shuffled, most important first."""
    from sklearn.inspection import permutation_importance

    schema, primary = params.data.schema_, params.model.primary_metric
    sign = 1.0 if task.METRICS[primary] else -1.0  # a scorer's greater_is_better

    def score(estimator: Any, features: pd.DataFrame, truth: Any) -> float:
        return sign * task.metrics(truth, task.predict(estimator, features), params.model)[primary]

    found = permutation_importance(
        model,
        test[schema.features],
        test[schema.target].to_numpy(),
        scoring=score,
        n_repeats=IMPORTANCE_REPEATS,
        random_state=params.train.seed,
        max_samples=min(len(test), IMPORTANCE_ROWS),
    )
    features = [
        {"feature": name, "importance": round(float(mean), 6), "std": round(float(std), 6)}
        for name, mean, std in zip(
            schema.features, found.importances_mean, found.importances_std, strict=True
        )
    ]
    features.sort(key=lambda entry: (-entry["importance"], entry["feature"]))
    return {"metric": primary, "repeats": IMPORTANCE_REPEATS, "features": features}


def measure(model: Any, frame: pd.DataFrame, params: Params) -> dict[str, Any]:
    """The model's metrics overall and per segment on the test split, with that split."""
    schema = params.data.schema_
    primary = params.model.primary_metric
    _, test = task.split(frame, params.split, schema)
    predicted = task.predict(model, test[schema.features])
    truth = test[schema.target].to_numpy()

    segments: dict[str, dict[str, float]] = {}
    if schema.segment:
        segment_values = test[schema.segment].astype(str).to_numpy()
        for name in sorted(np.unique(segment_values)):
            rows = segment_values == name
            segments[name] = {
                **task.metrics(truth[rows], predicted[rows], params.model),
                "rows": int(rows.sum()),
            }
    overall = task.metrics(truth, predicted, params.model)
    ordered = {primary: overall.pop(primary), **overall}
    if schema.segment:  # no segment column: no gap, and the gate has no gap to check
        ordered["segment_gap"] = largest_gap(segments, primary)
    ordered["test_rows"] = len(test)
    return {"metrics": ordered, "segments": segments, "test": test, "predicted": predicted}


def evaluate(model: Any, frame: pd.DataFrame, params: Params) -> dict[str, Any]:
    """Metrics overall and per segment, plot data and feature importance, on the test split."""
    measured = measure(model, frame, params)
    test, predicted = measured["test"], measured["predicted"]
    return {
        "metrics": measured["metrics"],
        "segments": measured["segments"],
        "fairness": fairness.assess(test, predicted, params),
        "plots": task.plot_data(test, predicted, params),
        "importance": importance(model, test, params),
    }


def _fmt(value: float) -> str:
    if isinstance(value, int):
        return f"{value:,}"
    return "n/a" if value != value else f"{value:.4f}"


def _importance_lines(found: dict[str, Any]) -> list[str]:
    metric = text(found["metric"])
    lines = [
        "## What the model relies on",
        "",
        f"Permutation importance on the test split: how much worse {metric} gets when one"
        f" feature's values are shuffled (mean of {found['repeats']} seeded shuffles).",
        "",
        f"| feature | {metric} worse by | ± |",
        "|---|---:|---:|",
    ]
    lines += [
        f"| {text(entry['feature'])} | {entry['importance']:.4f} | {entry['std']:.4f} |"
        for entry in found["features"][:CARD_FEATURES]
    ]
    left = len(found["features"]) - CARD_FEATURES
    if left > 0:
        shown = f"{CARD_FEATURES} of {len(found['features'])}"
        lines += ["", f"The {shown} features that matter most; all are in reports/importance.json."]
    return lines


def _names(names: list[str]) -> str:
    return ", ".join(text(name) for name in names) or "none"


def model_card(params: Params, result: dict[str, Any], data_md5: str, rows: int) -> str:
    """A short, factual model card in Markdown; what comes from params or data is escaped."""
    schema = params.data.schema_
    metrics = result["metrics"]
    primary = params.model.primary_metric
    segment = text(schema.segment)
    lines = [
        f"# Model card: {text(params.model.name)}",
        "",
        "## Intended use",
        "",
        text(params.model.description, 1000),
        *task.card_use(params),
        "Not for use on populations unlike the training data; check the drift report first.",
        "",
        "## Data",
        "",
        f"- Source: {code(params.data.source)}"
        + (
            f" (window {params.data.window})"
            if params.data.source == "synthetic"
            else f" ({code(params.data.path, 200)})"
        ),
        f"- Training snapshot: `{TRAINING_DATA}`, {rows:,} rows, MD5 {code(data_md5)}",
        f"- Numeric features: {_names(list(schema.numeric))}",
        f"- Categorical features: {_names(list(schema.categorical))}",
        f"- Split: {params.split.test_size:.0%} held out for testing "
        f"({metrics['test_rows']:,} rows)",
        "",
        "## Model",
        "",
        f"- Estimator: {code(params.train.estimator)}",
        f"- Hyperparameters: {code(params.train.hyperparameters, 1000)}",
        "",
        "## Metrics (test split)",
        "",
        "Better is "
        + ", ".join(
            f"{name} {'higher' if task.METRICS[name] else 'lower'}"
            for name in metrics
            if name in task.METRICS
        )
        + ".",
        "",
        "| metric | value |",
        "|---|---|",
    ]
    lines += [
        f"| {text(name)}{' (primary)' if name == primary else ''} | {_fmt(value)} |"
        for name, value in metrics.items()
    ]
    lines += ["", *_importance_lines(result["importance"])]
    if result.get("fairness"):
        lines += ["", "## Fairness (test split; 95% bootstrap intervals)", ""]
        lines += fairness.lines(result["fairness"])
    if not schema.segment:
        lines += ["", "No segment column (data.schema.segment): no metrics per segment.", ""]
        return cap("\n".join(lines))
    lines += [
        "",
        f"## By {segment}",
        "",
        f"| {segment} | rows | {primary} |",
        "|---|---|---|",
    ]
    lines += [
        f"| {text(name)} | {values['rows']:,} | {_fmt(values[primary])} |"
        for name, values in result["segments"].items()
    ]
    lines += [
        "",
        f"Largest gap in {primary} between segments: {_fmt(metrics['segment_gap'])} "
        f"(the merge gate allows {params.gate.max_segment_gap}).",
        "",
    ]
    return cap("\n".join(lines))


def record(
    member: Member, model: Any, rows: pd.DataFrame, data_md5: str, tags: dict[str, str]
) -> tuple[dict[str, Any], str]:
    """Evaluate the member's model on its rows, write its reports and log the run to MLflow
    (with `tags`, its model key among them); the result and the run's id."""
    own, out = member.params, member.outputs
    result = evaluate(model, rows, own)
    write_json(result["metrics"], out.metrics)
    write_json(result["importance"], out.importance)
    if out == PROJECT:  # the project's evaluate stage keeps these too (a fleet member has none)
        write_json(result["segments"], SEGMENTS)
        for name, points in result["plots"].items():
            write_json(points, PLOTS / f"{name}.json")
        write_json(result["fairness"], FAIRNESS)
    write_text(model_card(own, result, data_md5, len(rows)), out.model_card)
    extra = {**tags, **({"member": member.name} if member.name else {})}
    return result, registry.log_run(own, result["metrics"], outputs=out, extra=extra)


def main() -> None:
    """Evaluate every member's model (a fleet's `members` stages do it per shard)."""
    from .files import load_model
    from .members import code_hash, key, members, rows, rows_hash, split
    from .params import load_params

    params = load_params()
    frame = read_table(TRAINING_DATA)
    group, parts, code = members(params), split(params, frame), code_hash()
    for member in group:
        own = rows(parts, frame, member)
        model = load_model(member.outputs.model, member.params.train.estimator)
        data_hash = rows_hash(own)
        model_key = key(member.params, data_hash, code)
        data_md5 = md5(TRAINING_DATA) if member.outputs == PROJECT else data_hash
        result, run_id = record(member, model, own, data_md5, {"model_key": model_key})
        primary, metrics = member.params.model.primary_metric, result["metrics"]
        gap = f" segment_gap={_fmt(metrics['segment_gap'])}" if "segment_gap" in metrics else ""
        print(f"evaluate: {primary}={_fmt(metrics[primary])}{gap} -> {member.outputs.metrics}")
        print(f"evaluate: logged MLflow run {run_id} to {tracking.configure()}")
