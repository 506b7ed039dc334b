"""Champion and candidate on the same rows: the paired comparison at 4,000, 200,000 and
1,000,000 test rows, time and peak memory, next to scipy.stats.bootstrap in the same run.

    python benchmarks/paired.py run [--sizes 4000 200000 1000000] [--runs 3]

`run` bakes both tasks of this checkout into a temporary folder, then times, each in a fresh
process, the comparison of two models' predictions of the same rows with the bake's own
code (task_stats + paired): the primary metric of each task (roc_auc by DeLong's method; mae
by the delta method with one block per week), average precision by the seeded Poisson
bootstrap (1,000 resamples); imports are not timed (one comparison of 2,000 rows runs
first); and the anchor: scipy.stats.bootstrap's paired percentile
interval of the roc_auc difference with scikit-learn's roc_auc_score, the plain way (1,000
resamples at 4,000 rows; at 200,000 rows 50 resamples, scaled to 1,000). The data are drawn
in the process before the clock starts. Medians of --runs; merged into results.json.

`one` is what `run` calls in each process.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from results import record

HERE = Path(__file__).resolve().parent
SIZES = [4_000, 200_000, 1_000_000]
ANCHOR_RESAMPLES = {4_000: 1000, 200_000: 50}  # scipy's plain bootstrap; none at 1M rows
# what -> (task, metric, method)
CASES = {
    "roc_auc": ("classification", "roc_auc", "analytic"),
    "mae": ("regression", "mae", "analytic"),
    "average_precision": ("classification", "average_precision", "bootstrap"),
    "scipy_roc_auc": ("classification", "roc_auc", "scipy"),
}


def data(task: str, rows: int) -> dict:
    """Truth and two related models' predictions; weeks of 400 rows for the regression."""
    import numpy as np

    generator = np.random.default_rng(11)
    if task == "classification":
        truth = generator.integers(0, 2, rows)
        shared = generator.normal(0, 0.25, rows)
        first = np.clip(0.5 + 0.21 * (truth - 0.5) + shared, 0.001, 0.999)
        second = np.clip(first + generator.normal(0, 0.05, rows), 0.001, 0.999)
        return {"truth": truth, "first": first, "second": second, "blocks": None}
    actual = generator.gamma(2.0, 10.0, rows)
    first = actual + generator.normal(0, 5, rows)
    return {
        "truth": actual,
        "first": first,
        "second": first + generator.normal(0.2, 1, rows),
        "blocks": np.arange(rows) // 400,
    }


def one(package: str, what: str, rows: int) -> dict:
    """Time one comparison in this process (the data drawn first); its interval and peak RSS."""
    import importlib

    task, metric, method = CASES[what]
    drawn = data(task, rows)
    if method == "scipy":
        from scipy import stats
        from sklearn.metrics import roc_auc_score

        resamples = ANCHOR_RESAMPLES[rows]
        start = time.perf_counter()
        found = stats.bootstrap(
            (drawn["truth"], drawn["first"], drawn["second"]),
            lambda y, a, b: roc_auc_score(y, a) - roc_auc_score(y, b),
            paired=True,
            vectorized=False,
            n_resamples=resamples,
            method="percentile",
            random_state=0,
        ).confidence_interval
        seconds = (time.perf_counter() - start) * 1000 / resamples
        low, high, used = found.low, found.high, f"scipy, {resamples} resamples, per 1,000"
    else:
        paired = importlib.import_module(f"{package}.paired")
        task_stats = importlib.import_module(f"{package}.task_stats")
        higher = importlib.import_module(f"{package}.task").METRICS[metric]
        model = type("Model", (), {"threshold": 0.5})()

        def compare(drawn: dict) -> object:
            sides = [
                task_stats.statistic(metric, drawn["truth"], drawn[side], model)
                for side in ("first", "second")
            ]
            strata = drawn["truth"] if task == "classification" else None
            return paired.compare(
                metric, higher, *sides, strata=strata, blocks=drawn["blocks"], resamples=1000
            )

        compare(data(task, 2000))  # scipy's imports (ranks, Student's t) are not timed
        start = time.perf_counter()
        found = compare(drawn)
        seconds = time.perf_counter() - start
        low, high, used = found.low, found.high, found.method
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"seconds": seconds, "peak_rss_mb": peak, "low": low, "high": high, "method": used}


def measure(bakes: dict[str, Path], what: str, rows: int, runs: int) -> dict:
    task = CASES[what][0]
    bake = bakes[task]
    package = next(path.name for path in (bake / "src").iterdir() if path.is_dir())
    env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPATH"] = str(bake / "src")
    found = []
    for _ in range(runs):
        command = [sys.executable, __file__, "one", package, what, str(rows)]
        done = subprocess.run(command, env=env, check=True, capture_output=True, text=True)
        found.append(json.loads(done.stdout))
    seconds = statistics.median(entry["seconds"] for entry in found)
    peak = max(entry["peak_rss_mb"] for entry in found)
    print(
        f"  {what} at {rows:,} rows: {seconds:.3f} s, peak {peak:.0f} MB"
        f" ({found[0]['method']}; interval {found[0]['low']:+.5f} to {found[0]['high']:+.5f})",
        flush=True,
    )
    return {"seconds": round(seconds, 3), "peak_rss_mb": round(peak), "method": found[0]["method"]}


def run(sizes: list[int], runs: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        bakes = {}
        for task in ("classification", "regression"):
            answers = [f"task={task}", f"project_slug=bench-{task}"]
            cookiecutter = Path(sys.executable).parent / "cookiecutter"
            command = [cookiecutter, "--no-input", "-o", folder, HERE.parent, *answers]
            subprocess.run(command, check=True, capture_output=True)
            bakes[task] = Path(folder) / f"bench-{task}"
        table: dict[str, dict] = {}
        for rows in sizes:
            for what in CASES:
                if CASES[what][2] == "scipy" and rows not in ANCHOR_RESAMPLES:
                    continue
                once = runs if rows < 1_000_000 or CASES[what][2] == "analytic" else 1
                table.setdefault(str(rows), {})[what] = measure(bakes, what, rows, once)
    figures: dict[str, object] = {"paired_comparison": table}
    for rows, entries in table.items():
        both = entries["roc_auc"]["seconds"] + entries["mae"]["seconds"]
        figures[f"paired_primary_both_tasks_{rows}_rows_s"] = round(both, 3)
        if "scipy_roc_auc" in entries:
            ratio = entries["scipy_roc_auc"]["seconds"] / entries["roc_auc"]["seconds"]
            figures[f"paired_roc_auc_speedup_vs_scipy_{rows}_rows"] = round(ratio, 1)
    record(figures, "paired")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    each = commands.add_parser("run")
    each.add_argument("--sizes", type=int, nargs="+", default=SIZES)
    each.add_argument("--runs", type=int, default=3)
    single = commands.add_parser("one")
    single.add_argument("package")
    single.add_argument("what", choices=list(CASES))
    single.add_argument("rows", type=int)
    args = parser.parse_args()
    if args.command == "one":
        print(json.dumps(one(args.package, args.what, args.rows)))
    else:
        run(args.sizes, args.runs)


if __name__ == "__main__":
    main()
