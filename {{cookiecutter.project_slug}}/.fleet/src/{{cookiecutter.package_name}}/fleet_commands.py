"""The fleet's report and predict: the single model's code, run once per member."""

from __future__ import annotations

from pathlib import Path

from .errors import DataError
from .files import read_table, write_table, write_text
from .fleet import member_params, outputs
from .github import run_url
from .params import PARAMS_FILE, load_params
from .report import params_changed
from .revisions import head_name, load, load_all, require_revision, resolve_base


def report_main(base: str, out: Path) -> None:
    """One PR report for the fleet: each member's metrics and gate against `base`'s."""
    from .fleet_report import MemberChange, build, with_inherited
    from .gate import gate

    params = load_params()
    base = resolve_base(base)
    require_revision(base)
    base_params = load(base, PARAMS_FILE) or {}
    members = set(params.fleet.members) | set((base_params.get("fleet") or {}).get("members", {}))
    primary = params.model.primary_metric
    files = {m: (outputs(m).report("metrics.json"), outputs(m).report("run.json")) for m in members}
    at_base = load_all(base, [path for pair in files.values() for path in pair])
    changes = []
    for member in sorted(members):
        path, run = files[member]
        old = at_base[path]
        new = load(None, path) if member in params.fleet.members else None
        decision, retrained = None, False
        if new is not None:
            limits = member_params(params, member).gate
            decision = gate(new, old, limits, primary, against="main", segmented=False)
            keys = [(found or {}).get("model_key") for found in (at_base[run], load(None, run))]
            retrained = keys[0] != keys[1]
        changes.append(MemberChange(member, old, new, decision, retrained))
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
