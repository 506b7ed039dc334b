"""Drift check at scale: the bake's detector against Evidently's DataDriftPreset, same data.

    python benchmarks/drift.py run [--rows N] [--runs K] [--evidently-runs K]

`run` bakes the default template, writes a reference and a current data set (N rows x 14
numeric + 6 categorical columns, some shifted by amounts on both sides of the thresholds),
then times each side in fresh processes and compares the per-column verdicts with the same
tests chosen on both sides (normalised Wasserstein for numeric, Jensen-Shannon for
categorical columns, threshold 0.1). Evidently runs in its own environment
(benchmarks/.venv-evidently, from requirements-evidently.lock): it is never a dependency of
the template. The figures are merged into benchmarks/results.json.

The `ours`, `evidently` and `generate` subcommands are what `run` calls in each process.
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

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
EVIDENTLY_PYTHON = HERE / ".venv-evidently" / "bin" / "python"
THRESHOLD = 0.1
# Mean shift of each numeric column, in units of its standard deviation. A pure shift moves
# the normalised Wasserstein distance by the same amount, so 0.09 and 0.11 sit either side
# of the threshold.
NUMERIC_SHIFTS = [0, 0, 0.02, 0.05, 0.08, 0.09, 0.11, 0.15, 0.2, 0.3, 0, 0.5, 0.04, 0]
CATEGORIES = [2, 3, 4, 5, 8, 12]
CATEGORICAL_TILTS = [0, 0.6, 0, 0.25, 0.05, 0.4]  # how far the current priors lean


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def generate(folder: Path, rows: int) -> None:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(7)

    def numeric(i: int, shift: float) -> np.ndarray:
        kind = i % 5
        if kind == 0:
            values = rng.normal(50, 10, rows)
            std = 10.0
        elif kind == 1:
            values = rng.lognormal(1.0, 0.6, rows)
            std = float(np.sqrt((np.exp(0.36) - 1) * np.exp(2 + 0.36)))
        elif kind == 2:
            values = rng.exponential(3.0, rows)
            std = 3.0
        elif kind == 3:
            values = rng.uniform(0, 100, rows)
            std = 100 / np.sqrt(12)
        else:
            values = rng.poisson(4.0, rows).astype(float)
            std = 2.0
        values = values + shift * std
        if i in (1, 6):  # a few missing values, which both sides leave out
            values[rng.random(rows) < 0.01] = np.nan
        return values

    def categorical(i: int, tilt: float) -> pd.Categorical:
        k = CATEGORIES[i]
        weights = np.linspace(1.0, 2.0, k) * (1 + tilt * np.linspace(-1, 1, k))
        codes = rng.choice(k, rows, p=weights / weights.sum())
        return pd.Categorical.from_codes(codes, [f"value_{j}" for j in range(k)])

    for name, current in (("reference", False), ("current", True)):
        frame = {
            f"num_{i:02d}": numeric(i, shift if current else 0.0)
            for i, shift in enumerate(NUMERIC_SHIFTS)
        }
        frame |= {
            f"cat_{i}": categorical(i, tilt if current else 0.0)
            for i, tilt in enumerate(CATEGORICAL_TILTS)
        }
        pd.DataFrame(frame).to_parquet(folder / f"{name}.parquet", index=False)


def columns() -> tuple[list[str], list[str]]:
    numeric = [f"num_{i:02d}" for i in range(len(NUMERIC_SHIFTS))]
    return numeric, [f"cat_{i}" for i in range(len(CATEGORIES))]


def ours(folder: Path, out: Path, package: str, params_file: Path) -> None:
    """Time the bake's drift check in this process (run with the bake's src on PYTHONPATH)."""
    started = time.perf_counter()
    import importlib

    import pandas as pd
    import yaml

    importlib.import_module(f"{package}.drift")  # what the drift command imports
    drift_stats = importlib.import_module(f"{package}.drift_stats")
    parse_params = importlib.import_module(f"{package}.params").parse_params
    imported = time.perf_counter()

    numeric, categorical = columns()
    raw = yaml.safe_load(params_file.read_text())
    raw["data"]["schema"] = {
        "target": "label",
        "numeric": {name: {} for name in numeric},
        "categorical": {name: [] for name in categorical},
        "segment": categorical[0],
    }
    raw["drift"] |= {
        "critical_columns": [],
        "thresholds": {
            kind: {"p_value": 0.05, "distance": THRESHOLD} for kind in ("numeric", "categorical")
        },
    }
    params = parse_params(raw)

    loading = time.perf_counter()
    reference = pd.read_parquet(folder / "reference.parquet")
    current = pd.read_parquet(folder / "current.parquet")
    loaded = time.perf_counter()
    result = drift_stats.check_columns(reference, current, params.data.schema_, params.drift)
    checked = time.perf_counter()
    out.write_text(
        json.dumps(
            {
                "import_s": imported - started,
                "load_s": loaded - loading,
                "check_s": checked - loaded,
                "peak_rss_mb": peak_rss_mb(),
                "columns": {
                    name: {"statistic": column["statistic"], "drifted": column["drifted"]}
                    for name, column in result.items()
                },
            }
        )
    )


def evidently(folder: Path, out: Path) -> None:
    """Time Evidently's DataDriftPreset in this process (run with Evidently's environment)."""
    started = time.perf_counter()
    import pandas as pd
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    imported = time.perf_counter()
    reference = pd.read_parquet(folder / "reference.parquet")
    current = pd.read_parquet(folder / "current.parquet")
    loaded = time.perf_counter()
    numeric, categorical = columns()
    definition = DataDefinition(numerical_columns=numeric, categorical_columns=categorical)
    preset = DataDriftPreset(
        num_method="wasserstein",
        num_threshold=THRESHOLD,
        cat_method="jensenshannon",
        cat_threshold=THRESHOLD,
    )
    snapshot = Report([preset]).run(
        current_data=Dataset.from_pandas(current, data_definition=definition),
        reference_data=Dataset.from_pandas(reference, data_definition=definition),
    )
    checked = time.perf_counter()
    verdicts = {}
    for metric in snapshot.dict()["metrics"]:
        config = metric["config"]
        if config["type"].endswith("ValueDrift"):  # Evidently's rule: drift when value >= threshold
            value = float(metric["value"])
            verdicts[config["column"]] = {
                "statistic": value,
                "drifted": value >= config["threshold"],
            }
    out.write_text(
        json.dumps(
            {
                "import_s": imported - started,
                "load_s": loaded - imported,
                "check_s": checked - loaded,
                "peak_rss_mb": peak_rss_mb(),
                "columns": verdicts,
            }
        )
    )


def _measure(command: list[str], env: dict[str, str], out: Path) -> dict:
    started = time.perf_counter()
    subprocess.run(command, env=env, check=True)
    result = json.loads(out.read_text())
    result["process_s"] = time.perf_counter() - started
    return result


def median(runs: list[dict], key: str) -> float:
    return round(statistics.median(run[key] for run in runs), 3)


def run(rows: int, runs: int, evidently_runs: int) -> dict:
    if not EVIDENTLY_PYTHON.is_file():
        sys.exit("benchmarks/.venv-evidently is missing: run `make bench-drift` (it builds it)")
    with tempfile.TemporaryDirectory(prefix="drift-bench-") as tmp:
        folder = Path(tmp)
        from cookiecutter.main import cookiecutter

        bake = Path(cookiecutter(str(ROOT), no_input=True, output_dir=str(folder / "bake")))
        package = next(path.name for path in (bake / "src").iterdir() if path.is_dir())
        print(f"drift bench: generating {rows:,} rows x 20 columns, twice", flush=True)
        subprocess.run([sys.executable, __file__, "generate", str(folder), str(rows)], check=True)
        env = {**os.environ, "PYTHONPATH": str(bake / "src")}
        out = folder / "out.json"
        ours_command = [sys.executable, __file__, "ours", str(folder), str(out), package]
        ours_command.append(str(bake / "params.yaml"))
        ours_runs = []
        for index in range(runs):
            ours_runs.append(_measure(ours_command, env, out))
            print(
                f"drift bench: ours run {index + 1}: {ours_runs[-1]['check_s']:.2f} s", flush=True
            )
        theirs = []
        evidently_command = [str(EVIDENTLY_PYTHON), __file__, "evidently", str(folder), str(out)]
        for index in range(evidently_runs):
            theirs.append(_measure(evidently_command, dict(os.environ), out))
            print(
                f"drift bench: Evidently run {index + 1}: {theirs[-1]['check_s']:.1f} s", flush=True
            )

    ours_columns, their_columns = ours_runs[0]["columns"], theirs[0]["columns"]
    agree = [
        ours_columns[name]["drifted"] == their_columns[name]["drifted"] for name in ours_columns
    ]
    largest_gap = max(
        abs(ours_columns[name]["statistic"] - their_columns[name]["statistic"])
        for name in ours_columns
    )
    check, load = median(ours_runs, "check_s"), median(ours_runs, "load_s")
    their_check, their_load = median(theirs, "check_s"), median(theirs, "load_s")
    return {
        "drift_rows": rows,
        "drift_columns": len(ours_columns),
        "drift_runs": runs,
        "drift_evidently_runs": evidently_runs,
        "drift_1m_rows_s": check,
        "drift_1m_rows_with_loading_s": round(check + load, 3),
        "drift_1m_rows_process_s": median(ours_runs, "process_s"),
        "drift_import_s": median(ours_runs, "import_s"),
        "drift_peak_rss_mb": median(ours_runs, "peak_rss_mb"),
        "evidently_drift_s": their_check,
        "evidently_drift_with_loading_s": round(their_check + their_load, 3),
        "evidently_process_s": median(theirs, "process_s"),
        "evidently_peak_rss_mb": median(theirs, "peak_rss_mb"),
        "drift_speedup_vs_evidently": round(their_check / check, 1),
        "drift_speedup_with_loading_vs_evidently": round(
            (their_check + their_load) / (check + load), 1
        ),
        "drift_agreement_vs_evidently": round(sum(agree) / len(agree), 4),
        "drift_largest_statistic_difference": float(f"{largest_gap:.3g}"),
        "drift_drifted_columns": sum(column["drifted"] for column in ours_columns.values()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    bench = commands.add_parser("run")
    bench.add_argument("--rows", type=int, default=1_000_000)
    bench.add_argument("--runs", type=int, default=3)
    bench.add_argument("--evidently-runs", type=int, default=1)
    generate_command = commands.add_parser("generate")
    generate_command.add_argument("folder", type=Path)
    generate_command.add_argument("rows", type=int)
    ours_command = commands.add_parser("ours")
    for name in ("folder", "out"):
        ours_command.add_argument(name, type=Path)
    ours_command.add_argument("package")
    ours_command.add_argument("params", type=Path)
    evidently_command = commands.add_parser("evidently")
    for name in ("folder", "out"):
        evidently_command.add_argument(name, type=Path)
    args = parser.parse_args()

    if args.command == "generate":
        generate(args.folder, args.rows)
    elif args.command == "ours":
        ours(args.folder, args.out, args.package, args.params)
    elif args.command == "evidently":
        evidently(args.folder, args.out)
    else:
        from results import record

        record(run(args.rows, args.runs, args.evidently_runs), "drift")


if __name__ == "__main__":
    main()
