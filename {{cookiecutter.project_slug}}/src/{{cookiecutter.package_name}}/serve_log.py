"""What `serve` puts in the inference log: the rows of answered requests (the table scoring
made, taken in the log's thread, not on the request's path) and the labels POST /feedback
brings; the request ids served lately, so a label is checked against the store only for an
older one."""

from __future__ import annotations

import math
import re
import time
from collections import deque
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from . import task

RECENT = 100_000  # request ids remembered; an older one is looked up in the store
REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")  # a caller's X-Request-ID, a label's id


Columns = dict[str, np.ndarray]
Part = tuple[Columns, list[tuple[str, int, int]], float]  # a batch's rows, its jobs, when


def scored(answered: list[tuple[Any, int]], table: Columns) -> Part:
    """What the log keeps of one batch: the columns scoring made of its rows, and each request
    answered with the place and number of its rows in them (a request that timed out is not)."""
    jobs = [(job.request_id, first, len(job.records)) for job, first in answered]
    return table, jobs, time.time()


def builder(route: str | None) -> Any:
    """The log writer's `build`: the rows of many queued parts at once, in one frame (one
    concatenation per write, not one frame per batch)."""

    def build(name: str, parts: list[Any]) -> pd.DataFrame:
        if name == "labels":
            return pd.DataFrame(
                [one.model_dump() | {"time": at} for found, at in parts for one in found]
            )
        tables, ids, sizes, stamps = [], [], [], []
        for table, jobs, stamp in parts:
            count = sum(size for _, _, size in jobs)
            if count < len(next(iter(table.values()))):
                places = np.concatenate([np.arange(first, first + n) for _, first, n in jobs])
                table = {column: values[places] for column, values in table.items()}
            tables.append(table)
            ids += [request_id for request_id, _, _ in jobs]
            sizes += [size for _, _, size in jobs]
            stamps.append(np.full(count, stamp))
        # one concatenation per column (a frame per batch, then pd.concat, cost 5x more)
        frame = pd.DataFrame({c: np.concatenate([t[c] for t in tables]) for c in tables[0]})
        sizes_ = np.asarray(sizes)
        starts = np.cumsum(sizes_) - sizes_
        return frame.assign(
            request_id=np.repeat(ids, sizes_),
            row=np.arange(len(frame)) - np.repeat(starts, sizes_),
            time=pd.to_datetime(np.concatenate(stamps), unit="s", utc=True),
            member=frame[route].astype(str) if route else "",
        )

    return build


class Label(BaseModel):
    model_config = ConfigDict(extra="forbid")
    request_id: str = Field(pattern=f"^{REQUEST_ID.pattern}$")
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


def labels_part(found: list[Label]) -> tuple[list[Label], pd.Timestamp]:
    return found, pd.Timestamp.now(tz="UTC")


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
