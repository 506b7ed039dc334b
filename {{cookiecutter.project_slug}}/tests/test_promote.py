from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

from {{ cookiecutter.package_name }}.errors import DataError, PromotionRefused
from {{ cookiecutter.package_name }}.files import model_digest, save_model
from {{ cookiecutter.package_name }}.lock import recorded, recorded_md5s
from {{ cookiecutter.package_name }}.members import code_hash, key, rows_hash
from {{ cookiecutter.package_name }}.paired import Comparison
from {{ cookiecutter.package_name }}.params import Params
from {{ cookiecutter.package_name }}.promote import decide
from {{ cookiecutter.package_name }}.promotion import Promotion, PromotionError, summary
from {{ cookiecutter.package_name }}.registry import metrics_from_tags, version_tags
from {{ cookiecutter.package_name }}.rollback import rollback
from {{ cookiecutter.package_name }}.task import METRICS

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


def test_model_identity_is_what_produced_it_not_the_file(
    params: Params, frame: pd.DataFrame
) -> None:
    """A model's key: its params, its rows and the code; a re-save (other bytes) keeps it."""
    code = code_hash()
    first = key(params, rows_hash(frame), code)
    assert key(params, rows_hash(frame.copy()), code) == first
    reseeded = params.model_copy(update={"train": params.train.model_copy(update={"seed": 7})})
    assert key(reseeded, rows_hash(frame), code) != first
    assert key(params, rows_hash(frame.iloc[1:]), code) != first
    assert key(params, rows_hash(frame), "another code") != first


def test_a_model_is_known_by_what_it_holds_not_by_how_it_was_saved(tmp_path: Path) -> None:
    import copy

    import numpy as np
    from sklearn.linear_model import LogisticRegression

    rows = np.random.default_rng(0).normal(size=(60, 3))
    model = LogisticRegression().fit(rows, rows[:, 0] > 0)
    save_model(model, tmp_path / "a.skops")
    save_model(copy.deepcopy(model), tmp_path / "b.skops")  # other objects, other ids
    save_model(LogisticRegression(C=0.1).fit(rows, rows[:, 0] > 0), tmp_path / "c.skops")
    (tmp_path / "d.skops").write_bytes(b"not a zip")
    a, b = (tmp_path / "a.skops").read_bytes(), (tmp_path / "b.skops").read_bytes()
    assert a != b
    assert model_digest(tmp_path / "a.skops") == model_digest(tmp_path / "b.skops")
    assert model_digest(tmp_path / "c.skops") != model_digest(tmp_path / "a.skops")
    with pytest.raises(DataError, match="not a model file skops wrote"):
        model_digest(tmp_path / "d.skops")


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
    assert recorded(recorded_md5s(LOCK.format(out="4515eb"))) == "4515eb"


class Registry:
    """Just enough of MlflowClient for `decide`: one champion, made by commit `made`, and
    the versions in `versions` (all with the candidate's key)."""

    def __init__(self, made: str, versions: tuple = ()) -> None:
        tags = {"promoted_from_commit": made, "metric.score": "0.8", "metric.segment_gap": "0"}
        self.champion = SimpleNamespace(version="1", tags=tags)
        self.versions = list(versions)
        self.moved: list[tuple[str, str]] = []
        self.tagged: list[tuple[str, str, str]] = []
        self.deleted: list[str] = []

    def get_model_version_by_alias(self, name: str, alias: str) -> object:
        return self.champion

    def search_model_versions(self, query: str) -> list:
        return list(self.versions)

    def set_registered_model_alias(self, name: str, alias: str, version: str) -> None:
        self.moved.append((alias, version))

    def set_model_version_tag(self, name: str, version: str, key: str, value: str) -> None:
        self.tagged.append((version, key, value))

    def delete_model_version(self, name: str, version: str) -> None:
        self.deleted.append(version)


def version(number: str, **tags: str) -> SimpleNamespace:
    return SimpleNamespace(version=number, tags={"model_key": "k", **tags})


def promote(registry: Registry, params: Params, commit: str = "c" * 40, **how: object) -> Promotion:
    candidate = {params.model.primary_metric: 0.9, "segment_gap": 0.0}
    how = {
        "register": lambda: "2",
        "descends": lambda commit: True,
        "verified": lambda v: True,
        **how,
    }
    return decide(
        registry, params, candidate, "k", how["register"], commit, how["descends"],
        verified=how["verified"],
    )  # fmt: skip


