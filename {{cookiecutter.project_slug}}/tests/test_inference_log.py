"""The inference log: what `serve` answered is what the log holds, a store outage answers every
request and counts what it drops, labels join by request id (unknown ones counted), and the
drift job judges the served rows window by window."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd
import pytest

from {{ cookiecutter.package_name }} import synthetic, task
from {{ cookiecutter.package_name }}.__main__ import main
from {{ cookiecutter.package_name }}.drift_log import check_member_log
from {{ cookiecutter.package_name }}.inference_log import LABELS, PREDICTIONS, FolderStore
from {{ cookiecutter.package_name }}.log_writer import LogWriter
from {{ cookiecutter.package_name }}.members import members
from {{ cookiecutter.package_name }}.params import Params, load_params, parse_params
from {{ cookiecutter.package_name }}.serve_log import builder
from {{ cookiecutter.package_name }}.serve_models import Models

from .conftest import INPUT
from .test_serve import call, metric, records, server

WRITTEN, DROPPED = (
    'serve_log_rows_total{outcome="written"}',
    'serve_log_rows_total{outcome="dropped"}',
)


def store() -> FolderStore:
    return FolderStore(Path("logs/inference"), load_params().data.schema_)


def test_every_answered_row_is_logged_and_labels_join_by_request_id(served: Models) -> None:
    log = store()
    rows = records(pd.read_csv(INPUT))
    parts = [rows[start : start + 3] for start in range(0, len(rows), 3)]
    with server(served, log=LogWriter(log, builder(None), 10_000, 0.05)) as port:
        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(lambda part: call(port, "/predict", part)[1], parts))
        first = answers[0]["request_id"]
        known = call(port, "/feedback", {"request_id": first, "row": 1, "label": 1})
        unknown = call(port, "/feedback", [{"request_id": "never-served", "label": 1}])
        bad = call(port, "/feedback", {"request_id": first, "label": "yes"})
        text = call(port, "/metrics")[1]
    # the server has stopped as on SIGTERM: everything answered is in the store
    logged = log.read(PREDICTIONS).set_index(["request_id", "row"]).sort_index()
    served_rows = (
        pd.DataFrame(
            [
                {"request_id": body["request_id"], "row": index, **prediction}
                for body in answers
                for index, prediction in enumerate(body["predictions"])
            ]
        )
        .set_index(["request_id", "row"])
        .sort_index()
    )
    assert len(logged) == len(rows) and logged.index.equals(served_rows.index)
    for column in [*task.PREDICTION_COLUMNS, "model", "version"]:
        assert logged[column].tolist() == served_rows[column].tolist(), column
    inputs = pd.DataFrame(rows)
    column = next(iter(load_params().data.schema_.numeric))
    assert sorted(logged[column]) == sorted(inputs[column].astype(float))
    assert known[0] == 202 and known[1]["recorded"] == 1
    assert unknown[0] == 404 and unknown[1]["unknown_request_ids"] == ["never-served"]
    assert bad[0] == 422 and "label" in bad[1]["detail"]
    assert metric(text, 'serve_feedback_labels_total{outcome="unknown"}') == 1
    labels = log.read(LABELS)
    assert labels[["request_id", "row", "label"]].values.tolist() == [[first, 1, 1.0]]


def test_a_store_outage_answers_every_request_and_counts_what_it_drops(served: Models) -> None:
    log = store()
    blocker = log.folder / PREDICTIONS  # a file where the folder should be: every write fails
    blocker.parent.mkdir(parents=True)
    blocker.write_text("not a folder")
    rows = records(pd.read_csv(INPUT))
    with server(
        served, log=LogWriter(log, builder(None), buffer_rows=30, flush_seconds=0.05)
    ) as port:
        statuses = [call(port, "/predict", rows[at : at + 5])[0] for at in range(0, 40, 5)]
        during = call(port, "/metrics")[1]
        blocker.unlink()  # the store is back
        deadline = time.monotonic() + 60  # the writer's retries back off, up to 30 s apart
        while metric(call(port, "/metrics")[1], WRITTEN) < 30 and time.monotonic() < deadline:
            time.sleep(0.1)
        after = call(port, "/metrics")[1]
    assert statuses == [200] * 8  # answered throughout
    assert metric(during, DROPPED) == 10 and metric(during, WRITTEN) == 0
    assert metric(after, WRITTEN) == 30 and metric(after, DROPPED) == 10
    assert len(log.read(PREDICTIONS)) == 30  # answered 40 = written 30 + dropped 10


def test_feedback_records_known_labels_and_names_unknown_ones(
    scoring_project: object, capsys: pytest.CaptureFixture[str]
) -> None:
    log = store()
    stamp = pd.Timestamp.now(tz="UTC")
    log.append(
        PREDICTIONS, pd.DataFrame({"request_id": ["a", "a", "b"], "row": [0, 1, 0], "time": stamp})
    )
    pd.DataFrame(
        {"request_id": ["a", "a", "b", "zzz"], "row": [0, 1, 0, 0], "label": [1, 0, 1, 1]}
    ).to_csv("labels.csv", index=False)
    assert main(["feedback", "labels.csv"]) == 0
    said = capsys.readouterr().out
    assert "3 label(s) of 2 request(s) recorded" in said and "1 request id(s)" in said
    assert "'zzz'" in said
    assert sorted(log.read(LABELS)["request_id"]) == ["a", "a", "b"]
    pd.DataFrame({"request_id": ["a"], "label": ["high"]}).to_csv("bad.csv", index=False)
    assert main(["feedback", "bad.csv"]) == 1
    assert "bad label" in capsys.readouterr().err and len(log.read(LABELS)) == 3


def served_rows(
    model: object, frame: pd.DataFrame, start: pd.Timestamp, labelled: int
) -> pd.DataFrame:
    """`frame` as the log holds it once served at `start`, the first `labelled` rows labelled."""
    target = load_params().data.schema_.target
    rows = frame.assign(
        time=start, version="1", request_id=[f"r{i}" for i in range(len(frame))], row=0
    )
    rows[task.PREDICTION_COLUMNS[0]] = task.predict(model, frame)
    rows.loc[rows.index[labelled:], target] = None
    return rows


@pytest.mark.parametrize(("persist", "fires"), [(2, True), (3, False)])
def test_drift_on_the_log_fires_when_a_rule_persists_over_windows(
    scoring_project: object, raw_params: dict, frame: pd.DataFrame, persist: int, fires: bool
) -> None:
    raw_params["drift"] |= {"windows": 3, "persist": persist, "min_labelled_rows": 200}
    params = parse_params(raw_params)
    Path("reports").mkdir()
    metrics = {params.model.primary_metric: 0.8}
    Path("reports/metrics.json").write_text(json.dumps(metrics))
    start = pd.Timestamp("2026-01-05 00:00", tz="UTC")
    later = synthetic.generate(600, window=6, seed=1)[frame.columns]  # far ahead: drifted
    cur = pd.concat(
        [
            served_rows(scoring_project, frame.tail(600), start, labelled=50),
            served_rows(scoring_project, later.head(300), start + pd.Timedelta(hours=1), 50),
            served_rows(scoring_project, later.tail(300), start + pd.Timedelta(hours=2), 50),
        ],
        ignore_index=True,
    )
    verdict = check_member_log(members(params)[0], frame, cur, force=False)
    each = verdict["windows"]["each"]
    assert [window["data_drift"] for window in each] == [False, True, True]
    assert [window["from"][11:16] for window in each] == ["00:00", "00:40", "01:20"]
    assert verdict["drift_detected"] is fires and ("data_drift" in verdict["triggers"]) is fires
    # 150 labelled rows in all, 50 a window: too few to judge performance anywhere
    assert verdict["performance"]["judged"] is False and verdict["performance"]["rows"] == 150
    assert [window["performance"] for window in each] == [None, None, None]


def test_rows_that_cannot_be_built_are_dropped_and_counted_not_lost_silently(
    tmp_path: Path, params: Params, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(table: str, parts: list) -> pd.DataFrame:
        raise ValueError("no such column")

    counted: list[tuple[str, int]] = []
    log = FolderStore(tmp_path / "log", params.data.schema_)
    writer = LogWriter(log, broken, buffer_rows=100, flush_seconds=60)
    writer.counted = lambda outcome, rows: counted.append((outcome, rows))
    assert writer.put(PREDICTIONS, 5, object())
    writer.close()
    assert ("dropped", 5) in counted and writer.dropped == 5 and writer.rows == 0
    assert "dropped 5 predictions row(s) that could not be built" in capsys.readouterr().err
