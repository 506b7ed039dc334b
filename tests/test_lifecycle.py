"""Level 3: the generated project, for real, in this test environment.

test_fresh_environment.py is the one test that builds a bake's own environment.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from pathlib import Path

import pytest
import yaml

from .conftest import (
    PRIMARY_METRIC,
    TASKS,
    Trained,
    bake,
    branch_off,
    edit_yaml,
    files_mentioning,
    lower_learning_rate,
    run,
    shared_env,
)

pytestmark = pytest.mark.slow

OUTPUTS = [
    "data/train.parquet",
    "models/model.skops",
    "reports/validation.json",
    "reports/metrics.json",
    "reports/segments.json",
    "reports/importance.json",
    "reports/fairness.json",
    "reports/model_card.md",
    "reports/plots/roc.json",
    "reports/plots/precision_recall.json",
    "reports/plots/confusion.json",
    "dvc.lock",
]
PLOTS = {
    "classification": ["roc", "precision_recall", "confusion"],
    "regression": ["predicted_vs_actual", "residuals", "error_over_time"],
}


def outputs(task: str = "classification") -> list[str]:
    """OUTPUTS of a bake of `task`: each task writes its own plots."""
    plots = [f"reports/plots/{name}.json" for name in PLOTS[task]]
    return [name for name in OUTPUTS if not name.startswith("reports/plots/")] + plots


def md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def assert_pipeline_outputs(
    project: Path, primary_metric: str = "roc_auc", task: str = "classification"
) -> dict:
    for name in outputs(task):
        assert (project / name).stat().st_size > 0, name
    metrics = json.loads((project / "reports/metrics.json").read_text())
    if task == "regression":  # an error in units sold: within the gate the bake ships with
        gate = yaml.safe_load((project / "params.yaml").read_text())["gate"]
        assert 0 < metrics[primary_metric] < gate["max_value"]
        assert 0 <= metrics["segment_gap"] < gate["max_segment_gap"]
    else:
        assert (
            0.7 < metrics[primary_metric] <= 1.0
            if primary_metric == "roc_auc"
            else metrics[primary_metric] > 0
        )
        assert 0 <= metrics["segment_gap"] < 0.2
    assert json.loads((project / "reports/validation.json").read_text())["success"] is True
    return metrics


@pytest.fixture(scope="module")
def other_bake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    project = bake(
        tmp_path_factory.mktemp("acme"),
        project_name="Acme Fraud",
        primary_metric="average_precision",
    )
    run(["dvc", "repro"], project, env=shared_env(project))
    return project


# Per task, a bake under other names: its folder name and its primary metric.
NAMED = {
    "classification": ("acme-fraud", "average_precision"),
    "regression": ("store-sales", "mae"),
}


@pytest.fixture(scope="module")
def store_sales(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A regression bake under other names, after `dvc repro`."""
    project = bake(tmp_path_factory.mktemp("store"), task="regression", project_name="Store Sales")
    run(["dvc", "repro"], project, env=shared_env(project))
    return project


@pytest.fixture(scope="module", params=TASKS)
def named_bake(request: pytest.FixtureRequest) -> Path:
    """`other_bake` for classification, `store_sales` for regression."""
    return request.getfixturevalue(
        "other_bake" if request.param == "classification" else "store_sales"
    )


def test_pipeline_runs_under_other_names(named_bake: Path) -> None:
    task = {slug: task for task, (slug, _) in NAMED.items()}[named_bake.name]
    slug, metric = NAMED[task]
    metrics = assert_pipeline_outputs(named_bake, metric, task)
    assert next(iter(metrics)) == metric
    card = (named_bake / "reports/model_card.md").read_text()
    assert card.startswith(f"# Model card: {slug}")
    if task == "regression":  # neither the bake nor what its pipeline wrote
        assert files_mentioning(named_bake, "churn") == []
    env = shared_env(named_bake)
    again = run(["dvc", "repro"], named_bake, env=env).stdout
    assert "Running stage" not in again


