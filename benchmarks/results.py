"""benchmarks/results.json (machine-readable) and RESULTS.md (the same figures, readable).

Each benchmark merges its figures into results.json with the machine, git revision and
date they were measured at; RESULTS.md is rewritten from results.json every time.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS_JSON = HERE / "results.json"
RESULTS_MD = HERE / "RESULTS.md"
STAGE_NAMES = ["ingest", "validate", "train", "evaluate"]

# key -> (what it is, unit); figures not listed here are still kept in results.json
DESCRIPTIONS = {
    "bake_s": ("bake the default template (cookiecutter, git init, first commit)", "s"),
    "setup_uv_warm_s": ("`make setup` (uv on PATH), warm uv cache", "s"),
    "setup_uv_cold_s": ("the same, empty uv cache (every package downloaded)", "s"),
    "setup_bootstrap_warm_s": ("`make setup` with no uv on PATH (locked uv via pip first)", "s"),
    "setup_pip_warm_s": ("the same lock with pip (setup before uv), warm pip cache", "s"),
    "setup_pip_cold_s": ("the same, filling pip's cache", "s"),
    "setup_speedup_uv_vs_pip": ("uv over pip, warm caches, same lock, same run", "x"),
    "venv_uv_mb": ("size of the .venv uv builds (no bytecode)", "MB"),
    "venv_pip_mb": ("size of the .venv pip builds (with bytecode)", "MB"),
    "setup_uv_bytecode_warm_s": ("`make setup` with UV_COMPILE_BYTECODE=1, warm cache", "s"),
    "venv_uv_bytecode_mb": ("size of that .venv", "MB"),
    "repro_first_after_setup_s": ("first `dvc repro` from clean after setup (no bytecode)", "s"),
    "repro_second_after_setup_s": ("second `dvc repro` from clean (bytecode written)", "s"),
    "repro_first_after_bytecode_setup_s": ("first `dvc repro` after a compiling setup", "s"),
    "pr_workflow_act_s": ("the PR workflow (both jobs) under act, end to end", "s"),
    "repro_clean_s": ("`dvc repro` from clean, default 20k rows", "s"),
    "noop_repro_s": ("`dvc repro` with nothing to do", "s"),
    "report_s": ("PR report (`report --base HEAD`)", "s"),
    "pipeline_100k_rows_s": ("the four stages at 100k rows", "s"),
    "pipeline_1m_rows_s": ("the four stages at 1M rows", "s"),
    "pipeline_1m_rows_peak_rss_mb": ("largest stage peak RSS at 1M rows", "MB"),
    "pipeline_growth_1m_over_100k": ("time at 1M rows over time at 100k rows", "x"),
    "validate_1m_rows_s": ("Great Expectations validation stage at 1M rows", "s"),
    "drift_1m_rows_s": ("drift check, 1M rows x 20 columns (see below), data in memory", "s"),
    "drift_1m_rows_with_loading_s": ("the same, reading both Parquet files first", "s"),
    "drift_1m_rows_process_s": ("the same, whole process (imports included)", "s"),
    "drift_peak_rss_mb": ("peak RSS of that process", "MB"),
    "evidently_drift_s": ("Evidently DataDriftPreset, same data and tests, in memory", "s"),
    "evidently_drift_with_loading_s": ("the same, reading both Parquet files first", "s"),
    "evidently_process_s": ("the same, whole process (imports included)", "s"),
    "evidently_peak_rss_mb": ("peak RSS of that process", "MB"),
    "drift_speedup_vs_evidently": ("speed-up over Evidently, data in memory", "x"),
    "drift_speedup_with_loading_vs_evidently": ("speed-up over Evidently, with loading", "x"),
    "drift_agreement_vs_evidently": ("per-column verdicts that agree with Evidently", "share"),
    "drift_largest_statistic_difference": ("largest difference of a column's statistic", ""),
    "servers_ready_s": ("local S3 (moto), PostgreSQL and `mlflow server` up and answering", "s"),
    "evaluate_server_s": ("evaluate stage alone (logs the run and model), to the server", "s"),
    "evaluate_sqlite_s": ("the same, to a SQLite store", "s"),
    "promote_first_server_s": ("`promote` against the server: register version 1, move alias", "s"),
    "promote_noop_server_s": ("`promote` against the server when already champion", "s"),
    "predict_champion_server_s": ("`predict` 20k rows with `models:/<name>@champion` from it", "s"),
}
for _task in ("classification", "regression"):
    DESCRIPTIONS |= {
        f"inner_loop_{_task}_make_repro_s": (
            f"{_task}: `make repro` after a change of one learning rate (20k rows)",
            "s",
        ),
        f"inner_loop_{_task}_check_s": (f"{_task}: the params check alone", "s"),
        f"inner_loop_{_task}_train_s": (f"{_task}: the train stage alone", "s"),
        f"inner_loop_{_task}_evaluate_s": (
            f"{_task}: the evaluate stage alone (importance, MLflow run, no model)",
            "s",
        ),
    }

DESCRIPTIONS["fleet_single_model_repro_s"] = (
    "single model, 10k rows: `make repro` after a change of its learning rate",
    "s",
)
for _members in (10, 50, 200):
    _fleet = f"fleet of {_members} (10k rows each)"
    DESCRIPTIONS |= {
        f"fleet_{_members}_clean_repro_s": (f"{_fleet}: `make repro` from clean", "s"),
        f"fleet_{_members}_clean_per_member_s": (f"{_fleet}: the same, per member", "s"),
        f"fleet_{_members}_peak_rss_mb": (f"{_fleet}: peak RSS of that repro", "MB"),
        f"fleet_{_members}_noop_repro_s": (f"{_fleet}: `make repro` with nothing to do", "s"),
        f"fleet_{_members}_one_changed_repro_s": (
            f"{_fleet}: `make repro` after one member's learning rate changed",
            "s",
        ),
        f"fleet_{_members}_one_changed_over_single": (
            f"{_fleet}: the same over the single model's",
            "x",
        ),
        f"fleet_{_members}_report_s": (f"{_fleet}: the PR report", "s"),
        f"fleet_{_members}_comment_chars": (f"{_fleet}: the PR comment's length", "chars"),
        f"fleet_{_members}_promote_all_first_s": (f"{_fleet}: first `promote` (all)", "s"),
        f"fleet_{_members}_promote_one_s": (f"{_fleet}: `promote`, one member changed", "s"),
        f"fleet_{_members}_drift_s": (f"{_fleet}: `drift` over the fleet", "s"),
    }
for _rows in ("4000", "200000", "1000000"):
    DESCRIPTIONS[f"paired_primary_both_tasks_{_rows}_rows_s"] = (
        f"paired comparison, {int(_rows):,} rows: roc_auc (DeLong) + mae (delta, by week)",
        "s",
    )
    DESCRIPTIONS[f"paired_roc_auc_speedup_vs_scipy_{_rows}_rows"] = (
        f"paired roc_auc interval, {int(_rows):,} rows: DeLong over scipy's plain bootstrap",
        "x",
    )
SERVING_LOADS = {  # the serving benchmark's loads, by key
    "single_1": "1 client, one row per request",
    "single_8": "8 clients, one row per request",
    "single_32": "32 clients, one row per request",
    "batch_8": "8 clients, 100 rows per request",
}
for _key, _what in SERVING_LOADS.items():
    DESCRIPTIONS[f"serve_speedup_vs_mlflow_{_key}"] = (
        f"`serve` over `mlflow models serve`, requests/s, {_what}",
        "x",
    )
DESCRIPTIONS["serve_p99_over_mlflow_single_32"] = (
    "`serve` p99 latency over MLflow's, 32 clients, one row per request",
    "x",
)
DESCRIPTIONS["serve_ready_s"] = ("`serve`: start to ready (the champion from the registry)", "s")
DESCRIPTIONS["mlflow_serve_ready_s"] = ("`mlflow models serve`: start to ready", "s")
LOG_STORES = {"folder": "Parquet files in a folder", "postgresql": "PostgreSQL"}
for _store, _what in LOG_STORES.items():
    for _key in ("single_32", "batch_8"):
        DESCRIPTIONS[f"inference_log_overhead_{_store}_{_key}"] = (
            f"`serve` requests/s lost to the inference log in {_what}, {SERVING_LOADS[_key]}",
            "share",
        )
    DESCRIPTIONS[f"inference_log_rows_per_s_{_store}"] = (
        f"rows appended to the inference log in {_what}, 10,000-row writes",
        "rows/s",
    )
    DESCRIPTIONS[f"drift_log_1m_rows_{_store}_s"] = (
        f"`drift` (current: log, 7 windows) over 1M logged rows in {_what}, whole process",
        "s",
    )
    DESCRIPTIONS[f"drift_log_1m_rows_{_store}_peak_rss_mb"] = ("peak RSS of that process", "MB")
DESCRIPTIONS["fleet_per_member_200_over_10"] = (
    "fleet: clean repro time per member at 200 members over that at 10",
    "x",
)

# key, the target, whether lower values are better
TARGETS = [
    ("setup_uv_warm_s", 15, True),
    ("setup_speedup_uv_vs_pip", 8, False),
    ("pr_workflow_act_s", 60, True),
    ("pipeline_1m_rows_s", 90, True),
    ("pipeline_1m_rows_peak_rss_mb", 3072, True),
    ("pipeline_growth_1m_over_100k", 12, True),
    ("noop_repro_s", 3, True),
    ("repro_clean_s", 30, True),
    ("inner_loop_classification_make_repro_s", 6, True),
    ("inner_loop_regression_make_repro_s", 6, True),
    ("fleet_200_noop_repro_s", 5, True),
    ("fleet_200_one_changed_over_single", 2, True),
    ("fleet_per_member_200_over_10", 1.5, True),
    ("fleet_200_comment_chars", 65536, True),
    ("paired_primary_both_tasks_200000_rows_s", 2, True),
    ("serve_speedup_vs_mlflow_single_32", 5, False),
    ("serve_p99_over_mlflow_single_32", 0.333, True),
    ("serve_speedup_vs_mlflow_batch_8", 2, False),
    ("serve_ready_s", 5, True),
    ("inference_log_overhead_folder_single_32", 0.1, True),
    ("inference_log_overhead_folder_batch_8", 0.1, True),
    ("inference_log_overhead_postgresql_single_32", 0.1, True),
    ("inference_log_overhead_postgresql_batch_8", 0.1, True),
    ("drift_speedup_vs_evidently", 50, False),
    ("drift_agreement_vs_evidently", 0.95, False),
]


def machine() -> dict[str, object]:
    pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    return {
        "cores": os.cpu_count(),
        "memory_gb": round(pages / 2**30, 1),
        "python": platform.python_version(),
        "system": f"{platform.system()} {platform.machine()}",
    }


def revision() -> str:
    done = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=HERE, capture_output=True, text=True
    )
    return done.stdout.strip() or "unknown"


def record(figures: dict[str, object], benchmark: str) -> None:
    """Merge `figures` into results.json, noting when and at which revision `benchmark` ran."""
    results = json.loads(RESULTS_JSON.read_text()) if RESULTS_JSON.is_file() else {}
    results.update(figures)
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    results.update(machine=machine(), git_revision=revision(), measured_at=now)
    results.setdefault("runs", {})[benchmark] = {"git_revision": revision(), "measured_at": now}
    RESULTS_JSON.write_text(json.dumps(results, indent=2) + "\n")
    RESULTS_MD.write_text(markdown(results))
    print(
        f"results: {RESULTS_JSON.relative_to(HERE.parent)}, {RESULTS_MD.relative_to(HERE.parent)}"
    )


def _load_rows(server: str, found: dict) -> list[str]:
    """A server's rows of a serving table: each load's requests/s, p50, p99, failures."""
    return [
        f"| {server} | {SERVING_LOADS[load]} | {entry['requests_per_s']:.0f} |"
        f" {entry['p50_ms']:.1f} ms | {entry['p99_ms']:.1f} ms | {entry['failed']} |"
        for load, entry in found.items()
        if load in SERVING_LOADS
    ]


def markdown(results: dict[str, object]) -> str:
    box = results["machine"]
    runs = results.get("runs") or {"all": results}
    when = "; ".join(
        f"{name} at {run['measured_at']} on revision `{run['git_revision']}`"
        for name, run in runs.items()
    )
    lines = [
        "# Benchmark results",
        "",
        f"Measured ({when}) on {box['cores']} cores, {box['memory_gb']} GB, Python"
        f" {box['python']}, {box['system']}. Written by `make bench`; medians of the runs"
        " stated.",
        "",
        "| figure | value | key |",
        "|---|---:|---|",
    ]
    for key, (text, unit) in DESCRIPTIONS.items():
        if key in results:
            value = results[key]
            if unit == "share":
                shown = f"{value:.1%}"
            else:
                shown = f"{value:.0f} {unit}" if value >= 100 else f"{value:.3g} {unit}".strip()
            lines.append(f"| {text} | {shown} | `{key}` |")
    targets = [(key, goal, lower) for key, goal, lower in TARGETS if key in results]
    if targets:
        lines += [
            "",
            "## Targets",
            "",
            "| figure | target | measured | met |",
            "|---|---:|---:|:---:|",
        ]
        for key, goal, lower in targets:
            value = results[key]
            met = value <= goal if lower else value >= goal
            bound = "at most" if lower else "at least"
            lines.append(f"| `{key}` | {bound} {goal:g} | {value:g} | {'yes' if met else 'no'} |")
    if "stages" in results:
        lines += ["", "## Stages by size (wall time, peak RSS of the stage's process)", ""]
        lines += ["| rows | " + " | ".join(STAGE_NAMES) + " | total |"]
        lines += ["|---:|" + "---:|" * (len(STAGE_NAMES) + 1)]
        for rows, stages in results["stages"].items():
            cells = [
                f"{stages[name]['wall_s']:.2f} s, {stages[name]['peak_rss_mb']:.0f} MB"
                for name in STAGE_NAMES
            ]
            total = sum(stages[name]["wall_s"] for name in STAGE_NAMES)
            lines.append(f"| {int(rows):,} | " + " | ".join(cells) + f" | {total:.1f} s |")
    if "paired_comparison" in results:
        lines += [
            "",
            "## Paired comparison by size (time, peak RSS of the process; both models)",
            "",
            "| rows | comparison | method | time | peak RSS |",
            "|---:|---|---|---:|---:|",
        ]
        for rows, entries in results["paired_comparison"].items():
            lines += [
                f"| {int(rows):,} | {what} | {found['method']} | {found['seconds']:.3f} s"
                f" | {found['peak_rss_mb']} MB |"
                for what, found in entries.items()
            ]
    if "serving" in results:
        lines += [
            "",
            "## Serving (one worker process each; the same model, machine and load process)",
            "",
            "| server | load | requests/s | p50 | p99 | failed |",
            "|---|---|---:|---:|---:|---:|",
        ]
        for server, found in results["serving"].items():
            lines += _load_rows(server, found)
            lines.append(
                f"| {server} | ready after {found['ready_s']} s; peak RSS"
                f" {found['peak_rss_mb']} MB | | | | |"
            )
    if "inference_log_serve" in results:
        lines += [
            "",
            "## `serve` and its inference log (one worker; rows in the store after each run)",
            "",
            "| store | load | requests/s | p50 | p99 | failed |",
            "|---|---|---:|---:|---:|---:|",
        ]
        for store, found in results["inference_log_serve"].items():
            lines += _load_rows(store, found)
            lines.append(
                f"| {store} | {found['rows_logged']:,} of the {found['rows_scored']:,} rows scored"
                " in the store | | | | |"
            )
    if "scale_out_transfer" in results:
        lines += [
            "",
            "## DVC remote on the local S3 server (push to an empty prefix, pull into an empty"
            " cache)",
            "",
            "| rows | files | stored | push | pull |",
            "|---:|---:|---:|---:|---:|",
        ]
        for rows, figures in results["scale_out_transfer"].items():
            lines.append(
                f"| {int(rows):,} | {figures['files']} | {figures['stored_mb']:.2f} MB"
                f" | {figures['push_s']:.2f} s | {figures['pull_s']:.2f} s |"
            )
    if "import_s" in results:
        imports = ", ".join(
            f"{name} {seconds:g} s" for name, seconds in results["import_s"].items()
        )
        lines += ["", f"Import time each stage pays (`python -X importtime`): {imports}."]
    if "drift_rows" in results:
        lines += [
            "",
            f"Drift: {results['drift_rows']:,} rows x {results['drift_columns']} columns"
            f" ({results['drift_drifted_columns']} drifted), the bake's check"
            f" {results['drift_runs']} runs, Evidently {results['drift_evidently_runs']};"
            " both use the normalised Wasserstein distance for numeric and the Jensen-Shannon"
            " distance for categorical columns, threshold 0.1.",
        ]
    return "\n".join(lines) + "\n"
