"""Drift on what was served (`drift.current: log`): the inference log's newest `log_days`, with
the labels sent back joined by request id, judged in `windows` windows of equal time. The
data-drift and performance rules fire only when broken in at least `persist` of them (one bad
day opens no pull request); the performance rule judges a window only on at least
`min_labelled_rows` labelled rows, and the served scores, not a re-scoring."""

from __future__ import annotations

import math
import sys
from typing import TYPE_CHECKING, Any

import pandas as pd

from . import markdown as md
from . import task
from .drift_rules import dataset_drift, decide, performance_drop
from .drift_stats import check_columns
from .errors import DataError, first_line
from .inference_log import KEYS, LABELS, PREDICTIONS, Store, open_store
from .params import Params
from .paths import Outputs

if TYPE_CHECKING:
    from .members import Member

SCORE = task.PREDICTION_COLUMNS[0]  # the served score (or forecast) the metric is taken of
EXTRA = ["request_id", "row", "time", "version", SCORE]  # kept beside the features


def labelled_log(
    store: Store, target: str, since: pd.Timestamp, until: pd.Timestamp
) -> pd.DataFrame:
    """The rows logged from `since` to `until`, the newest label of each (or none) as `target`."""
    predictions = store.read(PREDICTIONS, since)
    predictions = predictions[predictions["time"] <= until]
    labels = store.read(LABELS, since).sort_values("time", kind="stable")
    labels = labels.drop_duplicates(KEYS, keep="last")[[*KEYS, "label"]]
    joined = predictions.merge(labels, on=KEYS, how="left", validate="many_to_one")
    return joined.rename(columns={"label": target}).sort_values("time", kind="stable")


def current_from_log(params: Params) -> tuple[pd.DataFrame, str, dict[str, Any]]:
    """The log's newest rows (drift.log_days), where they came from, and the period read."""
    store = open_store(params)
    if store is None:
        raise DataError("drift: drift.current is log, but inference_log.store is none")
    until = pd.Timestamp.now(tz="UTC")
    since = until - pd.Timedelta(days=params.drift.log_days)
    frame = labelled_log(store, params.data.schema_.target, since, until)
    if frame.empty:
        raise DataError(
            f"drift: the inference log ({store.where}) holds no rows of the last"
            f" {params.drift.log_days:g} days (drift.log_days); is `serve` logging there?"
        )
    labelled = int(frame[params.data.schema_.target].notna().sum())
    first, last = frame["time"].iloc[0], frame["time"].iloc[-1]
    source = (
        f"the inference log ({store.where}): rows served {first:%Y-%m-%d %H:%M} to"
        f" {last:%Y-%m-%d %H:%M} UTC, {labelled:,} of them labelled"
    )
    period = {"since": since.isoformat(), "until": until.isoformat()}
    return frame, source, period


def reference_metric(params: Params, outputs: Outputs) -> float:
    """The primary metric the champion had at evaluation: its registry tags, else the local
    reports' metrics.json."""
    from . import tracking
    from .drift import recorded_metric

    metric = params.model.primary_metric
    if tracking.store_exists():
        tracking.configure()
        from mlflow import MlflowClient

        from .registry import CHAMPION, metrics_from_tags, version_by_alias

        try:
            version = version_by_alias(MlflowClient(), params.model.name, CHAMPION)
            if version is not None:
                return float(metrics_from_tags(version.tags)[metric])
        except Exception as error:  # an unreachable store must not hide drift
            print(
                f"drift: the champion's {metric} not available ({first_line(error)});"
                f" using {outputs.metrics}",
                file=sys.stderr,
            )
    return recorded_metric(params, outputs)


def performance(rows: pd.DataFrame, params: Params, reference: float) -> dict[str, Any]:
    """The primary metric of the served scores on the labelled rows, against `reference`;
    `judged` false when they are fewer than drift.min_labelled_rows."""
    target, least = params.data.schema_.target, params.drift.min_labelled_rows
    labelled = rows[rows[target].notna()]
    if len(labelled) < least:
        return {"judged": False, "fired": False, "rows": len(labelled), "min_rows": least}
    metric = params.model.primary_metric
    value = task.metrics(labelled[target].to_numpy(), labelled[SCORE].to_numpy(), params.model)
    result = performance_drop(reference, value[metric], metric, params.drift.max_metric_drop)
    versions = sorted(labelled["version"].astype(str).unique())
    return {
        **result,
        "judged": True,
        "rows": len(labelled),
        "model": f"served: version {', '.join(versions)}",
    }


def windows(rows: pd.DataFrame, count: int) -> list[tuple[pd.Timestamp | None, pd.DataFrame]]:
    """`rows` (in time order) cut into `count` windows of equal time, oldest first, each with
    the time it starts at (an empty window too)."""
    if rows.empty:
        return [(None, rows)]
    start, end = rows["time"].iloc[0], rows["time"].iloc[-1]
    if count == 1:
        return [(start, rows)]
    step = (end - start) / count
    index = (
        ((rows["time"] - start) / step).fillna(0).clip(upper=count - 1).astype(int) if step else 0
    )
    return [(start + number * step, rows[index == number]) for number in range(count)]


