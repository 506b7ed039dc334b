"""The drift check's result as Markdown (the retraining PR's body) and as one HTML page.

Pure functions of the dict written to reports/drift.json; no I/O. Column names, category
values and file names come from data and params: the Markdown shows them through .markdown,
the page through html.escape.
"""

from __future__ import annotations

import math
import re
from html import escape
from typing import Any

from . import markdown as md

TEST_NAMES = {
    "ks": "KS p-value",
    "chi_square": "chi-square p-value",
    "wasserstein": "Wasserstein / std",
    "jensen_shannon": "Jensen-Shannon",
}
TRIGGER_NAMES = {
    "data_drift": "data drift",
    "performance": "performance drop",
    "new_data": "enough new data",
    "manual": "requested by hand",
}


def _number(value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:.3g}" if 0 < abs(value) < 0.001 else f"{value:.4f}"


def verdict(result: dict[str, Any], emoji: bool = True) -> str:
    """The outcome in a few words; the emoji only where GitHub renders it (Markdown)."""
    if not result["retrain"]:
        return ("✅ " if emoji else "") + "no retraining needed"
    triggers = ", ".join(TRIGGER_NAMES[t] for t in result["triggers"])
    return ("🔁 " if emoji else "") + "retraining: " + triggers


def _inline_html(line: str) -> str:
    """One line of findings() as HTML: its **bold** and `code` marks become tags."""
    marked = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", escape(line))
    return re.sub(r"(`+) ?(.+?) ?\1(?!`)", r"<code>\2</code>", marked)


def _at_most(share: float) -> str:
    """`share` rounded down to the first digits that are not all zero: 0.1538 -> 0.15."""
    digits = 2
    while digits < 6 and math.floor(share * 10**digits) == 0:
        digits += 1
    return f"{math.floor(share * 10**digits) / 10**digits:.{digits}f}"


def _near_miss(result: dict[str, Any]) -> str:
    """Which setting would have fired the data-drift rule, when columns drifted but it did not:
    the share threshold to lower it to, or the critical columns to name (as YAML to paste)."""
    near = result.get("data_drift_near_miss")
    if not near:
        return ""
    names = [*result["rules"]["critical_columns"], *near["critical_columns"]]
    critical = md.code(f"drift.critical_columns: [{', '.join(names)}]", 200)
    share = md.code(f"drift.share_threshold: {_at_most(near['share_threshold'])}")
    outcome = " too" if result["retrain"] else ", and the model would have been retrained"
    return f". With {share} (or lower) or {critical}, this rule would have fired{outcome}"


def findings(result: dict[str, Any]) -> list[str]:
    """One line per retraining rule: what was measured, against which threshold."""
    rules, columns = result["rules"], result["columns"]
    drifted = [name for name, column in columns.items() if column["drifted"]]
    critical = result["critical_drifted"]
    data = (
        f"**Data drift: {'yes' if result['drift_detected'] else 'no'}**: "
        f"{len(drifted)} of {len(columns)} columns drifted ({result['share_drifted']:.0%}; "
        f"the rule is {rules['share_threshold']:.0%})"
    )
    if critical:
        data += ", including the critical " + ", ".join(md.code(name) for name in critical[:20])
    lines = [data + _near_miss(result)]
    performance = result["performance"]
    if performance is None:
        lines.append("**Performance**: not checked, the new data has no labels")
    elif not performance.get("judged", True):
        lines.append(
            f"**Performance**: not judged: {performance['rows']:,} labelled rows, fewer than"
            f" drift.min_labelled_rows ({performance['min_rows']:,})"
        )
    else:
        lines.append(
            f"**Performance drop: {'yes' if performance['fired'] else 'no'}**: "
            f"{performance['metric']} {_number(performance['reference'])} at evaluation, "
            f"{_number(performance['current'])} on {performance['rows']:,} labelled new rows "
            f"(drop {_number(performance['drop'])}; the rule is more than "
            f"{_number(performance['threshold'])}); model {md.code(performance['model'], 200)}"
        )
    enough = "new_data" in result["triggers"]
    lines.append(
        f"**Enough new data: {'yes' if enough else 'no'}**: {result['new_rows']:,} new rows "
        f"(the rule is {rules['min_new_rows']:,})"
    )
    if "manual" in result["triggers"]:
        lines.append("**Requested by hand**: yes")
    return lines


