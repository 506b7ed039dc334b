"""The drift job's I/O: the newest data (a file, `drift.current_path` or the next synthetic
window), the champion's performance on it when it is labelled, the reports and GitHub's step
outputs. The statistics and the verdict are in drift_stats."""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from . import github, task
from .drift_rules import decide, performance_drop
from .drift_stats import check_columns
from .errors import DataError, first_line
from .files import read_json, read_table, write_json, write_text
from .ingest import as_categories, plain_numbers
from .params import Params, Schema
from .paths import PROJECT, REPORTS, TRAINING_DATA, Outputs

if TYPE_CHECKING:
    from .members import Member

DRIFT_JSON = REPORTS / "drift.json"
DRIFT_MD = REPORTS / "drift.md"
DRIFT_HTML = REPORTS / "drift.html"


def current_data(params: Params, path: Path | None) -> tuple[pd.DataFrame, str]:
    """The newest data and a description of where it came from."""
    from .ingest import newest

    data = params.data
    if path is not None:
        return read_table(path, sep=data.sep), str(path)
    if data.source == "synthetic":
        return newest(params, ahead=1)
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


def conform_current(
    frame: pd.DataFrame, schema: Schema, source: str, extra: tuple[str, ...] = ()
) -> pd.DataFrame:
    """The feature columns (and the target and `extra` columns when present), numeric ones
    checked to be numbers, categorical ones as ingest stores them."""
    missing = [column for column in schema.features if column not in frame.columns]
    if missing:
        raise DataError(f"drift: {source} lacks the feature columns {missing}")
    for column in schema.numeric:
        if not pd.api.types.is_numeric_dtype(frame[column].dtype):
            raise DataError(
                f"drift: {source}: column {column!r} should hold numbers,"
                f" found {frame[column].dtype}"
            )
    present = [schema.target, *extra]
    keep = [*schema.features, *(column for column in present if column in frame.columns)]
    return frame[keep].assign(
        **{c: plain_numbers(frame[c]) for c in schema.numeric},
        **{c: as_categories(frame[c]) for c in schema.categorical},
    )


def _local_champion(params: Params, outputs: Outputs) -> tuple[Any, float, str]:
    from .files import load_model

    reference = recorded_metric(params, outputs)
    model = load_model(outputs.model, params.train.estimator)
    return (lambda features: task.predict(model, features)), reference, str(outputs.model)


def recorded_metric(params: Params, outputs: Outputs) -> float:
    """The primary metric the workspace's model had at evaluation (its metrics.json)."""
    if not outputs.metrics.is_file():
        raise DataError(f"drift: {outputs.metrics} missing; run `dvc repro` first")
    return float(read_json(outputs.metrics)[params.model.primary_metric])


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


def github_outputs(result: dict[str, Any], markdown: str) -> None:
    """When run by GitHub Actions: step outputs for `if:` and the table in the job summary."""
    github.set_outputs(retrain=result["retrain"], drift_detected=result["drift_detected"])
    github.add_summary(markdown)


def compared(
    params: Params, newest: Callable[[], tuple[pd.DataFrame, str]], extra: tuple[str, ...] = ()
) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    """The training snapshot's features, the newest data (conformed) and where it came from."""
    if not TRAINING_DATA.is_file():
        raise DataError(f"drift: {TRAINING_DATA} missing; run `dvc pull` or `dvc repro` first")
    reference = read_table(TRAINING_DATA, columns=params.data.schema_.features)
    frame, source = newest()
    frame = conform_current(frame, params.data.schema_, source, extra)
    print(f"drift: {len(frame):,} new rows ({source}) vs {len(reference):,} training rows")
    return reference, frame, source


def check_member(
    member: Member, ref: pd.DataFrame, cur: pd.DataFrame, force: bool
) -> dict[str, Any]:
    """One member's verdict: its newest rows `cur` against its training rows `ref` (a fleet
    member without new rows is retrained only when asked)."""
    own = member.params
    if cur.empty:
        return {
            "retrain": force,
            "triggers": ["manual"] if force else [],
            "new_rows": 0,
            "drift_detected": False,
            "share_drifted": 0.0,
            "drifted": [],
            "performance": None,
        }
    columns = check_columns(ref, cur, own.data.schema_, own.drift)
    performance = check_performance(cur, own, member.outputs)
    verdict = decide(columns, own.drift, len(cur), performance, forced=force)
    if member.name:
        verdict["drifted"] = [name for name, column in columns.items() if column["drifted"]]
        verdict["reference_rows"] = len(ref)
    return verdict


