"""The task: binary classification (does a customer churn?).

Everything that depends on the task lives in this module, and no other module knows which
task it is: the metrics and which way is better (`greater_is_better` and `response_method`,
as scikit-learn's scorers say it), the split, the estimators with their typed
hyperparameters, the target's check, the plot data, and the task's lines in the model card
and the PR report. A regression bake has a module of the same name with the same names in it.

scikit-learn is imported inside the functions, so that params, gate and report stay quick.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .markdown import code

if TYPE_CHECKING:
    from .task_params import ModelParams, SplitParams

NAME = "classification"
# metric -> greater_is_better
METRICS: dict[str, bool] = {
    "roc_auc": True,
    "average_precision": True,
    "accuracy": True,
    "precision": True,
    "recall": True,
    "f1": True,
    "log_loss": False,
}
RESPONSE_METHOD = "predict_proba"  # what a model is asked for (MLflow's pyfunc flavour too)
TARGET_NOTE = "binary, 0 or 1"
# How the bake's model.description starts: the synthetic source's words, which use-data replaces.
SOURCE_WORDING = "Predicts which customers will churn"
PREDICTION_COLUMNS = ["score", "prediction"]  # what `predict` adds to the scored table
SCORE_BUCKETS = tuple(step / 20 for step in range(1, 21))  # /metrics: the score distribution
# The plot files evaluate writes (reports/plots/<name>.json); the report reads both sides' own.
PLOTS = ["roc", "confusion", "precision_recall"]

# The types beyond skops' own defaults that a model saved by train holds, per estimator,
# exactly as skops.io.get_untrusted_types lists them (scikit-learn 1.9, skops 0.16). Loading
# refuses any other type: a crafted file naming e.g. builtins.eval would run code.
TRUSTED_TYPES = {
    "hist_gradient_boosting": {
        "functools.partial",  # the loss keeps check_array as a partial
        "numpy.dtype",  # some training frames leave a dtype in the encoder
        "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
        "sklearn.utils.validation.check_array",
    },
    "logistic_regression": {"numpy.dtype"},
    "random_forest": {"numpy.dtype", "sklearn.tree._tree.Tree"},
}


# ---------------------------------------------------------------- training


def split(
    frame: pd.DataFrame, params: SplitParams, schema: Any
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A seeded random split, stratified by the target unless `split.stratify` is false."""
    from sklearn.model_selection import train_test_split

    stratify = frame[schema.target] if params.stratify else None
    train_part, test_part = train_test_split(
        frame, test_size=params.test_size, random_state=params.seed, stratify=stratify
    )
    return train_part, test_part


def _class(value: Any) -> str:
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def split_problem(frame: pd.DataFrame, params: SplitParams, schema: Any) -> str | None:
    """Why `frame` cannot be split into training and test parts that both hold each class
    of the target, or None. A class needs 1/test_size rows for one of them to be expected in
    the test part (and 1/(1 - test_size) for the training part); stratifying needs two."""
    counts = frame[schema.target].dropna().map(_class).value_counts().sort_index()
    found = ", ".join(
        f"{name}: {count:,} row{'' if count == 1 else 's'}" for name, count in counts.items()
    )
    if len(counts) < 2:
        return (
            f"the target {schema.target!r} holds {'one class only' if len(counts) else 'no class'}"
            f" ({found or 'no rows'}); a classifier needs rows of both 0 and 1"
        )
    size = params.test_size
    need = max(2, math.ceil(1 / size - 1e-9), math.ceil(1 / (1 - size) - 1e-9))
    if counts.min() < need:
        return (
            f"the target {schema.target!r} has too few rows of class {counts.idxmin()} ({found});"
            f" split.test_size {size} needs at least {need:,} rows of each class, so that the"
            " training and the test part both hold both classes"
        )
    return None


def estimator(params: Any, fixed: dict[str, Any]) -> Any:
    """The configured scikit-learn estimator with the hyperparameters params.yaml sets."""
    from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
    from sklearn.linear_model import LogisticRegression as LogisticRegressionClassifier

    cls = {
        "hist_gradient_boosting": HistGradientBoostingClassifier,
        "logistic_regression": LogisticRegressionClassifier,
        "random_forest": RandomForestClassifier,
    }[params.estimator]
    if params.estimator != "hist_gradient_boosting":
        fixed = {key: value for key, value in fixed.items() if key != "categorical_features"}
    return cls(**params.hyperparameters.model_dump(exclude_unset=True), **fixed)


# ---------------------------------------------------------------- predicting and scoring


def predictions(output: Any) -> np.ndarray:
    """A model's raw output (`predict_proba`'s two columns, or one) as one score per row."""
    scores = np.asarray(output, dtype=float)
    return scores[:, 1] if scores.ndim == 2 else scores


def predict(model: Any, features: pd.DataFrame) -> np.ndarray:
    """The probability of the positive class for each row."""
    return predictions(getattr(model, RESPONSE_METHOD)(features))


def prediction_columns(scores: np.ndarray, params: ModelParams) -> dict[str, np.ndarray]:
    return {"score": scores, "prediction": (scores >= params.threshold).astype(int)}


