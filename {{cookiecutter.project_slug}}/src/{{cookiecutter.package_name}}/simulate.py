"""`simulate`: play production against a running `serve`, offline. The synthetic source's rows
are sent as requests, drifting from the trained window to `drift` windows ahead over the
stream; the true labels of a share of the rows are written to a file, as labels that arrive
later would be, for `feedback FILE`."""

from __future__ import annotations

import http.client
import json
import math
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import pandas as pd

from . import synthetic
from .errors import DataError
from .files import write_table


def stream(rows: int, start: int, drift: float, seed: int) -> pd.DataFrame:
    """`rows` synthetic rows, in equal parts from window `start` to `start + ceil(drift)`."""
    windows = list(range(start, start + math.ceil(drift) + 1))
    parts = np.array_split(np.arange(rows), len(windows))
    frames = [
        synthetic.generate(len(part), window=window, seed=seed)
        for window, part in zip(windows, parts, strict=True)
        if len(part)
    ]
    return pd.concat(frames, ignore_index=True)


class Client:
    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme != "http" or not parts.hostname:
            raise DataError(f"simulate: --url {url!r}: give http://host:port of a running serve")
        self.connection = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=30)
        self.url = url

    def predict(self, records: list[dict[str, object]]) -> tuple[int, dict[str, object]]:
        try:
            body = json.dumps(records).encode()
            headers = {"Content-Type": "application/json"}
            self.connection.request("POST", "/predict", body, headers)
            response = self.connection.getresponse()
            return response.status, json.loads(response.read() or b"{}")
        except OSError as error:
            raise DataError(f"simulate: cannot reach serve at {self.url} ({error})") from None

    def logged(self) -> float | None:
        """The rows the server's inference log has written or dropped (its /metrics); None
        when it logs nothing."""
        try:
            self.connection.request("GET", "/metrics")
            text = self.connection.getresponse().read().decode()
        except OSError as error:
            raise DataError(f"simulate: cannot reach serve at {self.url} ({error})") from None
        counts = [
            float(line.rsplit(" ", 1)[1])
            for line in text.splitlines()
            if line.startswith("serve_log_rows_total")
        ]
        return sum(counts) if counts else None

    def wait_for_the_log(self, rows: int, seconds: float = 60) -> None:
        """Until the server has logged `rows` more rows than it had at the start (a label of a
        row not yet written would be unknown to `feedback`), at most `seconds`."""
        deadline = time.monotonic() + seconds
        while (self.logged() or 0) < rows and time.monotonic() < deadline:
            time.sleep(0.2)


def main(url: str, rows: int, batch: int, drift: float, label_share: float, labels: Path) -> None:
    from .members import by
    from .params import load_params

    if rows < 1 or not 1 <= batch <= 1000 or drift < 0 or not 0 <= label_share <= 1:
        raise DataError(
            "simulate: use --rows >= 1, --batch 1..1000, --drift >= 0, --label-share 0..1"
        )
    params = load_params()
    schema = params.data.schema_
    route = by(params)
    frame = stream(rows, params.data.window, drift, int(params.data.seed or 0) + 1000)
    columns = list(dict.fromkeys([*schema.features, *([route] if route else [])]))
    records = json.loads(frame[columns].to_json(orient="records"))
    client, sent, refused, answered = Client(url), 0, 0, []
    before = client.logged()
    for start in range(0, len(records), batch):
        status, body = client.predict(records[start : start + batch])
        if status == 200:
            answered += [
                (str(body["request_id"]), row, start + row)
                for row in range(len(body["predictions"]))
            ]  # type: ignore[arg-type]
        else:
            refused += 1
        sent += 1
        if sent % max(1, len(records) // batch // 10) == 0:
            print(f"simulate: {start + batch:,} of {len(records):,} rows sent", file=sys.stderr)
    if before is not None:  # the server logs: its last rows are written before labels exist
        client.wait_for_the_log(int(before) + len(answered))
    rng = np.random.default_rng(int(params.data.seed or 0))
    chosen = [one for one in answered if rng.random() < label_share]
    target = frame[schema.target].to_numpy()
    found = pd.DataFrame(
        [(request_id, row, float(target[at])) for request_id, row, at in chosen],
        columns=["request_id", "row", "label"],
    )
    labels.parent.mkdir(parents=True, exist_ok=True)
    write_table(found, labels)
    last = params.data.window + math.ceil(drift)
    print(
        f"simulate: {len(answered):,} rows answered in {sent - refused:,} requests"
        f" ({refused:,} refused), synthetic windows {params.data.window} to {last};"
        f" labels of {len(found):,} rows -> {labels}"
    )
    print(f"simulate: next: `python -m {__package__} feedback {labels}`, then `make drift`")
