from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from {{ cookiecutter.package_name }}.errors import DataError, ParamsError
from {{ cookiecutter.package_name }}.files import load_model, save_model
from {{ cookiecutter.package_name }}.params import Params
from {{ cookiecutter.package_name }}.task import split
from {{ cookiecutter.package_name }}.train import train

from .conftest import with_train


def test_split_is_deterministic_and_stratified(params: Params, frame: pd.DataFrame) -> None:
    target = params.data.schema_.target
    schema = params.data.schema_
    first, second = split(frame, params.split, schema), split(frame, params.split, schema)
    assert first[1].index.equals(second[1].index)
    assert len(first[1]) == pytest.approx(len(frame) * params.split.test_size, abs=1)
    assert first[1][target].mean() == pytest.approx(frame[target].mean(), abs=0.01)


@pytest.mark.parametrize(
    "estimator", ["hist_gradient_boosting", "logistic_regression", "random_forest"]
)
def test_every_estimator_learns_and_loads_with_its_own_types(
    raw_params: dict, params: Params, frame: pd.DataFrame, estimator: str, tmp_path: Path
) -> None:
    hyperparameters = raw_params["train"]["hyperparameters"]
    train_params = with_train(
        raw_params, estimator, hyperparameters if estimator == "hist_gradient_boosting" else {}
    ).train
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
    ("estimator", "hyperparameters", "first_line"),
    [
        (
            "hist_gradient_boosting",
            {"max_depht": 3},
            "train.hyperparameters.max_depht: unknown key for hist_gradient_boosting (it takes",
        ),
        (
            "hist_gradient_boosting",
            {"learning_rate": -1},
            "train.hyperparameters.learning_rate: Input should be greater than 0 (got -1)",
        ),
        (
            "hist_gradient_boosting",
            {"max_iter": "200"},
            "train.hyperparameters.max_iter: Input should be a valid integer (got '200')",
        ),
        (
            "hist_gradient_boosting",
            {"scoring": "roc_auc"},
            "train.hyperparameters.scoring: unknown key for hist_gradient_boosting",
        ),
        (
            "random_forest",
            {"max_features": 2.5},
            "train.hyperparameters.max_features: ",
        ),
        (
            "logistic_regression",
            {"solver": "adam"},
            "train.hyperparameters.solver: Input should be 'lbfgs', ",
        ),
    ],
)
def test_bad_hyperparameter_is_one_line_naming_its_key(
    raw_params: dict, estimator: str, hyperparameters: dict, first_line: str
) -> None:
    with pytest.raises(ParamsError) as error:
        with_train(raw_params, estimator, hyperparameters)
    message = str(error.value)
    assert "\n" not in message
    assert message.startswith(f"params.yaml: {first_line}")


def test_an_unknown_estimator_is_one_line(raw_params: dict) -> None:
    with pytest.raises(ParamsError) as error:
        with_train(raw_params, "xgboost", {})
    assert str(error.value) == (
        "params.yaml: train.estimator: Input should be 'hist_gradient_boosting',"
        " 'logistic_regression' or 'random_forest' (got 'xgboost')"
    )


def test_hyperparameters_that_clash_are_one_line(raw_params: dict, frame: pd.DataFrame) -> None:
    params = with_train(raw_params, "logistic_regression", {"solver": "liblinear", "l1_ratio": 0.5})
    with pytest.raises(ParamsError) as error:
        train(frame, params.data.schema_, params.split, params.train)
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


@pytest.mark.parametrize(
    ("ones", "message"),
    [
        (0, "train: the target 'churned' holds one class only (0: 200 rows); a classifier needs"),
        (1, "train: the target 'churned' has too few rows of class 1 (0: 199 rows, 1: 1 row);"),
        (4, "train: the target 'churned' has too few rows of class 1 (0: 196 rows, 1: 4 rows);"),
    ],
)
def test_a_target_the_split_cannot_use_is_one_line_before_fitting(
    params: Params, frame: pd.DataFrame, ones: int, message: str
) -> None:
    """One class, or fewer rows of a class than each side of the split needs (5 at
    test_size 0.2): scikit-learn's traceback ("The least populated classes in y have only 1
    member") becomes one line naming the column and the counts."""
    rows = frame.head(200).assign(churned=[1] * ones + [0] * (200 - ones))
    with pytest.raises(DataError) as error:
        train(rows, params.data.schema_, params.split, params.train)
    assert str(error.value).startswith(message)
    assert len(str(error.value).splitlines()) == 1


def test_five_rows_of_a_class_are_enough_for_both_sides(
    params: Params, frame: pd.DataFrame
) -> None:
    rows = frame.head(200).assign(churned=[1] * 5 + [0] * 195)
    train_part, test_part = split(rows, params.split, params.data.schema_)
    assert set(train_part["churned"]) == set(test_part["churned"]) == {0, 1}
