"""A fleet bake, for real: one model per region, trained and drift-checked member by member.
The PR report and promotion of one changed member run as workflows in test_scale_out.py."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from .conftest import Trained, run, shared_env
from .test_lifecycle import readme_block

pytestmark = pytest.mark.slow

PACKAGE = "customer_churn"
MEMBERS = ["east", "north", "south", "west"]


@pytest.fixture(scope="module")
def fleet(trained_bake: Trained, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return trained_bake("fleet", tmp_path_factory.mktemp("fleet"))


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
    assert not (fleet / "src/customer_churn/plots.py").exists()
    run(["python", "-m", "pytest", "-q", "-p", "no:cacheprovider"], fleet, env=shared_env(fleet))


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
    cli(fleet, "report", "--base", "HEAD", "--out", str(tmp_path / "pr.md"))
    assert "; 1 of 4 members retrained;" in (tmp_path / "pr.md").read_text()


def test_use_your_own_data_as_the_fleet_readme_says(trained_bake: Trained, tmp_path: Path) -> None:
    """The README's commands as written, after the synthetic fleet was trained and committed:
    the members that left take their files with them, and the commit leaves nothing behind."""
    project = trained_bake("fleet", tmp_path / "bake")
    frame = pd.read_parquet(project / "data/train.parquet").head(6000)
    stores = np.array(["paris", "berlin", "rome"])[np.arange(len(frame)) % 3]
    frame.drop(columns="region").assign(store=stores).to_csv(
        tmp_path / "customers.csv", index=False
    )
    commands = readme_block(project, "Use your own data").replace(
        "~/Downloads/customers.csv", str(tmp_path / "customers.csv")
    )
    (project / ".venv").mkdir()
    (project / ".venv/.installed").touch()  # make runs the targets without its own setup
    output = run(["bash", "-euo", "pipefail", "-c", commands], project, env=shared_env(project))
    assert "are no longer members: deleted models/north.skops, reports/north/, " in output.stdout
    assert run(["git", "status", "--porcelain"], project).stdout == ""
    members = sorted(path.name for path in (project / "reports").iterdir() if path.is_dir())
    assert members == ["berlin", "paris", "rome"]
    assert sorted(path.name for path in (project / "models").glob("*.skops")) == [
        "berlin.skops",
        "paris.skops",
        "rome.skops",
    ]
