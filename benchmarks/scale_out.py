"""The s3 + server bake against real local servers: DVC push/pull and MLflow server timings.

Starts the same servers as the scale-out tests (tests/servers.py: moto's S3 server,
a PostgreSQL cluster, `mlflow server` with artifacts on S3), bakes with
dvc_remote=s3 and mlflow_tracking=server, and measures, at each data size:
- `dvc push` to an empty remote prefix and `dvc pull` into an empty cache (sizes too);
and once, at the default size:
- the evaluate stage (which logs the run and the model) against the server and
  against SQLite, `promote` registering a first version (one run: it happens
  once), a `promote` with nothing to do, and `predict` loading
  `models:/<name>@champion`.
Other figures are medians of --runs runs (whole commands, imports included).

Usage: python benchmarks/scale_out.py [--runs 3] [--sizes 20000,1000000]
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

from results import record

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipeline import IDENTITY, QUIET, median, progress, set_rows, timed  # noqa: E402

from tests import servers  # noqa: E402
from tests.conftest import shared_env  # noqa: E402

BUCKET = "customer-churn-dvc"
PACKAGE = "customer_churn"
OUTPUTS = ["data/train.parquet", "models/model.skops"]


def seconds(command: list[str], cwd: Path, env: dict[str, str]) -> float:
    return timed(command, cwd, env)[0]


def bake(work: Path, endpoint: str) -> Path:
    subprocess.run(
        [sys.executable, "-m", "cookiecutter", "--no-input", "-o", str(work), str(ROOT),
         "dvc_remote=s3", "mlflow_tracking=server"],
        check=True, capture_output=True, env={**os.environ, **IDENTITY},
    )  # fmt: skip
    project = work / "customer-churn"
    subprocess.run(
        ["dvc", "remote", "modify", "--local", "storage", "endpointurl", endpoint],
        cwd=project, check=True, env=tool_env(project, {}),
    )  # fmt: skip
    return project


def tool_env(project: Path, extra: dict[str, str]) -> dict[str, str]:
    return {**shared_env(project), **QUIET, **extra}


def transfer(project: Path, env: dict[str, str], store: servers.ObjectStore, runs: int) -> dict:
    """Median push to an empty prefix and pull into an empty cache; the bytes stored."""
    pushes, pulls, sizes = [], [], []
    for run in range(runs):
        prefix = f"bench-{time.time_ns()}-{run}"
        url = ["dvc", "remote", "modify", "--local", "storage", "url", f"s3://{BUCKET}/{prefix}"]
        subprocess.run(url, cwd=project, env=env, check=True)
        pushes.append(seconds(["dvc", "push"], project, env))
        sizes.append(sum(store.objects(BUCKET, f"{prefix}/").values()))
        shutil.rmtree(project / ".dvc" / "cache")
        for path in OUTPUTS:
            (project / path).unlink()
        pulls.append(seconds(["dvc", "pull"], project, env))
    return {
        "push_s": median(pushes),
        "pull_s": median(pulls),
        "stored_mb": median(sizes) / 1e6,
        "files": len(OUTPUTS),
    }


def measure(runs: int, sizes: list[int]) -> dict:
    figures: dict = {"scale_out_runs": runs, "scale_out_transfer": {}}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder, servers.stack(Path(folder), BUCKET) as running:
        work, store, uri = Path(folder), running.store, running.tracking_uri
        figures["servers_ready_s"] = round(time.perf_counter() - started, 1)
        progress(f"servers ready in {figures['servers_ready_s']} s: {store.endpoint}, {uri}")

        project = bake(work, store.endpoint)
        env = tool_env(project, {**store.client_env(), "MLFLOW_TRACKING_URI": uri})

        seconds(["dvc", "repro"], project, env)  # a first run: not timed (cold caches)
        evaluate = ["dvc", "repro", "--force", "--single-item", "evaluate"]
        sqlite = {**env, "MLFLOW_TRACKING_URI": f"sqlite:///{work / 'mlflow.db'}"}
        for name, where in (("server", env), ("sqlite", sqlite)):
            figures[f"evaluate_{name}_s"] = median(
                [seconds(evaluate, project, where) for _ in range(runs)]
            )
        progress(
            f"evaluate stage: {figures['evaluate_server_s']} s logging to the server, "
            f"{figures['evaluate_sqlite_s']} s to SQLite"
        )
        promote = ["python", "-m", PACKAGE, "promote"]
        figures["promote_first_server_s"] = round(seconds(promote, project, env), 2)
        figures["promote_noop_server_s"] = median(
            [seconds(promote, project, env) for _ in range(runs)]
        )
        rows = work / "rows.parquet"
        shutil.copy(project / "data" / "train.parquet", rows)
        predict = ["python", "-m", PACKAGE, "predict", "--model", "models:/customer-churn@champion",
                   "--input", str(rows), "--output", str(work / "scored.parquet")]  # fmt: skip
        figures["predict_champion_server_s"] = median(
            [seconds(predict, project, env) for _ in range(runs)]
        )
        progress(
            f"promote: first {figures['promote_first_server_s']} s, nothing to do "
            f"{figures['promote_noop_server_s']} s; "
            f"predict {figures['predict_champion_server_s']} s"
        )
        for size in sizes:
            if size != 20_000:
                set_rows(project, size)
                seconds(["dvc", "repro", "ingest", "validate", "train"], project, env)
            figures["scale_out_transfer"][str(size)] = transfer(project, env, store, runs)
            progress(f"{size:,} rows: {figures['scale_out_transfer'][str(size)]}")
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sizes", default="20000,1000000")
    args = parser.parse_args()
    record(measure(args.runs, [int(size) for size in args.sizes.split(",")]), "scale-out")


if __name__ == "__main__":
    main()
