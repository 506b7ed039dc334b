"""Level 4: the drift workflow under act, against a stateful fake GitHub.

Each test starts from a fresh fake holding the bake's history and asserts what it
holds after the run: pull requests, their bodies, and the retraining branch.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from .conftest import TASKS, Trained, edit_yaml, publish, reachable_remote, run, shared_env
from .fake_github import BOT, FakeGitHub, Pull
from .workflows import REPOSITORY, WorkflowRun, run_workflow, script_env

pytestmark = pytest.mark.slow

BRANCH = "retrain/customer-churn"
MESSAGE = "Retrain on the newest data window (drift check)"
BOT_AUTHOR = "github-actions[bot] <41898282+github-actions[bot]@users.noreply.github.com>"


def trained_and_pushed(trained_bake: Trained, kind: str, root: Path) -> Path:
    """A bake whose main is trained on window 0, its data pushed to a DVC remote the job
    reaches."""
    project = trained_bake(kind, root / "bake")
    reachable_remote(project, root / "dvc-remote")
    run(["dvc", "push", "--quiet"], project, env=shared_env(project))
    return project


@pytest.fixture(scope="module")
def drift_repo(trained_bake: Trained, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """main trained on window 0, its data pushed to a DVC remote."""
    return trained_and_pushed(trained_bake, "classification", tmp_path_factory.mktemp("drift"))


@pytest.fixture(scope="module", params=TASKS)
def task_drift_repo(
    request: pytest.FixtureRequest, trained_bake: Trained, tmp_path_factory: pytest.TempPathFactory
) -> tuple[str, Path]:
    """(task, drift_repo) for classification; for regression, the same on a regression bake."""
    if request.param == "classification":
        return request.param, request.getfixturevalue("drift_repo")
    root = tmp_path_factory.mktemp("drift-regression")
    return request.param, trained_and_pushed(trained_bake, "regression", root)


def run_drift(
    project: Path, github: FakeGitHub, work: Path, event_name: str = "schedule"
) -> WorkflowRun:
    """drift.yml on a schedule (whose payload has no repository) or by hand with retrain ticked."""
    event: dict[str, Any] = {"schedule": "0 6 * * 1"}
    if event_name == "workflow_dispatch":
        event = {
            "inputs": {"retrain": True},
            "ref": f"refs/heads/{github.default_branch}",
            "repository": {"full_name": REPOSITORY, "default_branch": github.default_branch},
        }
    result = run_workflow(project, "drift.yml", event_name, event, work, github=github)
    assert result.returncode == 0, result.output[-6000:]
    return result


def assert_one_fresh_pull(github: FakeGitHub, body: str, slug: str = "customer-churn") -> Pull:
    """One open retraining PR: its branch is the default branch plus one bot commit."""
    [pull] = github.open_pulls()
    base, branch = github.default_branch, f"retrain/{slug}"
    assert (pull.head, pull.base, pull.user) == (branch, base, BOT)
    assert pull.title == f"Retrain {slug} on the newest data"
    assert pull.body == body
    assert github.git("rev-list", "--count", f"{base}..{branch}") == "1"
    assert github.git("rev-parse", f"{branch}~1") == github.branches()[base]
    assert github.git("log", "-1", "--format=%an <%ae>|%s", branch) == f"{BOT_AUTHOR}|{MESSAGE}"
    assert "  window: 1 " in github.git("show", f"{branch}:params.yaml")
    return pull


def drift_body(result: WorkflowRun) -> str:
    return (result.artifacts / "drift" / "drift.md").read_text()


# Per task: the bake's name, a drifted critical column's row in the report, what fires.
OPENS = {
    "classification": ("customer-churn", "monthly_charges", "data drift", ["data_drift"]),
    "regression": (
        "demand-forecast",
        "price",
        "data drift, performance drop",
        ["data_drift", "performance"],
    ),
}


def test_drift_opens_one_retraining_pull_request(
    task_drift_repo: tuple[str, Path], github: FakeGitHub, tmp_path: Path
) -> None:
    task, drift_repo = task_drift_repo
    slug, critical, why, triggers = OPENS[task]
    publish(drift_repo, github, "main")
    result = run_drift(drift_repo, github, tmp_path)

    pull = assert_one_fresh_pull(github, drift_body(result), slug)
    assert pull.body.startswith(f"## Drift check of `{slug}`: 🔁 retraining: {why}\n")
    assert f"| `{critical}` (critical) | numeric | Wasserstein / std |" in pull.body
    assert [(w.method, w.path) for w in github.writes()] == [("POST", f"/repos/{REPOSITORY}/pulls")]
    report = json.loads((result.artifacts / "drift" / "drift.json").read_text())
    assert report["retrain"] is True and report["triggers"] == triggers
    assert report["current"] == {"source": "synthetic window 1", "rows": 20000}
    assert (result.artifacts / "drift" / "drift.html").read_text().startswith("<!doctype html>")
    assert "Drift check of" in result.summary()
    assert "opened with GITHUB_TOKEN" in result.output
    assert "the DVC remote was not reachable" not in result.output  # pulled, not reproduced


def stale_retraining_branch(project: Path, github: FakeGitHub) -> Pull:
    """An earlier drift run's branch and pull request (one commit on main)."""
    publish(project, github, "main")
    run(["git", "switch", "-qc", "earlier"], project)
    try:
        run(["git", "commit", "-q", "--allow-empty", "-m", "An earlier retraining"], project)
        publish(project, github, f"earlier:refs/heads/{BRANCH}")
    finally:
        run(["git", "switch", "-q", "main"], project)
        run(["git", "branch", "-qD", "earlier"], project)
    pull = github.open_pull(BRANCH, user=BOT)
    pull.title, pull.body = "Retrain customer-churn on the newest data", "an older drift report"
    return pull