def label_problem(value: float) -> str | None:
    """Why one label sent back for a served row (feedback) cannot be a target, or None."""
    return None if value in (0.0, 1.0) else f"the label must be 0 or 1, not {value:g}"


def target_problem(values: pd.Series) -> str | None:
    """Why `values` cannot be this task's target, or None."""
    if values.isna().any() or not values.isin([0, 1]).all() or values.nunique() != 2:
        return "must hold only 0 and 1 (no missing values), both of them"
    return None


def target_expectations(gxe: Any, column: str) -> list[Any]:
    """Great Expectations' checks of the target column (gxe: great_expectations.expectations)."""
    return [
        gxe.ExpectColumnValuesToNotBeNull(column=column),
        gxe.ExpectColumnValuesToBeInSet(column=column, value_set=[0, 1]),
    ]


def _both_classes(y_true: np.ndarray) -> bool:
    return np.unique(y_true).size == 2


def metrics(y_true: Any, scores: np.ndarray, params: ModelParams) -> dict[str, float]:
    """Every metric of positive-class scores against 0/1 labels. NaN where undefined."""
    from sklearn import metrics as skm

    y_true = np.asarray(y_true, dtype=int)
    scores = np.asarray(scores, dtype=float)
    predicted = (scores >= params.threshold).astype(int)
    ranked = _both_classes(y_true)
    return {
        "roc_auc": float(skm.roc_auc_score(y_true, scores)) if ranked else math.nan,
        "average_precision": (
            float(skm.average_precision_score(y_true, scores)) if ranked else math.nan
        ),
        "accuracy": float(skm.accuracy_score(y_true, predicted)),
        "precision": float(skm.precision_score(y_true, predicted, zero_division=0)),
        "recall": float(skm.recall_score(y_true, predicted, zero_division=0)),
        "f1": float(skm.f1_score(y_true, predicted, zero_division=0)),
        "log_loss": float(skm.log_loss(y_true, np.clip(scores, 1e-15, 1 - 1e-15), labels=[0, 1])),
    }


BASELINE_METRICS = {"accuracy", "average_precision", "log_loss"}  # others: the bound is kept


def data_gate(train: pd.DataFrame, test: pd.DataFrame, params: Any) -> tuple[dict[str, float], str]:
    """The gate keys `use-data` sets from a user's table, and why: the primary metric of a
    constant score (the training share of 1s) on the test part, which a model must reach.
    {} keeps params.yaml's bound (the metrics a constant score says nothing useful about)."""
    metric, target = params.model.primary_metric, params.data.schema_.target
    share = float(train[target].astype(float).mean())
    naive = metrics(test[target], np.full(len(test), share), params.model)[metric]
    if metric not in BASELINE_METRICS or not math.isfinite(naive):
        return {}, (
            f"gate.min_value {params.gate.min_value} is kept (a constant score has {metric}"
            f" {naive:.3g}, which says little); review it for your data"
        )
    bound = round(naive, 3)
    key = "min_value" if METRICS[metric] else "max_value"
    return {key: bound}, (
        f"a constant score (the training share of {target} = 1, {share:.3f}) has {metric}"
        f" {naive:.4f} on the test part; a model must do at least as well"
    )


def _thin(points: np.ndarray, most: int) -> np.ndarray:
    """Keep at most `most` rows, always including the first and last."""
    if len(points) <= most:
        return points
    keep = np.unique(np.linspace(0, len(points) - 1, most).round().astype(int))
    return points[keep]


def plot_data(
    test: pd.DataFrame, scores: np.ndarray, params: Any, most_points: int = 101
) -> dict[str, Any]:
    """Small, committed plot files: ROC, precision-recall and confusion counts."""
    from sklearn import metrics as skm

    y_true = test[params.data.schema_.target].to_numpy(dtype=int)
    predicted = (np.asarray(scores) >= params.model.threshold).astype(int)
    plots: dict[str, Any] = {"roc": [], "precision_recall": []}
    if _both_classes(y_true):
        fpr, tpr, _ = skm.roc_curve(y_true, scores)
        roc = _thin(np.column_stack([fpr, tpr]), most_points)
        plots["roc"] = [{"fpr": round(x, 4), "tpr": round(y, 4)} for x, y in roc.tolist()]
        precision, recall, _ = skm.precision_recall_curve(y_true, scores)
        curve = _thin(np.column_stack([recall, precision])[::-1], most_points)
        plots["precision_recall"] = [
            {"recall": round(x, 4), "precision": round(y, 4)} for x, y in curve.tolist()
        ]
    counts = skm.confusion_matrix(y_true, predicted, labels=[0, 1])
    plots["confusion"] = [
        {"actual": str(actual), "predicted": str(guess), "count": int(counts[actual, guess])}
        for actual in (0, 1)
        for guess in (0, 1)
    ]
    return plots


# ---------------------------------------------------------------- model card and PR report


def card_use(params: Any) -> list[str]:
    """What the model's output means, for the model card's "Intended use"."""
    return [
        "Scores are probabilities of the positive class "
        f"({code(params.data.schema_.target)} = 1); decisions use a threshold of "
        f"{params.model.threshold}."
    ]
