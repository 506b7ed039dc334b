from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from {{ cookiecutter.package_name }} import task
from {{ cookiecutter.package_name }}.errors import ParamsError
from {{ cookiecutter.package_name }}.fairness import assess, lines
from {{ cookiecutter.package_name }}.gate import gate
from {{ cookiecutter.package_name }}.params import Params, parse_params
from {{ cookiecutter.package_name }}.task_fairness import GAPS

from .test_markdown import HOSTILE, problems

PROBABILITIES = "demographic_parity_difference" in GAPS  # scores of 0/1 labels, else numbers


def biased(test: pd.DataFrame, params: Params) -> np.ndarray:
    """Predictions that favour the north: higher scores, or larger forecasts with more error."""
    truth = test[params.data.schema_.target].to_numpy(dtype=float)
    north = (test["region"] == "north").to_numpy()
    noise = np.random.default_rng(0).normal(0, 0.15, len(test))
    if PROBABILITIES:
        return np.clip(0.25 + 0.4 * truth + 0.25 * north + noise, 0.01, 0.99)
    return truth + 10 * noise + 6 * north * np.abs(noise) * 10


def with_fairness(raw_params: dict, **fairness: object) -> Params:
    return parse_params({**raw_params, "fairness": {**raw_params["fairness"], **fairness}})


def test_each_group_is_measured_and_each_gap_names_its_two_groups(
    raw_params: dict, frame: pd.DataFrame
) -> None:
    params = with_fairness(raw_params, sensitive_features=["region"], resamples=50)
    test = frame.sample(2000, random_state=1).reset_index(drop=True)
    predicted = biased(test, params)
    found = assess(test, predicted, params)["region"]
    assert sum(group["rows"] for group in found["groups"].values()) == len(test)
    assert set(found["gaps"]) == set(GAPS)
    groups = test["region"].astype(str)
    if PROBABILITIES:
        from fairlearn.metrics import demographic_parity_difference, equalized_odds_difference

        chosen = predicted >= params.model.threshold
        truth = test[params.data.schema_.target]
        expected = {
            "demographic_parity_difference": demographic_parity_difference(
                truth, chosen, sensitive_features=groups
            ),
            "equalized_odds_difference": equalized_odds_difference(
                truth, chosen, sensitive_features=groups
            ),
        }
    else:
        errors = pd.Series(np.abs(predicted - test[params.data.schema_.target]))
        per_group = errors.groupby(groups).mean()
        expected = {"error_gap": per_group.max() - per_group.min()}
    for name, value in expected.items():
        assert found["gaps"][name]["value"] == pytest.approx(value, abs=1e-6), name
    assert found["gaps"][GAPS[0]]["largest"] == "north"
    for group in found["groups"].values():
        metric = group[params.model.primary_metric]
        assert metric["low"] <= metric["value"] <= metric["high"]
    assert assess(test, predicted, with_fairness(raw_params)) == {}  # none by default


def test_a_gap_beyond_its_bound_holds_the_model_back_and_names_the_groups(
    raw_params: dict, frame: pd.DataFrame
) -> None:
    params = with_fairness(raw_params, sensitive_features=["region"], resamples=0)
    test = frame.sample(2000, random_state=1).reset_index(drop=True)
    found = assess(test, biased(test, params), params)
    value = found["region"]["gaps"][GAPS[0]]["value"]
    primary = params.model.primary_metric
    candidate = {primary: params.gate.bound(task.METRICS[primary])}
    rules = params.gate
    loose = gate(candidate, None, rules, primary, segmented=False, fair=(found, {GAPS[0]: 1e9}))
    assert loose.passed and f"{GAPS[0].replace('_', ' ')} by region" in loose.summary
    bound = {GAPS[0]: value / 2}
    held = gate(candidate, None, rules, primary, segmented=False, fair=(found, bound))
    assert not held.passed
    assert f"by region {value:.4f} (north vs " in held.summary
    assert f"exceeds {value / 2:.4f}" in held.summary


def test_fairness_settings_are_checked_with_the_key_named(raw_params: dict) -> None:
    with pytest.raises(ParamsError, match=r"fairness.sensitive_features: \['income'\] not among"):
        with_fairness(raw_params, sensitive_features=["income"])
    with pytest.raises(ParamsError, match=r"fairness: max_gap: \['largest_gap'\] not among"):
        with_fairness(raw_params, max_gap={"largest_gap": 0.1})


def test_group_names_from_data_stay_inert(raw_params: dict) -> None:
    found = {
        HOSTILE: {
            "groups": {HOSTILE: {"rows": 5, "m": {"value": 0.5, "low": 0.4, "high": 0.6}}},
            "gaps": {GAPS[0]: {"value": 0.1, "largest": HOSTILE, "smallest": "b"}},
        }
    }
    assert problems("\n".join(lines(found))) == []
