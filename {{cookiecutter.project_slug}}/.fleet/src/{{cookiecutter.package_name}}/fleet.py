"""The fleet at scale: its members grouped into shard stages of dvc.yaml (one CI job each beyond
one machine), and the `members` command that trains and evaluates the members of one stage.

DVC re-runs a shard's stage when one of its members' params, the snapshot or the code
changed; `members` then retrains only the members whose model key (members.key: its params,
the hash of its rows, the code) differs from the one kept in reports/<member>/run.json.
"""

from __future__ import annotations

import json

from . import shards
from .errors import DataError
from .files import read_json, read_table, save_model, write_json, write_text
from .members import Member, code_hash, key, members, refuse, rows, rows_hash, split
from .params import Params, load_params
from .paths import PIPELINE, TRAINING_DATA


def stages(params: Params) -> dict[str, list[str]]:
    return shards.stages(list(params.fleet.members), params.fleet.shards)


def members_main(stage: str) -> None:
    """Train and evaluate the members of one shard stage whose inputs changed."""
    from . import evaluate, train

    params = load_params()
    groups = stages(params)
    if stage not in groups:
        raise DataError(
            f"members: no stage {stage!r} for params.yaml's fleet (it has {', '.join(groups)});"
            " run `make repro`, which rewrites dvc.yaml's member stages"
        )
    frame = read_table(TRAINING_DATA)
    parts, code = split(params, frame), code_hash()
    wanted = set(groups[stage])
    group = [member for member in members(params) if member.name in wanted]
    refuse(params, group, parts, frame, "members", "no member's files were written")
    for number, member in enumerate(group, 1):
        label = f"members: [{number}/{len(group)}] {member.name}"
        own = rows(parts, frame, member)
        data_hash = rows_hash(own)
        model_key = key(member.params, data_hash, code)
        if unchanged(member, model_key):
            print(f"{label}: inputs unchanged, model kept")
            continue
        model = train.fit(member, own)
        save_model(model, member.outputs.model)
        result, run_id = evaluate.record(member, model, own, data_hash, {"model_key": model_key})
        run = {
            "member": member.name,
            "model_key": model_key,
            "rows": len(own),
            "rows_md5": data_hash,
        }
        write_json({**run, "mlflow_run_id": run_id}, member.outputs.run)
        primary = member.params.model.primary_metric
        value = result["metrics"][primary]
        print(f"{label}: {primary}={value:.4f} on {len(own):,} rows -> {member.outputs.model}")


def unchanged(member: Member, key: str) -> bool:
    """Whether the member's files are there and were built from the inputs `key` names."""
    if not all(path.is_file() for path in member.outputs.member_files()):
        return False
    return read_json(member.outputs.run).get("model_key") == key


def stale_stages(params: Params) -> str | None:
    """dvc.yaml's text with the member stages params.yaml asks for, or None when it has them."""
    text = PIPELINE.read_text(encoding="utf-8")
    try:
        wanted = shards.write_stages(text, list(params.fleet.members), params.fleet.shards)
    except ValueError as error:
        raise DataError(f"{PIPELINE}: {error}") from None
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
    write_text(wanted, PIPELINE)
    print(f"fleet-stages: dvc.yaml rewritten: {what}")


def shards_main() -> None:
    """The member stages as JSON, for a GitHub Actions matrix (`fromJSON`)."""
    print(json.dumps(list(stages(load_params()))))


def check_stages(params: Params, write: bool) -> None:
    """Refuse member stages in dvc.yaml that params.yaml's fleet no longer asks for, or (`write`:
    `make repro` runs check with --write-stages) rewrite them."""
    if write:
        fleet_stages_main()
    elif stale_stages(params) is not None:
        raise DataError(
            "dvc.yaml: its member stages do not match params.yaml's fleet; run"
            f" `python -m {__package__} fleet-stages` (`make repro` does)"
        )
