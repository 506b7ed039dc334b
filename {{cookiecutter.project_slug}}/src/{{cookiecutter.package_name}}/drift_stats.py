"""Drift statistics: each feature column of the newest data against the training snapshot.

Each feature column gets one test, chosen by type and sample size:

| column      | fewer rows than `drift.large_sample` | from `drift.large_sample` rows   |
|-------------|--------------------------------------|----------------------------------|
| numeric     | two-sample Kolmogorov-Smirnov p-value | Wasserstein distance / reference std |
| categorical | chi-square p-value (2 x k table)      | Jensen-Shannon distance (natural log) |

A column also drifts when its share of missing values rises by more than
`drift.max_missing_increase`, or when values never seen in training make up more than
`drift.max_unseen_share` of it. Everything works on sorted arrays and category counts,
so a million rows take well under a second per column.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import pandas as pd

from .params import DriftParams, Schema

BINS = 20  # histogram bins per numeric column in the reports
MOST_CATEGORIES = 20  # categories shown per column in the reports; the rest are summed
SCORE_CAP = 10.0


def _finite_sorted(values: pd.Series) -> np.ndarray:
    array = values.to_numpy(dtype=float, na_value=np.nan)
    return np.sort(array[np.isfinite(array)])


def wasserstein(reference: np.ndarray, current: np.ndarray) -> float:
    """Earth mover's distance between two sorted samples.

    The area between their quantile functions, which are steps at i/n and j/m. In units of
    1/(n*m) every step is an integer, and where each one falls in the merged grid follows
    from arithmetic, so there is no search and no second sort.
    """
    n, m = reference.size, current.size
    if n == m:  # the steps coincide
        return float(np.mean(np.abs(reference - current)))
    i = np.arange(1, n + 1, dtype=np.int64)
    j = np.arange(1, m + 1, dtype=np.int64)
    steps = np.empty(n + m, dtype=np.int64)
    steps[i - 1 + (i * m - 1) // n] = i * m  # after the current steps below it
    steps[j - 1 + (j * n) // m] = j * n  # after the reference steps up to it
    widths = np.diff(steps, prepend=0)
    gaps = np.abs(reference[(steps - 1) // m] - current[(steps - 1) // n])
    return float(np.dot(widths, gaps)) / (n * m)


def normalised_wasserstein(reference: np.ndarray, current: np.ndarray) -> float:
    """Wasserstein distance in units of the reference's standard deviation."""
    scale = float(np.std(reference)) or 1.0
    return wasserstein(reference, current) / scale


def ks_p_value(reference: np.ndarray, current: np.ndarray) -> float:
    from scipy import stats

    with warnings.catch_warnings():  # scipy says so when it falls back to the asymptotic p-value
        warnings.filterwarnings("ignore", "ks_2samp: Exact calculation unsuccessful")
        return float(stats.ks_2samp(reference, current).pvalue)


def jensen_shannon(reference: np.ndarray, current: np.ndarray) -> float:
    """Jensen-Shannon distance (square root of the divergence, natural log) of two count vectors."""
    p = reference / reference.sum()
    q = current / current.sum()
    m = (p + q) / 2

    def kl(a: np.ndarray) -> float:
        nonzero = a > 0
        return float(np.sum(a[nonzero] * np.log(a[nonzero] / m[nonzero])))

    return math.sqrt(max((kl(p) + kl(q)) / 2, 0.0))


def chi_square_p_value(reference: np.ndarray, current: np.ndarray) -> float:
    """Homogeneity test of two count vectors over the same categories."""
    from scipy import stats

    table = np.vstack([reference, current])
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2:
        return 1.0
    return float(stats.chi2_contingency(table, correction=False).pvalue)


def score(test: str, statistic: float, threshold: float) -> float:
    """Severity on one scale: 1 is the threshold; a drifted column scores 1 or more.

    A distance is divided by its threshold; a p-value p scores log(p) / log(threshold).
    """
    if math.isnan(statistic):
        return 0.0
    if test in {"ks", "chi_square"}:
        value = SCORE_CAP if statistic <= 0 else math.log(statistic) / math.log(threshold)
    else:
        value = statistic / threshold
    return round(min(max(value, 0.0), SCORE_CAP), 4)


def _histogram(reference: np.ndarray, current: np.ndarray) -> dict[str, Any]:
    """Shares of both samples in BINS bins over the central 99% of their values."""
    both = [sample for sample in (reference, current) if sample.size]
    if not both:
        return {"edges": [], "reference": [], "current": []}
    low = min(sample[int(0.005 * (sample.size - 1))] for sample in both)
    high = max(sample[int(0.995 * (sample.size - 1))] for sample in both)
    edges = np.linspace(low, high if high > low else low + 1.0, BINS + 1)

    def shares(sample: np.ndarray) -> list[float]:
        if not sample.size:
            return [0.0] * BINS
        cuts = np.searchsorted(sample, edges[1:-1], side="left")
        counts = np.diff(np.concatenate([[0], cuts, [sample.size]]))
        return [round(float(share), 5) for share in counts / sample.size]

    return {
        "edges": [round(float(edge), 4) for edge in edges],
        "reference": shares(reference),
        "current": shares(current),
    }


