from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from {{ cookiecutter.package_name }} import shards
from {{ cookiecutter.package_name }}.errors import DataError, ParamsError
from {{ cookiecutter.package_name }}.files import md5
from {{ cookiecutter.package_name }}.fleet import gather_main, member_params
from {{ cookiecutter.package_name }}.fleet_drift import next_windows
from {{ cookiecutter.package_name }}.params import load_params, parse_params

from .conftest import ROOT


def fleet_params(**members: dict) -> dict:
    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    raw["fleet"]["members"].update(members)
    return raw


def test_a_member_gets_the_shared_params_with_its_overrides_merged_in() -> None:
    raw = fleet_params(north={"train": {"hyperparameters": {"max_iter": 50}}})
    params = parse_params(raw)
    north, south = member_params(params, "north"), member_params(params, "south")
    assert north.model.name == f"{params.model.name}-north"
    assert north.train.hyperparameters.max_iter == 50
    shared = params.train.hyperparameters
    assert north.train.hyperparameters.learning_rate == shared.learning_rate
    assert south.train == params.train
    assert params.fleet.by not in north.data.schema_.features


def test_a_bad_override_names_the_member() -> None:
    params = parse_params(fleet_params(south={"train": {"hyperparameters": {"max_iter": -1}}}))
    with pytest.raises(ParamsError, match=r"fleet\.members\.south.*max_iter"):
        member_params(params, "south")


def test_a_member_may_override_only_train_and_gate() -> None:
    message = r"fleet\.members\.north\.model: unknown key \(it takes gate, train\)"
    with pytest.raises(ParamsError, match=message):
        parse_params(fleet_params(north={"model": {"name": "other"}}))


def test_members_must_be_values_of_the_column() -> None:
    with pytest.raises(ParamsError, match="'mars'"):
        parse_params(fleet_params(mars={}))


def test_shards_are_even_contiguous_and_never_empty() -> None:
    assert shards.assign(["d", "a", "c", "b", "e"], 2) == [["a", "b", "c"], ["d", "e"]]
    assert shards.assign(["a"], 8) == [["a"]]
    names = list(shards.stages([f"m{i:03d}" for i in range(200)], 8))
    assert names[0] == "members-1" and len(names) == 8


def test_the_shipped_dvc_yaml_has_the_stages_params_yaml_asks_for() -> None:
    params = load_params(ROOT / "params.yaml")
    text = (ROOT / "dvc.yaml").read_text()
    assert shards.write_stages(text, list(params.fleet.members), params.fleet.shards) == text


def test_next_window_moves_only_the_fired_members_on() -> None:
    text = (ROOT / "params.yaml").read_text()
    params = load_params(ROOT / "params.yaml")
    moved = next_windows(text, params, ["west"])
    again = next_windows(moved, parse_params(yaml.safe_load(moved)), ["west", "north"])
    assert yaml.safe_load(again)["fleet"]["windows"] == {"west": 2, "north": 1}
    assert moved.count("\n") == text.count("\n")  # comments and layout kept


def shard_job(folder: Path, stage: str, members: list[str]) -> None:
    """What a CI shard job keeps for the gather job: its members' files and its dvc.lock."""
    outs = []
    for member in members:
        for path in shards.member_outputs(member).values():
            (folder / path).parent.mkdir(parents=True, exist_ok=True)
            (folder / path).write_text(f"{stage} {path}")
            outs.append({"path": path, "md5": md5(folder / path)})
    lock = {"schema": "2.0", "stages": {"ingest": {"cmd": "ingest"}, stage: {"outs": outs}}}
    (folder / "dvc.lock").write_text(yaml.safe_dump(lock))


def test_gather_takes_nothing_from_an_incomplete_or_altered_shard(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("params.yaml", "dvc.yaml"):
        shutil.copy(ROOT / name, tmp_path / name)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "dvc.lock").write_text(yaml.safe_dump({"stages": {"ingest": {"cmd": "ingest"}}}))
    groups = shards.stages(list(load_params().fleet.members), load_params().fleet.shards)
    (first, first_members), (second, second_members) = list(groups.items())[:2]
    jobs = tmp_path / "shards"
    shard_job(jobs / first, first, first_members)
    with pytest.raises(DataError, match=f"did the job for {second} finish"):
        gather_main(jobs)

    shard_job(jobs / second, second, second_members)
    model = jobs / second / shards.member_outputs(second_members[0])["model"]
    model.write_text("a model that its shard's dvc.lock does not record")
    with pytest.raises(DataError, match=r"is not the file its dvc\.lock records; nothing was"):
        gather_main(jobs)
    assert not (tmp_path / "models").exists()
    assert "members-" not in (tmp_path / "dvc.lock").read_text()
