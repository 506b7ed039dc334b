from __future__ import annotations

import math

import pytest

from {{ cookiecutter.package_name }}.paired import Comparison
from {{ cookiecutter.package_name }}.params import Params
from {{ cookiecutter.package_name }}.report_markdown import Inputs, Side, build

from .test_markdown import HOSTILE, problems
from .test_report_markdown import failed

ROC = [{"fpr": 0.0, "tpr": 0.0}, {"fpr": 0.2, "tpr": 0.6}, {"fpr": 1.0, "tpr": 1.0}]
CONFUSION = [
    {"actual": a, "predicted": p, "count": c}
    for a, p, c in (("0", "0", 50), ("0", "1", 10), ("1", "0", 5), ("1", "1", 35))
]


def side(primary: str, value: float, gap: float = 0.02, **extra: float) -> Side:
    return Side(
        metrics={primary: value, "accuracy": 0.8, "segment_gap": gap, **extra},
        segments={"north": {primary: value}, "south": {primary: value - gap}},
        plots={"roc": ROC, "confusion": CONFUSION},
        data_md5="a" * 32,
    )


def report(params: Params, base: Side, head: Side, **changes) -> str:
    inputs = Inputs(
        paired=changes.get("paired", {}),
        paired_note=changes.get("note"),
        base_name="origin/main",
        base=base,
        head=head,
        params_changed=changes.get("changed", {}),
        validation=changes.get("validation", {"success": True, "statistics": {"rows": 3000}}),
        run_url=changes.get("run_url"),
    )
    return build(inputs, params)


@pytest.fixture
def primary(params: Params) -> str:
    return params.model.primary_metric


def test_better_model_with_a_changed_param(params: Params, primary: str) -> None:
    text = report(
        params,
        side(primary, 0.80),
        side(primary, 0.85),
        changed={"train.hyperparameters.learning_rate": (0.1, 0.05)},
        run_url="https://github.com/o/r/actions/runs/1",
    )
    lines = text.splitlines()
    assert lines[0] == f"## Model report: `{params.model.name}`"
    assert lines[2].startswith(f"**Better**: `{primary}` 0.8000 → 0.8500 (+0.0500")
    assert "Merge gate against main: ✅ **would pass**" in text
    assert f"| **{primary}** | 0.8000 | 0.8500 | ▲ +0.0500 🟢 |" in text
    assert "| `train.hyperparameters.learning_rate` | `0.1` | `0.05` |" in text
    assert "Training data unchanged" in text
    assert text.count("```mermaid") == 2 and "xychart-beta" in text
    assert "Lines: main: blue, PR: orange.\n\n```mermaid\n%%{init:" in text  # the ROC legend
    assert "| 0 | 50 | 10 | 50 | 10 |" in text
    assert text.rstrip().endswith("[Workflow run](https://github.com/o/r/actions/runs/1)")


def test_gate_line_and_chart_say_what_is_compared(params: Params, primary: str) -> None:
    text = report(params, side(primary, 0.8038), side(primary, 0.8046))
    assert "vs main's recorded 0.8038" in text and "vs champion" not in text
    assert "Merge gate against main:" in text and "registry's champion" in text
    assert 'title "Improvement of each metric, PR vs main (up is better)"' in text
    assert '    y-axis "improvement" -0.001 --> 0.001' in text  # a +0.0008 change fills the axis
    assert "0.000800" in text


def test_worse_model_is_held_back_by_the_gate(params: Params, primary: str) -> None:
    text = report(params, side(primary, 0.85), side(primary, 0.80, gap=0.3))
    assert "**Worse**" in text
    assert "❌ **would hold the model back**" in text and "segment gap 0.3000 exceeds" in text
    assert "▼ -0.0500 🔴" in text


def test_first_pr_has_no_base_metrics(params: Params, primary: str) -> None:
    text = report(params, Side(), side(primary, 0.8))
    assert f"**First model**: `{primary}` 0.8000 (origin/main has none to compare)" in text
    assert f"| **{primary}** | — | 0.8000 | new |" in text
    assert "is new (main has none)" in text
    assert "Improvement of each metric" not in text  # nothing to compare with
    assert "| actual \\ predicted | PR: 0 | PR: 1 |" in text


def test_no_change_at_all(params: Params, primary: str) -> None:
    text = report(params, side(primary, 0.8), side(primary, 0.8))
    assert "**Unchanged**" in text
    assert "No parameter changed." in text
    assert f"| **{primary}** | 0.8000 | 0.8000 | = 0 |" in text


def test_metric_added_removed_and_nan(params: Params, primary: str) -> None:
    base = side(primary, 0.8, old_metric=1.0)
    head = side(primary, 0.8, new_metric=2.0, recall=math.nan)
    head.data_md5 = "b" * 32
    text = report(params, base, head)
    assert "| old_metric | 1.0000 | — | removed |" in text
    assert "| new_metric | — | 2.0000 | new |" in text
    assert "| recall | — | n/a | new |" in text
    assert "Training data **changed**" in text


