"""The fleet's pull-request report: every member of the fleet in one comment, main vs PR.

A fleet trains one model per member (a region, a product line); each member's metrics are in
reports/<member>/metrics.json. `build` is a pure function from both sides' metrics and each
member's gate decision to Markdown: the changed members first, by impact, then the rest
collapsed, and never longer than a GitHub comment may be, however many members there are.
Names and values go through .markdown and .cells, as in the single model's report."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from . import cells
from .cells import LOWER_IS_BETTER, NEUTRAL, SAME
from .gate import GateDecision, improvement
from .markdown import LIMIT, RESERVE, cap, code, label, size, text
from .paired import NO_DIFFERENCE, Comparison
from .task import METRICS as METRIC_DIRECTIONS

MARGIN = 2 * RESERVE  # room for the notes that say what was left out, and the watermark
PARAM_ROWS = 30  # parameters in the parameters table
CHART_MEMBERS = 30  # members in the chart
REASON = 120  # characters of a gate's summary in the members tables
NAME = 80  # characters of a member's name in tables
SAME_ROWS = [
    "",
    "A retrained member's verdict compares main's model with the PR's on the PR's test rows of"
    " the member, with a paired interval; its main value is main's model scored there.",
]
RANK = {"better": 0, "worse": 0, NO_DIFFERENCE: 1, "n/a": 2, "new": 3, "removed": 4}  # order


@dataclass
class MemberChange:
    """One member on both sides of the comparison."""

    member: str
    base: dict[str, float] | None  # main's metrics; None: the member is new in the PR
    head: dict[str, float] | None  # the PR's metrics; None: removed in the PR (or not trained)
    gate: GateDecision | None  # the member's merge gate vs main; None when head is None
    retrained: bool = False  # the PR's model is another than main's (its model key differs)
    paired: Comparison | None = None  # main's model against the PR's on the PR's test rows

    def sides(self, primary: str) -> tuple[float | None, float | None]:
        """(main, PR) values of `primary`: both models on the PR's rows where both were scored
        there, else each side's recorded value."""
        if self.paired is not None:
            return self.paired.champion, self.paired.candidate
        return _get(self.base, primary), _get(self.head, primary)

    def gain(self, primary: str) -> float:
        """How much better the PR's `primary` is than main's; NaN where a side has none."""
        old, new = self.sides(primary)
        if new is None or old is None or math.isnan(new) or math.isnan(old):
            return math.nan
        return improvement(primary, new, old)

    def status(self, primary: str) -> str:
        """better, worse, no detectable difference (on the same rows), unchanged, new,
        removed, or n/a (a side has no `primary`)."""
        if self.head is None:
            return "removed"
        if self.base is None:
            return "new"
        if self.paired is not None and math.isfinite(self.paired.improvement):
            return self.paired.verdict
        gain = self.gain(primary)
        if math.isnan(gain):
            return "n/a"
        return "unchanged" if abs(gain) < SAME else "better" if gain > 0 else "worse"


@dataclass
class _Block:
    """A part of the comment: fixed lines around rows that may be left out to fit LIMIT."""

    head: list[str]
    rows: list[str] = field(default_factory=list)
    tail: list[str] = field(default_factory=list)


def _get(metrics: dict[str, float] | None, name: str) -> float | None:
    """None where the side has no metrics at all; NaN where it lacks this one."""
    return None if metrics is None else float(metrics.get(name, math.nan))


def _gate(decision: GateDecision | None) -> str:
    if decision is None:
        return "—"
    return "✅ passes" if decision.passed else f"❌ {text(decision.summary, REASON)}"


def _member_row(change: MemberChange, primary: str) -> str:
    old, new = change.sides(primary)
    shown = [text(change.member, NAME), cells.number(old), cells.number(new)]
    verdict = change.paired.verdict if change.paired else None
    shown += [cells.change(primary, new, old, verdict), _gate(change.gate)]
    return f"| {' | '.join(shown)} |"


