from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from {{ cookiecutter.package_name }}.errors import DataError
from {{ cookiecutter.package_name }}.ingest import ingest, not_dates
from {{ cookiecutter.package_name }}.ingest import main as ingest_main
from {{ cookiecutter.package_name }}.params import Params
from {{ cookiecutter.package_name }}.synthetic import generate
from {{ cookiecutter.package_name }}.train import train


def test_synthetic_source_is_seeded_and_shaped(params: Params, frame: pd.DataFrame) -> None:
    schema = params.data.schema_
    assert list(frame.columns) == schema.columns
    assert len(frame) == params.data.rows
    pd.testing.assert_frame_equal(frame, ingest(params.data))
    for column in schema.categorical:
        assert isinstance(frame[column].dtype, pd.CategoricalDtype)
    assert set(frame[schema.target].unique()) == {0, 1}
    assert 0.15 < frame[schema.target].mean() < 0.6


def test_later_windows_drift() -> None:
    reference, later = generate(20_000, window=0, seed=1), generate(20_000, window=4, seed=1)
    assert later["monthly_charges"].mean() > reference["monthly_charges"].mean() + 5
    assert later["support_calls"].mean() > reference["support_calls"].mean() + 0.5


def test_file_source_reads_csv_and_parquet(
    params: Params, frame: pd.DataFrame, tmp_path: Path
) -> None:
    for name in ("users.csv", "users.parquet"):
        path = tmp_path / name
        extra = frame.assign(customer_id=range(len(frame)))
        extra.to_csv(path, index=False) if name.endswith(".csv") else extra.to_parquet(path)
        data = params.data.model_copy(update={"source": "file", "path": str(path)})
        loaded = ingest(data)
        assert list(loaded.columns) == params.data.schema_.columns
        assert isinstance(loaded["contract"].dtype, pd.CategoricalDtype)
        assert loaded["monthly_charges"].sum() == pytest.approx(frame["monthly_charges"].sum())


def test_file_source_names_missing_columns(
    params: Params, frame: pd.DataFrame, tmp_path: Path
) -> None:
    path = tmp_path / "short.csv"
    frame.drop(columns=["region"]).to_csv(path, index=False)
    data = params.data.model_copy(update={"source": "file", "path": str(path)})
    with pytest.raises(DataError, match=r"missing columns \['region'\]"):
        ingest(data)


def test_file_source_refuses_unknown_types_and_missing_files(
    params: Params, tmp_path: Path
) -> None:
    for name, message in (("data.xlsx", "unsupported file type"), ("absent.csv", "not found")):
        data = params.data.model_copy(update={"source": "file", "path": str(tmp_path / name)})
        with pytest.raises(DataError, match=message):
            ingest(data)


def _file_source(params: Params, path: Path, **update) -> object:
    return params.data.model_copy(update={"source": "file", "path": str(path), **update})


def test_duplicate_column_names_are_refused(
    params: Params, frame: pd.DataFrame, tmp_path: Path
) -> None:
    path = tmp_path / "twice.csv"
    twice = pd.concat(
        [frame, frame[["tenure_months"]]], axis=1
    )  # pandas would read tenure_months.1
    twice.to_csv(path, index=False)
    with pytest.raises(DataError, match=r"duplicate column names \['tenure_months'\]"):
        ingest(_file_source(params, path))


def test_infinite_numbers_are_refused_naming_the_column(
    params: Params, frame: pd.DataFrame, tmp_path: Path
) -> None:
    path = tmp_path / "inf.csv"
    broken = frame.copy()
    broken.loc[:2, "total_charges"] = [float("inf"), float("-inf"), float("inf")]
    broken.to_csv(path, index=False)
    with pytest.raises(DataError, match=r"column 'total_charges' holds 3 infinite value"):
        ingest(_file_source(params, path))


def test_nullable_numbers_from_parquet_become_floats_that_train(
    params: Params, frame: pd.DataFrame, tmp_path: Path
) -> None:
    """Parquet keeps pandas' nullable Int64 and Float64; with a missing value, scikit-learn
    refused the column at train (pandas.NA), and the type check refused Int64."""
    path = tmp_path / "nullable.parquet"
    nullable = frame.astype({"tenure_months": "Int64", "total_charges": "Float64"})
    nullable.loc[:4, "tenure_months"] = pd.NA
    nullable.to_parquet(path)
    read = ingest(_file_source(params, path))
    assert read["tenure_months"].dtype == "float64" and read["total_charges"].dtype == "float64"
    assert read["tenure_months"].isna().sum() == 5
    pd.testing.assert_series_equal(read["total_charges"], frame["total_charges"])
    model = train(read, params.data.schema_, params.split, params.train)
    assert model.predict_proba(read[params.data.schema_.features].head()).shape == (5, 2)


def test_the_csv_delimiter_is_guessed_or_given(
    params: Params, frame: pd.DataFrame, tmp_path: Path
) -> None:
    path = tmp_path / "semicolons.csv"
    frame.to_csv(path, index=False, sep=";")
    assert len(ingest(_file_source(params, path))) == len(frame)
    assert len(ingest(_file_source(params, path, sep=";"))) == len(frame)
    with pytest.raises(DataError, match=r"read with separator ','; set data.sep"):
        ingest(_file_source(params, path, sep=","))


def test_a_declared_column_the_data_lacks_names_its_key(raw_params: dict) -> None:
    from {{ cookiecutter.package_name }}.params import parse_params

    raw_params["data"]["schema"]["segment"] = "branch"
    params = parse_params(raw_params)
    with pytest.raises(DataError, match=r"^ingest: the data lacks 'branch' \(data.schema.segment"):
        ingest(params.data)


@pytest.mark.parametrize(
    ("values", "problem"),
    [
        ([1.5, 2.0, None], "holds numbers, not dates, e.g. 1.5, 2.0"),
        ([20250106, 20250113], "holds numbers, not dates, e.g. 20250106, 20250113"),
        (["2025-01-06", "soon", "later"], "holds 2 value(s) that are not dates, e.g. 'soon', "),
    ],
)
def test_a_time_column_of_numbers_or_words_is_not_dates(values: list, problem: str) -> None:
    """pandas reads numbers as nanoseconds after 1970-01-01: every row would be that day."""
    assert not_dates(pd.Series(values)).startswith(problem)


@pytest.mark.parametrize(
    "values", [["2025-01-06", "2025-01-13", None], pd.to_datetime(["2025-01-06", "2025-01-13"])]
)
def test_dates_as_text_or_as_dates_are_dates(values: list) -> None:
    assert not_dates(pd.Series(values)) is None


def test_a_one_class_target_keeps_the_previous_snapshot(
    raw_params: dict, frame: pd.DataFrame, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ingest refuses before it replaces data/train.parquet: validate, train and evaluate
    would otherwise run on (or be stopped by) a table the split cannot use."""
    monkeypatch.chdir(tmp_path)
    frame.assign(churned=0).to_csv("own.csv", index=False)
    raw_params["data"].update(source="file", path="own.csv")
    Path("params.yaml").write_text(yaml.safe_dump(raw_params, sort_keys=False))
    Path("data").mkdir()
    Path("data/train.parquet").write_bytes(b"the previous snapshot")
    with pytest.raises(DataError) as error:
        ingest_main()
    assert str(error.value) == (
        "ingest: the target 'churned' holds one class only (0: 3,000 rows); a classifier needs"
        " rows of both 0 and 1; data/train.parquet and the model are unchanged"
    )
    assert Path("data/train.parquet").read_bytes() == b"the previous snapshot"
