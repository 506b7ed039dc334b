"""Trim what the chosen options don't need and make the bake a Git repository.

Self-contained on purpose: it may import only the standard library.
"""

from __future__ import annotations

import importlib
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

DVC_REMOTE = "{{ cookiecutter.dvc_remote }}"
TASK = "{{ cookiecutter.task }}"
FLEET = {{ "True" if cookiecutter.fleet == "yes" else "False" }}
LICENSE = "{{ cookiecutter.open_source_license }}"
# A shared MLflow server is expected: the package keeps tracking_server.py, which says so.
EXPECTS_SERVER = {{ "True" if cookiecutter.mlflow_tracking == "server" else "False" }}
# deploy/ (a self-hosted MLflow + PostgreSQL + S3 stack) is for bakes that share infrastructure.
SHARES_INFRASTRUCTURE = {{ "True" if cookiecutter.mlflow_tracking == "server" or cookiecutter.dvc_remote == "s3" else "False" }}
# cruft renders the template into a temporary folder to diff it; that copy must not become a repo.
RENDERED_BY_CRUFT = {{ "True" if cookiecutter.get("_commit") else "False" }}


# The single model's modules and tests that a fleet bake has no use for: its detailed PR report
# (a fleet's sums its members up in fleet_report.py) and the offline page of dvc.yaml's plots.
SINGLE_MODEL_ONLY = (
    "src/{{ cookiecutter.package_name }}/plots.py",  # draws dvc.yaml's plots; a fleet has none
    "src/{{ cookiecutter.package_name }}/report_model.py",
    "src/{{ cookiecutter.package_name }}/report_markdown.py",
    "src/{{ cookiecutter.package_name }}/report_parts.py",
    "src/{{ cookiecutter.package_name }}/task_report.py",
    "tests/test_use_data.py",  # the single model's params; test_fleet.py tests a fleet's
    "tests/test_plots.py",
    "tests/test_pipeline.py",  # the single model's stages end to end
    "tests/test_report.py",
    "tests/test_report_markdown.py",
    "tests/test_task_report.py",
)


def select_lock_file(root: Path) -> None:
    locks = root / ".locks"
    shutil.move(locks / f"requirements-{DVC_REMOTE}.lock", root / "requirements.lock")
    shutil.rmtree(locks)


def move_into_place(chosen: Path, root: Path) -> None:
    for path in sorted(chosen.rglob("*")):
        if path.is_file():
            target = root / path.relative_to(chosen)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(path, target)


def select_task(root: Path) -> None:
    """Move the chosen task's files (.tasks/<task>/...) into place; drop the other tasks'."""
    move_into_place(root / ".tasks" / TASK, root)
    shutil.rmtree(root / ".tasks")


def select_fleet(root: Path) -> None:
    """A fleet bake gets the fleet's modules and tests (.fleet/...) and its member stages in
    dvc.yaml, written by the bake's own shards module from params.yaml's members."""
    fleet = root / ".fleet"
    if not FLEET:
        shutil.rmtree(fleet)
        return
    move_into_place(fleet, root)
    shutil.rmtree(fleet)
    for name in SINGLE_MODEL_ONLY:
        (root / name).unlink(missing_ok=True)  # a task may have no test of its own for it
    sys.dont_write_bytecode = True  # no __pycache__ left in the bake
    sys.path.insert(0, str(root / "src"))  # shards and paths import the standard library only
    shards = importlib.import_module("{{ cookiecutter.package_name }}.shards")
    members = re.findall(r"^    ([A-Za-z0-9_-]+): \{\}$", (root / "params.yaml").read_text(), re.M)
    shards_count = int(re.search(r"^  shards: (\d+)", (root / "params.yaml").read_text(), re.M).group(1))
    dvc_yaml = root / "dvc.yaml"
    dvc_yaml.write_text(shards.write_stages(dvc_yaml.read_text(), members, shards_count))


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
    select_fleet(root)
    if LICENSE == "Not open source":
        (root / "LICENSE").unlink()
    if not SHARES_INFRASTRUCTURE:
        shutil.rmtree(root / "deploy")
    if not EXPECTS_SERVER:
        (root / "src" / "{{ cookiecutter.package_name }}" / "tracking_server.py").unlink()
    in_temp_dir = root.resolve().is_relative_to(Path(tempfile.gettempdir()).resolve())
    if not (RENDERED_BY_CRUFT and in_temp_dir):
        make_repository(root)
    return 0


if __name__ == "__main__":
    sys.exit(main())
