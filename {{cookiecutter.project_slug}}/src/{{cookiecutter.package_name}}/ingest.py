"""Stage 1: read the data source named in params.yaml and write the training snapshot."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from . import synthetic
from .errors import DataError
from .files import read_table, write_table
from .params import DataParams, Params, Schema
from .paths import TRAINING_DATA


def plain_numbers(values: pd.Series) -> pd.Series:
    """pandas' nullable numbers (Int64, Float64, ..., as Parquet often brings them) as float64
    with NaN for missing, which scikit-learn and the type check expect; others as they are."""
    dtype = values.dtype
    nullable = isinstance(dtype, pd.api.extensions.ExtensionDtype)
    if nullable and pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype):
        return values.astype("float64")
    return values


def count_infinite(numbers: pd.Series) -> int:
    """How many values of a numeric column are infinite (training and predict refuse them)."""
    return int(np.isinf(numbers.to_numpy(dtype=float, na_value=np.nan)).sum())


def _text(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # a code read as 3.0 because of a blank elsewhere is "3"
    return str(value)


def as_categories(values: pd.Series) -> pd.Series:
    """A categorical column as `category` with text values, missing ones kept: true/false or
    number codes then read the same in training, in a new file to predict and in the type
    check (which refused a category of bools)."""
    if not isinstance(values.dtype, pd.CategoricalDtype):
        values = values.astype("category")
    if pd.api.types.infer_dtype(values.cat.categories, skipna=True) == "string":
        return values
    return values.astype(object).map(_text, na_action="ignore").astype("category")


NUMBERS = {"integer", "floating", "mixed-integer-float", "decimal", "boolean"}


def as_dates(values: pd.Series) -> tuple[pd.Series, str | None]:
    """A time column as dates, and why it does not hold dates (None when it does). Numbers
    are not dates (pandas would read them as nanoseconds after 1970-01-01); text must parse."""
    if pd.api.types.is_datetime64_any_dtype(values):
        return values, None
    present = values.dropna()
    if pd.api.types.infer_dtype(present, skipna=True) in NUMBERS:
        dates, bad, what = values, present, "numbers, not dates"
    else:
        with warnings.catch_warnings():  # "could not infer format": each value is parsed alone
            warnings.simplefilter("ignore", UserWarning)
            dates = pd.to_datetime(values, errors="coerce")
        bad = values[dates.isna() & values.notna()]
        what = f"{len(bad):,} value(s) that are not dates"
    if bad.empty:
        return dates, None
    examples = ", ".join(repr(value) for value in bad.drop_duplicates().head(3).tolist())
    return dates, f"holds {what}, e.g. {examples}; write dates such as 2025-01-06"


def not_dates(values: pd.Series) -> str | None:
    """Why a time column does not hold dates, or None (as_dates, for a check alone)."""
    return as_dates(values)[1]


def conform(frame: pd.DataFrame, schema: Schema) -> pd.DataFrame:
    """Keep the declared columns in declared order; categorical columns become text `category`.

    Numeric columns are left as read (but for `plain_numbers`), so that validation
    can catch a column that arrived as text.
    """
    missing = [column for column in schema.columns if column not in frame.columns]
    if missing:
        declared = {
            schema.target: "target",
            schema.segment: "segment",
            schema.time: "time",
            **dict.fromkeys(schema.categorical, "categorical"),
            **dict.fromkeys(schema.numeric, "numeric"),
        }
        named = ", ".join(f"{column!r} (data.schema.{declared[column]})" for column in missing)
        raise DataError(
            f"ingest: the data lacks {named}; edit data.schema or the data."
            f" It has {list(frame.columns)[:20]}"
        )
    frame = frame[schema.columns].copy()
    for column in schema.numeric:
        values = frame[column] = plain_numbers(frame[column])
        if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values):
            infinite = count_infinite(values)
            if infinite:
                raise DataError(
                    f"ingest: column {column!r} holds {infinite:,} infinite value(s);"
                    " replace them (or leave them empty, as missing) and run again"
                )
    for column in schema.categorical:
        frame[column] = as_categories(frame[column])
    if schema.time:
        dates, problem = as_dates(frame[schema.time])
        if problem:
            raise DataError(f"ingest: the time column {schema.time!r} {problem}")
        frame[schema.time] = dates
    return frame.reset_index(drop=True)


def ingest(params: DataParams, window: int | None = None) -> pd.DataFrame:
    """The rows of one window (default: params.window) from the configured source."""
    window = params.window if window is None else window
    if params.source == "synthetic":
        frame = synthetic.generate(int(params.rows or 0), window=window, seed=int(params.seed or 0))
    else:
        frame = read_table(Path(str(params.path)), params.schema_.columns, sep=params.sep)
    return conform(frame, params.schema_)


def windowed(params: Params, wanted: dict[str, int]) -> pd.DataFrame:
    """Synthetic rows of each fleet member from the window `wanted` names for it; one window
    read per distinct window."""
    parts = []
    for window in sorted(set(wanted.values())):
        frame = ingest(params.data, window=window)
        chosen = [member for member, own in wanted.items() if own == window]
        parts.append(frame[frame[params.fleet.by].astype(str).isin(chosen)])
    return pd.concat(parts, ignore_index=True)


def newest(params: Params, ahead: int) -> tuple[pd.DataFrame, str]:
    """The synthetic rows each member is at, `ahead` windows on (the drift job's new data is
    one ahead), and which windows they came from."""
    from .members import members

    wanted = {member.name: member.window + ahead for member in members(params)}
    windows = sorted(set(wanted.values()))
    if len(windows) == 1:
        return ingest(params.data, window=windows[0]), f"synthetic window {windows[0]}"
    counts = [list(wanted.values()).count(window) for window in windows]
    spread = ", ".join(f"window {window}: {n}" for window, n in zip(windows, counts, strict=True))
    return windowed(params, wanted), f"synthetic, members' own windows ({spread})"


def main() -> None:
    """The snapshot; with synthetic data each fleet member's rows come from its own window."""
    from .members import members, refuse, split
    from .params import load_params

    params = load_params()
    group = members(params)
    if params.data.source == "synthetic":
        frame, source = newest(params, ahead=0)
    else:
        frame, source = ingest(params.data), params.data.source
    if params.data.production:  # labelled rows of the inference log (next-window added them)
        served = read_table(Path(params.data.production), params.data.schema_.columns)
        frame = conform(pd.concat([frame, served], ignore_index=True), params.data.schema_)
        source += f" and {len(served):,} production rows ({params.data.production})"
    # Before the snapshot is replaced: a stage after this one would fail on it anyway.
    kept = f"{TRAINING_DATA} and the model{'s' if len(group) > 1 else ''} are unchanged"
    refuse(params, group, split(params, frame), frame, "ingest", kept)
    write_table(frame, TRAINING_DATA)
    shape = f"{len(frame):,} rows x {frame.shape[1]} columns"
    many = f" for {len(group)} members" if len(group) > 1 else ""
    print(f"ingest: {shape}{many} from {source} -> {TRAINING_DATA}")
