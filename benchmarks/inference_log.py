"""The inference log's cost and scale: `serve` without the log, with it in a folder and in
PostgreSQL; rows per second into each store; the drift job over 1M logged rows from each.

    python benchmarks/inference_log.py run [--seconds 10] [--runs 3]

`run` bakes and trains (`dvc repro`) the default template, starts PostgreSQL (tests/servers.py)
on 127.0.0.1 and edits the bake's params.yaml between runs. (1) `serve --model
models/model.skops` with `inference_log.store` off, folder and postgresql in turn, under
serve.py's load process (1-row requests at 32 clients, 100-row requests at 8, --seconds each):
requests/s, p50, p99, the overhead `1 - requests/s with the log / without`, and the rows in the
store against those scored (/metrics). (2) `store.append` of a 10,000-row frame shaped as serve
logs it, 20 times after an untimed first: rows/s. (3) 1M rows over the last 6 days (synthetic
windows 0 to 3, a label for 10%) in 10,000-row appends, then `python -m <package> drift` with
drift.current log, 7 days, 7 windows, persist 2: wall time, peak RSS (os.wait4). Medians of
--runs, into results.json. `append` and `fill` run in the bake (its src on PYTHONPATH).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import psycopg
import pyarrow.dataset as ds
import yaml
from results import record

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from pipeline import IDENTITY, QUIET, median, progress, timed  # noqa: E402
from serve import free_port, ready, stop  # noqa: E402

from tests import servers  # noqa: E402

MODEL, PACKAGE = "bench-log", "bench_log"
STORES = ["none", "folder", "postgresql"]
LOADS = [("single_32", 32, 1), ("batch_8", 8, 100)]
CHUNK, REPEATS, DRIFT_ROWS = 10_000, 20, 1_000_000


def set_params(project: Path, **sections: dict) -> None:
    params = yaml.safe_load((project / "params.yaml").read_text())
    for section, values in sections.items():
        params[section] |= values
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))


def count(project: Path, store: str, url: str, folder: str = "logs/inference") -> int:
    """Rows in the store's predictions table."""
    if store == "folder":
        path = project / folder / "predictions"
        return ds.dataset(path, format="parquet").count_rows() if path.is_dir() else 0
    with psycopg.connect(url) as connection:
        return connection.execute("SELECT count(*) FROM predictions").fetchone()[0]


def reset(project: Path, url: str) -> None:
    """An empty log in both stores."""
    shutil.rmtree(project / "logs", ignore_errors=True)
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("DROP TABLE IF EXISTS predictions, labels")


