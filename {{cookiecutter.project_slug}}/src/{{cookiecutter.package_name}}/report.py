"""The pull-request report: the workspace compared with a base revision, for every member.

A single model's report (report_model, report_markdown) details its metrics, segments,
plots, importance and fairness; a fleet's (fleet_changes, fleet_report) sums its members up
in one table. Both compare base's model with the workspace's on the same rows and apply the
gate; `params_changed` is the parameters table of both.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from . import lock
from .files import write_text
from .revisions import resolve_base


def params_changed(base: str) -> dict[str, tuple[Any, Any]]:
    """Each param that differs between `base` and the workspace: (old, new), by name."""
    params_diff = lock.diff("params", base)
    changed = {
        name: (values.get("old"), values.get("new"))
        for changes in params_diff.values()
        for name, values in changes.items()
    }
    return dict(sorted(changed.items()))


def main(base: str, out: Path) -> None:
    from .members import FLEET
    from .params import load_params

    params = load_params()
    base = resolve_base(base)
    if FLEET:
        from .fleet_changes import report as fleet_report

        text = fleet_report(base, params)
    else:
        from .report_model import report as model_report

        text = model_report(base, params)
    write_text(text, out)
    print(f"report: {base} vs workspace -> {out} ({len(text):,} characters)")