def retrain_pr(project: Path, github: FakeGitHub, home: Path) -> str:
    """What the drift job does once it has retrained, without act: move to the next window
    (the retraining itself is left out: the script commits whatever changed) and run
    retrain-pr.sh with a report. Returns the report; the work tree is main again after."""
    body = "## Drift check of `customer-churn`: 🔁 retraining: data drift\n"
    (home / "drift.md").write_text(body)
    run(["python", "-m", "customer_churn", "next-window"], project, env=shared_env(project))
    env = script_env(github, home, RETRAIN_BRANCH=BRANCH)
    try:
        run([".github/scripts/retrain-pr.sh", str(home / "drift.md")], project, env=env)
    finally:
        run(["git", "switch", "-q", "--force", "main"], project)
        run(["git", "branch", "-qD", BRANCH], project, check=False)
    return body


def test_an_open_retraining_pull_request_is_refreshed_not_duplicated(
    drift_repo: Path, github: FakeGitHub, tmp_path: Path
) -> None:
    earlier = stale_retraining_branch(drift_repo, github)
    old_head = github.branches()[BRANCH]
    body = retrain_pr(drift_repo, github, tmp_path)

    assert assert_one_fresh_pull(github, body) is earlier
    assert github.branches()[BRANCH] != old_head
    assert [(w.method, w.path) for w in github.writes()] == [
        ("PATCH", f"/repos/{REPOSITORY}/pulls/{earlier.number}")
    ]


def test_a_new_pull_request_after_the_last_one_was_closed(
    drift_repo: Path, github: FakeGitHub, tmp_path: Path
) -> None:
    """GitHub keeps a closed pull request's branch: it is replaced, and a new one opened."""
    earlier = stale_retraining_branch(drift_repo, github)
    github.close(earlier.number)
    body = retrain_pr(drift_repo, github, tmp_path)

    pull = assert_one_fresh_pull(github, body)
    assert pull.number != earlier.number
    assert (earlier.state, earlier.merged, earlier.body) == (
        "closed",
        False,
        "an older drift report",
    )


