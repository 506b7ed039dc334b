"""The fleet's PR report: each member's metrics on both sides, whether the PR retrained it, main's
model against the PR's on the PR's test rows of the member, and its gate; fleet_report.build
sums them up in one comment."""

from __future__ import annotations

import json
import sys
from typing import Any

from . import lock
from .errors import DataError
from .files import load_model, read_table
from .github import run_url
from .members import Member, members, split
from .paired import Comparison
from .params import PARAMS_FILE, Params
from .paths import TRAINING_DATA, member_outputs
from .report import params_changed
from .revisions import head_name, load, load_all, require_revision


def report(base: str, params: Params) -> str:
    """One PR report for the fleet: each member's metrics and gate against `base`'s."""
    from .fleet_report import MemberChange, build
    from .gate import gate

    require_revision(base)
    own = {member.name: member for member in members(params)}
    base_params = load(base, PARAMS_FILE) or {}
    names = sorted(set(own) | set((base_params.get("fleet") or {}).get("members", {})))
    outputs = {name: member_outputs(name) for name in names}
    files = {name: (out.metrics, out.run) for name, out in outputs.items()}
    at_base = load_all(base, [path for pair in files.values() for path in pair])
    sides = []  # (member, main's metrics, the PR's, whether the PR retrained it)
    for name in names:
        path, run = files[name]
        old, new = at_base[path], load(None, path) if name in own else None
        keys = [(found or {}).get("model_key") for found in (at_base[run], load(None, run))]
        sides.append((name, old, new, new is not None and keys[0] != keys[1]))
    again = [own[name] for name, old, _, retrained in sides if retrained and old]
    pairs = on_same_rows(base, params, again)
    primary = params.model.primary_metric
    changes = []
    for name, old, new, retrained in sides:
        decision, paired = None, pairs.get(name)
        if new is not None:
            limits = own[name].params.gate
            decision = gate(new, old, limits, primary, "main", segmented=False, paired=paired)
        changes.append(MemberChange(name, old, new, decision, retrained, paired))
    head_params = load(None, PARAMS_FILE) or {}
    return build(
        changes,
        primary,
        base,
        with_inherited(params_changed(base), base_params, head_params),
        head_name=head_name(),
        run_url=run_url(),
        title=params.model.name,
        notes=data_changed(base),
    )


def data_changed(base: str) -> tuple[str, ...]:
    """A note when the training snapshot differs between the two sides (dvc.lock's md5)."""
    old, new = (lock.data_md5(lock.read(rev)) for rev in (base, None))
    if old is None or old == new:
        return ()
    return (
        f"The training data changed ({TRAINING_DATA}: {old[:12]} → {(new or 'none')[:12]}):"
        " members' recorded metrics were measured on other test rows.",
    )


def with_inherited(
    changed: dict[str, tuple[Any, Any]], base_params: dict[str, Any], head_params: dict[str, Any]
) -> dict[str, tuple[Any, Any]]:
    """`changed` where a member's override is added (or dropped) on one side: that side shows
    the fleet-wide value the member inherits there, marked so, instead of nothing."""
    shown = {}
    for name, (old, new) in changed.items():
        parts = name.split(".")
        if parts[:2] == ["fleet", "members"] and len(parts) > 3:
            old = _inherited(base_params, parts[3:]) if old is None else old
            new = _inherited(head_params, parts[3:]) if new is None else new
        shown[name] = (old, new)
    return shown


def _inherited(params: dict[str, Any], path: list[str]) -> str | None:
    value: Any = params
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    shown = value if isinstance(value, str) else json.dumps(value)
    return None if value is None else f"{shown} (inherited)"


def on_same_rows(base: str, params: Params, group: list[Member]) -> dict[str, Comparison]:
    """Each member's main model against the PR's, on the PR's test rows of the member (main's
    models fetched together); a member that cannot be scored there is said in one line and
    left out (the report compares its recorded metrics)."""
    if not group:
        return {}
    from . import evaluate, same_rows

    parts = split(params, read_table(TRAINING_DATA))
    models = same_rows.models_at(base, [member.outputs.model for member in group])
    found = {}
    for member in group:
        own, path = member.params, member.outputs.model
        try:
            champion = models[path]
            if isinstance(champion, DataError):
                raise champion
            if member.name not in parts or not path.is_file():
                raise DataError(f"no {path} or no rows of the member in {TRAINING_DATA}")
            model = load_model(path, own.train.estimator)
            measured = evaluate.measure(model, parts[member.name], own)
            name = f"the model of {base[:12]}"
            primary = own.model.primary_metric
            found[member.name] = same_rows.against_model(champion, measured, own, name)[primary]
        except DataError as error:
            print(
                f"report: {member.name}: {error}; its recorded metrics are compared",
                file=sys.stderr,
            )
    return found