def _notes(column: dict[str, Any]) -> str:
    return "; ".join(reason for reason in column["reasons"] if reason != column["test"])


NOTES = 160  # characters of a column's notes (unseen values are data) in the Markdown table


def markdown(result: dict[str, Any], model_name: str) -> str:
    from .drift_log import production_line, window_lines

    columns = result["columns"]
    critical = set(result["rules"]["critical_columns"])
    source = md.code(result["current"]["source"], 200)
    lines = [
        f"## Drift check of {md.code(model_name)}: {verdict(result)}",
        "",
        f"New data: {source}, {result['current']['rows']:,} rows; "
        f"reference: the training snapshot, {result['reference']['rows']:,} rows.",
        *production_line(result["current"]),
        "",
        *(f"- {line}" for line in findings(result)),
        *window_lines(result),
        "",
        "| column | type | test | statistic | threshold | drifted | notes |",
        "|---|---|---|---:|---:|:---:|---|",
    ]
    for name, column in columns.items():
        star = " (critical)" if name in critical else ""
        cell = md.code(name, cell=True)
        lines.append(
            f"| {cell}{star} | {column['type']} | {TEST_NAMES[column['test']]} | "
            f"{_number(column['statistic'])} | {_number(column['threshold'])} | "
            f"{'🔴 yes' if column['drifted'] else '🟢 no'} | {md.text(_notes(column), NOTES)} |"
        )
    scores = [column["score"] for column in columns.values()]
    top = max(2, math.ceil(max(scores, default=0)))
    lines += [
        "",
        "```mermaid",
        "xychart-beta",
        '    title "Drift score per column (1 = its threshold; drifted from 1 up)"',
        f"    x-axis [{', '.join(md.label(name) for name in columns)}]",
        f'    y-axis "score" 0 --> {top}',
        f"    bar [{', '.join(str(s) for s in scores)}]",
        f"    line [{', '.join('1' for _ in scores)}]",
        "```",
        "",
        "Distributions, reference against new, are in `reports/drift.html`"
        " (kept as the workflow run's artifact).",
    ]
    return md.cap("\n".join(lines) + "\n", where="; every column is in `reports/drift.json`")


STYLE = """
body { font: 15px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 70rem; color: #1f2328;
       padding: 0 1rem; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.1rem; margin: 0 0 .3rem; }
table { border-collapse: collapse; margin: 1rem 0; } td, th { padding: .3rem .7rem;
       border-bottom: 1px solid #d0d7de; text-align: left; } td.n { text-align: right; }
.yes { color: #cf222e; font-weight: 600; } .no { color: #1a7f37; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(30rem, 1fr)); gap: 1rem; }
.card { border: 1px solid #d0d7de; border-radius: 6px; padding: .8rem; }
.card.drifted { border-color: #cf222e; }
.legend span { display: inline-block; width: .8rem; height: .8rem; margin: 0 .3rem 0 .8rem; }
.legend .ref { background: #8c959f; } .legend .cur { background: #0969da; }
code { font-size: 90%; background: #eff1f3; padding: .1rem .3rem; border-radius: 4px; }
.card svg { max-width: 100%; height: auto; }
"""


REFERENCE, NEW = "reference (training)", "new data"  # the charts' legend


def _bars(edges: list[float], reference: list[float], current: list[float]) -> str:
    """The share of rows in each bin: the reference's bars in grey, new data's outlined in blue."""
    from .svg_chart import svg

    def draw(ax: Any) -> None:
        ax.stairs(reference, edges, fill=True, color="#8c959f", alpha=0.7, label=REFERENCE)
        ax.stairs(current, edges, color="#0969da", linewidth=1.6, label=NEW)
        ax.yaxis.set_major_formatter("{x:.0%}")
        ax.set(xlabel="value (bins of equal width)", ylabel="share of rows")
        ax.figure.legend(loc="outside upper left", ncols=2)  # above the bars, never on them

    return svg(draw, height=2.6)


