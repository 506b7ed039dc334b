"""Retraining on what was served: `next-window`, when the drift job judged the inference log
(`drift.current: log`), adds the labelled rows it judged (of the members to retrain) to
data/production.parquet, a DVC-tracked file that ingest appends to the training snapshot."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pandas as pd

from .errors import DataError
from .files import read_json, read_table, write_table, write_text
from .params import PARAMS_FILE, Params, parse_params
from .paths import PRODUCTION_DATA, REPORTS
from .yaml_file import parse_yaml

PRODUCTION_LINE = re.compile(
    r"^(data:\n(?:[ #].*\n|\n)*?  production: *)(null|~)?[ \t]*(?=#|$)", re.MULTILINE
)
TRACE = ["request_id", "row", "served_at"]  # kept beside the schema's columns


def chosen(result: dict[str, Any]) -> list[str]:
    """The members the drift job would retrain ("" for a single model)."""
    if "members" in result:
        return list(result.get("retrain_members", []))
    return [""] if result.get("retrain") else []


def labelled_rows(params: Params, period: dict[str, str], members: list[str]) -> pd.DataFrame:
    """The labelled rows of `members` served in `period`, in the training data's columns."""
    from .drift_log import labelled_log, retrained
    from .inference_log import open_store

    schema = params.data.schema_
    store = open_store(params)
    if store is None:
        raise DataError("next-window: inference_log.store is none in params.yaml")
    since, until = (pd.Timestamp(period[key]) for key in ("since", "until"))
    frame = retrained(labelled_log(store, schema.target, since, until), params, members)
    frame = frame.assign(served_at=frame["time"].dt.tz_convert(None))
    if schema.time:
        frame[schema.time] = frame["served_at"].dt.normalize()
    columns = [column for column in schema.columns if column in frame.columns]
    return frame[[*columns, *TRACE]].reset_index(drop=True)


def with_production(text: str) -> str:
    """params.yaml's text with data.production naming the file (comments kept)."""
    found = PRODUCTION_LINE.search(text)
    if found is None:
        raise DataError(
            f"next-window: set `production: {PRODUCTION_DATA}` in params.yaml's data section"
        )
    return (
        text[: found.start(2) if found.group(2) else found.end(1)]
        + f"{PRODUCTION_DATA} "
        + text[found.end() :]
    )


def add_rows(params: Params) -> None:
    """Append the judged labelled production rows; point params.yaml and dvc.yaml at them."""
    from . import lock
    from .use_data import PIPELINE, with_dependency

    drift_json = REPORTS / "drift.json"
    if not drift_json.is_file():
        raise DataError(f"next-window: {drift_json} missing; run `drift` first")
    result = read_json(drift_json)
    period = result.get("current", {}).get("period")
    if not period:
        raise DataError(
            f"next-window: {drift_json} did not judge the inference log; run `drift` again"
        )
    members = chosen(result)
    rows = labelled_rows(params, period, members) if members else pd.DataFrame()
    if rows.empty:
        print("next-window: no labelled production rows of a model to retrain; nothing added")
        return
    before = read_table(PRODUCTION_DATA) if PRODUCTION_DATA.is_file() else rows.iloc[:0]
    combined = pd.concat([before, rows], ignore_index=True)
    combined = combined.drop_duplicates(["request_id", "row"], keep="last")
    added = len(combined) - len(before)
    if params.data.production is None:
        text = with_production(PARAMS_FILE.read_text(encoding="utf-8"))
        parse_params(parse_yaml(text, str(PARAMS_FILE)))  # valid before it is written
        write_text(text, PARAMS_FILE)
    pipeline = Path(PIPELINE).read_text(encoding="utf-8")
    if str(PRODUCTION_DATA) not in pipeline:
        write_text(with_dependency(pipeline, str(PRODUCTION_DATA), None), Path(PIPELINE))
    write_table(combined, PRODUCTION_DATA)
    done = lock.run("add", "--quiet", str(PRODUCTION_DATA))
    if done.returncode != 0:
        raise DataError(
            f"next-window: `dvc add {PRODUCTION_DATA}` failed: {done.stderr.strip()[:300]}"
        )
    first, last = (
        f"{stamp:%Y-%m-%d %H:%M}" for stamp in (rows["served_at"].min(), rows["served_at"].max())
    )
    print(
        f"next-window: {added:,} labelled production rows served {first} to {last} UTC added to"
        f" {PRODUCTION_DATA} ({len(combined):,} in all, tracked by DVC); `dvc repro` retrains"
        " on them"
    )
