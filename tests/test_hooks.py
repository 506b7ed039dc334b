"""Level 2: bad answers are refused before anything is written; the post-gen hook's edge cases."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from .conftest import TEMPLATE, run

COOKIECUTTER = [sys.executable, "-m", "cookiecutter", "--no-input", str(TEMPLATE)]

REFUSED = [
    ({"project_slug": "Customer Churn!"}, "project_slug"),
    ({"project_slug": "-churn"}, "project_slug"),
    ({"package_name": "Churn"}, "package_name"),
    ({"package_name": "2fast"}, "package_name"),
    ({"package_name": "class"}, "package_name: 'class' is a Python keyword"),
    ({"package_name": "match"}, "package_name: 'match' is a Python keyword"),
    ({"package_name": "json"}, "package_name: 'json' would shadow"),
    ({"package_name": "mlflow"}, "package_name: 'mlflow' would shadow"),
    ({"model_name": "my model"}, "model_name"),
    (
        {"dvc_remote": "s3", "dvc_remote_url": "/srv/dvc"},
        "dvc_remote_url: '/srv/dvc' must start with s3://",
    ),
    ({"dvc_remote_url": "s3://bucket/x"}, "dvc_remote_url"),
    (
        {"drift_schedule": "daily"},
        "drift_schedule: 'daily' is not a cron expression: expected 5 fields",
    ),
    ({"drift_schedule": "0 6 * *"}, "drift_schedule"),
    ({"drift_schedule": "61 6 * * *"}, "minute field '61'"),
    ({"drift_schedule": "0 24 * * *"}, "hour field"),
    ({"drift_schedule": "0 6 0 * *"}, "day of month field"),
    ({"drift_schedule": "0 6 * 13 *"}, "month field"),
    ({"drift_schedule": "0 6 * * MON-FOO"}, "day of week field"),
    ({"drift_schedule": "0 6 * * */0"}, "step"),
    ({"drift_schedule": "0 9-5 * * *"}, "runs backwards"),
    ({"project_name": "   "}, "project_name"),
    ({"code_owners": "alice"}, "code_owners: 'alice' is not allowed"),
    ({"code_owners": "@alice @@bob"}, "code_owners"),
    ({"code_owners": " "}, "code_owners"),
]


@pytest.mark.parametrize(("answers", "message"), REFUSED, ids=[str(a) for a, _ in REFUSED])
def test_bad_answer_is_refused_and_nothing_is_written(
    tmp_path: Path, answers: dict, message: str
) -> None:
    out = tmp_path / "out"
    args = [*COOKIECUTTER, "--output-dir", str(out), *(f"{k}={v}" for k, v in answers.items())]
    done = subprocess.run(args, capture_output=True, text=True)
    assert done.returncode != 0
    errors = [line for line in done.stderr.splitlines() if line.startswith("ERROR: ")]
    assert errors, done.stderr
    assert message in errors[0]
    key = errors[0].removeprefix("ERROR: ").split(":")[0]
    assert key in answers or key in {"project_slug", "package_name", "model_name"}
    assert not out.exists() or list(out.iterdir()) == []


def test_unknown_choice_is_refused_by_cookiecutter(tmp_path: Path) -> None:
    done = subprocess.run(
        [*COOKIECUTTER, "--output-dir", str(tmp_path), "python_version=2.7"],
        capture_output=True,
        text=True,
    )
    assert done.returncode != 0
    assert "2.7" in done.stderr + done.stdout
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "schedule",
    ["0 6 * * 1", "*/15 * * * *", "0 0 1,15 * *", "30 2 * JAN-MAR sun", "5 4-8/2 * * MON-FRI"],
)
def test_valid_schedules_are_accepted(tmp_path: Path, schedule: str) -> None:
    run([*COOKIECUTTER, "--output-dir", str(tmp_path), f"drift_schedule={schedule}"], tmp_path)
    assert (tmp_path / "customer-churn" / "dvc.yaml").is_file()


def test_bakes_without_a_git_identity_and_says_so(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(HOME=str(tmp_path), GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL=os.devnull, EMAIL="")
    out = tmp_path / "out"
    done = run([*COOKIECUTTER, "--output-dir", str(out)], tmp_path, env=env)
    project = out / "customer-churn"
    assert "not committed" in done.stdout and "git config user.email" in done.stdout
    assert run(["git", "branch", "--show-current"], project, env=env).stdout.strip() == "main"
    assert "A  dvc.yaml" in run(["git", "status", "--porcelain"], project, env=env).stdout


def test_bakes_without_git_and_says_so(tmp_path: Path) -> None:
    env = {**os.environ, "PATH": str(Path(sys.executable).parent)}  # this venv's bin/ has no git
    done = run([*COOKIECUTTER, "--output-dir", str(tmp_path / "out")], tmp_path, env=env)
    assert "git was not found" in done.stdout
    project = tmp_path / "out" / "customer-churn"
    assert (project / "dvc.yaml").is_file() and not (project / ".git").exists()


def test_cruft_rendering_in_a_temporary_folder_makes_no_repository() -> None:
    from cookiecutter.generate import generate_context, generate_files
    from cookiecutter.prompt import prompt_for_config

    context = generate_context(context_file=str(TEMPLATE / "cookiecutter.json"))
    context["cookiecutter"] = prompt_for_config(context, no_input=True)
    context["cookiecutter"]["_template"] = str(TEMPLATE)
    context["cookiecutter"]["_commit"] = "0" * 40  # what cruft adds
    with tempfile.TemporaryDirectory() as folder:
        project = Path(generate_files(repo_dir=str(TEMPLATE), context=context, output_dir=folder))
        assert (project / "requirements.lock").is_file()
        assert not (project / ".git").exists()
        assert not (project / ".locks").exists()
    assert shutil.which("git")
