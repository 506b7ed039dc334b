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
import os
from dataclasses import asdict
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import registry, shards
from .errors import DataError, PipelineError
from .files import (
    PIPELINE_LOCK,
    REPORTS,
    TRAINING_DATA,
    Outputs,
    read_json,
    read_table,
    write_json,
    write_table,
    write_text,
)
from .params import PARAMS_FILE, Params, load_params, parse_params

if TYPE_CHECKING:
    import pandas as pd

DVC_YAML = Path("dvc.yaml")
PROMOTION = REPORTS / "promotion.json"


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


def gather_main(folder: Path) -> None:
    """Beyond one machine: each CI shard job ran `dvc repro <stage>` on the data of one plan
    job and kept its dvc.lock and outputs in `folder/<stage>/`; put its members' files into
    the workspace and its stage's entry into dvc.lock, and the files into the DVC cache, so
    that the workspace is the one a single `dvc repro` would have left."""
    import shutil
    import subprocess
    import sys

    import yaml

    from .files import md5
    from .promote import stage_md5s

    params = load_params()
    if not PIPELINE_LOCK.is_file():
        raise DataError(f"gather: {PIPELINE_LOCK} missing; the plan job's files come first")
    lock = yaml.safe_load(PIPELINE_LOCK.read_text(encoding="utf-8"))
    planned = {name: e for name, e in lock["stages"].items() if not name.startswith("members-")}
    groups = stages(params)
    single = len(groups) == 1 and (folder / PIPELINE_LOCK).is_file()  # one artifact: no subfolder
    merged, copies = dict(planned), []
    for stage, members in groups.items():
        shard = folder if single else folder / stage
        if not (shard / PIPELINE_LOCK).is_file():
            raise DataError(f"gather: no {shard / PIPELINE_LOCK}: did the job for {stage} finish?")
        theirs = yaml.safe_load((shard / PIPELINE_LOCK).read_text(encoding="utf-8"))["stages"]
        if stage not in theirs:
            raise DataError(f"gather: {shard / PIPELINE_LOCK} has no entry for {stage}")
        for name, entry in planned.items():
            if theirs.get(name) != entry:
                raise DataError(
                    f"gather: {stage} did not run on the plan job's data: its dvc.lock entry for"
                    f" {name} differs; nothing was gathered"
                )
        recorded = stage_md5s({stage: theirs[stage]})  # not a stale entry of another stage
        for member in members:
            for path in shards.member_outputs(member).values():
                source = shard / path
                found = md5(source) if source.is_file() else "missing"
                if found != recorded.get(path):
                    raise DataError(
                        f"gather: {stage}'s {path} (md5 {found[:12]}) is not the file its"
                        " dvc.lock records; nothing was gathered"
                    )
                copies.append((source, Path(path)))
        merged[stage] = theirs[stage]
    for source, path in copies:
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, path)
    lock["stages"] = merged
    write_text(yaml.safe_dump(lock, sort_keys=False), PIPELINE_LOCK)
    # The files into this runner's DVC cache; dvc.lock must come out of it as it went in.
    done = subprocess.run(
        [sys.executable, "-m", "dvc", "commit", "--force", "--quiet"],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise DataError(f"gather: `dvc commit` failed: {done.stderr.strip()}")
    if yaml.safe_load(PIPELINE_LOCK.read_text(encoding="utf-8"))["stages"] != merged:
        raise DataError(
            "gather: the workspace's code, params or data are not what the shards ran on"
            " (dvc commit changed dvc.lock)"
        )
    print(
        f"gather: {len(params.fleet.members)} members from {len(groups)} stages"
        f" ({len(copies)} files) -> {PIPELINE_LOCK}"
    )


def check(params: Params) -> str:
    for member in params.fleet.members:
        member_params(params, member)
    if stale_stages(params) is not None:
        raise DataError(
            "dvc.yaml: its member stages do not match params.yaml's fleet; run"
            " `python -m {{ cookiecutter.package_name }} fleet-stages` (`make repro` does)"
        )
    return f"{len(params.fleet.members)} members"


# ---------------------------------------------------------------- report


def report_main(base: str, out: Path) -> None:
    """One PR report for the fleet: each member's metrics and gate against `base`'s."""
    from . import report
    from .fleet_report import MemberChange, build, with_inherited
    from .gate import gate

    params = load_params()
    base = report.resolve_base(base)
    report.require_revision(base)
    base_params = report._load(base, PARAMS_FILE) or {}
    members = set(params.fleet.members) | set((base_params.get("fleet") or {}).get("members", {}))
    primary = params.model.primary_metric
    changes = []
    for member in sorted(members):
        path, run = outputs(member).report("metrics.json"), outputs(member).report("run.json")
        old = report._load(base, path)
        new = report._load(None, path) if member in params.fleet.members else None
        decision, retrained = None, False
        if new is not None:
            limits = member_params(params, member).gate
            decision = gate(new, old, limits, primary, against="main", segmented=False)
            keys = [(report._load(rev, run) or {}).get("model_key") for rev in (base, None)]
            retrained = keys[0] != keys[1]
        changes.append(MemberChange(member, old, new, decision, retrained))
    head_params = report._load(None, PARAMS_FILE) or {}
    text = build(
        changes,
        primary,
        base,
        with_inherited(report.params_changed(base), base_params, head_params),
        head_name=report.head_name(),
        run_url=report.run_url(),
        title=params.model.name,
    )
    write_text(text, out)
    size = f"{len(text):,} characters"
    print(f"report: {len(changes)} members, {base} vs workspace -> {out} ({size})")


# ---------------------------------------------------------------- promote


def promote_main(strict: bool = False) -> None:
    """Gate and promote each member whose model is not its champion yet, independently."""
    from mlflow import MlflowClient

    from . import promote, tracking

    params = load_params()
    if not PIPELINE_LOCK.is_file():
        raise DataError(f"{PIPELINE_LOCK} missing; run `dvc repro` first")
    members = list(params.fleet.members)
    promote.check_workspace(PIPELINE_LOCK.read_text(), [outputs(m).model for m in members])
    commit = tracking.git_state()["git_commit"]
    uri = tracking.configure()
    client = MlflowClient()
    results: dict[str, dict[str, Any]] = {}
    champions = promote._guarded(partial(champion_keys, client, params.model.name), uri)
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
        candidate = measured(own, out, member_rows(split, frame, member))
        register = partial(registry.register, client, own, key, candidate, out, {"member": member})
        verified = promote.holds_model(client, out.model)
        decide = partial(
            promote.decide, client, own, candidate, key, register, commit, verified=verified
        )
        try:
            result = promote._guarded(decide, uri)
            state = (
                "unchanged"
                if result.promoted and result.version == result.previous_version
                else "promoted"
                if result.promoted
                else "held_back"
            )
            results[member] = {"decision": state, **asdict(result)}
        except promote.PromotionRefused as error:
            results[member] = {"decision": "refused", "reason": str(error), "promoted": False}
        print(f"promote: {member}: {results[member]['decision']}: {results[member]['reason']}")
    by_state = {
        state: [m for m, r in results.items() if r["decision"] == state]
        for state in ("promoted", "held_back", "refused", "unchanged")
    }
    write_json({**by_state, "members": results}, PROMOTION)
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        with open(summary, "a", encoding="utf-8") as handle:
            handle.write(promotion_summary(params.model.name, results))
    counts = ", ".join(
        f"{len(names)} {state.replace('_', ' ')}" for state, names in by_state.items()
    )
    print(f"promote: {counts} -> {PROMOTION}")
    stopped = by_state["held_back"] + by_state["refused"]
    if strict and stopped:
        raise PipelineError(f"promote: held back and --strict was given: {stopped}")


def measured(params: Params, out: Outputs, rows: pd.DataFrame) -> dict[str, float]:
    """The gate's numbers, measured here on the member's test rows: committed metrics files
    come from a branch, and a branch's word is not what promotes a model."""
    from . import evaluate
    from .files import load_model

    model = load_model(out.model, params.train.estimator)
    metrics = evaluate.measure(model, rows, params)["metrics"]
    committed = out.report("metrics.json")
    if read_json(committed) != metrics:
        print(f"promote: {out.model}: the metrics measured here differ from {committed}")
    return metrics


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
    result = promote._guarded(partial(promote.rollback, MlflowClient(), own), uri)
    print(f"rollback: {own.model.name}: {result.reason}")


# ---------------------------------------------------------------- predict

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
