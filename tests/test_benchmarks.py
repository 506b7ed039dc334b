"""The drift benchmark's own pieces, on small data (the benchmark itself is `make bench-drift`)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from .conftest import DEFAULT_PACKAGE, TEMPLATE

SCRIPT = TEMPLATE / "benchmarks" / "drift.py"
sys.path.insert(0, str(SCRIPT.parent))

from results import markdown  # noqa: E402

# What results.json holds beside the figures: where and when they were measured.
MEASURED = {
    "machine": {"cores": 2, "memory_gb": 8.0, "python": "3.11.7", "system": "Linux"},
    "git_revision": "abc1234",
    "measured_at": "2026-11-28 06:00 UTC",
}


def test_the_drift_benchmark_measures_the_bakes_check(default_bake: Path, tmp_path: Path) -> None:
    subprocess.run([sys.executable, SCRIPT, "generate", tmp_path, "3000"], check=True)
    out = tmp_path / "out.json"
    command = [sys.executable, SCRIPT, "ours", tmp_path, out, DEFAULT_PACKAGE]
    env = {"PYTHONPATH": str(default_bake / "src"), "PATH": "/usr/bin:/bin"}
    subprocess.run([*command, default_bake / "params.yaml"], check=True, env=env)
    result = json.loads(out.read_text())
    assert len(result["columns"]) == 20
    assert result["columns"]["num_11"]["drifted"] is True  # shifted by half a std
    assert result["check_s"] > 0 and result["peak_rss_mb"] > 0

    table = markdown(
        {
            **MEASURED,
            "drift_1m_rows_s": 1.234,
            "drift_agreement_vs_evidently": 1.0,
            "scale_out_transfer": {
                "1000000": {"files": 2, "stored_mb": 12.4758, "push_s": 1.5, "pull_s": 1.44}
            },
        }
    )
    assert "| drift check, 1M rows x 20 columns (see below), data in memory | 1.23 s |" in table
    assert "| 100.0% | `drift_agreement_vs_evidently` |" in table
    assert "| 1,000,000 | 2 | 12.48 MB | 1.50 s | 1.44 s |" in table


def test_the_pipeline_benchmark_sets_sizes_and_counts_imports(
    default_bake: Path, tmp_path: Path
) -> None:
    import pipeline

    project = tmp_path / "project"
    project.mkdir()
    (project / "params.yaml").write_text((default_bake / "params.yaml").read_text())
    pipeline.set_rows(project, 1_000_000)
    params = (project / "params.yaml").read_text()
    assert "  rows: 1000000 " in params and "min_rows: 1000\n" in params
    seconds = pipeline.import_seconds([sys.executable, "-c", "import json"], tmp_path, {})
    assert 0 < seconds < 5


def test_the_paired_benchmark_times_the_bakes_comparison(default_bake: Path) -> None:
    script = TEMPLATE / "benchmarks" / "paired.py"
    env = {"PYTHONPATH": str(default_bake / "src"), "PATH": "/usr/bin:/bin"}
    command = [sys.executable, script, "one", DEFAULT_PACKAGE, "roc_auc", "3000"]
    found = json.loads(subprocess.run(command, check=True, env=env, capture_output=True).stdout)
    assert found["method"] == "DeLong" and found["low"] < found["high"]
    assert found["seconds"] > 0 and found["peak_rss_mb"] > 0
    table = markdown(
        {
            **MEASURED,
            "paired_primary_both_tasks_200000_rows_s": 0.167,
            "paired_comparison": {"4000": {"roc_auc": {**found, "seconds": 0.0031}}},
        }
    )
    assert "| 4,000 | roc_auc | DeLong | 0.003 s |" in table
    assert "| `paired_primary_both_tasks_200000_rows_s` | at most 2 | 0.167 | yes |" in table


def test_the_serving_benchmark_loads_a_server_from_its_own_process(tmp_path: Path) -> None:
    """The load process against a stand-in server on 127.0.0.1; the table of both servers."""
    import http.server
    import threading

    class Answer(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as both real servers

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(200 if self.path == "/predict" else 404)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Answer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    body = tmp_path / "body.json"
    body.write_text('{"x": 1}')
    script = TEMPLATE / "benchmarks" / "serve.py"
    try:
        port = str(server.server_address[1])
        command = [sys.executable, script, "load", port, "/predict", body, "4", "0.5"]
        found = json.loads(subprocess.run(command, check=True, capture_output=True).stdout)
        wrong = [sys.executable, script, "load", port, "/other", body, "1", "0.2"]
        missed = json.loads(subprocess.run(wrong, check=True, capture_output=True).stdout)
    finally:
        server.shutdown()
    assert found["requests_per_s"] > 0 and found["failed"] == 0
    assert 0 < found["p50_ms"] <= found["p99_ms"]
    assert missed["failed"] > 0
    single = {"requests_per_s": 812.0, "p50_ms": 36.5, "p99_ms": 125.7, "failed": 0}
    table = markdown(
        {
            **MEASURED,
            "serve_speedup_vs_mlflow_single_32": 11.3,
            "serving": {"serve": {"ready_s": 2.1, "peak_rss_mb": 210, "single_32": single}},
        }
    )
    assert "| serve | 32 clients, one row per request | 812 | 36.5 ms | 125.7 ms | 0 |" in table
    assert "| `serve_speedup_vs_mlflow_single_32` | at least 5 | 11.3 | yes |" in table
