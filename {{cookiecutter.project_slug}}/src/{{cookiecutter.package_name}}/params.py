"""Typed, validated view of params.yaml: an unknown key or a value of the wrong type stops
with a message that names the key (params_errors), before any stage does work."""

from __future__ import annotations

import importlib
import importlib.util
import os
import posixpath
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, model_validator

from . import task_params
from .errors import ParamsError
from .fairness import FairnessParams
from .params_errors import messages
from .section import Section
from .task import METRICS
from .task_params import ModelParams, SplitParams, TrainParams
from .yaml_file import read_yaml

PARAMS_FILE = Path("params.yaml")


class NumericColumn(Section):
    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _ordered(self) -> NumericColumn:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min}) is greater than max ({self.max})")
        return self


class Schema(Section):
    target: str
    numeric: dict[str, NumericColumn]
    categorical: dict[str, list[str]]
    segment: str | None = None
    time: str | None = None  # a date column, kept beside the features (a time-ordered split)
    min_rows: int = Field(100, ge=1)
    max_null_fraction: float = Field(0.0, ge=0.0, le=1.0)

    @model_validator(mode="after")
    def _consistent(self) -> Schema:
        both = set(self.numeric) & set(self.categorical)
        if both:
            raise ValueError(f"columns declared both numeric and categorical: {sorted(both)}")
        if not self.features:
            raise ValueError("declare at least one numeric or categorical feature column")
        if self.target in self.numeric or self.target in self.categorical:
            raise ValueError(f"the target {self.target!r} must not also be a feature")
        if self.segment == self.target:
            raise ValueError(f"data.schema.segment: {self.segment!r} is the target")
        if self.time is not None and self.time in {*self.features, self.target, self.segment}:
            raise ValueError(
                f"data.schema.time: {self.time!r} is already a feature, target or segment"
            )
        if self.segment in self.numeric:
            raise ValueError(
                f"data.schema.segment: {self.segment!r} is a numeric feature; use a categorical"
                " column, a column that is not a feature, or null for no segments"
            )
        return self

    @property
    def features(self) -> list[str]:
        return [*self.numeric, *self.categorical]

    @property
    def columns(self) -> list[str]:
        """What ingest keeps: the features, the segment (when it is not a feature), the time
        column (when there is one), the target."""
        extra = [self.segment] if self.segment and self.segment not in self.categorical else []
        return [*self.features, *extra, *([self.time] if self.time else []), self.target]


def inside_outputs(path: str) -> str | None:
    """The file or folder the pipeline writes that `path` (relative to the repository) is or
    lies in, if any: a data source there would be deleted or overwritten."""
    from .paths import MODEL, REPORTS, TRAINING_DATA

    normal = posixpath.normpath(os.path.relpath(os.path.abspath(path)).replace(os.sep, "/"))
    for output in (TRAINING_DATA.as_posix(), MODEL.parent.as_posix(), REPORTS.as_posix()):
        if normal == output or normal.startswith(output + "/"):
            return output
    return None


READABLE = (".csv", ".parquet", ".pq")  # the suffixes files.read_table reads


def outside_repository(path: str) -> bool:
    """Whether `path` is absolute or leads out of the repository (the working directory):
    DVC tracks no such file, so a change to it would never re-run the pipeline."""
    if os.path.isabs(path) or posixpath.isabs(path.replace(os.sep, "/")):
        return True
    return posixpath.normpath(path.replace(os.sep, "/")).split("/")[0] == ".."


class DataParams(Section):
    source: Literal["synthetic", "file"]
    path: str | None = None
    sep: str | None = None  # CSV delimiter; null: sniffed from the file
    window: int = Field(0, ge=0)
    rows: int | None = Field(None, ge=1)
    seed: int | None = None
    production: str | None = None  # labelled production rows added to the snapshot (drift job)
    schema_: Schema = Field(alias="schema")

    @model_validator(mode="after")
    def _source_keys(self) -> DataParams:
        if self.source == "file":
            if not self.path:
                raise ValueError("source 'file' needs data.path (a CSV or Parquet file)")
            if outside_repository(self.path):
                raise ValueError(
                    f"data.path {self.path!r} is outside the repository, so DVC cannot track"
                    " it and a change to it would go unnoticed; copy the file into data/raw/"
                    " (or `dvc import-url` it) and give its path relative to the repository"
                )
            suffix = posixpath.splitext(self.path.lower())[1]
            if suffix not in READABLE:
                what = f"it ends in {suffix!r}" if suffix else "it has no suffix"
                raise ValueError(
                    f"data.path {self.path!r} is not a file the pipeline reads ({what});"
                    f" use a {', '.join(READABLE[:-1])} or {READABLE[-1]} file (decompress a .gz"
                    " first)"
                )
            output = inside_outputs(self.path)
            if output:
                raise ValueError(
                    f"data.path {self.path!r} is inside the pipeline's output {output!r},"
                    " which a stage deletes or overwrites; put your file elsewhere,"
                    " e.g. data/raw/"
                )
        else:
            needed = [key for key in ("rows", "seed") if getattr(self, key) is None]
            if needed:
                raise ValueError(f"source 'synthetic' needs data.{' and data.'.join(needed)}")
        return self


