"""Promote on merge: gate the candidate against the registry's champion; register it and move
the aliases when it passes. Rollback is a `git revert`: the reverted model has the same
identity as an earlier version, which is reused and gets the alias back.

A model's identity is the hash of what produced it (the train stage's inputs and params in
dvc.lock), not of the saved file: skops archives differ byte for byte between two saves of
the same model.

What gets registered is the workspace model, and only when it is the one the pipeline
recorded: its md5 is the train stage's output in dvc.lock and `dvc status` is clean. The
champion only moves forward in git: a candidate built from a commit that does not descend
from the commit that made the champion (an old commit's re-run) is refused; a `git revert`
is a new commit, so it promotes. The `rollback` command is the by-name way back.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path
from typing import Any

import yaml

from . import registry
from .errors import DataError, PipelineError, first_line
from .files import (
    METRICS,
    MODEL,
    PIPELINE_LOCK,
    REPORTS,
    md5,
    model_digest,
    read_json,
    write_json,
)
from .gate import gate
from .params import Params
from .registry import (
    CHAMPION,
    DEMOTED,
    PREVIOUS,
    PROMOTED_FROM,
    WAS_CHAMPION,
    metrics_from_tags,
    model_key,
    version_by_alias,
)

PROMOTION = REPORTS / "promotion.json"


class PromotionError(PipelineError):
    """The registry could not be read or changed; no alias was moved."""


class PromotionRefused(PipelineError):
    """The candidate may not be promoted from this workspace or commit; nothing was moved."""


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


def recorded_md5s(lock_text: str) -> dict[str, str]:
    """Each output path dvc.lock records, with its md5."""
    return stage_md5s((yaml.safe_load(lock_text) or {}).get("stages", {}))


def stage_md5s(stages: dict[str, Any]) -> dict[str, str]:
    """Each output path of these dvc.lock stage entries, with its md5."""
    return {
        str(out["path"]): str(out["md5"])
        for stage in stages.values()
        for out in stage.get("outs", [])
        if "md5" in out
    }


def _recorded(recorded: dict[str, str], model: Path) -> str:
    found = recorded.get(model.as_posix())
    if found is None:
        raise DataError(f"{PIPELINE_LOCK}: no stage records {model}; run `dvc repro`")
    return found


def recorded_model_md5(lock_text: str, model: Path = MODEL) -> str:
    """The md5 dvc.lock records for `model`, an output of one of its stages."""
    return _recorded(recorded_md5s(lock_text), model)


def check_workspace(lock_text: str, models: Iterable[Path] = (MODEL,)) -> None:
    """Refuse unless each workspace model is the one dvc.lock records and nothing is stale
    (dvc.lock is read once, whatever the number of models)."""
    recorded = recorded_md5s(lock_text)
    for model in models:
        expected = _recorded(recorded, model)
        actual = md5(model) if model.is_file() else "missing"
        if actual != expected:
            raise PromotionRefused(
                f"promote: {model} (md5 {actual[:12]}) is not the model dvc.lock records "
                f"({expected[:12]}); after switching commits run `dvc checkout`, after changing"
                " inputs `dvc repro` and commit dvc.lock; nothing was moved"
            )
    require_current_pipeline()


def require_current_pipeline() -> None:
    """Refuse unless `dvc status` finds nothing stale."""
    done = subprocess.run(
        [sys.executable, "-m", "dvc", "status", "--json"], capture_output=True, text=True
    )
    stale = json.loads(done.stdout or "{}") if done.returncode == 0 else None
    if stale is None:
        raise PromotionRefused(f"promote: `dvc status` failed: {first_line(done.stderr)}")
    if stale:
        raise PromotionRefused(
            f"promote: the pipeline is not up to date (dvc status: {', '.join(sorted(stale))} "
            "changed); run `dvc repro` first, nothing was moved"
        )


def holds_model(client: Any, model: Path) -> Callable[[Any], bool]:
    """A check that a registered version holds the same model as `model`, a workspace file
    whose md5 check_workspace found in dvc.lock (compared by content: two saves of one model
    differ in bytes, and a revert may retrain it)."""
    expected = model_digest(model)
    return lambda version: registry.artifact_digest(client, version) == expected


def descends_from(commit: str) -> bool | None:
    """Is HEAD `commit` or a descendant of it? None when this clone does not have `commit`."""
    done = subprocess.run(
        ["git", "merge-base", "--is-ancestor", commit, "HEAD"], capture_output=True, check=False
    )
    return {0: True, 1: False}.get(done.returncode)


def refuse_older(champion: Any, commit: str, descends: Callable[[str], bool | None]) -> None:
    """Refuse a candidate built from a commit that does not descend from the champion's."""
    made = champion.tags.get(PROMOTED_FROM) or champion.tags.get("git_commit", "unknown")
    if made == "unknown":
        return
    where = f"commit {made[:12]} that made version {champion.version} champion"
    descendant = descends(made)
    if descendant is None:
        raise PromotionRefused(
            f"promote: {where} is not in this clone's history; fetch it "
            "(`git fetch --unshallow`). Nothing was moved"
        )
    if not descendant:
        raise PromotionRefused(
            f"promote: commit {commit[:12]} does not descend from {where}: promoting it would "
            "roll the champion back; revert on the default branch instead, or run `rollback`. "
            "Nothing was moved"
        )