def test_the_generated_tests_pass(store_sales: Path) -> None:
    """A classification bake's tests run in test_fresh_environment.py (`make test`), a fleet's
    in test_fleet.py."""
    run(
        ["python", "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        store_sales,
        env=shared_env(store_sales),
    )


def test_bad_data_stops_dvc_repro_and_keeps_the_previous_model(other_bake: Path) -> None:
    env = shared_env(other_bake)
    params_file = other_bake / "params.yaml"
    original = params_file.read_text()
    model, metrics = other_bake / "models/model.skops", other_bake / "reports/metrics.json"
    before = md5(model), metrics.read_text()

    def break_data_and_retrain(params: dict) -> None:
        params["data"]["schema"]["numeric"]["monthly_charges"]["max"] = 60  # data now breaks it
        lower_learning_rate(params)  # and train would re-run

    edit_yaml(params_file, break_data_and_retrain)
    try:
        done = run(["dvc", "repro"], other_bake, env=env, check=False)
        assert done.returncode != 0
        output = done.stdout + done.stderr
        assert "error: validation failed:" in output
        assert "expect_column_values_to_be_between on monthly_charges" in output
        assert "Running stage 'train'" not in output
        assert (md5(model), metrics.read_text()) == before
        validation = json.loads((other_bake / "reports/validation.json").read_text())
        assert validation["success"] is False
        assert validation["failures"][0]["column"] == "monthly_charges"
    finally:
        params_file.write_text(original)
    restored = run(["dvc", "repro"], other_bake, env=env).stdout
    assert "Running stage 'train'" not in restored  # the previous model is still the right one
    assert md5(model) == before[0]


def readme_block(project: Path, section: str, index: int = 0) -> str:
    """The `index`th (from 0) ```bash block under the README heading `section`."""
    text = (project / "README.md").read_text()
    body = text.split(f"\n## {section}\n", 1)[1].split("\n## ", 1)[0]
    return body.split("```bash\n")[1 + index].split("```", 1)[0]


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_use_your_own_data_as_the_readme_says(tmp_path: Path, suffix: str) -> None:
    """The README's "Use your own data" commands, as written, with a table that ships with
    scikit-learn instead of the README's example file; then a new version of the file."""
    project = bake(tmp_path, project_name="Own Data")
    env = shared_env(project)
    table = tmp_path / f"cancer{suffix}"

    def write(rows: int, path: Path) -> None:
        from sklearn.datasets import load_breast_cancer

        frame = load_breast_cancer(as_frame=True).frame.head(rows)
        frame.to_csv(path, index=False) if suffix == ".csv" else frame.to_parquet(path)

    write(569, table)
    commands = (
        readme_block(project, "Use your own data")
        .replace("~/Downloads/customers.csv", str(table))
        .replace("customers.csv", f"cancer{suffix}")
        .replace("--target churned", "--target target")
    )
    assert "source .venv/bin/activate" not in commands  # the test environment is active
    output = run(["bash", "-euo", "pipefail", "-c", commands], project, env=env).stdout
    assert "use-data: 569 rows; 30 numeric and 0 categorical features" in output
    assert "ingest: 569 rows x 31 columns from file" in output
    metrics = json.loads((project / "reports/metrics.json").read_text())
    assert metrics["roc_auc"] > 0.95 and "segment_gap" not in metrics
    assert "no metrics per segment" in (project / "reports/model_card.md").read_text()
    assert run(["git", "status", "--porcelain"], project).stdout == ""  # all committed

    if suffix == ".parquet":  # reads either; what follows holds for either, checked once
        return
    # A new version of the file re-runs the pipeline from ingest.
    write(500, project / f"data/raw/cancer{suffix}")
    output = run(["dvc", "repro"], project, env=env).stdout
    assert "ingest: 500 rows" in output and "Running stage 'train'" in output


def test_a_regression_bake_uses_own_data_as_the_readme_says(tmp_path: Path) -> None:
    """The regression README's "Use your own data" commands as written (with --time), on the
    table its try-it block writes with the bake's own synthetic source."""
    project = bake(tmp_path, task="regression", project_name="Own Sales")
    env = shared_env(project)
    table = tmp_path / "sales.csv"
    make_table, use_it = (readme_block(project, "Use your own data", i) for i in (1, 0))
    write_table = make_table.splitlines()[0].replace("data/raw/sales.csv", str(table))
    run(["bash", "-euo", "pipefail", "-c", write_table], project, env=env)
    commands = use_it.replace("~/Downloads/sales.csv", str(table))
    output = run(["bash", "-euo", "pipefail", "-c", commands], project, env=env).stdout
    assert (
        "use-data: 5,000 rows; 4 numeric and 2 categorical features, target 'units_sold'" in output
    )
    assert "ingest: 5,000 rows x 8 columns from file" in output
    params = yaml.safe_load((project / "params.yaml").read_text())["data"]["schema"]
    assert (params["time"], params["segment"]) == ("week", None)
    metrics = json.loads((project / "reports/metrics.json").read_text())
    assert set(metrics) >= {"mae", "rmse", "wape", "r2"} and "segment_gap" not in metrics
    assert run(["git", "status", "--porcelain"], project).stdout == ""  # all committed


def test_bad_params_stop_dvc_repro_with_the_key_named(other_bake: Path) -> None:
    params_file = other_bake / "params.yaml"
    original = params_file.read_text()
    params_file.write_text(original.replace("  rows: 20000", "  rows: lots\n  colour: blue"))
    try:
        done = run(["dvc", "repro"], other_bake, env=shared_env(other_bake), check=False)
    finally:
        params_file.write_text(original)
    assert done.returncode != 0
    assert "error: params.yaml: data.rows: Input should be a valid integer" in done.stderr
    assert "data.colour: unknown key" in done.stderr


def test_make_plots_draws_offline_and_make_mlflow_ui_points_at_the_runs(
    other_bake: Path, tmp_path: Path
) -> None:
    """Issue: `make plots` wrote a page that is blank offline (its chart library came from a
    CDN); `make mlflow-ui` opened MLflow 3's GenAI home page, not the training runs."""
    env = shared_env(other_bake)
    stamp = other_bake / ".venv/.installed"  # make runs the targets without its own setup
    stamp.parent.mkdir()
    stamp.touch()
    fake = tmp_path / "bin"  # an `mlflow` that shows how it was called instead of serving
    fake.mkdir()
    (fake / "mlflow").write_text('#!/bin/sh\necho "mlflow $*"\n')
    (fake / "mlflow").chmod(0o755)
    try:
        run(["make", "plots"], other_bake, env=env)
        page = (other_bake / "dvc_plots/index.html").read_text()
        ui = run(
            ["make", "mlflow-ui", "MLFLOW_PORT=5999"],
            other_bake,
            env={**env, "PATH": f"{fake}{os.pathsep}{env['PATH']}"},
        ).stdout
    finally:
        shutil.rmtree(other_bake / ".venv")

    assert not re.search(r"https?:|<script|<link", page)
    assert page.count("<svg") == 3
    for label in ("fpr", "tpr", "recall", "precision", "predicted", "actual"):  # axis titles
        assert f">{label}</text>" in page, label
    assert len(re.findall(r'<path d="M[^"]+"[^>]*style="fill: none; stroke: #0969da', page)) == 2
    for cell in json.loads((other_bake / "reports/plots/confusion.json").read_text()):
        assert f">{cell['count']:,}</text>" in page

    import mlflow

    name = yaml.safe_load((other_bake / "params.yaml").read_text())["model"]["name"]
    experiment = mlflow.MlflowClient(env["MLFLOW_TRACKING_URI"]).get_experiment_by_name(name)
    base, view = "http://127.0.0.1:5999/#/", "?workflowType=machine_learning"
    assert f"{base}experiments/{experiment.experiment_id}/runs{view}" in ui
    assert f"{base}models{view}" in ui
    assert f"mlflow ui --backend-store-uri {env['MLFLOW_TRACKING_URI']} --host 127.0.0.1" in ui
    # those routes and the view switch exist in the MLflow UI that is installed
    scripts = Path(mlflow.__file__).parent / "server/js/build/static/js"
    bundle = "".join(path.read_text(errors="ignore") for path in scripts.glob("main.*.js"))
    for text in ('"/experiments/:experimentId/runs"', '"/models"', '"workflowType"'):
        assert text in bundle, text
    assert '"machine_learning"' in bundle


@pytest.mark.parametrize("task", TASKS)
def test_report_compares_a_branch_with_main(
    trained_bake: Trained, tmp_path: Path, task: str
) -> None:
    """A real history: main with a trained model, a branch that changes a hyperparameter."""
    project = trained_bake(task, tmp_path)
    package = project.name.replace("-", "_")
    env = shared_env(project)
    metric = PRIMARY_METRIC[task]
    branch_off(project, "lower-learning-rate")
    run(["dvc", "repro"], project, env=env)

    done = run(
        ["python", "-m", package, "report", "--base", "main", "--out", "out.md"],
        project,
        env=env,
    )
    assert done.stdout.startswith("report: main vs workspace")
    text = (project / "out.md").read_text()
    old = json.loads(run(["git", "show", "main:reports/metrics.json"], project).stdout)[metric]
    new = json.loads((project / "reports/metrics.json").read_text())[metric]
    assert old != new
    assert f"| **{metric}** | {old:.4f} | {new:.4f} |" in text
    # the verdict and the gate know which way the task's metric is better
    direction, bound = ("lower", "maximum") if task == "regression" else ("higher", "minimum")
    # the same data: main's model scores on the branch's test rows what main recorded
    shown = f"`{metric}` {old:.4f} (main's model) → {new:.4f} (this PR), "
    [verdict] = [line for line in text.splitlines() if shown in line]
    assert verdict.startswith("**") and " on the same 4,000 test rows: " in verdict
    assert verdict.endswith(f"; {direction} is better")
    assert "### On the same rows" in text and "The training data changed" not in text
    [gate] = [line for line in text.splitlines() if line.startswith("Merge gate against main:")]
    assert f"{metric} {new:.4f} meets the {bound} " in gate
    assert "| `train.hyperparameters.learning_rate` | `0.1` | `0.05` |" in text
    assert "Training data unchanged" in text and "expectations met" in text
    assert text.count("```mermaid") == 2

    wrong = run(
        ["python", "-m", package, "report", "--base", "no-such-branch"],
        project,
        env=env,
        check=False,
    )
    assert wrong.returncode == 1
    assert wrong.stderr.startswith("error: report: 'no-such-branch' is not a revision")
