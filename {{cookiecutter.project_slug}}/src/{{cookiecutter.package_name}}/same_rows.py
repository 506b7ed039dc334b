"""The candidate and the champion scored on the candidate's test rows and compared paired
(paired.py), for the primary metric and the segment gap. Promote's champion is the registry's;
the PR report's is the base revision's model, from the DVC cache or remote. Both are loaded
through the safe loader; a champion that cannot score the rows (its model is missing, the
columns changed) raises DataError, and the caller falls back to the recorded metrics."""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from . import files, lock, paired, task, task_stats
from .errors import DataError, first_line
from .params import Params

Comparisons = dict[str, paired.Comparison]


def compare(
    test: Any,
    candidate: np.ndarray,
    champion: np.ndarray,
    params: Params,
    metrics: Sequence[str] = (),
    segments: bool = False,
) -> Comparisons:
    """Both models' predictions of the `test` rows, compared: the primary metric (then
    `metrics`) and, with a segment column, the primary metric's largest gap between segments
    (smaller is better) and, with `segments`, the primary metric in each segment."""
    schema, primary, gate = params.data.schema_, params.model.primary_metric, params.gate
    truth = test[schema.target].to_numpy()
    strata, blocks = task_stats.resampling(test, schema)
    options = {
        "level": gate.confidence,
        "resamples": gate.resamples,
        "seed": params.train.seed,
        "strata": strata,
        "blocks": blocks,
    }

    def statistic(predicted: np.ndarray, rows: Any = slice(None), metric: str = primary) -> Any:
        return task_stats.statistic(metric, truth[rows], predicted[rows], params.model)

    found = {
        metric: paired.compare(
            metric,
            task.METRICS[metric],
            statistic(candidate, metric=metric),
            statistic(champion, metric=metric),
            **options,
        )
        for metric in dict.fromkeys([primary, *metrics])
    }
    if schema.segment:
        values = test[schema.segment].astype(str).to_numpy()
        parts = [np.flatnonzero(values == value) for value in np.unique(values)]
        first, second = (
            paired.gap([(rows, statistic(predicted, rows)) for rows in parts], len(test))
            for predicted in (candidate, champion)
        )
        found["segment_gap"] = paired.compare("segment_gap", False, first, second, **options)
        for value, rows in zip(np.unique(values), parts, strict=True) if segments else ():
            found[f"{paired.SEGMENT}{value}"] = paired.compare(
                primary,
                task.METRICS[primary],
                statistic(candidate, rows),
                statistic(champion, rows),
                **{**options, "strata": _part(strata, rows), "blocks": _part(blocks, rows)},
            )
    return found


def _part(values: np.ndarray | None, rows: np.ndarray) -> np.ndarray | None:
    return None if values is None else values[rows]


def against_model(
    model: Any,
    measured: dict[str, Any],
    params: Params,
    name: str,
    metrics: Sequence[str] = (),
    segments: bool = False,
) -> Comparisons:
    """A champion's `model` (called `name` in messages) against the candidate `measured`."""
    test = measured["test"]
    try:
        champion = task.predict(model, test[params.data.schema_.features])
    except Exception as error:  # a model of other columns or types fails in many ways
        message = f"{name} cannot score the candidate's test rows: {first_line(error)}"
        raise DataError(message) from None
    return compare(test, measured["predicted"], champion, params, metrics, segments)


def against_version(
    client: Any, version: Any, measured: dict[str, Any], params: Params
) -> Comparisons:
    """The registered `version` against the candidate `measured` (evaluate.measure's result)."""
    from . import registry

    model = registry.load_version(client, version)
    return against_model(model, measured, params, f"{version.name} version {version.version}")


def models_at(rev: str, paths: Sequence[Path]) -> dict[Path, Any]:
    """The models git revision `rev` recorded at `paths`, each loaded through the safe loader
    and only when its md5 is the one rev's dvc.lock records; a DataError (saying why) for each
    that cannot be had. Fetched together: a fleet's members in one go."""
    recorded = lock.stage_md5s((lock.read(rev) or {}).get("stages", {}))
    found: dict[Path, Any] = {
        path: DataError(f"the model of {rev[:12]}: its dvc.lock records no {path}")
        for path in paths
        if path.as_posix() not in recorded
    }
    with tempfile.TemporaryDirectory() as folder:
        targets = {
            path: (recorded[path.as_posix()], Path(folder) / f"{number}.skops")
            for number, path in enumerate(paths)
            if path not in found
        }
        failed = lock.get_all(targets, rev)
        for path, (md5, target) in targets.items():
            name = f"{path} of {rev[:12]}"
            if path in failed:
                found[path] = DataError(f"{name}: {failed[path]}")
            elif files.md5(target) != md5:
                found[path] = DataError(f"{name} is not the file its dvc.lock records")
            else:
                found[path] = _load(target, name)
    return found


def _load(target: Path, name: str) -> Any:
    try:
        return files.load_model(target)
    except Exception as error:  # skops raises many types for a file it will not load
        return DataError(f"{name} cannot be loaded safely: {first_line(error)}")