def test_an_older_commit_cannot_take_the_champion_back(params: Params) -> None:
    registry = Registry(made="b" * 40)
    with pytest.raises(PromotionRefused, match=r"commit aaaaaaaaaaaa does not descend from commit"):
        promote(registry, params, "a" * 40, descends=lambda commit: False)
    with pytest.raises(PromotionRefused, match="not in this clone's history"):
        promote(registry, params, "a" * 40, descends=lambda commit: None)
    assert registry.moved == []
    result = promote(registry, params)
    assert result.promoted and registry.moved == [("previous", "1"), ("champion", "2")]


def test_a_version_with_the_key_but_not_the_file_is_never_used(params: Params) -> None:
    # Anyone who can write to the store can register a version under the next commit's key.
    planted = version("5", was_champion="true")
    registry = Registry(made="b" * 40, versions=(planted,))
    result = promote(registry, params, register=lambda: "6", verified=lambda v: v is not planted)
    assert result.version == "6" and "version 6 promoted" in result.reason
    assert registry.moved[-1] == ("champion", "6")


def test_two_promotes_at_once_agree_on_one_version(params: Params) -> None:
    registry = Registry(made="b" * 40)

    def register() -> str:  # another promote registered version 2 of the same model meanwhile
        registry.versions = [version("2"), version("3")]
        return "3"

    result = promote(registry, params, register=register)
    assert result.version == "2" and registry.deleted == ["3"]
    assert registry.moved[-1] == ("champion", "2")


def test_a_champion_left_untagged_by_a_stopped_promote_is_repaired(params: Params) -> None:
    registry = Registry(made="b" * 40, versions=(version("1"),))
    registry.champion = version("1")  # the alias moved, then the process was killed
    result = promote(registry, params)
    assert "already the champion" in result.reason and registry.moved == []
    assert registry.tagged == [
        ("1", "was_champion", "true"),
        ("1", "promoted_from_commit", "c" * 40),
    ]


class Aliases:
    """Just enough of MlflowClient for `rollback` to look its aliases up."""

    def __init__(self, **aliases: SimpleNamespace) -> None:
        self.aliases = aliases

    def get_model_version_by_alias(self, name: str, alias: str) -> SimpleNamespace | None:
        return self.aliases.get(alias)


def test_a_model_better_on_the_same_rows_is_promoted_where_the_recorded_metrics_hold_it_back(
    params: Params, capsys: pytest.CaptureFixture[str]
) -> None:
    """New data that is harder to predict: the champion's recorded metric, measured on its
    own (easier) test rows, beats the candidate's by twice the allowed regression, yet on the
    candidate's test rows the champion does worse than the candidate."""
    primary, rules = params.model.primary_metric, params.gate
    sign = 1 if METRICS[primary] else -1
    higher = rules.bound(METRICS[primary]) + sign * 4 * rules.max_regression
    recorded = higher + sign * 2 * rules.max_regression
    candidate = {primary: higher, "segment_gap": 0.0}
    registry = Registry(made="b" * 40)
    registry.champion.tags = {**registry.champion.tags, f"metric.{primary}": str(recorded)}
    step = rules.max_regression
    on_rows = Comparison(primary, higher, higher - sign * step, step, step / 2, step * 1.5, 0.95,
                         "DeLong", 4000)  # fmt: skip

    def run(score: object) -> Promotion:
        return decide(
            registry, params, candidate, "k", lambda: "2", "c" * 40, lambda commit: True,
            verified=lambda v: True, score_champion=score,
        )  # fmt: skip

    def missing(champion: object) -> dict:
        raise DataError("version 1 has no model.skops")

    held = run(missing)
    assert not held.promoted and "recorded" in held.reason and held.comparison is None
    assert "has no model.skops; the champion's recorded metrics are used" in capsys.readouterr().err
    promoted = run(lambda champion: {primary: on_rows})
    assert promoted.promoted and registry.moved[-1] == ("champion", "2")
    assert "on the same 4,000 rows: better" in promoted.reason
    assert promoted.comparison == {primary: on_rows.as_dict()}
    assert "better (DeLong)" in summary(promoted)


def test_rollback_says_why_there_is_nothing_to_roll_back_to(params: Params) -> None:
    first = SimpleNamespace(version="1", tags={})
    with pytest.raises(PromotionError, match="has no champion yet: nothing to roll back"):
        rollback(Aliases(), params)
    with pytest.raises(PromotionError, match=r"one champion only \(version 1\): there is no prev"):
        rollback(Aliases(champion=first), params)