def _category_bars(labels: list[str], reference: list[float], current: list[float]) -> str:
    """A pair of bars per category, its name on the left (cut to 40 characters), the shares
    at the bars' ends."""
    from .svg_chart import cut, svg

    def draw(ax: Any) -> None:
        sides = (REFERENCE, reference, "#8c959f"), (NEW, current, "#0969da")
        for offset, (side, shares, color) in enumerate(sides):
            at = [row - 0.2 + 0.4 * offset for row in range(len(labels))]
            bars = ax.barh(at, shares, height=0.4, color=color, label=side)
            ax.bar_label(bars, [f"{share:.0%}" for share in shares], padding=2, fontsize=7.5)
        ax.set_yticks(range(len(labels)), [cut(label) for label in labels])
        ax.invert_yaxis()  # the most common category on top
        ax.xaxis.set_major_formatter("{x:.0%}")
        ax.set(xlabel="share of rows")
        ax.margins(x=0.12, y=0.02)
        ax.grid(axis="y", visible=False)
        ax.figure.legend(loc="outside upper left", ncols=2)

    return svg(draw, height=1.2 + 0.3 * len(labels))


def _chart(column: dict[str, Any]) -> str:
    shape = column["distribution"]
    if not shape.get("categories", shape.get("edges")):
        return "<p>No values to draw.</p>"
    if column["type"] == "categorical":
        labels = [str(label) for label in shape["categories"]]
        return _category_bars(labels, shape["reference"], shape["current"])
    return _bars(shape["edges"], shape["reference"], shape["current"])


def html(result: dict[str, Any], model_name: str) -> str:
    title = f"Drift check of {model_name}"
    return page(title, section(result, title))


def page(title: str, body: str) -> str:
    """The whole HTML document: offline, its charts inline."""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>{STYLE}</style></head><body>
{body}
</body></html>
"""


def section(result: dict[str, Any], title: str, level: int = 1) -> str:
    """One model's drift check: verdict, findings, the table and a chart per column; its
    heading is an h`level` (a fleet's page has one section per member)."""
    columns = result["columns"]
    critical = set(result["rules"]["critical_columns"])
    rows = []
    for name, column in columns.items():
        state = "yes" if column["drifted"] else "no"
        rows.append(
            f"<tr><td>{escape(name)}{' (critical)' if name in critical else ''}</td>"
            f"<td>{column['type']}</td><td>{TEST_NAMES[column['test']]}</td>"
            f'<td class="n">{_number(column["statistic"])}</td>'
            f'<td class="n">{_number(column["threshold"])}</td>'
            f'<td class="n">{column["score"]:.2f}</td>'
            f'<td class="{state}">{state}</td><td>{escape(_notes(column))}</td></tr>'
        )
    cards = []
    for name, column in columns.items():
        missing = column["missing"]
        facts = (
            f"{TEST_NAMES[column['test']]} {_number(column['statistic'])} "
            f"(threshold {_number(column['threshold'])}); missing {missing['reference']:.1%} "
            f"→ {missing['current']:.1%}"
        )
        if column.get("unseen"):
            facts += "; unseen: " + ", ".join(f"{k} ({v:,})" for k, v in column["unseen"].items())
        cards.append(
            f'<div class="card{" drifted" if column["drifted"] else ""}">'
            f"<h{level + 1}>{escape(name)}: {'drifted' if column['drifted'] else 'stable'}"
            f"</h{level + 1}>"
            f"<div>{escape(facts)}</div>{_chart(column)}</div>"
        )
    findings_html = "".join(f"<li>{_inline_html(line)}</li>" for line in findings(result))
    outcome = "yes" if result["retrain"] else "no"
    said = escape(verdict(result, emoji=False))
    return f"""<h{level}>{escape(title)}: <span class="{outcome}">{said}</span></h{level}>
<p>New data: {escape(result["current"]["source"])}, {result["current"]["rows"]:,} rows.
Reference: the training snapshot, {result["reference"]["rows"]:,} rows.</p>
<ul>{findings_html}</ul>
<table><thead><tr><th>column</th><th>type</th><th>test</th><th>statistic</th><th>threshold</th>
<th>score</th><th>drifted</th><th>notes</th></tr></thead><tbody>{"".join(rows)}</tbody></table>
<p>Score puts every test on one scale: 1 is the column's threshold, and a drifted
column scores 1 or more.
The bars show the share of rows in each bin or category.
<span class="legend"><span class="ref"></span>reference (training)
<span class="cur"></span>new data</span></p>
<div class="grid">{"".join(cards)}</div>"""
