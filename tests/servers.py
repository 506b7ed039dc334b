"""Real servers on 127.0.0.1 for the scale-out tests, started and stopped here.

- an S3-compatible object store: moto in server mode;
- a PostgreSQL cluster from the Debian packages (`.ci/run` installs them);
- `mlflow server` with its backend store in PostgreSQL and its artifacts in the
  object store, served through the tracking server (clients need no S3 keys).

Each server gets a free port and a log file, and is stopped when its context ends.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

BIN = Path(sys.executable).parent
HOST = "127.0.0.1"
REGION = "us-east-1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


@contextmanager
def server(
    args: list[str], log: Path, ready: Callable[[], bool], env: dict[str, str] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """Run `args` in its own process group until the block ends; wait (up to 120 s) for `ready`."""
    with log.open("wb") as out:
        process = subprocess.Popen(
            args, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
    try:
        deadline = time.monotonic() + 120
        while not ready():
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{args[0]} did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.3)
        yield process
    finally:
        stop_group(process)


def stop_group(process: subprocess.Popen[bytes]) -> None:
    """Stop the process and everything it started (its own session), even if it has exited."""
    for sig, wait in ((signal.SIGTERM, 20), (signal.SIGKILL, None)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            break
        try:
            process.wait(timeout=wait)
            if sig == signal.SIGTERM:
                time.sleep(0.5)  # children of the group may still be shutting down
        except subprocess.TimeoutExpired:
            continue


@dataclass(frozen=True)
class ObjectStore:
    endpoint: str

    def client_env(self) -> dict[str, str]:
        """A client's keys and region (moto accepts any key); the endpoint is given apart."""
        return {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": REGION,
        }

    def client(self):
        import boto3

        env = self.client_env()
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        )

    def create_bucket(self, name: str) -> None:
        self.client().create_bucket(Bucket=name)

    def objects(self, bucket: str, prefix: str = "") -> dict[str, int]:
        """Every object under `prefix`: key -> size in bytes."""
        found: dict[str, int] = {}
        pages = self.client().get_paginator("list_objects_v2")
        for page in pages.paginate(Bucket=bucket, Prefix=prefix):
            found.update({item["Key"]: item["Size"] for item in page.get("Contents", [])})
        return found


@contextmanager
def object_store(work: Path) -> Iterator[ObjectStore]:
    port = free_port()
    endpoint = f"http://{HOST}:{port}"
    args = [str(BIN / "moto_server"), "-H", HOST, "-p", str(port)]
    with server(args, work / "moto.log", lambda: answers(f"{endpoint}/moto-api/")):
        yield ObjectStore(endpoint)


def postgres_bin_dir() -> Path:
    """PostgreSQL's server programs: Debian's newest versioned folder, else those on PATH."""
    folders = sorted(
        (Path(path).parent for path in glob.glob("/usr/lib/postgresql/*/bin/initdb")),
        key=lambda folder: int(folder.parent.name) if folder.parent.name.isdigit() else 0,
    )
    on_path = shutil.which("initdb")
    if folders:
        return folders[-1]
    if on_path:
        return Path(on_path).resolve().parent
    raise RuntimeError(
        "PostgreSQL's initdb was not found: install the Debian package postgresql (.ci/run does)"
    )


@contextmanager
def postgres(database: str) -> Iterator[str]:
    """A throwaway cluster with one database; yields its SQLAlchemy URI.

    PostgreSQL refuses to run as root, so as root the cluster runs as the
    `postgres` user (made by the Debian package) in a folder it owns.
    """
    as_owner: list[str] = []
    root = os.geteuid() == 0
    folder = Path(tempfile.mkdtemp(prefix="pg-", dir="/tmp" if root else None))
    if root:
        as_owner = ["runuser", "-u", "postgres", "--"]
        shutil.chown(folder, "postgres")
    programs = postgres_bin_dir()
    data, port, user = folder / "data", free_port(), "mlflow"
    pg_ctl = [*as_owner, str(programs / "pg_ctl"), "-D", str(data), "-l", str(folder / "log")]
    try:
        subprocess.run(
            [*as_owner, str(programs / "initdb"), "-D", str(data), "-U", user, "--auth=trust",
             "-E", "UTF8", "--no-sync"],
            check=True, capture_output=True,
        )  # fmt: skip
        options = f"-c listen_addresses={HOST} -p {port} -k {folder} -c fsync=off"
        subprocess.run(
            [*pg_ctl, "-o", options, "-w", "-t", "60", "start"], check=True, capture_output=True
        )
        import psycopg

        with psycopg.connect(
            host=HOST, port=port, user=user, dbname="postgres", autocommit=True
        ) as connection:
            connection.execute(f'CREATE DATABASE "{database}"')
        yield f"postgresql://{user}@{HOST}:{port}/{database}"
    finally:
        if (data / "postmaster.pid").exists():  # started, or half-started: stop before deleting
            subprocess.run([*pg_ctl, "-m", "immediate", "-w", "stop"], capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def tracking_server(
    work: Path, backend_store_uri: str, artifacts: str, store: ObjectStore
) -> Iterator[str]:
    """`mlflow server` on PostgreSQL with artifacts in the object store; yields its URL."""
    port = free_port()
    url = f"http://{HOST}:{port}"
    env = {
        **os.environ,
        **store.client_env(),
        "MLFLOW_S3_ENDPOINT_URL": store.endpoint,
        "MLFLOW_DISABLE_TELEMETRY": "true",
    }
    args = [
        str(BIN / "mlflow"), "server",
        "--backend-store-uri", backend_store_uri,
        "--artifacts-destination", artifacts,
        "--host", HOST, "--port", str(port), "--workers", "1",
    ]  # fmt: skip
    with server(args, work / "mlflow-server.log", lambda: answers(f"{url}/health"), env=env):
        yield url


@dataclass(frozen=True)
class Stack:
    store: ObjectStore
    database: str
    tracking_uri: str


@contextmanager
def stack(work: Path, bucket: str) -> Iterator[Stack]:
    """All three: the store (with `bucket`), PostgreSQL, and MLflow keeping artifacts in
    s3://<bucket>/mlflow."""
    with ExitStack() as stop:
        store = stop.enter_context(object_store(work))
        store.create_bucket(bucket)
        database = stop.enter_context(postgres("mlflow"))
        uri = stop.enter_context(tracking_server(work, database, f"s3://{bucket}/mlflow", store))
        yield Stack(store, database, uri)


class Outage:
    """A TCP relay on 127.0.0.1 to `port`, that can be cut (`down`: every connection closed,
    none accepted) and mended (`up`): a store outage, without stopping the store."""

    def __init__(self, port: int) -> None:
        self.target, self.port = port, free_port()
        self.open: list[socket.socket] = []
        self.listener: socket.socket | None = None
        self.up()

    def up(self) -> None:
        import threading

        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((HOST, self.port))
        listener.listen(16)
        self.listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def down(self) -> None:
        listener, self.listener = self.listener, None
        for sock in [listener, *self.open]:
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
        self.open.clear()

    def _accept(self, listener: socket.socket) -> None:
        import threading

        while True:
            try:
                client, _ = listener.accept()
                upstream = socket.create_connection((HOST, self.target))
            except OSError:
                return  # cut
            self.open += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=_pump, args=(source, sink), daemon=True).start()


def _pump(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    for sock in (source, sink):
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
