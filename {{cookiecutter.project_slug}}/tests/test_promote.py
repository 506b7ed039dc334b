from __future__ import annotations

import pytest

from {{ cookiecutter.package_name }}.errors import DataError
from {{ cookiecutter.package_name }}.promote import (
    Promotion,
    metrics_from_tags,
    model_key,
    summary,
    version_tags,
)

LOCK = """
schema: '2.0'
stages:
  train:
    cmd: python -m pkg train
    deps:
    - path: data/train.parquet
      md5: 767b65254ee5c3cdb84b1075795d7edc
    params:
      params.yaml:
        train:
          seed: 42
    outs:
    - path: models/model.skops
      md5: {out}
"""


def test_model_identity_is_what_produced_it_not_the_file() -> None:
    first = model_key(LOCK.format(out="aaa"))
    assert model_key(LOCK.format(out="bbb")) == first  # a re-save differs byte for byte
    assert model_key(LOCK.format(out="aaa").replace("seed: 42", "seed: 7")) != first
    with pytest.raises(DataError, match="no train stage"):
        model_key("stages: {}")


def test_metrics_round_trip_through_version_tags() -> None:
    tags = version_tags("k", {"roc_auc": 0.81, "segment_gap": 0.02}, {"git_commit": "abc"})
    assert tags["model_key"] == "k" and tags["git_commit"] == "abc"
    assert metrics_from_tags(tags) == {"roc_auc": 0.81, "segment_gap": 0.02}


def test_summary_says_what_happened() -> None:
    held = Promotion(False, "m", None, "champion", "held back: too low", {}, None, "k")
    text = summary(held)
    assert text.startswith("## Promotion of `m`: ⏸️ held back")
    assert "(unchanged)" in text and "held back: too low" in text
