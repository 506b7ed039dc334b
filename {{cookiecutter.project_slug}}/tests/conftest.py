from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from {{ cookiecutter.package_name }}.ingest import ingest
from {{ cookiecutter.package_name }}.params import Params, parse_params

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def raw_params() -> dict:
    """params.yaml as a plain mapping, with a small data set for speed."""
    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    raw["data"]["rows"] = 3000
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