def _round(value: float) -> float:
    return float(f"{value:.6g}")


def _missing(values: pd.Series) -> float:
    return float(values.isna().mean()) if len(values) else 0.0


def numeric_column(
    reference: pd.Series, current: pd.Series, p_value: float, distance: float, large_sample: int
) -> dict[str, Any]:
    ref, cur = _finite_sorted(reference), _finite_sorted(current)
    if not ref.size or not cur.size:
        test, statistic, threshold = "wasserstein", math.nan, distance
        drifted = False
    elif min(ref.size, cur.size) < large_sample:
        test, statistic, threshold = "ks", ks_p_value(ref, cur), p_value
        drifted = statistic < threshold
    else:
        test, statistic, threshold = "wasserstein", normalised_wasserstein(ref, cur), distance
        drifted = statistic >= threshold
    return {
        "type": "numeric",
        "test": test,
        "statistic": _round(statistic),
        "threshold": threshold,
        "drifted": bool(drifted),
        "distribution": _histogram(ref, cur),
    }


def _counts(values: pd.Series) -> pd.Series:
    """Count of each value, keyed by its text (missing values left out)."""
    counts = values.value_counts(dropna=True, sort=False)
    counts.index = counts.index.astype(str)
    return counts.groupby(level=0, sort=False).sum()


def categorical_column(
    reference: pd.Series,
    current: pd.Series,
    p_value: float,
    distance: float,
    large_sample: int,
) -> dict[str, Any]:
    ref_counts, cur_counts = _counts(reference), _counts(current)
    categories = list(dict.fromkeys([*ref_counts.index, *cur_counts.index]))
    ref = ref_counts.reindex(categories, fill_value=0).to_numpy(dtype=float)
    cur = cur_counts.reindex(categories, fill_value=0).to_numpy(dtype=float)
    n_ref, n_cur = ref.sum(), cur.sum()
    if not n_ref or not n_cur:
        test, statistic, threshold, drifted = "jensen_shannon", math.nan, distance, False
    elif min(n_ref, n_cur) < large_sample:
        test, statistic, threshold = "chi_square", chi_square_p_value(ref, cur), p_value
        drifted = statistic < threshold
    else:
        test, statistic, threshold = "jensen_shannon", jensen_shannon(ref, cur), distance
        drifted = statistic >= threshold
    unseen = {
        name: int(count)
        for name, count, known in zip(categories, cur, ref > 0, strict=True)
        if not known
    }
    unseen_share = sum(unseen.values()) / n_cur if n_cur else 0.0
    shown = np.argsort(-(ref / max(n_ref, 1) + cur / max(n_cur, 1)), kind="stable")
    shown = shown[:MOST_CATEGORIES]
    return {
        "type": "categorical",
        "test": test,
        "statistic": _round(statistic),
        "threshold": threshold,
        "drifted": bool(drifted),
        "unseen": unseen,
        "unseen_share": _round(unseen_share),
        "distribution": {
            "categories": [categories[i] for i in shown],
            "reference": [round(float(ref[i] / max(n_ref, 1)), 5) for i in shown],
            "current": [round(float(cur[i] / max(n_cur, 1)), 5) for i in shown],
        },
    }


def check_columns(
    reference: pd.DataFrame, current: pd.DataFrame, schema: Schema, drift: DriftParams
) -> dict[str, dict[str, Any]]:
    """One entry per feature column: test, statistic, threshold, drifted, score, reasons."""
    columns: dict[str, dict[str, Any]] = {}
    for name in schema.features:
        p_value, distance = drift.limits(
            name, "numeric" if name in schema.numeric else "categorical"
        )
        if name in schema.numeric:
            result = numeric_column(
                reference[name], current[name], p_value, distance, drift.large_sample
            )
        else:
            result = categorical_column(
                reference[name], current[name], p_value, distance, drift.large_sample
            )
        missing = {"reference": _missing(reference[name]), "current": _missing(current[name])}
        result["missing"] = {side: round(share, 6) for side, share in missing.items()}
        reasons = [result["test"]] if result["drifted"] else []
        if missing["current"] - missing["reference"] > drift.max_missing_increase:
            reasons.append(f"missing {missing['reference']:.1%} -> {missing['current']:.1%}")
        if result.get("unseen_share", 0.0) > drift.max_unseen_share:
            reasons.append(f"unseen values {sorted(result['unseen'])[:5]}")
        result["drifted"] = bool(reasons)
        result["reasons"] = reasons
        result["score"] = score(result["test"], result["statistic"], result["threshold"])
        columns[name] = result
    return columns
