from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from {{ cookiecutter.package_name }} import plots, svg_chart
from {{ cookiecutter.package_name }}.errors import DataError

ROOT = Path(__file__).resolve().parents[1]
CONFUSION = {("0", "0"): 1950, ("0", "1"): 461, ("1", "0"): 615, ("1", "1"): 974}


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
    # each curve goes through every point of its file, (0, 0) at the bottom-left corner
    curves = re.findall(r'<polyline points="([^"]+)"', page)
    assert [len(curve.split()) for curve in curves] == [4, 2]
    corner = f"{svg_chart.LEFT:.1f},{svg_chart.HEIGHT - svg_chart.BOTTOM:.1f}"
    assert curves[0].split()[0] == corner
    # each cell of the confusion matrix shows its count
    for (actual, predicted), count in CONFUSION.items():
        assert f"actual {actual}, predicted {predicted}: {count:,}</title>" in page
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
    curves = re.findall(r'<polyline points="([^"]+)"', page)
    assert len(curves[0].split()) == 2  # the null and the infinite point are not drawn
    assert ">None<" not in page