def _params(changed: dict[str, tuple[Any, Any]]) -> list[str]:
    if not changed:
        return ["No parameter changed."]
    rows = ["| parameter | main | PR |", "|---|---|---|"]
    for name, (old, new) in list(changed.items())[:PARAM_ROWS]:
        shown = f"{cells.parameter(old)} | {cells.parameter(new)}"
        rows.append(f"| {code(name, NAME, cell=True)} | {shown} |")
    return rows + cells.more(len(changed) - PARAM_ROWS, "`dvc params diff`")


def _chart(changed: list[MemberChange], primary: str) -> list[str]:
    """The primary metric of the members that changed most: main as bars, the PR as a line."""
    both = [change for change in changed if not math.isnan(change.gain(primary))]
    shown = both[:CHART_MEMBERS]
    if not shown:
        return []
    old = [change.sides(primary)[0] or 0.0 for change in shown]
    new = [change.sides(primary)[1] or 0.0 for change in shown]
    low, high = min(old + new), max(old + new)
    pad = max((high - low) * 0.1, SAME)
    capped = f"The {len(shown)} of {len(both)} members whose `{primary}` changed most. " * (
        len(both) > len(shown)
    )
    return [
        "",
        "### Chart",
        "",
        f"{capped}Bars: main; line: PR.",
        "",
        "```mermaid",
        "xychart-beta",
        f'    title "{primary} per member, main vs PR"',
        f"    x-axis [{_labels([change.member for change in shown])}]",
        f'    y-axis "{primary}" {_number(low - pad)} --> {_number(high + pad)}',
        f"    bar [{', '.join(map(_number, old))}]",
        f"    line [{', '.join(map(_number, new))}]",
        "```",
    ]


def _labels(members: list[str]) -> str:
    """Short, quoted, distinct Mermaid axis labels: a long name keeps its start and its end."""
    short = [label(name) for name in members]
    if len(set(short)) < len(short):  # Mermaid would draw one bar for two members
        short = [f'"{rank}. {name[1:]}' for rank, name in enumerate(short, 1)]
    return ", ".join(short)


def _number(value: float) -> str:
    """A number as Mermaid reads it: no exponent."""
    return f"{value:.6f}".rstrip("0").rstrip(".")


def _members(count: int) -> str:
    return f"{count} member{'s' * (count != 1)}"


def _delta(name: str, change: MemberChange) -> str:
    """A metric in the PR, followed by its change from main where it changed."""
    new, old = _get(change.head, name), _get(change.base, name)
    if new is None or old is None or math.isnan(new) or math.isnan(old) or abs(new - old) < SAME:
        return cells.number(new)
    step = f"{new - old:+,.0f}" if name in NEUTRAL else f"{new - old:+.4f}"
    return f"{cells.number(new)} {step}"


def _metrics(members: list[MemberChange], primary: str) -> tuple[list[str], list[str]]:
    """The header and the rows of a table of every other metric per member, unpadded: it is
    collapsed, and the spaces would cost a tenth of its length."""
    known = [*METRIC_DIRECTIONS, *LOWER_IS_BETTER, *NEUTRAL]
    found = {name for change in members for name in change.head or {}} - {primary}
    names = sorted(
        found, key=lambda name: (known.index(name) if name in known else len(known), name)
    )
    if not names:
        return [], []
    header = [f"|member|{'|'.join(text(name, NAME) for name in names)}|"]
    header += ["|---|" + "---:|" * len(names)]
    rows = [
        f"|{text(change.member, NAME)}|{'|'.join(_delta(name, change) for name in names)}|"
        for change in members
        if change.head is not None
    ]
    return header, rows


def _impact(change: MemberChange, primary: str) -> tuple[int, float, str]:
    """The changed members' order: the largest change first, then n/a, new and removed."""
    rank = RANK[change.status(primary)]
    return rank, -abs(change.gain(primary)) if rank == 0 else 0.0, change.member


