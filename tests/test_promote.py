"""Promote, rollback and predict on a baked repository with a real history,
against SQLite and against a real `mlflow server` on 127.0.0.1."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest

from .conftest import Trained, edit_yaml, lower_learning_rate, run, shared_env

pytestmark = pytest.mark.slow
PACKAGE, MODEL = "customer_churn", "customer-churn"  # the default bake's


def promote(
    project: Path, env: dict[str, str], *args: str, package: str = PACKAGE, check: bool = True
) -> dict:
    run(["python", "-m", package, "promote", *args], project, env=env, check=check)
    return json.loads((project / "reports/promotion.json").read_text())


def predict(
    project: Path, env: dict[str, str], output: Path, package: str = PACKAGE, model: str = MODEL
) -> None:
    """Score the training snapshot with the champion, loaded from the registry by skops."""
    run(
        ["python", "-m", package, "predict", "--model", f"models:/{model}@champion",
         "--input", "data/train.parquet", "--output", str(output)],
        project, env=env,
    )  # fmt: skip


def store(env: dict[str, str]) -> Any:
    """The registry the commands run with `env` use, read in this process: a read costs no
    Python and MLflow start-up."""
    from mlflow import MlflowClient

    return MlflowClient(tracking_uri=env["MLFLOW_TRACKING_URI"])


def versions(env: dict[str, str], model: str = MODEL) -> dict[str, str]:
    """alias -> version, and the number of versions, read back from the registry."""
    client = store(env)
    aliases = client.get_registered_model(model).aliases
    count = len(client.search_model_versions(f"name='{model}'"))
    return {**{alias: str(number) for alias, number in aliases.items()}, "count": count}


@pytest.fixture(scope="module")
def project(trained_bake: Trained, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return trained_bake("classification", tmp_path_factory.mktemp("promote"))


def test_promotion_lifecycle_on_sqlite(project: Path) -> None:
    env = shared_env(project)
    first = promote(project, env)
    assert first["promoted"] is True and first["version"] == "1" and first["champion"] is None
    assert set(first) >= {
        "promoted",
        "model_name",
        "version",
        "alias",
        "reason",
        "candidate",
        "champion",
    }
    again = promote(project, env)
    assert again["promoted"] is True and "already the champion" in again["reason"]
    assert versions(env) == {"champion": "1", "count": 1}

    # A much worse model is held back; --strict makes that fail the job.
    edit_yaml(
        project / "params.yaml",
        lambda p: p["train"]["hyperparameters"].update(max_iter=1, learning_rate=0.01),
    )
    run(["dvc", "repro"], project, env=env)
    worse = promote(project, env)
    assert (
        worse["promoted"] is False
        and "held back" in worse["reason"]
        and "vs champion" in worse["reason"]
        and worse["comparison"]["roc_auc"]["verdict"] == "worse"  # on the candidate's rows
    )
    strict = run(["python", "-m", PACKAGE, "promote", "--strict"], project, env=env, check=False)
    assert strict.returncode == 1 and "held back and --strict" in strict.stderr
    assert versions(env) == {"champion": "1", "count": 1}
    run(["git", "checkout", "params.yaml"], project)

    # A new model whose segment gap exceeds the gate is held back too.
    def gap_rule(params: dict) -> None:
        params["train"]["hyperparameters"]["learning_rate"] = 0.09
        params["gate"]["max_segment_gap"] = 0.0001

    edit_yaml(project / "params.yaml", gap_rule)
    run(["dvc", "repro"], project, env=env)
    gap = promote(project, env)
    assert (
        gap["promoted"] is False and "segment gap" in gap["reason"] and "exceeds" in gap["reason"]
    )
    run(["git", "checkout", "params.yaml"], project)

    # A new model that passes moves champion, and previous to the old one.
    edit_yaml(project / "params.yaml", lower_learning_rate)
    run(["dvc", "repro"], project, env=env)
    run(["git", "commit", "-qam", "Lower the learning rate"], project)
    # A promotion that crashed after registering, before moving the alias...
    crash = (
        "import json; from mlflow import MlflowClient;"
        "from customer_churn import members, registry, tracking;"
        "from customer_churn.params import load_params; tracking.configure(); p = load_params();"
        + "; ".join(WORKSPACE_KEY.strip().splitlines())
        + ";"
        "registry.register(MlflowClient(), p, key, json.load(open('reports/metrics.json')))"
    )
    run(["python", "-c", crash], project, env=env)
    assert versions(env) == {"champion": "1", "count": 2}
    # ...is completed by the next run, without a duplicate version.
    second = promote(project, env)
    assert (
        second["promoted"] is True and second["version"] == "2" and second["champion"] is not None
    )
    assert versions(env) == {"champion": "2", "previous": "1", "count": 2}

    # Rollback is a revert: the same inputs give the same model identity, version 1 comes back.
    run(["git", "revert", "--no-edit", "HEAD"], project)
    run(["dvc", "repro"], project, env=env)
    back = promote(project, env)
    assert back["promoted"] is True and back["version"] == "1" and "rollback" in back["reason"]
    assert versions(env) == {"champion": "1", "previous": "2", "count": 2}

    # The emergency command swaps champion and previous, with the same report.
    run(["python", "-m", PACKAGE, "rollback"], project, env=env)
    swapped = json.loads((project / "reports/promotion.json").read_text())
    assert swapped["version"] == "2" and swapped["reason"].startswith("rollback:")
    assert versions(env) == {"champion": "2", "previous": "1", "count": 2}

    # The champion loads from the registry (its model.skops, safely) and scores a file.
    scored = project / "scored.csv"
    predict(project, env, scored)
    header = scored.read_text().splitlines()[0]
    assert header.endswith("score,prediction")

    # The drift check scores the labelled new window with the registry's champion.
    run(["python", "-m", PACKAGE, "drift"], project, env=env)
    performance = json.loads((project / "reports/drift.json").read_text())["performance"]
    assert performance["model"] == "models:/customer-churn@champion (version 2)"
    assert performance["reference"] == pytest.approx(swapped["candidate"]["roc_auc"], abs=1e-6)


def test_regression_promotion_lifecycle_on_sqlite(trained_bake: Trained, tmp_path: Path) -> None:
    """The gate of a task where lower is better: `gate.max_value` caps the error (mae)."""
    project = trained_bake("regression", tmp_path)
    package, model = project.name.replace("-", "_"), project.name  # the bake's defaults
    env = shared_env(project)
    first = promote(project, env, package=package)
    assert first["promoted"] is True and first["version"] == "1" and first["champion"] is None
    assert "mae" in first["candidate"] and "roc_auc" not in first["candidate"]
    assert versions(env, model) == {"champion": "1", "count": 1}

    # A much worse model (a far larger error) is held back; --strict makes that fail the job.
    edit_yaml(project / "params.yaml", lambda p: p["train"]["hyperparameters"].update(max_iter=5))
    run(["dvc", "repro"], project, env=env)
    worse = promote(project, env, package=package)
    assert worse["promoted"] is False and worse["candidate"]["mae"] > first["candidate"]["mae"]
    assert "held back" in worse["reason"] and "misses the maximum" in worse["reason"]
    assert "vs champion" in worse["reason"] and "on the same" in worse["reason"]
    strict = run(["python", "-m", package, "promote", "--strict"], project, env=env, check=False)
    assert strict.returncode == 1 and "held back and --strict" in strict.stderr
    assert versions(env, model) == {"champion": "1", "count": 1}

    # The champion forecasts from the registry; drift scores with it.
    scored = project / "scored.csv"
    predict(project, env, scored, package, model)
    assert scored.read_text().splitlines()[0].endswith(",forecast")
    run(["python", "-m", package, "drift"], project, env=env)
    performance = json.loads((project / "reports/drift.json").read_text())["performance"]
    assert performance["model"] == f"models:/{model}@champion (version 1)"
    assert performance["metric"] == "mae"
    assert performance["reference"] == pytest.approx(first["candidate"]["mae"], abs=1e-6)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(folder: Path, port: int) -> subprocess.Popen:
    mlflow = Path(sys.executable).parent / "mlflow"
    server = subprocess.Popen(
        [str(mlflow), "server", "--host", "127.0.0.1", "--port", str(port),
         "--backend-store-uri", f"sqlite:///{folder / 'server.db'}",
         "--artifacts-destination", str(folder / "artifacts"), "--workers", "1"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env={**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"},
    )  # fmt: skip
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                time.sleep(1)
                return server
        except OSError:
            time.sleep(0.5)
    server.kill()
    raise AssertionError("mlflow server did not start within 90 s")


def stop(server: subprocess.Popen) -> None:
    server.terminate()
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def test_promotion_against_a_real_server(project: Path, tmp_path: Path) -> None:
    port = free_port()
    env = {
        **shared_env(project),
        "MLFLOW_TRACKING_URI": f"http://127.0.0.1:{port}",
        "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0",
        "MLFLOW_HTTP_REQUEST_TIMEOUT": "5",
    }
    server = start_server(tmp_path, port)
    try:
        # A fresh server has no run for this model: promote logs it from models/ and reports/.
        started = time.perf_counter()
        first = promote(project, env)
        print(f"\npromote against the server: {time.perf_counter() - started:.1f} s")
        assert first["promoted"] is True and first["version"] == "1"
        out = tmp_path / "scored.parquet"
        predict(project, env, out)
        assert out.stat().st_size > 0
    finally:
        stop(server)

    # Server down: a clear error within seconds, nothing moved.
    started = time.perf_counter()
    down = run(["python", "-m", PACKAGE, "promote"], project, env=env, check=False)
    assert down.returncode == 1
    assert (
        "error: tracking store http://127.0.0.1" in down.stderr and "no alias moved" in down.stderr
    )
    assert time.perf_counter() - started < 60

    server = start_server(tmp_path, port)
    try:
        back = promote(project, env)
        assert back["version"] == "1" and "already the champion" in back["reason"]
        assert versions(env) == {"champion": "1", "count": 1}
    finally:
        stop(server)


def snapshot(project: Path) -> dict[str, bytes]:
    """Every file under models/, data/ and reports/, to show a refusal changed nothing."""
    return {
        str(path.relative_to(project)): path.read_bytes()
        for folder in ("models", "data", "reports")
        for path in sorted((project / folder).rglob("*"))
        if path.is_file()
    }


def refused(project: Path, env: dict[str, str]) -> str:
    """promote that must refuse: one line on stderr, exit 1, nothing in the workspace changed."""
    before = snapshot(project)
    done = run(["python", "-m", PACKAGE, "promote"], project, env=env, check=False)
    assert done.returncode == 1, done.stdout + done.stderr
    assert snapshot(project) == before
    [line] = done.stderr.strip().splitlines()
    return line


# The key of the workspace's model (members.key: its params, its rows, the code), as anyone
# who can read the repository can compute it.
WORKSPACE_KEY = """
import pathlib
from customer_churn.files import read_table
from customer_churn.members import code_hash, key as model_key, rows_hash
from customer_churn.params import load_params
rows = read_table(pathlib.Path("data/train.parquet"))
key = model_key(load_params(), rows_hash(rows), code_hash())
"""

POISON = f"""
import sys, mlflow, mlflow.sklearn
from pathlib import Path
from sklearn.dummy import DummyClassifier
from customer_churn.files import read_table
{WORKSPACE_KEY}
frame = read_table(Path("data/train.parquet"))
features, target = frame.drop(columns="churned"), frame["churned"]
model = DummyClassifier(strategy="constant", constant=0).fit(features, target)
mlflow.set_experiment("customer-churn")
with mlflow.start_run() as run:
    info = mlflow.sklearn.log_model(model, name="model", serialization_format="cloudpickle")
    mlflow.set_tags({{"model_key": key, "model_md5": sys.argv[1], "model_uri": info.model_uri}})