def scored_rows(port: int) -> int:
    """The rows serve scored, from its /metrics."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as answer:
        lines = answer.read().decode().splitlines()
    return int(sum(float(line.split()[-1]) for line in lines if line.startswith("serve_rows_")))


def serving(project: Path, env: dict, url: str, bodies: dict, args) -> dict:  # type: ignore[no-untyped-def]
    found: dict[str, dict[str, list]] = {store: {} for store in STORES}
    for run in range(args.runs):
        for store in STORES:  # in turn within a run: each sees the machine in the same state
            reset(project, url)
            set_params(project, inference_log={"store": store})
            port, log = free_port(), (project / "serve.log").open("w")
            command = [sys.executable, "-m", PACKAGE, "serve", "--model", "models/model.skops",
                       "--port", str(port)]  # fmt: skip
            process = subprocess.Popen(command, env=env, cwd=project, stdout=log, stderr=log)
            try:
                ready(port, "/ready", process)
                for key, clients, rows in LOADS:
                    load = [sys.executable, str(HERE / "serve.py"), "load", str(port), "/predict",
                            bodies[rows], str(clients), str(args.seconds)]  # fmt: skip
                    done = subprocess.run(load, capture_output=True, text=True, check=True)
                    found[store].setdefault(key, []).append(json.loads(done.stdout))
                scored = scored_rows(port)
            except (SystemExit, OSError, subprocess.CalledProcessError) as error:
                tail = (project / "serve.log").read_text()[-3000:]
                raise SystemExit(f"{store}: {error}\n{tail}") from None
            finally:
                stop(process)  # SIGTERM: serve writes what its log still holds
                log.close()
            logged = count(project, store, url) if store != "none" else 0
            found[store].setdefault("rows_logged", []).append(logged)
            found[store].setdefault("rows_scored", []).append(scored)
            said = ", ".join(f"{key} {found[store][key][-1]['requests_per_s']:.0f} req/s"
                             for key, _, _ in LOADS)  # fmt: skip
            progress(f"serve, run {run + 1}, {store}: {said}; {logged:,} of {scored:,} rows logged")
    results: dict[str, dict] = {}
    for store, loads in found.items():
        results[store] = {key: sum(loads.pop(key)) for key in ("rows_logged", "rows_scored")}
        results[store] |= {
            key: {field: statistics.median(run[field] for run in runs)
                  for field in ("requests_per_s", "p50_ms", "p99_ms")}
            | {"failed": sum(run["failed"] for run in runs)}
            for key, runs in loads.items()
        }  # fmt: skip
    return results


def appending(project: Path, env: dict, url: str, runs: int) -> dict:
    found: dict[str, list[float]] = {"folder": [], "postgresql": []}
    for run in range(runs):
        for store in found:
            reset(project, url)
            set_params(project, inference_log={"store": store})
            command = [sys.executable, __file__, "append", store]
            done = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True)
            if done.returncode:
                raise SystemExit(f"append to {store} failed:\n{done.stderr[-3000:]}")
            found[store].append(json.loads(done.stdout)["rows_per_s"])
            progress(f"append, run {run + 1}, {store}: {found[store][-1]:,.0f} rows/s")
    return {store: round(statistics.median(values)) for store, values in found.items()}


def drifting(project: Path, env: dict, url: str, runs: int) -> dict:
    set_params(project, drift={"current": "log", "log_days": 7, "windows": 7, "persist": 2})
    found = {}
    for store in ("folder", "postgresql"):
        reset(project, url)
        set_params(project, inference_log={"store": store})
        fill = timed([sys.executable, __file__, "fill", store], project, env)[0]
        progress(f"drift, {store}: {count(project, store, url):,} rows written in {fill:.0f} s")
        times = [timed([sys.executable, "-m", PACKAGE, "drift"], project, env) for _ in range(runs)]
        verdict = json.loads((project / "reports" / "drift.json").read_text())
        said = ", ".join(f"{wall:.2f} s {peak:.0f} MB" for wall, peak in times)
        progress(f"drift, {store}: {said}; retrain: {verdict['retrain']}, broken windows:"
                 f" {verdict['windows']['broken']}")  # fmt: skip
        walls, peaks = zip(*times, strict=True)
        found[store] = {"s": median(walls), "peak_rss_mb": round(statistics.median(peaks))}
    return found


def run(args) -> None:  # type: ignore[no-untyped-def]
    bin_dir = Path(sys.executable).parent
    with tempfile.TemporaryDirectory() as folder, servers.postgres("inference") as url:
        command = [bin_dir / "cookiecutter", "--no-input", "-o", folder, HERE.parent,
                   f"project_slug={MODEL}"]  # fmt: skip
        subprocess.run(command, check=True, capture_output=True, env={**os.environ, **IDENTITY})
        project = Path(folder) / MODEL
        env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
        env |= {**QUIET, "PATH": f"{bin_dir}:{env['PATH']}", "PYTHONPATH": str(project / "src"),
                "MLFLOW_TRACKING_URI": f"sqlite:///{project / 'mlflow.db'}",
                "INFERENCE_LOG_URL": url}  # fmt: skip
        subprocess.run(["dvc", "repro", "--quiet"], cwd=project, env=env, check=True)
        import pandas as pd

        frame = pd.read_parquet(project / "data/train.parquet").drop(columns=["churned"])
        bodies = {}
        for rows in (1, 100):
            records = json.loads(frame.head(rows).to_json(orient="records"))
            bodies[rows] = str(Path(folder) / f"body-{rows}.json")
            Path(bodies[rows]).write_text(json.dumps(records[0] if rows == 1 else records))
        served = serving(project, env, url, bodies, args)
        per_s = appending(project, env, url, args.runs)
        drift = drifting(project, env, url, args.runs)
    figures: dict[str, object] = {"inference_log_serve": served}
    for store in ("folder", "postgresql"):
        for key, _, _ in LOADS:
            with_log = served[store][key]["requests_per_s"]
            without = served["none"][key]["requests_per_s"]
            figures[f"inference_log_overhead_{store}_{key}"] = round(1 - with_log / without, 3)
        figures[f"inference_log_rows_per_s_{store}"] = per_s[store]
        figures[f"drift_log_1m_rows_{store}_s"] = drift[store]["s"]
        figures[f"drift_log_1m_rows_{store}_peak_rss_mb"] = drift[store]["peak_rss_mb"]
    record(figures, "inference_log")


def bake_store(store: str):  # type: ignore[no-untyped-def]
    """The store params.yaml names, from the bake's own package (cwd: the bake)."""
    import importlib

    inference_log = importlib.import_module(f"{PACKAGE}.inference_log")
    params = importlib.import_module(f"{PACKAGE}.params").load_params()
    assert params.inference_log.store == store, "params.yaml names another store"
    return inference_log, inference_log.open_store(params)


