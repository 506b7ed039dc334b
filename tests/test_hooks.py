"""Level 2: bad answers are refused before anything is written; the post-gen hook's edge cases."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

import pytest
import yaml
from cookiecutter.exceptions import FailedHookException

from .conftest import TEMPLATE, bake, run, shared_env

COOKIECUTTER = [sys.executable, "-m", "cookiecutter", "--no-input", str(TEMPLATE)]

REFUSED = [
    ({"description": "Churn\ufffe"}, "description: must be one line without control characters"),
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


def refuse(tmp_path: Path, *args: str) -> list[str]:
    """Run cookiecutter into tmp_path/out; check that it refused, wrote nothing, no traceback."""
    out = tmp_path / "out"
    done = subprocess.run(
        [*COOKIECUTTER, "--output-dir", str(out), *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    output = done.stdout + done.stderr
    assert done.returncode != 0, output
    assert "Traceback" not in output, output
    assert list(tmp_path.iterdir()) == [], "written: " + ", ".join(os.listdir(tmp_path))
    lines = output.splitlines()
    assert lines[-1] == "Nothing was written. Run cookiecutter again with corrected answers."
    return lines


@pytest.mark.parametrize(("answers", "message"), REFUSED, ids=[str(a) for a, _ in REFUSED])
def test_bad_answer_is_refused_and_nothing_is_written(
    tmp_path: Path, answers: dict, message: str
) -> None:
    lines = refuse(tmp_path, *(f"{k}={v}" for k, v in answers.items()))
    errors = [line for line in lines if line.startswith("ERROR: ")]
    assert errors and errors[0] == lines[0], lines
    assert message in errors[0]
    key = errors[0].removeprefix("ERROR: ").split(":")[0]
    assert key in answers or key in {"project_slug", "package_name", "model_name"}


@pytest.mark.parametrize("name", ["Yes", "Null", "1.5"])
def test_names_yaml_would_read_as_other_types_stay_text(tmp_path: Path, name: str) -> None:
    project = bake(tmp_path, model_name=name)
    loaded = run(
        [sys.executable, "-c", "from customer_churn.params import load_params; "
         "print(repr(load_params().model.name))"],
        project, env=shared_env(project),
    )  # fmt: skip
    assert loaded.stdout.strip() == repr(name)
    drift = yaml.safe_load((project / ".github/workflows/drift.yml").read_text())
    assert drift["env"]["RETRAIN_BRANCH"] == f"retrain/{name}"


def test_an_answer_a_yaml_config_made_a_boolean_is_refused(tmp_path: Path) -> None:
    config = tmp_path.parent / f"{tmp_path.name}-config.yaml"
    config.write_text("default_context:\n  model_name: Yes\n")
    lines = refuse(tmp_path, "--config-file", str(config))
    assert lines[0] == "ERROR: model_name: True is not text; quote it in your cookiecutter config"


@pytest.mark.parametrize("name", ["churn..v2", "churn.lock", "churn."])
def test_model_names_that_make_an_invalid_retraining_branch_are_refused(
    tmp_path: Path, name: str
) -> None:
    assert run(
        ["git", "check-ref-format", "--branch", f"retrain/{name}"], tmp_path, check=False
    ).returncode
    lines = refuse(tmp_path, f"model_name={name}")
    assert lines[0] == (
        f"ERROR: model_name: {name!r} would make retrain/{name} an invalid Git branch name; "
        "use no '..' and do not end with '.' or '.lock'"
    )


def test_model_names_git_accepts_bake(tmp_path: Path) -> None:
    project = bake(tmp_path, model_name="Churn_v1.2-lock.locked")
    branch = yaml.safe_load((project / ".github/workflows/drift.yml").read_text())["env"]
    run(["git", "check-ref-format", "--branch", branch["RETRAIN_BRANCH"]], project)


def test_a_slug_outside_the_output_folder_is_refused_before_anything_is_made(
    tmp_path: Path,
) -> None:
    lines = refuse(tmp_path, "project_slug=../x")  # no sibling x: refuse() sees tmp_path empty
    assert lines[0].startswith("ERROR: project_slug: '../x' is not allowed; use lowercase letters")


@pytest.mark.parametrize("key", ["project_name", "project_slug", "package_name", "model_name"])
def test_a_5000_character_name_is_refused_in_one_short_line(tmp_path: Path, key: str) -> None:
    lines = refuse(tmp_path, f"{key}={'a' * 5000}")
    first = {
        "model_name": "ERROR: model_name: 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'... "
        "(5000 characters) is not allowed",
        "package_name": "ERROR: package_name: 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'... "
        "(5000 characters) is too long; use at most 100 characters",
    }.get(key, "ERROR: project_slug: 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'... "
          "(5000 characters) is too long; use at most 100 characters")  # fmt: skip
    assert lines[0].startswith(first)
    assert max(len(line) for line in lines) < 300


def test_a_local_remote_url_with_a_comma_and_a_hash_reaches_dvc_whole(tmp_path: Path) -> None:
    project = bake(tmp_path / "out", dvc_remote_url="../store,v2#main")
    done = run([sys.executable, "-m", "dvc", "config", "remote.storage.url"], project)
    assert Path(done.stdout.strip()) == tmp_path / "out" / "store,v2#main"


@pytest.mark.parametrize(
    ("url", "first"),
    [
        (
            '../say "hi"',
            "ERROR: dvc_remote_url: '../say \"hi\"' is not allowed; use no double quotes",
        ),
        (" ../store", "ERROR: dvc_remote_url: ' ../store' is not allowed; use no double quotes"),
    ],
)
def test_a_remote_url_dvc_config_cannot_hold_is_refused(
    tmp_path: Path, url: str, first: str
) -> None:
    assert refuse(tmp_path, f"dvc_remote_url={url}")[0].startswith(first)


def test_a_bucket_name_compose_yaml_cannot_hold_is_refused(tmp_path: Path) -> None:
    lines = refuse(tmp_path, "dvc_remote=s3", "dvc_remote_url=s3://my bucket #1/store")
    assert lines[0].startswith("ERROR: dvc_remote_url: bucket 'my bucket #1' is not allowed")


def test_text_beyond_ascii_stays_valid_toml_and_yaml(tmp_path: Path) -> None:
    text = "Zoë & <Ops> 🚀"
    project = bake(tmp_path, author_name=text, description=text)
    pyproject = tomllib.loads((project / "pyproject.toml").read_text())["project"]
    assert pyproject["authors"] == [{"name": text}] and pyproject["description"] == text
    assert yaml.safe_load((project / "params.yaml").read_text())["model"]["description"] == text


def test_the_python_api_refuses_before_anything_is_made(tmp_path: Path) -> None:
    with pytest.raises(FailedHookException, match=r"^ERROR: project_slug: '\.\./x' is not"):
        bake(tmp_path / "out", project_slug="../x")
    assert list((tmp_path / "out").iterdir()) == [] and not (tmp_path / "x").exists()


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
