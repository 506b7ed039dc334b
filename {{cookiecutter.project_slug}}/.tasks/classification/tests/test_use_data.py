"""`use-data`: your own table in one step, with a table that ships with scikit-learn."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml

from {{ cookiecutter.package_name }} import use_data
from {{ cookiecutter.package_name }}.errors import DataError, ParamsError
from {{ cookiecutter.package_name }}.ingest import ingest
from {{ cookiecutter.package_name }}.params import load_params

from .conftest import ROOT


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("params.yaml", "dvc.yaml"):
        shutil.copy(ROOT / name, tmp_path / name)
    (tmp_path / "data/raw").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def ingest_deps(repo: Path) -> list[str]:
    return yaml.safe_load((repo / "dvc.yaml").read_text())["stages"]["ingest"]["deps"]


def cancer() -> pd.DataFrame:
    from sklearn.datasets import load_breast_cancer

    return load_breast_cancer(as_frame=True).frame


@pytest.mark.parametrize("name", ["cancer.csv", "cancer.parquet"])
def test_a_real_table_becomes_the_data_source(repo: Path, name: str) -> None:
    table = cancer()
    path = Path("data/raw") / name
    table.to_csv(path, index=False) if name.endswith(".csv") else table.to_parquet(path)
    drift_before = (repo / "params.yaml").read_text().split("\ndrift:")[1]
    use_data.main(path, target="target")
    params = load_params()
    schema = params.data.schema_
    assert (params.data.source, params.data.path) == ("file", path.as_posix())
    assert schema.target == "target" and schema.segment is None
    assert schema.features == [column for column in table.columns if column != "target"]
    assert schema.min_rows == len(table) // 2
    assert params.drift.critical_columns == []
    assert path.as_posix() in ingest_deps(repo)
    drift_after = (repo / "params.yaml").read_text().split("\ndrift:")[1]
    assert drift_after == drift_before.replace(
        "critical_columns: [monthly_charges]", "critical_columns: []"
    )
    assert len(ingest(params.data)) == len(table)
    use_data.main(path, target="target")  # again: the dependency is listed once
    assert ingest_deps(repo).count(path.as_posix()) == 1
    other = Path("data/raw/t #2.csv")  # another file (a name YAML would cut at #) replaces it
    table.to_csv(other, index=False)
    use_data.main(other, target="target")
    assert ingest_deps(repo)[-1] == other.as_posix() and path.as_posix() not in ingest_deps(repo)


def test_text_columns_become_categories_and_identifiers_are_left_out(repo: Path) -> None:
    table = (
        cancer()
        .head(200)
        .assign(
            site=["north", "south"] * 100,
            patient=[f"p{i}" for i in range(200)],
            insured=[True, False, None, True] * 50,  # read back as text with blanks
            zone=[1, 2] * 100,
        )
    )
    table.to_csv("data/raw/t.csv", index=False, sep=";")
    use_data.main(Path("data/raw/t.csv"), target="target", segment="site", sensitive=["site"])
    params = load_params()
    assert params.fairness.sensitive_features == ["site"]
    assert params.data.sep == ";"
    assert params.data.schema_.categorical == {"site": ["north", "south"], "insured": []}
    assert params.data.schema_.segment == "site"
    assert "patient" not in params.data.schema_.columns
    before = (repo / "params.yaml").read_bytes()
    with pytest.raises(ParamsError, match=r"fairness.sensitive_features: \['patient'\] not among"):
        use_data.main(Path("data/raw/t.csv"), target="target", sensitive=["patient"])
    assert (repo / "params.yaml").read_bytes() == before  # nothing written
    use_data.main(Path("data/raw/t.csv"), target="target", segment="zone")  # a numeric code
    assert load_params().fairness.sensitive_features == []  # named again, or none
    schema = load_params().data.schema_
    assert schema.segment == "zone" and "zone" not in schema.features and "zone" in schema.columns


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"target": "nope"}, "use-data: --target 'nope' is not a column"),
        ({"segment": "nope"}, "use-data: --segment 'nope' is not a column"),
        ({"labels": ["yes", "no"]}, "use-data: the target 'target' must hold only 0 and 1"),
    ],
)
def test_bad_requests_write_nothing(repo: Path, change: dict, message: str) -> None:
    table = cancer().head(50)
    if "labels" in change:
        table["target"] = [change["labels"][i % 2] for i in range(50)]
    table.to_csv("data/raw/t.csv", index=False)
    before = {name: (repo / name).read_bytes() for name in ("params.yaml", "dvc.yaml")}
    with pytest.raises(DataError) as error:
        use_data.main(
            Path("data/raw/t.csv"),
            target=change.get("target", "target"),
            segment=change.get("segment"),
        )
    assert str(error.value).startswith(message)
    assert before == {name: (repo / name).read_bytes() for name in ("params.yaml", "dvc.yaml")}


def primary(repo: Path, metric: str, min_value: float) -> None:
    """params.yaml with this primary metric and bound, whatever the bake's answers were."""
    text = (repo / "params.yaml").read_text()
    text = re.sub(r"(?m)^(  primary_metric: )\w+", rf"\g<1>{metric}", text, count=1)
    text = re.sub(r"(?m)^(  min_value: )[\d.]+", rf"\g<1>{min_value}", text, count=1)
    (repo / "params.yaml").write_text(text)


