"""The regression task: the time split, the metrics and their directions, the gate with an
error as its primary metric, the estimators, the plot data and the PR report's sections."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from {{ cookiecutter.package_name }} import task, task_params
from {{ cookiecutter.package_name }}.errors import DataError, ParamsError
from {{ cookiecutter.package_name }}.evaluate import evaluate
from {{ cookiecutter.package_name }}.files import load_model, save_model
from {{ cookiecutter.package_name }}.gate import gate
from {{ cookiecutter.package_name }}.ingest import ingest
from {{ cookiecutter.package_name }}.params import GateParams, Params, parse_params
from {{ cookiecutter.package_name }}.task import METRICS, split
from {{ cookiecutter.package_name }}.task_params import SplitParams
from {{ cookiecutter.package_name }}.train import train

from .conftest import ROOT, with_train

# ---------------------------------------------------------------- the split


def test_the_newest_dates_are_the_test_set(params: Params, frame: pd.DataFrame) -> None:
    schema = params.data.schema_
    train_part, test_part = split(frame, params.split, schema)
    dates = np.sort(frame[schema.time].unique())
    held_out = round(len(dates) * params.split.test_size)
    assert set(test_part[schema.time]) == set(dates[-held_out:])
    assert train_part[schema.time].max() < test_part[schema.time].min()  # no date on both sides
    assert len(train_part) + len(test_part) == len(frame)
    assert test_part[schema.time].is_monotonic_increasing


def test_the_split_is_deterministic_whatever_the_row_order(
    params: Params, frame: pd.DataFrame
) -> None:
    schema = params.data.schema_
    first, second = split(frame, params.split, schema), split(frame, params.split, schema)
    assert first[1].index.equals(second[1].index)
    shuffled = split(frame.sample(frac=1.0, random_state=0), params.split, schema)
    assert set(shuffled[1].index) == set(first[1].index)


def test_each_side_keeps_at_least_one_date(params: Params) -> None:
    schema = params.data.schema_
    two_dates = pd.DataFrame({schema.time: pd.to_datetime(["2024-01-01", "2024-01-08"] * 3)})
    for test_size in (0.01, 0.99):
        train_part, test_part = split(two_dates, SplitParams(test_size=test_size), schema)
        assert train_part[schema.time].nunique() == test_part[schema.time].nunique() == 1
    with pytest.raises(DataError, match="at least two"):
        split(two_dates.head(1), params.split, schema)


# ---------------------------------------------------------------- metrics


def test_metric_directions() -> None:
    assert METRICS == {"mae": False, "rmse": False, "wape": False, "r2": True}
    assert task.RESPONSE_METHOD == "predict"


def test_metrics_on_a_hand_example(params: Params) -> None:
    actual = np.array([1.0, 2.0, 3.0, 4.0])
    forecast = np.array([2.0, 2.0, 2.0, 6.0])  # errors 1, 0, -1, 2
    found = task.metrics(actual, forecast, params.model)
    assert found["mae"] == pytest.approx(1.0)  # (1 + 0 + 1 + 2) / 4
    assert found["rmse"] == pytest.approx(math.sqrt(1.5))  # (1 + 0 + 1 + 4) / 4
    assert found["wape"] == pytest.approx(0.4)  # 4 / (1 + 2 + 3 + 4)
    assert found["r2"] == pytest.approx(-0.2)  # 1 - 6 / 5: worse than the mean
    perfect = task.metrics(actual, actual, params.model)
    assert perfect == {"mae": 0.0, "rmse": 0.0, "wape": 0.0, "r2": 1.0}


def test_metrics_agree_with_scikit_learn(params: Params) -> None:
    from sklearn import metrics as skm

    rng = np.random.default_rng(0)
    actual = rng.poisson(50, 200).astype(float)
    forecast = actual + rng.normal(0, 5, 200)
    found = task.metrics(actual, forecast, params.model)
    assert found["mae"] == pytest.approx(skm.mean_absolute_error(actual, forecast))
    assert found["rmse"] == pytest.approx(skm.root_mean_squared_error(actual, forecast))
    assert found["r2"] == pytest.approx(skm.r2_score(actual, forecast))


def test_undefined_metrics_are_nan(params: Params) -> None:
    zeros = task.metrics(np.zeros(3), np.array([1.0, 0.0, 2.0]), params.model)
    assert math.isnan(zeros["wape"])  # nothing sold: no share to take
    assert math.isnan(zeros["r2"])  # a constant target has no variance to explain
    assert zeros["mae"] == pytest.approx(1.0)


# ---------------------------------------------------------------- the gate

RULES = GateParams(max_value=15.0, max_regression=0.5, max_segment_gap=6.0)


def test_an_error_must_stay_at_or_below_the_maximum() -> None:
    assert gate({"mae": 11.0, "segment_gap": 3.0}, None, RULES, "mae").passed
    above = gate({"mae": 16.0, "segment_gap": 3.0}, None, RULES, "mae")
    assert not above.passed
    assert "mae 16.0000 misses the maximum 15.0000" in above.summary
    assert not gate({"mae": math.nan, "segment_gap": 3.0}, None, RULES, "mae").passed


def test_a_champion_with_a_lower_error_holds_the_candidate_back() -> None:
    candidate = {"mae": 11.0, "segment_gap": 3.0}
    assert gate(candidate, {"mae": 10.8, "segment_gap": 3.0}, RULES, "mae").passed
    worse = gate(candidate, {"mae": 10.0, "segment_gap": 3.0}, RULES, "mae")
    assert not worse.passed
    assert "mae 11.0000 vs champion's recorded 10.0000 (-1.0000; allowed" in worse.summary
    assert gate(candidate, {"mae": 12.0, "segment_gap": 3.0}, RULES, "mae").passed  # better


def test_the_shipped_gate_passes_the_default_model_and_not_a_much_worse_one(
    raw_params: dict,
) -> None:
    # All the rows params.yaml asks for: on fewer, the segments' metrics scatter more.
    shipped = yaml.safe_load((ROOT / "params.yaml").read_text())
    raw_params = {**raw_params, "data": {**raw_params["data"], "rows": shipped["data"]["rows"]}}
    params = parse_params(raw_params)
    frame = ingest(params.data)
    primary = params.model.primary_metric
    model = train(frame, params.data.schema_, params.split, params.train)
    good = evaluate(model, frame, params)["metrics"]
    assert gate(good, None, params.gate, primary).passed
    # A champion better than this model by twice the allowed regression keeps its place.
    step = 2 * params.gate.max_regression * (1 if METRICS[primary] else -1)
    champion = {**good, primary: good[primary] + step}
    assert not gate(good, champion, params.gate, primary).passed
    rough = with_train(raw_params, "hist_gradient_boosting", {"max_iter": 5})
    model = train(frame, params.data.schema_, params.split, rough.train)
    bad = evaluate(model, frame, params)["metrics"]
    decision = gate(bad, None, params.gate, primary)
    assert not decision.passed
    assert f"{primary} {bad[primary]:.4f} misses the" in decision.summary


# ---------------------------------------------------------------- params


def test_a_minimum_for_an_error_is_refused_in_one_line(raw_params: dict) -> None:
    gate_section = {
        key: value
        for key, value in raw_params["gate"].items()
        if key not in {"min_value", "max_value"}
    }
    raw = {**raw_params, "model": {**raw_params["model"], "primary_metric": "mae"}}
    raw["gate"] = {**gate_section, "min_value": 15.0}
    with pytest.raises(ParamsError) as error:
        parse_params(raw)
    message = str(error.value)
    assert "\n" not in message
    assert message.startswith("params.yaml: gate.min_value: mae is better lower")
    assert "gate.max_value" in message


def test_a_schema_without_a_time_column_is_refused(raw_params: dict) -> None:
    raw = {**raw_params, "data": {**raw_params["data"]}}
    raw["data"]["schema"] = {**raw_params["data"]["schema"], "time": None}
    with pytest.raises(ParamsError) as error:
        parse_params(raw)
    assert str(error.value) == (
        "params.yaml: data.schema.time: regression splits by time; name the date column"
        " (use-data: --time COLUMN)"
    )


def test_the_split_has_nothing_random_to_seed(raw_params: dict) -> None:
    raw = {**raw_params, "split": {**raw_params["split"], "seed": 42}}
    with pytest.raises(ParamsError, match=r"split\.seed: unknown key"):
        parse_params(raw)


def test_the_model_has_no_threshold(raw_params: dict) -> None:
    raw = {**raw_params, "model": {**raw_params["model"], "threshold": 0.5}}
    with pytest.raises(ParamsError, match=r"model\.threshold: unknown key"):
        parse_params(raw)


@pytest.mark.parametrize(
    ("estimator", "hyperparameters", "first_line"),
    [
        (
            "hist_gradient_boosting",
            {"loss": "gamma"},
            "train.hyperparameters.loss: Input should be 'squared_error', 'absolute_error'",
        ),
        (
            "hist_gradient_boosting",
            {"class_weight": "balanced"},
            "train.hyperparameters.class_weight: unknown key for hist_gradient_boosting",
        ),
        ("ridge", {"alpha": -1.0}, "train.hyperparameters.alpha: Input should be greater"),
        ("ridge", {"solver": "lbfgs"}, "train.hyperparameters.solver: Input should be 'auto'"),
        (
            "random_forest",
            {"criterion": "gini"},
            "train.hyperparameters.criterion: Input should be 'squared_error'",
        ),
    ],
)
def test_bad_hyperparameter_is_one_line_naming_its_key(
    raw_params: dict, estimator: str, hyperparameters: dict, first_line: str
) -> None:
    with pytest.raises(ParamsError) as error:
        with_train(raw_params, estimator, hyperparameters)
    assert "\n" not in str(error.value)
    assert str(error.value).startswith(f"params.yaml: {first_line}")


# ---------------------------------------------------------------- estimators


@pytest.mark.parametrize("estimator", sorted(task_params.ESTIMATORS))
def test_every_estimator_learns_and_loads_with_its_own_types(
    raw_params: dict, params: Params, frame: pd.DataFrame, estimator: str, tmp_path: Path
) -> None:
    hyperparameters = raw_params["train"]["hyperparameters"]
    train_params = with_train(
        raw_params, estimator, hyperparameters if estimator == "hist_gradient_boosting" else {}
    ).train
    schema = params.data.schema_
    model = train(frame, schema, params.split, train_params)
    _, test_part = split(frame, params.split, schema)
    features = test_part[schema.features]
    forecast = task.predict(model, features)
    assert forecast.shape == (len(test_part),) and forecast.dtype == float
    assert task.metrics(test_part[schema.target], forecast, params.model)["r2"] > 0.5
    save_model(model, tmp_path / "model.skops")
    loaded = load_model(tmp_path / "model.skops", estimator)  # its exact list of types suffices
    np.testing.assert_allclose(task.predict(loaded, features), forecast)


def test_hyperparameters_that_clash_are_one_line(raw_params: dict, frame: pd.DataFrame) -> None:
    params = with_train(raw_params, "ridge", {"solver": "svd"})  # no intercept on sparse input
    with pytest.raises(ParamsError) as error:
        train(frame, params.data.schema_, params.split, params.train)
    assert str(error.value).startswith(
        "params.yaml: train.hyperparameters: ridge could not be fitted with them"
    )
    assert "\n" not in str(error.value)


def test_the_estimator_gets_only_the_fixed_arguments_it_takes(raw_params: dict) -> None:
    fixed = {"random_state": 7, "categorical_features": [True, False]}
    boosting = task.estimator(with_train(raw_params, "hist_gradient_boosting", {}).train, fixed)
    assert boosting.get_params()["categorical_features"] == [True, False]
    assert boosting.get_params()["random_state"] == 7
    forest = task.estimator(with_train(raw_params, "random_forest", {}).train, fixed)
    assert "categorical_features" not in forest.get_params()
    assert forest.get_params()["random_state"] == 7
    ridge = task.estimator(with_train(raw_params, "ridge", {"alpha": 2.0}).train, fixed)
    assert ridge.get_params()["alpha"] == 2.0


# ---------------------------------------------------------------- plots and the PR report


def test_plot_data_is_small_and_deterministic(params: Params, frame: pd.DataFrame) -> None:
    schema = params.data.schema_
    _, test_part = split(frame, params.split, schema)
    forecast = test_part[schema.target].to_numpy(dtype=float) + 1.0  # one unit too high
    plots = task.plot_data(test_part, forecast, params, most_points=50)
    assert set(plots) == set(task.PLOTS)
    assert plots == task.plot_data(test_part, forecast, params, most_points=50)
    assert len(plots["predicted_vs_actual"]) == 50
    for point in plots["predicted_vs_actual"]:
        assert point["predicted"] == pytest.approx(point["actual"] + 1)
    segments = sorted(test_part[schema.segment].astype(str).unique())
    assert [row["segment"] for row in plots["residuals"]] == segments
    assert all(row["mean_error"] == row["mean_absolute_error"] == 1.0 for row in plots["residuals"])
    weeks = [point["week"] for point in plots["error_over_time"]]
    assert weeks == sorted(test_part[schema.time].dt.strftime("%Y-%m-%d").unique())
    assert all(point["mae"] == 1.0 for point in plots["error_over_time"])


def test_without_a_segment_the_residuals_are_one_row(raw_params: dict, frame: pd.DataFrame) -> None:
    raw = {**raw_params, "data": {**raw_params["data"]}}
    raw["data"]["schema"] = {**raw_params["data"]["schema"], "segment": None}
    params = parse_params(raw)
    _, test_part = split(frame, params.split, params.data.schema_)
    forecast = test_part[params.data.schema_.target].to_numpy(dtype=float) - 2.0
    residuals = task.plot_data(test_part, forecast, params)["residuals"]
    assert residuals == [{"segment": "all", "mean_error": -2.0, "mean_absolute_error": 2.0}]


# ---------------------------------------------------------------- your own data (issue 26)


@pytest.fixture
def own_repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("params.yaml", "dvc.yaml"):
        (tmp_path / name).write_text((ROOT / name).read_text())
    (tmp_path / "data/raw").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_use_data_sets_the_gate_from_a_naive_forecast(
    own_repo: Path, params: Params, frame: pd.DataFrame, capsys: pytest.CaptureFixture[str]
) -> None:
    """The synthetic source's bound (an MAE of 12 units) means nothing for a table whose
    errors are four times as large: the bound becomes the error of forecasting the training
    median, and the tolerances in the target's units scale with it."""
    from {{ cookiecutter.package_name }} import use_data
    from {{ cookiecutter.package_name }}.params import load_params

    own = frame.assign(units_sold=frame["units_sold"] * 4)
    own.to_csv("data/raw/sales.csv", index=False)
    use_data.main(Path("data/raw/sales.csv"), target="units_sold", time="week")
    new = load_params()
    metric = new.model.primary_metric
    train_part, test_part = split(own, params.split, params.data.schema_)
    if metric == "r2":
        assert new.gate.min_value == 0.0
        return
    center = train_part["units_sold"].median() if metric in {"mae", "wape"} else None
    center = train_part["units_sold"].mean() if center is None else center
    naive = task.metrics(test_part["units_sold"], np.full(len(test_part), center), new.model)
    assert new.gate.max_value == pytest.approx(naive[metric], rel=0.01)
    assert new.gate.max_value > params.gate.max_value
    if metric != "wape":
        scale = new.gate.max_value / params.gate.max_value
        assert new.gate.max_segment_gap == pytest.approx(params.gate.max_segment_gap * scale, 0.1)
    said = capsys.readouterr().out
    bound, was = new.gate.max_value, params.gate.max_value
    assert f"use-data: gate.max_value {bound:g} (was {was:g})" in said
    assert "a model must do at least as well" in said
    gate_text = (own_repo / "params.yaml").read_text().split("\ngate:")[1]
    assert "a naive baseline's value, set by `use-data`" in gate_text.split("\n\n")[0]
    model_text = (own_repo / "params.yaml").read_text().split("\ndata:")[0]
    assert "weekly demand" not in model_text
    assert new.model.description.startswith("Predicts units_sold from sales.csv;")


