"""predict: the local model file or an MLflow model folder, never unpickled; text or infinity
in a numeric column is refused in one line; categories the schema or the model does not know
are scored, with a warning."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

from {{ cookiecutter.package_name }}.__main__ import main
from {{ cookiecutter.package_name }}.params import Params

from .conftest import INPUT, MODEL, save_as_mlflow_model

OUTPUT = "scored.csv"


def predict(model: str = MODEL) -> int:
    return main(["predict", "--model", model, "--input", INPUT, "--output", OUTPUT])


def snapshot(*paths: str | Path) -> dict[Path, bytes]:
    """The bytes of each file (every file under a folder)."""
    files = [
        p for path in map(Path, paths) for p in ([path] if path.is_file() else path.rglob("*"))
    ]
    return {path: path.read_bytes() for path in files if path.is_file()}


def edit_input(**cells: dict[int, Any]) -> None:
    """Set cells of the input file: column -> {row: value}."""
    frame = pd.read_csv(INPUT)
    for column, values in cells.items():
        frame[column] = frame[column].astype(object)
        for row, value in values.items():
            frame.loc[row, column] = value
    frame.to_csv(INPUT, index=False)


def expected_scores(model: Any, params: Params) -> np.ndarray:
    features = pd.read_csv(INPUT)[params.data.schema_.features]
    return model.predict_proba(
        features.astype({c: object for c in params.data.schema_.categorical})
    )[:, 1]


def assert_scored(model: Any, params: Params) -> None:
    given, scored = pd.read_csv(INPUT), pd.read_csv(OUTPUT)
    assert list(scored.columns) == [*given.columns, "score", "prediction"]
    pd.testing.assert_frame_equal(scored[given.columns], given)
    np.testing.assert_allclose(scored["score"], expected_scores(model, params))
    assert (scored["prediction"] == (scored["score"] >= params.model.threshold)).all()


def test_the_local_model_file_scores(
    scoring_project: Any, params: Params, capsys: pytest.CaptureFixture[str]
) -> None:
    before = snapshot(MODEL, INPUT)
    assert predict() == 0
    out, err = capsys.readouterr()
    assert out == f"predict: 40 rows scored with {MODEL} -> {OUTPUT}\n"
    assert err == ""
    assert_scored(scoring_project, params)
    assert snapshot(MODEL, INPUT) == before


def test_text_in_a_numeric_column_is_refused_in_one_line(
    scoring_project: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    edit_input(tenure_months={1: "abc", 4: "twelve", 7: "abc"}, support_calls={3: "x"})
    before = snapshot(MODEL, INPUT)
    assert predict() == 1
    assert capsys.readouterr().err.splitlines() == [
        f"error: predict: {INPUT}: tenure_months holds 3 non-numeric values, e.g. 'abc', 'twelve';"
        " support_calls holds 1 non-numeric value, e.g. 'x'"
    ]
    assert not Path(OUTPUT).exists()
    assert snapshot(MODEL, INPUT) == before


def test_unseen_categories_are_scored_with_one_warning_per_column(
    scoring_project: Any, params: Params, capsys: pytest.CaptureFixture[str]
) -> None:
    edit_input(region={0: "mars", 2: "mars", 5: "moon"}, contract={6: "weekly", 9: None})
    before = snapshot(MODEL, INPUT)
    assert predict() == 0
    out, err = capsys.readouterr()
    assert err.splitlines() == [
        "warning: predict: contract: 1 of 40 rows hold categories not declared in params.yaml"
        " or unseen in training ('weekly'); scored as unknown",
        "warning: predict: region: 3 of 40 rows hold categories not declared in params.yaml"
        " or unseen in training ('mars', 'moon'); scored as unknown",
    ]
    assert out.startswith("predict: 40 rows scored")
    assert_scored(scoring_project, params)
    assert snapshot(MODEL, INPUT) == before


def test_a_category_the_schema_allows_but_the_model_never_saw_is_warned_about(
    scoring_project: Any, raw_params: dict, capsys: pytest.CaptureFixture[str]
) -> None:
    raw_params["data"]["schema"]["categorical"]["region"] = []  # any value allowed
    Path("params.yaml").write_text(yaml.safe_dump(raw_params, sort_keys=False))
    edit_input(region={0: "mars"})
    assert predict() == 0
    assert capsys.readouterr().err.splitlines() == [
        "warning: predict: region: 1 of 40 rows hold categories not declared in params.yaml"
        " or unseen in training ('mars'); scored as unknown"
    ]


def test_a_model_file_that_would_run_code_is_refused(
    scoring_project: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    import skops.io

    skops.io.dump({"predict_proba": eval}, "models/crafted.skops")
    before = snapshot("models", INPUT)
    assert predict("models/crafted.skops") == 1
    first = capsys.readouterr().err.splitlines()[0]
    assert first.startswith("error: predict: models/crafted.skops: refusing to load types")
    assert first.endswith("['builtins.eval']")
    assert not Path(OUTPUT).exists()
    assert snapshot("models", INPUT) == before


def test_nullable_numbers_with_missing_values_are_scored(
    scoring_project: Any, params: Params
) -> None:
    """Parquet keeps pandas' nullable Int64: its pandas.NA reached the model, which refused it."""
    rows = pd.read_csv(INPUT).astype({"tenure_months": "Int64"})
    rows.loc[:2, "tenure_months"] = pd.NA
    rows.to_parquet("rows.parquet")
    command = ["predict", "--model", MODEL, "--input", "rows.parquet", "--output", "out.parquet"]
    assert main(command) == 0
    scored = pd.read_parquet("out.parquet")
    features = rows[params.data.schema_.features].astype(
        {"tenure_months": "float64", **{c: object for c in params.data.schema_.categorical}}
    )
    expected = scoring_project.predict_proba(features)[:, 1]
    np.testing.assert_allclose(scored["score"], expected)
    assert scored["tenure_months"].isna().sum() == 3  # the input's columns, as given


