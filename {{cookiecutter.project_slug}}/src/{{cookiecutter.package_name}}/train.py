"""Stage 3: fit a scikit-learn Pipeline (preprocessing + estimator) on the training split."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from . import task
from .errors import DataError, ParamsError, first_line
from .files import MODEL, TRAINING_DATA, read_table, save_model
from .params import Schema, SplitParams, TrainParams


def build_pipeline(schema: Schema, params: TrainParams) -> Any:
    """Preprocessing suited to the estimator, then the estimator.

    Gradient boosting takes categories natively (ordinal codes), which stays fast
    on millions of rows; the others get one-hot categories and scaled numbers.
    """
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline, make_pipeline
    from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

    numeric, categorical = list(schema.numeric), list(schema.categorical)
    if params.estimator == "hist_gradient_boosting":
        categories = OrdinalEncoder(
            handle_unknown="use_encoded_value", unknown_value=np.nan, encoded_missing_value=np.nan
        )
        numbers: Any = "passthrough"
    else:
        categories = make_pipeline(
            SimpleImputer(strategy="most_frequent"), OneHotEncoder(handle_unknown="ignore")
        )
        numbers = make_pipeline(SimpleImputer(strategy="median"), StandardScaler())
    preprocess = ColumnTransformer(
        [("categorical", categories, categorical), ("numeric", numbers, numeric)],
        verbose_feature_names_out=False,
    )
    fixed = {
        "random_state": params.seed,
        "categorical_features": [True] * len(categorical) + [False] * len(numeric),
    }
    return Pipeline([("preprocess", preprocess), ("estimator", task.estimator(params, fixed))])


def train(
    frame: pd.DataFrame, schema: Schema, split_params: SplitParams, params: TrainParams
) -> Any:
    """Fit the pipeline on the training part of `frame`."""
    problem = task.split_problem(frame, split_params, schema)
    if problem:
        raise DataError(f"train: {problem}")
    try:
        train_part, _ = task.split(frame, split_params, schema)
    except ValueError as error:  # what split_problem did not foresee
        raise DataError(f"train: the split failed: {first_line(error)}") from None
    pipeline = build_pipeline(schema, params)
    try:
        pipeline.fit(train_part[schema.features], train_part[schema.target])
    except (TypeError, ValueError) as error:  # values that are valid alone but not together
        raise ParamsError(
            f"params.yaml: train.hyperparameters: {params.estimator} could not be fitted with"
            f" them on this data: {first_line(error)}"
        ) from None
    return pipeline


def main() -> None:
    from .params import load_params

    params = load_params()
    frame = read_table(TRAINING_DATA)
    model = train(frame, params.data.schema_, params.split, params.train)
    save_model(model, MODEL)
    print(f"train: {params.train.estimator} on {len(frame):,} rows -> {MODEL}")
