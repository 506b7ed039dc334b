from __future__ import annotations

import re

import pytest

from {{ cookiecutter.package_name }} import task
from {{ cookiecutter.package_name }}.fleet_changes import with_inherited
from {{ cookiecutter.package_name }}.fleet_report import LIMIT, MemberChange, build
from {{ cookiecutter.package_name }}.gate import GateDecision
from {{ cookiecutter.package_name }}.paired import Comparison

from .test_markdown import HOSTILE, problems

PRIMARY = next(iter(task.METRICS))  # roc_auc in a classification bake, mae in a regression one
NAMES = [*list(task.METRICS)[:4], "test_rows"]  # five metrics per member
PASSES = GateDecision(passed=True, reasons=["meets the minimum"])
classification = pytest.mark.skipif("roc_auc" not in task.METRICS, reason="a classification bake")
regression = pytest.mark.skipif("mae" not in task.METRICS, reason="a regression bake")


def holds_back(reason: str) -> GateDecision:
    return GateDecision(passed=False, reasons=[reason])


def metrics(value: float, primary: str = PRIMARY) -> dict[str, float]:
    """A member's metrics.json: `primary` first, then the other metrics."""
    others = {name: round(value * 0.9, 4) for name in NAMES if name != primary}
    return {primary: value, **others, "test_rows": 1000}


def member(
    name: str, old: float | None, new: float | None, gate: GateDecision | None = PASSES
) -> MemberChange:
    return MemberChange(
        member=name,
        base=None if old is None else metrics(old),
        head=None if new is None else metrics(new),
        gate=None if new is None else gate,
    )


def report(changes: list[MemberChange], primary: str = PRIMARY, **options) -> str:
    return build(changes, primary, "origin/main", options.pop("changed", {}), **options)


def rows(text: str) -> list[str]:
    """The changed-members table's rows, in order."""
    table = text.split("### Changed members")[1].split("\n\n")[1]
    return table.splitlines()[2:]


def columns(row: str) -> int:
    return len(re.findall(r"(?<!\\)\|", row)) - 1


def fleet(count: int, gate: GateDecision = PASSES) -> list[MemberChange]:
    """`count` members, all changed, with names of about 40 characters."""
    name = "region-{:04d}-with-a-rather-long-name-xyz"
    return [
        member(name.format(index), 0.5, 0.5 + (index + 1) * 1e-3, gate) for index in range(count)
    ]


@classification
def test_mixed_fleet_summary_counts_and_order() -> None:
    changes = [
        member("north", 0.80, 0.82),
        member("south", 0.80, 0.70, holds_back("roc_auc 0.7000 misses the minimum 0.7500")),
        member("east", 0.80, 0.80),
        member("west", 0.80, 0.85),
        member("centre", 0.75, 0.75),
        member("islands", None, 0.78),
        member("coast", 0.81, None),
    ]
    text = report(
        changes,
        changed={"train.hyperparameters.learning_rate": (0.1, 0.05)},
        title="customer-churn",
        run_url="https://github.com/o/r/actions/runs/1",
    )
    lines = text.splitlines()
    assert lines[0] == "## Model report: `customer-churn` fleet (7 members)"
    assert lines[2] == "main = `origin/main`; PR = the workspace"
    assert lines[4] == (
        "`roc_auc` (higher is better): 2 better, 1 worse, 2 unchanged, 1 new, 1 removed; "
        "0 of 7 members retrained; ❌ 1 failing the merge gate against main."
    )
    assert "| `train.hyperparameters.learning_rate` | `0.1` | `0.05` |" in text
    assert [row.split(" | ")[0] for row in rows(text)] == [
        "| south",  # -0.10
        "| west",  # +0.05
        "| north",  # +0.02
        "| islands",  # new
        "| coast",  # removed
    ]
    assert "| west | 0.8000 | 0.8500 | ▲ +0.0500 🟢 | ✅ passes |" in text
    assert "| islands | — | 0.7800 | new | ✅ passes |" in text
    assert "| coast | 0.8100 | — | removed | — |" in text
    assert text.count("```mermaid") == 1 and "xychart-beta" in text
    assert '    x-axis ["south", "west", "north"]' in text
    assert "    bar [0.8, 0.8, 0.8]" in text and "    line [0.7, 0.85, 0.82]" in text
    assert text.rstrip().endswith("[Workflow run](https://github.com/o/r/actions/runs/1)")


