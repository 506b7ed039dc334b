"""The drift job's verdict: whether to retrain, and which rule fired.

Retraining triggers: data drift (the share of drifted columns reaches
`drift.share_threshold`, or a critical column drifts), a performance drop on labelled new
data, enough new rows, or `--force`.
"""

from __future__ import annotations

import math
from typing import Any

from .params import DriftParams


def dataset_drift(
    columns: dict[str, dict[str, Any]], share_threshold: float, critical: list[str]
) -> tuple[bool, float, list[str]]:
    """(dataset drift, share of drifted columns, drifted critical columns)."""
    drifted = [name for name, column in columns.items() if column["drifted"]]
    share = len(drifted) / len(columns) if columns else 0.0
    critical_drifted = [name for name in critical if name in drifted]
    return share >= share_threshold or bool(critical_drifted), share, critical_drifted


def performance_drop(
    reference_value: float, current_value: float, metric: str, max_drop: float
) -> dict[str, Any]:
    """How far the primary metric fell on the new data (negative when it rose)."""
    from .gate import improvement

    drop = -improvement(metric, current_value, reference_value)
    fired = not math.isnan(drop) and drop > max_drop
    return {
        "metric": metric,
        "reference": round(reference_value, 6),
        "current": round(current_value, 6),
        "drop": round(drop, 6),
        "threshold": max_drop,
        "fired": bool(fired),
    }


def near_miss(
    columns: dict[str, dict[str, Any]], detected: bool, share: float
) -> dict[str, Any] | None:
    """When columns drifted but the data-drift rule did not fire (`detected`, `share`: what
    dataset_drift found): the settings that would have fired it. `share_threshold`: the highest
    drift.share_threshold that fires (the share drifted, rounded down); `critical_columns`:
    naming any of these in drift.critical_columns fires."""
    drifted = [name for name, column in columns.items() if column["drifted"]]
    if detected or not drifted:
        return None
    return {"share_threshold": math.floor(share * 1e6) / 1e6, "critical_columns": drifted}


def decide(
    columns: dict[str, dict[str, Any]],
    drift: DriftParams,
    new_rows: int,
    performance: dict[str, Any] | None,
    forced: bool = False,
    detected: bool | None = None,
) -> dict[str, Any]:
    """The verdict written to reports/drift.json: which rules fired, the columns, and (as
    `data_drift_near_miss`) which setting would have fired the data-drift rule that did not.
    `detected`, when given, is the data-drift rule's outcome (the log's windows decided it)."""
    found, share, critical_drifted = dataset_drift(
        columns, drift.share_threshold, drift.critical_columns
    )
    detected = found if detected is None else detected
    triggers = []
    if detected:
        triggers.append("data_drift")
    if performance is not None and performance["fired"]:
        triggers.append("performance")
    if new_rows >= drift.min_new_rows:
        triggers.append("new_data")
    if forced:
        triggers.append("manual")
    return {
        "drift_detected": detected,
        "retrain": bool(triggers),
        "share_drifted": round(share, 6),
        "triggers": triggers,
        "critical_drifted": critical_drifted,
        "data_drift_near_miss": near_miss(columns, detected, share),
        "new_rows": new_rows,
        "performance": performance,
        "rules": {
            "share_threshold": drift.share_threshold,
            "critical_columns": drift.critical_columns,
            "min_new_rows": drift.min_new_rows,
            "max_metric_drop": drift.max_metric_drop,
        },
        "columns": columns,
    }
