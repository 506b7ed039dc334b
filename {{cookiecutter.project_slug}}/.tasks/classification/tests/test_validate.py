from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from {{ cookiecutter.package_name }}.__main__ import main
from {{ cookiecutter.package_name }}.files import save_model
from {{ cookiecutter.package_name }}.ingest import conform, ingest
from {{ cookiecutter.package_name }}.params import Params, parse_params
from {{ cookiecutter.package_name }}.train import train
from {{ cookiecutter.package_name }}.validate import describe_failures, validate


def failures_of(report: dict) -> set[tuple[str, str | None]]:
    return {(failure["expectation"], failure["column"]) for failure in report["failures"]}


def test_good_data_passes(params: Params, frame: pd.DataFrame) -> None:
    report = validate(frame, params.data.schema_)
    assert report["success"], report["failures"]
    assert report["failures"] == []
    assert report["statistics"]["rows"] == len(frame)
    assert report["statistics"]["evaluated_expectations"] > 20


def test_bad_data_is_refused_with_every_problem_named(params: Params, frame: pd.DataFrame) -> None:
    schema = params.data.schema_
    bad = frame.copy()
    bad.loc[:9, "tenure_months"] = 500  # out of range
    bad["monthly_charges"] = bad["monthly_charges"].astype(str)  # numbers arrived as text
    bad["contract"] = bad["contract"].astype(str)
    bad.loc[:4, "contract"] = "lifetime"  # unknown category
    bad.loc[:2, "support_calls"] = np.nan  # missing values
    bad.loc[:1, "churned"] = 7  # not a label
    report = validate(conform(bad, schema), schema)
    assert not report["success"]
    assert {
        ("expect_column_values_to_be_between", "tenure_months"),
        ("expect_column_values_to_be_in_type_list", "monthly_charges"),
        ("expect_column_values_to_be_in_set", "contract"),
        ("expect_column_values_to_not_be_null", "support_calls"),
        ("expect_column_values_to_be_in_set", "churned"),
    } <= failures_of(report)
    message = describe_failures(report, schema)
    assert message.splitlines()[0].startswith("validation failed:")
    assert "tenure_months" in message and "lifetime" in message


def test_too_few_rows_is_refused(params: Params, frame: pd.DataFrame) -> None:
    report = validate(frame.head(10), params.data.schema_)
    assert ("expect_table_row_count_to_be_between", None) in failures_of(report)


@pytest.mark.parametrize("fraction", [0.0, 0.02])
def test_missing_values_within_allowance_pass(
    params: Params, frame: pd.DataFrame, fraction: float
) -> None:
    schema = params.data.schema_.model_copy(update={"max_null_fraction": 0.05})
    holey = frame.copy()
    holey.loc[: int(len(holey) * fraction), "data_usage_gb"] = np.nan
    assert validate(holey, schema)["success"]


def test_infinity_is_out_of_range_even_with_an_open_bound(
    params: Params, frame: pd.DataFrame
) -> None:
    schema = params.data.schema_
    assert schema.numeric["total_charges"].max is None
    bad = frame.copy()
    bad.loc[:1, "total_charges"] = np.inf
    assert ("expect_column_values_to_be_between", "total_charges") in failures_of(
        validate(bad, schema)
    )


def test_too_few_rows_says_the_minimum(params: Params, frame: pd.DataFrame) -> None:
    schema = params.data.schema_
    message = describe_failures(validate(frame.head(10), schema), schema)
    assert (
        f"observed 10 rows; data.schema.min_rows asks for at least {schema.min_rows:,}" in message
    )


def test_true_false_and_number_codes_are_text_categories_in_training_and_predict(
    raw_params: dict,
    frame: pd.DataFrame,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A true/false column (use-data makes it categorical) failed validation ("observed bool");
    a code column with blanks reads as 3.0. Both become text, the same way at predict."""
    rows = np.arange(len(frame))
    flagged = frame.assign(partner=rows % 3 == 0, store=(rows % 4).astype(float))
    flagged.loc[:9, "store"] = np.nan
    flagged.to_csv(tmp_path / "flags.csv", index=False)
    monkeypatch.chdir(tmp_path)  # data.path is relative to the repository
    raw_params["data"].update(source="file", path="flags.csv")
    raw_params["data"]["schema"]["categorical"].update(partner=[], store=[])
    params = parse_params(raw_params)
    read = ingest(params.data)
    assert list(read["partner"].cat.categories) == ["False", "True"]
    assert list(read["store"].cat.categories) == ["0", "1", "2", "3"]
    assert read["store"].isna().sum() == 10
    report = validate(read.assign(store=read["store"].fillna("0")), params.data.schema_)
    assert report["success"], report["failures"]

    (tmp_path / "params.yaml").write_text(yaml.safe_dump(raw_params, sort_keys=False))
    save_model(train(read, params.data.schema_, params.split, params.train), Path("model.skops"))
    flagged.head(40).to_csv("rows.csv", index=False)
    command = ["predict", "--model", "model.skops", "--input", "rows.csv", "--output", "out.csv"]
    assert main(command) == 0
    assert "warning" not in capsys.readouterr().err  # True/False are categories it has seen
