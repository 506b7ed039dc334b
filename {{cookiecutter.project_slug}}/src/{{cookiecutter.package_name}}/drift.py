"""Drift check: the newest data against the training snapshot, and whether to retrain.

Each feature column gets one test, chosen by type and sample size:

| column      | fewer rows than `drift.large_sample` | from `drift.large_sample` rows   |
|-------------|--------------------------------------|----------------------------------|
| numeric     | two-sample Kolmogorov-Smirnov p-value | Wasserstein distance / reference std |
| categorical | chi-square p-value (2 x k table)      | Jensen-Shannon distance (natural log) |

A column also drifts when its share of missing values rises by more than
`drift.max_missing_increase`, or when values never seen in training make up more than
`drift.max_unseen_share` of it. Everything works on sorted arrays and category counts,
so a million rows take well under a second per column.

Retraining triggers: data drift (the share of drifted columns reaches
`drift.share_threshold`, or a critical column drifts), a performance drop on labelled new
data, enough new rows, or `--force`.
"""

from __future__ import annotations

import math
import os
import re
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import task
from .errors import DataError, first_line
from .files import (
    PROJECT,
    REPORTS,
    TRAINING_DATA,
    Outputs,
    read_json,
    read_table,
    write_json,
    write_text,
)
from .ingest import as_categories, plain_numbers
from .params import DriftParams, Params, Schema

DRIFT_JSON = REPORTS / "drift.json"
DRIFT_MD = REPORTS / "drift.md"
DRIFT_HTML = REPORTS / "drift.html"
BINS = 20  # histogram bins per numeric column in the reports
MOST_CATEGORIES = 20  # categories shown per column in the reports; the rest are summed
SCORE_CAP = 10.0


def _finite_sorted(values: pd.Series) -> np.ndarray:
    array = values.to_numpy(dtype=float, na_value=np.nan)
    return np.sort(array[np.isfinite(array)])


