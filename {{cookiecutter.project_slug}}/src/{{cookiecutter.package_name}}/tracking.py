"""MLflow tracking: where runs go, the git state a run records, and links to the UI.

`import mlflow` takes seconds, so it happens inside the functions that need it.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import subprocess
import sys
from pathlib import Path

DEFAULT_TRACKING_URI = "sqlite:///mlflow.db"
# A shared tracking server is expected: the bake has tracking_server.py (mlflow_tracking: server).
EXPECTS_SERVER = importlib.util.find_spec(f"{__package__}.tracking_server") is not None


def configure() -> str:
    """Set quiet, fail-fast MLflow defaults and return the tracking URI in use."""
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    # MLflow's HTTP client retries for minutes by default; a pipeline should fail fast.
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "2")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "20")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")  # a model is one file
    uri = os.environ.get("MLFLOW_TRACKING_URI") or DEFAULT_TRACKING_URI
    if EXPECTS_SERVER and uri == DEFAULT_TRACKING_URI:
        print(
            "tracking: MLFLOW_TRACKING_URI is not set; logging to the local SQLite store "
            "mlflow.db instead of the shared server",
            file=sys.stderr,
        )
    os.environ["MLFLOW_TRACKING_URI"] = uri
    import mlflow  # noqa: F401  (sets its loggers to INFO on import)

    # MLflow logs each migration and new experiment at INFO: keep the output short.
    logging.getLogger("mlflow").setLevel(logging.WARNING)
    return uri


def store_exists() -> bool:
    """False when the store is a local SQLite file that was never created (nothing logged)."""
    uri = os.environ.get("MLFLOW_TRACKING_URI") or DEFAULT_TRACKING_URI
    if uri.startswith("sqlite:///"):
        return Path(uri.removeprefix("sqlite:///")).is_file()
    return True


def git_state() -> dict[str, str]:
    """The commit being run, and whether the work tree differs from it."""

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], capture_output=True, text=True, check=False)
        return done.stdout.strip() if done.returncode == 0 else ""

    commit = git("rev-parse", "HEAD") or "unknown"
    dirty = bool(git("status", "--porcelain", "--untracked-files=no"))
    return {"git_commit": commit, "git_dirty": str(dirty).lower()}


def ui_links(uri: str, name: str, ui: str) -> list[str]:
    """Where this project's runs and models are in the MLflow UI at `ui`, which opens on
    MLflow 3's GenAI home page. Reads a SQLite store directly: no `import mlflow`."""
    import sqlite3

    found = None
    if uri.startswith("sqlite:///"):
        try:
            store = sqlite3.connect(f"file:{uri.removeprefix('sqlite:///')}?mode=ro", uri=True)
            query = "SELECT experiment_id FROM experiments WHERE name = ?"
            found = store.execute(f"{query} AND lifecycle_stage = 'active'", (name,)).fetchone()
        except sqlite3.Error:
            pass
    view = "?workflowType=machine_learning"  # the "Model training" side of the UI
    ui = ui.rstrip("/")
    runs = f"{ui}/#/experiments/{found[0]}/runs{view}" if found else f"{ui}/#/experiments{view}"
    hint = "" if found or not uri.startswith("sqlite:") else " (no run logged yet? make repro)"
    return [
        f"MLflow UI: {ui} opens on MLflow's GenAI home page; this project is here:",
        f"  training runs:     {runs}{hint}",
        f"  registered models: {ui}/#/models{view}",
        f'  (or switch the sidebar to "Model training": Experiments > {name}, and Models)',
    ]


def ui_links_main(ui: str) -> None:
    from .errors import PipelineError
    from .params import load_params

    uri = os.environ.get("MLFLOW_TRACKING_URI") or DEFAULT_TRACKING_URI
    try:
        name = load_params().model.name
    except PipelineError:  # a broken params.yaml must not keep anyone from the earlier runs
        name = _unchecked_name()
    print("\n".join(ui_links(uri, name, ui or uri)))


def _unchecked_name() -> str:
    """model.name as params.yaml writes it, read without its checks; else the folder's name."""
    import yaml

    try:
        return str(yaml.safe_load(Path("params.yaml").read_text(encoding="utf-8"))["model"]["name"])
    except (OSError, yaml.YAMLError, KeyError, TypeError):
        return Path.cwd().name
