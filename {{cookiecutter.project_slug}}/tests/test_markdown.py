"""What comes from data or params reaches Markdown inert and bounded: checked with a CommonMark
parser on the PR report, the task's report sections, the drift report and the model card."""

from __future__ import annotations

import re
from typing import Any

import pytest
from markdown_it import MarkdownIt
from markdown_it.token import Token

from {{ cookiecutter.package_name }} import drift_report, drift_rules
from {{ cookiecutter.package_name }}.evaluate import model_card
from {{ cookiecutter.package_name }}.markdown import LIMIT, cap, code, label, one_line, size, text
from {{ cookiecutter.package_name }}.params import Params

HOSTILE = (
    "[approve here](https://evil.example/login) @your-org/ml-maintainers "
    "![t](https://evil.example/t.png)"
)
MENTION = "@your-org/ml-maintainers"
HUGE = "x" * 100_000  # one cell of a data set


def tokens(document: str) -> list[Token]:
    """Every token CommonMark (with GitHub's tables) reads in `document`, inline ones included."""
    found = []
    for token in MarkdownIt("commonmark").enable("table").parse(document):
        found += [token, *(token.children or [])]
    return found


def problems(document: str) -> list[str]:
    """What of HOSTILE (or of any value) would come alive on GitHub: a link or an image, HTML
    other than the reports' own, a plain @mention, a bare URL that GitHub would link; or a
    document over the limit."""
    found = []
    for token in tokens(document):
        target = f"{token.attrGet('href') or ''}{token.attrGet('src') or ''}"
        if token.type in ("link_open", "image") and "evil.example" in target:
            found.append(f"{token.type} to {target}")
        ours = re.sub(r"</?(sub|details|summary)>", "", token.content)  # the reports' own tags
        if token.type in ("html_inline", "html_block") and "<" in ours:
            found.append(f"HTML {token.content!r}")
        if token.type == "text" and MENTION in token.content:
            found.append(f"a mention in {token.content!r}")
        if token.type == "text" and re.search(r"https?://|www\.", token.content):
            found.append(f"a bare URL in {token.content!r}")
    if size(document) > LIMIT:
        found.append(f"{size(document):,} characters")
    return found


def whole(document: str) -> bool:
    """HOSTILE stays in one piece (one cell, one code span or one line of text)."""
    return any(
        "approve here" in token.content and "t.png" in token.content
        for token in tokens(document)
        if token.type in ("text", "code_inline")
    )


def test_text_and_code_make_a_value_inert() -> None:
    for shown in (text(HOSTILE, 200), code(HOSTILE, 200), code(HOSTILE, 200, cell=True)):
        assert problems(shown) == [] and whole(shown)
        table = f"| a | b |\n|---|---|\n| {shown} | {code('x|`y`', cell=True)} |\n"
        assert problems(table) == [] and whole(table)
        assert [t.content for t in tokens(table) if t.type == "code_inline"][-1] == "x|`y`"
    assert [t.content for t in tokens(code("a ``` b")) if t.type == "code_inline"] == ["a ``` b"]
    assert problems(text("<img src=x onerror=alert(1)> <b>bold</b> &amp; <!-- c -->")) == []
    for heading in ("# title", "- item", "1. first", "=", "> quote", "```"):
        assert next(t.type for t in tokens(text(heading))) == "paragraph_open", heading
    assert text("segment_gap") == "segment_gap" and text("region-01-x") == "region-01-x"
    assert text("north|east") == "north\\|east"
    assert one_line("a\nb\r\n\tc\x00d\u202ee") == "a b c d e"  # a bidi override too
    assert len(one_line(HUGE)) == 120 and one_line(HUGE).endswith("…")
    assert len(text(HUGE, 80)) == 80 and len(code(HUGE)) == 122
    assert label('a "b" `c` <d>') == "\"a 'b' 'c' \u2039d>\""
    assert label("x" * 40) == f'"{"x" * 10}…{"x" * 9}"'


def test_cap_cuts_at_a_line_and_closes_what_it_leaves_open() -> None:
    assert cap("short\n") == "short\n"
    document = "## Report\n\n<details>\n\n```mermaid\n" + "a line of the chart\n" * 10_000
    capped = cap(document + "```\n\n</details>\n")
    assert size(capped) <= LIMIT - 1_000
    assert capped.endswith("to fit GitHub's 65,536-character limit.\n")
    assert "```\n</details>\n" in capped
    fences = [t for t in tokens(capped) if t.type == "fence"]
    assert len(fences) == 1 and fences[0].content.endswith("a line of the chart\n")
    assert size(cap("y" * 200_000)) <= LIMIT  # one line longer than the limit: its start
    emoji = "🟢" * 40_000  # two UTF-16 code units each, as GitHub counts them
    assert size(cap(emoji + "\n" + emoji + "\n")) <= LIMIT


