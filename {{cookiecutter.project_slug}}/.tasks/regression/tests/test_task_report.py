"""The regression sections of the single model's PR report (a fleet's report has none)."""

from __future__ import annotations

import re

import pandas as pd

from {{ cookiecutter.package_name }} import task_report
from {{ cookiecutter.package_name }}.params import Params


def _side(weeks: list[str], mae: float, bias: float) -> dict:
    return {
        "error_over_time": [{"week": week, "mae": mae} for week in weeks],
        "residuals": [{"segment": "north", "mean_error": bias, "mean_absolute_error": mae}],
    }


def _chart(lines: list[str]) -> tuple[list[str], list[str]]:
    """The x-axis labels and the line rows of the report's Mermaid chart."""
    axis = next(line for line in lines if line.strip().startswith("x-axis"))
    return re.findall(r'"([^"]+)"', axis), [line for line in lines if "line [" in line]


def test_the_report_compares_the_weeks_both_sides_have(params: Params) -> None:
    mondays = pd.date_range("2025-01-06", periods=40, freq="W-MON")
    weeks = [day.strftime("%Y-%m-%d") for day in mondays]
    sides = {"main": _side(weeks, 10.0, -2.0), "PR": _side(weeks, 9.5, 1.0)}
    lines = task_report.report_sections(sides, params)
    labels, series = _chart(lines)
    assert len(series) == 2 and "Lines: main: blue, PR: orange." in lines  # main, then the PR
    assert 2 <= len(labels) <= 20 and labels[0] == "Jan 06 2025" and labels[-1] == "Oct 06 2025"
    assert "| north | -2.00 | +1.00 |" in lines


def test_a_pr_on_other_weeks_shows_its_own_line_only(params: Params) -> None:
    main = _side(["2025-01-06", "2025-01-13"], 10.0, -2.0)
    pr = _side(["2025-01-20", "2025-01-27"], 12.0, -3.0)
    lines = task_report.report_sections({"main": main, "PR": pr}, params)
    labels, series = _chart(lines)
    assert labels == ["Jan 20 2025", "Jan 27 2025"]
    assert series == ["    line [12, 12]"] and "Lines: PR: blue." in lines
    assert task_report.report_sections({"main": {}, "PR": {}}, params) == []
