"""MLflow's side of the project in one place: a model's identity, the tags on runs and model
versions, the champion lookup, and logging a run.

A model's identity is the hash of what produced it (the train stage's inputs and params in
dvc.lock), not of the saved file: skops archives differ byte for byte between two saves of
the same model.

Each `evaluate` logs a run with its params, metrics, tags and reports, but not the model: a
change of one hyperparameter should reach its metrics quickly, and the model file is in DVC.
`promote` logs the model it registers in a run of its own (never one already in the store).

`import mlflow` takes seconds, so it happens inside the functions that need it.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from importlib import metadata
from typing import Any

import yaml

from . import task
from .errors import DataError, TrackingError, first_line
from .files import (
    PIPELINE_LOCK,
    PROJECT,
    TRAINING_DATA,
    VALIDATION,
    Outputs,
    md5,
    read_table,
    trusted_types,
)
from .params import Params
from .tracking import configure, git_state

CHAMPION, PREVIOUS = "champion", "previous"
WAS_CHAMPION = "was_champion"
PROMOTED_FROM = "promoted_from_commit"  # the commit whose promote last moved champion here
DEMOTED = "demoted_by_rollback"  # `rollback` took the alias from it: no longer trusted as a revert
# Packages a logged model needs to load and predict.
MODEL_REQUIREMENTS = ("scikit-learn", "skops", "numpy", "scipy", "pandas")


def model_key(lock_text: str) -> str:
    """Identity of the trained model: a hash of the train stage's deps and params in dvc.lock."""
    try:
        stage = yaml.safe_load(lock_text)["stages"]["train"]
    except (TypeError, KeyError, yaml.YAMLError):
        raise DataError(f"{PIPELINE_LOCK}: no train stage; run `dvc repro` first") from None
    inputs = {"deps": stage.get("deps"), "params": stage.get("params")}
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()[:32]


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


def _log_model(model: Any, params: Params, outputs: Outputs) -> str:
    import mlflow
    import mlflow.sklearn
    from mlflow.models import infer_signature

    example = read_table(TRAINING_DATA, columns=params.data.schema_.features).head(5)
    with warnings.catch_warnings():
        # The hint: integer columns cannot hold missing values. The schema says so.
        warnings.filterwarnings("ignore", message="Hint: Inferred schema contains integer")
        signature = infer_signature(example, task.predict(model, example))
    info = mlflow.sklearn.log_model(
        model,
        name="model",
        signature=signature,
        pip_requirements=pip_requirements(),
        serialization_format="skops",
        pyfunc_predict_fn=task.RESPONSE_METHOD,  # pyfunc users get what `predict` gives
        skops_trusted_types=trusted_types(outputs.model, params.train.estimator),
    )
    mlflow.set_tag("model_uri", info.model_uri)  # what promote registers
    return info.model_uri


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
    if "model_key" not in tags:
        lock = PIPELINE_LOCK.read_text() if PIPELINE_LOCK.is_file() else None
        tags["model_key"] = model_key(lock) if lock else "unknown"
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
                _log_model(model, params, outputs)
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
    model. Runs already in the store are never reused: anyone who can log to it can tag a run
    with this model's key and md5, both public in dvc.lock."""
    from .files import load_model

    name = params.model.name
    model = load_model(outputs.model, params.train.estimator)
    run_id = log_run(params, candidate, model, outputs, {"model_key": key, **(extra or {})})
    model_uri = client.get_run(run_id).data.tags["model_uri"]
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
    model_id = model_uri.removeprefix("models:/")
    created = client.create_model_version(
        name, model_uri, run_id=run_id, tags=tags, model_id=model_id
    )
    return str(created.version)
