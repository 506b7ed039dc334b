from __future__ import annotations

import math

from {{ cookiecutter.package_name }}.gate import gate
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
    assert "vs champion 0.8500" in worse.summary
    against_main = gate({"roc_auc": 0.83, "segment_gap": 0.02}, champion, RULES, "roc_auc", "main")
    assert "vs main 0.8500" in against_main.summary


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
