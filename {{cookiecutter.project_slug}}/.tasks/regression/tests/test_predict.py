"""predict: the local model file or an MLflow model adds a `forecast` column to the table."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from {{ cookiecutter.package_name }}.__main__ import main
from {{ cookiecutter.package_name }}.params import Params

from .conftest import INPUT, MODEL, save_as_mlflow_model

OUTPUT = "forecast.csv"


def predict(model: str = MODEL) -> int:
    return main(["predict", "--model", model, "--input", INPUT, "--output", OUTPUT])


def assert_forecast(model: Any, params: Params) -> None:
    given, scored = pd.read_csv(INPUT), pd.read_csv(OUTPUT)
    assert list(scored.columns) == [*given.columns, "forecast"]
    pd.testing.assert_frame_equal(scored[given.columns], given)
    features = given[params.data.schema_.features].astype(
        {column: object for column in params.data.schema_.categorical}
    )
    np.testing.assert_allclose(scored["forecast"], model.predict(features))
    assert scored["forecast"].dtype == float


def test_the_local_model_file_forecasts(
    scoring_project: Any, params: Params, capsys: pytest.CaptureFixture[str]
) -> None:
    assert predict() == 0
    out, err = capsys.readouterr()
    assert out == f"predict: 40 rows scored with {MODEL} -> {OUTPUT}\n"
    assert err == ""
    assert_forecast(scoring_project, params)


def test_rows_without_the_target_are_forecast(scoring_project: Any, params: Params) -> None:
    """What predict is for: the weeks to come, whose units are not known yet."""
    pd.read_csv(INPUT).drop(columns=[params.data.schema_.target]).to_csv(INPUT, index=False)
    assert predict() == 0
    assert_forecast(scoring_project, params)


def test_an_mlflow_model_forecasts_the_same(
    scoring_project: Any, params: Params, capsys: pytest.CaptureFixture[str]
) -> None:
    """A model folder as promote registers it loads from its model.skops, safely."""
    save_as_mlflow_model(scoring_project, "mlflow-model")
    assert predict("mlflow-model") == 0
    assert capsys.readouterr().out == f"predict: 40 rows scored with mlflow-model -> {OUTPUT}\n"
    assert_forecast(scoring_project, params)
