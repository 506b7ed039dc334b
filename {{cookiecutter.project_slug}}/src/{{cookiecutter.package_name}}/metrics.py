"""Everything specific to the task (binary classification) in one place:
which metrics exist, which direction is better, and how they are computed.

sklearn is imported inside the functions so that modules which only need the
metric names (params, gate, report) stay quick to import.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

# metric name -> True when higher is better
METRICS: dict[str, bool] = {
    "roc_auc": True,
    "average_precision": True,
    "accuracy": True,
    "precision": True,
    "recall": True,
    "f1": True,
    "log_loss": False,
}


def higher_is_better(metric: str) -> bool:
    return METRICS[metric]


def improvement(metric: str, new: float, old: float) -> float:
    """How much better `new` is than `old` (negative when worse), whatever the direction."""
    return new - old if higher_is_better(metric) else old - new


def _both_classes(y_true: np.ndarray) -> bool:
    return np.unique(y_true).size == 2


def classification_metrics(
    y_true: np.ndarray, scores: np.ndarray, threshold: float
) -> dict[str, float]:
    """Metrics of positive-class scores against 0/1 labels. NaN where undefined."""
    from sklearn import metrics as skm

    y_true = np.asarray(y_true)
    scores = np.asarray(scores, dtype=float)
    predicted = (scores >= threshold).astype(int)
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


def _thin(points: np.ndarray, most: int) -> np.ndarray:
    """Keep at most `most` rows, always including the first and last."""
    if len(points) <= most:
        return points
    keep = np.unique(np.linspace(0, len(points) - 1, most).round().astype(int))
    return points[keep]


def plot_data(
    y_true: np.ndarray, scores: np.ndarray, threshold: float, most_points: int = 101
) -> dict[str, Any]:
    """Small, committed plot files: ROC, precision-recall and confusion counts."""
    from sklearn import metrics as skm

    y_true = np.asarray(y_true)
    predicted = (np.asarray(scores) >= threshold).astype(int)
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


def largest_gap(per_segment: Mapping[str, Mapping[str, float]], metric: str) -> float:
    """Largest difference of `metric` between two segments (0 with fewer than two)."""
    values = [m[metric] for m in per_segment.values() if not math.isnan(m[metric])]
    return float(max(values) - min(values)) if len(values) >= 2 else 0.0
