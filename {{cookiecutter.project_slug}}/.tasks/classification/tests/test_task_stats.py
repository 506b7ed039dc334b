from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from sklearn import metrics as skm

from {{ cookiecutter.package_name }} import paired, task
from {{ cookiecutter.package_name }}.paired import BETTER, NO_DIFFERENCE, WORSE
from {{ cookiecutter.package_name }}.params import Params
from {{ cookiecutter.package_name }}.task_stats import statistic

from .conftest import agrees_with_scipy


def _auc(y: np.ndarray, s: np.ndarray) -> float:
    positives = int(y.sum())
    ranks = stats.rankdata(s)[y == 1]
    return (ranks.sum() - positives * (positives + 1) / 2) / (positives * (len(y) - positives))


def _hits(y: np.ndarray, s: np.ndarray) -> tuple[int, int, int]:
    """(true positives, predicted positives, actual positives) at the threshold 0.5."""
    predicted = s >= 0.5
    return int((predicted & (y == 1)).sum()), int(predicted.sum()), int(y.sum())


# The plain definitions, for scipy's bootstrap to call a thousand times (scikit-learn's
# checks would take seconds); test_each_statistic_is_the_metric_the_task_reports ties the
# statistics to scikit-learn's values.
ONE_METRIC = {
    "roc_auc": _auc,
    "average_precision": skm.average_precision_score,
    "accuracy": lambda y, s: float(np.mean((s >= 0.5) == (y == 1))),
    "precision": lambda y, s: _hits(y, s)[0] / max(_hits(y, s)[1], 1),
    "recall": lambda y, s: _hits(y, s)[0] / max(_hits(y, s)[2], 1),
    "f1": lambda y, s: 2 * _hits(y, s)[0] / max(_hits(y, s)[1] + _hits(y, s)[2], 1),
    "log_loss": lambda y, s: float(-np.mean(np.log(np.where(y == 1, s, 1 - s)))),
}


def two_models(rows: int, seed: int = 1, edge: float = 0.05):
    """0/1 labels and two related models' scores; the first separates the classes better."""
    generator = np.random.default_rng(seed)
    truth = generator.integers(0, 2, rows)
    shared = generator.normal(0, 0.25, rows)
    first = np.clip(0.5 + (0.2 + edge) * (truth - 0.5) + shared, 0.01, 0.99)
    other = 0.5 + 0.2 * (truth - 0.5) + shared + generator.normal(0, 0.1, rows)
    second = np.clip(other, 0.01, 0.99)
    return truth, first, second


def test_each_statistic_is_the_metric_the_task_reports(params: Params) -> None:
    truth, scores, _ = two_models(500)
    reported = task.metrics(truth, scores, params.model)
    for metric in task.METRICS:
        assert statistic(metric, truth, scores, params.model).value == pytest.approx(
            reported[metric], abs=1e-9
        ), metric


@pytest.mark.parametrize(
    ("metric", "analytic"),
    [(metric, True) for metric in ONE_METRIC if metric != "average_precision"]
    + [(metric, False) for metric in ONE_METRIC],  # average precision has no analytic interval
)
def test_each_interval_agrees_with_scipys_paired_bootstrap(
    params: Params, metric: str, analytic: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On 300 rows, DeLong's and the delta method's intervals (analytic) and the stratified
    Poisson bootstrap's agree with scipy.stats.bootstrap's percentile interval of the plain
    paired bootstrap, within a fifth of its width."""
    monkeypatch.setattr(paired, "MIN_ANALYTIC_ROWS", 100 if analytic else 10**9)
    truth, first, second = two_models(300)
    higher = task.METRICS[metric]
    found = paired.compare(
        metric,
        higher,
        statistic(metric, truth, first, params.model),
        statistic(metric, truth, second, params.model),
        strata=truth,
        resamples=2000,
    )
    assert found.method.startswith("bootstrap") != analytic
    sign = 1 if higher else -1
    score = ONE_METRIC[metric]
    agrees_with_scipy(
        found, (truth, first, second), lambda y, a, b: sign * (score(y, a) - score(y, b))
    )


def test_verdicts_better_worse_and_inside_the_noise(params: Params) -> None:
    truth, first, second = two_models(4000, edge=0.1)
    auc = [statistic("roc_auc", truth, scores, params.model) for scores in (first, second)]
    assert paired.compare("roc_auc", True, *auc).verdict == BETTER
    assert paired.compare("roc_auc", True, *auc[::-1]).verdict == WORSE
    # The same model with a little noise in its scores: a tiny change, inside the noise.
    noisy = first + np.random.default_rng(5).normal(0, 0.01, len(first))
    same = paired.compare("roc_auc", True, statistic("roc_auc", truth, noisy, params.model), auc[0])
    assert same.verdict == NO_DIFFERENCE and same.low < 0 < same.high
    assert abs(same.improvement) < 0.005
    identical = paired.compare("roc_auc", True, auc[0], auc[0])
    assert identical.verdict == NO_DIFFERENCE and identical.improvement == 0


def test_a_class_missing_from_the_rows_gives_no_interval_and_no_verdict(params: Params) -> None:
    ones = np.ones(50, dtype=int)
    auc = statistic("roc_auc", ones, np.linspace(0, 1, 50), params.model)
    found = paired.compare("roc_auc", True, auc, auc, strata=ones)
    assert found.verdict == NO_DIFFERENCE and found.method.startswith("no interval")
