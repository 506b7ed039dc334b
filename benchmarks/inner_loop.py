"""The inner loop: how long a change of one hyperparameter takes to reach updated metrics.

    python benchmarks/inner_loop.py [--runs 3] [--task classification|regression] [--template DIR]

Bakes the template (default: this checkout) into a temporary folder, builds its own .venv
(`make setup`), trains once, then changes `train.hyperparameters.learning_rate` --runs
times and times `make repro` (the params check, then `dvc repro` of train and evaluate,
the MLflow run included) and each stage's own process. Bytecode is written, as on a
user's machine (PYTHONDONTWRITEBYTECODE is unset). Prints medians; records them in
benchmarks/results.json under `inner_loop_<task>` (when --template is this checkout).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from results import record

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
RATES = ["0.2", "0.05", "0.15", "0.08", "0.12"]


def timed(command: list[str], cwd: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, cwd=cwd, env=env, check=True, capture_output=True)
    return time.perf_counter() - start


def set_rate(params: Path, rate: str) -> None:
    lines = params.read_text().splitlines(keepends=True)
    lines = [
        f"    learning_rate: {rate}\n" if line.strip().startswith("learning_rate:") else line
        for line in lines
    ]
    params.write_text("".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--task", default="classification")
    parser.add_argument("--template", type=Path, default=HERE.parent)
    args = parser.parse_args()
    env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    env.update({"DVC_NO_ANALYTICS": "1", "MLFLOW_DISABLE_TELEMETRY": "true"})
    env.update({"GX_ANALYTICS_ENABLED": "false", "GIT_AUTHOR_NAME": "bench"})
    env.update({"GIT_AUTHOR_EMAIL": "b@example.com", "GIT_COMMITTER_NAME": "bench"})
    env["GIT_COMMITTER_EMAIL"] = "b@example.com"
    with tempfile.TemporaryDirectory() as folder:
        answers = [f"task={args.task}"] if args.task != "classification" else []
        subprocess.run(
            [BIN / "cookiecutter", "--no-input", "-o", folder, args.template, *answers],
            check=True,
            env=env,
            capture_output=True,
        )
        [project] = [path for path in Path(folder).iterdir() if path.is_dir()]
        subprocess.run(["make", "setup", f"UV={shutil.which('uv') or BIN / 'uv'}"], cwd=project,
                       env=env, check=True, capture_output=True)  # fmt: skip
        print(f"inner loop ({args.task}): baked and set up; first repro...", flush=True)
        timed(["make", "repro"], project, env)
        package = next(path.name for path in (project / "src").iterdir() if path.is_dir())
        python = str(project / ".venv/bin/python")
        repro, stages = [], {"check": [], "train": [], "evaluate": []}
        for rate in RATES[: args.runs]:
            set_rate(project / "params.yaml", rate)
            repro.append(timed(["make", "repro"], project, env))
            for stage in stages:
                stages[stage].append(timed([python, "-m", package, stage], project, env))
            print(f"  learning_rate {rate}: make repro {repro[-1]:.1f} s", flush=True)
    prefix = f"inner_loop_{args.task}"
    figures = {f"{prefix}_make_repro_s": round(statistics.median(repro), 2)}
    figures.update(
        {f"{prefix}_{name}_s": round(statistics.median(v), 2) for name, v in stages.items()}
    )
    print(f"inner loop ({args.task}), medians of {args.runs}: {figures}")
    if args.template.resolve() == HERE.parent:  # another template (an older revision): print only
        record(figures, prefix)


if __name__ == "__main__":
    main()
