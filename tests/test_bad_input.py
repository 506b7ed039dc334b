"""Level 3: bad input loses nothing and says one clear line (issue 15's cases).

One trained bake; each case breaks params.yaml or the data, runs what a user runs
(`make repro`'s two commands, or a plain `dvc repro`), and checks the first line of
the error and that models/, data/ and reports/ are byte-identical afterwards.
Cases 7 (predict), 8 (answers) and 9 (next-window) are tested where they live: the
bake's tests/test_predict.py and test_drift.py, and tests/test_hooks.py.
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from .conftest import Trained, edit_yaml, run, shared_env

pytestmark = pytest.mark.slow

CHECK_THEN_REPRO = "python -m customer_churn check && dvc repro"  # what `make repro` runs
KEPT = ("models", "data", "reports")


def snapshot(project: Path) -> dict[str, str]:
    return {
        str(path.relative_to(project)): hashlib.md5(path.read_bytes()).hexdigest()
        for folder in KEPT
        for path in sorted((project / folder).rglob("*"))
        if path.is_file() and path.name != ".gitignore"
    }


@pytest.fixture(scope="module")
def trained(trained_bake: Trained, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return trained_bake("classification", tmp_path_factory.mktemp("bad-input"))


def attempt(project: Path, command: str) -> str:
    """Run `command`; it must fail; return the first line of its error."""
    done = run(["bash", "-c", command], project, env=shared_env(project), check=False)
    assert done.returncode != 0, done.stdout
    errors = [line for line in done.stderr.splitlines() if line.startswith("error: ")]
    assert errors, done.stderr
    return errors[0]


def refused(project: Path, change: Callable[[dict], None], command: str = CHECK_THEN_REPRO) -> str:
    """Apply `change` to params.yaml, run `command`, check nothing was lost, restore."""
    before, params = snapshot(project), (project / "params.yaml").read_text()
    edit_yaml(project / "params.yaml", change)
    try:
        line = attempt(project, command)
        assert snapshot(project) == before
    finally:
        (project / "params.yaml").write_text(params)
    return line


def own_file(path: str) -> Callable[[dict], None]:
    return lambda params: params["data"].update(source="file", path=path)


# 1. A bad value under split or train, or a failed ingest, deletes nothing (`persist: true`
#    and temporary files); the check before DVC catches every params value first.
@pytest.mark.parametrize(
    ("change", "first_line"),
    [
        (
            lambda p: p["split"].update(test_size=1.5),
            "error: params.yaml: split.test_size: Input should be less than 1 (got 1.5)",
        ),
        (
            lambda p: p["train"].update(estimator="xgboost"),
            "error: params.yaml: train.estimator: Input should be 'hist_gradient_boosting',",
        ),
        (
            lambda p: p["train"].update(max_depth=3),
            "error: params.yaml: train.max_depth: unknown key",
        ),
    ],
    ids=["test_size", "estimator", "unknown-key"],
)
@pytest.mark.parametrize("command", [CHECK_THEN_REPRO, "dvc repro"], ids=["make", "dvc"])
def test_1_bad_split_or_train_values_keep_the_model(
    trained: Path, change: Callable, first_line: str, command: str
) -> None:
    assert refused(trained, change, command).startswith(first_line)


def test_1_a_failed_ingest_keeps_the_snapshot(trained: Path) -> None:
    raw = trained / "data/raw/broken.csv"
    raw.parent.mkdir(exist_ok=True)
    raw.write_text("tenure_months,tenure_months\n1,2\n")
    try:
        line = refused(trained, own_file("data/raw/broken.csv"), "dvc repro")
    finally:
        shutil.rmtree(raw.parent)
    assert line == (
        "error: data/raw/broken.csv: duplicate column names ['tenure_months'];"
        " each column needs its own"
    )


# 2. A data.path inside a pipeline output is refused before DVC deletes it.
@pytest.mark.parametrize("command", [CHECK_THEN_REPRO, "dvc repro"], ids=["make", "dvc"])
def test_2_a_data_path_inside_the_pipeline_outputs_is_refused(trained: Path, command: str) -> None:
    line = refused(trained, own_file("data/train.parquet"), command)
    assert line.startswith(
        "error: params.yaml: data.path 'data/train.parquet' is inside the pipeline's output"
    )
    assert (trained / "data/train.parquet").is_file()


def _table_with(trained: Path, name: str, edit: Callable[[pd.DataFrame], pd.DataFrame]) -> str:
    frame = pd.read_parquet(trained / "data/train.parquet")
    path = trained / "data/raw" / name
    path.parent.mkdir(exist_ok=True)
    edit(frame).to_csv(path, index=False)
    return f"data/raw/{name}"


# 3. Duplicated column names are refused (pandas would read `tenure_months.1`).
def test_3_duplicate_column_names_are_refused(trained: Path) -> None:
    path = _table_with(trained, "twice.csv", lambda f: pd.concat([f, f[["tenure_months"]]], axis=1))
    try:
        line = refused(trained, own_file(path))
    finally:
        shutil.rmtree(trained / "data/raw")
    assert line == (
        f"error: {path}: duplicate column names ['tenure_months']; each column needs its own"
    )


# 4. Infinite numbers are refused by ingest, naming the column (and by validation: the
#    bake's test_validate.py checks an open bound excludes inf).
def test_4_infinite_numbers_are_refused(trained: Path) -> None:
    def three_infinite(frame: pd.DataFrame) -> pd.DataFrame:
        return frame.assign(total_charges=frame["total_charges"].where(frame.index >= 3, np.inf))

    path = _table_with(trained, "inf.csv", three_infinite)
    try:
        line = refused(trained, own_file(path))
    finally:
        shutil.rmtree(trained / "data/raw")
    assert line.startswith("error: ingest: column 'total_charges' holds 3 infinite value(s)")


# 5. Hyperparameters are typed per estimator (task.py), and the gate
#    (read by no stage) before DVC starts.
@pytest.mark.parametrize(
    ("key", "value", "first_line"),
    [
        ("learning_rate", -1, "learning_rate: Input should be greater than 0 (got -1)"),
        ("max_iter", "200", "max_iter: Input should be a valid integer (got '200')"),
        ("learning_rate", "fast", "learning_rate: Input should be a valid number (got 'fast')"),
    ],
)
def test_5_bad_hyperparameters_are_one_line(
    trained: Path, key: str, value: object, first_line: str
) -> None:
    line = refused(trained, lambda p: p["train"]["hyperparameters"].update({key: value}))
    assert line.startswith(f"error: params.yaml: train.hyperparameters.{first_line}")


def test_5_a_gate_threshold_written_as_text_stops_make_repro(trained: Path) -> None:
    line = refused(trained, lambda p: p["gate"].update(min_value="0.75"))
    assert line == "error: params.yaml: gate.min_value: Input should be a valid number (got '0.75')"


# 6. Whole-params checks name the key in a short line, not the whole params mapping.
def test_6_whole_params_errors_are_short(trained: Path) -> None:
    line = refused(trained, lambda p: p["drift"].update(critical_columns=["monthly_fee"]))
    assert line.startswith(
        "error: params.yaml: drift.critical_columns: ['monthly_fee'] not among the feature columns"
    )
    assert len(line) < 200


# Issue 26, 3 and 4. A target the split cannot use (one class, or too few rows of a class for
# each side of the stratified split to hold both) is refused by ingest, before the snapshot,
# the model or a report is replaced, in one line that names the column and the counts.
def _labels(ones: int) -> Callable[[pd.DataFrame], pd.DataFrame]:
    def edit(frame: pd.DataFrame) -> pd.DataFrame:
        frame = frame.head(3000).copy()
        frame["churned"] = 0
        frame.loc[: ones - 1, "churned"] = 1
        return frame

    return edit


@pytest.mark.parametrize(
    ("ones", "first_line"),
    [
        (
            0,
            "error: ingest: the target 'churned' holds one class only (0: 3,000 rows);"
            " a classifier needs rows of both 0 and 1",
        ),
        (
            1,
            "error: ingest: the target 'churned' has too few rows of class 1 (0: 2,999 rows,"
            " 1: 1 row); split.test_size 0.2 needs at least 5 rows of each class",
        ),
        (
            3,
            "error: ingest: the target 'churned' has too few rows of class 1 (0: 2,997 rows,"
            " 1: 3 rows); split.test_size 0.2 needs at least 5 rows of each class",
        ),
    ],
    ids=["one-class", "one-row", "three-rows"],
)
@pytest.mark.parametrize("command", [CHECK_THEN_REPRO, "dvc repro"], ids=["make", "dvc"])
def test_26_3_a_target_the_split_cannot_use_is_refused_before_training(
    trained: Path, ones: int, first_line: str, command: str
) -> None:
    path = _table_with(trained, "labels.csv", _labels(ones))
    try:
        line = refused(trained, own_file(path), command)
    finally:
        shutil.rmtree(trained / "data/raw")
    assert line.startswith(first_line)
    assert "Traceback" not in line


# Issue 26, 5 and 6. A data.path DVC cannot track (outside the repository) or read_table
# cannot read is refused by the params check, naming the key.
@pytest.mark.parametrize(
    ("path", "first_line"),
    [
        (
            "{outside}",
            "error: params.yaml: data.path '{outside}' is outside the repository, so DVC cannot"
            " track it",
        ),
        ("../elsewhere.csv", "error: params.yaml: data.path '../elsewhere.csv' is outside"),
        (
            "data/raw/table.csv.gz",
            "error: params.yaml: data.path 'data/raw/table.csv.gz' is not a file the pipeline"
            " reads (it ends in '.gz')",
        ),
        (
            "data/raw/table",
            "error: params.yaml: data.path 'data/raw/table' is not a file the pipeline reads"
            " (it has no suffix)",
        ),
    ],
    ids=["absolute", "parent", "gz", "no-suffix"],
)
@pytest.mark.parametrize("command", [CHECK_THEN_REPRO, "dvc repro"], ids=["make", "dvc"])
def test_26_5_a_data_path_dvc_cannot_track_or_read_is_refused(
    trained: Path, tmp_path: Path, path: str, first_line: str, command: str
) -> None:
    outside = tmp_path / "elsewhere.csv"
    pd.read_parquet(trained / "data/train.parquet").head(1000).to_csv(outside, index=False)
    path, first_line = (text.replace("{outside}", str(outside)) for text in (path, first_line))
    for name in ("table.csv.gz", "table"):  # the files exist: only their names are wrong
        (trained / "data/raw").mkdir(exist_ok=True)
        (trained / "data/raw" / name).write_bytes(outside.read_bytes())
    try:
        line = refused(trained, own_file(path), command)
    finally:
        shutil.rmtree(trained / "data/raw")
    assert line.startswith(first_line)
    if "outside" in first_line:
        assert "copy the file into data/raw/" in line


def test_26_5_use_data_refuses_a_file_outside_the_repository(trained: Path, tmp_path: Path) -> None:
    outside = tmp_path / "customers.csv"
    pd.read_parquet(trained / "data/train.parquet").head(1000).to_csv(outside, index=False)
    before = {name: (trained / name).read_bytes() for name in ("params.yaml", "dvc.yaml")}
    command = f"python -m customer_churn use-data {outside} --target churned"
    assert attempt(trained, command) == (
        f"error: use-data: {outside} is outside this repository, where DVC cannot version it;"
        " copy it into data/raw/ (or `dvc import-url` it there) and give that path, e.g."
        " data/raw/customers.csv"
    )
    assert before == {name: (trained / name).read_bytes() for name in ("params.yaml", "dvc.yaml")}
