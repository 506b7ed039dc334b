from __future__ import annotations

from types import SimpleNamespace

import pytest

from {{ cookiecutter.package_name }}.errors import DataError
from {{ cookiecutter.package_name }}.params import Params
from {{ cookiecutter.package_name }}.promote import Promotion, PromotionRefused, decide, recorded_model_md5, summary
from {{ cookiecutter.package_name }}.registry import metrics_from_tags, model_key, version_tags

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
    tags = version_tags("k", {"score": 0.81, "segment_gap": 0.02}, {"git_commit": "abc"})
    assert tags["model_key"] == "k" and tags["git_commit"] == "abc"
    assert metrics_from_tags(tags) == {"score": 0.81, "segment_gap": 0.02}


def test_summary_says_what_happened() -> None:
    held = Promotion(False, "m", None, "champion", "held back: too low", {}, None, "k")
    text = summary(held)
    assert text.startswith("## Promotion of `m`: ⏸️ held back")
    assert "(unchanged)" in text and "held back: too low" in text


def test_the_recorded_model_is_the_train_stage_output() -> None:
    assert recorded_model_md5(LOCK.format(out="4515eb")) == "4515eb"


class Registry:
    """Just enough of MlflowClient for `decide`: one champion, made by commit `made`."""

    def __init__(self, made: str) -> None:
        tags = {"promoted_from_commit": made, "metric.score": "0.8", "metric.segment_gap": "0"}
        self.champion = SimpleNamespace(version="1", tags=tags)
        self.moved: list[tuple[str, str]] = []

    def get_model_version_by_alias(self, name: str, alias: str) -> object:
        return self.champion

    def search_model_versions(self, query: str) -> list:
        return []

    def set_registered_model_alias(self, name: str, alias: str, version: str) -> None:
        self.moved.append((alias, version))

    def set_model_version_tag(self, *args: str) -> None:
        pass


def test_an_older_commit_cannot_take_the_champion_back(params: Params) -> None:
    candidate = {params.model.primary_metric: 0.9, "segment_gap": 0.0}
    registry = Registry(made="b" * 40)
    with pytest.raises(PromotionRefused, match=r"commit aaaaaaaaaaaa does not descend from commit"):
        decide(registry, params, candidate, "k", lambda: "2", "a" * 40, lambda commit: False)
    with pytest.raises(PromotionRefused, match="not in this clone's history"):
        decide(registry, params, candidate, "k", lambda: "2", "a" * 40, lambda commit: None)
    assert registry.moved == []
    result = decide(registry, params, candidate, "k", lambda: "2", "c" * 40, lambda commit: True)
    assert result.promoted and registry.moved == [("previous", "1"), ("champion", "2")]
