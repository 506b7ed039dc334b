"""Typed, validated view of params.yaml.

An unknown key or a value of the wrong type stops with a message that names
the key, before any stage does work.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from .errors import ParamsError
from .metrics import METRICS

PARAMS_FILE = Path("params.yaml")


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, populate_by_name=True)


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
    segment: str
    min_rows: int = Field(100, ge=1)
    max_null_fraction: float = Field(0.0, ge=0.0, le=1.0)

    @model_validator(mode="after")
    def _consistent(self) -> Schema:
        both = set(self.numeric) & set(self.categorical)
        if both:
            raise ValueError(f"columns declared both numeric and categorical: {sorted(both)}")
        if self.target in self.numeric or self.target in self.categorical:
            raise ValueError(f"the target {self.target!r} must not also be a feature")
        if self.segment not in self.categorical:
            raise ValueError(f"segment {self.segment!r} must be one of the categorical columns")
        return self

    @property
    def features(self) -> list[str]:
        return [*self.numeric, *self.categorical]

    @property
    def columns(self) -> list[str]:
        return [*self.features, self.target]


class DataParams(Section):
    source: Literal["synthetic", "file"]
    path: str | None = None
    window: int = Field(ge=0)
    rows: int = Field(ge=1)
    seed: int
    schema_: Schema = Field(alias="schema")

    @model_validator(mode="after")
    def _path_for_file(self) -> DataParams:
        if self.source == "file" and not self.path:
            raise ValueError("source 'file' needs data.path (a CSV or Parquet file)")
        return self


class SplitParams(Section):
    test_size: float = Field(gt=0.0, lt=1.0)
    seed: int
    stratify: bool = True


class TrainParams(Section):
    estimator: Literal["hist_gradient_boosting", "logistic_regression", "random_forest"]
    hyperparameters: dict[str, Any] = {}
    seed: int


class ModelParams(Section):
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    description: str = ""
    primary_metric: str
    threshold: float = Field(0.5, gt=0.0, lt=1.0)

    @model_validator(mode="after")
    def _known_metric(self) -> ModelParams:
        if self.primary_metric not in METRICS:
            raise ValueError(
                f"primary_metric {self.primary_metric!r} is not one of {sorted(METRICS)}"
            )
        return self


class GateParams(Section):
    min_value: float
    max_regression: float = Field(ge=0.0)
    max_segment_gap: float = Field(ge=0.0)


class Limits(Section):
    p_value: float | None = Field(None, gt=0.0, lt=1.0)
    distance: float | None = Field(None, gt=0.0)


COLUMN_TYPES = ("numeric", "categorical")


class DriftParams(Section):
    share_threshold: float = Field(gt=0.0, le=1.0)
    critical_columns: list[str] = []
    large_sample: int = Field(ge=1)
    thresholds: dict[str, Limits]
    max_missing_increase: float = Field(ge=0.0, le=1.0)
    max_unseen_share: float = Field(ge=0.0, le=1.0)
    max_metric_drop: float = Field(ge=0.0)
    min_new_rows: int = Field(ge=1)
    current_path: str | None = None

    @model_validator(mode="after")
    def _type_defaults(self) -> DriftParams:
        for kind in COLUMN_TYPES:
            limits = self.thresholds.get(kind)
            if limits is None or limits.p_value is None or limits.distance is None:
                raise ValueError(f"thresholds.{kind} needs both p_value and distance")
        return self

    def limits(self, column: str, kind: str) -> tuple[float, float]:
        """(p_value, distance) for a column: its own entry first, then its type's."""
        default = self.thresholds[kind]
        own = self.thresholds.get(column, default)
        p_value = own.p_value if own.p_value is not None else default.p_value
        distance = own.distance if own.distance is not None else default.distance
        return float(p_value), float(distance)  # type: ignore[arg-type]


class Params(Section):
    model: ModelParams
    data: DataParams
    split: SplitParams
    train: TrainParams
    gate: GateParams
    drift: DriftParams

    @model_validator(mode="after")
    def _critical_columns_exist(self) -> Params:
        features = set(self.data.schema_.features)
        unknown = set(self.drift.critical_columns) - features
        if unknown:
            raise ValueError(f"drift.critical_columns names unknown columns: {sorted(unknown)}")
        unknown = set(self.drift.thresholds) - features - set(COLUMN_TYPES)
        if unknown:
            raise ValueError(
                f"drift.thresholds names unknown columns: {sorted(unknown)}"
                f" (use a feature column, {COLUMN_TYPES[0]!r} or {COLUMN_TYPES[1]!r})"
            )
        return self


def _describe(error: dict[str, Any]) -> str:
    key = ".".join(str(part) for part in error["loc"]) or "(top level)"
    if error["type"] == "extra_forbidden":
        return f"{key}: unknown key"
    if error["type"] == "missing":
        return f"{key}: missing"
    return f"{key}: {error['msg']} (got {error['input']!r})"


def parse_params(raw: Any, source: str = str(PARAMS_FILE)) -> Params:
    """Validate a mapping (as read from params.yaml) into Params."""
    if not isinstance(raw, dict):
        raise ParamsError(f"{source}: expected a mapping of sections, got {type(raw).__name__}")
    try:
        return Params.model_validate(raw)
    except ValidationError as error:
        lines = [_describe(detail) for detail in error.errors(include_url=False)]
        raise ParamsError(f"{source}: " + "\n  ".join(lines)) from None


def load_params(path: Path = PARAMS_FILE) -> Params:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ParamsError(f"{path}: not found (run from the repository root)") from None
    except yaml.YAMLError as error:
        raise ParamsError(f"{path}: not valid YAML: {error}") from None
    return parse_params(raw, str(path))
