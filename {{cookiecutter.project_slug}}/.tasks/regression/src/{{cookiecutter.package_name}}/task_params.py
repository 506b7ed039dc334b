"""The regression task's sections of params.yaml: the model, the split and each
estimator's typed hyperparameters."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from .section import Section
from .task import METRICS


class ModelParams(Section):
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    description: str = ""
    primary_metric: str

    @model_validator(mode="after")
    def _known_metric(self) -> ModelParams:
        if self.primary_metric not in METRICS:
            raise ValueError(
                f"primary_metric {self.primary_metric!r} is not one of {sorted(METRICS)}"
            )
        return self


class SplitParams(Section):
    # The share of the distinct dates held out, newest first: nothing random to seed.
    test_size: float = Field(gt=0.0, lt=1.0)


# Each estimator's hyperparameters, typed: a wrong value is refused on load with its key named.
# Only the keys written in params.yaml reach scikit-learn; the rest keep its defaults.
class HistGradientBoosting(Section):
    loss: Literal["squared_error", "absolute_error", "poisson"] = "squared_error"
    learning_rate: float = Field(0.1, gt=0.0)
    max_iter: int = Field(100, ge=1)
    max_leaf_nodes: int | None = Field(31, ge=2)
    max_depth: int | None = Field(None, ge=1)
    min_samples_leaf: int = Field(20, ge=1)
    l2_regularization: float = Field(0.0, ge=0.0)
    max_features: float = Field(1.0, gt=0.0, le=1.0)
    max_bins: int = Field(255, ge=2, le=255)
    early_stopping: Literal["auto"] | bool = "auto"
    validation_fraction: float | None = Field(0.1, gt=0.0, lt=1.0)
    n_iter_no_change: int = Field(10, ge=1)
    tol: float = Field(1e-7, ge=0.0)


class Ridge(Section):
    alpha: float = Field(1.0, ge=0.0)
    fit_intercept: bool = True
    # Not lbfgs: scikit-learn takes it only with positive=True, which is not offered here.
    # svd, cholesky and saga fit no intercept on sparse input, which one-hot categories
    # often are: train then stops with scikit-learn's one-line reason.
    solver: Literal["auto", "svd", "cholesky", "lsqr", "sparse_cg", "sag", "saga"] = "auto"
    tol: float = Field(1e-4, ge=0.0)
    max_iter: int | None = Field(None, ge=1)


class RandomForest(Section):
    n_estimators: int = Field(100, ge=1)
    max_depth: int | None = Field(None, ge=1)
    min_samples_split: int = Field(2, ge=2)
    min_samples_leaf: int = Field(1, ge=1)
    max_features: Literal["sqrt", "log2"] | Annotated[float, Field(gt=0.0, le=1.0)] | None = 1.0
    max_leaf_nodes: int | None = Field(None, ge=2)
    bootstrap: bool = True
    # Not friedman_mse: scikit-learn 1.9 deprecates it for forests (it equals squared_error).
    criterion: Literal["squared_error", "absolute_error", "poisson"] = "squared_error"
    n_jobs: int | None = None


class _Train(Section):
    seed: int


class HistGradientBoostingTrain(_Train):
    estimator: Literal["hist_gradient_boosting"]
    hyperparameters: HistGradientBoosting = HistGradientBoosting()


class RidgeTrain(_Train):
    estimator: Literal["ridge"]
    hyperparameters: Ridge = Ridge()


class RandomForestTrain(_Train):
    estimator: Literal["random_forest"]
    hyperparameters: RandomForest = RandomForest()


TrainParams = Annotated[
    HistGradientBoostingTrain | RidgeTrain | RandomForestTrain,
    Field(discriminator="estimator"),
]
ESTIMATORS = {  # name in params.yaml -> its hyperparameters
    "hist_gradient_boosting": HistGradientBoosting,
    "ridge": Ridge,
    "random_forest": RandomForest,
}


def problems(params: Any) -> list[str]:
    """What this task needs of the whole of params.yaml beyond each section's own checks."""
    if params.data.schema_.time is None:
        return [
            "data.schema.time: regression splits by time; name the date column"
            " (use-data: --time COLUMN)"
        ]
    return []
