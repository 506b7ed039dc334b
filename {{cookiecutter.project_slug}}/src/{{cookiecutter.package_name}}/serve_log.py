"""What `serve` puts in the inference log: the rows of answered requests (built in the log's
thread, not on the request's path) and the labels POST /feedback brings; the request ids
served lately, so a label is checked against the store only for an older one."""

from __future__ import annotations

import math
import time
from collections import deque
from typing import Any

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from . import task

RECENT = 100_000  # request ids remembered; an older one is looked up in the store


def scored(answered: list[tuple[Any, list[dict[str, Any]]]], route: str | None) -> Any:
    """A builder of the log rows of `answered` ((job, its answers) pairs), stamped now."""
    stamp = time.time()

    def build() -> pd.DataFrame:
        frame = pd.DataFrame.from_records([row for job, _ in answered for row in job.records])
        outputs = pd.DataFrame.from_records([one for _, answers in answered for one in answers])
        frame["request_id"] = [job.request_id for job, part in answered for _ in part]
        frame["row"] = [index for _, part in answered for index in range(len(part))]
        frame["time"] = pd.Timestamp(stamp, unit="s", tz="UTC")
        frame["member"] = frame[route].astype(str) if route else ""
        for column in [*task.PREDICTION_COLUMNS, "model", "version"]:
            frame[column] = outputs[column].to_numpy()
        return frame

    return build


class Label(BaseModel):
    model_config = ConfigDict(extra="forbid")
    request_id: str = Field(pattern=r"^[A-Za-z0-9._:-]{1,64}$")
    row: int = Field(0, ge=0, le=1_000_000)
    label: float


ONE, MANY = TypeAdapter(Label), TypeAdapter(list[Label])


def labels(body: bytes, most: int) -> list[Label]:
    """The labels of a POST /feedback body (one object or a list); ValueError names the first
    problem."""
    many = body.lstrip()[:1] == b"["
    try:
        found = MANY.validate_json(body) if many else [ONE.validate_json(body)]
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise ValueError(f"{where or 'body'}: {first['msg']}") from None
    if not found or len(found) > most:
        raise ValueError(f"send 1 to {most:,} labels")
    for one in found:
        problem = label_problem(one.label)
        if problem:
            raise ValueError(f"request {one.request_id!r} row {one.row}: {problem}")
    return found


def label_problem(value: float) -> str | None:
    """Why `value` cannot be a label of this task, or None."""
    if not math.isfinite(value):
        return "the label must be a finite number"
    return task.label_problem(value)


def labels_frame(found: list[Label]) -> Any:
    stamp = pd.Timestamp.now(tz="UTC")
    return lambda: pd.DataFrame([one.model_dump() for one in found]).assign(time=stamp)


class Recent:
    """The request ids of the newest RECENT answered requests."""

    def __init__(self) -> None:
        self.ids: set[str] = set()
        self.order: deque[str] = deque()

    def add(self, ids: list[str]) -> None:
        for one in ids:
            if one not in self.ids:
                self.ids.add(one)
                self.order.append(one)
        while len(self.order) > RECENT:
            self.ids.discard(self.order.popleft())

    def unknown(self, ids: set[str]) -> set[str]:
        return {one for one in ids if one not in self.ids}