def check_member_log(
    member: Member, ref: pd.DataFrame, cur: pd.DataFrame, force: bool
) -> dict[str, Any]:
    """One member's verdict on its served rows: the columns over the whole period, each rule
    window by window, fired when broken in at least drift.persist windows."""
    own = member.params
    drift, schema = own.drift, own.data.schema_
    reference = reference_metric(own, member.outputs)
    judged = []
    for begins, part in windows(cur, drift.windows):
        columns = check_columns(ref, part, schema, drift) if len(part) else {}
        drifted = dataset_drift(columns, drift.share_threshold, drift.critical_columns)[0]
        shown = performance(part, own, reference)
        judged.append({
            "from": None if begins is None else begins.isoformat(),
            "rows": len(part),
            "labelled": shown["rows"],
            "data_drift": bool(columns) and drifted,
            "metric": shown.get("current"),
            "performance": shown["fired"] if shown["judged"] else None,
        })  # fmt: skip
    broken = {
        rule: sum(bool(window[rule]) for window in judged) for rule in ("data_drift", "performance")
    }
    whole = performance(cur, own, reference)
    whole["fired"] = broken["performance"] >= drift.persist
    columns = check_columns(ref, cur, schema, drift)
    verdict = decide(
        columns,
        drift,
        len(cur),
        whole,
        forced=force,
        detected=broken["data_drift"] >= drift.persist,
    )
    verdict["windows"] = {"persist": drift.persist, "broken": broken, "each": judged}
    if member.name:
        verdict["drifted"] = [name for name, column in columns.items() if column["drifted"]]
        verdict["reference_rows"] = len(ref)
    return verdict


def window_lines(result: dict[str, Any]) -> list[str]:
    """The windows table of the drift report (Markdown), when the log was judged."""
    found = result.get("windows")
    if not found or len(found["each"]) < 2:
        return []
    broken, persist = found["broken"], found["persist"]
    lines = [
        "",
        f"Windows (a rule fires when broken in at least {persist} of {len(found['each'])}):"
        f" data drift in {broken['data_drift']}, performance drop in {broken['performance']}.",
        "",
        "| window from (UTC) | rows | labelled | data drift | metric | performance drop |",
        "|---|---:|---:|:---:|---:|:---:|",
    ]
    for window in found["each"]:
        start = (window["from"] or "")[:19].replace("T", " ")  # an ISO time: digits, - and :
        metric = (
            ""
            if window["metric"] is None or math.isnan(window["metric"])
            else f"{window['metric']:.4g}"
        )
        drop = {True: "🔴 yes", False: "🟢 no", None: "not judged"}[window["performance"]]
        drifted = "🔴 yes" if window["data_drift"] else "🟢 no"
        counts = f"{window['rows']:,} | {window['labelled']:,}"
        lines.append(f"| {start} | {counts} | {drifted} | {metric} | {drop} |")
    return lines


def production_rows(
    params: Params, frame: pd.DataFrame, verdicts: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    """The labelled rows a retraining adds (those of the members to retrain): how many, and
    when they were served."""
    from .paths import PRODUCTION_DATA

    chosen = [name for name, verdict in verdicts.items() if verdict["retrain"]]
    rows = retrained(frame, params, chosen)
    found = {"rows": len(rows), "file": str(PRODUCTION_DATA)}
    if len(rows):
        found |= {"first": rows["time"].min().isoformat(), "last": rows["time"].max().isoformat()}
        found["versions"] = sorted(rows["version"].astype(str).unique())[:20]
    return found


def retrained(frame: pd.DataFrame, params: Params, chosen: list[str]) -> pd.DataFrame:
    """The labelled rows of `frame` of the models to retrain (`chosen` members; "" is the
    single model)."""
    from .members import by

    rows = frame[frame[params.data.schema_.target].notna()]
    route = by(params)
    if route:
        return rows[rows[route].astype(str).isin(chosen)]
    return rows if "" in chosen else rows.iloc[:0]


def production_line(current: dict[str, Any]) -> list[str]:
    """The drift report's sentence on the production rows retraining adds."""
    found = current.get("production")
    if not found or not found["rows"]:
        return []
    first, last = (found[key][:16].replace("T", " ") for key in ("first", "last"))
    versions = ", ".join(found["versions"])
    return [
        "",
        f"Retraining adds the {found['rows']:,} labelled production rows served from {first}"
        f" to {last} UTC (by version {md.text(versions, 80)}) to the training data, as"
        f" {md.code(found['file'])} (`next-window`).",
    ]
