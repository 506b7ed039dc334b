from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from {{ cookiecutter.package_name }} import drift, drift_report, drift_rules, drift_stats, task
from {{ cookiecutter.package_name }}.errors import DataError, ParamsError
from {{ cookiecutter.package_name }}.files import save_model, write_json
from {{ cookiecutter.package_name }}.ingest import ingest
from {{ cookiecutter.package_name }}.params import Params, parse_params
from {{ cookiecutter.package_name }}.paths import METRICS, MODEL
from {{ cookiecutter.package_name }}.train import train

from .conftest import ROOT


def check(params: Params, reference: pd.DataFrame, current: pd.DataFrame) -> dict:
    columns = drift_stats.check_columns(reference, current, params.data.schema_, params.drift)
    return drift_rules.decide(columns, params.drift, len(current), None)


def halves(frame: pd.DataFrame, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    order = np.random.default_rng(seed).permutation(len(frame))
    middle = len(frame) // 2
    return frame.iloc[order[:middle]], frame.iloc[order[middle:]]


def test_distances_match_their_definitions() -> None:
    rng = np.random.default_rng(0)
    a, b = np.sort(rng.normal(size=700).round(1)), np.sort(rng.normal(0.3, 2.0, size=1100))
    assert drift_stats.wasserstein(a, b) == pytest.approx(stats.wasserstein_distance(a, b))
    c = np.sort(rng.exponential(size=700))  # as many values as `a`: the short path
    assert drift_stats.wasserstein(a, c) == pytest.approx(stats.wasserstein_distance(a, c))
    p, q = np.array([10.0, 30.0, 60.0, 0.0]), np.array([20.0, 20.0, 50.0, 10.0])
    from scipy.spatial import distance

    assert drift_stats.jensen_shannon(p, q) == pytest.approx(distance.jensenshannon(p, q))
    assert drift_stats.score("wasserstein", 0.2, 0.1) == 2.0
    assert drift_stats.score("ks", 0.05, 0.05) == pytest.approx(1.0)
    assert drift_stats.score("ks", 0.5, 0.05) < 1 < drift_stats.score("ks", 0.001, 0.05)


@pytest.mark.parametrize(
    "rows", [2_000, 20_000]
)  # p-value tests below large_sample, distances above
def test_a_random_half_of_the_reference_is_not_drift(params: Params, rows: int) -> None:
    """The false-alarm rate over many seeds stays near the tests' significance level."""
    frame = ingest(params.data.model_copy(update={"rows": rows}))
    results = [check(params, *halves(frame, seed)) for seed in range(40)]
    alarms = sum(result["drift_detected"] for result in results)
    per_column = {
        name: sum(result["columns"][name]["drifted"] for result in results)
        for name in params.data.schema_.features
    }
    print(f"{rows} rows: {alarms} dataset alarms in 40 seeds; per column {per_column}")
    assert alarms / len(results) <= 0.1, alarms
    assert max(per_column.values()) / len(results) <= 0.15, per_column


def test_a_shift_in_one_numeric_column_is_found(params: Params, frame: pd.DataFrame) -> None:
    reference, current = halves(frame, 0)
    current = current.assign(tenure_months=current["tenure_months"] + 6)
    result = check(params, reference, current)
    drifted = [name for name, column in result["columns"].items() if column["drifted"]]
    assert drifted == ["tenure_months"]
    assert result["drift_detected"] is False  # one column of nine, and not a critical one
    assert result["share_drifted"] == pytest.approx(1 / 9)


def test_a_critical_column_alone_is_dataset_drift(params: Params, frame: pd.DataFrame) -> None:
    reference, current = halves(frame, 0)
    current = current.assign(monthly_charges=current["monthly_charges"] * 1.3)
    result = check(params, reference, current)
    assert result["drift_detected"] is True and result["retrain"] is True
    assert result["critical_drifted"] == ["monthly_charges"]
    assert result["triggers"] == ["data_drift"]


def test_a_categorical_prior_shift_is_found(params: Params, frame: pd.DataFrame) -> None:
    reference, current = halves(frame, 0)
    two_year = current["contract"] == "two-year"
    current = pd.concat([current, current[two_year], current[two_year]])  # three times as many
    column = check(params, reference, current)["columns"]["contract"]
    assert column["test"] == "chi_square" and column["drifted"] is True
    assert column["statistic"] < 0.05


def test_an_unseen_category_is_drift(params: Params, frame: pd.DataFrame) -> None:
    reference, current = halves(frame, 0)
    current = current.astype({"region": object})
    current.iloc[:30, current.columns.get_loc("region")] = "atlantis"
    column = check(params, reference, current)["columns"]["region"]
    assert column["drifted"] is True
    assert column["unseen"] == {"atlantis": 30}
    assert any("unseen" in reason for reason in column["reasons"])


def test_more_missing_values_are_drift(params: Params, frame: pd.DataFrame) -> None:
    reference, current = halves(frame, 0)
    current = current.astype({"data_usage_gb": float})
    current.iloc[: len(current) // 5, current.columns.get_loc("data_usage_gb")] = np.nan
    column = check(params, reference, current)["columns"]["data_usage_gb"]
    assert column["drifted"] is True
    assert column["missing"] == {"reference": 0.0, "current": pytest.approx(0.2, abs=0.001)}
    assert column["reasons"][-1] == "missing 0.0% -> 20.0%"


def test_enough_new_rows_and_a_manual_request_trigger_retraining(params: Params) -> None:
    needed = params.drift.min_new_rows
    assert drift_rules.decide({}, params.drift, needed - 1, None)["retrain"] is False
    assert drift_rules.decide({}, params.drift, needed, None)["triggers"] == ["new_data"]
    assert drift_rules.decide({}, params.drift, 0, None, forced=True)["triggers"] == ["manual"]


def test_a_performance_drop_on_labelled_data_triggers_retraining(
    params: Params, frame: pd.DataFrame, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)  # no store: the local model is used
    schema, metric = params.data.schema_, params.model.primary_metric
    model = train(frame, schema, params.split, params.train)
    save_model(model, MODEL)
    _, test = task.split(frame, params.split, schema)
    predicted = task.predict(model, test[schema.features])
    evaluated = task.metrics(test[schema.target], predicted, params.model)
    write_json({metric: evaluated[metric]}, METRICS)

    new = ingest(params.data, window=0).sample(frac=0.5, random_state=1)
    same = drift.check_performance(new, params)
    assert same is not None and same["fired"] is False and same["model"] == str(MODEL)
    # A Parquet file of new rows with pandas' nullable Int64 and a missing value (was pandas.NA
    # in the model's input, a traceback) and text categories read as object.
    nullable = new.astype({"tenure_months": "Int64", "region": object})
    nullable.iloc[:3, nullable.columns.get_loc("tenure_months")] = pd.NA
    conformed = drift.conform_current(nullable, schema, "new.parquet")
    assert conformed["tenure_months"].dtype == "float64"
    assert isinstance(conformed["region"].dtype, pd.CategoricalDtype)
    assert drift.check_performance(conformed, params)["fired"] is False
    shuffled = new[schema.target].sample(frac=1.0, random_state=0).to_numpy()  # labels say nothing
    worse = drift.check_performance(new.assign(**{schema.target: shuffled}), params)
    assert worse is not None and worse["fired"] is True
    assert worse["drop"] > params.drift.max_metric_drop
    assert drift.check_performance(new.drop(columns=schema.target), params) is None


def test_new_data_without_a_feature_column_is_refused(params: Params, frame: pd.DataFrame) -> None:
    with pytest.raises(DataError, match=r"lacks the feature columns \['region'\]"):
        drift.conform_current(frame.drop(columns="region"), params.data.schema_, "new.csv")
    text = frame.astype({"tenure_months": str})
    with pytest.raises(DataError, match="'tenure_months' should hold numbers"):
        drift.conform_current(text, params.data.schema_, "new.csv")


def test_next_window_keeps_comments() -> None:
    text = "model:\n  window: 9\ndata:\n  source: synthetic  # a note\n  window: 3   # moved\n"
    moved, window = drift.next_window(text)
    assert window == 4
    assert moved == text.replace("window: 3 ", "window: 4 ")


def test_next_window_refuses_a_duplicated_key_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = (ROOT / "params.yaml").read_text().replace("  window: 0", "  window: 0\n  window: 7")
    (tmp_path / "params.yaml").write_text(text)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ParamsError, match=r"at line \d+: duplicate key 'window'"):
        drift.next_window_main()
    assert (tmp_path / "params.yaml").read_text() == text


def test_reports_show_each_column(params: Params, frame: pd.DataFrame) -> None:
    reference, current = halves(frame, 0)
    result = check(params, reference, current.assign(tenure_months=current["tenure_months"] + 6))
    result["reference"] = {"source": "data/train.parquet", "rows": len(reference)}
    result["current"] = {"source": "test", "rows": len(current)}
    markdown = drift_report.markdown(result, params.model.name)
    assert "no retraining needed" in markdown
    assert "| `tenure_months` | numeric | KS p-value |" in markdown
    assert "```mermaid\nxychart-beta" in markdown
    page = drift_report.html(result, params.model.name)
    assert page.count('<div class="card') == len(params.data.schema_.features)
    assert "<script" not in page and "http" not in page  # one self-contained page


def test_drift_page_shows_no_markdown_marks_cut_labels_or_emoji(
    params: Params, frame: pd.DataFrame
) -> None:
    """The page showed `backticks`, category names cut to 10 characters, an emoji title."""
    reference, current = halves(frame, 0)
    critical = params.drift.critical_columns[0]
    result = check(params, reference, current.assign(**{critical: current[critical] * 1.3}))
    assert result["critical_drifted"] == [critical] and result["retrain"]  # the finding names it
    result["reference"] = {"source": "data/train.parquet", "rows": len(reference)}
    result["current"] = {"source": "test", "rows": len(current)}
    page = drift_report.html(result, params.model.name)
    assert "`" not in page and "**" not in page
    assert f"including the critical <code>{critical}</code>" in page
    assert "<strong>Data drift: yes</strong>" in page
    names = [name for values in params.data.schema_.categorical.values() for name in values]
    assert any(len(name) > 10 for name in names)
    for name in names:  # each category is labelled by its whole name
        assert f">{name}</text>" in page
    heading = page.split("<h1>")[1].split("</h1>")[0] + page.split("<title>")[1].split("</")[0]
    assert "retraining: data drift" in heading
    assert all(ord(char) < 0x2000 for char in heading), heading  # no emoji, no symbols
    assert drift_report.markdown(result, params.model.name).startswith(
        f"## Drift check of `{params.model.name}`: 🔁 retraining"
    )  # GitHub renders emoji: the PR body keeps it


def test_a_near_miss_says_which_setting_would_have_retrained(raw_params: dict) -> None:
    """2 of 13 columns drifted strongly, no critical column (use-data empties them): no
    retraining, and the report says which setting would have retrained."""
    raw_params["drift"].update(critical_columns=[], share_threshold=0.3)
    rules = parse_params(raw_params).drift
    columns = {f"c{index}": {"drifted": index in (3, 7)} for index in range(13)}
    result = drift_rules.decide(columns, rules, 10, None)
    assert result["retrain"] is False and result["drift_detected"] is False
    near = result["data_drift_near_miss"]
    assert near == {"share_threshold": 0.153846, "critical_columns": ["c3", "c7"]}
    for setting in ({"share_threshold": near["share_threshold"]}, {"critical_columns": ["c7"]}):
        assert drift_rules.decide(columns, rules.model_copy(update=setting), 10, None)["retrain"]
    [data] = [line for line in drift_report.findings(result) if "Data drift" in line]
    assert data == (
        "**Data drift: no**: 2 of 13 columns drifted (15%; the rule is 30%). With"
        " `drift.share_threshold: 0.15` (or lower) or `drift.critical_columns: [c3, c7]`,"
        " this rule would have fired, and the model would have been retrained"
    )
    named = rules.model_copy(update={"critical_columns": ["c0"]})
    result = drift_rules.decide(columns, named, 10**6, None)  # the new-data rule fires
    assert result["triggers"] == ["new_data"]
    [data] = [line for line in drift_report.findings(result) if "Data drift" in line]
    assert data.endswith("`drift.critical_columns: [c0, c3, c7]`, this rule would have fired too")
    calm = {name: {"drifted": False} for name in columns}
    assert drift_rules.decide(calm, rules, 10, None)["data_drift_near_miss"] is None
    fired = drift_rules.decide(columns, rules.model_copy(update={"share_threshold": 0.1}), 10, None)
    assert fired["drift_detected"] and fired["data_drift_near_miss"] is None
