"""The production loop as a new user follows it (the bake's README, "The production loop"):
`serve` logs what it scores, the simulator plays a drifting stream, `feedback` brings labels,
`drift` judges the log window by window, `next-window` adds the labelled rows served to the
training data, `dvc repro` retrains on them and the retraining pull request names them."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

from .conftest import Trained, edit_yaml, git_identity_env, publish, run, shared_env
from .fake_github import FakeGitHub
from .test_serve import Server
from .workflows import script_env

pytestmark = pytest.mark.slow

BRANCH = "retrain/customer-churn"


def judge_the_log(params: dict) -> None:
    params["drift"] |= {"current": "log", "windows": 4, "persist": 2, "min_labelled_rows": 100}


def test_the_loop_ends_in_a_pull_request_naming_the_production_rows(
    trained_bake: Trained, github: FakeGitHub, tmp_path: Path
) -> None:
    project = trained_bake("classification", tmp_path / "bake")
    env = shared_env(project)
    cli = ["python", "-m", "customer_churn"]
    edit_yaml(project / "params.yaml", judge_the_log)
    run(
        ["git", "commit", "-qam", "Judge what was served"],
        project,
        env={**env, **git_identity_env()},
    )
    publish(project, github, "main")

    server = Server.of(project, env, "--model", "models/model.skops")
    try:
        url = f"http://127.0.0.1:{server.port}"
        played = run(
            [*cli, "simulate", "--url", url, "--rows", "4000", "--batch", "20"], project, env=env
        )
    finally:
        server.stop()
    assert "4,000 rows answered in 200 requests (0 refused)" in played.stdout
    labels = pd.read_csv(project / "logs/labels.csv")
    said = run([*cli, "feedback", "logs/labels.csv"], project, env=env).stdout
    assert f"{len(labels):,} label(s) of" in said

    run([*cli, "drift"], project, env=env)
    report = json.loads((project / "reports/drift.json").read_text())
    assert report["retrain"] is True and "data_drift" in report["triggers"]
    assert report["current"]["rows"] == 4000
    assert report["windows"]["broken"]["data_drift"] >= 2  # the stream drifts as it goes
    assert report["performance"]["judged"] is True
    assert report["performance"]["rows"] == len(labels)
    body = (project / "reports/drift.md").read_text()
    assert f"Retraining adds the {len(labels):,} labelled production rows served from" in body
    assert "| window from (UTC) | rows | labelled |" in body

    moved = run([*cli, "next-window"], project, env=env).stdout
    assert f"{len(labels):,} labelled production rows served" in moved
    added = pd.read_parquet(project / "data/production.parquet")
    assert sorted(zip(added["request_id"], added["row"], strict=True)) == sorted(
        zip(labels["request_id"], labels["row"], strict=True)
    )
    retrained = run(["dvc", "repro"], project, env=env).stdout
    assert f"and {len(labels):,} production rows (data/production.parquet)" in retrained

    home = tmp_path / "home"
    home.mkdir()
    run([".github/scripts/retrain-pr.sh", "reports/drift.md"], project,
        env=script_env(github, home, RETRAIN_BRANCH=BRANCH))  # fmt: skip
    [pull] = github.open_pulls()
    assert pull.head == BRANCH and pull.body == body
    data = yaml.safe_load(github.git("show", f"{BRANCH}:params.yaml"))["data"]
    assert data["production"] == "data/production.parquet" and data["window"] == 0
    tracked = github.git("show", f"{BRANCH}:data/production.parquet.dvc")
    assert "path: production.parquet" in tracked
    lock = github.git("show", f"{BRANCH}:dvc.lock")
    assert "path: data/production.parquet" in lock