def _trusted(versions: Iterable[Any], verified: Callable[[Any], bool]) -> list[Any]:
    """The versions that hold the model dvc.lock records, oldest first; the others carry this
    model's key (public in dvc.lock) but not its model, and are never used."""
    kept = []
    for version in sorted(versions, key=lambda found: int(found.version)):
        if verified(version):
            kept.append(version)
        else:
            print(
                f"promote: version {version.version} has this model's key but not the model "
                "dvc.lock records; ignored",
                file=sys.stderr,
            )
    return kept


def _first_registered(
    client: Any, name: str, key: str, mine: str, seen: set[str], verified: Callable[[Any], bool]
) -> str:
    """After registering `mine`: a promote running at the same time may have registered the
    same model. The oldest such version is kept and ours deleted, so both runs agree. Versions
    in `seen` were there before and judged already."""
    same = client.search_model_versions(f"name = '{name}' and tags.model_key = '{key}'")
    new = [v for v in same if int(v.version) < int(mine) and str(v.version) not in seen]
    first = next(iter(_trusted(new, verified)), None)
    if first is None:
        return mine
    client.delete_model_version(name, mine)
    print(f"promote: version {first.version} of the same model was registered meanwhile; used it")
    return str(first.version)


def _repair_tags(client: Any, name: str, champion: Any, commit: str) -> None:
    """A promote stopped between moving the alias and tagging the version is finished here."""
    if champion.tags.get(WAS_CHAMPION) != "true":
        client.set_model_version_tag(name, champion.version, WAS_CHAMPION, "true")
    if not champion.tags.get(PROMOTED_FROM):
        client.set_model_version_tag(name, champion.version, PROMOTED_FROM, commit)


def decide(
    client: Any,
    params: Params,
    candidate: dict[str, float],
    key: str,
    register: Callable[[], str],
    commit: str,
    descends: Callable[[str], bool | None] = descends_from,
    *,
    verified: Callable[[Any], bool],
) -> Promotion:
    """The whole promotion of the candidate built from `commit`, given a tracking client, a way
    to register the candidate and a check that a registered version holds its model."""
    name, primary = params.model.name, params.model.primary_metric
    champion = version_by_alias(client, name, CHAMPION)
    champion_metrics = metrics_from_tags(champion.tags) if champion else None
    query = f"name = '{name}' and tags.model_key = '{key}'"
    found = client.search_model_versions(query)
    same = _trusted(found, verified)
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

    if champion is not None and str(champion.version) in {str(v.version) for v in same}:
        _repair_tags(client, name, champion, commit)
        return record(
            True, str(champion.version), f"version {champion.version} is already the champion"
        )
    if champion is not None:
        refuse_older(champion, commit, descends)
    # A model that was champion before and comes back (a revert) is a rollback, judged on the
    # absolute checks alone, unless the `rollback` command demoted it. A version registered by a
    # run that crashed before moving the alias, or a demoted one, is judged like any candidate.
    rollback = (
        earlier is not None
        and earlier.tags.get(WAS_CHAMPION) == "true"
        and earlier.tags.get(DEMOTED) != "true"
    )
    decision = gate(
        candidate,
        None if rollback else champion_metrics,
        params.gate,
        primary,
        segmented=params.data.schema_.segment is not None,
    )
    if not decision.passed:
        return record(
            False, str(earlier.version) if earlier else None, f"held back: {decision.summary}"
        )
    if earlier is not None:
        version = str(earlier.version)
    else:
        seen = {str(v.version) for v in found}
        version = _first_registered(client, name, key, register(), seen, verified)
    if champion is not None and str(champion.version) != version:
        client.set_registered_model_alias(name, PREVIOUS, champion.version)
    client.set_registered_model_alias(name, CHAMPION, version)  # tags after: see _repair_tags
    client.set_model_version_tag(name, version, WAS_CHAMPION, "true")
    client.set_model_version_tag(name, version, PROMOTED_FROM, commit)
    if earlier is not None and earlier.tags.get(DEMOTED) == "true":
        client.delete_model_version_tag(name, version, DEMOTED)
    what = f"rollback to version {version}" if rollback else f"version {version} promoted"
    return record(True, version, f"{what}: {decision.summary}")


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
    try:
        registry.load_version(client, previous)  # the alias goes only to a model train saves
    except DataError as error:
        raise PromotionRefused(f"rollback: {error}; nothing was moved") from error
    client.set_registered_model_alias(name, CHAMPION, previous.version)
    client.set_registered_model_alias(name, PREVIOUS, champion.version)
    client.set_model_version_tag(name, previous.version, "rolled_back_from", champion.version)
    client.set_model_version_tag(name, champion.version, DEMOTED, "true")
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
    lock_text = PIPELINE_LOCK.read_text()
    key = model_key(lock_text)
    check_workspace(lock_text)
    commit = tracking.git_state()["git_commit"]
    uri = tracking.configure()
    from mlflow import MlflowClient

    client = MlflowClient()
    register = partial(registry.register, client, params, key, candidate)
    verified = holds_model(client, MODEL)
    result = _guarded(
        partial(decide, client, params, candidate, key, register, commit, verified=verified), uri
    )
    report(result)
    if strict and not result.promoted:
        raise PipelineError(f"promote: held back and --strict was given: {result.reason}")
