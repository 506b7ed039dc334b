"""The budget guard: a test that adds unbudgeted expensive work fails the run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .budget import classify, trained
from .conftest import TEMPLATE

pytest_plugins = ["pytester"]

LOG_OF_A_TRAINING_RUN = "Running stage 'ingest':\n...\nRunning stage 'train':\n..."


def test_processes_are_counted_by_what_they_are_and_what_they_printed() -> None:
    assert classify(["/venv/bin/python", "-m", "cookiecutter", "--no-input", "."]) == ["bakes"]
    assert classify(["unshare", "-rn", "/venv/bin/act", "push"]) == ["act_runs"]
    assert classify(["/venv/bin/mlflow", "server", "--port", "1"]) == ["servers"]
    assert classify(["python", "-m", "pytest", "-q"]) == ["bake_suites"]
    assert classify(["dvc", "repro"]) == []
    assert trained(["dvc", "repro"], LOG_OF_A_TRAINING_RUN) == 1
    assert trained(["dvc", "repro"], "Stage 'train' didn't change, skipping") == 0
    act_log = "[pr/train] Running stage 'train':\n[pr/main] Running stage 'train':\n[pr/train] x"
    assert trained(["act", "pull_request"], act_log) == 2
    assert trained(["make", "repro"], "Running stage 'members-1':\n> python -m x members") == 1


def test_an_unbudgeted_pipeline_fails_the_run(
    pytester: pytest.Pytester, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTHONPATH", str(TEMPLATE))  # for -p tests.budget
    budget = tmp_path / "budget.json"
    budget.write_text(json.dumps({"pipelines": 1}))
    pytester.makepyfile(
        f"""
        import subprocess, sys

        LOG = {LOG_OF_A_TRAINING_RUN!r}

        def run_pipeline():
            subprocess.run([sys.executable, "-c", "import sys; print(sys.argv[1])", LOG],
                           capture_output=True, text=True, check=True)

        def test_budgeted():
            run_pipeline()

        def test_new_and_unbudgeted():
            run_pipeline()
        """
    )
    result = pytester.runpytest_subprocess(
        "-p", "tests.budget", "--budget", str(budget), "-p", "no:cacheprovider"
    )
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        [
            "   2 of    1  pipelines that ran a train stage*",
            "OVER BUDGET: 2 pipelines, the budget * allows 1.*",
            "    1  *::test_budgeted",
            "    1  *::test_new_and_unbudgeted",
            "*2 passed*",
        ]
    )
