"""The base of every typed section of params.yaml (params.py and task.py build on it)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Section(BaseModel):
    """Unknown keys and loosely typed values are refused: `max_iter: "200"` is not a number."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, populate_by_name=True)
