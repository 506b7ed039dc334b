"""`serve`: answer scoring requests over HTTP (FastAPI on uvicorn).

POST /predict takes one record or a list of records and answers each row's prediction with
the model's name and version, and a request id (the caller's X-Request-ID when it is a plain
token, else a new one). GET /health says the process is alive, GET /ready that the models are
loaded, GET /metrics counts in Prometheus' text format. Concurrent requests are scored in
batches (serve_batch); a registered champion is swapped when its alias moves (serve_models).
Every answered row goes to the inference log (log_writer), and POST /feedback takes labels
back for the request ids it answered (serve_log).
Bodies over `max_bytes`, requests over `max_rows` and scoring over `timeout` seconds are
refused with 413, 413 and 503; a bad body is a 4xx that names the problem, never a crash.
"""

from __future__ import annotations

import asyncio
import gc
import os
import sys
import time
import uuid
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from functools import partial
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from .errors import DataError, first_line
from .params import Params, load_params
from .serve_log import REQUEST_ID
from .serve_models import Models, report, source


@dataclass(frozen=True)
class Limits:
    max_bytes: int = 1_000_000
    max_rows: int = 1_000
    timeout: float = 10.0  # seconds to score one request
    poll: float = 10.0  # seconds between looks at the registry's alias (0: never)


