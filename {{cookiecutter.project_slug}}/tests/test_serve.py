"""serve over real HTTP on 127.0.0.1: answers equal to `predict`'s, concurrent requests scored
in shared batches, bad bodies refused with the column named (and the server goes on), limits,
what /metrics counts. In a fleet bake every member has its own model and rows are routed."""

from __future__ import annotations

import http.client
import json
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import pandas as pd
import pytest

from {{ cookiecutter.package_name }} import task
from {{ cookiecutter.package_name }}.__main__ import main
from {{ cookiecutter.package_name }}.params import load_params
from {{ cookiecutter.package_name }}.serve import Limits, create_app
from {{ cookiecutter.package_name }}.serve_models import Models

from .conftest import INPUT


@contextmanager
def server(models: Models, limits: Limits | None = None, log: Any = None) -> Iterator[int]:
    """The app on a free port of 127.0.0.1, in a thread, logging to `log` (a LogWriter);
    yields the port. On leaving, the app shuts down as on SIGTERM."""
    import uvicorn

    app = create_app(models, load_params(), limits or Limits(poll=0), log)
    running = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="error"))
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not running.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.02)
    try:
        yield running.servers[0].sockets[0].getsockname()[1]
    finally:
        running.should_exit = True
        thread.join(20)


def call(port: int, path: str, body: Any = None, headers: dict | None = None) -> tuple:
    """(status, JSON or text, headers) of one request."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
    connection.request("GET" if data is None else "POST", path, data, headers or {})
    response = connection.getresponse()
    text = response.read().decode()
    kind = response.headers.get("content-type", "")
    return response.status, json.loads(text) if "json" in kind else text, response.headers


def records(rows: pd.DataFrame) -> list[dict]:
    return json.loads(rows.to_json(orient="records"))


def metric(text: str, name: str) -> float:
    """The sum of a metric's samples in Prometheus' text format."""
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith(name) and not line.startswith("#")
    )


def test_answers_are_those_of_predict(served: Models) -> None:
    rows = pd.read_csv(INPUT)
    spec = served.spec
    assert main(["predict", "--model", spec, "--input", INPUT, "--output", "scored.csv"]) == 0
    expected = pd.read_csv("scored.csv")[task.PREDICTION_COLUMNS]
    with server(served) as port:
        status, one, headers = call(port, "/predict", records(rows.head(1))[0])
        assert status == 200 and headers["X-Request-ID"] == one["request_id"]
        status, many, _ = call(port, "/predict", records(rows))
        assert status == 200 and len(many["predictions"]) == len(rows)
        ready = call(port, "/ready")
    answers = pd.DataFrame(many["predictions"])
    pd.testing.assert_frame_equal(answers[task.PREDICTION_COLUMNS], expected, check_dtype=False)
    assert one["predictions"][0] == many["predictions"][0]
    assert set(answers["version"]) == {"test"}
    assert set(answers["model"]) == {served.name for served in served.current.values()}
    assert ready[0] == 200 and set(ready[1]["models"].values()) == {"test"}


def test_concurrent_requests_share_batches_and_each_gets_its_own_rows(served: Models) -> None:
    rows = records(pd.read_csv(INPUT))
    with server(served) as port:
        alone = [call(port, "/predict", row)[1]["predictions"][0] for row in rows]
        with ThreadPoolExecutor(16) as pool:
            answers = list(pool.map(lambda row: call(port, "/predict", row), rows * 4))
        text = call(port, "/metrics")[1]
    assert all(status == 200 for status, _, _ in answers)
    assert [body["predictions"][0] for _, body, _ in answers] == alone * 4
    batches = metric(text, "serve_batch_rows_count")
    assert metric(text, "serve_batch_rows_sum") == 5 * len(rows)
    assert batches < 5 * len(rows)  # some requests were scored together


@pytest.mark.parametrize(
    ("change", "status", "named"),
    [
        (lambda row: row.pop(next(iter(row))), 422, "required column missing"),
        (lambda row: row.update({next(iter(row)): "many"}), 422, "valid number"),
        (lambda row: row.update({next(iter(row)): [1]}), 422, "valid number"),
    ],
)
def test_a_bad_record_is_refused_with_its_column_named(
    served: Models, change: Any, status: int, named: str
) -> None:
    row = records(pd.read_csv(INPUT).head(1))[0]
    column = next(iter(row))
    change(row)
    with server(served) as port:
        found, body, _ = call(port, "/predict", [records(pd.read_csv(INPUT).head(1))[0], row])
        assert found == status and named in body["detail"]
        assert {key: body["problems"][0].get(key) for key in ("row", "column")} == {
            "row": 1,
            "column": column,
        }
        assert call(port, "/predict", records(pd.read_csv(INPUT).head(1)))[0] == 200


def test_bad_bodies_and_limits_never_stop_the_server(served: Models) -> None:
    rows = records(pd.read_csv(INPUT))
    limits = Limits(max_bytes=4_000, max_rows=5, poll=0)
    with server(served, limits) as port:
        assert call(port, "/predict", b"{not json")[0] == 422
        assert call(port, "/predict", b"[]")[0] == 422
        assert call(port, "/predict", b'"text"')[0] == 422
        assert call(port, "/predict", b"[1, 2]")[0] == 422
        assert call(port, "/predict", rows[:6])[0] == 413  # rows
        assert call(port, "/predict", b"[" + b" " * 5_000 + b"]")[0] == 413  # bytes
        hostile = {"X-Request-ID": "<script>" + "x" * 100}
        status, body, headers = call(port, "/predict", rows[:5], hostile)
        assert status == 200 and headers["X-Request-ID"] == body["request_id"] != hostile
        assert call(port, "/health")[0] == 200
        text = call(port, "/metrics")[1]
    assert metric(text, 'serve_requests_total{path="/predict",status="422"}') == 4
    assert metric(text, 'serve_requests_total{path="/predict",status="413"}') == 2


def test_unseen_categories_and_out_of_range_numbers_are_scored_and_counted(
    served: Models,
) -> None:
    params = load_params()
    schema, route = params.data.schema_, getattr(getattr(params, "fleet", None), "by", None)
    row = records(pd.read_csv(INPUT).head(1))[0]
    category = next(column for column in schema.categorical if column != route)
    number, bounds = next((c, b) for c, b in schema.numeric.items() if b.max is not None)
    row.update({category: "never-seen", number: bounds.max + 1e6})
    with server(served) as port:
        status, body, _ = call(port, "/predict", row)
        text = call(port, "/metrics")[1]
    assert status == 200 and len(body["predictions"]) == 1
    assert metric(text, 'serve_out_of_range_total{column="' + number + '"}') == 1
    assert f'column="{category}"' in text and "serve_unseen_categories_total" in text


def test_a_huge_category_is_refused_and_a_markdown_one_is_scored_as_unseen(
    served: Models,
) -> None:
    params = load_params()
    route = getattr(getattr(params, "fleet", None), "by", None)
    category = next(column for column in params.data.schema_.categorical if column != route)
    row = records(pd.read_csv(INPUT).head(1))[0]
    with server(served) as port:
        status, body, _ = call(port, "/predict", {**row, category: "x" * 100_000})
        scored = call(port, "/predict", {**row, category: "| **bold** |\n# heading"})
        text = call(port, "/metrics")[1]
    assert status == 422 and body["problems"][0]["column"] == category
    assert "at most 200 characters" in body["detail"] and len(json.dumps(body)) < 2_000
    assert scored[0] == 200 and 'column="' + category + '"' in text
