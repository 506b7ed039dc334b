"""Level 4: the generated workflows, executed with act on a baked repository.

The PR workflow talks to a stateful fake GitHub (tests/fake_github.py) through the
real `gh` and a CML stand-in that behaves as CML 0.20.6 does; the tests assert the
comments GitHub holds afterwards.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import yaml
from markdown_it import MarkdownIt

from .conftest import Trained, bake, branch_off, publish, reachable_remote, run, shared_env
from .fake_github import BOT, Comment, FakeGitHub, Pull
from .workflows import (
    REPOSITORY,
    STANDINS,
    WorkflowRun,
    pull_request_event,
    push_event,
    run_workflow,
    script_env,
    sha,
)

pytestmark = pytest.mark.slow

PROMOTE_STEP = "⭐ Run Main Promote\n"  # how act logs the promote step starting
WATERMARK = '![](https://cml.dev/watermark.png#{sha} "CML watermark Model report")'


@pytest.fixture(scope="module")
def pr_repo(trained_bake: Trained, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """main with a trained model committed; branch `tune` changes a hyperparameter, trained
    too. Both are in a DVC remote the jobs reach: a job's `dvc pull` brings the outputs its
    commit's dvc.lock records and `make repro` has nothing to do, as on GitHub with a real
    remote."""
    folder = tmp_path_factory.mktemp("pr")
    project = trained_bake("classification", folder)
    env = shared_env(project)
    reachable_remote(project, folder / "remote")
    branch_off(project, "tune")
    run(["dvc", "repro"], project, env=env)
    run(["git", "commit", "-qam", "Lower the learning rate"], project)
    run(["dvc", "push", "--quiet", "--all-branches", "--run-cache"], project, env=env)
    return project


def run_pr(
    project: Path, github: FakeGitHub, pull: Pull, work: Path, **env: str
) -> tuple[WorkflowRun, list]:
    """pr.yml for a push to `pull`'s branch (checked out); returns the run and its API writes."""
    before = len(github.writes())
    event = pull_request_event(project, base="main", head=pull.head, number=pull.number)
    result = run_workflow(project, "pr.yml", "pull_request", event, work, env=env, github=github)
    assert result.returncode == 0, result.output[-6000:]
    return result, github.writes()[before:]


def reports(github: FakeGitHub, pull: Pull) -> list[Comment]:
    return [c for c in github.comments_on(pull.number) if c.user == BOT]


