"""A promotion's record and where it goes: reports/promotion.json, the job summary and the
step outputs the image job reads; and the guard that turns a failing tracking store into
one line."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from . import github
from .errors import PipelineError, first_line
from .files import write_json
from .paths import REPORTS

PROMOTION = REPORTS / "promotion.json"


class PromotionError(PipelineError):
    """The registry could not be read or changed; no alias was moved."""


@dataclass
class Promotion:
    promoted: bool
    model_name: str
    version: str | None
    alias: str
    reason: str
    candidate: dict[str, float]
    champion: dict[str, float] | None
    model_key: str
    previous_version: str | None = None
    comparison: dict[str, Any] | None = None  # same_rows' comparisons with the champion


def summary(result: Promotion) -> str:
    """Markdown for the job summary."""
    verdict = "✅ promoted" if result.promoted else "⏸️ held back"
    lines = [
        f"## Promotion of `{result.model_name}`: {verdict}",
        "",
        result.reason,
        "",
        f"- alias `{result.alias}` → version {result.version or '—'}"
        + ("" if result.promoted else " (unchanged)"),
        f"- previous champion: version {result.previous_version or '—'}",
        f"- model key: `{result.model_key}`",
    ]
    for found in (result.comparison or {}).values():
        lines.append(
            f"- {found['metric']} on the same {found['rows']:,} rows: {found['candidate']:.4f}"
            f" vs the champion's {found['champion']:.4f}: {found['verdict']}"
            f" ({found['method']})"
        )
    return "\n".join(lines) + "\n"


def report(result: Promotion) -> None:
    write_json(asdict(result), PROMOTION)
    github.add_summary(summary(result))
    moved = result.promoted and result.version != result.previous_version
    github.set_outputs(alias_moved=moved, version=result.version or "")  # the image job's
    print(f"promote: {result.reason} -> {PROMOTION}")


def guarded(action: Any, uri: str) -> Any:
    try:
        return action()
    except PipelineError:
        raise
    except Exception as error:  # MLflow raises many types for an unreachable or failing store
        reason = first_line(error)
        raise PromotionError(f"tracking store {uri} failed, no alias moved: {reason}") from error
