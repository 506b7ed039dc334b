"""The task: regression (how many units will sell in a week?).

Everything that depends on the task lives in this module, and no other module knows which
task it is: the metrics and which way is better (`greater_is_better` and `response_method`,
as scikit-learn's scorers say it), the split, the estimators with their typed
hyperparameters, the target's check, the plot data, and the task's lines in the model card
and the PR report. The other task's bake has a module of the same name with the same names.

A forecast is judged on weeks the model has not seen: the split is by time, never random,
so that no week of the test set leaks into training through its neighbours.

scikit-learn is imported inside the functions, so that params, gate and report stay quick.
"""

from __future__ import annotations

import inspect
import math
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .errors import DataError
from .markdown import code

if TYPE_CHECKING:
    from .task_params import ModelParams, SplitParams

NAME = "regression"
# metric -> greater_is_better
METRICS: dict[str, bool] = {
    "mae": False,
    "rmse": False,
    "wape": False,  # weighted absolute percentage error: sum |error| / sum |actual|
    "r2": True,
}
RESPONSE_METHOD = "predict"  # what a model is asked for (MLflow's pyfunc flavour too)
TARGET_NOTE = "a number"
# How the bake's model.description starts: the synthetic source's words, which use-data replaces.
SOURCE_WORDING = "Forecasts weekly demand per region and product"
PREDICTION_COLUMNS = ["forecast"]  # what `predict` adds to the scored table
SCORE_BUCKETS = (0, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1_000, 2_000, 5_000, 10_000)  # /metrics
# The plot files evaluate writes (reports/plots/<name>.json); the report reads both sides' own.
PLOTS = ["predicted_vs_actual", "residuals", "error_over_time"]

# The types beyond skops' own defaults that a model saved by train holds, per estimator,
# exactly as skops.io.get_untrusted_types lists them (scikit-learn 1.9, skops 0.16). Loading
# refuses any other type: a crafted file naming e.g. builtins.eval would run code.
TRUSTED_TYPES = {
    "hist_gradient_boosting": {
        "functools.partial",  # the loss keeps check_array as a partial
        "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
        "sklearn.utils.validation.check_array",
    },
    "ridge": {"numpy.dtype"},  # the imputers keep the dtype they fitted on
    "random_forest": {"numpy.dtype", "sklearn.tree._tree.Tree"},
}


# ---------------------------------------------------------------- training


def split(
    frame: pd.DataFrame, params: SplitParams, schema: Any
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The newest `split.test_size` share of the distinct dates is the test set, the older
    dates train: a date is never on both sides, and the same frame splits the same way."""
    ordered = frame.sort_values(schema.time, kind="stable")  # stable: ties keep their order
    dates = pd.to_datetime(ordered[schema.time])
    distinct = np.sort(dates.dropna().unique())
    if len(distinct) < 2:
        raise DataError(
            f"split: the time column {schema.time!r} holds {len(distinct)} distinct date(s);"
            " a split by time needs at least two"
        )
    # At least one date on each side, however small test_size is.
    held_out = min(max(1, round(len(distinct) * params.test_size)), len(distinct) - 1)
    first_test = distinct[-held_out]
    return ordered[dates < first_test], ordered[dates >= first_test]


def split_problem(frame: pd.DataFrame, params: SplitParams, schema: Any) -> str | None:
    """Why `frame` cannot be split by time into training and test parts, or None."""
    distinct = pd.to_datetime(frame[schema.time], errors="coerce").dropna().nunique()
    if distinct < 2:
        return (
            f"the time column {schema.time!r} holds {distinct} distinct date(s);"
            " a split by time needs at least two"
        )
    return None


def estimator(params: Any, fixed: dict[str, Any]) -> Any:
    """The configured scikit-learn estimator with the hyperparameters params.yaml sets."""
    from sklearn.ensemble import HistGradientBoostingRegressor, RandomForestRegressor
    from sklearn.linear_model import Ridge as RidgeRegressor

    cls = {
        "hist_gradient_boosting": HistGradientBoostingRegressor,
        "ridge": RidgeRegressor,
        "random_forest": RandomForestRegressor,
    }[params.estimator]
    if params.estimator != "hist_gradient_boosting":
        # The others see one-hot columns (train.build_pipeline): the mask would not line up.
        fixed = {key: value for key, value in fixed.items() if key != "categorical_features"}
    accepted = inspect.signature(cls).parameters  # e.g. random_state, where the class has one
    fixed = {key: value for key, value in fixed.items() if key in accepted}
    return cls(**params.hyperparameters.model_dump(exclude_unset=True), **fixed)


# ---------------------------------------------------------------- predicting and scoring


def predictions(output: Any) -> np.ndarray:
    """A model's raw output (`predict`'s one column, or a column vector) as one number a row."""
    return np.asarray(output, dtype=float).reshape(-1)


def predict(model: Any, features: pd.DataFrame) -> np.ndarray:
    """The forecast for each row."""
    return predictions(getattr(model, RESPONSE_METHOD)(features))


def prediction_columns(predicted: np.ndarray, params: ModelParams) -> dict[str, np.ndarray]:
    return {"forecast": predicted}


def label_problem(value: float) -> str | None:
    """Why one label sent back for a served row (feedback) cannot be a target, or None."""
    return None  # any number: finite is checked before


def target_problem(values: pd.Series) -> str | None:
    """Why `values` cannot be this task's target, or None."""
    if (
        pd.api.types.is_bool_dtype(values)  # true/false is a class, not a quantity
        or not pd.api.types.is_numeric_dtype(values)
        or values.isna().any()
        or not np.isfinite(values.to_numpy(dtype=float)).all()
    ):
        return "must hold a finite number in every row (no missing values, not true/false)"
    return None


