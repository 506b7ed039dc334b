from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from {{ cookiecutter.package_name }}.errors import DataError, ParamsError
from {{ cookiecutter.package_name }}.files import load_model, save_model
from {{ cookiecutter.package_name }}.params import Params
from {{ cookiecutter.package_name }}.train import split, train


def test_split_is_deterministic_and_stratified(params: Params, frame: pd.DataFrame) -> None:
    target = params.data.schema_.target
    first, second = split(frame, params.split, target), split(frame, params.split, target)
    assert first[1].index.equals(second[1].index)
    assert len(first[1]) == pytest.approx(len(frame) * params.split.test_size, abs=1)
    assert first[1][target].mean() == pytest.approx(frame[target].mean(), abs=0.01)


@pytest.mark.parametrize(
    "estimator", ["hist_gradient_boosting", "logistic_regression", "random_forest"]
)
def test_every_estimator_learns_and_loads_with_its_own_types(
    params: Params, frame: pd.DataFrame, estimator: str, tmp_path: Path
) -> None:
    hyperparameters = params.train.hyperparameters if estimator == "hist_gradient_boosting" else {}
    train_params = params.train.model_copy(
        update={"estimator": estimator, "hyperparameters": hyperparameters}
    )
    model = train(frame, params.data.schema_, params.split, train_params)
    scores = model.predict_proba(frame[params.data.schema_.features])[:, 1]
    assert scores.shape == (len(frame),)
    churned = frame[params.data.schema_.target].to_numpy() == 1
    assert scores[churned].mean() > scores[~churned].mean() + 0.1
    save_model(model, tmp_path / "model.skops")
    loaded = load_model(tmp_path / "model.skops", estimator)  # its exact list of types suffices
    features = frame[params.data.schema_.features]
    np.testing.assert_allclose(loaded.predict_proba(features), model.predict_proba(features))


@pytest.mark.parametrize(
    ("hyperparameters", "first_line"),
    [
        ({"max_depht": 3}, "train.hyperparameters.max_depht: not a parameter of"),
        (
            {"learning_rate": -1},
            "train.hyperparameters.learning_rate: must be a float in the range (0.0, inf) (got -1)",
        ),
        (
            {"max_iter": "200"},
            "train.hyperparameters.max_iter: must be an int in the range [1, inf) (got '200')",
        ),
        ({"learning_rate": "fast"}, "train.hyperparameters.learning_rate: must be a float"),
        ({"scoring": "roc_auc"}, "train.hyperparameters.scoring: only 'loss' (the default)"),
    ],
)
def test_bad_hyperparameter_is_one_line_naming_its_key(
    params: Params, frame: pd.DataFrame, hyperparameters: dict, first_line: str
) -> None:
    train_params = params.train.model_copy(update={"hyperparameters": hyperparameters})
    with pytest.raises(ParamsError) as error:
        train(frame, params.data.schema_, params.split, train_params)
    message = str(error.value)
    assert "\n" not in message
    assert message.startswith(f"params.yaml: {first_line}")


def test_hyperparameters_that_clash_are_one_line(params: Params, frame: pd.DataFrame) -> None:
    train_params = params.train.model_copy(
        update={"estimator": "logistic_regression", "hyperparameters": {"penalty": "elasticnet"}}
    )
    with pytest.raises(ParamsError) as error:
        train(frame, params.data.schema_, params.split, train_params)
    assert str(error.value).startswith(
        "params.yaml: train.hyperparameters: logistic_regression could not be fitted with them"
    )
    assert "\n" not in str(error.value)


def test_saved_model_round_trips(params: Params, frame: pd.DataFrame, tmp_path: Path) -> None:
    model = train(frame, params.data.schema_, params.split, params.train)
    path = tmp_path / "model.skops"
    save_model(model, path)
    loaded = load_model(path)
    features = frame[params.data.schema_.features]
    np.testing.assert_allclose(loaded.predict_proba(features), model.predict_proba(features))


def test_a_model_file_that_would_run_code_is_refused(tmp_path: Path) -> None:
    import skops.io

    path = tmp_path / "model.skops"
    skops.io.dump({"predict_proba": eval}, path)  # a crafted file: names builtins.eval
    assert "builtins.eval" in skops.io.get_untrusted_types(file=path)
    with pytest.raises(DataError, match=r"refusing to load types .* \['builtins.eval'\]$"):
        load_model(path)
    with pytest.raises(DataError, match="a random_forest model never holds"):
        load_model(path, "random_forest")
