"""The small helpers that read and write the pipeline's files (their paths are in .paths)."""

from __future__ import annotations

import hashlib
import json
import math
import re
from pathlib import Path
from typing import Any

import pandas as pd

from .errors import DataError, first_line
from .params import READABLE
from .paths import MODEL
from .task import TRUSTED_TYPES


def sniff_separator(path: Path) -> str:
    """The delimiter of a CSV file, guessed from its first lines (comma when unsure)."""
    import csv

    with path.open(encoding="utf-8", errors="replace", newline="") as handle:
        sample = handle.read(1 << 16)
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        return ","


def _header(path: Path, sep: str) -> list[str]:
    if path.suffix.lower() == ".csv":
        first = pd.read_csv(path, sep=sep, header=None, nrows=1, dtype=str, keep_default_na=False)
        return list(first.iloc[0])
    import pyarrow.parquet

    return list(pyarrow.parquet.read_schema(path).names)


def read_table(
    path: Path, columns: list[str] | None = None, sep: str | None = None
) -> pd.DataFrame:
    """Read a CSV (delimiter `sep`, or sniffed) or Parquet file, optionally only `columns`.

    Refuses duplicate column names, which pandas would silently rename (`x`, `x.1`).
    """
    suffix = path.suffix.lower()
    if suffix not in READABLE:
        raise DataError(f"{path}: unsupported file type {suffix!r}; use .csv or .parquet")
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    try:
        sep = (sep or sniff_separator(path)) if suffix == ".csv" else ","
        header = [name for name in _header(path, sep) if name]  # pandas names blanks itself
        duplicated = sorted({name for name in header if header.count(name) > 1})
        if duplicated:
            raise DataError(
                f"{path}: duplicate column names {duplicated}; each column needs its own"
            )
        frame = pd.read_csv(path, sep=sep) if suffix == ".csv" else pd.read_parquet(path)
    except DataError:
        raise
    except Exception as error:  # pandas raises many types for unreadable files
        raise DataError(f"{path}: cannot be read: {first_line(error)}") from None
    if columns is not None:
        missing = [column for column in columns if column not in frame.columns]
        if missing:
            hint = (
                f" (read with separator {sep!r}; set data.sep)" if len(frame.columns) == 1 else ""
            )
            raise DataError(
                f"{path}: missing columns {missing}; it has {list(frame.columns)}{hint}"
            )
        frame = frame[columns]
    return frame


def _replace(path: Path, write: Any) -> None:
    """Write through a temporary file in the same folder, then rename: a failure midway
    leaves the previous file as it was."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.stem}.tmp{path.suffix}")
    try:
        write(temporary)
        temporary.replace(path)
    finally:
        temporary.unlink(missing_ok=True)


def write_table(frame: pd.DataFrame, path: Path) -> None:
    if path.suffix.lower() == ".csv":
        _replace(path, lambda target: frame.to_csv(target, index=False))
    else:
        _replace(path, lambda target: frame.to_parquet(target, index=False))


def write_text(text: str, path: Path) -> None:
    _replace(path, lambda target: target.write_text(text, encoding="utf-8"))


def _json_safe(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(item) for item in value]
    return value


def json_text(data: Any) -> str:
    """Stable, diff-friendly JSON; NaN and infinity become null."""
    return json.dumps(_json_safe(data), indent=2, sort_keys=False) + "\n"


def write_json(data: Any, path: Path) -> None:
    write_text(json_text(data), path)


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def md5(path: Path) -> str:
    """The file's MD5, the same hash DVC 3 records in dvc.lock."""
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# skops names each object by its id() in the saving process: in the schema (`__id__`) and in
# the array files' names (`<id>.npy`). Two saves of one model differ only there.
SKOPS_IDS = re.compile(r'("__id__": )(\d+)|("file": ")(\d+)(\.npy")')


def model_digest(path: Path) -> str:
    """What a skops file holds, whatever the save: a hash of its schema with the ids numbered
    in order of appearance, and of its arrays in that order (the file's md5 differs per save)."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as archive:
            schema = archive.read("schema.json").decode()
            order: dict[str, int] = {}

            def number(found: re.Match[str]) -> str:
                index = order.setdefault(found.group(2) or found.group(4), len(order))
                if found.group(1):
                    return f"{found.group(1)}{index}"
                return f"{found.group(3)}{index}{found.group(5)}"

            digest = hashlib.sha256(SKOPS_IDS.sub(number, schema).encode())
            members = {  # arrays by their place in the schema; anything else by its name
                name: str(order.get(name.removesuffix(".npy"), name))
                for name in archive.namelist()
                if name != "schema.json"
            }
            for name, label in sorted(members.items(), key=lambda item: item[1].zfill(12)):
                digest.update(f"\0{label}\0".encode())
                digest.update(archive.read(name))
    except (OSError, KeyError, UnicodeDecodeError, zipfile.BadZipFile) as error:
        raise DataError(f"{path}: not a model file skops wrote ({first_line(error)})") from None
    return digest.hexdigest()


def save_model(model: Any, path: Path = MODEL) -> None:
    import skops.io

    _replace(path, lambda target: skops.io.dump(model, target))


def trusted_types(path: Path = MODEL, estimator: str | None = None) -> list[str]:
    """The non-default types in a saved model; any that `estimator` (or, if not given, any
    estimator train builds) does not hold is refused."""
    import skops.io

    if not path.is_file():
        raise DataError(f"{path}: no model; run `dvc repro` first")
    allowed = TRUSTED_TYPES[estimator] if estimator else set().union(*TRUSTED_TYPES.values())
    untrusted = skops.io.get_untrusted_types(file=path)
    refused = sorted(set(untrusted) - allowed)
    if refused:
        what = f"a {estimator} model" if estimator else "a model train saves"
        raise DataError(f"{path}: refusing to load types that {what} never holds: {refused}")
    return untrusted


def load_model(path: Path = MODEL, estimator: str | None = None) -> Any:
    import skops.io

    return skops.io.load(path, trusted=trusted_types(path, estimator))
