from __future__ import annotations

import numpy as np
import pytest

from {{ cookiecutter.package_name }} import paired, task
from {{ cookiecutter.package_name }}.paired import BETTER, NO_DIFFERENCE
from {{ cookiecutter.package_name }}.params import Params
from {{ cookiecutter.package_name }}.task_stats import statistic

from .conftest import agrees_with_scipy


def two_models(rows: int, seed: int = 1):
    """Actual values and two forecasts; the first errs a little less."""
    generator = np.random.default_rng(seed)
    actual = generator.gamma(2.0, 10.0, rows)
    return actual, actual + generator.normal(0, 5, rows), actual + generator.normal(0.5, 5.5, rows)


def test_each_statistic_is_the_metric_the_task_reports(params: Params) -> None:
    actual, forecast, _ = two_models(500)
    reported = task.metrics(actual, forecast, params.model)
    for metric in task.METRICS:
        assert statistic(metric, actual, forecast, params.model).value == pytest.approx(
            reported[metric], rel=1e-9
        ), metric


@pytest.mark.parametrize("metric", list(task.METRICS))
@pytest.mark.parametrize("analytic", [True, False])
def test_each_interval_agrees_with_scipys_paired_bootstrap(
    params: Params, metric: str, analytic: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On 300 independent rows, the delta method's interval and the Poisson bootstrap's agree
    with scipy.stats.bootstrap's percentile interval within a fifth of its width."""
    monkeypatch.setattr(paired, "MIN_ANALYTIC_ROWS", 100 if analytic else 10**9)
    actual, first, second = two_models(300)
    higher = task.METRICS[metric]
    found = paired.compare(
        metric,
        higher,
        statistic(metric, actual, first, params.model),
        statistic(metric, actual, second, params.model),
        resamples=2000,
    )
    assert found.method.startswith("bootstrap") != analytic
    sign = 1 if higher else -1

    def difference(y: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
        return sign * (
            task.metrics(y, a, params.model)[metric] - task.metrics(y, b, params.model)[metric]
        )

    agrees_with_scipy(found, (actual, first, second), difference)


def test_weeks_that_share_a_surprise_widen_the_interval(params: Params) -> None:
    """Forecasts that both miss a week's shock: rows of one week are not independent, and the
    interval by week is wider than the one that treats every row as its own."""
    generator = np.random.default_rng(3)
    weeks = np.repeat(np.arange(20), 200)
    shock = generator.normal(0, 8, 20)[weeks]
    actual = 50 + shock + generator.normal(0, 2, len(weeks))
    first = 50 + generator.normal(0, 2, len(weeks))
    second = 50 + 0.3 * shock + generator.normal(0, 2, len(weeks))  # sees part of the shock
    mae = [statistic("mae", actual, forecast, params.model) for forecast in (first, second)]
    rows = paired.compare("mae", False, *mae)
    by_week = paired.compare("mae", False, *mae, blocks=weeks)
    assert by_week.high - by_week.low > 3 * (rows.high - rows.low)
    assert "20 blocks" in by_week.method
    assert rows.verdict == BETTER or rows.improvement < 0  # rows alone: overconfident
    assert by_week.low < by_week.improvement < by_week.high


def test_a_change_inside_the_noise_has_no_verdict(params: Params) -> None:
    actual, first, _ = two_models(4000)
    nudged = first + np.random.default_rng(2).normal(0, 0.05, len(first))
    found = paired.compare(
        "mae",
        False,
        statistic("mae", actual, nudged, params.model),
        statistic("mae", actual, first, params.model),
    )
    assert found.verdict == NO_DIFFERENCE and abs(found.improvement) < 0.01
