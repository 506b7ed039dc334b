"""Point the pipeline at your own table in one step.

`use-data FILE --target COLUMN` reads the file, describes its columns as the
schema, and rewrites the `data` section of params.yaml (other sections and their
comments stay), empties `drift.critical_columns` (it names the synthetic data's
columns), sets the gate's bound from a naive baseline on the file, words `model`
for it, and makes the file a dependency of the ingest stage in dvc.yaml, so a new
version of it re-runs the pipeline. Nothing is written unless the result is valid.

In a fleet, the members become the values of the `--by` column (default: fleet.by):
the `fleet` section is rewritten (members that stay keep their overrides) and so are
dvc.yaml's member stages.
"""

from __future__ import annotations

import json
import math
import re
import shlex
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from . import task
from .errors import DataError
from .files import read_table, sniff_separator, write_text
from .ingest import conform, not_dates
from .members import FLEET, members, refuse, split
from .params import PARAMS_FILE, Params, load_params, outside_repository, parse_params
from .paths import PIPELINE
from .yaml_file import parse_yaml

MOST_CATEGORIES = 50  # more distinct values than this: any value is allowed ([])
SECTION = re.compile(r"^data:[^\n]*\n(?:(?: .*)?\n)*", re.MULTILINE)  # to the next top-level line
GATE_SECTION = re.compile(r"^gate:[^\n]*\n(?:(?: .*)?\n)*", re.MULTILINE)
MODEL_SECTION = re.compile(r"^model:[^\n]*\n(?:(?: .*)?\n)*", re.MULTILINE)
CRITICAL = re.compile(r"^(  critical_columns: *)\[[^\]\n]*\]", re.MULTILINE)
SENSITIVE = re.compile(r"^(  sensitive_features: *)\[[^\]\n]*\]", re.MULTILINE)
INGEST_DEPS = re.compile(r"^  ingest:\n(?:    .*\n)*?    deps:\n((?:      - .*\n)+)", re.MULTILINE)


def _name(text: str) -> str:
    return json.dumps(text)  # a JSON string is a YAML string: any column name is safe


def describe(
    frame: pd.DataFrame, target: str, segment: str | None, time: str | None = None
) -> tuple[list[str], dict[str, list[str]], list[str]]:
    """Numeric columns, categorical columns (with their values) and the columns left out."""
    for column, role in ((target, "--target"), (segment, "--segment"), (time, "--time")):
        if column is not None and column not in frame.columns:
            raise DataError(
                f"use-data: {role} {column!r} is not a column; the file has {list(frame.columns)}"
            )
    problem = task.target_problem(frame[target])
    if problem:
        found = sorted(map(str, frame[target].dropna().unique()))[:5]
        raise DataError(f"use-data: the target {target!r} {problem}; found {found}")
    problem = not_dates(frame[time]) if time is not None else None
    if problem:
        raise DataError(f"use-data: --time {time!r} {problem}")
    numeric, categorical, skipped = [], {}, []
    for column in frame.columns:
        values = frame[column]
        if column in (target, time):
            continue
        if pd.api.types.infer_dtype(values, skipna=True) == "boolean":  # blanks make it object
            categorical[column] = []
        elif pd.api.types.is_numeric_dtype(values):
            if column == segment:
                continue  # a numeric code: a segment only, not a feature

            numeric.append(column)
        elif values.nunique() == len(values) and column != segment:
            skipped.append(column)  # an identifier: one value per row predicts nothing
        else:
            distinct = sorted(map(str, values.dropna().unique()))
            categorical[column] = distinct if len(distinct) <= MOST_CATEGORIES else []
    return numeric, categorical, skipped