def _assemble(blocks: list[_Block]) -> str:
    """The blocks as Markdown; rows that would take the text past LIMIT - MARGIN are left out."""
    budget = (
        LIMIT - MARGIN - sum(size(line) + 1 for block in blocks for line in block.head + block.tail)
    )
    lines: list[str] = []
    for block in blocks:
        kept = 0
        for row in block.rows:
            if size(row) + 1 > budget:
                break
            budget -= size(row) + 1
            kept += 1
        lines += block.head + block.rows[:kept]
        if kept < len(block.rows):
            left = len(block.rows) - kept
            lines += ["", f"… and {left} more, left out to fit GitHub's {LIMIT:,}-character limit."]
        lines += block.tail
    return cap("\n".join(lines) + "\n")  # a no-op unless the fixed lines alone are too long


def build(
    changes: list[MemberChange],
    primary: str,
    base_name: str,
    params_changed: dict[str, tuple[Any, Any]],
    head_name: str = "the workspace",
    run_url: str | None = None,
    title: str = "Fleet",
    notes: tuple[str, ...] = (),
) -> str:
    """The fleet's report as Markdown, at most LIMIT characters whatever the fleet's size; pure."""
    counts = Counter(change.status(primary) for change in changes)
    changed = sorted(
        (change for change in changes if change.status(primary) != "unchanged"),
        key=lambda change: _impact(change, primary),
    )
    unchanged = sorted(
        (change for change in changes if change.status(primary) == "unchanged"),
        key=lambda change: change.member,
    )
    failing = [change for change in changed + unchanged if change.gate and not change.gate.passed]
    summary = ", ".join(
        f"{counts[status]} {status}"
        for status in ("better", "worse", NO_DIFFERENCE, "unchanged", "new", "removed")
        if counts[status] or status != NO_DIFFERENCE
    )
    if counts["n/a"]:
        summary += f", {counts['n/a']} not comparable"
    retrained = sum(change.retrained for change in changes)
    summary += f"; {retrained} of {_members(len(changes))} retrained"
    mark = "❌" if failing else "✅"
    name = text(title) if title.lower().endswith("fleet") else f"{code(title)} fleet"
    direction = "higher" if METRIC_DIRECTIONS[primary] else "lower"
    table = [
        f"| member | main {primary} | PR {primary} | change | gate |",
        "|---|---:|---:|---|---|",
    ]
    blocks = [
        _Block(
            [
                f"## Model report: {name} ({_members(len(changes))})",
                "",
                f"main = {code(base_name)}; PR = {head_name}",
                "",
                f"`{primary}` ({direction} is better): {summary}; "
                f"{mark} {len(failing)} failing the merge gate against main.",
                *SAME_ROWS * any(change.paired for change in changes),
                *(line for note in notes for line in ("", note)),
                "",
                "### Parameters",
                "",
                *_params(params_changed),
                "",
                f"### Changed members ({len(changed)})",
                "",
                *(table if changed else [f"No member's `{primary}` changed."]),
            ],
            [_member_row(change, primary) for change in changed],
        ),
        _Block(_chart(changed, primary)),
    ]
    if failing:
        rows = [
            f"- **{text(change.member, NAME)}**: {change.gate.summary}"
            for change in failing
            if change.gate
        ]
        blocks.append(_Block(["", f"### Gate failures ({len(failing)})", ""], rows))
    if unchanged:
        again = sum(change.retrained for change in unchanged)
        note = f"{_members(len(unchanged))} unchanged" + (
            f" ({again} retrained, within {SAME} of main)" * bool(again)
        )
        head = ["", f"<details><summary>{note}</summary>", "", *table]
        rows = [_member_row(change, primary) for change in unchanged]
        blocks.append(_Block(head, rows, ["", "</details>"]))
    header, rows = _metrics([*changed, *unchanged], primary)
    if rows:
        head = ["", "<details><summary>All other metrics per member (PR, change vs main)</summary>"]
        blocks.append(_Block([*head, "", *header], rows, ["", "</details>"]))
    if run_url:
        blocks.append(_Block(["", f"[Workflow run]({run_url})"]))
    return _assemble(blocks)
