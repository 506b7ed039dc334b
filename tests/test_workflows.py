"""Level 4: the generated workflows, executed with act on a baked repository."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .conftest import bake, run, train_main_then_branch
from .workflows import pull_request_event, run_workflow

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def pr_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """main with a trained model committed; branch `tune` changes a hyperparameter."""
    project = bake(tmp_path_factory.mktemp("pr"))
    train_main_then_branch(project, "tune")
    run(["git", "commit", "-qam", "Lower the learning rate"], project)
    return project


def test_pr_workflow_posts_one_report_comment(pr_repo: Path, tmp_path: Path) -> None:
    event = pull_request_event(pr_repo, base="main", head="tune")
    result = run_workflow(pr_repo, "pr.yml", "pull_request", event, tmp_path)
    assert result.returncode == 0, result.output[-6000:]

    assert len(result.calls) == 1, result.calls
    call = result.calls[0]
    assert call["tool"] == "cml"
    assert call["args"][:5] == [
        "comment",
        "update",
        "--target=pr",
        "--watermark-title=Model report",
        "--no-publish",
    ]
    body = call["files"][call["args"][-1]]
    main_auc = json.loads(run(["git", "show", "main:reports/metrics.json"], pr_repo).stdout)[
        "roc_auc"
    ]
    assert f"| **roc_auc** | {main_auc:.4f} |" in body
    assert "| `train.hyperparameters.learning_rate` | `0.1` | `0.05` |" in body
    assert "Merge gate:" in body and "```mermaid" in body

    assert "Model report" in result.summary()
    assert "the DVC remote was not reachable" in result.output
    assert (result.artifacts / "reports" / "reports" / "pr_report.md").read_text() == body


def test_pr_from_a_fork_trains_but_posts_nothing(pr_repo: Path, tmp_path: Path) -> None:
    event = pull_request_event(pr_repo, base="main", head="tune")
    event["pull_request"]["head"]["repo"] = {"full_name": "someone/fork", "name": "fork"}
    result = run_workflow(pr_repo, "pr.yml", "pull_request", event, tmp_path)
    assert result.returncode == 0, result.output[-6000:]
    assert result.calls == []
    assert "comes from a fork" in result.output
    assert "Model report" in result.summary()


def test_comment_script_falls_back_to_gh(tmp_path: Path) -> None:
    """Without CML, the comment goes through the GitHub CLI, marked and edited in place."""
    project = bake(tmp_path / "bake")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "gh.log"
    gh = bin_dir / "gh"
    gh.write_text(f'#!/usr/bin/env bash\necho "$@" >> {calls}\ncat "${{@: -1}}" >> {calls}\n')
    gh.chmod(0o755)
    report = tmp_path / "report.md"
    report.write_text("## Model report\n")
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "PR_NUMBER": "7", "GITHUB_TOKEN": "t"}
    run([".github/scripts/pr-comment.sh", str(report)], project, env=env)
    logged = calls.read_text()
    assert logged.startswith("pr comment 7 --edit-last --create-if-none --body-file ")
    assert "<!-- Model report -->\n## Model report" in logged


def test_promote_workflow_promotes_on_push_to_main(pr_repo: Path, tmp_path: Path) -> None:
    run(["git", "switch", "-q", "main"], pr_repo)
    try:
        event = {
            "ref": "refs/heads/main",
            "after": run(["git", "rev-parse", "HEAD"], pr_repo).stdout.strip(),
        }
        result = run_workflow(pr_repo, "promote.yml", "push", event, tmp_path)
    finally:
        run(["git", "switch", "-q", "tune"], pr_repo)
    assert result.returncode == 0, result.output[-6000:]
    record = json.loads((result.artifacts / "promotion" / "promotion.json").read_text())
    assert record["promoted"] is True and record["version"] == "1" and record["alias"] == "champion"
    assert "Promotion of `customer-churn`: ✅ promoted" in result.output
    assert "SQLite registry that does not outlive it" in result.output
    assert result.calls == []
