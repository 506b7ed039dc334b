"""Adaptive micro-batching: the rows of concurrent requests are scored in one call of each
model. While a batch is being scored (in a worker thread), the requests that arrive queue up;
the next batch takes them all. A lone request waits for nobody; when other requests are
being read, the batch waits for them at most `max_wait` seconds."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import task
from .errors import first_line
from .predict import unseen
from .serve_input import Records
from .serve_metrics import Metrics
from .serve_models import Served

Rows = list[dict[str, Any]]


@dataclass
class Job:
    records: Rows
    future: asyncio.Future[Rows] = field(repr=False)
    request_id: str = ""


def score(
    models: dict[str, Served], records: Records, rows: Rows, metrics: Metrics
) -> tuple[Rows, dict[str, np.ndarray]]:
    """One answer per row: its prediction columns, the model's name and version; and the same
    as columns beside the features, for the inference log (no second pass over the rows). Each
    model is called once, on all of its rows (a fleet's rows are routed by `records.route`)."""
    frame = records.frame(rows)
    if records.route:
        routes = frame[records.route].astype(str).to_numpy()
        groups = {name: np.flatnonzero(routes == name) for name in dict.fromkeys(routes)}
    else:
        groups = {"": np.arange(len(frame))}
    features = frame[records.schema.features]
    answers: Rows = [{} for _ in rows]
    table = {name: np.zeros(len(frame)) for name in task.PREDICTION_COLUMNS}
    table |= {"model": np.empty(len(frame), object), "version": np.empty(len(frame), object)}
    for member, positions in groups.items():
        served = models[member]
        part = features.iloc[positions]
        scores = task.predict(served.estimator, part)
        columns = task.prediction_columns(scores, served.member.params.model)
        counts = {k: len(v) for k, v in unseen(part, records.schema, served.seen).items()}
        metrics.scored(served.name, scores, counts)
        about = {"model": served.name, "version": served.version}
        lists = {name: values.tolist() for name, values in columns.items()}
        for name, values in [*columns.items(), *about.items()]:
            table[name][positions] = values
        for index, position in enumerate(positions.tolist()):
            answers[position] = {name: values[index] for name, values in lists.items()} | about
    for column, count in records.out_of_range(frame).items():
        metrics.out_of_range.labels(column).inc(count)
    return answers, {column: frame[column].to_numpy() for column in frame.columns} | table


class Batcher:
    """Queues the records of each request and scores them in batches, in one worker thread
    (the event loop goes on reading requests meanwhile)."""

    def __init__(
        self,
        scorer: Callable[[Rows], tuple[Rows, dict[str, np.ndarray]]],
        metrics: Metrics,
        max_rows: int = 1024,
        max_wait: float = 0.002,
        answered: Callable[[list[tuple[Job, int]], dict[str, np.ndarray]], None] | None = None,
    ) -> None:
        self.scorer = scorer
        self.answered = answered  # told of each batch's answers before they are sent: the
        # jobs answered with their first row's place in the table of the batch's rows
        self.metrics = metrics
        self.max_rows = max_rows
        self.max_wait = max_wait
        self.reading = 0  # requests whose bodies are being read or parsed
        self.queue: asyncio.Queue[Job] = asyncio.Queue()
        self.worker = ThreadPoolExecutor(1, thread_name_prefix="score")

    async def submit(self, records: Rows, request_id: str = "") -> Rows:
        job = Job(records, asyncio.get_running_loop().create_future(), request_id)
        self.queue.put_nowait(job)
        return await job.future

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            batch = [await self.queue.get()]
            rows = len(batch[0].records)
            deadline = loop.time() + self.max_wait
            while rows < self.max_rows:
                if not self.queue.empty():
                    batch.append(self.queue.get_nowait())
                    rows += len(batch[-1].records)
                elif self.reading > 0 and loop.time() < deadline:
                    await asyncio.sleep(0)  # let the requests being read join this batch
                else:
                    break
            await self._score(loop, [job for job in batch if not job.future.done()])

    async def _score(self, loop: asyncio.AbstractEventLoop, batch: list[Job]) -> None:
        if not batch:
            return
        rows = [row for job in batch for row in job.records]
        try:
            answers, table = await loop.run_in_executor(self.worker, self.scorer, rows)
        except Exception as error:  # one bad request must not fail the others: score each alone
            if len(batch) > 1:
                for job in batch:
                    await self._score(loop, [job])
            elif not batch[0].future.done():
                problem = f"the model cannot score these rows: {first_line(error)}"
                batch[0].future.set_exception(ScoringFailed(problem))
            return
        self.metrics.batch_rows.observe(len(rows))
        answered, start = [], 0
        for job in batch:
            if not job.future.done():  # its request may have timed out
                answered.append((job, start))
            start += len(job.records)
        if self.answered is not None:
            self.answered(answered, table)
        for job, first in answered:
            job.future.set_result(answers[first : first + len(job.records)])

    def close(self) -> None:
        self.worker.shutdown(wait=True)


class ScoringFailed(RuntimeError):
    pass