def column(drifted: bool, reasons: list[str] | None = None) -> dict[str, Any]:
    """A column's entry of drift_stats.check_columns, as the reports read it."""
    return {
        "type": "categorical",
        "test": "chi_square",
        "statistic": 0.001 if drifted else 0.5,
        "threshold": 0.05,
        "drifted": drifted,
        "reasons": reasons if reasons is not None else (["chi_square"] if drifted else []),
        "score": 2.3 if drifted else 0.2,
        "missing": {"reference": 0.0, "current": 0.0},
        "unseen": {},
        "distribution": {"categories": ["a"], "reference": [1.0], "current": [1.0]},
    }


def drift_result(params: Params, columns: dict[str, dict[str, Any]]) -> dict[str, Any]:
    result = drift_rules.decide(columns, params.drift, 10, None)
    result["reference"] = {"source": "data/train.parquet", "rows": 100}
    result["current"] = {"source": HOSTILE, "rows": 10}
    return result


def test_drift_report_shows_column_names_and_unseen_values_inert(params: Params) -> None:
    unseen = [f"unseen values ['{HOSTILE}', '{HUGE}']"]
    columns = {HOSTILE: column(True, unseen), HUGE: column(True), "plain": column(False)}
    document = drift_report.markdown(drift_result(params, columns), HOSTILE)
    assert problems(document) == [] and whole(document)
    assert len(document) < 5_000
    chart = next(line for line in document.splitlines() if "x-axis" in line)
    assert chart.count('"') == 6  # three quoted labels, none broken by a quote of its own
    page = drift_report.html(drift_result(params, columns), HOSTILE)
    assert "<a " not in page and "<img" not in page


def test_drift_page_charts_show_category_names_inert_cut_and_on_real_axes(
    params: Params,
) -> None:
    """A category is data: its markup and math stay text and a long one is cut; each chart has
    its axes, its legend and the shares."""
    names = ["</svg><script>alert(1)</script>", "$x^2$", "y" * 60]
    shares = {"reference": [0.5, 0.3, 0.2], "current": [0.25, 0.5, 0.25]}
    histogram = {"edges": [0.0, 5.0, 10.0], "reference": [0.5, 0.5], "current": [0.2, 0.8]}
    columns = {
        "plan": {**column(True), "distribution": {"categories": names, **shares}},
        "age": {**column(False), "type": "numeric", "test": "ks", "distribution": histogram},
    }
    page = drift_report.html(drift_result(params, columns), "model")
    assert page.count("<svg") == 2
    assert "<script" not in page and ">&lt;/svg&gt;&lt;script&gt;alert(1)&lt;/script&gt;<" in page
    assert ">$x^2$</text>" in page  # as written, not drawn as math
    assert f">{'y' * 39}…</text>" in page and "y" * 60 not in page
    for shown in ("reference (training)", "new data", "share of rows", "0%", "25%", "50%"):
        assert f">{shown}</text>" in page, shown
    assert ">value (bins of equal width)</text>" in page and ">10</text>" in page
    assert drift_report.html(drift_result(params, columns), "model") == page  # byte for byte


def test_drift_report_of_many_columns_stays_under_the_limit(params: Params) -> None:
    columns = {f"{HOSTILE} {index}": column(index % 2 == 0) for index in range(3_000)}
    document = drift_report.markdown(drift_result(params, columns), "model")
    assert problems(document) == []
    assert "every column is in `reports/drift.json`" in document
    assert sum(t.type == "fence" for t in tokens(document)) <= 1


@pytest.mark.parametrize("value", [HOSTILE, HUGE])
def test_model_card_shows_params_and_data_inert(params: Params, value: str) -> None:
    primary = params.model.primary_metric
    params = params.model_copy(
        update={"model": params.model.model_copy(update={"description": value, "name": value})}
    )
    result = {
        "metrics": {primary: 0.8, "segment_gap": 0.1, "test_rows": 10},
        "segments": {value: {primary: 0.8, "rows": 5}, "north": {primary: 0.7, "rows": 5}},
        "importance": {
            "metric": primary,
            "repeats": 5,
            "features": [{"feature": value, "importance": 0.1, "std": 0.01}],
        },
    }
    card = model_card(params, result, "`" + value, 100)
    assert problems(card) == [] and len(card) < 10_000
    assert card.startswith("# Model card: ")
    if value == HOSTILE:
        assert whole(card)
