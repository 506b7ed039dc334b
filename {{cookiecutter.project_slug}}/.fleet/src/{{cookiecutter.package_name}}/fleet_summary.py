"""The fleet's summaries: promote's and drift's results for every member in one file, one job
summary and one line, the members that changed listed first and the rest counted."""

from __future__ import annotations

from dataclasses import asdict
from html import escape
from pathlib import Path
from typing import Any

from . import github
from .errors import PipelineError
from .files import write_json
from .markdown import cap, code, text
from .promotion import Promotion

STATES = ("promoted", "held_back", "refused", "unchanged")
SHOWN = 50  # members listed in full in the drift summary; the rest are counted
CHARTED = 10  # members to retrain whose drift check the page draws


def decision(result: Promotion | str) -> dict[str, Any]:
    """A member's entry in promotion.json; a refused member's result is the reason."""
    if isinstance(result, str):
        return {"decision": "refused", "reason": result, "promoted": False}
    state = (
        "unchanged"
        if result.promoted and result.version == result.previous_version
        else "promoted"
        if result.promoted
        else "held_back"
    )
    return {"decision": state, **asdict(result)}


def report_fleet(name: str, results: dict[str, Promotion | str], path: Path, strict: bool) -> None:
    """Write every member's promotion to `path`, the job summary and the step outputs."""
    members = {member: decision(result) for member, result in results.items()}
    for member, found in members.items():
        if found["decision"] != "unchanged":
            print(f"promote: {member}: {found['decision']}: {found['reason']}")
    by_state = {s: [m for m, r in members.items() if r["decision"] == s] for s in STATES}
    write_json({**by_state, "members": members}, path)
    github.add_summary(promotion_summary(name, members))
    github.set_outputs(alias_moved=bool(by_state["promoted"]), version="")  # the image job's
    counts = ", ".join(f"{len(names)} {s.replace('_', ' ')}" for s, names in by_state.items())
    print(f"promote: {counts} -> {path}")
    stopped = by_state["held_back"] + by_state["refused"]
    if strict and stopped:
        raise PipelineError(f"promote: held back and --strict was given: {stopped}")


def promotion_summary(name: str, results: dict[str, dict[str, Any]]) -> str:
    """Markdown for the job summary: the members that changed first, the rest counted."""
    changed = {m: r for m, r in results.items() if r["decision"] != "unchanged"}
    lines = [
        f"## Promotion of the `{name}` fleet: {len(changed)} of {len(results)} members changed",
        "",
    ]
    if changed:
        lines += ["| member | decision | version | reason |", "|---|---|---|---|"]
        for member, result in changed.items():
            reason = str(result["reason"]).replace("|", "\\|")
            lines.append(
                f"| {member} | {result['decision'].replace('_', ' ')} |"
                f" {result.get('version') or '—'} | {reason} |"
            )
    unchanged = len(results) - len(changed)
    if unchanged:
        lines += ["", f"{unchanged} members are unchanged: their champion is the model already."]
    return "\n".join(lines) + "\n"


def drift_pages(
    verdicts: dict[str, dict[str, Any]], sides: dict[str, Any], name: str
) -> tuple[dict[str, Any], str, str]:
    """drift.json's content for the fleet (one verdict per member), its Markdown and its page."""
    fired = [member for member, verdict in verdicts.items() if verdict["retrain"]]
    for member in fired:
        print(f"drift: {member}: retrain ({_reasons(verdicts[member])})")
    result = {
        "retrain": bool(fired),
        "drift_detected": any(verdict["drift_detected"] for verdict in verdicts.values()),
        "retrain_members": fired,
        **sides,
        "members": verdicts,
    }
    summary = markdown(result, name)
    return result, summary, html(result, name)


def _reasons(verdict: dict[str, Any]) -> str:
    """Why a member is retrained, as plain text (printed, and escaped in the Markdown)."""
    parts = []
    if "data_drift" in verdict["triggers"]:
        parts.append(f"data drift ({', '.join(verdict['drifted'])})")
    performance = verdict.get("performance")
    if "performance" in verdict["triggers"] and performance:
        parts.append(
            f"{performance['metric']} {performance['reference']:.4f} → {performance['current']:.4f}"
        )
    if "new_data" in verdict["triggers"]:
        parts.append(f"{verdict['new_rows']:,} new rows")
    if "manual" in verdict["triggers"]:
        parts.append("asked by hand")
    return "; ".join(parts) or "—"


def markdown(result: dict[str, Any], name: str) -> str:
    from .drift_log import production_line

    members, fired = result["members"], result["retrain_members"]
    lines = [
        f"## Drift check of the {code(name)} fleet: {len(fired)} of {len(members)} members"
        " to retrain",
        "",
        f"New data: {code(result['current']['source'], 200)}, {result['current']['rows']:,} rows;"
        f" reference: the training snapshot, {result['reference']['rows']:,} rows.",
        *production_line(result["current"]),
        "",
    ]
    if fired:
        lines += ["Retraining only these members:", "", "| member | why |", "|---|---|"]
        lines += [
            f"| {text(member)} | {text(_reasons(members[member]), 200)} |"
            for member in fired[:SHOWN]
        ]
        if len(fired) > SHOWN:
            lines.append(f"| … | and {len(fired) - SHOWN} more (reports/drift.json) |")
    quiet = [member for member in members if member not in fired]
    if quiet:
        drifted = [m for m in quiet if members[m]["drifted"]]
        lines += [
            "",
            f"No rule fired for {len(quiet)} members"
            + (
                f"; some columns drifted for {', '.join(text(m) for m in drifted[:SHOWN])}."
                if drifted
                else "."
            ),
        ]
    return cap("\n".join(lines) + "\n", where="; every member is in `reports/drift.json`")


def html(result: dict[str, Any], name: str) -> str:
    """The fleet's drift page: every member's verdict in one table, then the drift check of each
    member to retrain (at most CHARTED), with its charts."""
    from .drift_report import page, section

    members, title = result["members"], f"Drift check of the {name} fleet"
    rows = "".join(
        f"<tr><td>{escape(member)}</td><td>{'yes' if verdict['retrain'] else 'no'}</td>"
        f'<td class="n">{verdict["new_rows"]:,}</td><td>{escape(_reasons(verdict))}</td></tr>'
        for member, verdict in sorted(members.items(), key=lambda item: not item[1]["retrain"])
    )
    charted = [m for m in result["retrain_members"] if "columns" in members[m]][:CHARTED]
    sections = []
    for member in charted:
        own = members[member]
        sides = {
            "current": {"source": result["current"]["source"], "rows": own["new_rows"]},
            "reference": {"source": result["reference"]["source"], "rows": own["reference_rows"]},
        }
        sections.append(section({**own, **sides}, f"{name}-{member}", level=2))
    left = len(result["retrain_members"]) - len(charted)
    more = f"<p>{left} more members to retrain: reports/drift.json has each.</p>" * bool(left)
    body = (
        f"<h1>{escape(title)}: {len(result['retrain_members'])} of {len(members)} members to"
        f" retrain</h1><table><thead><tr><th>member</th><th>retrain</th><th>new rows</th>"
        f"<th>why</th></tr></thead><tbody>{rows}</tbody></table>{more}"
    )
    return page(title, body + "".join(sections))
