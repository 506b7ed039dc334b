"""What promote trusts, the same for a single model and for each member of a fleet: the
workspace model is the one dvc.lock records and nothing is stale; a registered version holds
that model (compared by content); and the gate's numbers are measured here, never read from
a committed file, since a committed metrics file is a branch's word about its own model."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import lock, registry
from .errors import PipelineError, PromotionRefused
from .files import json_text, md5, model_digest
from .params import Params
from .paths import MODEL, Outputs

if TYPE_CHECKING:
    import pandas as pd


def check_workspace(lock_text: str, models: Iterable[Path] = (MODEL,)) -> None:
    """Refuse unless each workspace model is the one dvc.lock records and nothing is stale
    (dvc.lock is read once, whatever the number of models)."""
    recorded = lock.recorded_md5s(lock_text)
    for model in models:
        expected = lock.recorded(recorded, model)
        actual = md5(model) if model.is_file() else "missing"
        if actual != expected:
            raise PromotionRefused(
                f"promote: {model} (md5 {actual[:12]}) is not the model dvc.lock records "
                f"({expected[:12]}); after switching commits run `dvc checkout`, after changing"
                " inputs `dvc repro` and commit dvc.lock; nothing was moved"
            )
    require_current_pipeline()


def require_current_pipeline() -> None:
    """Refuse unless `dvc status` finds nothing stale."""
    try:
        stale = lock.stale()
    except PipelineError as error:
        raise PromotionRefused(f"promote: {error}") from None
    if stale:
        raise PromotionRefused(
            f"promote: the pipeline is not up to date (dvc status: {', '.join(stale)} "
            "changed); run `dvc repro` first, nothing was moved"
        )


def holds_model(client: Any, model: Path) -> Callable[[Any], bool]:
    """A check that a registered version holds the same model as `model`, a workspace file
    whose md5 check_workspace found in dvc.lock (compared by content: two saves of one model
    differ in bytes, and a revert may retrain it)."""
    expected = model_digest(model)
    return lambda version: registry.artifact_digest(client, version) == expected


def trusted(versions: Iterable[Any], verified: Callable[[Any], bool]) -> list[Any]:
    """The versions that hold the model dvc.lock records, oldest first; the others carry this
    model's key (public in dvc.lock) but not its model, and are never used."""
    kept = []
    for version in sorted(versions, key=lambda found: int(found.version)):
        if verified(version):
            kept.append(version)
        else:
            print(
                f"promote: version {version.version} has this model's key but not the model "
                "dvc.lock records; ignored",
                file=sys.stderr,
            )
    return kept


def measured(params: Params, out: Outputs, rows: pd.DataFrame) -> dict[str, Any]:
    """The gate's numbers, measured here on the model's test rows (of `rows`, the training
    snapshot or a member's part of it), with those rows and the predictions
    (evaluate.measure's result); a committed file that says otherwise is named."""
    from . import evaluate, fairness
    from .files import load_model

    model = load_model(out.model, params.train.estimator)
    found = evaluate.measure(model, rows, params)
    found["fairness"] = fairness.assess(found["test"], found["predicted"], params, intervals=False)
    committed = out.metrics
    if committed.is_file() and committed.read_text(encoding="utf-8") != json_text(found["metrics"]):
        print(f"promote: {out.model}: the metrics measured here differ from {committed}")
    return found
