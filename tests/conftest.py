"""Shared helpers: bake the template, and run a bake's code in this test environment.

The template's .venv holds every dependency of the generated project (its
lock is built from the project's lock), so bakes run here without their own
environment: the bake's `src/` goes on PYTHONPATH and this interpreter's bin/
first on PATH. Exactly one slow test builds a fresh environment from a bake's
own lock file.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from cookiecutter.main import cookiecutter
from filelock import FileLock

from .fake_github import FakeGitHub

TEMPLATE = Path(__file__).resolve().parents[1]
DEFAULT_SLUG = "customer-churn"
DEFAULT_PACKAGE = "customer_churn"
TASKS = ("classification", "regression")  # the `task` answer; classification is the default
PRIMARY_METRIC = {"classification": "roc_auc", "regression": "mae"}  # each task's default

QUIET = {
    "DVC_NO_ANALYTICS": "1",
    "ITERATIVE_DO_NOT_TRACK": "1",
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "GX_ANALYTICS_ENABLED": "false",
}
# One thread per numeric library: the xdist workers already use every core, and two trainings
# with two OpenMP threads each on two cores took 28-36 s, with one thread each 19-21 s
# (the same predictions).
ONE_THREAD = {name: "1" for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}


def git_identity_env() -> dict[str, str]:
    """A throwaway git identity, so bakes can commit on any machine."""
    return {
        "GIT_AUTHOR_NAME": "Test",
        "GIT_AUTHOR_EMAIL": "test@example.com",
        "GIT_COMMITTER_NAME": "Test",
        "GIT_COMMITTER_EMAIL": "test@example.com",
    }


@pytest.fixture(autouse=True, scope="session")
def _environment() -> None:
    os.environ.update(QUIET)
    os.environ.update(ONE_THREAD)
    os.environ.update(git_identity_env())


def bake(output_dir: Path, **answers: Any) -> Path:
    """Bake the template with --no-input and `answers`; return the project folder."""
    output_dir.mkdir(parents=True, exist_ok=True)
    return Path(
        cookiecutter(
            str(TEMPLATE), no_input=True, extra_context=answers, output_dir=str(output_dir)
        )
    )


def shared_env(project: Path) -> dict[str, str]:
    """Environment that runs `project`'s package and tools from this interpreter."""
    bin_dir = str(Path(sys.executable).parent)
    return {
        **os.environ,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "PYTHONPATH": str(project / "src"),
        "MLFLOW_TRACKING_URI": f"sqlite:///{project / 'mlflow.db'}",
    }


def run(
    args: list[str], cwd: Path, env: dict[str, str] | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True)
    if check and done.returncode != 0:
        raise AssertionError(
            f"{' '.join(args)} exited {done.returncode}\n"
            f"--- stdout\n{done.stdout}\n--- stderr\n{done.stderr}"
        )
    return done


def files_mentioning(project: Path, word: str) -> list[str]:
    """Text files of `project`'s work tree (tracked, or new and not ignored) holding `word`,
    in any case."""
    done = run(["git", "grep", "-Iil", "--untracked", word], project, check=False)
    assert done.returncode in (0, 1), done.stderr  # 1: no file holds it
    return done.stdout.split()


def edit_yaml(path: Path, change: Callable[[Any], None]) -> None:
    """Load a YAML file, let `change` edit it in place, write it back."""
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def lower_learning_rate(params: dict) -> None:
    params["train"]["hyperparameters"]["learning_rate"] = 0.05


def branch_off(project: Path, branch: str) -> None:
    """Switch `project` (main trained and committed) to a new `branch` with a lower learning
    rate, not yet trained."""
    run(["git", "switch", "-qc", branch], project)
    edit_yaml(project / "params.yaml", lower_learning_rate)


def reachable_remote(project: Path, folder: Path) -> None:
    """Point `project`'s DVC remote at `folder`, an absolute path that a job's copy of the
    repository reaches too (the bake's default is relative to the repository), and commit it."""
    run(
        ["dvc", "remote", "modify", "storage", "url", str(folder)], project, env=shared_env(project)
    )
    run(["git", "commit", "-qam", "Store data and models where the jobs reach them"], project)


# The answers of the trained bakes that tests share (`trained_bake`), one per kind.
TRAINED = {"classification": {}, "regression": {"task": "regression"}, "fleet": {"fleet": "yes"}}


def relocate_tracking(database: Path, old: str, new: str) -> None:
    """Point an MLflow SQLite store copied from `old` to `new` at its own artifacts: MLflow
    records absolute paths (experiments, runs, model versions, the source file tag)."""
    with sqlite3.connect(database) as store:
        tables = store.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
        for (table,) in tables:
            for column in store.execute(f'PRAGMA table_info("{table}")').fetchall():
                if column[2].upper().startswith(("VARCHAR", "TEXT")):
                    store.execute(
                        f'UPDATE "{table}" SET "{column[1]}" = replace("{column[1]}", ?, ?) '
                        f'WHERE "{column[1]}" LIKE ?',
                        (old, new, f"%{old}%"),
                    )
    store.close()


def train_once(kind: str, folder: Path) -> Path:
    """Bake `kind` into `folder` and commit its first trained model on main."""
    project = bake(folder, **TRAINED[kind])
    run(["dvc", "repro"], project, env=shared_env(project))
    run(["git", "add", "-A"], project)
    run(["git", "commit", "-qm", "Train the first model"], project)
    return project


Trained = Callable[[str, Path], Path]


@pytest.fixture(scope="session")
def trained_bake(tmp_path_factory: pytest.TempPathFactory) -> Trained:
    """`trained_bake(kind, folder)`: a copy in `folder` of `train_once(kind)`, and its path.
    Each kind is trained once per run, by whichever xdist worker asks first; the others wait
    for it, then copy it."""
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base

    def copy(kind: str, folder: Path) -> Path:
        source = shared / f"trained-{kind}"
        with FileLock(shared / f"trained-{kind}.lock"):
            if not (source / "done").exists():
                shutil.rmtree(source, ignore_errors=True)
                (source / "done").write_text(train_once(kind, source / "bake").name)
        name = (source / "done").read_text()
        shutil.copytree(source / "bake", folder, symlinks=True, dirs_exist_ok=True)
        relocate_tracking(
            folder / name / "mlflow.db", str(source / "bake" / name), str(folder / name)
        )
        return folder / name

    return copy


@pytest.fixture(scope="session")
def default_bake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return bake(tmp_path_factory.mktemp("default"))


@pytest.fixture
def github(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[FakeGitHub]:
    """A fresh fake GitHub (tests/fake_github.py), serving until the test ends.

    With FAKE_GITHUB_LOG=DIR, the requests it saw are written to DIR/<test>.txt.
    """
    with FakeGitHub(tmp_path_factory.mktemp("github")).serving() as fake:
        yield fake
    if log := os.environ.get("FAKE_GITHUB_LOG"):
        lines = [f"{r.method} {r.path} {r.status} {r.login}" for r in fake.requests]
        name = re.sub(r"[^\w.-]+", "_", request.node.name)
        Path(log).mkdir(parents=True, exist_ok=True)
        (Path(log) / f"{name}.txt").write_text("\n".join(lines) + "\n")


def publish(project: Path, github: FakeGitHub, *refspecs: str) -> None:
    """Push `refspecs` into the fake's repository (as a person would have) and make it origin."""
    run(["git", "push", "-q", "--force", str(github.bare), *refspecs], project)
    run(["git", "remote", "remove", "origin"], project, check=False)
    run(["git", "remote", "add", "origin", github.clone_url], project)