def target_expectations(gxe: Any, column: str) -> list[Any]:
    """Great Expectations' checks of the target column (gxe: great_expectations.expectations)."""
    import sys

    from .validate import NUMERIC_TYPES  # validate calls this: the module is loaded by now

    return [
        gxe.ExpectColumnValuesToNotBeNull(column=column),
        gxe.ExpectColumnValuesToBeInTypeList(column=column, type_list=NUMERIC_TYPES),
        # The largest finite floats as bounds: inf and -inf, which no estimator fits, are out.
        gxe.ExpectColumnValuesToBeBetween(
            column=column, min_value=-sys.float_info.max, max_value=sys.float_info.max
        ),
    ]


def metrics(y_true: Any, predicted: np.ndarray, params: ModelParams) -> dict[str, float]:
    """Every metric of forecasts against actual values. NaN where undefined."""
    y_true = np.asarray(y_true, dtype=float)
    errors = np.asarray(predicted, dtype=float) - y_true
    if not len(y_true):
        return dict.fromkeys(METRICS, math.nan)
    total = float(np.abs(y_true).sum())
    spread = float(np.sum((y_true - y_true.mean()) ** 2))
    return {
        "mae": float(np.mean(np.abs(errors))),
        "rmse": float(np.sqrt(np.mean(errors**2))),
        "wape": float(np.abs(errors).sum()) / total if total else math.nan,
        "r2": 1.0 - float(np.sum(errors**2)) / spread if spread else math.nan,
    }


def data_gate(train: pd.DataFrame, test: pd.DataFrame, params: Any) -> tuple[dict[str, float], str]:
    """The gate keys `use-data` sets from a user's table, and why: the primary metric of a
    naive forecast (the training median for mae and wape, else the mean, for every test row)
    is the bound a model must beat; max_regression and max_segment_gap, which are in the
    target's units for mae and rmse, scale with it."""
    metric, target, gate = params.model.primary_metric, params.data.schema_.target, params.gate
    if metric == "r2":
        return {"min_value": 0.0}, (
            "r2 0 is forecasting the mean for every row; a model must do at least as well"
        )
    absolute = metric in {"mae", "wape"}  # the median is the constant with the least such error
    name = "median" if absolute else "mean"
    center = float(train[target].median() if absolute else train[target].mean())
    naive = metrics(test[target], np.full(len(test), center), params.model)[metric]
    if not math.isfinite(naive) or naive <= 0:
        return {}, f"a naive forecast gives no usable {metric}; review gate.max_value"
    bound = float(f"{naive:.3g}")
    keys = {"max_value": bound}
    if metric != "wape" and gate.max_value:  # wape is a share: its tolerances need no scaling
        scale = bound / float(gate.max_value)
        keys["max_regression"] = float(f"{gate.max_regression * scale:.2g}")
        keys["max_segment_gap"] = float(f"{gate.max_segment_gap * scale:.2g}")
    return keys, (
        f"forecasting the training {name} of {target} ({center:.4g}) for every test row"
        f" has {metric} {naive:.4g}; a model must do at least as well"
    )


def _date(value: Any) -> str:
    return pd.Timestamp(value).date().isoformat()


def plot_data(
    test: pd.DataFrame, predicted: np.ndarray, params: Any, most_points: int = 300
) -> dict[str, Any]:
    """Small, committed plot files: forecasts against actual values (a seeded sample), the
    errors per segment, and the MAE of each test date."""
    schema = params.data.schema_
    actual = test[schema.target].to_numpy(dtype=float)
    predicted = np.asarray(predicted, dtype=float)
    errors = predicted - actual  # positive: the forecast was too high

    # A seeded sample, not the first rows: those are the oldest date's series only.
    sample = np.arange(len(test))
    if len(sample) > most_points:
        sample = np.sort(np.random.default_rng(0).choice(len(test), most_points, replace=False))
    scatter = [
        {"actual": round(float(actual[i]), 2), "predicted": round(float(predicted[i]), 2)}
        for i in sample
    ]

    # Without a segment column, one row for all of the test set.
    groups = (
        test[schema.segment].astype(str).to_numpy() if schema.segment else np.full(len(test), "all")
    )
    residuals = [
        {
            "segment": str(name),
            "mean_error": round(float(errors[groups == name].mean()), 4),
            "mean_absolute_error": round(float(np.abs(errors[groups == name]).mean()), 4),
        }
        for name in sorted(np.unique(groups))
    ]

    dates = pd.to_datetime(test[schema.time]).to_numpy()
    by_date = pd.Series(np.abs(errors)).groupby(dates).mean()
    over_time = [
        {"week": _date(when), "mae": round(float(mae), 4)} for when, mae in by_date.items()
    ]
    return {"predicted_vs_actual": scatter, "residuals": residuals, "error_over_time": over_time}


# ---------------------------------------------------------------- model card and PR report


def card_use(params: Any) -> list[str]:
    """What the model's output means, for the model card's "Intended use"."""
    schema = params.data.schema_
    periods = "weeks" if params.data.source == "synthetic" else "dates"  # a file: any dates
    return [
        f"Forecasts are {code(schema.target)} per row (a number; errors are in its units). "
        f"The test set is the newest {params.split.test_size:.0%} of dates ({code(schema.time)}),"
        " all of them later than every training date: the metrics say how well the model"
        f" forecasts {periods} it has not seen."
    ]
