"""Writes the inference log off the request's path: `put` only queues (it never blocks and
never fails); a background thread turns what was queued into rows and writes them in batches.
When the store cannot be written, rows wait (at most `buffer_rows` of them) and the write is
tried again; rows past that bound are dropped, counted and said, never silently lost. `close`
(on SIGTERM: uvicorn's shutdown) writes everything still waiting."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import pandas as pd

from .errors import first_line
from .inference_log import Store

Build = Callable[[str, list[Any]], pd.DataFrame]  # (table, parts queued) -> rows
RETRY = (0.5, 30.0)  # seconds before the first retry of a failed write, and at most


class LogWriter:
    def __init__(self, store: Store, build: Build, buffer_rows: int, flush_seconds: float) -> None:
        self.store, self.build = store, build
        self.buffer_rows, self.flush_seconds = buffer_rows, flush_seconds
        self.counted: Any = lambda outcome, rows: None  # (written|dropped|waiting, rows)
        self.queued: list[tuple[str, int, Any]] = []  # (table, rows, part) not yet built
        self.waiting: dict[str, list[pd.DataFrame]] = {}  # built, not yet written
        self.rows = 0  # rows queued or waiting
        self.dropped = 0
        self.said_drop = -60.0
        self.lock = threading.Lock()
        self.wake = threading.Event()
        self.stopping = False
        self.failing: str | None = None  # the store's error while it cannot be written
        self.thread = threading.Thread(target=self._run, name="inference-log", daemon=True)
        self.thread.start()

    def put(self, table: str, rows: int, part: Any) -> bool:
        """Queue a `part` of `rows` rows of `table` (`build` makes them rows when written);
        False (and counted) when the buffer is full."""
        with self.lock:
            if self.rows + rows > self.buffer_rows:
                self.dropped += rows
                full = True
            else:
                self.queued.append((table, rows, part))
                self.rows += rows
                full = False
        if full:
            self.counted("dropped", rows)
            if time.monotonic() - self.said_drop > 10:  # one line per 10 s, not per request
                self.said_drop = time.monotonic()
                self._say(f"buffer full ({self.buffer_rows:,} rows): {self.dropped:,} dropped")
        if full or rows >= self.buffer_rows // 4:
            self.wake.set()
        return not full

    def _run(self) -> None:
        delay = RETRY[0]
        while True:
            self.wake.wait(self.flush_seconds if self.failing is None else delay)
            self.wake.clear()
            delay = RETRY[0] if self.flush() else min(delay * 2, RETRY[1])
            if self.stopping:
                return

    def flush(self) -> bool:
        """Write what waits; False when the store refused (it waits on)."""
        with self.lock:
            queued, self.queued = self.queued, []
        parts: dict[str, list[Any]] = {}
        for table, _, part in queued:
            parts.setdefault(table, []).append(part)
        for table, found in parts.items():
            try:
                built = self.build(table, found)
            except Exception as error:  # rows that cannot be made: dropped, counted and said
                rows = sum(rows for name, rows, _ in queued if name == table)
                with self.lock:
                    self.rows -= rows
                    self.dropped += rows
                self.counted("dropped", rows)
                self._say(f"dropped {rows:,} {table} row(s) that could not be built: {error}")
                continue
            self.waiting.setdefault(table, []).append(built)
        for table in list(self.waiting):
            frame = pd.concat(self.waiting[table], ignore_index=True)
            try:
                self.store.append(table, frame)
            except Exception as error:  # a store that is down: keep the rows, try again
                self.waiting[table] = [frame]
                if self.failing is None:
                    self.failing = first_line(error)
                    self._say(f"cannot write to {self.store.where} ({self.failing}); retrying")
                self.counted("waiting", self.rows)
                return False
            del self.waiting[table]
            with self.lock:
                self.rows -= len(frame)
            self.counted("written", len(frame))
        if self.failing is not None:
            self.failing = None
            self._say(f"writing to {self.store.where} again")
        self.counted("waiting", self.rows)
        return True

    def close(self, timeout: float = 10.0) -> None:
        """Write everything still queued or waiting, trying for at most `timeout` seconds; what
        is left then is counted as dropped and said."""
        self.stopping = True
        self.wake.set()
        self.thread.join(timeout)
        deadline = time.monotonic() + timeout
        while (self.rows or self.queued) and time.monotonic() < deadline:
            if not self.flush():
                time.sleep(0.5)
        if self.rows:
            self.dropped += self.rows
            self.counted("dropped", self.rows)
            self._say(f"stopped with {self.rows:,} row(s) not written: dropped")

    @staticmethod
    def _say(line: str) -> None:
        print(f"warning: serve: inference log: {line}", file=sys.stderr, flush=True)
