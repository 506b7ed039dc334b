"""Emergency rollback, by name: move `champion` back to the `previous` version (and `previous`
to the demoted one) without waiting for a revert to pass through CI."""

from __future__ import annotations

from functools import partial
from typing import Any

from . import registry
from .errors import DataError, PromotionRefused
from .params import Params
from .promotion import Promotion, PromotionError, guarded, report
from .registry import CHAMPION, DEMOTED, PREVIOUS, metrics_from_tags, version_by_alias


def rollback(client: Any, params: Params) -> Promotion:
    """Emergency: move `champion` back to `previous` (and `previous` to the demoted version)."""
    name = params.model.name
    champion = version_by_alias(client, name, CHAMPION)
    previous = version_by_alias(client, name, PREVIOUS)
    if champion is None:
        raise PromotionError(f"rollback: {name} has no {CHAMPION} yet: nothing to roll back")
    if previous is None:
        raise PromotionError(
            f"rollback: {name} has had one {CHAMPION} only (version {champion.version}): there"
            f" is no {PREVIOUS} version to go back to"
        )
    try:
        registry.load_version(client, previous)  # the alias goes only to a model train saves
    except DataError as error:
        raise PromotionRefused(f"rollback: {error}; nothing was moved") from error
    client.set_registered_model_alias(name, CHAMPION, previous.version)
    client.set_registered_model_alias(name, PREVIOUS, champion.version)
    client.set_model_version_tag(name, previous.version, "rolled_back_from", champion.version)
    client.set_model_version_tag(name, champion.version, DEMOTED, "true")
    return Promotion(
        promoted=True,
        model_name=name,
        version=str(previous.version),
        alias=CHAMPION,
        reason=f"rollback: {CHAMPION} moved from version {champion.version} to {previous.version}",
        candidate=metrics_from_tags(previous.tags),
        champion=metrics_from_tags(champion.tags),
        model_key=previous.tags.get("model_key", "unknown"),
        previous_version=str(champion.version),
    )


def main(member: str = "") -> None:
    """Move the champion of the single model, or of one member of a fleet, back."""
    from mlflow import MlflowClient

    from . import tracking
    from .members import find
    from .params import load_params

    try:
        own = find(load_params(), member)
    except DataError as error:
        raise DataError(f"rollback: {error}") from None
    uri = tracking.configure()
    result = guarded(partial(rollback, MlflowClient(), own.params), uri)
    if not member:
        report(result)
        return
    print(f"rollback: {result.model_name}: {result.reason}")
