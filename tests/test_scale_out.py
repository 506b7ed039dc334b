"""Level 5: the s3 + server bake against real servers on 127.0.0.1.

An S3-compatible store (moto's server mode) is the DVC remote; a real
`mlflow server` keeps runs and the registry in PostgreSQL and artifacts in the
same store. The tests start the servers and stop them when the module ends.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd
import pytest

from . import servers
from .conftest import (
    DEFAULT_PACKAGE,
    DEFAULT_SLUG,
    bake,
    edit_yaml,
    lower_learning_rate,
    publish,
    run,
    shared_env,
)
from .fake_github import BOT, FakeGitHub, Pull
from .servers import Stack
from .workflows import REPOSITORY, WorkflowRun, pull_request_event, push_event, run_workflow, sha

pytestmark = pytest.mark.slow

BUCKET = f"{DEFAULT_SLUG}-dvc"  # the s3 bake's default remote: s3://customer-churn-dvc/store
MODEL = DEFAULT_SLUG


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with servers.stack(tmp_path_factory.mktemp("servers"), BUCKET) as started:
        yield started


def s3_bake(output: Path, stack: Stack, **answers: str) -> Path:
    """An s3 + server bake whose remote points at the local store (committed, as for MinIO)."""
    project = bake(output, dvc_remote="s3", mlflow_tracking="server", **answers)
    endpoint = ["dvc", "remote", "modify", "storage", "endpointurl", stack.store.endpoint]
    run(endpoint, project, env=shared_env(project))
    run(["git", "commit", "-qam", "Use the team's S3-compatible store"], project)
    return project


def project_env(project: Path, stack: Stack) -> dict[str, str]:
    # the store's endpoint comes from .dvc/config
    return {
        **shared_env(project),
        **stack.store.client_env(),
        "MLFLOW_TRACKING_URI": stack.tracking_uri,
    }


def trained_on_main(tmp_path: Path, stack: Stack, name: str, **answers: str) -> Path:
    """As a user would: an s3 bake named `name`, trained on main with the lock file committed,
    its data and models pushed to the store."""
    project = s3_bake(tmp_path / "bake", stack, project_name=name, **answers)
    stack.store.create_bucket(f"{project.name}-dvc")
    env = project_env(project, stack)
    run(["dvc", "repro"], project, env={**env, "MLFLOW_TRACKING_URI": "sqlite:///mlflow.db"})
    run(["git", "add", "-A"], project)
    run(["git", "commit", "-qm", "Train on main"], project)
    run(["dvc", "push"], project, env=env)
    return project


def run_promote(project: Path, stack: Stack, work: Path) -> WorkflowRun:
    """promote.yml for a push to main, with the server and the store's write keys as secrets."""
    keys = stack.store.client_env()
    result = run_workflow(
        project, "promote.yml", "push", push_event(project), work,
        secrets={
            "MLFLOW_TRACKING_URI": stack.tracking_uri,
            "AWS_ACCESS_KEY_ID": keys["AWS_ACCESS_KEY_ID"],
            "AWS_SECRET_ACCESS_KEY": keys["AWS_SECRET_ACCESS_KEY"],
        },
        variables={"AWS_REGION": servers.REGION},
        network=True,
    )  # fmt: skip
    assert result.returncode == 0, result.output[-6000:]
    return result


def run_pull_request(
    project: Path,
    stack: Stack,
    github: FakeGitHub,
    branch: str,
    change: Callable[[dict], None],
    work: Path,
) -> tuple[Pull, WorkflowRun]:
    """Commit `change` to params.yaml on a new `branch`, open its pull request and run pr.yml
    for it, with the store's keys as the read-only secrets."""
    run(["git", "switch", "-qc", branch], project)
    edit_yaml(project / "params.yaml", change)
    run(["git", "commit", "-qam", f"Change params.yaml ({branch})"], project)
    publish(project, github, "main", branch)
    pull = github.open_pull(branch)
    event = pull_request_event(project, base="main", head=branch, number=pull.number)
    keys = stack.store.client_env()
    read_only = {"AWS_READ_ACCESS_KEY_ID": keys["AWS_ACCESS_KEY_ID"],
                 "AWS_READ_SECRET_ACCESS_KEY": keys["AWS_SECRET_ACCESS_KEY"]}  # fmt: skip
    result = run_workflow(
        project, "pr.yml", "pull_request", event, work, secrets=read_only, github=github
    )
    assert result.returncode == 0, result.output[-6000:]
    return pull, result


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory, stack: Stack) -> Path:
    project = s3_bake(tmp_path_factory.mktemp("s3"), stack)
    run(["dvc", "repro"], project, env=project_env(project, stack))
    return project


def digests(project: Path, paths: list[str]) -> dict[str, str]:
    return {path: hashlib.md5((project / path).read_bytes()).hexdigest() for path in paths}


