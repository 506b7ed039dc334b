"""The fleet's promote and rollback: each member is gated and promoted on its own, against its
own champion (`<model.name>-<member>`), on metrics measured here on its test rows."""

from __future__ import annotations

from dataclasses import asdict
from functools import partial
from typing import TYPE_CHECKING, Any

from . import github, registry, same_rows, trust
from .errors import DataError, PipelineError, PromotionRefused
from .files import PIPELINE_LOCK, REPORTS, TRAINING_DATA, read_json, read_table, write_json
from .fleet import by_member, member_params, member_rows, outputs
from .params import load_params
from .rollback import rollback

if TYPE_CHECKING:
    import pandas as pd

PROMOTION = REPORTS / "promotion.json"


def promote_main(strict: bool = False) -> None:
    """Gate and promote each member whose model is not its champion yet, independently."""
    from mlflow import MlflowClient

    from . import promote, tracking

    params = load_params()
    if not PIPELINE_LOCK.is_file():
        raise DataError(f"{PIPELINE_LOCK} missing; run `dvc repro` first")
    members = list(params.fleet.members)
    trust.check_workspace(PIPELINE_LOCK.read_text(), [outputs(m).model for m in members])
    commit = tracking.git_state()["git_commit"]
    uri = tracking.configure()
    client = MlflowClient()
    results: dict[str, dict[str, Any]] = {}
    champions = promote.guarded(partial(champion_keys, client, params.model.name), uri)
    frame: pd.DataFrame | None = None
    for member in members:
        own, out = member_params(params, member), outputs(member)
        key = read_json(out.report("run.json"))["model_key"]
        version = champions.get(own.model.name, {}).get(key)
        if version is not None:  # two queries for the whole fleet, not two per member
            results[member] = {
                "decision": "unchanged",
                "promoted": True,
                "model_name": own.model.name,
                "version": version,
                "reason": f"version {version} is already the champion",
                "candidate": read_json(out.report("metrics.json")),
                "model_key": key,
            }
            continue
        if frame is None:  # the snapshot is read once, and only when a member is gated
            frame = read_table(TRAINING_DATA)
            split = by_member(frame, params.fleet.by)
        found = trust.measured(own, out, member_rows(split, frame, member))
        candidate = found["metrics"]
        register = partial(registry.register, client, own, key, candidate, out, {"member": member})
        verified = trust.holds_model(client, out.model)
        same = partial(same_rows.against_version, client, measured=found, params=own)
        how = {"verified": verified, "score_champion": same, "fair": found["fairness"]}
        decide = partial(promote.decide, client, own, candidate, key, register, commit, **how)
        try:
            result = promote.guarded(decide, uri)
            state = (
                "unchanged"
                if result.promoted and result.version == result.previous_version
                else "promoted"
                if result.promoted
                else "held_back"
            )
            results[member] = {"decision": state, **asdict(result)}
        except PromotionRefused as error:
            results[member] = {"decision": "refused", "reason": str(error), "promoted": False}
        print(f"promote: {member}: {results[member]['decision']}: {results[member]['reason']}")
    by_state = {
        state: [m for m, r in results.items() if r["decision"] == state]
        for state in ("promoted", "held_back", "refused", "unchanged")
    }
    write_json({**by_state, "members": results}, PROMOTION)
    github.add_summary(promotion_summary(params.model.name, results))
    github.set_outputs(alias_moved=bool(by_state["promoted"]), version="")  # the image job's
    counts = ", ".join(
        f"{len(names)} {state.replace('_', ' ')}" for state, names in by_state.items()
    )
    print(f"promote: {counts} -> {PROMOTION}")
    stopped = by_state["held_back"] + by_state["refused"]
    if strict and stopped:
        raise PipelineError(f"promote: held back and --strict was given: {stopped}")


def champion_keys(client: Any, name: str) -> dict[str, dict[str, str]]:
    """Registered model name -> {its champion's model key: its version}, for every member."""
    pattern = f"name LIKE '{name}-%'"
    champions = {
        model.name: model.aliases[registry.CHAMPION]
        for model in client.search_registered_models(pattern, max_results=1000)
        if registry.CHAMPION in model.aliases
    }
    found: dict[str, dict[str, str]] = {}
    for version in client.search_model_versions(pattern):
        if str(champions.get(version.name)) == str(version.version):
            found[version.name] = {version.tags.get("model_key", ""): str(version.version)}
    return found


def rollback_main(member: str) -> None:
    """Emergency, for one member: move its `champion` back to its `previous` version."""
    from mlflow import MlflowClient

    from . import promote, tracking

    params = load_params()
    if member not in params.fleet.members:
        known = ", ".join(params.fleet.members)
        raise DataError(f"rollback: {member!r} is not in fleet.members ({known})")
    uri = tracking.configure()
    own = member_params(params, member)
    result = promote.guarded(partial(rollback, MlflowClient(), own), uri)
    print(f"rollback: {own.model.name}: {result.reason}")


def promotion_summary(name: str, results: dict[str, dict[str, Any]]) -> str:
    """Markdown for the job summary: the members that changed first, the rest counted."""
    changed = {m: r for m, r in results.items() if r["decision"] != "unchanged"}
    lines = [
        f"## Promotion of the `{name}` fleet: {len(changed)} of {len(results)} members changed",
        "",
    ]
    if changed:
        lines += ["| member | decision | version | reason |", "|---|---|---|---|"]
        for member, result in changed.items():
            reason = str(result["reason"]).replace("|", "\\|")
            lines.append(
                f"| {member} | {result['decision'].replace('_', ' ')} |"
                f" {result.get('version') or '—'} | {reason} |"
            )
    unchanged = len(results) - len(changed)
    if unchanged:
        lines += ["", f"{unchanged} members are unchanged: their champion is the model already."]
    return "\n".join(lines) + "\n"