print(run.info.run_id)
"""

# Someone with write access to the store registers a pickled model under the key of the
# commit about to be promoted (anyone who can read the repository computes it), with forged
# tags. Unpickling it creates the file sys.argv[2].
PLANT = f"""
import sys, mlflow, mlflow.pyfunc
from mlflow import MlflowClient
{WORKSPACE_KEY}

class Payload:
    def __init__(self, marker):
        self.marker = marker
    def __reduce__(self):
        return (open, (self.marker, "w"))

class Planted(mlflow.pyfunc.PythonModel):
    def __init__(self, marker):
        self.payload = Payload(marker)
    def predict(self, context, model_input):
        return model_input.iloc[:, 0]

mlflow.set_experiment("customer-churn")
with mlflow.start_run() as run:
    info = mlflow.pyfunc.log_model(name="model", python_model=Planted(sys.argv[2]))
tags = {{"model_key": key, "model_md5": sys.argv[1],
        "was_champion": "true", "metric.roc_auc": "0.99"}}
planted = MlflowClient().create_model_version(
    "customer-churn", info.model_uri, run.info.run_id, tags=tags
)
print(planted.version)
"""

# `promote` killed where it calls sys.argv[1]: mlflow.log_artifacts or an MlflowClient method.
KILLED_AT = """
import os, sys, mlflow
from mlflow import MlflowClient
from customer_churn import promote
owner = mlflow if sys.argv[1] == "log_artifacts" else MlflowClient
setattr(owner, sys.argv[1], lambda *args, **kwargs: os._exit(9))
promote.main()
"""


def test_promote_registers_only_what_the_pipeline_built(
    trained_bake: Trained, tmp_path: Path
) -> None:
    project = trained_bake("classification", tmp_path / "bake")
    env = shared_env(project)

    # A run on the store with the model's key and md5 (both public in dvc.lock) is not used.
    md5 = hashlib.md5((project / "models/model.skops").read_bytes()).hexdigest()
    poisoned = run(["python", "-c", POISON, md5], project, env=env).stdout.split()[-1]
    # Two promotes at once register the model once, and both say so.
    both = [
        subprocess.Popen(["python", "-m", PACKAGE, "promote"], cwd=project, env=env, text=True,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        for _ in range(2)
    ]  # fmt: skip
    outputs = [process.communicate(timeout=300)[0] for process in both]
    assert [process.returncode for process in both] == [0, 0], outputs
    first = json.loads((project / "reports/promotion.json").read_text())
    assert first["promoted"] is True and first["version"] == "1"
    client = store(env)
    version = client.get_model_version(MODEL, "1")
    assert version.run_id != poisoned and version.tags["model_md5"] == md5
    assert versions(env) == {"champion": "1", "count": 1}
    # What is registered is the very file dvc.lock records, not a re-save of it.
    with tempfile.TemporaryDirectory() as folder:
        source = client.get_model_version_download_uri(MODEL, "1") + "/model.skops"
        fetched = mlflow_download(source, folder)
        assert hashlib.md5(fetched.read_bytes()).hexdigest() == md5

    # A model file that dvc.lock does not describe (an interrupted train, a hand copy).
    model = project / "models/model.skops"
    original = model.read_bytes()
    model.write_bytes(original + b"\0")
    line = refused(project, env)
    assert line.startswith("error: promote: models/model.skops (md5 ")
    assert "is not the model dvc.lock records" in line
    model.write_bytes(original)

    # A pipeline that is not up to date with params.yaml.
    edit_yaml(project / "params.yaml", lower_learning_rate)
    line = refused(project, env)
    assert line.startswith("error: promote: the pipeline is not up to date (dvc status: ")
    assert versions(env) == {"champion": "1", "count": 1}

    # B: a version planted under B's key is never promoted, nor loaded.
    run(["dvc", "repro"], project, env=env)
    run(["git", "commit", "-qam", "Lower the learning rate"], project)
    marker = tmp_path / "planted-code-ran"
    b_md5 = hashlib.md5(model.read_bytes()).hexdigest()
    planted = run(["python", "-c", PLANT, b_md5, str(marker)], project, env=env).stdout.split()[-1]
    marker.unlink()  # logging pickled it; from here on nothing may unpickle it
    # Killed while logging B's model: its run is left RUNNING, nothing registered or moved.
    killed = run(["python", "-c", KILLED_AT, "log_artifacts"], project, env=env, check=False)
    assert killed.returncode == 9
    assert versions(env) == {"champion": "1", "count": 2}
    # Killed after the alias moved, before the version was tagged.
    killed = run(
        ["python", "-c", KILLED_AT, "set_model_version_tag"], project, env=env, check=False
    )
    assert killed.returncode == 9
    assert f"version {planted} has this model's key but not the model dvc.lock" in killed.stderr
    assert "marked FAILED" in killed.stdout
    champion = client.get_model_version_by_alias(MODEL, "champion")
    b = str(champion.version)
    assert b not in ("1", planted) and "was_champion" not in champion.tags
    assert versions(env) == {"champion": b, "previous": "1", "count": 3}
    # The next run finds B the champion and finishes its tags.
    again = promote(project, env)
    assert again["version"] == b and "already the champion" in again["reason"]
    tags = client.get_model_version(MODEL, b).tags
    assert tags["was_champion"] == "true" and tags["promoted_from_commit"] == head(project)
    experiment = client.get_experiment_by_name(MODEL).experiment_id
    statuses = [r.info.status for r in client.search_runs([experiment], "tags.promote_host != ''")]
    assert statuses.count("FAILED") == 1 and "RUNNING" not in statuses

    # Re-running promote on the older commit A cannot take the champion back.
    run(["git", "checkout", "-q", "HEAD~1"], project)
    run(["dvc", "checkout", "--force"], project, env=env)
    line = refused(project, env)
    assert "does not descend from commit" in line and f"version {b} champion" in line
    assert versions(env) == {"champion": b, "previous": "1", "count": 3}

    # A revert is a new commit on top: it promotes, and version 1 comes back.
    run(["git", "checkout", "-q", "main"], project)
    run(["git", "revert", "--no-edit", "HEAD"], project)
    run(["dvc", "checkout", "--force"], project, env=env)
    back = promote(project, env)
    assert back["version"] == "1" and back["reason"].startswith("rollback to version 1")
    assert versions(env) == {"champion": "1", "previous": b, "count": 3}

    # The planted version made champion by hand: predict refuses it and drift uses the local
    # model, and neither runs its code.
    client.set_registered_model_alias(MODEL, "champion", planted)
    done = run(
        ["python", "-m", PACKAGE, "predict", "--model", f"models:/{MODEL}@champion",
         "--input", "data/train.parquet", "--output", str(tmp_path / "scored.csv")],
        project, env=env, check=False,
    )  # fmt: skip
    assert done.returncode == 1
    assert done.stderr.splitlines()[-1] == (
        f"error: predict: {MODEL} version {planted} has no model.skops: not registered by "
        "promote, and other formats are not loaded (they can run code)"
    )
    drift = run(["python", "-m", PACKAGE, "drift"], project, env=env)
    assert f"champion not available ({MODEL} version {planted} has no model.skops" in drift.stderr
    performance = json.loads((project / "reports/drift.json").read_text())["performance"]
    assert performance["model"] == "models/model.skops"
    # Nor can `rollback` move the alias to it.
    client.set_registered_model_alias(MODEL, "champion", "1")
    client.set_registered_model_alias(MODEL, "previous", planted)
    done = run(["python", "-m", PACKAGE, "rollback"], project, env=env, check=False)
    assert done.returncode == 1
    assert done.stderr.splitlines()[-1].startswith(
        f"error: rollback: {MODEL} version {planted} has no model.skops"
    )
    assert versions(env) == {"champion": "1", "previous": planted, "count": 3}
    assert not marker.exists() and not (tmp_path / "scored.csv").exists()


def head(project: Path) -> str:
    return run(["git", "rev-parse", "HEAD"], project).stdout.strip()


def mlflow_download(source: str, folder: str) -> Path:
    import mlflow.artifacts

    return Path(mlflow.artifacts.download_artifacts(artifact_uri=source, dst_path=folder))