def data_section(
    path: str,
    sep: str | None,
    frame: pd.DataFrame,
    target: str,
    segment: str | None,
    numeric: list[str],
    categorical: dict[str, list[str]],
    time: str | None = None,
    min_rows: int | None = None,
) -> str:
    """The `data:` section of params.yaml for the table, with comments; `min_rows` defaults
    to half of the table's rows."""
    features = [*numeric, *categorical]
    worst = max((float(frame[column].isna().mean()) for column in features), default=0.0)
    numeric_lines = [f"      {_name(column)}: " + "{}" for column in numeric]
    categorical_lines = [
        f"      {_name(column)}: {json.dumps(values)}" for column, values in categorical.items()
    ]
    lines = [
        "data:",
        '  source: file             # written by `use-data`; see README "Use your own data"',
        f"  path: {_name(path)}",
        *([f"  sep: {_name(sep)}                # the CSV delimiter"] if sep else []),
        "  window: 0                # the drift job moves it forward to retrain on data.path",
        "  schema:",
        f"    target: {_name(target)}  # {task.TARGET_NOTE}",
        "    numeric:"
        + ("  # name: {min, max}; either bound may be left out" if numeric else " {}"),
        *numeric_lines,
        "    categorical:" + ("  # name: allowed values ([] allows any)" if categorical else " {}"),
        *categorical_lines,
        f"    segment: {_name(segment) if segment else 'null'}  # metrics per segment; null: none",
        *([f"    time: {_name(time)}  # the date of each row"] if time else []),
        f"    min_rows: {min_rows or max(1, len(frame) // 2)}  # fewer rows are refused",
        f"    max_null_fraction: {math.ceil(worst * 100) / 100}  # missing share allowed",
        "",
    ]
    return "\n".join(lines)


def with_gate(params_text: str, keys: dict[str, float]) -> str:
    """params.yaml's text with the gate keys in `keys` set; a bound's comment says where it
    came from, the other keys keep theirs."""
    found = GATE_SECTION.search(params_text)
    if found is None:
        raise DataError(f"use-data: {PARAMS_FILE} has no top-level `gate:` section")
    section = found.group(0)
    for key, value in keys.items():
        bound = key.endswith("_value")  # min_value or max_value: it replaces either
        names = "min_value|max_value" if bound else key
        kept = re.search(rf"(?m)^  (?:{names}):[^#\n]*(#.*)?$", section)
        note = "# a naive baseline's value, set by `use-data`"
        if kept and not bound:
            note = kept.group(1) or "# scaled by `use-data`"
        line = f"{f'  {key}: {value:g}':<26} {note}"
        if kept:
            section = section[: kept.start()] + line + section[kept.end() :]
        else:  # after the section's first line
            section = section.replace("\n", f"\n{line}\n", 1)
    return params_text[: found.start()] + section + params_text[found.end() :]


def with_own_wording(params_text: str, params: Params, target: str, path: Path) -> str:
    """params.yaml's `model` section without the synthetic source's words: the threshold's
    comment, and the description when it is still the one the template wrote for it."""
    found = MODEL_SECTION.search(params_text)
    if found is None:
        return params_text
    section, own = found.group(0), f"# score at or above which a row is predicted {target} = 1"
    threshold = r"(?m)^(  threshold:[^#\n]*)#.*$"
    section = re.sub(threshold, lambda m: m.group(1) + own, section, count=1)
    if params.model.description.startswith(task.SOURCE_WORDING):
        own = f"Predicts {target} from {path.name}; trained, reviewed and promoted through Git."
        folded = r"(?m)^  description:.*\n(?:   +.*\n)*"  # a value YAML folded onto more lines
        section = re.sub(folded, lambda _: f"  description: {_name(own)}\n", section, count=1)
    return params_text[: found.start()] + section + params_text[found.end() :]


def data_gate(frame: pd.DataFrame, params: Params) -> tuple[dict[str, float], str]:
    """task.data_gate on the file's split, refusing a table (or a fleet member's rows) the
    split cannot use."""
    rows = conform(frame, params.data.schema_)
    refuse(params, members(params), split(params, rows), rows, "use-data", "nothing was written")
    train_part, test_part = task.split(rows, params.split, params.data.schema_)
    return task.data_gate(train_part, test_part, params)


def _dependency(line: str) -> Any:
    return yaml.safe_load(line.strip().removeprefix("-").strip())


def with_dependency(pipeline: str, path: str, previous: str | None) -> str:
    """dvc.yaml's text with `path` among the ingest stage's dependencies, once, in place of
    the `previous` data file."""
    found = INGEST_DEPS.search(pipeline)
    if found is None:
        raise DataError(f"use-data: {PIPELINE} has no `deps:` list in its ingest stage")
    lines = [
        line
        for line in found.group(1).splitlines(keepends=True)
        if _dependency(line) not in {previous, path}
    ]
    lines.append(f"      - {_name(path)}\n")
    changed = pipeline[: found.start(1)] + "".join(lines) + pipeline[found.end(1) :]
    if path not in yaml.safe_load(changed)["stages"]["ingest"]["deps"]:
        raise DataError(f"use-data: could not add {path} to the ingest stage in {PIPELINE}")
    return changed


