"""`serve` against `mlflow models serve` on the same model, the same machine and the same
load generator, in one run.

    python benchmarks/serve.py run [--seconds 10] [--runs 3]

`run` bakes the default (classification) template of this checkout into a temporary folder,
trains it and promotes it into a SQLite registry, then starts each server in turn on
127.0.0.1 with one worker process: the bake's `serve` on `models:/<name>@champion` and
`mlflow models serve --env-manager local` on the same registered version. For each it
measures start-up to ready (first 200 from /ready, /ping for MLflow) and, from a load
process of its own (threads, one keep-alive connection each), single-row requests at 1, 8
and 32 clients and 100-row requests at 8 clients, each for --seconds: requests per second,
p50 and p99 latency, failed requests; and the server's peak RSS (its process tree's
VmHWM). Medians of --runs; merged into results.json.

`load` is the load process. Each run starts the server on a new port and waits until it
and its children have exited before the next.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from results import record

HERE = Path(__file__).resolve().parent
SCENARIOS = [("single", 1, 1), ("single", 8, 1), ("single", 32, 1), ("batch", 8, 100)]
MODEL = "bench-serve"


def load(port: int, path: str, body_file: str, clients: int, seconds: float) -> dict:
    """Send the body from `clients` threads for `seconds`; throughput and latencies."""
    body = Path(body_file).read_bytes()
    latencies: list[float] = []
    failed = [0]
    stop = time.monotonic() + seconds

    def client() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        mine = []
        while time.monotonic() < stop:
            start = time.perf_counter()
            try:
                connection.request("POST", path, body, {"Content-Type": "application/json"})
                response = connection.getresponse()
                response.read()
                failed[0] += response.status != 200
            except (OSError, http.client.HTTPException):  # counted; a new connection
                failed[0] += 1
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            mine.append(time.perf_counter() - start)
        latencies.extend(mine)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    began = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - began
    latencies.sort()
    return {
        "requests_per_s": round(len(latencies) / elapsed, 1),
        "p50_ms": round(latencies[len(latencies) // 2] * 1000, 1),
        "p99_ms": round(latencies[int(len(latencies) * 0.99)] * 1000, 1),
        "failed": failed[0],
    }


def tree(pid: int) -> list[int]:
    """The process and its descendants (MLflow's server runs uvicorn as a child)."""
    pids, found = [pid], []
    while pids:
        current = pids.pop()
        try:
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except OSError:
            continue
        found.append(current)
        pids += [int(child) for child in children]
    return found


def peak_rss_mb(pid: int) -> float:
    """The sum of VmHWM over the process and its descendants."""
    total = 0
    for each in tree(pid):
        status = Path(f"/proc/{each}/status").read_text()
        total += int(next(line.split()[1] for line in status.splitlines() if "VmHWM" in line))
    return round(total / 1024)


def stop(process: subprocess.Popen) -> None:
    """SIGTERM to the server and every descendant, then wait until all are gone: a child
    still shutting down would answer the next run's first requests."""
    pids = tree(process.pid)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    process.wait(60)
    deadline = time.monotonic() + 60
    while any(Path(f"/proc/{pid}").exists() for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.1)


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def ready(port: int, path: str, process: subprocess.Popen, limit: float = 180) -> float:
    start = time.monotonic()
    while time.monotonic() - start < limit:
        if process.poll() is not None:
            raise SystemExit(f"the server exited with {process.returncode}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", path)
            if connection.getresponse().status == 200:
                return time.monotonic() - start
        except OSError:
            pass
        time.sleep(0.05)
    raise SystemExit(f"not ready within {limit} s")


def measure(name: str, command: list[str], env: dict, bodies: dict, args) -> dict:  # type: ignore[no-untyped-def]
    probe, predict = ("/ready", "/predict") if name == "serve" else ("/ping", "/invocations")
    found: dict[str, list] = {}
    for _ in range(args.runs):
        port = free_port()  # a new one each run
        with Path(f"{name}.log").open("w") as log:  # in the bake's folder
            process = subprocess.Popen(
                [*command, "--port", str(port)], env=env, stdout=log, stderr=log
            )
            try:
                found.setdefault("ready_s", []).append(ready(port, probe, process))
                for kind, clients, rows in SCENARIOS:
                    body, seconds = bodies[(name, rows)], str(args.seconds)
                    generator = [sys.executable, __file__, "load", str(port), predict, body,
                                 str(clients), seconds]  # fmt: skip
                    done = subprocess.run(generator, capture_output=True, text=True)
                    if done.returncode != 0:
                        raise SystemExit(f"the load process failed: {done.stderr[-2000:]}")
                    found.setdefault(f"{kind}_{clients}", []).append(json.loads(done.stdout))
                found.setdefault("peak_rss_mb", []).append(peak_rss_mb(process.pid))
            except SystemExit as error:
                tail = Path(f"{name}.log").read_text()[-3000:]
                raise SystemExit(f"{name}: {error}\n{tail}") from None
            finally:
                stop(process)
    result: dict[str, object] = {
        "ready_s": round(statistics.median(found.pop("ready_s")), 2),
        "peak_rss_mb": max(found.pop("peak_rss_mb")),
    }
    for key, runs in found.items():
        result[key] = {
            field: statistics.median(run[field] for run in runs)
            for field in ("requests_per_s", "p50_ms", "p99_ms")
        } | {"failed": sum(run["failed"] for run in runs)}
        print(f"  {name} {key}: {result[key]}", flush=True)
    print(f"  {name}: ready in {result['ready_s']} s, peak RSS {result['peak_rss_mb']} MB")
    return result


def run(args) -> None:  # type: ignore[no-untyped-def]
    bin_dir = Path(sys.executable).parent
    with tempfile.TemporaryDirectory() as folder:
        command = [bin_dir / "cookiecutter", "--no-input", "-o", folder, HERE.parent,
                   f"project_slug={MODEL}"]  # fmt: skip
        subprocess.run(command, check=True, capture_output=True)
        project = Path(folder) / MODEL
        package = MODEL.replace("-", "_")
        env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
        env.update(PATH=f"{bin_dir}:{env['PATH']}", PYTHONPATH=str(project / "src"),
                   MLFLOW_TRACKING_URI=f"sqlite:///{project / 'mlflow.db'}",
                   GIT_AUTHOR_NAME="bench", GIT_AUTHOR_EMAIL="b@example.com",
                   GIT_COMMITTER_NAME="bench", GIT_COMMITTER_EMAIL="b@example.com")  # fmt: skip
        os.chdir(project)
        for step in (
            ["dvc", "repro", "--quiet"],
            ["git", "add", "dvc.lock", "reports"],
            ["git", "commit", "-qm", "Train"],
            ["python", "-m", package, "promote"],
        ):
            subprocess.run(step, env=env, check=True, capture_output=True)  # fmt: skip
        import pandas as pd

        frame = pd.read_parquet(project / "data/train.parquet").drop(columns=["churned"])
        bodies = {}
        for rows in (1, 100):
            records = json.loads(frame.head(rows).to_json(orient="records"))
            for name, body in (("serve", records), ("mlflow", {"dataframe_records": records})):
                path = Path(folder) / f"{name}-{rows}.json"
                path.write_text(json.dumps(body[0] if name == "serve" and rows == 1 else body))
                bodies[(name, rows)] = str(path)
        uri = f"models:/{MODEL}@champion"
        results = {}
        commands = {
            "serve": [sys.executable, "-m", package, "serve", "--model", uri],
            "mlflow": [str(bin_dir / "mlflow"), "models", "serve", "-m", uri, "--env-manager",
                       "local", "--host", "127.0.0.1", "--workers", "1"],
        }  # fmt: skip
        for name, command in commands.items():
            print(f"{name}:", flush=True)
            results[name] = measure(name, command, env, bodies, args)
    ours, theirs = results["serve"], results["mlflow"]
    figures: dict[str, object] = {"serving": results, "serve_ready_s": ours["ready_s"],
                                  "mlflow_serve_ready_s": theirs["ready_s"]}  # fmt: skip
    for key in ("single_1", "single_8", "single_32", "batch_8"):
        figures[f"serve_speedup_vs_mlflow_{key}"] = round(
            ours[key]["requests_per_s"] / theirs[key]["requests_per_s"], 1
        )
    figures["serve_p99_over_mlflow_single_32"] = round(
        ours["single_32"]["p99_ms"] / theirs["single_32"]["p99_ms"], 3
    )
    record(figures, "serve")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    each = commands.add_parser("run")
    each.add_argument("--seconds", type=float, default=10)
    each.add_argument("--runs", type=int, default=3)
    one = commands.add_parser("load")
    one.add_argument("port", type=int)
    one.add_argument("path")
    one.add_argument("body")
    one.add_argument("clients", type=int)
    one.add_argument("seconds", type=float)
    args = parser.parse_args()
    if args.command == "load":
        print(json.dumps(load(args.port, args.path, args.body, args.clients, args.seconds)))
    else:
        run(args)


if __name__ == "__main__":
    main()
