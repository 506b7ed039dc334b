"""Stage 4: score the held-out split, write metrics, plots and the model card, log the run."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from . import metrics as task
from .files import (
    METRICS,
    MODEL,
    MODEL_CARD,
    PIPELINE_LOCK,
    PLOTS,
    SEGMENTS,
    TRAINING_DATA,
    VALIDATION,
    load_model,
    md5,
    read_table,
    trusted_types,
    write_json,
    write_text,
)
from .params import Params
from .train import split


def evaluate(model: Any, frame: pd.DataFrame, params: Params) -> dict[str, Any]:
    """Metrics overall and per segment, and plot data, on the test split of `frame`."""
    schema = params.data.schema_
    primary, threshold = params.model.primary_metric, params.model.threshold
    _, test = split(frame, params.split, schema.target)
    scores = model.predict_proba(test[schema.features])[:, 1]
    labels = test[schema.target].to_numpy()

    segments: dict[str, dict[str, float]] = {}
    if schema.segment:
        segment_values = test[schema.segment].astype(str).to_numpy()
        for name in sorted(np.unique(segment_values)):
            rows = segment_values == name
            segments[name] = {
                **task.classification_metrics(labels[rows], scores[rows], threshold),
                "rows": int(rows.sum()),
            }
    overall = task.classification_metrics(labels, scores, threshold)
    ordered = {primary: overall.pop(primary), **overall}
    if schema.segment:  # no segment column: no gap, and the gate has no gap to check
        ordered["segment_gap"] = task.largest_gap(segments, primary)
    ordered["test_rows"] = len(test)
    return {
        "metrics": ordered,
        "segments": segments,
        "plots": task.plot_data(labels, scores, threshold),
    }


def _fmt(value: float) -> str:
    if isinstance(value, int):
        return f"{value:,}"
    return "n/a" if value != value else f"{value:.4f}"


def model_card(params: Params, result: dict[str, Any], data_md5: str, rows: int) -> str:
    """A short, factual model card in Markdown."""
    schema = params.data.schema_
    metrics = result["metrics"]
    primary = params.model.primary_metric
    lines = [
        f"# Model card: {params.model.name}",
        "",
        "## Intended use",
        "",
        params.model.description,
        "Scores are probabilities of the positive class "
        f"(`{schema.target}` = 1); decisions use a threshold of {params.model.threshold}.",
        "Not for use on populations unlike the training data; check the drift report first.",
        "",
        "## Data",
        "",
        f"- Source: `{params.data.source}`"
        + (
            f" (window {params.data.window})"
            if params.data.source == "synthetic"
            else f" (`{params.data.path}`)"
        ),
        f"- Training snapshot: `{TRAINING_DATA}`, {rows:,} rows, MD5 `{data_md5}`",
        f"- Numeric features: {', '.join(schema.numeric) or 'none'}",
        f"- Categorical features: {', '.join(schema.categorical) or 'none'}",
        f"- Split: {params.split.test_size:.0%} held out for testing "
        f"({metrics['test_rows']:,} rows), seed {params.split.seed}",
        "",
        "## Model",
        "",
        f"- Estimator: `{params.train.estimator}`",
        f"- Hyperparameters: `{params.train.hyperparameters}`",
        "",
        "## Metrics (test split)",
        "",
        "| metric | value |",
        "|---|---|",
    ]
    lines += [
        f"| {name}{' (primary)' if name == primary else ''} | {_fmt(value)} |"
        for name, value in metrics.items()
    ]
    if not schema.segment:
        lines += ["", "No segment column (data.schema.segment): no metrics per segment.", ""]
        return "\n".join(lines)
    lines += [
        "",
        f"## By {schema.segment}",
        "",
        f"| {schema.segment} | rows | {primary} |",
        "|---|---|---|",
    ]
    lines += [
        f"| {name} | {values['rows']:,} | {_fmt(values[primary])} |"
        for name, values in result["segments"].items()
    ]
    lines += [
        "",
        f"Largest gap in {primary} between segments: {_fmt(metrics['segment_gap'])} "
        f"(the merge gate allows {params.gate.max_segment_gap}).",
        "",
    ]
    return "\n".join(lines)


def log(params: Params, metrics: dict[str, Any], model: Any = None) -> str:
    """Log the current model and reports as one MLflow run; return its id.

    evaluate calls it after each run; promote calls it when the tracking store has no run
    for the model it promotes (a fresh server, or a run-cache hit that skipped training).
    """
    from . import tracking
    from .promote import model_key

    estimator = params.train.estimator
    model = load_model(MODEL, estimator) if model is None else model
    features = params.data.schema_.features
    key = model_key(PIPELINE_LOCK.read_text()) if PIPELINE_LOCK.is_file() else "unknown"
    return tracking.log_run(
        experiment=params.model.name,
        params=params.model_dump(by_alias=True, mode="json"),
        metrics=metrics,
        tags={
            **tracking.git_state(),
            "data_md5": md5(TRAINING_DATA),
            "model_md5": md5(MODEL),
            "model_key": key,
        },
        model=model,
        trusted_types=trusted_types(MODEL, estimator),
        example=read_table(TRAINING_DATA, columns=features).head(5),
        artifacts=[METRICS, SEGMENTS, VALIDATION, MODEL_CARD, PLOTS],
    )


def main() -> None:
    from . import tracking
    from .params import load_params

    params = load_params()
    frame = read_table(TRAINING_DATA)
    model = load_model(MODEL, params.train.estimator)
    result = evaluate(model, frame, params)
    write_json(result["metrics"], METRICS)
    write_json(result["segments"], SEGMENTS)
    for name, points in result["plots"].items():
        write_json(points, PLOTS / f"{name}.json")
    data_md5 = md5(TRAINING_DATA)
    write_text(model_card(params, result, data_md5, len(frame)), MODEL_CARD)
    primary, metrics = params.model.primary_metric, result["metrics"]
    gap = f" segment_gap={_fmt(metrics['segment_gap'])}" if "segment_gap" in metrics else ""
    print(f"evaluate: {primary}={_fmt(metrics[primary])}{gap} -> {METRICS}")
    run_id = log(params, metrics, model)
    print(f"evaluate: logged MLflow run {run_id} to {tracking.configure()}")
