"""The regression task's fairness measures per group (fairness.py runs them through
fairlearn's MetricFrame): the primary metric (an error) and the mean error, whose sign says
whether a group's demand is over- or under-forecast; and the gap between groups: the error
gap, the largest difference of the primary metric between two groups."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

GAPS = ("error_gap",)


def metrics(params: Any) -> dict[str, Callable[[Any, Any], float]]:
    """Each measure of one group's actual values and forecasts."""
    from .task_stats import statistic

    def primary(truth: Any, predicted: Any) -> float:
        return statistic(params.primary_metric, truth, predicted, params).value

    def mean_error(truth: Any, predicted: Any) -> float:
        return float(np.mean(np.asarray(predicted, dtype=float) - np.asarray(truth, dtype=float)))

    return {params.primary_metric: primary, "mean_error": mean_error}


def gaps(by_group: Any) -> dict[str, dict[str, Any]]:
    """The gap between groups, from MetricFrame's by_group table: the primary metric's."""
    from .fairness import spread

    return {"error_gap": spread(by_group[by_group.columns[0]])}
