"""Smoke test: the four stages, as dvc.yaml runs them, in a temporary copy of the project."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from {{ cookiecutter.package_name }} import task

from .conftest import ROOT

PACKAGE = "{{ cookiecutter.package_name }}"
STAGES = ["ingest", "validate", "train", "evaluate"]


def run(stage: str, cwd: Path, **env_vars: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{cwd / 'mlflow.db'}", **env_vars}
    return subprocess.run(
        [sys.executable, "-m", PACKAGE, stage], cwd=cwd, env=env, capture_output=True, text=True
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    raw["data"]["rows"] = 3000
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(raw))
    return tmp_path


def test_stages_run_end_to_end(project: Path) -> None:
    for stage in STAGES:
        done = run(stage, project)
        assert done.returncode == 0, f"{stage} failed:\n{done.stdout}\n{done.stderr}"
        assert done.stdout.startswith(f"{stage}:")

    metrics = json.loads((project / "reports/metrics.json").read_text())
    assert metrics["{{ cookiecutter.primary_metric }}"] > 0
    assert "segment_gap" in metrics
    assert json.loads((project / "reports/validation.json").read_text())["success"] is True
    plots = [f"plots/{name}.json" for name in task.PLOTS]
    for name in ("segments.json", "model_card.md", "importance.json", *plots):
        assert (project / "reports" / name).stat().st_size > 0
    assert (project / "models/model.skops").stat().st_size > 0
    assert (project / "mlflow.db").stat().st_size > 0

    # An unreachable tracking server fails the stage quickly, with a readable message.
    done = run(
        "evaluate",
        project,
        MLFLOW_TRACKING_URI="http://127.0.0.1:9",
        MLFLOW_HTTP_REQUEST_MAX_RETRIES="0",
        MLFLOW_HTTP_REQUEST_TIMEOUT="5",
    )
    assert done.returncode == 1
    assert done.stderr.startswith("error: MLflow tracking at http://127.0.0.1:9 failed")
    assert "Traceback" not in done.stderr


def test_bad_data_stops_before_training(project: Path) -> None:
    assert run("ingest", project).returncode == 0
    snapshot = project / "data/train.parquet"
    frame = pd.read_parquet(snapshot)
    schema = yaml.safe_load((project / "params.yaml").read_text())["data"]["schema"]
    column = next(iter(schema["numeric"]))
    frame.loc[:20, column] = -5  # every numeric column of the synthetic source is at least 0
    frame.to_parquet(snapshot)

    done = run("validate", project)
    assert done.returncode == 1
    assert done.stderr.startswith("error: validation failed:")
    assert column in done.stderr
    report = json.loads((project / "reports/validation.json").read_text())
    assert report["success"] is False


def test_bad_params_stop_with_the_key_named(project: Path) -> None:
    params = project / "params.yaml"
    params.write_text(params.read_text().replace("test_size: 0.2", "test_size: big"))
    done = run("ingest", project)
    assert done.returncode == 1
    assert done.stderr.splitlines()[0].startswith("error: params.yaml: split.test_size")
    assert "Traceback" not in done.stderr


def test_missing_inputs_are_explained(project: Path) -> None:
    done = run("train", project)
    assert done.returncode == 1
    assert "data/train.parquet: file not found" in done.stderr


def test_help_lists_the_commands() -> None:
    done = subprocess.run([sys.executable, "-m", PACKAGE, "--help"], capture_output=True, text=True)
    assert done.returncode == 0
    for stage in STAGES:
        assert stage in done.stdout
