"""The fleet: one model per member (a value of the `fleet.by` column), each trained,
evaluated, gated, promoted and drift-checked on its own rows.

A member's params are the shared sections of params.yaml with its own overrides
(`fleet.members.<member>`: train and gate keys) merged in, key by key. Its model is
registered as `<model.name>-<member>`, with its own champion and gate.

DVC re-runs a shard's stage when one of its members' params, the snapshot or the code
changed; the `members` command then retrains only the members whose inputs changed: a
member's key (its params, the hash of its rows, the code) is kept in reports/<member>/run.json.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import registry, shards
from .errors import DataError, PipelineError
from .files import (
    TRAINING_DATA,
    Outputs,
    read_json,
    read_table,
    write_json,
    write_text,
)
from .params import PARAMS_FILE, Params, load_params, parse_params

if TYPE_CHECKING:
    import pandas as pd

DVC_YAML = Path("dvc.yaml")


# ---------------------------------------------------------------- members


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def member_params(params: Params, member: str) -> Params:
    """The member's own params: the shared ones, its overrides merged in, its model name;
    the `by` column is no feature of a member's model (it has one value there)."""
    raw = params.model_dump(by_alias=True, mode="json", exclude={"fleet"})
    over = params.fleet.overrides(member)
    if over.train.get("estimator", raw["train"]["estimator"]) != raw["train"]["estimator"]:
        raw["train"].pop("hyperparameters")  # another estimator takes other hyperparameters
    raw["train"] = _merge(raw["train"], over.train)
    raw["gate"] = _merge(raw["gate"], over.gate)
    raw["model"]["name"] = f"{params.model.name}-{member}"
    by = params.fleet.by
    schema = raw["data"]["schema"]
    schema["categorical"].pop(by, None)
    schema["segment"] = None
    raw["drift"]["critical_columns"] = [c for c in raw["drift"]["critical_columns"] if c != by]
    raw["drift"]["thresholds"].pop(by, None)
    sensitive = raw["fairness"]["sensitive_features"]
    raw["fairness"]["sensitive_features"] = [name for name in sensitive if name != by]
    return parse_params(raw, f"{PARAMS_FILE} (fleet.members.{member})")


def outputs(member: str) -> Outputs:
    files = shards.member_outputs(member)
    return Outputs(model=Path(files["model"]), reports=Path(files["metrics"]).parent)


def by_member(frame: pd.DataFrame, by: str) -> dict[str, pd.DataFrame]:
    """Each member's rows, split in one pass over the table."""
    return {
        str(name): rows.reset_index(drop=True)
        for name, rows in frame.groupby(frame[by].astype(str), sort=False, observed=True)
    }


def member_rows(split: dict[str, pd.DataFrame], frame: pd.DataFrame, member: str) -> pd.DataFrame:
    """`member`'s rows of a table `by_member` split (none: an empty table of its columns)."""
    return split.get(member, frame.iloc[:0])


def rows_hash(rows: pd.DataFrame) -> str:
    import pandas as pd

    return hashlib.md5(
        pd.util.hash_pandas_object(rows, index=False).to_numpy().tobytes(),
        usedforsecurity=False,
    ).hexdigest()


def code_hash() -> str:
    here = Path(__file__).parent
    digest = hashlib.md5(usedforsecurity=False)
    for name in shards.CODE:
        digest.update((here / name).read_bytes())
    return digest.hexdigest()


