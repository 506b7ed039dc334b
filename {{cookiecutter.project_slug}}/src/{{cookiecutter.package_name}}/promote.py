"""Promote on merge: gate the candidate against the registry's champion; register it and move
the aliases when it passes. Rollback is a `git revert`: the reverted model has the same
identity as an earlier version, which is reused and gets the alias back.

Each member (the single model, or each of a fleet's) is gated and promoted on its own, against
its own champion, on metrics measured here on its test rows. A model's identity is
`members.key`: what produced it, not the saved file's bytes.

What gets registered is the workspace model, and only when it is the one the pipeline
recorded: its md5 is in dvc.lock and `dvc status` is clean. The
champion only moves forward in git: a candidate built from a commit that does not descend
from the commit that made the champion (an old commit's re-run) is refused; a `git revert`
is a new commit, so it promotes. The `rollback` command is the by-name way back.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from . import registry, same_rows
from .errors import DataError, PipelineError, PromotionRefused
from .files import read_table
from .gate import gate
from .members import key as model_key
from .params import Params
from .paths import PIPELINE_LOCK, TRAINING_DATA
from .promotion import PROMOTION, Promotion, guarded, report
from .registry import (
    CHAMPION,
    DEMOTED,
    PREVIOUS,
    PROMOTED_FROM,
    WAS_CHAMPION,
    metrics_from_tags,
    version_by_alias,
)
from .revisions import descends_from
from .trust import check_workspace, holds_model, measured, trusted

if TYPE_CHECKING:
    import pandas as pd

    from .members import Member


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


def _first_registered(
    client: Any, name: str, key: str, mine: str, seen: set[str], verified: Callable[[Any], bool]
) -> str:
    """After registering `mine`: a promote running at the same time may have registered the
    same model. The oldest such version is kept and ours deleted, so both runs agree. Versions
    in `seen` were there before and judged already."""
    same = client.search_model_versions(f"name = '{name}' and tags.model_key = '{key}'")
    new = [v for v in same if int(v.version) < int(mine) and str(v.version) not in seen]
    first = next(iter(trusted(new, verified)), None)
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
    score_champion: Callable[[Any], dict[str, Any]] | None = None,
    fair: dict[str, Any] | None = None,
) -> Promotion:
    """The whole promotion of the candidate built from `commit`, given a tracking client, a way
    to register the candidate, a check that a registered version holds its model and a way to
    compare a version with the candidate on the candidate's test rows (same_rows.py)."""
    name, primary = params.model.name, params.model.primary_metric
    champion = version_by_alias(client, name, CHAMPION)
    champion_metrics = metrics_from_tags(champion.tags) if champion else None
    query = f"name = '{name}' and tags.model_key = '{key}'"
    found = client.search_model_versions(query)
    paired: dict[str, Any] = {}
    same = trusted(found, verified)
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
            comparison={name: found.as_dict() for name, found in paired.items()} or None,
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
    if champion is not None and not rollback and score_champion is not None:
        paired.update(on_same_rows(score_champion, champion))
    decision = gate(
        candidate,
        None if rollback else champion_metrics,
        params.gate,
        primary,
        segmented=params.data.schema_.segment is not None,
        paired=paired.get(primary),
        fair=(fair or {}, params.fairness.max_gap),
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


def on_same_rows(score: Callable[[Any], dict[str, Any]], champion: Any) -> dict[str, Any]:
    """The champion against the candidate on the candidate's test rows; {} when the champion
    cannot be scored, said in one line (the gate then uses its recorded metrics)."""
    try:
        return score(champion)
    except DataError as error:
        print(f"promote: {error}; the champion's recorded metrics are used", file=sys.stderr)
        return {}


def unchanged(client: Any, member: Member, champion: Any, commit: str) -> Promotion:
    """The member's champion is its model already (same key): nothing to gate or measure."""
    name = member.params.model.name
    _repair_tags(client, name, champion, commit)
    recorded, version = metrics_from_tags(champion.tags), str(champion.version)
    reason = f"version {version} is already the champion"
    key = champion.tags.get("model_key", "")
    return Promotion(True, name, version, CHAMPION, reason, recorded, recorded, key, version)


def promote(
    client: Any, member: Member, rows: pd.DataFrame, key: str, commit: str, uri: str
) -> Promotion:
    """Gate the member's model, measured here on its test rows, against its champion."""
    own, out = member.params, member.outputs
    found = measured(own, out, rows)
    candidate = found["metrics"]
    extra = {"member": member.name} if member.name else None
    register = partial(registry.register, client, own, key, candidate, out, extra)
    verified = holds_model(client, out.model)
    same = partial(same_rows.against_version, client, measured=found, params=own)
    how = {"verified": verified, "score_champion": same, "fair": found["fairness"]}
    return guarded(partial(decide, client, own, candidate, key, register, commit, **how), uri)


def main(strict: bool = False) -> None:
    """Gate and promote each member whose model is not its champion yet, independently."""
    from . import tracking
    from .members import FLEET, code_hash, members, rows, rows_hash, split
    from .params import load_params

    params = load_params()
    if not PIPELINE_LOCK.is_file():
        raise DataError(f"{PIPELINE_LOCK} missing; run `dvc repro` first")
    group = members(params)
    check_workspace(PIPELINE_LOCK.read_text(), [member.outputs.model for member in group])
    frame = read_table(TRAINING_DATA)
    parts, code = split(params, frame), code_hash()
    commit = tracking.git_state()["git_commit"]
    uri = tracking.configure()
    from mlflow import MlflowClient

    client = MlflowClient()
    names = [member.params.model.name for member in group]
    stem = params.model.name if FLEET else None
    champions = guarded(partial(registry.champions, client, names, stem), uri)
    results: dict[str, Promotion | str] = {}  # a refused member: why
    for member in group:
        own = rows(parts, frame, member)
        key = model_key(member.params, rows_hash(own), code)
        champion = champions.get(member.params.model.name)
        try:
            if champion is not None and champion.tags.get("model_key") == key:
                results[member.name] = guarded(
                    partial(unchanged, client, member, champion, commit), uri
                )
            else:
                results[member.name] = promote(client, member, own, key, commit, uri)
        except PromotionRefused as error:
            if not FLEET:
                raise
            results[member.name] = str(error)
    if not FLEET:
        result = results[""]
        report(result)
        if strict and not result.promoted:
            raise PipelineError(f"promote: held back and --strict was given: {result.reason}")
        return
    from .fleet_summary import report_fleet

    report_fleet(params.model.name, results, PROMOTION, strict)
