"""Paths of the pipeline's files and the small helpers that read and write them."""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import Any

import pandas as pd

from .errors import DataError

PIPELINE_LOCK = Path("dvc.lock")
TRAINING_DATA = Path("data/train.parquet")
MODEL = Path("models/model.skops")
REPORTS = Path("reports")
VALIDATION = REPORTS / "validation.json"
METRICS = REPORTS / "metrics.json"
SEGMENTS = REPORTS / "segments.json"
PLOTS = REPORTS / "plots"
MODEL_CARD = REPORTS / "model_card.md"

# Types a model saved by train may contain; anything else is refused on load.
TRUSTED_TYPE_PREFIXES = ("sklearn.", "numpy.", "builtins.", "collections.", "scipy.")
TRUSTED_TYPES = ("functools.partial",)  # gradient boosting keeps its loss as a partial


def read_table(path: Path, columns: list[str] | None = None) -> pd.DataFrame:
    """Read a CSV or Parquet file, optionally only `columns`."""
    suffix = path.suffix.lower()
    if suffix not in {".csv", ".parquet", ".pq"}:
        raise DataError(f"{path}: unsupported file type {suffix!r}; use .csv or .parquet")
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    try:
        frame = pd.read_csv(path) if suffix == ".csv" else pd.read_parquet(path)
    except Exception as error:  # pandas raises many types for unreadable files
        raise DataError(f"{path}: cannot be read: {error}") from None
    if columns is not None:
        missing = [column for column in columns if column not in frame.columns]
        if missing:
            raise DataError(f"{path}: missing columns {missing}; it has {list(frame.columns)}")
        frame = frame[columns]
    return frame


def write_table(frame: pd.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".csv":
        frame.to_csv(path, index=False)
    else:
        frame.to_parquet(path, index=False)


def _json_safe(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(item) for item in value]
    return value


def write_json(data: Any, path: Path) -> None:
    """Stable, diff-friendly JSON; NaN and infinity become null."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps(_json_safe(data), indent=2, sort_keys=False) + "\n", encoding="utf-8"
    )


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def md5(path: Path) -> str:
    """The file's MD5, the same hash DVC 3 records in dvc.lock."""
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def save_model(model: Any, path: Path = MODEL) -> None:
    import skops.io

    path.parent.mkdir(parents=True, exist_ok=True)
    skops.io.dump(model, path)


def trusted_types(path: Path = MODEL) -> list[str]:
    """The non-default types in a saved model, refusing any outside the trusted prefixes."""
    import skops.io

    if not path.is_file():
        raise DataError(f"{path}: no model; run `dvc repro` first")
    untrusted = skops.io.get_untrusted_types(file=path)
    refused = [
        name
        for name in untrusted
        if not name.startswith(TRUSTED_TYPE_PREFIXES) and name not in TRUSTED_TYPES
    ]
    if refused:
        raise DataError(f"{path}: refusing to load untrusted types {refused}")
    return untrusted


def load_model(path: Path = MODEL) -> Any:
    import skops.io

    return skops.io.load(path, trusted=trusted_types(path))