@classification
def test_all_unchanged_and_passing() -> None:
    text = report([member("north", 0.8, 0.8), member("south", 0.7, 0.7)])
    assert text.splitlines()[0] == "## Model report: Fleet (2 members)"
    assert "2 unchanged, 0 new, 0 removed; 0 of 2 members retrained; ✅ 0 failing" in text
    assert "No member's `roc_auc` changed." in text
    assert "No parameter changed." in text
    assert "```mermaid" not in text and "### Gate failures" not in text


@classification
def test_a_retrained_member_is_counted_even_when_its_metric_barely_moved() -> None:
    paris = MemberChange("paris", metrics(0.8), metrics(0.80008), PASSES, retrained=True)
    text = report([paris, member("berlin", 0.7, 0.7)])
    assert "0 better, 0 worse, 2 unchanged, 0 new, 0 removed; 1 of 2 members retrained;" in text
    assert "<details><summary>2 members unchanged (1 retrained, within " in text


def test_a_member_override_shows_the_value_it_replaces() -> None:
    base = {"train": {"hyperparameters": {"learning_rate": 0.1}}, "fleet": {"members": {}}}
    head = {"train": {"hyperparameters": {"learning_rate": 0.2}}, "fleet": {"members": {}}}
    added = "fleet.members.paris.train.hyperparameters.learning_rate"
    dropped = "fleet.members.rome.train.hyperparameters.learning_rate"
    shared = "train.hyperparameters.learning_rate"
    changed = {added: (None, 0.05), dropped: (0.3, None), shared: (0.1, 0.2)}
    assert with_inherited(changed, base, head) == {
        added: ("0.1 (inherited)", 0.05),
        dropped: (0.3, "0.2 (inherited)"),
        shared: (0.1, 0.2),
    }
    text = report([member("paris", 0.8, 0.8)], changed=with_inherited(changed, base, head))
    assert f"| `{added}` | `0.1 (inherited)` | `0.05` |" in text
    assert with_inherited({"fleet.members.x.new_key": (None, 1)}, base, head) == {
        "fleet.members.x.new_key": (None, 1)
    }


@classification
def test_a_failing_gate_shows_its_reason() -> None:
    reason = (
        "roc_auc 0.7000 misses the minimum 0.7500; roc_auc 0.7000 vs main 0.8000 "
        "(-0.1000; allowed regression 0.0100); and a long tail that goes on and on for the test"
    )
    text = report([member("south", 0.8, 0.7, holds_back(reason)), member("north", 0.8, 0.9)])
    assert "### Gate failures (1)" in text
    assert f"- **south**: {reason}" in text  # in full
    south = next(row for row in rows(text) if row.startswith("| south"))
    assert "❌ roc_auc 0.7000 misses the minimum 0.7500" in south and south.endswith("… |")
    assert len(south.split(" | ")[-1]) <= 125


def test_200_members_all_changed_fit_with_room() -> None:
    text = report(fleet(200), changed={f"param.{index}": (index, index + 1) for index in range(40)})
    assert len(text) < 40_000, len(text)
    assert "left out" not in text
    assert "200 better, 0 worse" in text or "0 better, 200 worse" in text
    assert rows(text)[0].startswith("| region-0199-with-a-rather-long-name-xyz |")
    assert "… and 10 more (`dvc params diff`)." in text  # parameters beyond 30
    assert "The 30 of 200 members whose" in text
    assert text.count("region-0199-with-a-rather-long-name-xyz") == 2  # changed, all metrics


def test_200_failing_members_stay_under_the_limit() -> None:
    reason = "x" * 200 + "; " + "y" * 200
    text = report(fleet(200, holds_back(reason)))
    assert len(text) <= LIMIT
    assert "200 failing the merge gate" in text
    assert rows(text)[0].startswith("| region-0199-with-a-rather-long-name-xyz |")
    assert text.count("<details>") == text.count("</details>")


@pytest.mark.parametrize("gate", [PASSES, holds_back("z" * 300)])
def test_2000_members_stay_under_the_limit(gate: GateDecision) -> None:
    changes = [*fleet(1500, gate), *(member(f"same-{index}", 0.5, 0.5) for index in range(500))]
    text = report(changes, run_url="https://github.com/o/r/actions/runs/1")
    assert len(text) <= LIMIT and len(text.encode("utf-16-le")) // 2 <= LIMIT
    assert "(2000 members)" in text and "500 unchanged" in text
    assert "more, left out to fit GitHub" in text
    assert rows(text)[0].startswith("| region-1499-with-a-rather-long-name-xyz |")
    assert text.count("<details>") == text.count("</details>")
    assert text.rstrip().endswith("(https://github.com/o/r/actions/runs/1)")


