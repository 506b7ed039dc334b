"""The single model's PR report (report_markdown, task_report): whatever data and params say,
it stays inert Markdown under GitHub's limit. A fleet's report is tested in test_fleet_report."""

from __future__ import annotations

from typing import Any

from {{ cookiecutter.package_name }} import task_report
from {{ cookiecutter.package_name }}.params import Params
from {{ cookiecutter.package_name }}.report_markdown import Inputs, Side, build

from .test_markdown import HOSTILE, HUGE, problems, whole


def failed(column: str, observed: Any) -> dict[str, Any]:
    """reports/validation.json with one failed expectation on `column`."""
    failure = {"expectation": "expect_column_values_to_be_in_set", "column": column}
    return {
        "success": False,
        "statistics": {"successful_expectations": 1, "evaluated_expectations": 2},
        "failures": [{**failure, "observed": observed}],
    }


def report(params: Params, value: str, validation: dict[str, Any] | None = None) -> str:
    primary = params.model.primary_metric
    plots = {
        "confusion": [{"actual": "0", "predicted": "0", "count": 5}],
        "residuals": [{"segment": value, "mean_error": 0.5, "mean_absolute_error": 1.0}],
    }
    side = Side(
        metrics={primary: 0.8, "segment_gap": 0.1},
        segments={value: {primary: 0.8}, "north": {primary: 0.7}},
        plots=plots,
        importance={value: 0.02, "tenure": 0.01},
        data_md5=f"`{value}",
    )
    inputs = Inputs(
        base_name=value,
        base=side,
        head=side,
        params_changed={f"data.schema.categorical.{value}": (value, [value, "`|`"])},
        validation=validation or failed(value, {"unexpected_count": 2, "examples": [value, HUGE]}),
    )
    return build(inputs, params)


def test_pr_report_shows_data_and_params_inert(params: Params) -> None:
    document = report(params, HOSTILE)
    assert problems(document) == [] and whole(document)
    for section in ("segment", "Parameters", "Data validation", "Feature importance"):
        assert section in document


def test_pr_report_stays_under_the_limit_whatever_the_data(params: Params) -> None:
    huge = report(params, HUGE)
    assert problems(huge) == [] and len(huge) < 20_000
    many = {
        "success": False,
        "statistics": {},
        "failures": [{"expectation": HUGE, "column": HUGE, "observed": HUGE}] * 5_000,
    }
    document = report(params, HUGE, validation=many)
    assert problems(document) == [] and "… and 4,980 more (reports/validation.json)" in document


def test_task_sections_show_labels_and_segments_inert(params: Params) -> None:
    plots = {
        "confusion": [{"actual": "0", "predicted": "1", "count": 3}],
        "residuals": [{"segment": HOSTILE, "mean_error": 0.5, "mean_absolute_error": 1.0}],
    }
    lines = task_report.report_sections({"main": plots, HOSTILE: plots}, params)
    assert lines and problems("\n".join(lines)) == []