def member_key(params: Params, data_hash: str, code: str) -> str:
    """What produced a member's model: its params, its rows and the code."""
    used = params.model_dump(
        include={"model": True, "data": {"schema_"}, "split": True, "train": True}, mode="json"
    )
    text = json.dumps({"params": used, "data": data_hash, "code": code}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def fleet_section(by: str, members: list[str], shards: int, kept: dict[str, dict]) -> str:
    """The `fleet:` section: one member per value of `by`, each with its overrides in `kept`."""
    lines = [
        'fleet:                     # one model per member: see README "The fleet"',
        f"  by: {json.dumps(by)}  # written by `use-data`: each of its values is a member",
        f"  shards: {min(shards, len(members))}  # DVC stages (and CI jobs) for the members",
        "  windows: {}",
        "  members:                 # every member; each may override train and gate keys",
        *(f"    {json.dumps(member)}: {json.dumps(kept.get(member, {}))}" for member in members),
        "",
    ]
    return "\n".join(lines)


def member_counts(frame: pd.DataFrame, by: str) -> pd.Series:
    """Rows per value of `by` (the members to be), by name."""
    from .ingest import as_categories

    counts = as_categories(frame[by]).dropna().astype(str).value_counts().sort_index()
    if counts.empty:
        raise DataError(f"use-data: --by {by!r} holds no values, so there would be no member")
    return counts


def stages(params: Params) -> dict[str, list[str]]:
    return shards.stages(list(params.fleet.members), params.fleet.shards)


# ---------------------------------------------------------------- pipeline


def windows(params: Params, ahead: int = 0) -> dict[str, int]:
    """Each member's synthetic window (its own, else data.window), `ahead` windows on."""
    own, shared = params.fleet.windows, params.data.window
    return {member: own.get(member, shared) + ahead for member in params.fleet.members}


def synthetic_rows(params: Params, wanted: dict[str, int]) -> pd.DataFrame:
    """Each member's rows from the synthetic window `wanted` names for it; one window read
    per distinct window."""
    import pandas as pd

    from .ingest import ingest

    parts = []
    for window in sorted(set(wanted.values())):
        frame = ingest(params.data, window=window)
        chosen = [member for member, own in wanted.items() if own == window]
        parts.append(frame[frame[params.fleet.by].astype(str).isin(chosen)])
    return pd.concat(parts, ignore_index=True)


def ingest_main() -> None:
    """The snapshot; with synthetic data each member's rows come from its own window."""
    from .files import write_table
    from .ingest import ingest

    params = load_params()
    data, own = params.data, windows(params)
    if data.source == "synthetic" and set(own.values()) != {data.window}:
        frame = synthetic_rows(params, own)
    else:
        frame = ingest(data)
    split = by_member(frame, params.fleet.by)
    for member in params.fleet.members:  # before the snapshot is replaced
        refuse_member(params, member, member_rows(split, frame, member), "ingest")
    write_table(frame, TRAINING_DATA)
    counts = {window: list(own.values()).count(window) for window in set(own.values())}
    spread = ", ".join(f"window {window}: {count}" for window, count in sorted(counts.items()))
    print(f"ingest: {len(frame):,} rows for {len(own)} members ({spread}) -> {TRAINING_DATA}")


def member_problem(own: Params, rows: pd.DataFrame) -> str | None:
    """Why a member's rows cannot train its model (too few rows, or a split that lacks a
    class or a date), or None."""
    from . import task

    schema = own.data.schema_
    if len(rows) < schema.min_rows:
        return f"{len(rows):,} rows; data.schema.min_rows asks for at least {schema.min_rows:,}"
    return task.split_problem(rows, own.split, schema)


def refuse_member(params: Params, member: str, rows: pd.DataFrame, stage: str) -> None:
    """Stop, naming the member, when its rows cannot train its model; before any file of it
    (or of the other members of the stage) is written."""
    problem = member_problem(member_params(params, member), rows)
    if problem:
        raise DataError(
            f"{stage}: member {member!r} ({params.fleet.by} == {member!r}): {problem};"
            " no member's files were written"
        )


def members_main(stage: str) -> None:
    """Train and evaluate the members of one shard stage whose inputs changed."""
    from . import evaluate, train
    from .files import save_model

    params = load_params()
    groups = stages(params)
    if stage not in groups:
        raise DataError(
            f"members: no stage {stage!r} for params.yaml's fleet (it has {', '.join(groups)});"
            " run `make repro`, which rewrites dvc.yaml's member stages"
        )
    frame = read_table(TRAINING_DATA)
    split = by_member(frame, params.fleet.by)
    code, group = code_hash(), groups[stage]
    primary = params.model.primary_metric
    for member in group:  # all of the stage's members first: a refusal writes no member's files
        refuse_member(params, member, member_rows(split, frame, member), "members")
    for number, member in enumerate(group, 1):
        own = member_params(params, member)
        rows = member_rows(split, frame, member)
        data_hash = rows_hash(rows)
        key = member_key(own, data_hash, code)
        out = outputs(member)
        files = [out.model, *(out.report(n) for n in ("metrics.json", "importance.json"))]
        recorded = read_json(out.report("run.json")) if out.report("run.json").is_file() else {}
        label = f"members: [{number}/{len(group)}] {member}"
        if recorded.get("model_key") == key and all(path.is_file() for path in files):
            print(f"{label}: inputs unchanged, model kept")
            continue
        try:
            model = train.train(rows, own.data.schema_, own.split, own.train)
        except PipelineError as error:
            raise type(error)(f"{member}: {error}") from None
        save_model(model, out.model)
        result = evaluate.evaluate(model, rows, own)
        write_json(result["metrics"], out.report("metrics.json"))
        write_json(result["importance"], out.report("importance.json"))
        card = evaluate.model_card(own, result, data_hash, len(rows))
        write_text(card, out.report("model_card.md"))
        tags = {"model_key": key, "member": member}
        run_id = registry.log_run(own, result["metrics"], outputs=out, extra=tags)
        run = {"member": member, "model_key": key, "rows": len(rows), "rows_md5": data_hash}
        write_json({**run, "mlflow_run_id": run_id}, out.report("run.json"))
        value = result["metrics"][primary]
        print(f"{label}: {primary}={value:.4f} on {len(rows):,} rows -> {out.model}")


def stale_stages(params: Params) -> str | None:
    """dvc.yaml's text with the member stages params.yaml asks for, or None when it has them."""
    text = DVC_YAML.read_text(encoding="utf-8")
    try:
        wanted = shards.write_stages(text, list(params.fleet.members), params.fleet.shards)
    except ValueError as error:
        raise DataError(f"{DVC_YAML}: {error}") from None
    return None if wanted == text else wanted


def fleet_stages_main() -> None:
    params = load_params()
    wanted = stale_stages(params)
    groups = stages(params)
    plural = "s" if len(groups) > 1 else ""
    what = f"{len(params.fleet.members)} members in {len(groups)} stage{plural}"
    if wanted is None:
        print(f"fleet-stages: dvc.yaml is up to date ({what})")
        return
    write_text(wanted, DVC_YAML)
    print(f"fleet-stages: dvc.yaml rewritten: {what}")


def shards_main() -> None:
    """The member stages as JSON, for a GitHub Actions matrix (`fromJSON`)."""
    print(json.dumps(list(stages(load_params()))))


def check(params: Params) -> str:
    for member in params.fleet.members:
        member_params(params, member)
    if stale_stages(params) is not None:
        raise DataError(
            "dvc.yaml: its member stages do not match params.yaml's fleet; run"
            f" `python -m {__package__} fleet-stages` (`make repro` does)"
        )
    return f"{len(params.fleet.members)} members"