def test_one_report_comment_across_pushes_people_and_both_posting_paths(
    pr_repo: Path, github: FakeGitHub, tmp_path: Path
) -> None:
    publish(pr_repo, github, "main", "tune")
    pull = github.open_pull("tune")

    # First push, CML installed: one comment, the report plus CML's watermark.
    result, writes = run_pr(pr_repo, github, pull, tmp_path / "first")
    [first] = github.comments_on(pull.number)
    report, first_body = (result.artifacts / "reports" / "pr_report.md").read_text(), first.body
    assert first.user == BOT
    assert first_body == f"{report}\n\n{WATERMARK.format(sha=sha(pr_repo))}"
    assert [(w.method, w.path) for w in writes] == [
        ("POST", f"/repos/{REPOSITORY}/issues/{pull.number}/comments")
    ]
    main_auc = json.loads(run(["git", "show", "main:reports/metrics.json"], pr_repo).stdout)
    assert f"| **roc_auc** | {main_auc['roc_auc']:.4f} |" in report
    assert "| `train.hyperparameters.learning_rate` | `0.1` | `0.05` |" in report
    assert "Model report" in result.summary()
    assert "Running stage 'train'" not in result.output  # pulled from the remote, not trained

    # A person comments; then a second push, posted by the gh fallback (no CML). The push
    # changes no input of the pipeline: the report is the same, on a new commit.
    human = github.comment(pull.number, "Why did recall drop?")
    readme = pr_repo / "README.md"
    readme.write_text(readme.read_text() + "\nTuning notes: a lower learning rate.\n")
    run(["git", "commit", "-qam", "Note the tuning"], pr_repo)
    publish(pr_repo, github, "tune")
    result, writes = run_pr(pr_repo, github, pull, tmp_path / "second", STANDIN_CML="missing")
    assert "CML could not be installed" in result.output
    assert [c.id for c in github.comments_on(pull.number)] == [first.id, human.id]
    assert human.body == "Why did recall drop?"
    [edited] = reports(github, pull)
    report = (result.artifacts / "reports" / "pr_report.md").read_text()
    assert edited.body == f"{report}\n\n{WATERMARK.format(sha=sha(pr_repo))}" != first_body
    assert [(w.method, w.path) for w in writes] == [
        ("PATCH", f"/repos/{REPOSITORY}/issues/comments/{first.id}")
    ]

    # And back to CML (the comment script with CML on PATH, as the job calls it): it finds
    # the comment the gh path wrote.
    event = tmp_path / "event.json"
    event.write_text(json.dumps(pull_request_event(pr_repo, "main", "tune", pull.number)))
    env = script_env(
        github, tmp_path, GITHUB_EVENT_NAME="pull_request", GITHUB_EVENT_PATH=str(event)
    )
    env["PATH"] = f"{STANDINS / 'setup-cml' / 'bin'}:{env['PATH']}"
    (tmp_path / "third.md").write_text("## Model report\n\nthird\n")
    before = len(github.writes())
    run([".github/scripts/pr-comment.sh", str(tmp_path / "third.md")], pr_repo, env=env)
    assert [c.id for c in github.comments_on(pull.number)] == [first.id, human.id]
    [third] = reports(github, pull)
    assert third.body.startswith("## Model report\n\nthird\n")
    assert [(w.method, w.path) for w in github.writes()[before:]] == [
        ("PATCH", f"/repos/{REPOSITORY}/issues/comments/{first.id}")
    ]


def test_pr_from_a_fork_trains_but_posts_nothing(
    pr_repo: Path, github: FakeGitHub, tmp_path: Path
) -> None:
    publish(pr_repo, github, "main", "tune")
    pull = github.open_pull("tune")
    event = pull_request_event(pr_repo, base="main", head="tune", number=pull.number)
    event["pull_request"]["head"]["repo"] = {"full_name": "someone/fork", "name": "fork"}
    result = run_workflow(pr_repo, "pr.yml", "pull_request", event, tmp_path, github=github)
    assert result.returncode == 0, result.output[-6000:]
    assert github.comments == [] and github.writes() == []
    assert "comes from a fork" in result.output
    assert "Model report" in result.summary()


