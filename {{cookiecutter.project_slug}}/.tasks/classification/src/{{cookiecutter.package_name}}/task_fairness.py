"""The classification task's fairness measures per group (fairness.py runs them through
fairlearn's MetricFrame): the share predicted positive, the true and false positive rates and
the primary metric; and the gaps between groups: the demographic parity difference (of the
share predicted positive) and the equalized odds difference (the larger of the gaps in true
and false positive rate)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

GAPS = ("demographic_parity_difference", "equalized_odds_difference")


def _rate(chosen: np.ndarray, among: np.ndarray) -> float:
    return float(chosen[among].mean()) if among.any() else float("nan")


def metrics(params: Any) -> dict[str, Callable[[Any, Any], float]]:
    """Each measure of one group's labels and scores, at the model's threshold."""
    from .task_stats import statistic

    def positive(scores: Any) -> np.ndarray:
        return np.asarray(scores, dtype=float) >= params.threshold

    def primary(truth: Any, scores: Any) -> float:
        return statistic(params.primary_metric, truth, scores, params).value

    def selection_rate(truth: Any, scores: Any) -> float:
        return float(positive(scores).mean())

    def true_positive_rate(truth: Any, scores: Any) -> float:
        return _rate(positive(scores), np.asarray(truth) == 1)

    def false_positive_rate(truth: Any, scores: Any) -> float:
        return _rate(positive(scores), np.asarray(truth) == 0)

    return {
        params.primary_metric: primary,
        "selection_rate": selection_rate,
        "true_positive_rate": true_positive_rate,
        "false_positive_rate": false_positive_rate,
    }


def gaps(by_group: Any) -> dict[str, dict[str, Any]]:
    """The gaps between groups, from MetricFrame's by_group table."""
    from .fairness import spread

    odds = [spread(by_group[name]) for name in ("true_positive_rate", "false_positive_rate")]
    return {
        "demographic_parity_difference": spread(by_group["selection_rate"]),
        "equalized_odds_difference": max(odds, key=lambda gap: gap["value"]),
    }
