"""Drift over the fleet: each member's newest rows against its own training rows, with the
single model's tests and rules, and one verdict per member. The drift job opens one
retraining pull request; `next-window` moves on only the members whose rules fired.
"""

from __future__ import annotations

import re
from html import escape
from pathlib import Path
from typing import Any

import pandas as pd

from . import drift, drift_rules, drift_stats
from .errors import DataError
from .files import TRAINING_DATA, read_json, write_json, write_text
from .fleet import by_member, member_params, member_rows, outputs, synthetic_rows, windows
from .markdown import cap, code, text
from .params import PARAMS_FILE, Params, load_params, parse_params
from .yaml_file import parse_yaml

SHOWN = 50  # members listed in full in the Markdown; the rest are counted


def current_data(params: Params, path: Path | None) -> tuple[pd.DataFrame, str]:
    """The newest rows: a file, or (synthetic) each member's next window."""
    if path is not None or params.data.source != "synthetic":
        return drift.current_data(params, path)
    wanted = windows(params, ahead=1)
    spread = ", ".join(f"window {window}" for window in sorted(set(wanted.values())))
    return synthetic_rows(params, wanted), f"synthetic, each member's next ({spread})"


def check_member(
    params: Params, member: str, ref: pd.DataFrame, cur: pd.DataFrame, force: bool
) -> dict[str, Any]:
    """One member's verdict: its newest rows `cur` against its training rows `ref`."""
    own = member_params(params, member)
    if cur.empty:
        return {
            "retrain": force,
            "triggers": ["manual"] if force else [],
            "new_rows": 0,
            "drift_detected": False,
            "share_drifted": 0.0,
            "drifted": [],
            "performance": None,
        }
    columns = drift_stats.check_columns(ref, cur, own.data.schema_, own.drift)
    performance = drift.check_performance(cur, own, outputs(member))
    verdict = drift_rules.decide(columns, own.drift, len(cur), performance, forced=force)
    verdict["drifted"] = [name for name, column in columns.items() if column["drifted"]]
    verdict["reference_rows"] = len(ref)
    return verdict


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
    members, fired = result["members"], result["retrain_members"]
    lines = [
        f"## Drift check of the {code(name)} fleet: {len(fired)} of {len(members)} members"
        " to retrain",
        "",
        f"New data: {code(result['current']['source'], 200)}, {result['current']['rows']:,} rows;"
        f" reference: the training snapshot, {result['reference']['rows']:,} rows.",
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


def html(markdown_text: str, name: str) -> str:
    body = escape(markdown_text)
    return (
        f"<!doctype html><meta charset=utf-8><title>Drift check of the {escape(name)} fleet"
        f"</title><pre>{body}</pre>\n"
    )


def main(current: Path | None = None, force: bool = False) -> None:
    params = load_params()
    reference, frame, source = drift.compared(params, lambda: current_data(params, current))
    members = {}
    references, currents = by_member(reference, params.fleet.by), by_member(frame, params.fleet.by)
    for member in params.fleet.members:
        ref = member_rows(references, reference, member)
        cur = member_rows(currents, frame, member)
        members[member] = check_member(params, member, ref, cur, force)
        if members[member]["retrain"]:
            print(f"drift: {member}: retrain ({_reasons(members[member])})")
    fired = [member for member, verdict in members.items() if verdict["retrain"]]
    result = {
        "retrain": bool(fired),
        "drift_detected": any(verdict["drift_detected"] for verdict in members.values()),
        "retrain_members": fired,
        "reference": {"source": str(TRAINING_DATA), "rows": len(reference)},
        "current": {"source": source, "rows": len(frame)},
        "members": members,
    }
    write_json(result, drift.DRIFT_JSON)
    text = markdown(result, params.model.name)
    write_text(text, drift.DRIFT_MD)
    write_text(html(text, params.model.name), drift.DRIFT_HTML)
    drift.github_outputs(result, text)
    print(
        f"drift: {len(fired)} of {len(members)} members to retrain"
        f" -> {drift.DRIFT_JSON}, {drift.DRIFT_MD}, {drift.DRIFT_HTML}"
    )


WINDOWS_LINE = re.compile(r"^(  windows: *)(\{.*\})(.*)$", re.MULTILINE)


def next_windows(text: str, params: Params, members: list[str]) -> str:
    """params.yaml's text with fleet.windows moved on by one for `members` (comments kept)."""
    match = WINDOWS_LINE.search(text)
    if match is None:
        raise DataError("next-window: params.yaml has no `  windows: {...}` line in its fleet")
    ahead = windows(params, ahead=1)
    gone = sorted(set(members) - set(ahead))
    if gone:
        raise DataError(f"next-window: {gone} are no longer in fleet.members; run `drift` again")
    moved = {**params.fleet.windows, **{member: ahead[member] for member in members}}
    flow = "{" + ", ".join(f"{member}: {window}" for member, window in moved.items()) + "}"
    return text[: match.start(2)] + flow + text[match.end(2) :]


def next_window_main() -> None:
    params = load_params()
    if not drift.DRIFT_JSON.is_file():
        raise DataError(f"next-window: {drift.DRIFT_JSON} missing; run `drift` first")
    fired = read_json(drift.DRIFT_JSON).get("retrain_members", [])
    if not fired:
        print("next-window: no member to retrain (reports/drift.json); params.yaml unchanged")
        return
    text = next_windows(PARAMS_FILE.read_text(encoding="utf-8"), params, fired)
    moved = parse_params(parse_yaml(text, str(PARAMS_FILE))).fleet.windows  # valid before written
    write_text(text, PARAMS_FILE)
    print(f"next-window: {', '.join(f'{m} -> window {moved[m]}' for m in fired)}")
