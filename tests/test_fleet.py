"""A fleet bake, for real: one model per region, trained, reported, promoted and drift-checked
member by member."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

from .conftest import bake, edit_yaml, run, shared_env

pytestmark = pytest.mark.slow

PACKAGE = "customer_churn"
MEMBERS = ["east", "north", "south", "west"]


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Path:
    project = bake(tmp_path_factory.mktemp("fleet"), fleet="yes")
    run(["dvc", "repro"], project, env=shared_env(project))
    run(["git", "add", "-A"], project)
    run(["git", "commit", "-qm", "Train the fleet"], project)
    return project


def cli(project: Path, *args: str) -> str:
    return run(["python", "-m", PACKAGE, *args], project, env=shared_env(project)).stdout


def read(project: Path, path: str) -> dict:
    return json.loads((project / path).read_text())


def keys(project: Path) -> dict[str, str]:
    return {m: read(project, f"reports/{m}/run.json")["model_key"] for m in MEMBERS}


def test_a_fleet_bake_trains_one_model_per_member_and_its_tests_pass(fleet: Path) -> None:
    assert not (fleet / "models/model.skops").exists()
    for member in MEMBERS:
        assert (fleet / f"models/{member}.skops").is_file()
        metrics = read(fleet, f"reports/{member}/metrics.json")
        assert next(iter(metrics)) == "roc_auc" and 0.6 < metrics["roc_auc"] < 1
        card = (fleet / f"reports/{member}/model_card.md").read_text()
        assert card.startswith(f"# Model card: customer-churn-{member}")
    stages = yaml.safe_load((fleet / "dvc.yaml").read_text())["stages"]
    assert list(stages) == ["ingest", "validate", "members-1", "members-2"]
    assert json.loads(cli(fleet, "shards")) == ["members-1", "members-2"]
    assert "up to date" in cli(fleet, "fleet-stages")
    again = run(["dvc", "repro"], fleet, env=shared_env(fleet)).stdout
    assert "Running stage" not in again
    assert not (fleet / "src/customer_churn/use_data.py").exists()
    run(["python", "-m", "pytest", "-q", "-p", "no:cacheprovider"], fleet, env=shared_env(fleet))


def test_one_changed_member_is_retrained_reported_and_promoted_alone(fleet: Path) -> None:
    from mlflow import MlflowClient

    env = shared_env(fleet)
    cli(fleet, "promote")
    first = read(fleet, "reports/promotion.json")
    assert first["promoted"] == list(fleet_members(fleet)) and first["held_back"] == []
    before = keys(fleet)

    run(["git", "switch", "-qc", "south-rate"], fleet)

    def slower_south(params: dict) -> None:
        slower = {"hyperparameters": {"learning_rate": 0.05}}
        params["fleet"]["members"]["south"] = {"train": slower}

    edit_yaml(fleet / "params.yaml", slower_south)
    out = run(["dvc", "repro"], fleet, env=env).stdout
    assert "Running stage 'members-2'" in out and "Running stage 'members-1'" not in out
    assert "west: inputs unchanged, model kept" in out
    after = keys(fleet)
    assert [m for m in MEMBERS if after[m] != before[m]] == ["south"]

    cli(fleet, "report", "--base", "main", "--out", "reports/pr_report.md")
    report = (fleet / "reports/pr_report.md").read_text()
    assert len(report) <= 65_536
    assert "3 unchanged" in report and "| south |" in report
    assert "fleet.members.south.train.hyperparameters.learning_rate" in report

    run(["git", "add", "-A"], fleet)
    run(["git", "commit", "-qm", "South learns slower"], fleet)
    run(["git", "switch", "-q", "main"], fleet)
    run(["git", "merge", "-q", "--ff-only", "south-rate"], fleet)
    cli(fleet, "promote")
    second = read(fleet, "reports/promotion.json")
    assert second["unchanged"] == ["north", "east", "west"] and second["promoted"] == ["south"]
    client = MlflowClient(env["MLFLOW_TRACKING_URI"])
    assert len(client.search_model_versions("name = 'customer-churn-south'")) == 2
    champion = client.get_model_version_by_alias("customer-churn-south", "champion")
    assert str(champion.version) == "2" and champion.tags["member"] == "south"
    assert len(client.search_model_versions("name = 'customer-churn-north'")) == 1

    assert "moved from version 2 to 1" in cli(fleet, "rollback", "--member", "south")
    champion = client.get_model_version_by_alias("customer-churn-south", "champion")
    assert str(champion.version) == "1"
    north = client.get_model_version_by_alias("customer-churn-north", "champion")
    assert str(north.version) == "1"


def fleet_members(project: Path) -> list[str]:
    return list(yaml.safe_load((project / "params.yaml").read_text())["fleet"]["members"])


def test_drift_names_the_drifted_member_and_only_it_is_retrained(
    fleet: Path, tmp_path: Path
) -> None:
    frame = pd.read_parquet(fleet / "data/train.parquet")
    west = frame["region"] == "west"
    frame.loc[west, "monthly_charges"] = frame.loc[west, "monthly_charges"] * 1.6
    current = tmp_path / "newest.parquet"
    frame.to_parquet(current)
    cli(fleet, "drift", "--current", str(current))
    result = read(fleet, "reports/drift.json")
    assert result["retrain"] is True and result["retrain_members"] == ["west"]
    assert "monthly_charges" in result["members"]["west"]["drifted"]
    body = (fleet / "reports/drift.md").read_text()
    assert "1 of 4 members to retrain" in body and "| west |" in body and "| north |" not in body

    before = keys(fleet)
    assert "west -> window 1" in cli(fleet, "next-window")
    params = yaml.safe_load((fleet / "params.yaml").read_text())
    assert params["fleet"]["windows"] == {"west": 1} and params["data"]["window"] == 0
    out = run(["dvc", "repro"], fleet, env=shared_env(fleet)).stdout
    assert "window 0: 3, window 1: 1" in out
    after = keys(fleet)
    assert [m for m in MEMBERS if after[m] != before[m]] == ["west"]
