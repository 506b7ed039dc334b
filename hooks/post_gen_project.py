"""Trim what the chosen options don't need and make the bake a Git repository.

Self-contained on purpose: it may import only the standard library.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

DVC_REMOTE = "{{ cookiecutter.dvc_remote }}"
TASK = "{{ cookiecutter.task }}"
LICENSE = "{{ cookiecutter.open_source_license }}"
# deploy/ (a self-hosted MLflow + PostgreSQL + S3 stack) is for bakes that share infrastructure.
SHARES_INFRASTRUCTURE = {{ "True" if cookiecutter.mlflow_tracking == "server" or cookiecutter.dvc_remote == "s3" else "False" }}
# cruft renders the template into a temporary folder to diff it; that copy must not become a repo.
RENDERED_BY_CRUFT = {{ "True" if cookiecutter.get("_commit") else "False" }}


def select_lock_file(root: Path) -> None:
    locks = root / ".locks"
    shutil.move(locks / f"requirements-{DVC_REMOTE}.lock", root / "requirements.lock")
    shutil.rmtree(locks)


def select_task(root: Path) -> None:
    """Move the chosen task's files (.tasks/<task>/...) into place; drop the other tasks'."""
    chosen = root / ".tasks" / TASK
    for path in sorted(chosen.rglob("*")):
        if path.is_file():
            target = root / path.relative_to(chosen)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(path, target)
    shutil.rmtree(root / ".tasks")


def git(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=False)


def make_repository(root: Path) -> None:
    if shutil.which("git") is None:
        print("NOTE: git was not found, so the project is not a Git repository yet; run `git init -b main`.")
        return
    if git(root, "init", "-q", "-b", "main").returncode != 0:
        # git older than 2.28 has no -b
        git(root, "init", "-q")
        git(root, "symbolic-ref", "HEAD", "refs/heads/main")
    git(root, "add", "-A")
    commit = git(root, "commit", "-q", "-m", "Initial commit from the gitops-ml template")
    if commit.returncode != 0:
        print(
            "NOTE: the files are staged on branch main but not committed "
            f"({commit.stderr.strip().splitlines()[-1] if commit.stderr.strip() else 'git commit failed'}). "
            "Set your identity with `git config user.name` / `git config user.email`, then `git commit`."
        )


def main() -> int:
    root = Path.cwd()
    select_lock_file(root)
    select_task(root)
    if LICENSE == "Not open source":
        (root / "LICENSE").unlink()
    if not SHARES_INFRASTRUCTURE:
        shutil.rmtree(root / "deploy")
    in_temp_dir = root.resolve().is_relative_to(Path(tempfile.gettempdir()).resolve())
    if not (RENDERED_BY_CRUFT and in_temp_dir):
        make_repository(root)
    return 0


if __name__ == "__main__":
    sys.exit(main())
