"""The classification metrics as statistics of the test rows, for comparing two models on the
same rows (paired.py): the area under the ROC curve with DeLong's influence, average precision
through the bootstrap, and the threshold metrics and log loss as functions of row means."""

from __future__ import annotations

from typing import Any

import numpy as np

from .paired import Statistic, smooth


def resampling(test: Any, schema: Any) -> tuple[np.ndarray | None, np.ndarray | None]:
    """(strata, blocks) of the test rows: the class; by date when the split is by time."""
    blocks = test[schema.time].astype(str).to_numpy() if schema.time else None
    return test[schema.target].to_numpy(dtype=int), blocks


def _ratio(top: np.ndarray, bottom: np.ndarray) -> np.ndarray:
    """top / bottom, 0 where bottom is 0 (scikit-learn's zero_division=0)."""
    return np.divide(top, bottom, out=np.zeros_like(top), where=bottom > 0)


def statistic(metric: str, truth: Any, scores: Any, params: Any) -> Statistic:
    """`metric` of positive-class `scores` against 0/1 `truth`, as task.metrics computes it."""
    y = np.asarray(truth, dtype=int)
    scores = np.asarray(scores, dtype=float)
    if metric == "roc_auc":
        return _roc_auc(y, scores)
    if metric == "average_precision":
        return _average_precision(y, scores)
    if metric == "log_loss":
        clipped = np.clip(scores, 1e-15, 1 - 1e-15)
        return smooth(-np.log(np.where(y == 1, clipped, 1 - clipped)), lambda m: m[:, 0])
    predicted = (scores >= params.threshold).astype(int)
    hits = predicted * y
    if metric == "accuracy":
        return smooth(predicted == y, lambda m: m[:, 0])
    if metric == "precision":
        return smooth(np.column_stack([hits, predicted]), lambda m: _ratio(m[:, 0], m[:, 1]))
    if metric == "recall":
        return smooth(np.column_stack([hits, y]), lambda m: _ratio(m[:, 0], m[:, 1]))
    if metric == "f1":
        columns = np.column_stack([hits, predicted, y])
        return smooth(columns, lambda m: _ratio(2 * m[:, 0], m[:, 1] + m[:, 2]))
    raise ValueError(f"no statistic for {metric!r}")


def _groups(scores: np.ndarray, descending: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """The rows in score order, and where each run of equal scores starts in it."""
    order = np.argsort(-scores if descending else scores, kind="stable")
    ranked = scores[order]
    return order, np.flatnonzero(np.r_[True, ranked[1:] != ranked[:-1]])


def _per_group(weights: np.ndarray, y: np.ndarray, order: np.ndarray, starts: np.ndarray) -> Any:
    """Weighted positives and negatives per run of equal scores (resamples x runs)."""
    ordered = weights[:, order]
    positives = np.add.reduceat(ordered * y[order], starts, axis=1)
    return positives, np.add.reduceat(ordered, starts, axis=1) - positives


def _roc_auc(y: np.ndarray, scores: np.ndarray) -> Statistic:
    """The AUC with each row's DeLong component: for a positive, the share of negatives it
    outranks; for a negative, the share of positives that outrank it (ties count a half)."""
    from scipy.stats import rankdata

    rows, positive = len(y), y == 1
    count = int(positive.sum())
    if count in (0, rows):
        return Statistic(np.nan, rows, None, lambda weights: np.full(len(weights), np.nan))
    ranks = rankdata(scores)
    above = (ranks[positive] - rankdata(scores[positive])) / (rows - count)
    below = 1 - (ranks[~positive] - rankdata(scores[~positive])) / count
    value = float(above.mean())
    influence = np.empty(rows)
    influence[positive] = (above - value) * rows / count
    influence[~positive] = (below - value) * rows / (rows - count)
    order, starts = _groups(scores)

    def weighted(weights: np.ndarray) -> np.ndarray:
        positives, negatives = _per_group(weights, y, order, starts)
        lower = np.cumsum(negatives, axis=1) - negatives
        pairs = positives.sum(axis=1) * negatives.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            return (positives * (lower + negatives / 2)).sum(axis=1) / pairs

    return Statistic(value, rows, influence, weighted, "DeLong")


def _average_precision(y: np.ndarray, scores: np.ndarray) -> Statistic:
    """Average precision (scikit-learn's: precision at each distinct score, weighted by the
    recall it adds); no analytic interval, so it is bootstrapped."""
    order, starts = _groups(scores, descending=True)
    ends = np.r_[starts[1:] - 1, len(y) - 1]  # the last row of each run of equal scores
    positive = (y[order] == 1).astype(float)

    def weighted(weights: np.ndarray) -> np.ndarray:
        """Running sums in score order, read at the end of each run: found positives over
        all rows so far is the precision at that threshold."""
        ordered = weights[:, order]
        found = np.cumsum(ordered * positive, axis=1)
        total = np.cumsum(ordered, axis=1)
        if len(ends) < len(y):
            found, total = found[:, ends], total[:, ends]
        gained = np.diff(found, axis=1, prepend=0.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            return (gained * (found / total)).sum(axis=1) / found[:, -1]

    value = float(weighted(np.ones((1, len(y))))[0]) if len(y) else np.nan
    return Statistic(value, len(y), None, weighted)