def log_frame(rows: int, window: int, start: float, span: float, seed: int):  # type: ignore[no-untyped-def]
    """`rows` log rows as serve writes them, of synthetic window `window`, served from `start`
    over `span` seconds; with the label (`churned`) kept for the labels table."""
    import importlib
    import uuid

    import numpy as np
    import pandas as pd

    synthetic = importlib.import_module(f"{PACKAGE}.synthetic")
    rng = np.random.default_rng([seed, window])
    frame = synthetic.generate(rows, window=window, seed=seed)
    for column in frame.select_dtypes("category"):  # JSON brings text, not categories
        frame[column] = frame[column].astype(str).astype(object)
    noise = 0.5 + 0.1 * window  # the served scores get worse as the rows drift
    frame["score"] = (1 - noise) * frame["churned"] + noise * rng.random(rows)
    frame["prediction"] = (frame["score"] >= 0.5).astype(float)
    frame["request_id"] = [uuid.uuid4().hex for _ in range(rows)]
    frame["row"] = 0
    micros = np.sort((start + span * rng.random(rows)) * 1e6).astype("int64")
    frame["time"] = pd.to_datetime(micros, unit="us", utc=True)
    frame["model"], frame["version"], frame["member"] = MODEL, "workspace", ""
    return frame


def append(store: str) -> None:
    inference_log, log = bake_store(store)
    frame = log_frame(CHUNK, 0, time.time() - 10, 10, seed=1).drop(columns=["churned"])
    log.append(inference_log.PREDICTIONS, frame)  # creates the tables; not timed
    started = time.perf_counter()
    for _ in range(REPEATS):
        log.append(inference_log.PREDICTIONS, frame)
    print(json.dumps({"rows_per_s": CHUNK * REPEATS / (time.perf_counter() - started)}))


def fill(store: str) -> None:
    """DRIFT_ROWS rows over the last 6 days in CHUNK-row appends, windows 0 to 3 in turn, and
    a label for every tenth row an hour after it was served."""
    import pandas as pd

    inference_log, log = bake_store(store)
    now, quarter = int(time.time()) - 299.5, 6 * 86400 / 4
    chunks_per_window = DRIFT_ROWS // CHUNK // 4
    for window in range(4):
        for chunk in range(chunks_per_window):
            span = quarter / chunks_per_window
            start = now - 6 * 86400 + window * quarter + chunk * span
            frame = log_frame(CHUNK, window, start, span, seed=chunk)
            log.append(inference_log.PREDICTIONS, frame.drop(columns=["churned"]))
            labels = frame.iloc[::10][["request_id", "row", "churned", "time"]]
            labels = labels.rename(columns={"churned": "label"})
            latest = pd.Timestamp(now, unit="s", tz="UTC")
            labels["time"] = (labels["time"] + pd.Timedelta(hours=1)).clip(upper=latest)
            log.append(inference_log.LABELS, labels)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    each = commands.add_parser("run")
    each.add_argument("--seconds", type=float, default=10)
    each.add_argument("--runs", type=int, default=3)
    for name in ("append", "fill"):
        commands.add_parser(name).add_argument("store", choices=STORES[1:])
    args = parser.parse_args()
    {"run": lambda: run(args), "append": lambda: append(args.store),
     "fill": lambda: fill(args.store)}[args.command]()  # fmt: skip


if __name__ == "__main__":
    main()
