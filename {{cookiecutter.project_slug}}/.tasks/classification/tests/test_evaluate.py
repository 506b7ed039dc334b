from __future__ import annotations

import math

import pandas as pd

from {{ cookiecutter.package_name }}.evaluate import evaluate, largest_gap, model_card
from {{ cookiecutter.package_name }}.params import Params
from {{ cookiecutter.package_name }}.task import METRICS
from {{ cookiecutter.package_name }}.train import train


def test_metrics_segments_plots_and_card(params: Params, frame: pd.DataFrame) -> None:
    model = train(frame, params.data.schema_, params.split, params.train)
    result = evaluate(model, frame, params)
    metrics = result["metrics"]
    primary = params.model.primary_metric
    assert next(iter(metrics)) == primary
    assert set(METRICS) | {"segment_gap", "test_rows"} == set(metrics)
    assert all(isinstance(value, float | int) for value in metrics.values())
    assert 0.7 < metrics["roc_auc"] <= 1.0
    assert set(result["segments"]) == set(
        params.data.schema_.categorical[params.data.schema_.segment]
    )
    assert metrics["segment_gap"] == largest_gap(result["segments"], primary)
    assert sum(segment["rows"] for segment in result["segments"].values()) == metrics["test_rows"]
    assert 2 < len(result["plots"]["roc"]) <= 101
    assert sum(cell["count"] for cell in result["plots"]["confusion"]) == metrics["test_rows"]

    card = model_card(params, result, "0" * 32, len(frame))
    assert card.startswith(f"# Model card: {params.model.name}")
    assert f"{primary} (primary)" in card and "By region" in card


def test_gap_ignores_undefined_segments() -> None:
    segments = {"a": {"roc_auc": 0.9}, "b": {"roc_auc": 0.7}, "c": {"roc_auc": math.nan}}
    assert largest_gap(segments, "roc_auc") == 0.9 - 0.7
    assert largest_gap({"a": {"roc_auc": 0.9}}, "roc_auc") == 0.0


def test_no_segment_column_means_no_gap(raw_params: dict, frame: pd.DataFrame) -> None:
    from {{ cookiecutter.package_name }}.params import parse_params

    raw_params["data"]["schema"]["segment"] = None
    params = parse_params(raw_params)
    model = train(frame, params.data.schema_, params.split, params.train)
    result = evaluate(model, frame, params)
    assert result["segments"] == {} and "segment_gap" not in result["metrics"]
    assert "no metrics per segment" in model_card(params, result, "0" * 32, len(frame))


def test_a_segment_that_is_not_a_feature(raw_params: dict, frame: pd.DataFrame) -> None:
    from {{ cookiecutter.package_name }}.params import parse_params

    schema = raw_params["data"]["schema"]
    schema["segment"] = "contract"
    del schema["categorical"]["region"]  # region stays in the data, not in the model
    params = parse_params(raw_params)
    model = train(frame, params.data.schema_, params.split, params.train)
    assert "region" not in params.data.schema_.features
    result = evaluate(model, frame, params)
    assert set(result["segments"]) == {"month-to-month", "one-year", "two-year"}
