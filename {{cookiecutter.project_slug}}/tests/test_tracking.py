from __future__ import annotations

from pathlib import Path

import pytest

from {{ cookiecutter.package_name }} import registry, tracking


def test_default_store_is_sqlite(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert tracking.configure() == "sqlite:///mlflow.db"


def test_server_projects_say_when_they_fall_back(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(tracking, "EXPECTS_SERVER", True)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert tracking.configure() == tracking.DEFAULT_TRACKING_URI
    assert "MLFLOW_TRACKING_URI is not set" in capsys.readouterr().err

    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:5000")
    assert tracking.configure() == "http://127.0.0.1:5000"
    assert capsys.readouterr().err == ""


def test_params_are_flattened_for_mlflow() -> None:
    flat = registry.flatten({"train": {"seed": 1, "hyperparameters": {"max_iter": 5}}, "tags": []})
    assert flat == {"train.seed": 1, "train.hyperparameters.max_iter": 5, "tags": []}


def test_ui_links_name_the_model_even_when_params_yaml_is_broken(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    (tmp_path / "params.yaml").write_text("model:\n  name: model-eu\n  bogus: 1\n")
    tracking.ui_links_main("")
    assert "Experiments > model-eu, and Models" in capsys.readouterr().out
    (tmp_path / "params.yaml").write_text("model: [unclosed\n")
    tracking.ui_links_main("")
    assert f"Experiments > {tmp_path.name}, and Models" in capsys.readouterr().out
