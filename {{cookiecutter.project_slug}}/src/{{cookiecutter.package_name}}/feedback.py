"""`feedback FILE`: labels that arrive in bulk (a CSV or Parquet file with `request_id`, `label`
and optionally `row`, 0 when left out) go into the inference log beside what was served. A
label is recorded only for a request id the log holds; the others are counted and named,
never guessed. A bad label stops the command before anything is written."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .errors import DataError, first_line
from .files import read_table
from .inference_log import LABELS, open_store
from .serve_log import label_problem


def checked(frame: pd.DataFrame, source: str) -> pd.DataFrame:
    """request_id, row and label, each checked; the last label of a row wins."""
    missing = [column for column in ("request_id", "label") if column not in frame.columns]
    if missing:
        raise DataError(
            f"feedback: {source} lacks the column(s) {missing}; it has {list(frame.columns)[:20]}"
        )
    rows = frame["row"] if "row" in frame.columns else pd.Series(0, index=frame.index)
    rows = pd.to_numeric(rows, errors="coerce")
    labels = pd.to_numeric(frame["label"], errors="coerce")
    ids = frame["request_id"].astype("string")
    for name, bad in {
        "request_id": ids.isna() | (ids.str.len() > 64),
        "row": rows.isna() | (rows < 0) | (rows % 1 != 0),
        "label": labels.isna(),
    }.items():
        if bad.any():
            at = int(bad.to_numpy().argmax())
            raise DataError(
                f"feedback: {source}: {int(bad.sum()):,} row(s) with a bad {name}, the first"
                f" at line {at + 2}: {frame[name].iloc[at]!r}; nothing was written"
            )
    for at, label in enumerate(labels.tolist()):
        problem = label_problem(label)
        if problem:
            raise DataError(f"feedback: {source} line {at + 2}: {problem}; nothing was written")
    found = pd.DataFrame(
        {"request_id": ids.astype(str), "row": rows.astype("int64"), "label": labels}
    )
    return found.drop_duplicates(["request_id", "row"], keep="last")


def main(path: Path) -> None:
    from .params import load_params

    params = load_params()
    store = open_store(params)
    if store is None:
        raise DataError("feedback: inference_log.store is none in params.yaml; nothing to join to")
    if not path.is_file():
        raise DataError(f"feedback: {path} is not a file")
    found = checked(read_table(path), str(path))
    ids = sorted(set(found["request_id"]))
    known = store.known(ids)
    unknown = [one for one in ids if one not in known]
    kept = found[found["request_id"].isin(known)]
    if len(kept):
        try:
            store.append(LABELS, kept.assign(time=pd.Timestamp.now(tz="UTC")))
        except Exception as error:  # a store that is down or refuses this login
            raise DataError(
                f"feedback: cannot write to {store.where}: {first_line(error)}; nothing was"
                " recorded"
            ) from None
    print(
        f"feedback: {len(kept):,} label(s) of {kept['request_id'].nunique():,} request(s)"
        f" recorded in {store.where}"
    )
    if unknown:
        named = ", ".join(repr(one[:64]) for one in unknown[:3])
        print(
            f"feedback: {len(found) - len(kept):,} label(s) of {len(unknown):,} request id(s)"
            f" the log does not hold were not recorded, e.g. {named}"
        )
