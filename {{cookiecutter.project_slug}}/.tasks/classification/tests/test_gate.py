from __future__ import annotations

import math

from {{ cookiecutter.package_name }}.gate import gate
from {{ cookiecutter.package_name }}.paired import Comparison
from {{ cookiecutter.package_name }}.params import GateParams

RULES = GateParams(min_value=0.75, max_regression=0.01, max_segment_gap=0.1)


def decide(candidate: dict, champion: dict | None = None, metric: str = "roc_auc"):
    return gate(candidate, champion, RULES, metric)


def test_first_model_passes_on_absolute_checks() -> None:
    decision = decide({"roc_auc": 0.8, "segment_gap": 0.05})
    assert decision.passed
    assert "no champion yet" in decision.summary


def test_better_and_slightly_worse_pass_much_worse_fails() -> None:
    champion = {"roc_auc": 0.85, "segment_gap": 0.02}
    assert decide({"roc_auc": 0.86, "segment_gap": 0.02}, champion).passed
    assert decide({"roc_auc": 0.845, "segment_gap": 0.02}, champion).passed
    worse = decide({"roc_auc": 0.83, "segment_gap": 0.02}, champion)
    assert not worse.passed
    assert "vs champion's recorded 0.8500" in worse.summary
    against_main = gate({"roc_auc": 0.83, "segment_gap": 0.02}, champion, RULES, "roc_auc", "main")
    assert "vs main's recorded 0.8500" in against_main.summary


def test_each_failed_rule_gives_a_reason() -> None:
    decision = decide({"roc_auc": 0.7, "segment_gap": 0.3})
    assert not decision.passed
    assert len(decision.reasons) == 2
    assert "misses the minimum" in decision.summary and "exceeds" in decision.summary


def test_missing_or_nan_metrics_fail() -> None:
    assert not decide({"segment_gap": 0.0}).passed
    assert not decide({"roc_auc": math.nan, "segment_gap": 0.0}).passed
    assert not decide({"roc_auc": 0.9}).passed


def test_lower_is_better_metrics_use_the_other_direction() -> None:
    rules = GateParams(max_value=0.5, max_regression=0.01, max_segment_gap=1.0)
    champion = {"log_loss": 0.40, "segment_gap": 0.0}
    assert gate({"log_loss": 0.38, "segment_gap": 0.0}, champion, rules, "log_loss").passed
    assert not gate({"log_loss": 0.45, "segment_gap": 0.0}, champion, rules, "log_loss").passed
    assert not gate({"log_loss": 0.6, "segment_gap": 0.0}, None, rules, "log_loss").passed


def test_without_a_segment_column_the_gap_is_not_checked() -> None:
    decision = gate({"roc_auc": 0.8}, None, RULES, "roc_auc", segmented=False)
    assert decision.passed
    assert "no segment column: segment gap not checked" in decision.summary
    assert not gate({"roc_auc": 0.8}, None, RULES, "roc_auc").passed  # segmented: gap missing


def on_same_rows(champion: float, low: float, high: float) -> Comparison:
    """The candidate (roc_auc 0.83) against a champion scored on the same 4,000 rows."""
    return Comparison("roc_auc", 0.83, champion, 0.83 - champion, low, high, 0.95, "DeLong", 4000)


def test_on_the_same_rows_only_a_regression_beyond_the_noise_and_the_allowance_fails() -> None:
    candidate, recorded = {"roc_auc": 0.83, "segment_gap": 0.02}, {"roc_auc": 0.85}
    assert not gate(candidate, recorded, RULES, "roc_auc").passed  # recorded: -0.02
    noise = gate(candidate, recorded, RULES, "roc_auc", paired=on_same_rows(0.85, -0.045, 0.005))
    assert noise.passed
    assert "vs champion 0.8500 on the same 4,000 rows: no detectable difference" in noise.summary
    assert "-0.0200 (95% interval -0.0450 to +0.0050)" in noise.summary
    worse = gate(candidate, recorded, RULES, "roc_auc", paired=on_same_rows(0.85, -0.03, -0.01))
    assert not worse.passed and "worse" in worse.summary
    slightly = on_same_rows(0.835, -0.008, -0.002)  # detectably worse, within max_regression
    assert gate(candidate, recorded, RULES, "roc_auc", paired=slightly).passed


def test_require_improvement_asks_for_better_beyond_the_noise() -> None:
    rules = RULES.model_copy(update={"require_improvement": True})
    candidate = {"roc_auc": 0.83, "segment_gap": 0.02}
    better = on_same_rows(0.82, 0.004, 0.016)
    assert gate(candidate, {"roc_auc": 0.85}, rules, "roc_auc", paired=better).passed
    noise = gate(candidate, None, rules, "roc_auc", paired=on_same_rows(0.825, -0.001, 0.011))
    assert not noise.passed
    assert "an improvement beyond the noise is required" in noise.summary
    assert not gate(candidate, {"roc_auc": 0.8}, rules, "roc_auc").passed  # recorded: unknown
    assert gate(candidate, None, rules, "roc_auc").passed  # the first model
