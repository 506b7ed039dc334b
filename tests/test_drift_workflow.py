"""Level 4: the drift workflow, executed with act on a baked repository with a git remote."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .conftest import bake, edit_yaml, git_identity_env, run, shared_env
from .workflows import REPOSITORY, WorkflowRun, run_workflow

pytestmark = pytest.mark.slow

BRANCH = "retrain/customer-churn"
MESSAGE = "Retrain on the newest data window (drift check)"


@pytest.fixture(scope="module")
def drift_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """main trained on window 0, its data pushed to a DVC remote, its history to `origin`."""
    root = tmp_path_factory.mktemp("drift")
    project = bake(root / "bake", dvc_remote_url=str(root / "dvc-remote"))
    env = shared_env(project)
    run(["dvc", "repro"], project, env=env)
    run(["git", "add", "-A"], project)
    run(["git", "commit", "-qm", "Train the first model"], project)
    run(["dvc", "push"], project, env=env)
    run(["git", "init", "-q", "--bare", str(root / "origin.git")], project)
    run(["git", "remote", "add", "origin", str(root / "origin.git")], project)
    run(["git", "push", "-q", "origin", "main"], project)
    return project


def run_drift(project: Path, work: Path) -> WorkflowRun:
    event = {
        "schedule": "0 6 * * 1",
        "repository": {"full_name": REPOSITORY, "default_branch": "main"},
    }
    return run_workflow(project, "drift.yml", "schedule", event, work, env=git_identity_env())


def pr_creates(result: WorkflowRun) -> list[list[str]]:
    return [
        call["args"]
        for call in result.calls
        if call["tool"] == "cml" and call["args"][:2] == ["pr", "create"]
    ]


def option(args: list[str], name: str) -> str:
    return args[args.index(name) + 1]


def test_drift_opens_one_retraining_pull_request(drift_repo: Path, tmp_path: Path) -> None:
    result = run_drift(drift_repo, tmp_path)
    assert result.returncode == 0, result.output[-6000:]

    [args] = pr_creates(result)
    assert option(args, "--branch") == BRANCH
    assert option(args, "--target-branch") == "main"
    assert option(args, "--message") == MESSAGE
    assert not {"--merge", "--squash", "--rebase", "--auto-merge"} & set(args)
    body = option(args, "--body")
    assert body.startswith("## Drift check of `customer-churn`: 🔁 retraining: data drift")
    assert "| `monthly_charges` (critical) | numeric | Wasserstein / std |" in body
    call = next(call for call in result.calls if call["args"] == args)
    assert "  window: 1 " in call["files"]["params.yaml"]  # retrained on the newest window
    assert "dvc.lock" in call["files"] and "reports" in args
    assert not [call for call in result.calls if call["tool"] == "gh"]

    report = json.loads((result.artifacts / "drift" / "drift.json").read_text())
    assert report["retrain"] is True and report["triggers"] == ["data_drift"]
    assert report["current"] == {"source": "synthetic window 1", "rows": 20000}
    assert (result.artifacts / "drift" / "drift.html").read_text().startswith("<!doctype html>")
    assert "Drift check of" in result.summary()
    assert "opened with GITHUB_TOKEN" in result.output
    assert "the DVC remote was not reachable" not in result.output  # pulled, not reproduced


def test_an_open_retraining_pull_request_is_refreshed_not_duplicated(
    drift_repo: Path, tmp_path: Path
) -> None:
    run(["git", "push", "-q", "origin", f"main:refs/heads/{BRANCH}"], drift_repo)  # PR is open
    result = run_drift(drift_repo, tmp_path)
    assert result.returncode == 0, result.output[-6000:]

    assert [option(args, "--branch") for args in pr_creates(result)] == [BRANCH]
    [edit] = [call for call in result.calls if call["tool"] == "gh"]
    assert edit["args"] == ["pr", "edit", BRANCH, "--body-file", "reports/drift.md"]
    assert edit["files"]["reports/drift.md"].startswith("## Drift check of")
    origin = drift_repo.parent.parent / "origin.git"
    pushed = run(["git", "log", "-1", "--format=%s", BRANCH], origin).stdout.strip()
    assert pushed == MESSAGE
    params = run(["git", "show", f"{BRANCH}:params.yaml"], origin).stdout
    assert "  window: 1 " in params
    assert (
        run(["git", "rev-parse", f"{BRANCH}~1"], origin).stdout
        == run(["git", "rev-parse", "main"], origin).stdout
    )  # one commit on top of main, whatever the branch held before


def test_no_drift_opens_nothing(drift_repo: Path, tmp_path: Path) -> None:
    run(["git", "switch", "-qc", "calm"], drift_repo)
    try:

        def calm(params: dict) -> None:
            for kind in ("numeric", "categorical"):
                params["drift"]["thresholds"][kind]["distance"] = 0.5

        edit_yaml(drift_repo / "params.yaml", calm)
        run(["git", "commit", "-qam", "Tolerate more drift"], drift_repo)
        result = run_drift(drift_repo, tmp_path)
    finally:
        run(["git", "switch", "-q", "main"], drift_repo)
    assert result.returncode == 0, result.output[-6000:]
    assert result.calls == []
    report = json.loads((result.artifacts / "drift" / "drift.json").read_text())
    assert report["retrain"] is False and report["triggers"] == []
    assert "no retraining needed" in result.summary()
