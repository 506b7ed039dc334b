"""The merge gate: one pure function, used by the PR report and by promote."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from . import fairness
from .paired import BETTER, WORSE, Comparison
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
    paired: Comparison | None = None,
    fair: tuple[Mapping[str, Any], Mapping[str, float]] = ({}, {}),
) -> GateDecision:
    """Would `candidate` replace `champion`? Every check that fails gives a reason.

    `against` names what `champion` is in the reasons ("main" in the PR report, "champion"
    in promote). `paired` is the candidate against that model on the candidate's test rows
    (same_rows.py); without it, `champion`'s recorded metrics are compared.

    - the primary metric must reach `min_value` (higher is better) or stay at or below
      `max_value` (lower is better, e.g. an error);
    - it may not be worse than the champion's by more than `max_regression`: on the same rows,
      only a detectable difference counts (the verdict is "worse"); with `require_improvement`,
      the candidate must be better beyond the noise;
    - the largest gap of the primary metric between segments may not exceed `max_segment_gap`
      (not checked when the schema names no segment column: `segmented` is False).
    - each gap between groups that `fairness.max_gap` bounds may not exceed it (`fair`:
      fairness.assess's result and those bounds).
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
        if paired is not None:
            ok, reason = _paired(paired, params, against)
            (passed if ok else failed).append(reason)
        elif champion is None:
            passed.append(f"no {against} yet")
        elif math.isnan(old):
            passed.append(f"{against} has no {metric}; compared on absolute checks only")
        else:
            change = improvement(metric, value, old)
            ok = change >= -params.max_regression and not params.require_improvement
            (passed if ok else failed).append(
                f"{metric} {value:.4f} vs {against}'s recorded {old:.4f} ({change:+.4f}; "
                f"allowed regression {params.max_regression:.4f}"
                + ("; an improvement beyond the noise is required" * params.require_improvement)
                + ")"
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
    within, beyond = fairness.reasons(*fair)
    passed += within
    failed += beyond
    return GateDecision(passed=not failed, reasons=failed or passed)


def interval(comparison: Comparison) -> str:
    """`+0.0011 (95% interval -0.0021 to +0.0043)`: the improvement and its interval."""
    low, high = comparison.low, comparison.high
    ends = f"{low:+.4f} to {high:+.4f}" if math.isfinite(low) else "none"
    return f"{comparison.improvement:+.4f} ({comparison.level:.0%} interval {ends})"


def _paired(comparison: Comparison, params: GateParams, against: str) -> tuple[bool, str]:
    """The regression rule on the same rows: worse beyond the noise and by more than allowed
    fails; with require_improvement, anything but better fails."""
    verdict = comparison.verdict
    beyond_allowance = verdict == WORSE and comparison.improvement < -params.max_regression
    wanted = params.require_improvement and verdict != BETTER
    reason = (
        f"{comparison.metric} {comparison.candidate:.4f} vs {against} {comparison.champion:.4f}"
        f" on the same {comparison.rows:,} rows: {verdict}, {interval(comparison)};"
        f" allowed regression {params.max_regression:.4f}"
        + ("; an improvement beyond the noise is required" if wanted else "")
    )
    return not (beyond_allowance or wanted), reason
