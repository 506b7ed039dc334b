"""How numbers, changes and parameter values read in a report's table cells, shared by the
PR report and the fleet's."""

from __future__ import annotations

import json
import math
from typing import Any

from .gate import improvement
from .markdown import code
from .paired import BETTER, NO_DIFFERENCE, WORSE
from .task import METRICS as METRIC_DIRECTIONS

# Extra metrics whose direction is known: smaller segment gaps are better.
LOWER_IS_BETTER = {"segment_gap"}


NEUTRAL = {"test_rows"}


SAME = 1e-4  # changes smaller than this count as unchanged


VERDICTS = {BETTER: "🟢 better", WORSE: "🔴 worse", NO_DIFFERENCE: "no detectable difference"}


def number(value: float | None) -> str:
    if value is None:
        return "—"
    if isinstance(value, float) and math.isnan(value):
        return "n/a"
    if float(value).is_integer() and abs(value) >= 10:
        return f"{int(value):,}"
    return f"{value:.4f}"


def _gain(name: str, new: float, old: float) -> float | None:
    """How much better (positive) or worse; None where the metric has no direction."""
    if name in NEUTRAL or math.isnan(new) or math.isnan(old):
        return None
    if name in LOWER_IS_BETTER:
        return old - new
    if name in METRIC_DIRECTIONS:
        return improvement(name, new, old)
    return None


def change(name: str, new: float | None, old: float | None, verdict: str | None = None) -> str:
    """The change from `old` to `new`; its marker follows `verdict` (same_rows' better, worse,
    or no detectable difference; "": no marker) when there is one, else the sign of the change."""
    if new is None or old is None:
        return "new" if old is None and new is not None else "removed" if new is None else ""
    if math.isnan(new) or math.isnan(old):
        return "n/a"
    delta = new - old
    if abs(delta) < SAME:
        return "= 0"
    arrow = "▲" if delta > 0 else "▼"
    gain = _gain(name, new, old)
    mark = "" if gain is None else (" 🟢" if gain > 0 else " 🔴")
    if verdict is not None:
        mark = {BETTER: " 🟢", WORSE: " 🔴"}.get(verdict, "")
    return f"{arrow} {delta:+,.0f}{mark}" if name in NEUTRAL else f"{arrow} {delta:+.4f}{mark}"


def parameter(value: Any) -> str:
    """A parameter's value in a table cell: a code span, on one line, cut to a width."""
    if value is None:
        return "—"
    return code(value if isinstance(value, str) else json.dumps(value), cell=True)


def more(left: int, where: str) -> list[str]:
    """The line that counts what a bounded list left out."""
    return ["", f"… and {left:,} more ({where})."] if left > 0 else []
