"""Level 3: the one test that builds a fresh environment from a bake's own lock
file, exactly as a user would (`make setup`), and runs the whole lifecycle
through make. A dependency missing from the lock file fails here.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import time
from pathlib import Path

import pytest

from .conftest import bake, run
from .test_lifecycle import OUTPUTS, assert_pipeline_outputs, readme_block

pytestmark = pytest.mark.slow


def test_fresh_environment_from_the_lock_file_runs_the_whole_lifecycle(tmp_path: Path) -> None:
    project = bake(tmp_path)
    # As on a user's machine: nothing of this test environment on PATH.
    ours = str(Path(sys.executable).parent)
    path = os.pathsep.join(p for p in os.environ["PATH"].split(os.pathsep) if p != ours)
    env = {k: v for k, v in os.environ.items() if k not in {"VIRTUAL_ENV", "PYTHONPATH"}}
    env.update(PATH=path, PYTHON=shutil.which("python3", path=path) or "python3")
    timings = {}

    # No uv on PATH: setup installs the lock's own uv (pinned, hashed) with pip, then uses it.
    started = time.perf_counter()
    done = run(["make", "setup"], project, env=env)
    timings["setup_without_uv"] = time.perf_counter() - started
    assert "no uv on PATH: installing the locked uv into .venv with pip first" in done.stdout
    assert (project / ".venv/bin/dvc").is_file()
    # With a uv on PATH (here the one setup just installed), setup uses it directly.
    uv_only = tmp_path / "uv-bin"
    uv_only.mkdir()
    shutil.copy(project / ".venv/bin/uv", uv_only / "uv")
    shutil.rmtree(project / ".venv")
    started = time.perf_counter()
    done = run(["make", "setup"], project, env={**env, "PATH": f"{uv_only}{os.pathsep}{path}"})
    timings["setup_with_uv"] = time.perf_counter() - started
    assert "no uv on PATH" not in done.stdout and (project / ".venv/bin/dvc").is_file()

    def name(text: str) -> str:
        return re.sub(r"[-_.]+", "-", text).lower()

    pins = [
        line for line in (project / "requirements.lock").read_text().splitlines()
        if "==" in line and not line.startswith((" ", "#"))
    ]  # fmt: skip
    locked: dict[str, set[str]] = {}  # a universal lock pins some packages once per marker
    for pin in pins:
        locked.setdefault(name(pin.split("==")[0]), set()).add(pin.split("==")[1].split()[0])
    unconditional = {name(pin.split("==")[0]) for pin in pins if ";" not in pin}
    listed = run(["uv-bin/uv", "pip", "list", "--python", str(project / ".venv/bin/python"),
                  "--format", "json"], tmp_path).stdout  # fmt: skip
    installed = {name(item["name"]): item["version"] for item in json.loads(listed)}
    installed.pop("customer-churn")
    assert unconditional <= set(installed)  # every pin without a marker is installed
    off_lock = {key: version for key, version in installed.items()
                if version not in locked.get(key, set())}  # fmt: skip
    assert off_lock == {}  # everything installed is at a version the lock pins
    help_text = run([".venv/bin/python", "-m", "customer_churn", "--help"], project, env=env).stdout
    assert "evaluate" in help_text

    started = time.perf_counter()
    # Not activated: the stage commands find .venv themselves (DESIGN.md section 3).
    repro = run([".venv/bin/dvc", "repro"], project, env=env).stdout
    timings["repro"] = time.perf_counter() - started
    for stage in ("ingest", "validate", "train", "evaluate"):
        assert f"Running stage '{stage}'" in repro
    assert_pipeline_outputs(project)
    assert (project / "mlflow.db").stat().st_size > 0

    started = time.perf_counter()
    again = run(["make", "repro"], project, env=env).stdout
    timings["noop_repro"] = time.perf_counter() - started
    assert "Running stage" not in again
    assert "Data and pipelines are up to date" in again

    run(["make", "test"], project, env=env)
    run(["make", "lint"], project, env=env)

    started = time.perf_counter()
    drift = run(["make", "drift"], project, env=env).stdout
    timings["drift"] = time.perf_counter() - started
    assert "drift: 20,000 new rows (synthetic window 1) vs 20,000 training rows" in drift
    for name in ("drift.json", "drift.md", "drift.html"):
        assert (project / "reports" / name).stat().st_size > 0
    run(
        [".venv/bin/pre-commit", "run", "--all-files"],
        project,
        env={**env, "PRE_COMMIT_HOME": str(tmp_path / "pre-commit")},
    )

    # The default remote is a folder next to the repository: push works offline.
    pushed = run([".venv/bin/dvc", "push"], project, env=env).stdout
    assert "2 files pushed" in pushed
    assert any((tmp_path / "customer-churn-dvc-storage").rglob("*"))

    # Everything the pipeline wrote is either committed or ignored.
    status = run(["git", "status", "--porcelain", "--untracked-files=all"], project).stdout
    committable = {line[3:] for line in status.splitlines()}
    assert committable == {name for name in OUTPUTS if not name.startswith(("data/", "models/"))}

    # The README's quick start as written (setup and repro have nothing left to do; it commits
    # the first run and activates .venv), then the plain commands the README names.
    commands = readme_block(project, "Quick start") + "\n".join(
        [
            "dvc metrics diff && dvc params diff && dvc push",
            "make report",
            "python -c \"import pandas as p; p.read_parquet('data/train.parquet').head(50)"
            ".to_csv('customers.csv', index=False)\"",
            "python -m customer_churn predict --model models/model.skops"
            " --input customers.csv --output scored.csv",
        ]
    )
    done = run(["bash", "-euo", "pipefail", "-c", commands], project, env=env).stdout
    assert "report: no remote 'origin' yet: comparing with the local branch 'main'" in done
    assert "predict: 50 rows scored with models/model.skops -> scored.csv" in done
    log = run(["git", "log", "--format=%s", "-1", "--", "dvc.lock"], project).stdout
    assert log.strip() == "First training run"

    # Re-locking (needs the package index) with nothing changed reproduces the shipped lock:
    # uv prefers the pins already in the output file, and the flags match scripts/lock.py.
    shipped = (project / "requirements.lock").read_text()
    run(["make", "lock"], project, env=env)
    assert (project / "requirements.lock").read_text() == shipped
    print(f"\nlifecycle timings (s): {json.dumps({k: round(v, 1) for k, v in timings.items()})}")
