"""The fleet's report and predict: the single model's code, run once per member."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from .errors import DataError
from .files import TRAINING_DATA, load_model, read_table, write_table, write_text
from .fleet import by_member, member_params, outputs
from .github import run_url
from .paired import Comparison
from .params import PARAMS_FILE, Params, load_params
from .report import params_changed
from .revisions import head_name, load, load_all, require_revision, resolve_base


def report_main(base: str, out: Path) -> None:
    """One PR report for the fleet: each member's metrics and gate against `base`'s."""
    from .fleet_report import MemberChange, build
    from .gate import gate

    params = load_params()
    base = resolve_base(base)
    require_revision(base)
    base_params = load(base, PARAMS_FILE) or {}
    members = set(params.fleet.members) | set((base_params.get("fleet") or {}).get("members", {}))
    primary = params.model.primary_metric
    files = {m: (outputs(m).report("metrics.json"), outputs(m).report("run.json")) for m in members}
    at_base = load_all(base, [path for pair in files.values() for path in pair])
    sides = []  # (member, main's metrics, the PR's, whether the PR retrained it)
    for member in sorted(members):
        path, run = files[member]
        old, new = at_base[path], load(None, path) if member in params.fleet.members else None
        keys = [(found or {}).get("model_key") for found in (at_base[run], load(None, run))]
        sides.append((member, old, new, new is not None and keys[0] != keys[1]))
    pairs = on_same_rows(base, params, [m for m, old, _, again in sides if again and old])
    changes = []
    for member, old, new, retrained in sides:
        decision, paired = None, pairs.get(member)
        if new is not None:
            limits = member_params(params, member).gate
            decision = gate(new, old, limits, primary, "main", segmented=False, paired=paired)
        changes.append(MemberChange(member, old, new, decision, retrained, paired))
    head_params = load(None, PARAMS_FILE) or {}
    text = build(
        changes,
        primary,
        base,
        with_inherited(params_changed(base), base_params, head_params),
        head_name=head_name(),
        run_url=run_url(),
        title=params.model.name,
    )
    write_text(text, out)
    size = f"{len(text):,} characters"
    print(f"report: {len(changes)} members, {base} vs workspace -> {out} ({size})")


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


def on_same_rows(base: str, params: Params, members: list[str]) -> dict[str, Comparison]:
    """Each member's main model against the PR's, on the PR's test rows of the member (main's
    models fetched together); a member that cannot be scored there is said in one line and
    left out (the report compares its recorded metrics)."""
    if not members:
        return {}
    from . import evaluate, same_rows

    split = by_member(read_table(TRAINING_DATA), params.fleet.by)
    models = same_rows.models_at(base, [outputs(member).model for member in members])
    found = {}
    for member in members:
        own, path = member_params(params, member), outputs(member).model
        try:
            champion = models[path]
            if isinstance(champion, DataError):
                raise champion
            if member not in split or not path.is_file():
                raise DataError(f"no {path} or no rows of the member in {TRAINING_DATA}")
            measured = evaluate.measure(load_model(path, own.train.estimator), split[member], own)
            name = f"the model of {base[:12]}"
            primary = own.model.primary_metric
            found[member] = same_rows.against_model(champion, measured, own, name)[primary]
        except DataError as error:
            print(f"report: {member}: {error}; its recorded metrics are compared", file=sys.stderr)
    return found


MEMBER = "{member}"  # where --model names each member's model


def predict_main(model: str, input: Path, output: Path) -> None:
    """Score each row with its own member's model (the member is the row's `fleet.by`
    value), or every row with one model when `model` has no {member} in it. Rows of no
    member are kept, unscored, with a warning."""
    import sys

    import pandas as pd

    from . import predict

    if MEMBER not in model:
        predict.main(model, input, output)
        return
    predict.check_paths(input, output)
    params = load_params()
    by = params.fleet.by
    frame = read_table(input)
    if by not in frame.columns:
        raise DataError(f"predict: {input} lacks the column {by}, which names each row's member")
    names = frame[by].astype(str).where(frame[by].notna())
    parts, strangers = [], {}
    for member, rows in frame.groupby(names, sort=False):
        if member not in params.fleet.members:
            strangers[member] = len(rows)
            continue
        own = member_params(params, member)
        columns = predict.scored(rows, model.replace(MEMBER, member), own, input)
        parts.append(pd.DataFrame(columns, index=rows.index))
    if not parts:
        raise DataError(f"predict: no row of {input} has a {by} in fleet.members")
    unscored = len(frame) - sum(len(part) for part in parts)
    if unscored:
        why = [f"{count:,} of {by} {name!r}" for name, count in strangers.items()]
        if names.isna().any():
            why.insert(0, f"{int(names.isna().sum()):,} with no {by}")
        print(
            f"warning: predict: {unscored:,} of {len(frame):,} rows belong to no member"
            f" ({'; '.join(why[:4])}{'; ...' if len(why) > 4 else ''}); left unscored",
            file=sys.stderr,
        )
    predictions = pd.concat(parts).reindex(frame.index).convert_dtypes(convert_string=False)
    write_table(frame.assign(**predictions), output)
    scored = len(frame) - unscored
    print(f"predict: {scored:,} rows scored by {len(parts)} members ({model}) -> {output}")
