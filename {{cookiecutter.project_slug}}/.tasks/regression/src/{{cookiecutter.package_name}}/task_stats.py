"""The regression metrics as statistics of the test rows, for comparing two models on the same
rows (paired.py): each a smooth function of row means (absolute and squared errors, the actual
values), so each has an analytic interval by the delta method."""

from __future__ import annotations

from typing import Any

import numpy as np

from .paired import Statistic, smooth


def resampling(test: Any, schema: Any) -> tuple[np.ndarray | None, np.ndarray | None]:
    """(strata, blocks) of the test rows: no strata; one block per date, since the rows of
    one week share that week's surprises (the split is by time)."""
    return None, test[schema.time].astype(str).to_numpy()


def _ratio(top: np.ndarray, bottom: np.ndarray) -> np.ndarray:
    return np.divide(top, bottom, out=np.full_like(top, np.nan), where=bottom != 0)


def statistic(metric: str, truth: Any, predicted: Any, params: Any) -> Statistic:
    """`metric` of forecasts against actual values, as task.metrics computes it."""
    actual = np.asarray(truth, dtype=float)
    errors = np.asarray(predicted, dtype=float) - actual
    if metric == "mae":
        return smooth(np.abs(errors), lambda m: m[:, 0])
    if metric == "rmse":
        return smooth(errors**2, lambda m: np.sqrt(m[:, 0]))
    if metric == "wape":
        return smooth(np.column_stack([np.abs(errors), np.abs(actual)]), _wape)
    if metric == "r2":
        return smooth(np.column_stack([errors**2, actual, actual**2]), _r2)
    raise ValueError(f"no statistic for {metric!r}")


def _wape(means: np.ndarray) -> np.ndarray:
    return _ratio(means[:, 0], means[:, 1])


def _r2(means: np.ndarray) -> np.ndarray:
    """1 - squared error / variance of the actual values (both as means over the rows)."""
    return 1.0 - _ratio(means[:, 0], means[:, 2] - means[:, 1] ** 2)
