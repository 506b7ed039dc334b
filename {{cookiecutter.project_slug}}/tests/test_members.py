"""The member loop: the same commands in a single-model bake (one member, named "", with the
project's files) and in a fleet (one member per fleet.members, each with its own)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from {{ cookiecutter.package_name }}.__main__ import main
from {{ cookiecutter.package_name }}.errors import DataError
from {{ cookiecutter.package_name }}.files import read_json, read_table
from {{ cookiecutter.package_name }}.members import FLEET, find, members
from {{ cookiecutter.package_name }}.params import load_params
from {{ cookiecutter.package_name }}.paths import PROJECT, TRAINING_DATA, member_outputs

from .conftest import ROOT


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project folder with a small params.yaml: 4,000 synthetic rows; in a fleet, two
    members in one stage, south with its own seed."""
    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    raw["data"]["rows"] = 4000
    raw["data"]["schema"]["min_rows"] = 200
    if FLEET:
        raw["fleet"].update(members={"north": {}, "south": {"train": {"seed": 7}}}, shards=1)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    return tmp_path


def test_a_single_model_is_one_member_and_a_fleet_one_per_entry(project: Path) -> None:
    params = load_params()
    group = members(params)
    if not FLEET:
        [single] = group
        assert (single.name, single.outputs) == ("", PROJECT)
        assert single.params.model.name == params.model.name
        assert single.params == params and find(params, "") == single
        return
    assert [member.name for member in group] == ["north", "south"]
    north, south = group
    assert north.outputs == member_outputs("north") and north.outputs.model.name == "north.skops"
    assert south.params.model.name == f"{params.model.name}-south"
    assert (south.params.train.seed, north.params.train.seed) == (7, params.train.seed)
    with pytest.raises(DataError, match=r"'mars' is not in fleet.members \(north, south\)"):
        find(params, "mars")


def test_every_command_works_on_each_member(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """ingest, train, evaluate (a fleet's `members` stage too) and predict write each member's
    files; a fleet's stage then keeps every member whose inputs did not change."""
    for command in (["ingest"], ["train"], ["evaluate"]):
        assert main(command) == 0, capsys.readouterr().err
    group = members(load_params())
    for member in group:
        assert member.outputs.model.is_file()
        metrics = read_json(member.outputs.metrics)
        assert metrics["test_rows"] > 0 and member.params.model.primary_metric in metrics
    if FLEET:
        assert main(["members", "members-1"]) == 0  # run.json written: the keys kept from now
        assert all(member.outputs.run.is_file() for member in group)
        capsys.readouterr()
        assert main(["members", "members-1"]) == 0
        out = capsys.readouterr().out
        assert out.count("inputs unchanged, model kept") == 2, out
    rows = read_table(TRAINING_DATA)
    if FLEET:  # the snapshot holds the rows of every region; the fleet's members are two
        rows = rows[rows["region"].isin(["north", "south"])]
    rows = rows.tail(30)
    rows.to_csv("rows.csv", index=False)
    model = [] if FLEET else ["--model", str(PROJECT.model)]
    assert main(["predict", *model, "--input", "rows.csv", "--output", "scored.csv"]) == 0
    scored = pd.read_csv("scored.csv")
    assert len(scored) == 30 and scored.iloc[:, -1].notna().all()

    # drift, asked by hand: every member is to retrain, its check drawn on the page
    assert main(["drift", "--force", "true"]) == 0
    result = read_json(Path("reports/drift.json"))
    page = Path("reports/drift.html").read_text(encoding="utf-8")
    names = [member.name for member in group]
    if FLEET:
        assert result["retrain_members"] == names and set(result["members"]) == set(names)
        for member in group:  # a section per member, its name in the heading
            assert f">{member.params.model.name}: <span" in page
    else:
        assert result["retrain"] and "manual" in result["triggers"]
    assert page.count("<svg") >= len(group) * len(load_params().data.schema_.features) - 2
    assert main(["next-window"]) == 0
    moved = load_params()
    if FLEET:
        assert moved.fleet.windows == {"north": 1, "south": 1}
    else:
        assert moved.data.window == 1


def test_a_member_whose_rows_cannot_train_is_named_in_one_line(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = Path("params.yaml").read_text().replace("min_rows: 200", "min_rows: 4500")
    Path("params.yaml").write_text(text)
    assert main(["ingest"]) == 1
    [line] = capsys.readouterr().err.strip().splitlines()
    who = "member 'north' (region == 'north'): " if FLEET else ""
    assert line.startswith(f"error: ingest: {who}") and "min_rows asks for at least 4,500" in line
    assert not TRAINING_DATA.exists()