def create_app(models: Models, params: Params, limits: Limits, log: Any = None) -> Any:
    """The ASGI app answering with `models` (already loaded), logging to `log` (a LogWriter)."""
    from .members import by
    from .serve_batch import Batcher, ScoringFailed, score
    from .serve_input import Records, Refused
    from .serve_log import Recent, labels_part, scored
    from .serve_metrics import CONTENT_TYPE, Metrics

    metrics = Metrics()
    route = by(params)
    records = Records(params.data.schema_, route)
    recent = Recent()

    def answered(jobs: list[Any], table: Any) -> None:
        if log is not None and jobs:
            rows = sum(len(job.records) for job, _ in jobs)
            log.put("predictions", rows, scored(jobs, table))
            recent.add([job.request_id for job, _ in jobs])

    if log is not None:
        log.counted = metrics.logged
    batcher = Batcher(
        lambda rows: score(models.current, records, rows, metrics), metrics, answered=answered
    )
    state = {"ready": False}

    def serving() -> None:
        metrics.serving({served.name: served.version for served in models.current.values()})

    async def watch() -> None:
        loop = asyncio.get_running_loop()
        while limits.poll > 0:
            await asyncio.sleep(limits.poll)
            try:
                swaps = await loop.run_in_executor(None, models.refresh)
            except Exception as error:  # the registry may be down for a while: keep serving
                report([f"warning: serve: cannot read the registry: {first_line(error)}"])
                continue
            for swap in swaps:
                metrics.swaps.labels(swap.model, swap.outcome).inc()
            report([swap.line for swap in swaps])
            if any(swap.outcome == "swapped" for swap in swaps):
                gc.unfreeze()  # the old model can go now; the new one is frozen in its place
                gc.collect()
                gc.freeze()
            serving()

    @asynccontextmanager
    async def lifespan(app: Any):  # type: ignore[no-untyped-def]
        tasks = [asyncio.create_task(batcher.run()), asyncio.create_task(watch())]
        serving()
        # The models and everything imported move out of the collector's reach: a full
        # collection no longer walks them (measured: p99 at 32 clients 145 -> 75 ms).
        gc.freeze()
        state["ready"] = True
        yield
        state["ready"] = False
        for task in tasks:
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task
        batcher.close()
        if log is not None:
            log.close()  # everything answered is written before the process ends

    app = FastAPI(title=f"{params.model.name} scoring", lifespan=lifespan)

    def answer(path: str, status: int, content: Any, headers: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
        metrics.requests.labels(path, str(status)).inc()
        return JSONResponse(content, status_code=status, headers=headers)

    @app.post("/predict")
    async def predict(request: Request):  # type: ignore[no-untyped-def]
        start = time.perf_counter()
        given = request.headers.get("x-request-id", "")
        request_id = given if REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
        headers = {"X-Request-ID": request_id}
        batcher.reading += 1
        try:
            body = await _body(request, limits.max_bytes)
            rows = records.parse(body)
            if len(rows) > limits.max_rows:
                raise TooLarge(f"{len(rows):,} rows; at most {limits.max_rows:,} per request")
            _routable(rows, route, models)
        except TooLarge as error:
            return answer("/predict", 413, {"detail": str(error)}, headers)
        except Refused as error:
            return answer("/predict", 422, _refusal(error, request_id), headers)
        finally:
            batcher.reading -= 1
        try:
            answers = await asyncio.wait_for(batcher.submit(rows, request_id), limits.timeout)
        except TimeoutError:
            detail = f"not scored within {limits.timeout:g} s; try again"
            return answer("/predict", 503, {"detail": detail}, headers)
        except ScoringFailed as error:
            return answer("/predict", 422, {"detail": str(error)}, headers)
        metrics.latency.observe(time.perf_counter() - start)
        return answer("/predict", 200, {"request_id": request_id, "predictions": answers}, headers)

    @app.post("/feedback")
    async def feedback(request: Request):  # type: ignore[no-untyped-def]
        from .serve_log import labels

        try:
            found = labels(await _body(request, limits.max_bytes), limits.max_rows)
        except TooLarge as error:
            return answer("/feedback", 413, {"detail": str(error)})
        except ValueError as error:
            return answer("/feedback", 422, {"detail": str(error)})
        if log is None:
            return answer("/feedback", 409, {"detail": "the inference log is off (params.yaml)"})
        unknown = recent.unknown({one.request_id for one in found})
        if unknown:
            loop = asyncio.get_running_loop()
            try:
                unknown -= await loop.run_in_executor(None, log.store.known, sorted(unknown))
            except Exception as error:
                detail = f"cannot look up request ids now ({first_line(error)}); try again"
                return answer("/feedback", 503, {"detail": detail})
        kept = [one for one in found if one.request_id not in unknown]
        metrics.feedback.labels("recorded").inc(len(kept))
        metrics.feedback.labels("unknown").inc(len(found) - len(kept))
        if kept:
            log.put("labels", len(kept), labels_part(kept))
        content = {"recorded": len(kept), "unknown_request_ids": sorted(unknown)[:100]}
        return answer("/feedback", 202 if kept else 404, content)

    @app.get("/health")
    async def health():  # type: ignore[no-untyped-def]
        return answer("/health", 200, {"status": "alive"})

    @app.get("/ready")
    async def ready():  # type: ignore[no-untyped-def]
        versions = {served.name: served.version for served in models.current.values()}
        status = 200 if state["ready"] and versions else 503
        content = {"status": "ready" if status == 200 else "not ready", "models": versions}
        return answer("/ready", status, content)

    @app.get("/metrics")
    async def prometheus():  # type: ignore[no-untyped-def]
        return Response(metrics.text(), media_type=CONTENT_TYPE)

    return app


class TooLarge(ValueError):
    pass


async def _body(request: Any, limit: int) -> bytes:
    """The request's body, refused (TooLarge) past `limit` bytes without reading the rest."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise TooLarge(f"body of {int(declared):,} bytes; at most {limit:,}")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TooLarge(f"body over {limit:,} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _routable(rows: list[dict[str, Any]], route: str | None, models: Models) -> None:
    """Refuse the rows of a fleet whose member is not being served."""
    from .serve_input import Refused

    if route is None:
        return
    problems = [
        {"row": index, "column": route, "problem": f"no model is served for {str(value)[:80]!r}"}
        for index, row in enumerate(rows)
        if (value := row[route]) is None or str(value) not in models.current
    ]
    if problems:
        problems[0]["problem"] += f" (served: {', '.join(sorted(models.current)[:20])})"
        raise Refused(problems)


def _refusal(error: Any, request_id: str) -> dict[str, Any]:
    return {"detail": str(error), "problems": error.problems, "request_id": request_id}


def main(host: str, port: int, model: str, poll: float) -> None:
    if not 0 < port < 65536:
        raise DataError(f"serve: --port {port}: use 1 to 65535")
    params = load_params()
    label = os.environ.get("MODEL_VERSION", "workspace")  # a file's, without champions.json
    models = Models(model, params, label)
    first, more = source(model, models.members[0]), len(models.members) - 1
    print(f"serve: loading {first}{f' and {more} more' if more else ''}", file=sys.stderr)
    report(models.load())
    log = _log_writer(params)
    app = create_app(models, params, Limits(poll=poll if models.registry else 0), log)
    names = ", ".join(f"{s.name} version {s.version}" for s in models.current.values())
    print(f"serve: {names} on http://{host}:{port}", file=sys.stderr, flush=True)
    run(app, host, port)


def _log_writer(params: Params) -> Any:
    """The inference log's writer, or None when params.yaml turns the log off."""
    from .inference_log import open_store
    from .log_writer import LogWriter
    from .members import by
    from .serve_log import builder

    store = open_store(params)
    if store is None:
        print("serve: the inference log is off (params.yaml inference_log.store)", file=sys.stderr)
        return None
    print(f"serve: logging what is scored to {store.where}", file=sys.stderr)
    config = params.inference_log
    return LogWriter(store, builder(by(params)), config.buffer_rows, config.flush_seconds)


def run(app: Any, host: str, port: int) -> None:
    import uvicorn

    config = partial(uvicorn.Config, log_level="warning", access_log=False)
    server = uvicorn.Server(config(app, host=host, port=port, timeout_graceful_shutdown=10))
    server.run()
