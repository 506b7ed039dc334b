"""`serve` on trained bakes, over real HTTP on 127.0.0.1: the registry's champion of each task
answers as `predict` does, a fleet routes each row to its member's champion, and an alias
move under load swaps the model with no failed request."""

from __future__ import annotations

import http.client
import json
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from .conftest import (
    Trained,
    edit_yaml,
    git_identity_env,
    lower_learning_rate,
    run,
    shared_env,
)
from .test_promote import free_port, promote
from .workflows import sha

pytestmark = pytest.mark.slow


class Server:
    """A serving process started with `command`, ready to answer on `port`."""

    def __init__(
        self, command: list[str], port: int, log: Path, cwd: Path | None = None,
        env: dict[str, str] | None = None,
    ) -> None:  # fmt: skip
        self.port, self.log = port, log
        with log.open("w") as stream:
            self.process = subprocess.Popen(command, cwd=cwd, env=env, stderr=stream)
        deadline = time.monotonic() + 60
        while self.call("/ready")[0] != 200:
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.process.kill()
                raise AssertionError(f"serve did not get ready:\n{log.read_text()}")
            time.sleep(0.2)

    @classmethod
    def of(cls, project: Path, env: dict[str, str], *args: str) -> Server:
        """`python -m <package> serve` in `project`."""
        port, package = free_port(), project.name.replace("-", "_")
        command = [sys.executable, "-m", package, "serve", "--port", str(port), *args]
        return cls(command, port, project / "serve.log", project, env)

    def call(self, path: str, body: Any = None) -> tuple[int, Any]:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            data = None if body is None else json.dumps(body).encode()
            connection.request("GET" if data is None else "POST", path, data)
            response = connection.getresponse()
            text = response.read().decode()
        except OSError:
            return 0, None
        is_json = "json" in response.headers.get("content-type", "")
        return response.status, json.loads(text) if is_json else text

    def stop(self) -> str:
        self.process.terminate()  # uvicorn finishes the requests in flight, then exits by it
        assert self.process.wait(timeout=30) in {0, -15}, self.log.read_text()
        return self.log.read_text()


def rows(project: Path, count: int, column: str | None = None) -> list[dict]:
    frame = pd.read_parquet(project / "data/train.parquet")
    if column:  # rows of different values of `column` (a fleet's members)
        frame = frame.groupby(column, observed=True).head(1)
    return json.loads(frame.head(count).to_json(orient="records"))


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_serve_answers_with_the_champion_as_predict_does(
    trained_bake: Trained, tmp_path: Path, task: str
) -> None:
    project = trained_bake(task, tmp_path)
    package, model = project.name.replace("-", "_"), project.name
    env = shared_env(project)
    assert promote(project, env, package=package)["version"] == "1"
    records = rows(project, 20)
    pd.DataFrame(records).to_csv(project / "rows.csv", index=False)
    champion = f"models:/{model}@champion"
    run(["python", "-m", package, "predict", "--model", champion, "--input", "rows.csv",
         "--output", "scored.csv"], project, env=env)  # fmt: skip
    columns = ["score", "prediction"] if task == "classification" else ["forecast"]
    expected = pd.read_csv(project / "scored.csv")[columns]

    server = Server.of(project, env)  # the default: the registry's champion
    try:
        status, body = server.call("/predict", records)
        bad = server.call("/predict", [records[0], {}])
        metrics = server.call("/metrics")[1]
        after = server.call("/predict", records[0])
    finally:
        log = server.stop()
    assert status == 200 and {p["version"] for p in body["predictions"]} == {"1"}
    assert {p["model"] for p in body["predictions"]} == {model}
    served = pd.DataFrame(body["predictions"])[columns]
    pd.testing.assert_frame_equal(served, expected, check_dtype=False)
    assert bad[0] == 422 and bad[1]["problems"][0]["row"] == 1  # the empty record
    assert after[0] == 200  # the refusal did not stop the server
    assert f'serve_model_info{{model="{model}",version="1"}} 1.0' in metrics
    assert f"{model} version 1 on http://127.0.0.1:{server.port}" in log


