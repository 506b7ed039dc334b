from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from {{ cookiecutter.package_name }} import synthetic

SERIES = len(synthetic.REGIONS) * len(synthetic.PRODUCTS)
COLUMNS = {
    "week": "datetime64[ns]",
    "region": "category",
    "product": "category",
    "week_of_year": "int64",
    "price": "float64",
    "promotion": "int64",
    "traffic": "float64",
    "units_sold": "float64",
}


def test_same_arguments_give_the_same_frame() -> None:
    frame = synthetic.generate(2_000, window=1, seed=3)
    pd.testing.assert_frame_equal(frame, synthetic.generate(2_000, window=1, seed=3))
    other = synthetic.generate(2_000, window=1, seed=4)
    assert not frame["units_sold"].equals(other["units_sold"])


@pytest.mark.parametrize("rows", [100, 2_000, 20_000])
def test_whole_weeks_give_exactly_the_rows_asked_for(rows: int) -> None:
    frame = synthetic.generate(rows)
    assert len(frame) == rows
    # Every week holds each region and product once.
    assert (frame.groupby("week").size() == SERIES).all()
    assert not frame.duplicated(["week", "region", "product"]).any()


@pytest.mark.parametrize(
    ("rows", "expected"),
    [(1, 100), (49, 100), (149, 100), (151, 200), (250, 200), (20_049, 20_000), (20_051, 20_100)],
)
def test_other_row_counts_round_to_whole_weeks(rows: int, expected: int) -> None:
    assert SERIES == 100
    assert len(synthetic.generate(rows)) == expected == max(1, round(rows / SERIES)) * SERIES


def test_columns_and_types() -> None:
    frame = synthetic.generate(2_000, window=2)
    assert list(frame.columns) == list(COLUMNS)
    assert frame.dtypes.astype(str).to_dict() == COLUMNS
    assert list(frame["region"].cat.categories) == synthetic.REGIONS
    assert list(frame["product"].cat.categories) == synthetic.PRODUCTS
    assert len(synthetic.PRODUCTS) == 20
    assert (frame["week"].dt.day_of_week == 0).all()  # Mondays
    iso_week = frame["week"].dt.isocalendar().week.astype("int64")
    assert (frame["week_of_year"] == iso_week).all()
    assert set(frame["promotion"].unique()) == {0, 1}
    assert np.allclose(frame["price"], frame["price"].round(2))
    assert np.allclose(frame["traffic"], frame["traffic"].round(1))


def test_windows_follow_one_calendar() -> None:
    first, second = synthetic.generate(2_000, window=0), synthetic.generate(2_000, window=1)
    assert first["week"].min() == pd.Timestamp("2022-01-03")
    assert first["week"].nunique() == second["week"].nunique() == 20
    assert second["week"].min() == first["week"].max() + pd.Timedelta(weeks=1)
    assert first["week"].is_monotonic_increasing
    assert second["week"].is_monotonic_increasing


def test_units_are_counts_and_nothing_is_missing() -> None:
    frame = synthetic.generate(20_000, window=3, seed=5)
    assert not frame.isna().any().any()
    assert (frame["units_sold"] >= 0).all()
    assert (frame["units_sold"] == frame["units_sold"].round()).all()
    assert (frame["price"] > 0).all()
    assert (frame["traffic"] > 0).all()


def test_later_windows_drift() -> None:
    reference, later = synthetic.generate(20_000, window=0), synthetic.generate(20_000, window=1)
    assert later["price"].mean() > reference["price"].mean() * 1.02
    assert later["traffic"].mean() > reference["traffic"].mean() * 1.03
    # What the drift job should not flag stays about the same.
    assert abs(later["promotion"].mean() - reference["promotion"].mean()) < 0.02
    assert abs(later["week_of_year"].mean() - reference["week_of_year"].mean()) < 2


@pytest.mark.parametrize(("rows", "window"), [(0, 0), (-5, 0), (100, -1), (20_000, 10_000)])
def test_bad_arguments_raise(rows: int, window: int) -> None:
    with pytest.raises(ValueError, match="window"):
        synthetic.generate(rows, window=window)