def main(current: Path | None = None, force: bool = False) -> None:
    """Each member's newest rows against its training rows: one verdict per member, and one
    retraining pull request for those whose rules fired."""
    from .members import FLEET, members, rows, split
    from .params import load_params

    params = load_params()
    sides: dict[str, Any] = {"current": {}}
    check, newest, extra = check_member, lambda: current_data(params, current), ()
    if current is None and params.drift.current == "log":
        from .drift_log import EXTRA, check_member_log, current_from_log

        check, extra = check_member_log, tuple(EXTRA)
        logged, said_source, sides["current"]["period"] = current_from_log(params)
        newest = lambda: (logged, said_source)  # noqa: E731
    reference, frame, source = compared(params, newest, extra)
    references, currents = split(params, reference), split(params, frame)
    verdicts = {
        member.name: check(
            member, rows(references, reference, member), rows(currents, frame, member), force
        )
        for member in members(params)
    }
    sides["reference"] = {"source": str(TRAINING_DATA), "rows": len(reference)}
    sides["current"] |= {"source": source, "rows": len(frame)}
    if extra:
        from .drift_log import production_rows

        sides["current"]["production"] = production_rows(params, frame, verdicts)
    if FLEET:
        from .fleet_summary import drift_pages

        result, markdown, page = drift_pages(verdicts, sides, params.model.name)
    else:
        from . import drift_report

        result = {**verdicts[""], **sides}
        markdown = drift_report.markdown(result, params.model.name)
        page = drift_report.html(result, params.model.name)
    write_json(result, DRIFT_JSON)
    write_text(markdown, DRIFT_MD)
    write_text(page, DRIFT_HTML)
    github_outputs(result, markdown)
    print(f"drift: {said(result)} -> {DRIFT_JSON}, {DRIFT_MD}, {DRIFT_HTML}")


def said(result: dict[str, Any]) -> str:
    """The verdict in one line: the single model's, or how many members are to retrain."""
    if "members" in result:
        return f"{len(result['retrain_members'])} of {len(result['members'])} members to retrain"
    verdict = f"retrain ({', '.join(result['triggers'])})" if result["retrain"] else "no retraining"
    return f"{result['share_drifted']:.0%} of columns drifted; {verdict}"


WINDOW_LINE = re.compile(r"^(data:\n(?:[ #].*\n|\n)*?  window: *)(\d+)", re.MULTILINE)


def next_window(text: str) -> tuple[str, int]:
    """params.yaml's text with data.window one higher (comments kept), and the new window."""
    match = WINDOW_LINE.search(text)
    if match is None:
        raise DataError("next-window: params.yaml has no `window:` line in its data section")
    window = int(match.group(2)) + 1
    return text[: match.start(2)] + str(window) + text[match.end(2) :], window


def next_window_main() -> None:
    """Move the data on by one window, for retraining: data.window, or in a fleet the window of
    each member whose rules fired (reports/drift.json); when the inference log was judged,
    add its labelled rows to the training data instead (production.py)."""
    from .members import FLEET
    from .params import PARAMS_FILE, load_params, parse_params
    from .yaml_file import parse_yaml

    params = load_params()  # refuse to edit a file that is already invalid
    if params.drift.current == "log":
        from .production import add_rows

        return add_rows(params)
    text = PARAMS_FILE.read_text(encoding="utf-8")
    if FLEET:
        from .fleet_params import next_windows

        text, moved = next_windows(text, params, fired_members())
    else:
        text, window = next_window(text)
        moved = f"data.window is now {window}; `dvc repro` retrains on it"
    if not moved:
        print("next-window: no member to retrain (reports/drift.json); params.yaml unchanged")
        return
    parsed = parse_params(parse_yaml(text, str(PARAMS_FILE)))  # valid before it is written
    if not FLEET and parsed.data.window != window:
        raise DataError("next-window: could not find data.window's line in params.yaml")
    write_text(text, PARAMS_FILE)
    print(f"next-window: {moved}")


def fired_members() -> list[str]:
    """The members whose rules fired, as the drift job wrote them."""
    if not DRIFT_JSON.is_file():
        raise DataError(f"next-window: {DRIFT_JSON} missing; run `drift` first")
    return read_json(DRIFT_JSON).get("retrain_members", [])
