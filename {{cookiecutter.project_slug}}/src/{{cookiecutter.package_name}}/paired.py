"""Two models compared on the same rows: the paired difference of a metric, its confidence
interval and a verdict (better, worse, or no detectable difference).

A metric on a set of rows is a `Statistic`: its value, each row's influence on it (how the
value moves when that row's weight does) and its value under resampling weights. The interval
is analytic where the influence is known (DeLong's for the area under the ROC curve, the delta
method for metrics that are smooth functions of row means: log loss, accuracy, F1, mean
absolute error, ...); it is a seeded Poisson bootstrap where it is not (average precision)
and on small samples. Rows that are not independent (a split by time: one week's rows share
that week's surprises) have their influence summed, and are resampled, by block. Pure numpy.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from statistics import NormalDist

import numpy as np

BETTER, WORSE, NO_DIFFERENCE = "better", "worse", "no detectable difference"
SEGMENT = "segment:"  # a comparison's key for the primary metric in one segment: segment:<value>
MIN_ANALYTIC_ROWS = 1000  # fewer rows: the bootstrap, whose interval needs no normal limit
ENDLESS = (-math.inf, math.inf)  # no interval: no verdict either
CELLS = 4_000_000  # resampling weights drawn at once (resamples x rows): 32 MB


@dataclass(frozen=True)
class Statistic:
    """A metric on a set of rows."""

    value: float
    rows: int
    influence: np.ndarray | None  # per row, summing to about 0; None: no analytic interval
    weighted: Callable[[np.ndarray], np.ndarray]  # weights (resamples x rows) -> values
    method: str = "delta method"


def smooth(columns: np.ndarray, function: Callable[[np.ndarray], np.ndarray]) -> Statistic:
    """A metric that is `function` of the means of per-row `columns` (rows x k; `function`
    maps means (m x k) to m values): its influence by the delta method, with the gradient
    taken numerically, and its value under any weights exactly."""
    columns = np.asarray(columns, dtype=float).reshape(len(columns), -1)
    means = columns.mean(axis=0) if len(columns) else np.full(columns.shape[1], math.nan)
    value = float(function(means[None, :])[0])
    gradient = np.empty(len(means))
    for j, mean in enumerate(means):
        step = np.zeros(len(means))
        step[j] = 1e-6 * max(1.0, abs(mean))
        ends = function(np.stack([means + step, means - step]))
        gradient[j] = (ends[0] - ends[1]) / (2 * step[j])
    influence = (columns - means) @ gradient
    usable = math.isfinite(value) and bool(np.isfinite(influence).all())

    def weighted(weights: np.ndarray) -> np.ndarray:
        totals = weights.sum(axis=1, keepdims=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            return function((weights @ columns) / totals)

    return Statistic(value, len(columns), influence if usable else None, weighted)


def gap(parts: Sequence[tuple[np.ndarray, Statistic]], rows: int) -> Statistic:
    """The largest difference of a metric between segments, from each segment's row indices
    (into `rows` rows) and its statistic; segments whose metric is undefined are left out,
    as evaluate leaves them out. The analytic influence holds the two extreme segments fixed;
    the bootstrap finds them again in every resample."""
    kept = [(index, part) for index, part in parts if math.isfinite(part.value)]
    if len(kept) < 2:
        return Statistic(0.0, rows, np.zeros(rows), lambda weights: np.zeros(len(weights)))
    values = [part.value for _, part in kept]
    influence: np.ndarray | None = np.zeros(rows)
    for position, sign in ((int(np.argmax(values)), 1.0), (int(np.argmin(values)), -1.0)):
        index, part = kept[position]
        if part.influence is None or influence is None:
            influence = None
            continue
        influence[index] += sign * part.influence * rows / len(index)

    def weighted(weights: np.ndarray) -> np.ndarray:
        found = np.stack([part.weighted(weights[:, index]) for index, part in kept])
        with np.errstate(invalid="ignore"):
            return np.nanmax(found, axis=0) - np.nanmin(found, axis=0)

    method = kept[0][1].method
    return Statistic(float(max(values) - min(values)), rows, influence, weighted, method)


@dataclass(frozen=True)
class Comparison:
    """The candidate against the champion on the same rows. `improvement` is how much better
    the candidate is (negative: worse), whichever way the metric goes; [low, high] is its
    interval at `level`."""

    metric: str
    candidate: float
    champion: float
    improvement: float
    low: float
    high: float
    level: float
    method: str
    rows: int

    @property
    def verdict(self) -> str:
        if self.low > 0:
            return BETTER
        if self.high < 0:
            return WORSE
        return NO_DIFFERENCE

    def as_dict(self) -> dict[str, object]:
        return {**asdict(self), "verdict": self.verdict}


def compare(
    metric: str,
    higher_is_better: bool,
    candidate: Statistic,
    champion: Statistic,
    *,
    level: float = 0.95,
    resamples: int = 1000,
    seed: int = 0,
    strata: np.ndarray | None = None,
    blocks: np.ndarray | None = None,
) -> Comparison:
    """The paired comparison of two models' statistics of the same rows. `strata` (e.g. the
    class) keeps each stratum's weight in every resample; `blocks` (e.g. the date) are the
    units that are independent of each other."""
    sign = 1.0 if higher_is_better else -1.0
    improvement = sign * (candidate.value - champion.value)
    rows = candidate.rows
    codes = np.unique(blocks, return_inverse=True)[1].ravel() if blocks is not None else None
    units = int(codes.max()) + 1 if codes is not None and len(codes) else rows
    if not math.isfinite(improvement) or units < 2:
        (low, high), method = ENDLESS, "no interval: too few rows or blocks"
    elif (
        candidate.influence is not None
        and champion.influence is not None
        and (rows >= MIN_ANALYTIC_ROWS)
    ):
        spread = _standard_error(sign * (candidate.influence - champion.influence), codes)
        width = _quantile(level, units if codes is not None else None) * spread
        low, high, method = improvement - width, improvement + width, candidate.method
    else:
        drawn = _resampled(candidate, champion, units, resamples, seed, strata, codes)
        differences = sign * drawn
        differences = differences[np.isfinite(differences)]
        ends = [(1 - level) / 2, (1 + level) / 2]
        low, high = np.quantile(differences, ends).tolist() if len(differences) else ENDLESS
        method = f"bootstrap, {resamples:,} resamples (seed {seed})"
        if strata is not None:
            method += ", stratified"
    if codes is not None and math.isfinite(low):
        method += f", {units:,} blocks"
    return Comparison(
        metric, candidate.value, champion.value, improvement, low, high, level, method, rows
    )


def _standard_error(influence: np.ndarray, codes: np.ndarray | None) -> float:
    """The standard error of the mean influence: rows independent, or blocks (summed per block,
    with the small-sample factor G/(G-1))."""
    count = len(influence)
    if codes is None:
        return float(np.std(influence, ddof=1) / math.sqrt(count))
    sums = np.bincount(codes, weights=influence)
    blocks = len(sums)
    return float(math.sqrt(blocks / (blocks - 1) * np.sum(sums**2)) / count)


def _quantile(level: float, blocks: int | None) -> float:
    """The two-sided critical value: normal, or Student's t with G-1 degrees of freedom for G
    blocks (few blocks make the standard error itself uncertain)."""
    if blocks is None:
        return NormalDist().inv_cdf(0.5 + level / 2)
    from scipy.stats import t

    return float(t.ppf(0.5 + level / 2, blocks - 1))


def _resampled(
    candidate: Statistic,
    champion: Statistic,
    units: int,
    resamples: int,
    seed: int,
    strata: np.ndarray | None,
    codes: np.ndarray | None,
) -> np.ndarray:
    """candidate - champion under `resamples` Poisson(1) weightings of the rows (or blocks),
    each stratum rescaled to its own total; drawn in chunks to bound memory."""
    generator = np.random.default_rng(seed)
    rows = candidate.rows
    groups = [] if strata is None else [strata == value for value in np.unique(strata)]
    found = []
    chunk = max(1, CELLS // max(rows, 1))
    for start in range(0, resamples, chunk):
        weights = generator.poisson(1.0, size=(min(chunk, resamples - start), units))
        weights = weights.astype(float) if codes is None else weights[:, codes].astype(float)
        for rows_of in groups:
            totals = weights[:, rows_of].sum(axis=1, keepdims=True)
            weights[:, rows_of] *= np.divide(
                rows_of.sum(), totals, out=np.ones_like(totals), where=totals > 0
            )
        found.append(candidate.weighted(weights) - champion.weighted(weights))
    return np.concatenate(found)
