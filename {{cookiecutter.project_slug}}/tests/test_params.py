from __future__ import annotations

import copy
from pathlib import Path

import pytest

from {{ cookiecutter.package_name }}.errors import ParamsError
from {{ cookiecutter.package_name }}.params import load_params, parse_params

from .conftest import ROOT


def test_shipped_params_are_valid() -> None:
    params = load_params(ROOT / "params.yaml")
    assert params.model.primary_metric == "{{ cookiecutter.primary_metric }}"
    assert params.data.schema_.segment in params.data.schema_.categorical


def first_line(error: pytest.ExceptionInfo) -> str:
    return str(error.value).splitlines()[0]


def test_unknown_key_is_named(raw_params: dict) -> None:
    raw_params["train"]["learning_rate"] = 0.1
    with pytest.raises(ParamsError) as error:
        parse_params(raw_params)
    assert "train.learning_rate: unknown key" in first_line(error)


def test_wrong_type_is_named(raw_params: dict) -> None:
    raw_params["data"]["rows"] = "many"
    with pytest.raises(ParamsError) as error:
        parse_params(raw_params)
    assert "data.rows" in first_line(error)
    assert "'many'" in first_line(error)


def test_missing_section_is_named(raw_params: dict) -> None:
    del raw_params["gate"]
    with pytest.raises(ParamsError, match=r"gate: missing"):
        parse_params(raw_params)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda raw: raw["model"].update(primary_metric="speed"), "primary_metric 'speed'"),
        (lambda raw: raw["data"]["schema"].update(segment="tenure_months"), "segment"),
        (lambda raw: raw["data"].update(source="file"), "data.path"),
        (lambda raw: raw["split"].update(test_size=1.5), "split.test_size"),
        (lambda raw: raw["drift"].update(critical_columns=["nope"]), "critical_columns"),
        (
            lambda raw: raw["data"]["schema"]["numeric"].update(tenure_months={"min": 5, "max": 1}),
            "tenure_months",
        ),
    ],
)
def test_inconsistent_params_are_refused(raw_params: dict, change, message: str) -> None:
    raw = copy.deepcopy(raw_params)
    change(raw)
    with pytest.raises(ParamsError, match=message):
        parse_params(raw)


def test_missing_and_malformed_files(tmp_path: Path) -> None:
    with pytest.raises(ParamsError, match="not found"):
        load_params(tmp_path / "params.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("data: [unclosed\n")
    with pytest.raises(ParamsError, match="not valid YAML"):
        load_params(broken)
    broken.write_text("- just\n- a list\n")
    with pytest.raises(ParamsError, match="expected a mapping"):
        load_params(broken)