def test_no_result_and_failed_validation(params: Params, primary: str) -> None:
    validation = {
        "success": False,
        "statistics": {"successful_expectations": 3, "evaluated_expectations": 4, "rows": 10},
        "failures": [
            {
                "expectation": "expect_column_values_to_be_between",
                "column": "tenure_months",
                "observed": 9,
            }
        ],
    }
    text = report(params, side(primary, 0.8), Side(), validation=validation)
    assert f"**No result**: the PR has no `{primary}`" in text
    assert "❌ **would hold the model back**" in text
    assert "- `expect_column_values_to_be_between` on `tenure_months`: observed 9" in text
    assert "no training snapshot" in text


def test_values_from_data_and_params_stay_inert(params: Params, primary: str) -> None:
    """A category value that is Markdown (a link, a team mention, a remote image), as a segment,
    a parameter, a failed expectation's observation; and a cell of 100,000 characters."""
    for value in (HOSTILE, "y" * 100_000):
        base, head = side(primary, 0.8), side(primary, 0.85)
        head.segments[value] = {primary: 0.5}
        validation = failed("region", {"unexpected_count": 1, "examples": [value]})
        text = report(
            params, base, head, changed={"data.path": ("a.csv", value)}, validation=validation
        )
        assert problems(text) == [], value[:20]
        assert len(text) < 20_000
    assert "expect_column_values_to_be_in_set` on `region`: observed" in text


def test_on_the_same_rows_the_verdict_leads_and_the_markers_follow_it(
    params: Params, primary: str
) -> None:
    # main's model was trained on other data: recorded 0.8038 there, 0.8013 on the PR's rows.
    paired = {
        primary: Comparison(primary, 0.8024, 0.8013, 0.0011, 0.0004, 0.0018, 0.95, "DeLong", 4000),
        "accuracy": Comparison("accuracy", 0.81, 0.8, 0.01, -0.01, 0.03, 0.95, "delta", 4000),
    }
    head = side(primary, 0.8024, accuracy=0.81)
    head.data_md5 = "b" * 32
    text = report(params, side(primary, 0.8038), head, paired=paired)
    assert text.splitlines()[2] == (
        f"**Better** on the same 4,000 test rows: `{primary}` 0.8013 (main's model) → 0.8024"
        " (this PR), +0.0011 (95% interval +0.0004 to +0.0018); higher is better"
    )
    assert f"| {primary} | 0.8013 | 0.8024 | +0.0011 | +0.0004 to +0.0018 | 🟢 better |" in text
    assert "| accuracy | 0.8000 | 0.8100 | +0.0100 | -0.0100 to +0.0300 | no detectable" in text
    assert f"| **{primary}** | 0.8038 | 0.8024 | ▼ -0.0014 🟢 |" in text  # the verdict's marker
    assert "| accuracy | 0.8000 | 0.8100 | ▲ +0.0100 |" in text  # no detectable difference
    assert "The training data changed" in text
    assert "vs main 0.8013 on the same 4,000 rows: better" in text
    # no segment compared on the same rows: the recorded values, without markers
    assert f"### `{primary}` by segment\n" in text
    assert "| north | 0.8038 | 0.8024 | ▼ -0.0014 |" in text
    assert "on the same rows, PR vs main" in text


def test_a_base_model_that_cannot_be_scored_is_said_in_one_line(
    params: Params, primary: str
) -> None:
    note = "the model of 0123456789ab: `dvc get` found no models/model.skops"
    text = report(params, side(primary, 0.80), side(primary, 0.85), note=note)
    assert "**Better**: " in text
    assert "Recorded metrics, each measured on its own test rows: main's model was not" in text
    assert "### On the same rows" not in text


def test_segments_on_the_same_rows_carry_their_own_verdicts(params: Params, primary: str) -> None:
    def on_rows(old: float, new: float, low: float, high: float) -> Comparison:
        return Comparison(primary, new, old, new - old, low, high, 0.95, "DeLong", 1000)

    paired = {
        primary: on_rows(0.8, 0.81, 0.001, 0.019),
        "segment:north": on_rows(0.79, 0.83, 0.01, 0.07),
        "segment:south": on_rows(0.82, 0.81, -0.04, 0.02),
    }
    text = report(params, side(primary, 0.8), side(primary, 0.81), paired=paired)
    assert f"### `{primary}` by segment (both models on the PR's test rows)" in text
    assert "| north | 0.7900 | 0.8300 | ▲ +0.0400 🟢 |" in text
    assert "| south | 0.8200 | 0.8100 | ▼ -0.0100 |" in text  # inside the noise: no marker
    assert "segment:" not in text  # the same-rows table lists the whole test set's metrics