@pytest.fixture(scope="module")
def regression_pr_repo(trained_bake: Trained, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """pr_repo's history on a bake with task=regression, with the bake's own DVC remote (a
    path next to the repository, which the job's copy does not have): the job trains."""
    project = trained_bake("regression", tmp_path_factory.mktemp("pr-regression"))
    branch_off(project, "tune")
    run(["git", "commit", "-qam", "Lower the learning rate"], project)
    return project


def test_a_regression_pr_gets_one_report_comment(
    regression_pr_repo: Path, github: FakeGitHub, tmp_path: Path
) -> None:
    publish(regression_pr_repo, github, "main", "tune")
    pull = github.open_pull("tune")
    result, writes = run_pr(regression_pr_repo, github, pull, tmp_path)
    [comment] = github.comments_on(pull.number)
    report = (result.artifacts / "reports" / "pr_report.md").read_text()
    assert comment.user == BOT
    assert comment.body == f"{report}\n\n{WATERMARK.format(sha=sha(regression_pr_repo))}"
    assert [(w.method, w.path) for w in writes] == [
        ("POST", f"/repos/{REPOSITORY}/issues/{pull.number}/comments")
    ]
    main = json.loads(run(["git", "show", "main:reports/metrics.json"], regression_pr_repo).stdout)
    assert report.startswith("## Model report: `demand-forecast`")
    assert f"| **mae** | {main['mae']:.4f} |" in report and "lower is better" in report
    assert "| `train.hyperparameters.learning_rate` | `0.1` | `0.05` |" in report
    assert "churn" not in report.lower()
    assert "the DVC remote was not reachable" in result.output
    assert "Running stage 'train'" in result.output


HOSTILE_SCRIPT = """#!/usr/bin/env bash
echo "$GITHUB_TOKEN" > {leak}/token-from-script
gh api --method POST "repos/$GITHUB_REPOSITORY/issues/$PR_NUMBER/comments" -f body=pwned
"""
HOSTILE_CODE = """
import os as _os, pathlib as _pathlib
if _os.environ.get("GITHUB_PATH"):  # plant a `cml` for the steps after the pipeline
    _bin = _pathlib.Path({leak!r}) / "bin"
    _bin.mkdir(parents=True, exist_ok=True)
    (_bin / "cml").write_text('#!/bin/sh\\necho "$GITHUB_TOKEN" > {leak}/token-from-cml\\n')
    (_bin / "cml").chmod(0o755)
    with open(_os.environ["GITHUB_PATH"], "a") as _path:
        _path.write(str(_bin) + "\\n")
"""


def test_pr_code_never_runs_beside_the_write_token(
    pr_repo: Path, github: FakeGitHub, tmp_path: Path
) -> None:
    """A PR rewrites the comment script and plants a `cml` from its pipeline code."""
    leak = tmp_path / "leak"
    leak.mkdir()
    run(["git", "switch", "-qc", "hostile", "main"], pr_repo)
    try:
        script = pr_repo / ".github/scripts/pr-comment.sh"
        script.write_text(HOSTILE_SCRIPT.format(leak=leak))
        package = pr_repo / "src/customer_churn/__init__.py"
        package.write_text(package.read_text() + HOSTILE_CODE.format(leak=str(leak)))
        run(["git", "commit", "-qam", "Tidy the package"], pr_repo)
        publish(pr_repo, github, "main", "hostile")
        pull = github.open_pull("hostile")
        run_pr(pr_repo, github, pull, tmp_path / "act")
    finally:
        run(["git", "switch", "-q", "tune"], pr_repo)

    assert (leak / "bin" / "cml").is_file()  # the PR's code did run, in the training job
    assert sorted(path.name for path in leak.iterdir()) == ["bin"]  # and nothing ran with a token
    [comment] = github.comments_on(pull.number)
    assert comment.user == BOT and comment.body.startswith("## Model report: `customer-churn`")
    assert "pwned" not in comment.body


def test_comment_script_gh_path_edits_only_its_own_comment(
    github: FakeGitHub, tmp_path: Path
) -> None:
    """pr-comment.sh without CML, against the fake: a person quoting the report is left alone."""
    project = bake(tmp_path / "bake")
    run(["git", "commit", "-q", "--allow-empty", "-m", "Start"], project)
    publish(project, github, "main", "main:feature")
    run(["git", "commit", "-q", "--allow-empty", "-m", "Work"], project)
    publish(project, github, "HEAD:feature")
    pull = github.open_pull("feature")
    head = sha(project)
    quoted = github.comment(pull.number, "> " + WATERMARK.format(sha=head) + "\n\nSee above")
    report = tmp_path / "report.md"
    env = script_env(github, tmp_path, PR_NUMBER=str(pull.number), HEAD_SHA=head)
    for text in ("## Model report\n\nfirst\n", "## Model report\n\nsecond\n"):
        report.write_text(text)
        run([".github/scripts/pr-comment.sh", str(report)], project, env=env)
    assert quoted.body.startswith("> ![](")
    [mine] = reports(github, pull)
    assert mine.body == f"## Model report\n\nsecond\n\n\n{WATERMARK.format(sha=head)}"
    assert [c.id for c in github.comments_on(pull.number)] == [quoted.id, mine.id]

    # A report of hostile data: GitHub holds it inert and within its limit.
    run(["python", "-c", HOSTILE_REPORT, str(report)], project, env={**env, **shared_env(project)})
    run([".github/scripts/pr-comment.sh", str(report)], project, env=env)
    [mine] = reports(github, pull)
    assert len(mine.body) <= 65_536 and "approve here" in mine.body
    for token in MarkdownIt("commonmark").enable("table").parse(mine.body):
        for inline in [token, *(token.children or [])]:
            assert "evil.example" not in f"{inline.attrGet('href')}{inline.attrGet('src')}"
            assert inline.type != "text" or "@your-org/ml-maintainers" not in inline.content


# The PR report of a branch whose data holds a hostile category value (segment, feature,
# parameter, failed expectation) and a 100,000-character cell; written to sys.argv[1].
HOSTILE_REPORT = """
import sys
from pathlib import Path
from customer_churn.params import load_params
from customer_churn.report_markdown import Inputs, Side, build
value = ("[approve here](https://evil.example/login) @your-org/ml-maintainers"
         " ![t](https://evil.example/t.png)")
side = Side(metrics={"roc_auc": 0.8, "segment_gap": 0.1}, segments={value: {"roc_auc": 0.8}},
            importance={value: 0.02})
failure = {"expectation": "expect_column_values_to_be_in_set", "column": value,
           "observed": {"unexpected_count": 2, "examples": [value, "x" * 100_000]}}
validation = {"success": False, "statistics": {}, "failures": [failure]}
changed = {"data.schema.categorical.region": (["north"], ["north", value])}
inputs = Inputs("main", side, side, params_changed=changed, validation=validation)
Path(sys.argv[1]).write_text(build(inputs, load_params()))
"""


def test_promote_workflow_promotes_on_push_to_main(pr_repo: Path, tmp_path: Path) -> None:
    run(["git", "switch", "-q", "main"], pr_repo)
    try:
        result = run_workflow(pr_repo, "promote.yml", "push", push_event(pr_repo), tmp_path)
    finally:
        run(["git", "switch", "-q", "tune"], pr_repo)
    assert result.returncode == 0, result.output[-6000:]
    record = json.loads((result.artifacts / "promotion" / "promotion.json").read_text())
    assert record["promoted"] is True and record["version"] == "1" and record["alias"] == "champion"
    assert "Promotion of `customer-churn`: ✅ promoted" in result.output
    assert "SQLite registry that does not outlive it" in result.output
    assert PROMOTE_STEP in result.output
    # The image job builds the champion's file (the one dvc.lock records) into an image
    # tagged with the version and the commit, and pushes that tag alone.
    recorded = json.loads((result.artifacts / "champions" / "champions.json").read_text())
    assert recorded == {"customer-churn": "1"}
    lock = yaml.safe_load(run(["git", "show", "main:dvc.lock"], pr_repo).stdout)
    md5 = next(o["md5"] for s in lock["stages"].values() for o in s.get("outs", [])
               if o["path"] == "models/model.skops")  # fmt: skip
    tag = f"ghcr.io/{REPOSITORY}:v1-{sha(pr_repo, 'main')[:12]}"
    build, login, push = (call for call in result.calls if call["tool"] == "docker")
    assert build["args"][-1] == "." and tag in build["args"]
    assert build["files"]["models/model.skops"] == md5 and "models/champions.json" in build["files"]
    assert login["args"][:2] == ["login", "ghcr.io"] and push["args"] == ["push", tag]
    assert f"Scoring image: `{tag}`" in result.output
    assert [call["tool"] for call in result.calls] == ["docker"] * 3


def test_promote_gates_on_metrics_it_computed_not_committed_ones(
    pr_repo: Path, tmp_path: Path
) -> None:
    """A commit that edits reports/metrics.json and its md5 in dvc.lock does not fool the gate."""
    real = json.loads(run(["git", "show", "main:reports/metrics.json"], pr_repo).stdout)
    env = shared_env(pr_repo)
    run(["git", "switch", "-qc", "forged", "main"], pr_repo)
    run(["dvc", "checkout", "--quiet"], pr_repo, env=env)  # main's model, not tune's
    try:
        metrics = pr_repo / "reports/metrics.json"
        old_md5 = hashlib.md5(metrics.read_bytes()).hexdigest()
        metrics.write_text(json.dumps({**real, "roc_auc": 0.99}, indent=2) + "\n")
        new_md5 = hashlib.md5(metrics.read_bytes()).hexdigest()
        lock = pr_repo / "dvc.lock"
        assert lock.read_text().count(old_md5) == 1
        lock.write_text(lock.read_text().replace(old_md5, new_md5))
        run(["git", "commit", "-qam", "Better numbers"], pr_repo)
        status = run(["dvc", "status"], pr_repo, env=env).stdout
        assert "Data and pipelines are up to date" in status  # DVC alone sees nothing wrong
        event = push_event(pr_repo)  # as if this were main's new commit
        result = run_workflow(pr_repo, "promote.yml", "push", event, tmp_path / "act")
    finally:
        run(["git", "switch", "-q", "tune"], pr_repo)
        run(["git", "branch", "-qD", "forged"], pr_repo)
        run(["dvc", "checkout", "--quiet"], pr_repo, env=env)
    assert result.returncode == 0, result.output[-6000:]
    assert "Running stage 'train'" not in result.output  # pulled, not retrained
    # promote measured the model itself and named the committed file that disagreed
    assert "the metrics measured here differ from reports/metrics.json" in result.output
    record = json.loads((result.artifacts / "promotion" / "promotion.json").read_text())
    assert record["candidate"]["roc_auc"] == pytest.approx(real["roc_auc"])


def registered(uri: str) -> list[str]:
    from mlflow import MlflowClient

    return [model.name for model in MlflowClient(uri).search_registered_models()]


def tracked_runs(uri: str) -> int:
    from mlflow import MlflowClient

    experiments = MlflowClient(uri).search_experiments()
    return len(MlflowClient(uri).search_runs([e.experiment_id for e in experiments]))


def test_promote_by_hand_on_another_branch_does_nothing(pr_repo: Path, tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'registry.db'}"
    event = push_event(pr_repo, branch="tune")  # pr_repo has `tune` checked out
    secrets = {"MLFLOW_TRACKING_URI": uri}
    result = run_workflow(
        pr_repo, "promote.yml", "workflow_dispatch", event, tmp_path, secrets=secrets
    )
    assert result.returncode == 0, result.output[-6000:]
    assert "promotion runs only on the default branch; this run did nothing" in result.output
    assert PROMOTE_STEP not in result.output and not (tmp_path / "registry.db").exists()


def test_a_failing_dvc_push_fails_the_job_before_any_alias_moves(tmp_path: Path) -> None:
    project = bake(tmp_path / "bake", dvc_remote_url="/proc/refuses-writes/store")
    run(["git", "commit", "-q", "--allow-empty", "-m", "Start"], project)
    uri = f"sqlite:///{tmp_path / 'registry.db'}"
    secrets = {"MLFLOW_TRACKING_URI": uri}
    result = run_workflow(
        project, "promote.yml", "push", push_event(project), tmp_path, secrets=secrets
    )
    assert result.returncode != 0
    assert "Failure - Main Push data, model and run-cache to the DVC remote" in result.output
    assert PROMOTE_STEP not in result.output
    assert tracked_runs(uri) >= 1 and registered(uri) == []  # evaluate logged; nothing registered
