"""Stage 3: fit a scikit-learn Pipeline (preprocessing + estimator) on the training split."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

from .errors import ParamsError, first_line
from .files import MODEL, TRAINING_DATA, read_table, save_model
from .params import Schema, SplitParams, TrainParams


def split(
    frame: pd.DataFrame, params: SplitParams, target: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Deterministic train/test split; train and evaluate both call it."""
    from sklearn.model_selection import train_test_split

    stratify = frame[target] if params.stratify else None
    train_part, test_part = train_test_split(
        frame, test_size=params.test_size, random_state=params.seed, stratify=stratify
    )
    return train_part, test_part


def _reason(error: Exception) -> str:
    """scikit-learn's constraint message without its preamble: 'must be ... '."""
    text = str(error).splitlines()[0] if str(error) else type(error).__name__
    found = re.search(r"must be (.*?)\. Got .* instead", text)
    return f"must be {found.group(1)}" if found else text


def _estimator(params: TrainParams, categorical_mask: list[bool]) -> Any:
    """The configured estimator; each hyperparameter is checked against the estimator's own
    constraints first, so a bad value is one line naming its key."""
    from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
    from sklearn.linear_model import LogisticRegression

    classes = {
        "hist_gradient_boosting": HistGradientBoostingClassifier,
        "logistic_regression": LogisticRegression,
        "random_forest": RandomForestClassifier,
    }
    cls = classes[params.estimator]
    fixed = {"random_state": params.seed}
    if params.estimator == "hist_gradient_boosting":
        fixed["categorical_features"] = categorical_mask
    allowed = set(cls().get_params()) - set(fixed)
    unknown = sorted(set(params.hyperparameters) - allowed)
    if unknown:
        raise ParamsError(
            f"params.yaml: train.hyperparameters.{unknown[0]}: not a parameter of {cls.__name__}"
            f" (allowed: {', '.join(sorted(allowed))})"
        )
    for key, value in params.hyperparameters.items():
        try:
            cls(**{key: value})._validate_params()
        except (TypeError, ValueError) as error:
            raise ParamsError(
                f"params.yaml: train.hyperparameters.{key}: {_reason(error)} (got {value!r})"
            ) from None
    scoring = params.hyperparameters.get("scoring", "loss")
    if params.estimator == "hist_gradient_boosting" and scoring != "loss":
        # measured with skops 0.16: the early-stopping scorer the model keeps recurses on save
        raise ParamsError(
            "params.yaml: train.hyperparameters.scoring: only 'loss' (the default) can be saved"
            f" with skops (got {scoring!r})"
        )
    return cls(**params.hyperparameters, **fixed)


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
    mask = [True] * len(categorical) + [False] * len(numeric)
    return Pipeline([("preprocess", preprocess), ("estimator", _estimator(params, mask))])


def train(
    frame: pd.DataFrame, schema: Schema, split_params: SplitParams, params: TrainParams
) -> Any:
    """Fit the pipeline on the training part of `frame`."""
    train_part, _ = split(frame, split_params, schema.target)
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