def test_unchanged_members_are_only_inside_details() -> None:
    text = report([member("steady-member", 0.5, 0.5), member("moving-member", 0.5, 0.6)])
    before, _, inside = text.partition("<details>")
    assert "steady-member" not in before and "moving-member" in before
    assert "<details><summary>1 member unchanged</summary>" in text
    assert "| steady-member | 0.5000 | 0.5000 | = 0 |" in inside


def test_a_pipe_in_a_member_name_adds_no_column() -> None:
    text = report([member("north|east", 0.5, 0.6), member("a | b", 0.5, 0.5)])
    table = [line for line in text.splitlines() if line.startswith("|")]
    assert sum(line.startswith(("| north\\|east |", "|north\\|east|")) for line in table) == 2
    assert sum(line.startswith(("| a \\| b |", "|a \\| b|")) for line in table) == 2
    assert {columns(line) for line in table} == {5}


@regression
def test_a_lower_mae_is_better() -> None:
    text = report([member("north", 12.5, 11.25), member("south", 12.5, 13.75)], primary="mae")
    assert "`mae` (lower is better): 1 better, 1 worse, 0 unchanged" in text
    assert "| north | 12.5000 | 11.2500 | ▼ -1.2500 🟢 | ✅ passes |" in text
    assert "| south | 12.5000 | 13.7500 | ▲ +1.2500 🔴 | ✅ passes |" in text
    assert [row.split(" | ")[0] for row in rows(text)] == ["| north", "| south"]  # a tie: by name


def test_names_and_values_from_data_and_params_stay_inert() -> None:
    """A member's name and a parameter's value that are Markdown (a link, a team mention, a
    remote image), and names of 100,000 characters, in every table, the chart and the list
    of gate failures."""
    huge = "z" * 100_000
    changes = [
        member(HOSTILE, 0.8, 0.7, holds_back("misses the minimum")),
        member(huge, 0.8, 0.9),
        member(f"{HOSTILE} steady", 0.8, 0.8),
        *fleet(300),
    ]
    text = report(changes, changed={HOSTILE: (huge, HOSTILE)}, title=HOSTILE)
    assert problems(text) == []
    assert len(text) <= LIMIT and "left out" not in text
    chart = next(line for line in text.splitlines() if "x-axis" in line)
    assert "](" not in chart and chart.count('"') == 2 * 30


def test_the_fleet_drift_report_shows_names_inert_and_stays_under_the_limit() -> None:
    from {{ cookiecutter.package_name }}.fleet_summary import markdown

    def verdict(retrain: bool) -> dict:
        triggers = ["data_drift"] if retrain else []
        return {"retrain": retrain, "triggers": triggers, "new_rows": 5, "drifted": [HOSTILE]}

    members = {f"{HOSTILE} {index}": verdict(index % 2 == 0) for index in range(2_000)}
    result = {
        "members": members,
        "retrain_members": [name for name, member in members.items() if member["retrain"]],
        "current": {"source": HOSTILE, "rows": 10},
        "reference": {"source": "data/train.parquet", "rows": 100},
    }
    text = markdown(result, HOSTILE)
    assert problems(text) == [] and len(text) <= LIMIT
    assert "| … | and 950 more (reports/drift.json) |" in text


def test_retrained_members_are_counted_by_their_verdict_on_the_same_rows() -> None:
    """Each retrained member's verdict is main's model against the PR's on the PR's rows;
    a recorded change that is noise there gets no marker and counts as no difference."""
    sign = 1 if task.METRICS[PRIMARY] else -1

    def on_rows(old: float, new: float, low: float, high: float) -> Comparison:
        return Comparison(PRIMARY, new, old, sign * (new - old), low, high, 0.95, "DeLong", 800)

    better = 0.78 + sign * 0.01
    north = member("north", 0.8, better)  # recorded: worse, on other rows
    north.retrained, north.paired = True, on_rows(0.78, better, 0.002, 0.018)
    south = member("south", 0.8, 0.8004)
    south.retrained, south.paired = True, on_rows(0.8, 0.8004, -0.01, 0.011)
    text = report([north, south, member("west", 0.7, 0.7)])
    assert "): 1 better, 0 worse, 1 no detectable difference, 1 unchanged, 0 new" in text
    assert "; 2 of 3 members retrained" in text
    assert "its main value is main's model scored there" in text
    assert f"| north | 0.7800 | {better:.4f} | {'▲' if sign > 0 else '▼'} " in text
    assert f"{sign * 0.01:+.4f} 🟢 | ✅ passes |" in text
    assert "| south | 0.8000 | 0.8004 | ▲ +0.0004 | ✅ passes |" in text
    assert rows(text)[0].startswith("| north |")  # a verdict first, then no difference