def test_a_fleet_routes_each_row_to_its_members_champion(
    trained_bake: Trained, tmp_path: Path
) -> None:
    project = trained_bake("fleet", tmp_path)
    env = shared_env(project)
    promoted = promote(project, env)["promoted"]
    assert len(promoted) >= 2
    records = rows(project, 10, column="region")
    server = Server.of(project, env)
    try:
        status, body = server.call("/predict", records)
        stranger = server.call("/predict", [{**records[0], "region": "atlantis"}])
    finally:
        server.stop()
    assert status == 200
    members = [f"{project.name}-{row['region']}" for row in records]
    assert [p["model"] for p in body["predictions"]] == members
    assert stranger[0] == 422 and stranger[1]["problems"][0]["column"] == "region"
    assert "'atlantis'" in stranger[1]["detail"]


def test_an_alias_move_under_load_swaps_the_model_and_fails_no_request(
    trained_bake: Trained, tmp_path: Path
) -> None:
    project = trained_bake("classification", tmp_path)
    env = shared_env(project)
    git_env = {**env, **git_identity_env()}
    promote(project, env)
    server = Server.of(project, env, "--poll", "0.5")
    answers: list[tuple[int, str | None]] = []
    stop = threading.Event()

    def load() -> None:
        records = rows(project, 5)
        while not stop.is_set():
            status, body = server.call("/predict", records)
            answers.append((status, body["predictions"][0]["version"] if status == 200 else None))

    clients = [threading.Thread(target=load) for _ in range(4)]
    try:
        for client in clients:
            client.start()
        edit_yaml(project / "params.yaml", lower_learning_rate)
        run(["dvc", "repro"], project, env=env)
        run(["git", "commit", "-qam", "Lower the learning rate"], project, env=git_env)
        assert promote(project, env)["version"] == "2"
        deadline = time.monotonic() + 60
        while (200, "2") not in answers[-20:] and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(1)
        # A version put in the registry by hand, holding another model than the one dvc.lock
        # records at the commit it names, is refused: the server keeps version 2.
        forged = forge(env, "customer-churn", copy_of="1", commit=sha(project))
        while "kept version 2" not in server.log.read_text() and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(1)
    finally:
        stop.set()
        for client in clients:
            client.join(60)
        metrics = server.call("/metrics")[1]
        log = server.stop()
    statuses = {status for status, _ in answers}
    assert statuses == {200}, f"{len(answers)} requests: {statuses}\n{log}"
    versions = [version for _, version in answers]
    first_new = versions.index("2")
    assert set(versions[:first_new]) == {"1"} and versions[-20:] == ["2"] * 20
    assert "serve: version 1 -> 2" in log
    assert f"warning: serve: kept version 2: customer-churn version {forged} is not the" in log
    assert 'serve_model_swaps_total{model="customer-churn",outcome="swapped"} 1.0' in metrics
    assert 'serve_model_swaps_total{model="customer-churn",outcome="refused"} 1.0' in metrics


def forge(env: dict[str, str], name: str, copy_of: str, commit: str) -> str:
    """A new version of `name` holding version `copy_of`'s files, tagged as built from
    `commit`, made champion: what anyone who can write to the registry could do."""
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=env["MLFLOW_TRACKING_URI"])
    old = client.get_model_version(name, copy_of)
    tags = {"git_commit": commit}
    forged = client.create_model_version(name, old.source, run_id=old.run_id, tags=tags)
    client.set_registered_model_alias(name, "champion", forged.version)
    return str(forged.version)


def test_a_sigterm_under_load_leaves_every_answered_request_in_the_log(
    trained_bake: Trained, tmp_path: Path
) -> None:
    """serve logs to its default store (Parquet files by day) while 4 clients keep it busy;
    SIGTERM stops it mid-stream: every row it answered is in the log afterwards."""
    project = trained_bake("classification", tmp_path)
    server = Server.of(project, shared_env(project), "--model", "models/model.skops")
    answered: list[tuple[str, int]] = []
    records = rows(project, 7)

    def load() -> None:
        while True:
            status, body = server.call("/predict", records)
            if status != 200:
                return  # stopping: no longer accepted
            answered.extend((body["request_id"], row) for row in range(len(records)))

    clients = [threading.Thread(target=load) for _ in range(4)]
    for client in clients:
        client.start()
    deadline = time.monotonic() + 30
    while len(answered) < 2_000 and time.monotonic() < deadline:
        time.sleep(0.05)
    log = server.stop()  # SIGTERM, with requests in flight
    for client in clients:
        client.join(30)
    logged = pd.read_parquet(project / "logs/inference/predictions")
    keys = set(zip(logged["request_id"], logged["row"], strict=True))
    assert len(answered) >= 2_000 and set(answered) <= keys, log
    assert len(keys) == len(logged)  # each row once
    assert "dropped" not in log
