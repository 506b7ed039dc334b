from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from {{ cookiecutter.package_name }} import shards, task
from {{ cookiecutter.package_name }}.__main__ import main
from {{ cookiecutter.package_name }}.errors import DataError, ParamsError
from {{ cookiecutter.package_name }}.files import md5, save_model
from {{ cookiecutter.package_name }}.fleet_params import member_params, next_windows
from {{ cookiecutter.package_name }}.gather import main as gather_main
from {{ cookiecutter.package_name }}.ingest import ingest
from {{ cookiecutter.package_name }}.params import load_params, parse_params
from {{ cookiecutter.package_name }}.paths import member_outputs
from {{ cookiecutter.package_name }}.train import train

from .conftest import ROOT

PREDICTED = "{{ "forecast" if cookiecutter.task == "regression" else "score" }}"


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


def test_check_refuses_stale_member_stages_and_write_stages_rewrites_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    raw = fleet_params()
    raw["fleet"]["shards"] = 1
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    shutil.copy(ROOT / "dvc.yaml", tmp_path / "dvc.yaml")
    monkeypatch.chdir(tmp_path)
    assert main(["check"]) == 1
    assert "its member stages do not match" in capsys.readouterr().err
    assert main(["check", "--write-stages"]) == 0
    assert "dvc.yaml rewritten" in capsys.readouterr().out
    assert list(yaml.safe_load(Path("dvc.yaml").read_text())["stages"]) == [
        "ingest",
        "validate",
        "members-1",
    ]


def test_next_window_moves_only_the_fired_members_on() -> None:
    text = (ROOT / "params.yaml").read_text()
    params = load_params(ROOT / "params.yaml")
    moved, said = next_windows(text, params, ["west"])
    again, _ = next_windows(moved, parse_params(yaml.safe_load(moved)), ["west", "north"])
    assert yaml.safe_load(again)["fleet"]["windows"] == {"west": 2, "north": 1}
    assert moved.count("\n") == text.count("\n")  # comments and layout kept
    assert said == "west -> window 1" and next_windows(text, params, []) == (text, "")


def shard_job(folder: Path, stage: str, members: list[str]) -> None:
    """What a CI shard job keeps for the gather job: its members' files and its dvc.lock."""
    outs = []
    for member in members:
        for path in member_outputs(member).member_files():
            (folder / path).parent.mkdir(parents=True, exist_ok=True)
            (folder / path).write_text(f"{stage} {path}")
            outs.append({"path": path.as_posix(), "md5": md5(folder / path)})
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
    model = jobs / second / member_outputs(second_members[0]).model
    model.write_text("a model that its shard's dvc.lock does not record")
    with pytest.raises(DataError, match=r"is not the file its dvc\.lock records; nothing was"):
        gather_main(jobs)
    assert not (tmp_path / "models").exists()
    assert "members-" not in (tmp_path / "dvc.lock").read_text()


def test_predict_scores_each_row_with_its_members_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    raw = fleet_params()
    raw["data"]["rows"] = 4000
    raw["fleet"]["members"] = {"north": {}, "south": {}}  # east and west rows are no member's
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(raw))
    monkeypatch.chdir(tmp_path)
    params = parse_params(raw)
    frame, by = ingest(params.data), params.fleet.by
    models = {}
    for member in ("north", "south"):
        own = member_params(params, member)
        models[member] = train(frame[frame[by] == member], own.data.schema_, own.split, own.train)
        save_model(models[member], Path(f"models/{member}.skops"))
    frame.drop(columns=[params.data.schema_.target]).sample(60, random_state=0).to_csv(
        "rows.csv", index=False
    )

    assert main(["predict", "--input", "rows.csv", "--output", "scored.csv"]) == 0
    out, err = capsys.readouterr()
    given, scored = pd.read_csv("rows.csv"), pd.read_csv("scored.csv")
    theirs = given[by].isin(["north", "south"]).to_numpy()
    scored_by = " rows scored by 2 members (models/{member}.skops) -> scored.csv\n"
    assert out == f"predict: {theirs.sum()}{scored_by}"
    assert f"warning: predict: {(~theirs).sum()} of 60 rows belong to no member (" in err
    pd.testing.assert_frame_equal(scored[given.columns], given)
    for member, model in models.items():
        schema = member_params(params, member).data.schema_
        rows = given[given[by] == member]
        features = rows[schema.features].astype({c: object for c in schema.categorical})
        column = scored.loc[rows.index, PREDICTED]
        np.testing.assert_allclose(column, task.predict(model, features))
    assert scored.loc[~theirs, PREDICTED].isna().all()