@pytest.mark.parametrize(
    ("column", "values", "message"),
    [
        ("age", [31.5, 40.0], "use-data: --time 'age' holds numbers, not dates, e.g. 31.5, 40.0"),
        ("code", ["a", "b"], "use-data: --time 'code' holds 500 value(s) that are not dates"),
    ],
)
def test_use_data_refuses_a_time_column_of_no_dates(
    own_repo: Path, frame: pd.DataFrame, column: str, values: list, message: str
) -> None:
    """pandas reads a number as nanoseconds after 1970: every row was 1970-01-01."""
    from {{ cookiecutter.package_name }} import use_data

    own = frame.head(500).assign(**{column: [values[i % 2] for i in range(500)]})
    own.to_csv("data/raw/sales.csv", index=False)
    before = (own_repo / "params.yaml").read_bytes()
    with pytest.raises(DataError) as error:
        use_data.main(Path("data/raw/sales.csv"), target="units_sold", time=column)
    assert str(error.value).startswith(message)
    assert (own_repo / "params.yaml").read_bytes() == before


def test_ingest_refuses_a_time_column_of_numbers(raw_params: dict, frame: pd.DataFrame) -> None:
    from {{ cookiecutter.package_name }}.ingest import conform

    schema = parse_params(raw_params).data.schema_
    with pytest.raises(DataError, match="ingest: the time column 'week' holds numbers, not dates"):
        conform(frame.assign(week=np.arange(len(frame), dtype=float)), schema)


def test_a_single_date_is_refused_before_fitting(params: Params, frame: pd.DataFrame) -> None:
    one_week = frame.assign(week=frame["week"].iloc[0])
    assert task.split_problem(one_week, params.split, params.data.schema_) == (
        "the time column 'week' holds 1 distinct date(s); a split by time needs at least two"
    )
    with pytest.raises(DataError, match=r"^train: the time column 'week' holds 1 distinct"):
        train(one_week, params.data.schema_, params.split, params.train)
    assert task.split_problem(frame, params.split, params.data.schema_) is None


def test_the_card_speaks_of_weeks_only_for_the_synthetic_source(raw_params: dict) -> None:
    assert "forecasts weeks it has not seen" in task.card_use(parse_params(raw_params))[0]
    raw_params["data"].update(source="file", path="data/raw/sales.csv")
    assert "forecasts dates it has not seen" in task.card_use(parse_params(raw_params))[0]