def test_pipeline_logs_runs_to_postgres_and_artifacts_to_the_store(
    trained: Path, stack: Stack
) -> None:
    import psycopg
    from mlflow import MlflowClient

    client = MlflowClient(stack.tracking_uri)
    experiment = client.get_experiment_by_name(MODEL).experiment_id
    runs = client.search_runs([experiment])
    assert len(runs) == 1
    metrics = json.loads((trained / "reports" / "metrics.json").read_text())
    assert runs[0].data.metrics["roc_auc"] == pytest.approx(metrics["roc_auc"])
    assert runs[0].info.artifact_uri.startswith("mlflow-artifacts:")  # served, no client keys

    with psycopg.connect(stack.database) as connection:
        query = "SELECT run_uuid FROM runs WHERE experiment_id = %s"
        stored = connection.execute(query, (int(experiment),)).fetchall()
    assert stored == [(runs[0].info.run_id,)]
    artifacts = stack.store.objects(BUCKET, "mlflow/")
    assert any(key.endswith("model_card.md") for key in artifacts), sorted(artifacts)
    # evaluate's run holds reports and plots; the model is logged by promote, which registers it.
    assert not any(key.endswith("/MLmodel") for key in artifacts), sorted(artifacts)


def test_dvc_push_then_pull_into_an_empty_cache(trained: Path, stack: Stack) -> None:
    env = project_env(trained, stack)
    outputs = ["data/train.parquet", "models/model.skops"]
    before = digests(trained, outputs)

    run(["dvc", "push", "--run-cache"], trained, env=env)
    stored = stack.store.objects(BUCKET, "store/")
    assert len(stored) >= len(outputs)
    assert "in sync" in run(["dvc", "status", "--cloud"], trained, env=env).stdout

    shutil.rmtree(trained / ".dvc" / "cache")
    for path in outputs:
        (trained / path).unlink()
    run(["dvc", "pull", "--run-cache"], trained, env=env)

    assert digests(trained, outputs) == before
    assert "up to date" in run(["dvc", "status"], trained, env=env).stdout


def test_promote_moves_the_alias_and_predict_loads_the_champion(
    trained: Path, stack: Stack, tmp_path: Path
) -> None:
    from mlflow import MlflowClient

    env = project_env(trained, stack)
    package = DEFAULT_PACKAGE
    run(["python", "-m", package, "promote"], trained, env=env)
    record = json.loads((trained / "reports" / "promotion.json").read_text())
    assert record["promoted"] is True and record["version"] == "1", record
    champion = MlflowClient(stack.tracking_uri).get_model_version_by_alias(MODEL, "champion")
    assert champion.version == "1"
    artifacts = stack.store.objects(BUCKET, "mlflow/")
    assert any(key.endswith("/MLmodel") for key in artifacts), sorted(artifacts)

    run(["python", "-m", package, "promote"], trained, env=env)  # a re-run registers nothing
    again = json.loads((trained / "reports" / "promotion.json").read_text())
    assert again["reason"] == "version 1 is already the champion", again
    assert len(MlflowClient(stack.tracking_uri).search_model_versions(f"name = '{MODEL}'")) == 1

    rows = tmp_path / "rows.csv"
    run(
        ["python", "-c", f"import pandas as pd; pd.read_parquet('data/train.parquet').head(50)"
         f".to_csv('{rows}', index=False)"],
        trained, env=env,
    )  # fmt: skip
    scored = tmp_path / "scored.csv"
    run(
        ["python", "-m", package, "predict", "--model", f"models:/{MODEL}@champion",
         "--input", str(rows), "--output", str(scored)],
        trained, env=env,
    )  # fmt: skip
    lines = scored.read_text().splitlines()
    assert len(lines) == 51 and lines[0].endswith(",score,prediction")


def test_workflows_pull_from_the_store_and_promote_into_the_server(
    tmp_path: Path, stack: Stack, github: FakeGitHub
) -> None:
    """promote.yml, then pr.yml, under act with the servers in their secrets and variables."""
    project = trained_on_main(tmp_path, stack, "Churn Act")
    result = run_promote(project, stack, tmp_path / "act")

    from mlflow import MlflowClient

    champion = MlflowClient(stack.tracking_uri).get_model_version_by_alias("churn-act", "champion")
    assert champion.version == "1"
    record = json.loads((result.artifacts / "promotion" / "promotion.json").read_text())
    assert record["promoted"] is True and record["model_name"] == "churn-act"
    assert "SQLite registry" not in result.output
    assert "was not reachable" not in result.output, result.output[-6000:]  # pull and push
    assert "2 files fetched" in result.output
    # Access keys, so the OIDC step was skipped; the image job built and pushed one image.
    assert [call["tool"] for call in result.calls] == ["docker"] * 3
    assert result.calls[-1]["args"] == ["push", f"ghcr.io/{REPOSITORY}:v1-{sha(project)[:12]}"]
    assert "S3 access keys for the DVC remote" in result.output

    # A pull request pulls main's data with the read-only keys, and trains.
    pull, result = run_pull_request(
        project, stack, github, "tune", lower_learning_rate, tmp_path / "act-pr"
    )
    assert "S3 access keys for the DVC remote" in result.output
    assert "was not reachable" not in result.output, result.output[-6000:]
    assert "2 files fetched" in result.output
    [comment] = github.comments_on(pull.number)
    assert comment.user == BOT and comment.body.startswith("## Model report: `churn-act`")


