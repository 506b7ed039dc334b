"""Stage 3: fit a scikit-learn Pipeline (preprocessing + estimator) on the training split of
each member's rows (the single model's: the whole snapshot)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from . import task
from .errors import DataError, ParamsError, PipelineError, first_line
from .files import read_table, save_model
from .params import Schema, SplitParams, TrainParams
from .paths import TRAINING_DATA

if TYPE_CHECKING:
    from .members import Member


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


def fit(member: Member, rows: pd.DataFrame) -> Any:
    """The member's model, fitted on its rows; an error names the member of a fleet."""
    own = member.params
    try:
        return train(rows, own.data.schema_, own.split, own.train)
    except PipelineError as error:
        raise type(error)(f"{member.name}: {error}" if member.name else str(error)) from None


def main() -> None:
    """Fit every member's model (a fleet's `members` stages do it per shard)."""
    from .members import members, refuse, rows, split
    from .params import load_params

    params = load_params()
    frame = read_table(TRAINING_DATA)
    group, parts = members(params), split(params, frame)
    refuse(params, group, parts, frame, "train", "no model was written")
    for member in group:
        own = rows(parts, frame, member)
        save_model(fit(member, own), member.outputs.model)
        estimator = member.params.train.estimator
        print(f"train: {estimator} on {len(own):,} rows -> {member.outputs.model}")