def use_data_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A project whose table has two regions, one renamed: members north and harbour."""
    from {{ cookiecutter.package_name }}.synthetic import generate

    raw = fleet_params(north={"gate": {"max_regression": 0.5}})
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    shutil.copy(ROOT / "dvc.yaml", tmp_path / "dvc.yaml")
    monkeypatch.chdir(tmp_path)
    table = generate(3000, seed=1)
    table = table[table["region"].isin(["north", "south"])].copy()
    table["region"] = table["region"].astype(str).replace({"south": "harbour"})
    Path("data/raw").mkdir(parents=True)
    table.to_csv("data/raw/table.csv", index=False)


def test_use_data_makes_the_values_of_the_by_column_the_members(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    use_data_project(tmp_path, monkeypatch)
    Path("reports/west").mkdir(parents=True)
    Path("reports/west/metrics.json").write_text("{}")
    Path("models").mkdir()
    Path("models/west.skops").write_bytes(b"a trained west")
    Path("models/.gitignore").write_text("/north.skops\n/west.skops\n")
    target = load_params().data.schema_.target
    argv = ["use-data", "data/raw/table.csv", "--target", target, "--by", "region"]
{%- if cookiecutter.task == "regression" %}
    argv += ["--time", "week"]
{%- endif %}
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "2 members (the values of region)" in out
    assert "are no longer members: deleted models/west.skops, reports/west/ (git history" in out
    assert not Path("models/west.skops").exists() and not Path("reports/west").exists()
    assert Path("models/.gitignore").read_text() == "/north.skops\n"
    params = load_params()
    assert params.data.source == "file" and params.data.path == "data/raw/table.csv"
    assert list(params.fleet.members) == ["harbour", "north"]
    assert params.fleet.overrides("north").gate == {"max_regression": 0.5}  # kept
    assert params.data.schema_.categorical["region"] == ["harbour", "north"]
    text = Path("dvc.yaml").read_text()
    assert "data/raw/table.csv" in yaml.safe_load(text)["stages"]["ingest"]["deps"]
    assert "models/harbour.skops" in text and "models/west.skops" not in text
    smallest = min(pd.read_csv("data/raw/table.csv")["region"].value_counts())
    assert params.data.schema_.min_rows == smallest // 2


def test_use_data_refuses_a_by_column_the_table_lacks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    use_data_project(tmp_path, monkeypatch)
    before = {name: Path(name).read_bytes() for name in ("params.yaml", "dvc.yaml")}
    target = load_params().data.schema_.target
    assert main(["use-data", "data/raw/table.csv", "--target", target, "--by", "store"]) == 1
    assert "--by 'store' must be a column" in capsys.readouterr().err
    assert {name: Path(name).read_bytes() for name in before} == before


def test_a_member_the_split_cannot_use_is_refused_before_any_member_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """North's rows {{ "hold one class only" if cookiecutter.task == "classification" else "hold one date only" }}: nothing of north (nor of south, trained in the same
    stage) is written, south's previous model stays, and the line names the member."""
    from {{ cookiecutter.package_name }}.files import write_table
    from {{ cookiecutter.package_name }}.fleet import members_main
    from {{ cookiecutter.package_name }}.paths import TRAINING_DATA

    raw = fleet_params()
    raw["data"]["rows"] = 4000
    raw["data"]["schema"]["min_rows"] = 100
    raw["fleet"].update(members={"north": {}, "south": {}}, shards=1)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(raw))
    monkeypatch.chdir(tmp_path)
    params = parse_params(raw)
    frame, by = ingest(params.data), params.fleet.by
    north = frame[by] == "north"
{%- if cookiecutter.task == "classification" %}
    frame.loc[north, params.data.schema_.target] = 0
    problem = f"the target {params.data.schema_.target!r} holds one class only (0: "
{%- else %}
    frame.loc[north, "week"] = frame["week"].min()
    problem = "the time column 'week' holds 1 distinct date(s)"
{%- endif %}
    write_table(frame, TRAINING_DATA)
    Path("models").mkdir()
    Path("models/south.skops").write_bytes(b"south's previous model")
    with pytest.raises(DataError) as error:
        members_main(next(iter(shards.stages(["north", "south"], 1))))
    assert str(error.value).startswith(f"members: member 'north' (region == 'north'): {problem}")
    assert str(error.value).endswith("; no member's files were written")
    assert sorted(path.name for path in Path("models").iterdir()) == ["south.skops"]
    assert Path("models/south.skops").read_bytes() == b"south's previous model"
    assert not Path("reports").exists()
