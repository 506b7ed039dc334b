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


@pytest.fixture
def frame(params: Params) -> pd.DataFrame:
    return ingest(params.data)
