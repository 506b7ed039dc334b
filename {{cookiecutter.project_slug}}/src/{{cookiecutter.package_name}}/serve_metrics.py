"""What `serve` counts, in Prometheus' text format at /metrics: requests by status, latency,
rows and scores per model, the batches they were scored in, categories the model never saw,
numbers outside params.yaml's bounds, the version each model is at, the inference log's rows
written, waiting and dropped, and the labels sent back."""

from __future__ import annotations

from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)

from . import task

LATENCY = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0)
BATCH = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class Metrics:
    def __init__(self) -> None:
        disable_created_metrics()  # the *_created series say only when the server started
        self.registry = CollectorRegistry()  # one per server: tests start several
        on = {"registry": self.registry}
        self.requests = Counter(
            "serve_requests", "Requests answered, by path and status", ["path", "status"], **on
        )
        self.latency = Histogram(
            "serve_request_seconds", "Time to answer /predict", buckets=LATENCY, **on
        )
        self.batch_rows = Histogram(
            "serve_batch_rows", "Rows scored in one call of the model", buckets=BATCH, **on
        )
        self.rows = Counter("serve_rows", "Rows scored, by model", ["model"], **on)
        self.scores = Histogram(
            "serve_scores", "The scores served", ["model"], buckets=task.SCORE_BUCKETS, **on
        )
        self.unseen = Counter(
            "serve_unseen_categories",
            "Rows scored with a category the model never saw, by column",
            ["model", "column"],
            **on,
        )
        self.out_of_range = Counter(
            "serve_out_of_range",
            "Rows scored with a number outside params.yaml's min/max, by column",
            ["column"],
            **on,
        )
        self.version = Gauge(
            "serve_model_info", "The model version served (1 for the one in use)",
            ["model", "version"], **on,
        )  # fmt: skip
        self.swaps = Counter(
            "serve_model_swaps", "Alias moves seen, by outcome", ["model", "outcome"], **on
        )
        self.log_rows = Counter(
            "serve_log_rows", "Rows of the inference log, by outcome (written, dropped)",
            ["outcome"], **on,
        )  # fmt: skip
        self.log_waiting = Gauge(
            "serve_log_waiting_rows", "Rows waiting to be written to the inference log", **on
        )
        self.feedback = Counter(
            "serve_feedback_labels", "Labels sent to /feedback, by outcome (recorded, unknown)",
            ["outcome"], **on,
        )  # fmt: skip
        self.served: dict[str, str] = {}

    def logged(self, outcome: str, rows: int) -> None:
        """The inference log's writer counting: rows written or dropped, or now waiting."""
        if outcome == "waiting":
            self.log_waiting.set(rows)
        else:
            self.log_rows.labels(outcome).inc(rows)

    def scored(self, model: str, scores: Any, unseen: dict[str, int]) -> None:
        self.rows.labels(model).inc(len(scores))
        histogram = self.scores.labels(model)
        for value in scores:
            histogram.observe(float(value))
        for column, count in unseen.items():
            self.unseen.labels(model, column).inc(count)

    def serving(self, models: dict[str, str]) -> None:
        """The version each model (by name) is at now."""
        for model, version in self.served.items():
            if models.get(model) != version:
                self.version.remove(model, version)
        for model, version in models.items():
            self.version.labels(model, version).set(1)
        self.served = dict(models)

    def text(self) -> bytes:
        return generate_latest(self.registry)