def slower_south(params: dict) -> None:
    params["fleet"]["members"]["south"] = {"train": {"hyperparameters": {"learning_rate": 0.05}}}


def test_a_fleet_fans_out_over_shard_jobs_and_gathers_one_report_and_one_promotion(
    tmp_path: Path, stack: Stack, github: FakeGitHub
) -> None:
    """A fleet bake's promote.yml and pr.yml under act: a plan job, one job per shard, and a
    gather job that promotes or reports from what the shards pushed and kept."""
    from mlflow import MlflowClient

    project = trained_on_main(tmp_path, stack, "Fleet Act", fleet="yes")
    client = MlflowClient(stack.tracking_uri)

    def promote(work: str) -> dict:
        result = run_promote(project, stack, tmp_path / work)
        assert "Matrix: map[stage:members-1]" in result.output
        assert "Matrix: map[stage:members-2]" in result.output
        assert "gather: 4 members from 2 stages (20 files)" in result.output
        assert "was not reachable" not in result.output and "SQLite registry" not in result.output
        record = json.loads((result.artifacts / "promotion" / "promotion.json").read_text())
        # The image holds each member's champion, named in champions.json with its version.
        champions = json.loads((result.artifacts / "champions" / "champions.json").read_text())
        members = ["east", "north", "south", "west"]
        for member in members:
            version = client.get_model_version_by_alias(f"fleet-act-{member}", "champion").version
            assert champions[f"fleet-act-{member}"] == version
        build = next(call for call in result.calls if call["args"][:1] == ["build"])
        files = ["models/champions.json", *(f"models/{member}.skops" for member in members)]
        assert sorted(build["files"]) == files
        assert f"ghcr.io/{REPOSITORY}:{sha(project)[:12]}" in build["args"]
        return record

    # On main: the shards pull their members' models from the store, so nothing retrains.
    first = promote("act-promote")
    assert sorted(first["promoted"]) == ["east", "north", "south", "west"], first
    for member in first["promoted"]:
        champion = client.get_model_version_by_alias(f"fleet-act-{member}", "champion")
        assert champion.version == "1" and champion.tags["member"] == member

    # A pull request slows south down: only its shard trains, and only south in it.
    pull, result = run_pull_request(
        project, stack, github, "south-rate", slower_south, tmp_path / "act-pr"
    )
    assert "Stage 'members-1' didn't change, skipping" in result.output
    assert "west: inputs unchanged, model kept" in result.output
    assert "south: roc_auc=" in result.output and "north: roc_auc=" not in result.output
    [comment] = github.comments_on(pull.number)
    assert comment.user == BOT
    assert comment.body.startswith("## Model report: `fleet-act` fleet (4 members)")
    assert "3 unchanged" in comment.body and "| south |" in comment.body
    assert "; 1 of 4 members retrained;" in comment.body
    override = "`fleet.members.south.train.hyperparameters.learning_rate`"
    assert f"| {override} | `0.1 (inherited)` | `0.05` |" in comment.body

    # Merged: south alone is promoted; the other members' champions are already theirs.
    run(["git", "switch", "-q", "main"], project)
    run(["git", "merge", "-q", "--ff-only", "south-rate"], project)
    second = promote("act-promote-2")
    assert second["promoted"] == ["south"], second
    assert second["unchanged"] == ["north", "east", "west"], second
    assert client.get_model_version_by_alias("fleet-act-south", "champion").version == "2"
    assert client.get_model_version_by_alias("fleet-act-north", "champion").version == "1"
    assert len(client.search_model_versions("name = 'fleet-act-north'")) == 1

    # Emergency, for one member: its champion goes back, the others stay.
    rollback = ["python", "-m", "fleet_act", "rollback", "--member", "south"]
    out = run(rollback, project, env=project_env(project, stack)).stdout
    assert "moved from version 2 to 1" in out
    assert client.get_model_version_by_alias("fleet-act-south", "champion").version == "1"
    assert client.get_model_version_by_alias("fleet-act-north", "champion").version == "1"


def metric(text: str, name: str) -> float:
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(name))