class GateParams(Section):
    """The primary metric's bound: `min_value` when higher is better, else `max_value`."""

    min_value: float | None = None
    max_value: float | None = None
    max_regression: float = Field(ge=0.0)
    max_segment_gap: float = Field(ge=0.0)
    confidence: float = Field(0.95, gt=0.5, lt=1.0)  # of the paired interval (same_rows.py)
    resamples: int = Field(1000, ge=100, le=100_000)
    require_improvement: bool = False

    def bound(self, higher_is_better: bool) -> float:
        return float(self.min_value if higher_is_better else self.max_value)  # type: ignore[arg-type]


class Limits(Section):
    p_value: float | None = Field(None, gt=0.0, lt=1.0)
    distance: float | None = Field(None, gt=0.0)


COLUMN_TYPES = ("numeric", "categorical")


class DriftParams(Section):
    share_threshold: float = Field(gt=0.0, le=1.0)
    critical_columns: list[str] = Field(default_factory=list)
    large_sample: int = Field(ge=1)
    thresholds: dict[str, Limits]
    max_missing_increase: float = Field(ge=0.0, le=1.0)
    max_unseen_share: float = Field(ge=0.0, le=1.0)
    max_metric_drop: float = Field(ge=0.0)
    min_new_rows: int = Field(ge=1)
    current_path: str | None = None
    current: Literal["data", "log"] = "data"  # log: what serve scored (the inference log)
    log_days: float = Field(7.0, gt=0.0)  # the log's newest days that are read
    windows: int = Field(1, ge=1, le=100)  # ...cut into this many windows of equal time
    persist: int = Field(1, ge=1)  # a rule fires when broken in at least this many windows
    min_labelled_rows: int = Field(200, ge=1)  # the performance rule judges on no fewer

    @model_validator(mode="after")
    def _type_defaults(self) -> DriftParams:
        for kind in COLUMN_TYPES:
            limits = self.thresholds.get(kind)
            if limits is None or limits.p_value is None or limits.distance is None:
                raise ValueError(f"thresholds.{kind} needs both p_value and distance")
        if self.persist > self.windows:
            raise ValueError(
                f"persist: {self.persist} windows of {self.windows}; at most drift.windows"
            )
        return self

    def limits(self, column: str, kind: str) -> tuple[float, float]:
        """(p_value, distance) for a column: its own entry first, then its type's."""
        default = self.thresholds[kind]
        own = self.thresholds.get(column, default)
        p_value = own.p_value if own.p_value is not None else default.p_value
        distance = own.distance if own.distance is not None else default.distance
        return float(p_value), float(distance)  # type: ignore[arg-type]


class LogParams(Section):
    store: Literal["folder", "postgresql", "none"] = "folder"
    folder: str = "logs/inference"
    buffer_rows: int = Field(100_000, ge=1)
    flush_seconds: float = Field(2.0, gt=0.0, le=60.0)


class Params(Section):
    model: ModelParams
    data: DataParams
    split: SplitParams
    train: TrainParams
    gate: GateParams
    drift: DriftParams
    fairness: FairnessParams = Field(default_factory=FairnessParams)
    inference_log: LogParams = Field(default_factory=LogParams)

    @model_validator(mode="after")
    def _columns_exist(self) -> Params:
        metric = self.model.primary_metric
        higher = METRICS[metric]
        wanted, other = ("min_value", "max_value") if higher else ("max_value", "min_value")
        if getattr(self.gate, other) is not None:
            raise ValueError(
                f"gate.{other}: {metric} is better {'higher' if higher else 'lower'}, so the"
                f" gate's bound is gate.{wanted} (the {'least' if higher else 'most'} {metric}"
                f" a model may have); rename gate.{other} to gate.{wanted}"
            )
        if getattr(self.gate, wanted) is None:
            raise ValueError(f"gate.{wanted}: missing (the bound on {metric})")
        schema = self.data.schema_
        for problem in [*task_params.problems(self), *self.fairness.problems(schema)]:
            raise ValueError(problem)
        features = set(schema.features)
        unknown = [column for column in self.drift.critical_columns if column not in features]
        if unknown:
            raise ValueError(
                f"drift.critical_columns: {unknown} not among the feature columns of data.schema;"
                " edit drift.critical_columns to list your own columns, or set it to []"
            )
        unknown = [c for c in self.drift.thresholds if c not in features and c not in COLUMN_TYPES]
        if unknown:
            raise ValueError(
                f"drift.thresholds: {unknown} not among the feature columns of data.schema;"
                f" use a feature column, {COLUMN_TYPES[0]!r} or {COLUMN_TYPES[1]!r}"
            )
        return self


def parse_params(raw: Any, source: str = str(PARAMS_FILE)) -> Params:
    """Validate a mapping (as read from params.yaml) into Params."""
    if not isinstance(raw, dict):
        raise ParamsError(f"{source}: expected a mapping of sections, got {type(raw).__name__}")
    kind = _kind()
    try:
        return kind.model_validate(raw)
    except ValidationError as error:
        raise ParamsError(f"{source}: " + "\n  ".join(messages(kind, error))) from None


def _kind() -> type[Params]:
    """Params, or in a fleet bake (which has fleet_params.py) Params with a fleet section."""
    if importlib.util.find_spec(f"{__package__}.fleet_params") is None:
        return Params
    return importlib.import_module(f"{__package__}.fleet_params").FleetBakeParams


def load_params(path: Path = PARAMS_FILE) -> Params:
    return parse_params(read_yaml(path), str(path))