def test_a_missing_model_file_is_named(
    scoring_project: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    assert predict("models/other.skops") == 1
    assert capsys.readouterr().err.startswith("error: predict: models/other.skops: no model")
    assert not Path(OUTPUT).exists()


def test_an_mlflow_model_still_scores_and_warns(
    scoring_project: Any, params: Params, capsys: pytest.CaptureFixture[str]
) -> None:
    """A model folder as promote registers it loads from its model.skops, safely."""
    save_as_mlflow_model(scoring_project, "mlflow-model")
    edit_input(region={0: "mars"})
    before = snapshot("mlflow-model", MODEL, INPUT)
    assert predict("mlflow-model") == 0
    out, err = capsys.readouterr()
    assert err.splitlines() == [
        "warning: predict: region: 1 of 40 rows hold categories not declared in params.yaml"
        " or unseen in training ('mars'); scored as unknown"
    ]
    assert out == f"predict: 40 rows scored with mlflow-model -> {OUTPUT}\n"
    assert_scored(scoring_project, params)
    assert snapshot("mlflow-model", MODEL, INPUT) == before


def test_the_output_may_not_overwrite_the_input(
    scoring_project: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    before = snapshot(INPUT)
    assert main(["predict", "--model", MODEL, "--input", INPUT, "--output", INPUT]) == 1
    assert capsys.readouterr().err.startswith(f"error: predict: --output {INPUT} would")
    assert snapshot(INPUT) == before


def test_infinity_and_an_empty_file_are_refused_in_one_line(
    scoring_project: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    edit_input(total_charges={0: "inf", 3: "-inf"})
    assert predict() == 1
    assert capsys.readouterr().err.splitlines() == [
        f"error: predict: {INPUT}: total_charges holds 2 infinite value(s)"
    ]
    pd.read_csv(INPUT).head(0).to_csv(INPUT, index=False)
    assert predict() == 1
    assert capsys.readouterr().err.splitlines() == [f"error: predict: {INPUT} has no rows to score"]
    assert not Path(OUTPUT).exists()


def test_a_pickled_mlflow_model_is_refused_not_run(
    scoring_project: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    import mlflow.sklearn

    mlflow.sklearn.save_model(scoring_project, "pickled", serialization_format="cloudpickle")
    capsys.readouterr()  # MLflow's own warning about pickles
    assert predict("pickled") == 1
    assert capsys.readouterr().err.splitlines() == [
        "error: predict: --model pickled: use a .skops file, a folder holding model.skops,"
        " models:/<name>@<alias> or models:/<name>/<version>"
    ]
    assert not Path(OUTPUT).exists()