def test_the_model_section_no_longer_speaks_of_the_synthetic_source(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    primary(repo, "roc_auc", 0.75)
    cancer().to_csv("data/raw/cancer.csv", index=False)
    use_data.main(Path("data/raw/cancer.csv"), target="target")
    text = (repo / "params.yaml").read_text()
    model = [line for line in text.split("\ndata:")[0].splitlines() if "  name:" not in line]
    assert not [line for line in model if "churn" in line or "customer" in line]
    assert "# score at or above which a row is predicted target = 1" in model[-1]
    params = load_params()
    assert params.model.description.startswith("Predicts target from cancer.csv;")
    assert params.gate.min_value == 0.75  # roc_auc: kept, and said so
    assert "use-data: gate: gate.min_value 0.75 is kept (a constant score has roc_auc 0.5" in (
        capsys.readouterr().out
    )


def test_an_accuracy_gate_is_the_majority_share(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A model must be at least as accurate as always answering the commoner class."""
    primary(repo, "accuracy", 0.7)
    table = cancer()
    table.to_csv("data/raw/cancer.csv", index=False)
    use_data.main(Path("data/raw/cancer.csv"), target="target")
    bound = load_params().gate.min_value
    assert 0.55 < bound < 0.7 and bound == pytest.approx(table["target"].mean(), abs=0.03)
    gate = (repo / "params.yaml").read_text().split("\ngate:")[1].split("\n\n")[0]
    assert f"  min_value: {bound:g}" in gate and "set by `use-data`" in gate
    said = capsys.readouterr().out
    assert f"use-data: gate.min_value {bound:g} (was 0.7) -> params.yaml:" in said


@pytest.mark.parametrize(
    ("ones", "message"),
    [
        (0, "use-data: the target 'target' must hold only 0 and 1 (no missing values), both"),
        (1, "use-data: the target 'target' has too few rows of class 1 (0: 49 rows, 1: 1 row);"),
    ],
)
def test_a_target_the_split_cannot_use_writes_nothing(repo: Path, ones: int, message: str) -> None:
    table = cancer().head(50).assign(target=[1] * ones + [0] * (50 - ones))
    table.to_csv("data/raw/t.csv", index=False)
    before = {name: (repo / name).read_bytes() for name in ("params.yaml", "dvc.yaml")}
    with pytest.raises(DataError) as error:
        use_data.main(Path("data/raw/t.csv"), target="target")
    assert str(error.value).startswith(message)
    assert before == {name: (repo / name).read_bytes() for name in ("params.yaml", "dvc.yaml")}


@pytest.mark.parametrize("path", ["/tmp/cancer.csv", "../cancer.csv"])
def test_a_file_outside_the_repository_is_refused(repo: Path, path: str) -> None:
    with pytest.raises(DataError) as error:
        use_data.main(Path(path), target="target")
    assert str(error.value).startswith(
        f"use-data: {path} is outside this repository, where DVC cannot version it; copy it"
        " into data/raw/ (or `dvc import-url` it there)"
    )


def test_an_absolute_path_inside_the_repository_is_kept_relative(repo: Path) -> None:
    cancer().to_csv(repo / "data/raw/cancer.csv", index=False)
    use_data.main(repo / "data/raw/cancer.csv", target="target")
    assert load_params().data.path == "data/raw/cancer.csv"
    assert "data/raw/cancer.csv" in ingest_deps(repo)
