"""MLflow's side of the project in one place: a model's identity, the tags on runs and model
versions, the champion lookup, logging a run, and loading a registered version safely.

A model's identity is `members.key`, the hash of what produced it.
`evaluate` logs a run without the model (the file is in DVC); `promote` logs the model it
registers in a run of its own, holding the very file dvc.lock records.
`import mlflow` takes seconds, so it happens inside the functions that need it.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import warnings
from importlib import metadata
from pathlib import Path
from typing import Any

from . import task
from .errors import DataError, TrackingError, first_line
from .files import md5, read_table, trusted_types
from .params import Params
from .paths import PROJECT, TRAINING_DATA, VALIDATION, Outputs
from .tracking import configure, git_state

CHAMPION, PREVIOUS = "champion", "previous"
WAS_CHAMPION = "was_champion"
PROMOTED_FROM = "promoted_from_commit"  # the commit whose promote last moved champion here
DEMOTED = "demoted_by_rollback"  # `rollback` took the alias from it: no longer trusted as a revert
ARTIFACT, MODEL_FILE = "model", "model.skops"  # a version's folder, and the file in it
PROMOTE_HOST, PROMOTE_PID = "promote_host", "promote_pid"  # who opened a registration's run
ABANDONED_AFTER_MS = 3_600_000  # a promote elsewhere whose run is older than this was stopped
# Packages a logged model needs to load and predict.
MODEL_REQUIREMENTS = ("scikit-learn", "skops", "numpy", "scipy", "pandas")


def metrics_from_tags(tags: dict[str, str]) -> dict[str, float]:
    return {
        key.removeprefix("metric."): float(value)
        for key, value in tags.items()
        if key.startswith("metric.")
    }


def version_tags(key: str, metrics: dict[str, float], extra: dict[str, str]) -> dict[str, str]:
    tags = {"model_key": key, **extra}
    tags.update({f"metric.{name}": repr(float(value)) for name, value in metrics.items()})
    return tags


def version_by_alias(client: Any, name: str, alias: str) -> Any | None:
    from mlflow.exceptions import MlflowException

    try:
        return client.get_model_version_by_alias(name, alias)
    except MlflowException as error:
        if error.error_code in {"RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"}:
            return None
        raise


def champions(client: Any, names: list[str], fleet: str | None = None) -> dict[str, Any]:
    """Registered model name -> its champion version (with its tags), for each of `names`:
    one query for a single model, two for a whole fleet (`fleet`: the names' common stem)."""
    if fleet is None:
        found = {name: version_by_alias(client, name, CHAMPION) for name in names}
        return {name: version for name, version in found.items() if version is not None}
    pattern, wanted = f"name LIKE '{fleet}-%'", set(names)
    aliases = {
        model.name: str(model.aliases[CHAMPION])
        for model in client.search_registered_models(pattern, max_results=1000)
        if model.name in wanted and CHAMPION in model.aliases
    }
    return {
        version.name: version
        for version in client.search_model_versions(pattern)
        if aliases.get(version.name) == str(version.version)
    }


def flatten(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """{'a': {'b': 1}} -> {'a.b': 1}; lists become their string form."""
    flat: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def pip_requirements() -> list[str]:
    return [f"{name}=={metadata.version(name)}" for name in MODEL_REQUIREMENTS]


def _log_model(model: Any, params: Params, outputs: Outputs, run_id: str) -> None:
    """Log `model` in MLflow's format, holding the pipeline's own file: a registered version's
    model.skops is byte for byte the file dvc.lock records."""
    import mlflow
    import mlflow.sklearn
    from mlflow.models import infer_signature

    example = read_table(TRAINING_DATA, columns=params.data.schema_.features).head(5)
    with warnings.catch_warnings():
        # The hint: integer columns cannot hold missing values. The schema says so.
        warnings.filterwarnings("ignore", message="Hint: Inferred schema contains integer")
        signature = infer_signature(example, task.predict(model, example))
    with tempfile.TemporaryDirectory() as folder:
        saved = Path(folder) / ARTIFACT
        mlflow.sklearn.save_model(
            model,
            str(saved),
            signature=signature,
            pip_requirements=pip_requirements(),
            serialization_format="skops",
            pyfunc_predict_fn=task.RESPONSE_METHOD,  # pyfunc users get what `predict` gives
            skops_trusted_types=trusted_types(outputs.model, params.train.estimator),
        )
        shutil.copyfile(outputs.model, saved / MODEL_FILE)  # a re-save would differ in bytes
        mlflow.log_artifacts(str(saved), artifact_path=ARTIFACT)
    mlflow.set_tag("model_uri", f"runs:/{run_id}/{ARTIFACT}")  # for people and pyfunc users


def end_abandoned_runs(client: Any, experiment: str) -> None:
    """Mark as failed the runs a killed `promote` left RUNNING: on this machine, those whose
    process is gone; from elsewhere, those older than a promote can take."""
    import socket
    import time

    found = client.get_experiment_by_name(experiment)
    if found is None:
        return
    query = f"attributes.status = 'RUNNING' and tags.{PROMOTE_HOST} != ''"
    for run in client.search_runs([found.experiment_id], query, max_results=100):
        tags = run.data.tags
        if tags.get(PROMOTE_HOST) == socket.gethostname():
            pid = tags.get(PROMOTE_PID, "")
            abandoned = not (pid.isdigit() and _alive(int(pid)))
        else:
            abandoned = time.time() * 1000 - run.info.start_time > ABANDONED_AFTER_MS
        if abandoned:
            client.set_terminated(run.info.run_id, status="FAILED")
            print(f"promote: run {run.info.run_id} of a promote that was stopped marked FAILED")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's
        return True
    return True


def log_run(
    params: Params,
    metrics: dict[str, Any],
    model: Any = None,
    outputs: Outputs = PROJECT,
    extra: dict[str, str] | None = None,
) -> str:
    """Log one pipeline run (params, metrics, tags, reports, and `model` when given) to the
    experiment named after the model; return the run's id. `extra` tags (a model key among
    them) replace the defaults."""
    uri = configure()
    tags = {
        **git_state(),
        "data_md5": md5(TRAINING_DATA),
        "model_md5": md5(outputs.model),
        "task": task.NAME,
        **(extra or {}),
    }
    flat = flatten(params.model_dump(by_alias=True, mode="json"))
    try:
        import mlflow

        mlflow.set_experiment(params.model.name)
        with mlflow.start_run(run_name=f"pipeline-{tags['git_commit'][:8]}") as run:
            mlflow.log_params({key: str(value)[:500] for key, value in flat.items()})
            mlflow.log_metrics({key: value for key, value in metrics.items() if value == value})
            mlflow.set_tags(tags)
            names = ("metrics.json", "segments.json", "model_card.md", "importance.json")
            for path in (VALIDATION, *(outputs.report(name) for name in names)):
                if path.is_file():
                    mlflow.log_artifact(str(path))
            plots = outputs.report("plots")
            if plots.is_dir():
                mlflow.log_artifacts(str(plots), artifact_path=plots.name)
            if model is not None:
                _log_model(model, params, outputs, run.info.run_id)
            return run.info.run_id
    except Exception as error:  # MLflow raises many types for an unreachable or failing store
        raise TrackingError(f"MLflow tracking at {uri} failed: {first_line(error)}") from error


def register(
    client: Any,
    params: Params,
    key: str,
    candidate: dict[str, float],
    outputs: Outputs = PROJECT,
    extra: dict[str, str] | None = None,
) -> str:
    """Log the workspace model (checked against dvc.lock) as a new run and register that run's
    model folder. Runs already in the store are never reused: anyone who can log to it can tag
    a run with this model's key and md5, both public in dvc.lock."""
    import socket

    from .files import load_model

    name = params.model.name
    end_abandoned_runs(client, name)
    model = load_model(outputs.model, params.train.estimator)
    opened = {"model_key": key, PROMOTE_HOST: socket.gethostname(), PROMOTE_PID: str(os.getpid())}
    run_id = log_run(params, candidate, model, outputs, {**opened, **(extra or {})})
    run = client.get_run(run_id)
    audit = {
        **git_state(),
        "gate": "passed",
        "run_id": run_id,
        "data_md5": md5(TRAINING_DATA),
        "model_md5": md5(outputs.model),
        **(extra or {}),
        "params": json.dumps(params.model_dump(include={"split", "train"}, mode="json")),
    }
    tags = version_tags(key, candidate, audit)
    if client.search_registered_models(f"name = '{name}'") == []:
        client.create_registered_model(name)
    source = f"{run.info.artifact_uri}/{ARTIFACT}"
    return str(client.create_model_version(name, source, run_id=run_id, tags=tags).version)


def download(client: Any, version: Any, folder: Path) -> Path:
    """The model.skops file of a registered version, downloaded into `folder`."""
    import mlflow.artifacts

    source = client.get_model_version_download_uri(version.name, version.version)
    try:
        found = mlflow.artifacts.download_artifacts(
            artifact_uri=f"{source.rstrip('/')}/{MODEL_FILE}", dst_path=str(folder)
        )
    except Exception as error:  # MLflow raises many types for a missing artifact
        raise DataError(
            f"{version.name} version {version.version} has no {MODEL_FILE}: not registered by "
            "promote, and other formats are not loaded (they can run code)"
        ) from error
    return Path(found)


def artifact_digest(client: Any, version: Any) -> str | None:
    """What a registered version's model.skops holds (files.model_digest), or None when it
    has none that skops wrote."""
    from .files import model_digest

    with tempfile.TemporaryDirectory() as folder:
        try:
            return model_digest(download(client, version, Path(folder)))
        except DataError:
            return None


def load_version(client: Any, version: Any) -> Any:
    """A registered version's model through the safe loader: only the types a model train
    saves, never unpickled code. The registry is not trusted to hold what promote put there."""
    from .files import load_model

    with tempfile.TemporaryDirectory() as folder:
        path = download(client, version, Path(folder))
        try:
            return load_model(path)  # the types of any estimator train builds
        except DataError:
            raise
        except Exception as error:  # skops raises many types for a damaged file
            name = f"{version.name} version {version.version}"
            raise DataError(f"{name}: {MODEL_FILE} cannot be read: {first_line(error)}") from error


def version_of(client: Any, uri: str) -> Any:
    """The version a `models:/<name>@<alias>` or `models:/<name>/<number>` URI names."""
    rest = uri.removeprefix("models:/")
    name, alias = rest.split("@", 1) if "@" in rest else (rest, None)
    if alias is not None:
        found = version_by_alias(client, name, alias)
        if found is None:
            raise DataError(f"{uri}: {name} has no version with the alias {alias!r}")
        return found
    name, _, number = rest.rpartition("/")
    if not name or not number.isdigit():
        raise DataError(f"{uri}: use models:/<name>@<alias> or models:/<name>/<version>")
    return client.get_model_version(name, number)