def test_the_inference_log_in_postgres_survives_an_outage_and_feeds_the_drift_job(
    trained: Path, stack: Stack, tmp_path: Path
) -> None:
    """serve logs to PostgreSQL through a relay that is cut for a while: every request is
    answered, the rows past the buffer are dropped and counted, the rest written once it is
    back. Labels come in bulk; the drift job judges the log with a login that may only read."""
    import psycopg

    from .test_serve import Server

    project = tmp_path / trained.name
    shutil.copytree(trained, project, symlinks=True)
    admin = stack.database.rsplit("/", 1)[0]
    with psycopg.connect(f"{admin}/postgres", autocommit=True) as connection:
        connection.execute("CREATE DATABASE inference")
        connection.execute("CREATE ROLE reader LOGIN")
    with psycopg.connect(f"{admin}/inference", autocommit=True) as connection:
        connection.execute("ALTER DEFAULT PRIVILEGES GRANT SELECT ON TABLES TO reader")

    def production(params: dict) -> None:
        params["inference_log"] = {"store": "postgresql", "buffer_rows": 200, "flush_seconds": 0.2}
        params["drift"] |= {"current": "log", "min_labelled_rows": 20}

    edit_yaml(project / "params.yaml", production)
    relay = servers.Outage(int(stack.database.rsplit(":", 1)[1].split("/")[0]))
    writer = f"postgresql://mlflow@{servers.HOST}:{relay.port}/inference"
    env = {**project_env(project, stack), "INFERENCE_LOG_URL": writer}
    rows = json.loads(
        pd.read_parquet(project / "data/train.parquet").head(10).to_json(orient="records")
    )
    server = Server.of(project, env, "--model", "models/model.skops")
    ids = []
    try:
        hostile = [{**rows[0], "contract": "a\u0000b"}, *rows[1:]]  # PostgreSQL refuses NUL
        for sent in [hostile] + [rows] * 9:  # 100 rows, written
            _status, body = server.call("/predict", sent)
            ids.append(body["request_id"])
        wait_for(lambda: metric(server.call("/metrics")[1], WRITTEN) == 100)
        relay.down()
        outage = [server.call("/predict", rows)[0] for _ in range(30)]  # 300 rows
        during = server.call("/metrics")[1]
        relay.up()
        # the writer retries with backoff up to 30 s apart: the next try may be that far off
        wait_for(lambda: metric(server.call("/metrics")[1], WRITTEN) == 300, seconds=90)
        after = server.call("/metrics")[1]
    finally:
        log = server.stop()
    assert outage == [200] * 30  # answered throughout
    assert metric(during, DROPPED) == 100  # 200 waited in the buffer; the rest were dropped
    assert metric(after, DROPPED) == 100 and metric(after, WRITTEN) == 300
    assert "cannot write to PostgreSQL" in log and "writing to PostgreSQL at" in log
    with psycopg.connect(f"{admin}/inference") as connection:
        [(stored,)] = connection.execute("SELECT count(*) FROM predictions").fetchall()
        [(kept,)] = connection.execute(
            "SELECT contract FROM predictions WHERE row = 0 AND contract LIKE 'a%'"
        ).fetchall()
    assert stored == 300  # answered 400 = written 300 + dropped 100
    assert kept == "a\ufffdb"

    labels = pd.DataFrame({"request_id": [*ids, "never-served"], "row": 0, "label": 1})
    labels.loc[::2, "label"] = 0
    labels.to_csv(project / "labels.csv", index=False)
    said = run(["python", "-m", DEFAULT_PACKAGE, "feedback", "labels.csv"], project, env=env)
    assert "10 label(s) of 10 request(s) recorded in PostgreSQL" in said.stdout
    assert "1 label(s) of 1 request id(s) the log does not hold" in said.stdout

    reader = {
        **env,
        "INFERENCE_LOG_URL": f"postgresql://reader@{servers.HOST}:{relay.port}/inference",
    }
    feedback = ["python", "-m", DEFAULT_PACKAGE, "feedback", "labels.csv"]
    denied = run(feedback, project, env=reader, check=False)
    assert denied.returncode == 1 and "permission denied" in denied.stderr  # it may only read
    run(["python", "-m", DEFAULT_PACKAGE, "drift"], project, env=reader)
    report = json.loads((project / "reports/drift.json").read_text())
    assert report["current"]["rows"] == 300 and "PostgreSQL" in report["current"]["source"]
    assert report["performance"]["judged"] is False  # 10 labelled rows; 20 are needed
    assert report["performance"]["rows"] == 10
    relay.down()


WRITTEN, DROPPED = (
    'serve_log_rows_total{outcome="written"}',
    'serve_log_rows_total{outcome="dropped"}',
)


def wait_for(done: Callable[[], bool], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not done():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)
