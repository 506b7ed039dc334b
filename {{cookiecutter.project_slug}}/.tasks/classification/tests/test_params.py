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
{%- if cookiecutter.fleet == "yes" %}
    assert params.fleet is not None and params.fleet.by in params.data.schema_.categorical
{%- else %}
    assert params.data.schema_.segment in params.data.schema_.categorical
{%- endif %}


def first_line(error: pytest.ExceptionInfo) -> str:
    return str(error.value).splitlines()[0]


def test_unknown_key_is_named(raw_params: dict) -> None:
    raw_params["train"]["learning_rate"] = 0.1
    with pytest.raises(ParamsError) as error:
        parse_params(raw_params)
    assert "train.learning_rate: unknown key (it takes estimator, hyperparameters, seed)" in (
        first_line(error)
    )


def test_an_unknown_key_lists_the_keys_of_its_section(raw_params: dict) -> None:
    column = next(iter(raw_params["data"]["schema"]["numeric"]))
    raw_params["data"]["schema"]["numeric"][column]["maximum"] = 1
    with pytest.raises(ParamsError) as error:
        parse_params(raw_params)
    assert f"numeric.{column}.maximum: unknown key (it takes max, min)" in first_line(error)


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


def test_whole_params_errors_are_short_and_name_the_key(raw_params: dict) -> None:
    raw_params["drift"]["critical_columns"] = ["nope"]
    with pytest.raises(ParamsError) as error:
        parse_params(raw_params)
    assert str(error.value).startswith(
        "params.yaml: drift.critical_columns: ['nope'] not among the feature columns"
    )
    assert len(str(error.value)) < 200  # not the whole params mapping


@pytest.mark.parametrize("path", ["data/train.parquet", "./models/x.csv", "reports/a.csv"])
def test_a_data_path_inside_a_pipeline_output_is_refused(raw_params: dict, path: str) -> None:
    raw_params["data"].update(source="file", path=path)
    with pytest.raises(ParamsError, match=f"data.path {path!r} is inside the pipeline's output"):
        parse_params(raw_params)


def test_file_source_needs_no_synthetic_keys_and_segment_is_optional(raw_params: dict) -> None:
    data = raw_params["data"]
    for key in ("window", "rows", "seed"):
        del data[key]
    data.update(source="file", path="data/raw/table.csv")
    data["schema"]["segment"] = None
    params = parse_params(raw_params)
    assert params.data.window == 0 and params.data.schema_.segment is None
    data["schema"]["segment"] = "branch"  # not a feature: kept for metrics only
    assert parse_params(raw_params).data.schema_.columns[-2:] == ["branch", "churned"]
    data["source"] = "synthetic"
    with pytest.raises(ParamsError, match=r"source 'synthetic' needs data\.rows and data\.seed"):
        parse_params(raw_params)


def test_duplicate_keys_are_refused_with_their_line(tmp_path: Path) -> None:
    path = tmp_path / "params.yaml"
    path.write_text("data:\n  window: 1\n  rows: 5\n  window: 2\n")
    with pytest.raises(ParamsError, match=r"not valid YAML at line 4: duplicate key 'window'"):
        load_params(path)


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


@pytest.mark.parametrize("path", ["/tmp/table.csv", "../table.csv", "data/../../table.csv"])
def test_a_data_path_outside_the_repository_is_refused(raw_params: dict, path: str) -> None:
    """DVC tracks no file outside the repository: a changed file would go unnoticed."""
    raw_params["data"].update(source="file", path=path)
    with pytest.raises(ParamsError) as error:
        parse_params(raw_params)
    assert str(error.value).startswith(
        f"params.yaml: data.path {path!r} is outside the repository, so DVC cannot track it"
    )
    assert "copy the file into data/raw/ (or `dvc import-url` it)" in str(error.value)


@pytest.mark.parametrize(
    ("path", "why"),
    [("data/raw/t.csv.gz", "it ends in '.gz'"), ("data/raw/t", "it has no suffix")],
)
def test_a_data_path_read_table_cannot_read_is_refused(
    raw_params: dict, path: str, why: str
) -> None:
    raw_params["data"].update(source="file", path=path)
    with pytest.raises(ParamsError) as error:
        parse_params(raw_params)
    assert str(error.value).startswith(
        f"params.yaml: data.path {path!r} is not a file the pipeline reads ({why})"
    )


@pytest.mark.parametrize("path", ["data/raw/t.CSV", "t.parquet", "./data/raw/t.pq"])
def test_a_readable_data_path_in_the_repository_is_kept(raw_params: dict, path: str) -> None:
    raw_params["data"].update(source="file", path=path)
    assert parse_params(raw_params).data.path == path
