"""Fairness by group, with fairlearn: for each sensitive column, each group's metrics on the
test rows with a bootstrap interval (fairlearn's MetricFrame), the task's gaps between groups
(task_fairness.py names them and says how they are measured) and the gate's bounds on them
(`fairness.max_gap`). fairlearn is imported only where a sensitive column is set."""

from __future__ import annotations

import math
from typing import Any

from pydantic import Field, model_validator

from . import task_fairness
from .markdown import text
from .section import Section

QUANTILES = [0.025, 0.975]  # of each group's bootstrap interval


class FairnessParams(Section):
    sensitive_features: list[str] = Field(default_factory=list)
    resamples: int = Field(100, ge=0, le=10_000)
    max_gap: dict[str, float] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _known_gaps(self) -> FairnessParams:
        unknown = sorted(set(self.max_gap) - set(task_fairness.GAPS))
        if unknown:
            raise ValueError(f"max_gap: {unknown} not among {list(task_fairness.GAPS)}")
        return self

    def problems(self, schema: Any) -> list[str]:
        unknown = [name for name in self.sensitive_features if name not in schema.categorical]
        if not unknown:
            return []
        return [
            f"fairness.sensitive_features: {unknown} not among the categorical columns of"
            f" data.schema ({', '.join(schema.categorical) or 'none'})"
        ]


def assess(test: Any, predicted: Any, params: Any, intervals: bool = True) -> dict[str, Any]:
    """{column: {"groups": {group: {"rows", metric: {"value", "low", "high"}}}, "gaps": ...}}
    for each sensitive column; {} when none is set. Without `intervals` (the gate needs none)
    no bootstrap runs and each interval is the value."""
    settings = params.fairness
    if not settings.sensitive_features:
        return {}
    resamples = settings.resamples if intervals else 0
    from fairlearn.metrics import MetricFrame

    truth = test[params.data.schema_.target].to_numpy()
    found = {}
    for column in settings.sensitive_features:
        groups = test[column].astype(str).to_numpy()
        frame = MetricFrame(
            metrics=task_fairness.metrics(params.model),
            y_true=truth,
            y_pred=predicted,
            sensitive_features=groups,
            n_boot=resamples or None,
            ci_quantiles=QUANTILES if resamples else None,
            random_state=params.train.seed if resamples else None,
        )
        values = frame.by_group
        low, high = frame.by_group_ci if resamples else (values, values)
        rows = {str(name): int((groups == name).sum()) for name in values.index}
        found[column] = {
            "groups": {
                str(name): {
                    "rows": rows[str(name)],
                    **{
                        metric: {
                            "value": _number(values.loc[name, metric]),
                            "low": _number(low.loc[name, metric]),
                            "high": _number(high.loc[name, metric]),
                        }
                        for metric in values.columns
                    },
                }
                for name in values.index
            },
            "gaps": task_fairness.gaps(values),
        }
    return found


def spread(values: Any) -> dict[str, Any]:
    """The largest difference between two groups in a column of values, and which they are."""
    known = values.dropna()
    if len(known) < 2:
        return {"value": 0.0, "largest": "—", "smallest": "—"}
    largest, smallest = known.idxmax(), known.idxmin()
    value = round(float(known[largest] - known[smallest]), 6)
    return {"value": value, "largest": str(largest), "smallest": str(smallest)}


def _number(value: Any) -> float:
    return round(float(value), 6)


def reasons(fairness: dict[str, Any], bounds: dict[str, float]) -> tuple[list[str], list[str]]:
    """The gate's (passed, failed) reasons: each bounded gap of each sensitive column, with
    the two groups farthest apart named."""
    passed: list[str] = []
    failed: list[str] = []
    for column, found in fairness.items():
        for name, gap in found.get("gaps", {}).items():
            bound = bounds.get(name)
            if bound is None:
                continue
            value = float(gap["value"])
            ok = not math.isnan(value) and value <= bound
            (passed if ok else failed).append(
                f"{name.replace('_', ' ')} by {text(column)} {value:.4f}"
                f" ({text(gap['largest'])} vs {text(gap['smallest'])})"
                f" {'within' if ok else 'exceeds'} {bound:.4f}"
            )
    return passed, failed


def lines(fairness: dict[str, Any], other: dict[str, Any] | None = None) -> list[str]:
    """Markdown: each sensitive column's gaps (with main's beside them when `other` is given)
    and its groups' metrics with their intervals."""
    found: list[str] = []
    for column, result in fairness.items():
        found += [f"By {text(column)}:", ""]
        before = (other or {}).get(column, {}).get("gaps", {})
        for name, gap in result["gaps"].items():
            was = before.get(name)
            then = f" (main {float(was['value']):.4f})" if was else ""
            found.append(
                f"- {name.replace('_', ' ')}: {float(gap['value']):.4f}{then},"
                f" {text(gap['largest'])} vs {text(gap['smallest'])}"
            )
        groups = result["groups"]
        metrics = [key for key in next(iter(groups.values()), {}) if key != "rows"]
        found += ["", f"| {text(column)} | rows | {' | '.join(metrics)} |"]
        found += ["|---|---:|" + "---:|" * len(metrics)]
        for name, values in list(groups.items())[:50]:
            cells = " | ".join(
                f"{values[metric]['value']:.4f} ({values[metric]['low']:.4f} to"
                f" {values[metric]['high']:.4f})"
                for metric in metrics
            )
            found.append(f"| {text(name)} | {values['rows']:,} | {cells} |")
        found.append("")
    return found
