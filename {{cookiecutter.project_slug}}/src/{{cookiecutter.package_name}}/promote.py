"""Promote on merge: gate the candidate against the registry's champion; register it and move
the aliases when it passes. Rollback is a `git revert`: the reverted model has the same
identity as an earlier version, which is reused and gets the alias back.

A model's identity is the hash of what produced it (the train stage's inputs and params in
dvc.lock), not of the saved file: skops archives differ byte for byte between two saves of
the same model.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass
from typing import Any

import yaml

from .errors import DataError, PipelineError, first_line
from .files import METRICS, MODEL, PIPELINE_LOCK, REPORTS, TRAINING_DATA, md5, read_json, write_json
from .gate import gate
from .params import Params

CHAMPION, PREVIOUS = "champion", "previous"
WAS_CHAMPION = "was_champion"
PROMOTION = REPORTS / "promotion.json"


class PromotionError(PipelineError):
    """The registry could not be read or changed; no alias was moved."""


@dataclass
class Promotion:
    promoted: bool
    model_name: str
    version: str | None
    alias: str
    reason: str
    candidate: dict[str, float]
    champion: dict[str, float] | None
    model_key: str
    previous_version: str | None = None


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


def decide(
    client: Any, params: Params, candidate: dict[str, float], key: str, register: Any
) -> Promotion:
    """The whole promotion, given a tracking client and a way to register the candidate."""
    name, primary = params.model.name, params.model.primary_metric
    champion = version_by_alias(client, name, CHAMPION)
    champion_metrics = metrics_from_tags(champion.tags) if champion else None
    same = client.search_model_versions(f"name = '{name}' and tags.model_key = '{key}'")
    earlier = same[0] if same else None

    def record(promoted: bool, version: str | None, reason: str) -> Promotion:
        return Promotion(
            promoted=promoted,
            model_name=name,
            version=version,
            alias=CHAMPION,
            reason=reason,
            candidate=candidate,
            champion=champion_metrics,
            model_key=key,
            previous_version=str(champion.version) if champion else None,
        )

    if champion is not None and earlier is not None and earlier.version == champion.version:
        return record(
            True, str(champion.version), f"version {champion.version} is already the champion"
        )
    # A model that was champion before and comes back (a revert) is a rollback, judged on the
    # absolute checks alone. A version registered by a run that crashed before moving the
    # alias is reused and judged like any candidate.
    rollback = earlier is not None and earlier.tags.get(WAS_CHAMPION) == "true"
    decision = gate(candidate, None if rollback else champion_metrics, params.gate, primary)
    if not decision.passed:
        return record(
            False, str(earlier.version) if earlier else None, f"held back: {decision.summary}"
        )
    version = str(earlier.version) if earlier else register()
    if champion is not None:
        client.set_registered_model_alias(name, PREVIOUS, champion.version)
    client.set_registered_model_alias(name, CHAMPION, version)
    client.set_model_version_tag(name, version, WAS_CHAMPION, "true")
    what = f"rollback to version {version}" if rollback else f"version {version} promoted"
    return record(True, version, f"{what}: {decision.summary}")


def _register(client: Any, params: Params, key: str, candidate: dict[str, float]) -> str:
    """Register the candidate's logged model (logging it first if the store has no run for it)."""
    from . import evaluate, tracking

    name = params.model.name
    experiment = client.get_experiment_by_name(name)
    runs = (
        client.search_runs([experiment.experiment_id], f"tags.model_key = '{key}'", max_results=1)
        if experiment
        else []
    )
    run_id = runs[0].info.run_id if runs else evaluate.log(params, candidate)
    model_uri = client.get_run(run_id).data.tags["model_uri"]
    audit = {
        **tracking.git_state(),
        "gate": "passed",
        "run_id": run_id,
        "data_md5": md5(TRAINING_DATA),
        "model_md5": md5(MODEL),
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


def summary(result: Promotion) -> str:
    """Markdown for the job summary."""
    verdict = "✅ promoted" if result.promoted else "⏸️ held back"
    lines = [
        f"## Promotion of `{result.model_name}`: {verdict}",
        "",
        result.reason,
        "",
        f"- alias `{result.alias}` → version {result.version or '—'}"
        + ("" if result.promoted else " (unchanged)"),
        f"- previous champion: version {result.previous_version or '—'}",
        f"- model key: `{result.model_key}`",
    ]
    return "\n".join(lines) + "\n"


def report(result: Promotion) -> None:
    write_json(asdict(result), PROMOTION)
    step_summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if step_summary:
        with open(step_summary, "a", encoding="utf-8") as handle:
            handle.write(summary(result))
    print(f"promote: {result.reason} -> {PROMOTION}")


def rollback(client: Any, params: Params) -> Promotion:
    """Emergency: move `champion` back to `previous` (and `previous` to the demoted version)."""
    name = params.model.name
    champion = version_by_alias(client, name, CHAMPION)
    previous = version_by_alias(client, name, PREVIOUS)
    if champion is None or previous is None:
        raise PromotionError(f"rollback: {name} has no {CHAMPION} and {PREVIOUS} versions to swap")
    client.set_registered_model_alias(name, CHAMPION, previous.version)
    client.set_registered_model_alias(name, PREVIOUS, champion.version)
    client.set_model_version_tag(name, previous.version, "rolled_back_from", champion.version)
    return Promotion(
        promoted=True,
        model_name=name,
        version=str(previous.version),
        alias=CHAMPION,
        reason=f"rollback: {CHAMPION} moved from version {champion.version} to {previous.version}",
        candidate=metrics_from_tags(previous.tags),
        champion=metrics_from_tags(champion.tags),
        model_key=previous.tags.get("model_key", "unknown"),
        previous_version=str(champion.version),
    )


def _guarded(action: Any, uri: str) -> Promotion:
    try:
        return action()
    except PipelineError:
        raise
    except Exception as error:  # MLflow raises many types for an unreachable or failing store
        reason = first_line(error)
        raise PromotionError(f"tracking store {uri} failed, no alias moved: {reason}") from error


def rollback_main() -> None:
    from mlflow import MlflowClient

    from . import tracking
    from .params import load_params

    params = load_params()
    uri = tracking.configure()
    client = MlflowClient()
    report(_guarded(lambda: rollback(client, params), uri))


def main(strict: bool = False) -> None:
    from . import tracking
    from .params import load_params

    params = load_params()
    if not PIPELINE_LOCK.is_file() or not METRICS.is_file():
        raise DataError(f"{PIPELINE_LOCK} or {METRICS} missing; run `dvc repro` first")
    candidate = read_json(METRICS)
    key = model_key(PIPELINE_LOCK.read_text())
    uri = tracking.configure()
    from mlflow import MlflowClient

    client = MlflowClient()
    register = lambda: _register(client, params, key, candidate)  # noqa: E731
    result = _guarded(lambda: decide(client, params, candidate, key, register), uri)
    report(result)
    if strict and not result.promoted:
        raise PipelineError(f"promote: held back and --strict was given: {result.reason}")
