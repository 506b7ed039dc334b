from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from {{ cookiecutter.package_name }}.files import save_model, trusted_types
from {{ cookiecutter.package_name }}.ingest import ingest
from {{ cookiecutter.package_name }}.members import members, split
from {{ cookiecutter.package_name }}.params import Params, load_params, parse_params
from {{ cookiecutter.package_name }}.serve_models import Models
from {{ cookiecutter.package_name }}.task import RESPONSE_METHOD
from {{ cookiecutter.package_name }}.train import train

ROOT = Path(__file__).resolve().parents[1]
MODEL = "models/model.skops"
INPUT = "rows.csv"


@pytest.fixture
def raw_params() -> dict:
    """params.yaml as a plain mapping, with a small data set for speed."""
    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    raw["data"]["rows"] = 3000
{%- if cookiecutter.fleet == "yes" %}
    # The modules a fleet shares with a single model are tested as one model with segments.
    raw["data"]["schema"]["segment"] = raw.pop("fleet")["by"]
{%- endif %}
    return raw


@pytest.fixture
def params(raw_params: dict) -> Params:
    return parse_params(raw_params)


def with_train(raw_params: dict, estimator: str, hyperparameters: dict) -> Params:
    """Params with another estimator or hyperparameters, checked as params.yaml would be."""
    raw = {**raw_params, "train": {**raw_params["train"], "estimator": estimator}}
    raw["train"]["hyperparameters"] = hyperparameters
    return parse_params(raw)


@pytest.fixture
def frame(params: Params) -> pd.DataFrame:
    return ingest(params.data)


@pytest.fixture
def scoring_project(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    raw_params: dict,
    params: Params,
    frame: pd.DataFrame,
) -> Any:
    """A project folder with params.yaml, a small model in MODEL and 40 rows in INPUT to score
    (the newest rows of the data set); returns the model."""
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(raw_params, sort_keys=False))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    hyperparameters = {**raw_params["train"]["hyperparameters"], "max_iter": 20}
    quick = with_train(raw_params, params.train.estimator, hyperparameters).train
    model = train(frame, params.data.schema_, params.split, quick)
    save_model(model, Path(MODEL))
    frame.tail(40).to_csv(INPUT, index=False)
    return model


def save_as_mlflow_model(model: Any, path: str) -> None:
    """`model` saved the way promote logs it: skops format, the task's response method."""
    import mlflow.sklearn

    mlflow.sklearn.save_model(
        model,
        path,
        serialization_format="skops",
        skops_trusted_types=trusted_types(Path(MODEL)),
        pyfunc_predict_fn=RESPONSE_METHOD,
        pip_requirements=[],  # inferring them would load the model in a subprocess
    )


def agrees_with_scipy(found: Any, data: tuple, difference: Any) -> None:
    """`found`'s interval (a paired.Comparison) agrees with scipy.stats.bootstrap's percentile
    interval of the plain paired bootstrap of `difference` over `data` (the truth and both
    models' predictions), within a fifth of its width."""
    from scipy import stats

    reference = stats.bootstrap(
        data,
        difference,
        paired=True,
        vectorized=False,
        n_resamples=1000,
        method="percentile",
        random_state=0,
    ).confidence_interval
    width = reference.high - reference.low
    assert found.low == pytest.approx(reference.low, abs=width / 5)
    assert found.high == pytest.approx(reference.high, abs=width / 5)


FILES = "models/{member}.skops"  # each member's file; a single model's is models/model.skops


@pytest.fixture
def served(scoring_project: Any, frame: pd.DataFrame) -> Models:
    """The scoring project's model(s): in a fleet, one per member, on the member's rows."""
    params = load_params()
    parts = split(params, frame)
    for member in members(params):
        own = member.params
        fitted = train(parts[member.name], own.data.schema_, own.split, own.train)
        save_model(fitted, member.outputs.model)
    spec = FILES if getattr(params, "fleet", None) else "models/model.skops"
    models = Models(spec, params, "test")
    models.load()
    return models