def wasserstein(reference: np.ndarray, current: np.ndarray) -> float:
    """Earth mover's distance between two sorted samples.

    The area between their quantile functions, which are steps at i/n and j/m. In units of
    1/(n*m) every step is an integer, and where each one falls in the merged grid follows
    from arithmetic, so there is no search and no second sort.
    """
    n, m = reference.size, current.size
    if n == m:  # the steps coincide
        return float(np.mean(np.abs(reference - current)))
    i = np.arange(1, n + 1, dtype=np.int64)
    j = np.arange(1, m + 1, dtype=np.int64)
    steps = np.empty(n + m, dtype=np.int64)
    steps[i - 1 + (i * m - 1) // n] = i * m  # after the current steps below it
    steps[j - 1 + (j * n) // m] = j * n  # after the reference steps up to it
    widths = np.diff(steps, prepend=0)
    gaps = np.abs(reference[(steps - 1) // m] - current[(steps - 1) // n])
    return float(np.dot(widths, gaps)) / (n * m)


def normalised_wasserstein(reference: np.ndarray, current: np.ndarray) -> float:
    """Wasserstein distance in units of the reference's standard deviation."""
    scale = float(np.std(reference)) or 1.0
    return wasserstein(reference, current) / scale


def ks_p_value(reference: np.ndarray, current: np.ndarray) -> float:
    from scipy import stats

    with warnings.catch_warnings():  # scipy says so when it falls back to the asymptotic p-value
        warnings.filterwarnings("ignore", "ks_2samp: Exact calculation unsuccessful")
        return float(stats.ks_2samp(reference, current).pvalue)


def jensen_shannon(reference: np.ndarray, current: np.ndarray) -> float:
    """Jensen-Shannon distance (square root of the divergence, natural log) of two count vectors."""
    p = reference / reference.sum()
    q = current / current.sum()
    m = (p + q) / 2

    def kl(a: np.ndarray) -> float:
        nonzero = a > 0
        return float(np.sum(a[nonzero] * np.log(a[nonzero] / m[nonzero])))

    return math.sqrt(max((kl(p) + kl(q)) / 2, 0.0))


def chi_square_p_value(reference: np.ndarray, current: np.ndarray) -> float:
    """Homogeneity test of two count vectors over the same categories."""
    from scipy import stats

    table = np.vstack([reference, current])
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2:
        return 1.0
    return float(stats.chi2_contingency(table, correction=False).pvalue)


def score(test: str, statistic: float, threshold: float) -> float:
    """Severity on one scale: 1 is the threshold; a drifted column scores 1 or more.

    A distance is divided by its threshold; a p-value p scores log(p) / log(threshold).
    """
    if math.isnan(statistic):
        return 0.0
    if test in {"ks", "chi_square"}:
        value = SCORE_CAP if statistic <= 0 else math.log(statistic) / math.log(threshold)
    else:
        value = statistic / threshold
    return round(min(max(value, 0.0), SCORE_CAP), 4)


def _histogram(reference: np.ndarray, current: np.ndarray) -> dict[str, Any]:
    """Shares of both samples in BINS bins over the central 99% of their values."""
    both = [sample for sample in (reference, current) if sample.size]
    if not both:
        return {"edges": [], "reference": [], "current": []}
    low = min(sample[int(0.005 * (sample.size - 1))] for sample in both)
    high = max(sample[int(0.995 * (sample.size - 1))] for sample in both)
    edges = np.linspace(low, high if high > low else low + 1.0, BINS + 1)

    def shares(sample: np.ndarray) -> list[float]:
        if not sample.size:
            return [0.0] * BINS
        cuts = np.searchsorted(sample, edges[1:-1], side="left")
        counts = np.diff(np.concatenate([[0], cuts, [sample.size]]))
        return [round(float(share), 5) for share in counts / sample.size]

    return {
        "edges": [round(float(edge), 4) for edge in edges],
        "reference": shares(reference),
        "current": shares(current),
    }


def _round(value: float) -> float:
    return float(f"{value:.6g}")


def _missing(values: pd.Series) -> float:
    return float(values.isna().mean()) if len(values) else 0.0


def numeric_column(
    reference: pd.Series, current: pd.Series, p_value: float, distance: float, large_sample: int
) -> dict[str, Any]:
    ref, cur = _finite_sorted(reference), _finite_sorted(current)
    if not ref.size or not cur.size:
        test, statistic, threshold = "wasserstein", math.nan, distance
        drifted = False
    elif min(ref.size, cur.size) < large_sample:
        test, statistic, threshold = "ks", ks_p_value(ref, cur), p_value
        drifted = statistic < threshold
    else:
        test, statistic, threshold = "wasserstein", normalised_wasserstein(ref, cur), distance
        drifted = statistic >= threshold
    return {
        "type": "numeric",
        "test": test,
        "statistic": _round(statistic),
        "threshold": threshold,
        "drifted": bool(drifted),
        "distribution": _histogram(ref, cur),
    }


def _counts(values: pd.Series) -> pd.Series:
    """Count of each value, keyed by its text (missing values left out)."""
    counts = values.value_counts(dropna=True, sort=False)
    counts.index = counts.index.astype(str)
    return counts.groupby(level=0, sort=False).sum()


def categorical_column(
    reference: pd.Series,
    current: pd.Series,
    p_value: float,
    distance: float,
    large_sample: int,
) -> dict[str, Any]:
    ref_counts, cur_counts = _counts(reference), _counts(current)
    categories = list(dict.fromkeys([*ref_counts.index, *cur_counts.index]))
    ref = ref_counts.reindex(categories, fill_value=0).to_numpy(dtype=float)
    cur = cur_counts.reindex(categories, fill_value=0).to_numpy(dtype=float)
    n_ref, n_cur = ref.sum(), cur.sum()
    if not n_ref or not n_cur:
        test, statistic, threshold, drifted = "jensen_shannon", math.nan, distance, False
    elif min(n_ref, n_cur) < large_sample:
        test, statistic, threshold = "chi_square", chi_square_p_value(ref, cur), p_value
        drifted = statistic < threshold
    else:
        test, statistic, threshold = "jensen_shannon", jensen_shannon(ref, cur), distance
        drifted = statistic >= threshold
    unseen = {
        name: int(count)
        for name, count, known in zip(categories, cur, ref > 0, strict=True)
        if not known
    }
    unseen_share = sum(unseen.values()) / n_cur if n_cur else 0.0
    shown = np.argsort(-(ref / max(n_ref, 1) + cur / max(n_cur, 1)), kind="stable")
    shown = shown[:MOST_CATEGORIES]
    return {
        "type": "categorical",
        "test": test,
        "statistic": _round(statistic),
        "threshold": threshold,
        "drifted": bool(drifted),
        "unseen": unseen,
        "unseen_share": _round(unseen_share),
        "distribution": {
            "categories": [categories[i] for i in shown],
            "reference": [round(float(ref[i] / max(n_ref, 1)), 5) for i in shown],
            "current": [round(float(cur[i] / max(n_cur, 1)), 5) for i in shown],
        },
    }


def check_columns(
    reference: pd.DataFrame, current: pd.DataFrame, schema: Schema, drift: DriftParams
) -> dict[str, dict[str, Any]]:
    """One entry per feature column: test, statistic, threshold, drifted, score, reasons."""
    columns: dict[str, dict[str, Any]] = {}
    for name in schema.features:
        p_value, distance = drift.limits(
            name, "numeric" if name in schema.numeric else "categorical"
        )
        if name in schema.numeric:
            result = numeric_column(
                reference[name], current[name], p_value, distance, drift.large_sample
            )
        else:
            result = categorical_column(
                reference[name], current[name], p_value, distance, drift.large_sample
            )
        missing = {"reference": _missing(reference[name]), "current": _missing(current[name])}
        result["missing"] = {side: round(share, 6) for side, share in missing.items()}
        reasons = [result["test"]] if result["drifted"] else []
        if missing["current"] - missing["reference"] > drift.max_missing_increase:
            reasons.append(f"missing {missing['reference']:.1%} -> {missing['current']:.1%}")
        if result.get("unseen_share", 0.0) > drift.max_unseen_share:
            reasons.append(f"unseen values {sorted(result['unseen'])[:5]}")
        result["drifted"] = bool(reasons)
        result["reasons"] = reasons
        result["score"] = score(result["test"], result["statistic"], result["threshold"])
        columns[name] = result
    return columns


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
) -> dict[str, Any]:
    """The verdict written to reports/drift.json: which rules fired, the columns, and (as
    `data_drift_near_miss`) which setting would have fired the data-drift rule that did not."""
    detected, share, critical_drifted = dataset_drift(
        columns, drift.share_threshold, drift.critical_columns
    )
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


def current_data(params: Params, path: Path | None) -> tuple[pd.DataFrame, str]:
    """The newest data and a description of where it came from."""
    from .ingest import ingest

    data = params.data
    if path is not None:
        return read_table(path, sep=data.sep), str(path)
    if data.source == "synthetic":
        window = data.window + 1
        return ingest(data, window=window), f"synthetic window {window}"
    pattern = params.drift.current_path
    if not pattern:
        raise DataError(
            "drift: no new data: set drift.current_path in params.yaml or pass --current FILE"
        )
    matches = sorted(Path().glob(pattern))
    if not matches:
        raise DataError(f"drift: drift.current_path {pattern!r} matches no file")
    frames = [read_table(match, sep=data.sep) for match in matches]
    return pd.concat(frames, ignore_index=True), ", ".join(str(match) for match in matches)


def conform_current(frame: pd.DataFrame, schema: Schema, source: str) -> pd.DataFrame:
    """The feature columns (and the target when present), numeric ones checked to be numbers,
    categorical ones as ingest stores them."""
    missing = [column for column in schema.features if column not in frame.columns]
    if missing:
        raise DataError(f"drift: {source} lacks the feature columns {missing}")
    for column in schema.numeric:
        if not pd.api.types.is_numeric_dtype(frame[column].dtype):
            raise DataError(
                f"drift: {source}: column {column!r} should hold numbers,"
                f" found {frame[column].dtype}"
            )
    keep = [*schema.features, *([schema.target] if schema.target in frame.columns else [])]
    return frame[keep].assign(
        **{c: plain_numbers(frame[c]) for c in schema.numeric},
        **{c: as_categories(frame[c]) for c in schema.categorical},
    )


def _local_champion(params: Params, outputs: Outputs) -> tuple[Any, float, str]:
    from .files import load_model

    metrics = outputs.report("metrics.json")
    if not metrics.is_file():
        raise DataError(f"drift: {metrics} missing; run `dvc repro` first")
    model = load_model(outputs.model, params.train.estimator)
    reference = float(read_json(metrics)[params.model.primary_metric])
    return (lambda features: task.predict(model, features)), reference, str(outputs.model)


def _registry_champion(params: Params, outputs: Outputs) -> tuple[Any, float, str] | None:
    """The registry's champion, when there is a store and it has one."""
    from . import tracking

    if not tracking.store_exists():
        return None
    tracking.configure()
    from mlflow import MlflowClient

    from .registry import CHAMPION, load_version, metrics_from_tags, version_by_alias

    name = params.model.name
    try:
        client = MlflowClient()
        version = version_by_alias(client, name, CHAMPION)
        if version is None:
            return None
        reference = metrics_from_tags(version.tags)[params.model.primary_metric]
        model = load_version(client, version)  # the safe loader: the registry is not trusted
    except Exception as error:  # an unreachable store or a bad version must not hide drift
        print(
            f"drift: champion not available ({first_line(error)}); using {outputs.model}",
            file=sys.stderr,
        )
        return None
    described = f"models:/{name}@{CHAMPION} (version {version.version})"
    return (lambda features: task.predict(model, features)), reference, described


def check_performance(
    current: pd.DataFrame, params: Params, outputs: Outputs = PROJECT
) -> dict[str, Any] | None:
    """The primary metric of the champion (else the local model) on labelled new rows."""
    target = params.data.schema_.target
    if target not in current.columns:
        return None
    labelled = current[current[target].notna()]
    if labelled.empty:
        return None
    predict, reference, model = _registry_champion(params, outputs) or _local_champion(
        params, outputs
    )
    scores = predict(labelled[params.data.schema_.features])
    metric = params.model.primary_metric
    value = task.metrics(labelled[target].to_numpy(), scores, params.model)[metric]
    result = performance_drop(reference, value, metric, params.drift.max_metric_drop)
    return {**result, "model": model, "rows": len(labelled)}


def _github_outputs(result: dict[str, Any], markdown: str) -> None:
    """When run by GitHub Actions: step outputs for `if:` and the table in the job summary."""
    outputs = os.environ.get("GITHUB_OUTPUT")
    if outputs:
        with open(outputs, "a", encoding="utf-8") as handle:
            handle.write(f"retrain={str(result['retrain']).lower()}\n")
            handle.write(f"drift_detected={str(result['drift_detected']).lower()}\n")
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        with open(summary, "a", encoding="utf-8") as handle:
            handle.write(markdown)


def compared(
    params: Params, newest: Callable[[], tuple[pd.DataFrame, str]]
) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    """The training snapshot's features, the newest data (conformed) and where it came from."""
    if not TRAINING_DATA.is_file():
        raise DataError(f"drift: {TRAINING_DATA} missing; run `dvc pull` or `dvc repro` first")
    reference = read_table(TRAINING_DATA, columns=params.data.schema_.features)
    frame, source = newest()
    frame = conform_current(frame, params.data.schema_, source)
    print(f"drift: {len(frame):,} new rows ({source}) vs {len(reference):,} training rows")
    return reference, frame, source


def main(current: Path | None = None, force: bool = False) -> None:
    from . import drift_report
    from .params import load_params

    params = load_params()
    schema = params.data.schema_
    reference, frame, source = compared(params, lambda: current_data(params, current))
    columns = check_columns(reference, frame, schema, params.drift)
    performance = check_performance(frame, params)
    result = decide(columns, params.drift, len(frame), performance, forced=force)
    result["reference"] = {"source": str(TRAINING_DATA), "rows": len(reference)}
    result["current"] = {"source": source, "rows": len(frame)}

    write_json(result, DRIFT_JSON)
    markdown = drift_report.markdown(result, params.model.name)
    write_text(markdown, DRIFT_MD)
    write_text(drift_report.html(result, params.model.name), DRIFT_HTML)
    _github_outputs(result, markdown)
    verdict = f"retrain ({', '.join(result['triggers'])})" if result["retrain"] else "no retraining"
    share = f"{result['share_drifted']:.0%} of columns drifted"
    print(f"drift: {share}; {verdict} -> {DRIFT_JSON}, {DRIFT_MD}, {DRIFT_HTML}")


WINDOW_LINE = re.compile(r"^(data:\n(?:[ #].*\n|\n)*?  window: *)(\d+)", re.MULTILINE)


def next_window(text: str) -> tuple[str, int]:
    """params.yaml's text with data.window one higher (comments kept), and the new window."""
    match = WINDOW_LINE.search(text)
    if match is None:
        raise DataError("next-window: params.yaml has no `window:` line in its data section")
    window = int(match.group(2)) + 1
    return text[: match.start(2)] + str(window) + text[match.end(2) :], window


def next_window_main() -> None:
    import yaml

    from .params import PARAMS_FILE, load_params, parse_params

    load_params()  # refuse to edit a file that is already invalid (duplicate keys included)
    text, window = next_window(PARAMS_FILE.read_text(encoding="utf-8"))
    if parse_params(yaml.safe_load(text)).data.window != window:
        raise DataError("next-window: could not find data.window's line in params.yaml")
    write_text(text, PARAMS_FILE)
    print(f"next-window: data.window is now {window}; `dvc repro` retrains on it")
