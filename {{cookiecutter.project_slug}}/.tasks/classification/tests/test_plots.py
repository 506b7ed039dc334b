from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from {{ cookiecutter.package_name }} import plots
from {{ cookiecutter.package_name }}.errors import DataError
from {{ cookiecutter.package_name }}.svg_chart import COLORS

ROOT = Path(__file__).resolve().parents[1]
CONFUSION = {("0", "0"): 1950, ("0", "1"): 461, ("1", "0"): 615, ("1", "1"): 974}
CURVE = re.compile(rf'<path d="([^"]+)"[^>]*style="fill: none; stroke: {COLORS[0]}')


def points(page: str) -> list[int]:
    """How many points each line drawn in the first color goes through."""
    return [len(re.findall(r"[ML] ", curve)) for curve in CURVE.findall(page)]


def workspace(folder: Path) -> None:
    """This project's plot definitions, with small plot files of the shapes evaluate writes."""
    pipeline = yaml.safe_load((ROOT / "dvc.yaml").read_text())
    (folder / "dvc.yaml").write_text(yaml.safe_dump({"plots": pipeline["plots"]}))
    files = {
        "roc.json": [{"fpr": f, "tpr": t} for f, t in ((0, 0), (0.1, 0.5), (0.4, 0.8), (1, 1))],
        "precision_recall.json": [{"recall": r, "precision": p} for r, p in ((0, 1), (1, 0.4))],
        "confusion.json": [
            {"actual": a, "predicted": p, "count": n} for (a, p), n in CONFUSION.items()
        ],
    }
    (folder / "reports/plots").mkdir(parents=True)
    for name, rows in files.items():
        (folder / "reports/plots" / name).write_text(json.dumps(rows))


def test_plots_page_draws_every_plot_with_nothing_to_fetch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`make plots` used to write DVC's page, which loads its chart library from a CDN."""
    workspace(tmp_path)
    monkeypatch.chdir(tmp_path)
    plots.main()
    page = (tmp_path / plots.PAGE).read_text(encoding="utf-8")
    assert not re.search(r"https?:|//[a-z]", page)  # no script, style or image from anywhere
    assert "<script" not in page and "<link" not in page
    assert page.count("<svg") == 3
    for title in ("ROC", "Precision-recall", "Confusion matrix"):
        assert f"<h2>{title}</h2>" in page
    # real axes: each named by its field, with tick labels
    for label in ("fpr", "tpr", "recall", "precision", "predicted", "actual", "0.0", "1.0"):
        assert f">{label}</text>" in page, label
    assert points(page) == [4, 2]  # each curve goes through every point of its file
    for count in CONFUSION.values():  # each cell of the confusion matrix shows its count
        assert f">{count:,}</text>" in page


def test_plots_without_the_plot_files_say_to_run_the_pipeline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    workspace(tmp_path)
    (tmp_path / "reports/plots/roc.json").unlink()
    monkeypatch.chdir(tmp_path)
    with pytest.raises(DataError, match=r"roc\.json: no such plot file; run `dvc repro`"):
        plots.main()


def test_gaps_in_a_curve_are_left_out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    workspace(tmp_path)
    roc = [{"fpr": 0, "tpr": 0}, {"fpr": 0.5, "tpr": None}, {"fpr": 1, "tpr": float("inf")}]
    (tmp_path / "reports/plots/roc.json").write_text(json.dumps([*roc, {"fpr": 1, "tpr": 1}]))
    monkeypatch.chdir(tmp_path)
    plots.main()
    page = (tmp_path / plots.PAGE).read_text(encoding="utf-8")
    assert points(page)[0] == 2  # the null and the infinite point are not drawn
    assert ">None<" not in page


HOSTILE = "</svg><script>alert(1)</script>"
LONG = "segment " + "x" * 60


def test_every_template_gets_axes_a_legend_dates_and_inert_labels(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Labels come from data: no markup or math comes alive and a long one is cut; a date axis
    names the year; two series get a legend; bars show their values; the same files draw the
    same page, byte for byte."""
    over_time = {"template": "simple", "x": "week", "y": {"a.json": "mae", "b.json": "mae"}}
    scatter = {"template": "scatter", "x": "actual", "y": {"a.json": "predicted"}}
    bars = {"template": "bar_horizontal", "x": "mean_error", "y": {"s.csv": "segment"}}
    pipeline = {"plots": [{"Over time": over_time}, {"Scatter": scatter}, {"Bars": bars}]}
    (tmp_path / "dvc.yaml").write_text(yaml.safe_dump(pipeline))
    weeks = ["2024-12-30", "2025-01-13", "2025-02-10", "2025-03-10"]
    rows = [{"week": w, "mae": i, "actual": i, "predicted": i + 1} for i, w in enumerate(weeks)]
    (tmp_path / "a.json").write_text(json.dumps(rows))
    (tmp_path / "b.json").write_text(json.dumps([{"week": w, "mae": 2} for w in weeks]))
    segments = [HOSTILE, "$x^2$", LONG, "north"]
    lines = [f"{name},{-0.5 * i}" for i, name in enumerate(segments)]
    (tmp_path / "s.csv").write_text("\n".join(["segment,mean_error", *lines]))
    monkeypatch.chdir(tmp_path)
    plots.main()
    page = (tmp_path / plots.PAGE).read_text(encoding="utf-8")
    assert page.count("<svg") == 3
    assert "<script" not in page and ">&lt;/svg&gt;&lt;script&gt;alert(1)&lt;/script&gt;<" in page
    assert ">$x^2$</text>" in page  # as written, not drawn as math
    assert f">{LONG[:39]}…</text>" in page and LONG not in page
    assert ">Feb</text>" in page and re.search(r">[^<]*2025[^<]*</text>", page)  # and the year
    assert ">a.json: mae</text>" in page and ">b.json: mae</text>" in page  # the legend
    for label in ("week", "actual", "predicted", "mean_error", "segment", "-1.5"):
        assert f">{label}</text>" in page, label
    plots.main()
    assert (tmp_path / plots.PAGE).read_text(encoding="utf-8") == page


def test_importing_the_pages_loads_no_matplotlib() -> None:
    """Only drawing does: the commands that draw nothing do not pay for it."""
    modules = "{{ cookiecutter.package_name }}.plots, {{ cookiecutter.package_name }}.drift_report"
    code = f"import sys, {modules}; print([m for m in sys.modules if m.startswith('matplotlib')])"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout == "[]\n"