def main(
    path: Path,
    target: str,
    segment: str | None = None,
    by: str | None = None,
    sep: str | None = None,
    time: str | None = None,
    sensitive: list[str] | None = None,
) -> None:
    params = load_params()  # a broken params.yaml is reported, not overwritten
    current = params.data
    previous = current.path if current.source == "file" else None
    params_text = PARAMS_FILE.read_text(encoding="utf-8")
    if path.is_absolute() and path.resolve().is_relative_to(Path.cwd().resolve()):
        path = path.resolve().relative_to(Path.cwd().resolve())  # params.yaml keeps it relative
    if outside_repository(str(path)):
        raise DataError(
            f"use-data: {path} is outside this repository, where DVC cannot version it; copy"
            " it into data/raw/ (or `dvc import-url` it there) and give that path, e.g."
            f" data/raw/{path.name}"
        )
    if path.suffix.lower() == ".csv" and sep is None and path.is_file():
        sep = sniff_separator(path)
    frame = read_table(path, sep=sep)
    fleet = None
    if FLEET:
        from .fleet_params import FleetData

        fleet = FleetData.plan(params, params_text, frame, by, (target, time))
    numeric, categorical, skipped = describe(frame, target, segment, time)
    if fleet is not None:
        numeric, categorical, skipped = fleet.describe(numeric, categorical, skipped)
    section = data_section(
        path.as_posix(),
        sep if path.suffix.lower() == ".csv" else None,
        frame,
        target,
        segment,
        numeric,
        categorical,
        time,
        fleet.min_rows if fleet is not None else None,  # each member's rows are checked
    )
    if SECTION.search(params_text) is None:
        raise DataError(f"use-data: {PARAMS_FILE} has no top-level `data:` section")
    new_params = SECTION.sub(lambda _: section + "\n", params_text, count=1)
    new_params = CRITICAL.sub(r"\1[]", new_params, count=1)
    fair = json.dumps(sensitive or [])  # the old data's columns are gone; checked on parsing
    new_params = SENSITIVE.sub(lambda found: found.group(1) + fair, new_params, count=1)
    if fleet is not None:
        new_params = fleet.section(new_params)
    new = parse_params(parse_yaml(new_params, str(PARAMS_FILE)))  # nothing the pipeline refuses
    gate, why = data_gate(frame, new)
    new_params = with_own_wording(with_gate(new_params, gate), params, target, path)
    new = parse_params(parse_yaml(new_params, str(PARAMS_FILE)))
    new_pipeline = with_dependency(PIPELINE.read_text(encoding="utf-8"), path.as_posix(), previous)
    if fleet is not None:
        new_pipeline = fleet.stages(new_pipeline, new)
    write_text(new_params, PARAMS_FILE)
    write_text(new_pipeline, PIPELINE)
    features = f"{len(numeric)} numeric and {len(categorical)} categorical features"
    roles = (
        f" (with {fleet.by}), target {target!r}"
        if fleet is not None
        else f", target {target!r}, segment {segment or 'none'}"
    )
    print(
        f"use-data: {len(frame):,} rows; {features}{roles} -> {PARAMS_FILE} (data,"
        f" drift.critical_columns, fairness.sensitive_features), {PIPELINE} (ingest deps)"
    )
    if fleet is not None:
        fleet.written(frame)
    if skipped:
        print(f"use-data: left out {skipped}: one distinct value per row (an identifier?)")
    was = {key: "none" if v is None else f"{v:g}" for key, v in params.gate.model_dump().items()}
    changes = ", ".join(f"gate.{key} {gate[key]:g} (was {was[key]})" for key in gate)
    print(f"use-data: {changes} -> {PARAMS_FILE}: {why}" if gate else f"use-data: gate: {why}")
    print(f"use-data: next: review {PARAMS_FILE}, `dvc add {shlex.quote(str(path))}`, `dvc repro`")
