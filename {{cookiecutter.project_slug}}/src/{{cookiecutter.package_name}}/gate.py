"""The merge gate: one pure function, used by the PR report and by promote."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from .params import GateParams
from .task import METRICS


def higher_is_better(metric: str) -> bool:
    return METRICS[metric]


def improvement(metric: str, new: float, old: float) -> float:
    """How much better `new` is than `old` (negative when worse), whatever the direction."""
    return new - old if higher_is_better(metric) else old - new


@dataclass(frozen=True)
class GateDecision:
    passed: bool
    reasons: list[str] = field(default_factory=list)

    @property
    def summary(self) -> str:
        return "; ".join(self.reasons)


def gate(
    candidate: Mapping[str, float],
    champion: Mapping[str, float] | None,
    params: GateParams,
    metric: str,
    against: str = "champion",
    segmented: bool = True,
) -> GateDecision:
    """Would `candidate` replace `champion`? Every check that fails gives a reason.

    `against` names what `champion` is in the reasons (the PR report passes "main":
    it compares with main's committed metrics, promote with the registry's champion).

    - the primary metric must reach `min_value` (higher is better) or stay at or below
      `max_value` (lower is better, e.g. an error);
    - it may not be worse than the champion's by more than `max_regression`;
    - the largest gap of the primary metric between segments may not exceed `max_segment_gap`
      (not checked when the schema names no segment column: `segmented` is False).
    With no champion, the absolute checks alone decide.
    """
    failed: list[str] = []
    passed: list[str] = []
    value = float(candidate.get(metric, math.nan))
    higher = higher_is_better(metric)
    if math.isnan(value):
        failed.append(f"{metric} is missing or NaN")
    else:
        limit = params.bound(higher)
        meets = value >= limit if higher else value <= limit
        verdict = "meets" if meets else "misses"
        bound = "minimum" if higher else "maximum"
        (passed if meets else failed).append(
            f"{metric} {value:.4f} {verdict} the {bound} {limit:.4f}"
        )
        old = float(champion.get(metric, math.nan)) if champion else math.nan
        if champion is None:
            passed.append(f"no {against} yet")
        elif math.isnan(old):
            passed.append(f"{against} has no {metric}; compared on absolute checks only")
        else:
            change = improvement(metric, value, old)
            ok = change >= -params.max_regression
            (passed if ok else failed).append(
                f"{metric} {value:.4f} vs {against} {old:.4f} ({change:+.4f}; "
                f"allowed regression {params.max_regression:.4f})"
            )
    gap = float(candidate.get("segment_gap", math.nan))
    if not segmented:
        passed.append("no segment column: segment gap not checked")
    elif math.isnan(gap):
        failed.append("segment_gap is missing or NaN")
    else:
        ok = gap <= params.max_segment_gap
        (passed if ok else failed).append(
            f"segment gap {gap:.4f} {'within' if ok else 'exceeds'} {params.max_segment_gap:.4f}"
        )
    return GateDecision(passed=not failed, reasons=failed or passed)
