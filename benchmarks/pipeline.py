"""Speed and scale of a default bake, from `cookiecutter` to a trained, reviewed model.

    python benchmarks/pipeline.py [--runs 3] [--sizes 10000,20000,100000,1000000]
                                  [--large-runs 1]

Bakes the default template into a temporary folder and measures, each a median of --runs
fresh processes unless said otherwise: bake; `dvc repro` from clean (no outputs, no cache,
no dvc.lock); a no-op `dvc repro`; every stage at each size of the synthetic source (wall
time and the stage process's peak RSS; sizes from 1M rows up are run --large-runs times);
the import time each stage pays; and the PR report. The figures are merged into
benchmarks/results.json.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from results import record

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
COOKIECUTTER = Path(sys.executable).parent / "cookiecutter"
STAGES = ["ingest", "validate", "train", "evaluate"]
IDENTITY = {  # for the bake's first commit when this machine has no git identity
    "GIT_AUTHOR_NAME": "bench",
    "GIT_AUTHOR_EMAIL": "bench@example.com",
    "GIT_COMMITTER_NAME": "bench",
    "GIT_COMMITTER_EMAIL": "bench@example.com",
}
QUIET = {
    "DVC_NO_ANALYTICS": "1",
    "ITERATIVE_DO_NOT_TRACK": "1",
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "GX_ANALYTICS_ENABLED": "false",
}


def timed(command: list[str], cwd: Path, env: dict[str, str] | None = None) -> tuple[float, float]:
    """Run `command`; return (wall seconds, peak RSS of the process in MB)."""
    with tempfile.TemporaryFile() as errors:
        started = time.perf_counter()
        process = subprocess.Popen(
            command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=errors
        )
        _, status, usage = os.wait4(process.pid, 0)  # the usage of this process alone
        wall = time.perf_counter() - started
        if os.waitstatus_to_exitcode(status) != 0:
            errors.seek(0)
            text = errors.read().decode(errors="replace")[-3000:]
            raise SystemExit(f"{' '.join(command)} failed in {cwd}:\n{text}")
    return wall, usage.ru_maxrss / 1024  # KiB on Linux


def median(values: list[float]) -> float:
    return round(statistics.median(values), 3)


def progress(text: str) -> None:
    print(f"bench: {text}", flush=True)


def set_rows(project: Path, rows: int) -> None:
    params = project / "params.yaml"
    text, count = re.subn(r"(?m)^(  rows: *)\d+", rf"\g<1>{rows}", params.read_text())
    if count != 1:
        raise SystemExit("params.yaml: expected one `rows:` line in the data section")
    params.write_text(text)


def clean(project: Path) -> None:
    """No outputs, no DVC cache, no dvc.lock, no tracking store: as after a fresh clone."""
    for path in ("data/train.parquet", "models/model.skops", "dvc.lock", "mlflow.db"):
        (project / path).unlink(missing_ok=True)
    shutil.rmtree(project / ".dvc" / "cache", ignore_errors=True)
    shutil.rmtree(project / ".dvc" / "tmp", ignore_errors=True)


def import_seconds(command: list[str], cwd: Path, env: dict[str, str]) -> float:
    """What a command spends importing modules: the top-level entries of -X importtime."""
    done = subprocess.run(
        [command[0], "-X", "importtime", *command[1:]],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    total = 0
    for line in done.stderr.splitlines():
        parts = line.removeprefix("import time:").split("|")
        if len(parts) == 3 and parts[1].strip().isdigit() and not parts[2].startswith("  "):
            total += int(parts[1])  # cumulative microseconds of a top-level import
    return total / 1e6


def measure(runs: int, sizes: list[int], large_runs: int) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="pipeline-bench-") as tmp:
        folder = Path(tmp)
        env = {**IDENTITY, **os.environ, **QUIET}
        env.pop("VIRTUAL_ENV", None)

        bakes = []
        for index in range(runs):
            out = folder / f"bake-{index}"
            bakes.append(
                timed([str(COOKIECUTTER), "--no-input", "-o", str(out), str(ROOT)], folder)[0]
            )
        figures["bake_s"] = median(bakes)
        progress(f"bake {figures['bake_s']:.2f} s")
        project = next((folder / "bake-0").iterdir())
        package = next(path.name for path in (project / "src").iterdir() if path.is_dir())
        python = str(project / ".venv" / "bin" / "python")
        dvc = str(project / ".venv" / "bin" / "dvc")

        # The environment (how fast setup builds it is benchmarks/setup.py's business).
        timed(["make", "setup"], project, {**env, "UV": str(Path(sys.executable).parent / "uv")})

        repros, noops = [], []
        for _ in range(runs):
            clean(project)
            repros.append(timed([dvc, "repro"], project, env)[0])
            noops.append(timed([dvc, "repro"], project, env)[0])
        figures["repro_clean_s"], figures["noop_repro_s"] = median(repros), median(noops)
        progress(
            f"dvc repro from clean {figures['repro_clean_s']:.1f} s,"
            f" no-op {figures['noop_repro_s']:.2f} s"
        )

        subprocess.run(["git", "add", "-A"], cwd=project, check=True, env=env)
        subprocess.run(["git", "commit", "-qm", "Train"], cwd=project, check=True, env=env)
        report = [python, "-m", package, "report", "--base", "HEAD", "--out", str(folder / "r.md")]
        figures["report_s"] = median([timed(report, project, env)[0] for _ in range(runs)])
        progress(f"report {figures['report_s']:.2f} s")

        figures["import_s"] = {
            stage: round(import_seconds([python, "-m", package, stage], project, env), 2)
            for stage in STAGES
        }
        progress(f"imports per stage {figures['import_s']}")

        stages: dict[str, dict[str, dict[str, float]]] = {}
        for rows in sizes:
            set_rows(project, rows)
            walls: dict[str, list[float]] = {stage: [] for stage in STAGES}
            peaks: dict[str, list[float]] = {stage: [] for stage in STAGES}
            for _ in range(large_runs if rows >= 1_000_000 else runs):
                for stage in STAGES:
                    wall, peak = timed([python, "-m", package, stage], project, env)
                    walls[stage].append(wall)
                    peaks[stage].append(peak)
            stages[str(rows)] = {
                stage: {"wall_s": median(walls[stage]), "peak_rss_mb": median(peaks[stage])}
                for stage in STAGES
            }
            total = sum(stage["wall_s"] for stage in stages[str(rows)].values())
            progress(f"{rows:,} rows: {total:.1f} s {stages[str(rows)]}")
        figures["stages"] = stages

    def pipeline(rows: int) -> float:
        return round(sum(stage["wall_s"] for stage in stages[str(rows)].values()), 2)

    if "100000" in stages:
        figures["pipeline_100k_rows_s"] = pipeline(100_000)
    if "1000000" in stages:
        figures["pipeline_1m_rows_s"] = pipeline(1_000_000)
        figures["pipeline_1m_rows_peak_rss_mb"] = max(
            stage["peak_rss_mb"] for stage in stages["1000000"].values()
        )
        figures["validate_1m_rows_s"] = stages["1000000"]["validate"]["wall_s"]
    if "100000" in stages and "1000000" in stages:
        figures["pipeline_growth_1m_over_100k"] = round(
            figures["pipeline_1m_rows_s"] / figures["pipeline_100k_rows_s"], 2
        )
    figures["pipeline_runs"], figures["pipeline_large_runs"] = runs, large_runs
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sizes", default="10000,20000,100000,1000000")
    parser.add_argument("--large-runs", type=int, default=1)
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    record(measure(args.runs, sizes, args.large_runs), "pipeline")


if __name__ == "__main__":
    main()