def test_the_pull_request_goes_to_the_default_branch_github_names(
    drift_repo: Path, tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    """A repository whose default branch is master: the script asks the API, not the event."""
    github = FakeGitHub(tmp_path_factory.mktemp("github"), default_branch="master")
    run(["git", "switch", "-qc", "master", "main"], drift_repo)
    try:
        with github.serving():
            publish(drift_repo, github, "master")
            run(["git", "switch", "-q", "main"], drift_repo)
            body = retrain_pr(drift_repo, github, tmp_path)
            assert assert_one_fresh_pull(github, body).base == "master"
    finally:
        run(["git", "switch", "-q", "main"], drift_repo)
        run(["git", "branch", "-qD", "master"], drift_repo)


def test_by_hand_after_the_last_pull_request_was_merged(
    drift_repo: Path, github: FakeGitHub, tmp_path: Path
) -> None:
    """The workflow run by hand (dispatch, retrain ticked) on the default branch as it now is,
    after the last retraining was merged: a new pull request from the replaced branch."""
    earlier = stale_retraining_branch(drift_repo, github)
    github.merge(earlier.number)
    run(["git", "fetch", "-q", str(github.bare), "main"], drift_repo)
    run(["git", "merge", "-q", "--ff-only", "FETCH_HEAD"], drift_repo)
    result = run_drift(drift_repo, github, tmp_path, "workflow_dispatch")

    pull = assert_one_fresh_pull(github, drift_body(result))
    assert pull.number != earlier.number
    assert (earlier.state, earlier.merged) == ("closed", True)
    assert json.loads((result.artifacts / "drift" / "drift.json").read_text())["retrain"] is True


def test_no_drift_changes_nothing_on_github(
    drift_repo: Path, github: FakeGitHub, tmp_path: Path
) -> None:
    run(["git", "switch", "-qc", "calm"], drift_repo)
    try:

        def calm(params: dict) -> None:
            for kind in ("numeric", "categorical"):
                params["drift"]["thresholds"][kind]["distance"] = 0.5

        edit_yaml(drift_repo / "params.yaml", calm)
        run(["git", "commit", "-qam", "Tolerate more drift"], drift_repo)
        publish(drift_repo, github, "calm:main")
        branches = github.branches()
        result = run_drift(drift_repo, github, tmp_path)
    finally:
        run(["git", "switch", "-q", "main"], drift_repo)
    assert github.writes() == [] and github.pulls == []
    assert github.branches() == branches
    assert not [r for r in github.requests if r.git and "receive-pack" in str(r.query)]
    report = json.loads((result.artifacts / "drift" / "drift.json").read_text())
    assert report["retrain"] is False and report["triggers"] == []
    assert "no retraining needed" in result.summary()


def test_a_fleet_opens_one_retraining_pull_request_naming_its_drifted_members(
    trained_bake: Trained, github: FakeGitHub, tmp_path: Path
) -> None:
    """The synthetic window 1 drifts in every region: all four members fire and move on."""
    project = trained_and_pushed(trained_bake, "fleet", tmp_path / "fleet")
    publish(project, github, "main")
    result = run_drift(project, github, tmp_path / "act")

    [pull] = github.open_pulls()
    title = "Retrain customer-churn on the newest data"
    assert (pull.head, pull.user, pull.title) == (BRANCH, BOT, title)
    assert pull.body == (result.artifacts / "drift" / "drift.md").read_text()
    assert pull.body.startswith(
        "## Drift check of the `customer-churn` fleet: 4 of 4 members to retrain"
    )
    for member in ("east", "north", "south", "west"):
        assert f"| {member} |" in pull.body
    report = json.loads((result.artifacts / "drift" / "drift.json").read_text())
    assert sorted(report["retrain_members"]) == ["east", "north", "south", "west"]
    params = yaml.safe_load(github.git("show", f"{BRANCH}:params.yaml"))
    assert params["fleet"]["windows"] == {m: 1 for m in report["retrain_members"]}
    assert params["data"]["window"] == 0
    assert "for 4 members from synthetic window 1 ->" in result.output  # each member's new one
    changed = github.git("diff", "--name-only", f"main..{BRANCH}").split()
    assert {"params.yaml", "dvc.lock", "reports/south/metrics.json"} <= set(changed)
