"""How fast a bake's environment is built, and what that costs later.

    python benchmarks/setup.py [--runs 3] [--pip-runs 1]

On a default bake, each a median of --runs unless said otherwise:
- `make setup` with a uv on PATH and a warm uv cache; the same with an empty cache (cold);
  the same with no uv on PATH (setup first installs the locked uv with pip);
- the same lock installed the way setup did before uv (`python -m venv`, then
  `pip install --require-hashes`), with a warm pip cache (--pip-runs, after one run that
  fills the cache), and the speed-up of uv over it;
- the size of each .venv;
- bytecode: `make setup` with UV_COMPILE_BYTECODE=1, and the first `dvc repro` from clean
  after a setup without and with compiled bytecode, next to a second one (bytecode written
  by the first): what compiling up front saves later;
- the PR workflow under act end to end (tests/workflows.py, against the fake GitHub).
The figures are merged into benchmarks/results.json.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from results import record

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from pipeline import COOKIECUTTER, IDENTITY, QUIET, clean, median, progress, timed  # noqa: E402

BIN = Path(sys.executable).parent
UV = BIN / "uv"


def size_mb(folder: Path) -> int:
    return round(sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 2**20)


def setup_times(project: Path, runs: int, env: dict[str, str], fresh_cache: Path | None = None):
    """`make setup` from no .venv, `runs` times; with `fresh_cache`, each from an empty cache."""
    times = []
    for index in range(runs):
        shutil.rmtree(project / ".venv", ignore_errors=True)
        if fresh_cache is not None:
            shutil.rmtree(fresh_cache, ignore_errors=True)
        times.append(timed(["make", "setup"], project, env)[0])
        how = "uv on PATH" if env.get("UV") else "no uv on PATH"
        progress(f"make setup ({how}) run {index + 1}: {times[-1]:.1f} s")
    return times


def pip_setup(project: Path, env: dict[str, str]) -> float:
    """The environment as setup built it before uv: venv, then pip from the same lock."""
    shutil.rmtree(project / ".venv", ignore_errors=True)
    python = str(project / ".venv/bin/python")
    pip = [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    started = time.perf_counter()
    for command in (
        [shutil.which("python3", path=env["PATH"]) or "python3", "-m", "venv", ".venv"],
        [*pip, "--require-hashes", "--no-deps", "-r", "requirements.lock"],
        [*pip, "--no-deps", "--no-build-isolation", "-e", "."],
    ):
        subprocess.run(command, cwd=project, env=env, check=True, capture_output=True)
    return time.perf_counter() - started


def first_repros(project: Path, env: dict[str, str]) -> tuple[float, float]:
    """`dvc repro` from clean right after setup, then again from clean (bytecode now written)."""
    dvc = str(project / ".venv/bin/dvc")
    clean(project)
    first = timed([dvc, "repro"], project, env)[0]
    clean(project)
    second = timed([dvc, "repro"], project, env)[0]
    return first, second


def pr_workflow(folder: Path) -> float:
    """pr.yml under act, both jobs, on a bake with a trained main and a tuned branch."""
    from tests.conftest import bake, publish, train_main_then_branch
    from tests.fake_github import FakeGitHub
    from tests.workflows import pull_request_event, run_workflow

    os.environ.update({**IDENTITY, **QUIET})
    project = bake(folder / "act-bake")
    train_main_then_branch(project, "tune")
    subprocess.run(["git", "commit", "-qam", "Tune"], cwd=project, check=True)
    with FakeGitHub(folder / "github").serving() as github:
        publish(project, github, "main", "tune")
        pull = github.open_pull("tune")
        event = pull_request_event(project, base="main", head="tune", number=pull.number)
        started = time.perf_counter()
        result = run_workflow(
            project, "pr.yml", "pull_request", event, folder / "act", github=github
        )
        took = time.perf_counter() - started
        if result.returncode != 0 or len(github.comments_on(pull.number)) != 1:
            raise SystemExit(f"the PR workflow failed:\n{result.output[-3000:]}")
    return took


def measure(runs: int, pip_runs: int) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="setup-bench-") as tmp:
        folder = Path(tmp)
        base = {**IDENTITY, **os.environ, **QUIET}
        base.pop("VIRTUAL_ENV", None)
        base.pop("PYTHONDONTWRITEBYTECODE", None)  # as on a user's machine: bytecode is written
        # The machine's PATH without this environment's bin/, so that "no uv" means none.
        path = os.pathsep.join(p for p in base["PATH"].split(os.pathsep) if p != str(BIN))
        if shutil.which("uv", path=path):
            raise SystemExit(
                f"a uv outside this environment is on PATH: {shutil.which('uv', path=path)}"
            )
        cache = folder / "uv-cache"
        with_uv = {**base, "PATH": path, "UV": str(UV), "UV_CACHE_DIR": str(cache)}
        without_uv = {**base, "PATH": path, "UV_CACHE_DIR": str(cache)}
        subprocess.run(
            [str(COOKIECUTTER), "--no-input", "-o", str(folder / "bake"), str(ROOT)],
            cwd=folder, env=base, check=True, capture_output=True,
        )  # fmt: skip
        project = next((folder / "bake").iterdir())

        figures["setup_uv_cold_s"] = median(setup_times(project, runs, with_uv, cache))
        figures["setup_uv_warm_s"] = median(setup_times(project, runs, with_uv))
        figures["venv_uv_mb"] = size_mb(project / ".venv")
        figures["setup_bootstrap_warm_s"] = median(setup_times(project, runs, without_uv))

        pip_env = {**base, "PATH": path, "PIP_CACHE_DIR": str(folder / "pip-cache")}
        filling = pip_setup(project, pip_env)
        progress(f"pip, filling its cache: {filling:.0f} s")
        pips = [pip_setup(project, pip_env) for _ in range(pip_runs)]
        progress(f"pip, warm cache: {median(pips):.0f} s")
        figures["setup_pip_cold_s"] = round(filling, 1)
        figures["setup_pip_warm_s"] = median(pips)
        figures["venv_pip_mb"] = size_mb(project / ".venv")
        figures["setup_speedup_uv_vs_pip"] = round(
            figures["setup_pip_warm_s"] / figures["setup_uv_warm_s"], 1
        )

        setup_times(project, 1, with_uv)
        first, second = first_repros(project, with_uv)
        figures["repro_first_after_setup_s"], figures["repro_second_after_setup_s"] = (
            round(first, 1),
            round(second, 1),
        )
        compiled = {**with_uv, "UV_COMPILE_BYTECODE": "1"}
        figures["setup_uv_bytecode_warm_s"] = median(setup_times(project, runs, compiled))
        figures["venv_uv_bytecode_mb"] = size_mb(project / ".venv")
        figures["repro_first_after_bytecode_setup_s"] = round(first_repros(project, compiled)[0], 1)
        progress(f"first repro {first:.1f} s, second {second:.1f} s, after compiling "
                 f"{figures['repro_first_after_bytecode_setup_s']:.1f} s")  # fmt: skip

        figures["pr_workflow_act_s"] = round(pr_workflow(folder), 1)
        progress(f"PR workflow under act: {figures['pr_workflow_act_s']:.0f} s")
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--pip-runs", type=int, default=1)
    args = parser.parse_args()
    record(measure(args.runs, args.pip_runs), "setup")


if __name__ == "__main__":
    main()
