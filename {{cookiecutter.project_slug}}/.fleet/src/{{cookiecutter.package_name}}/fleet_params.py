"""The fleet's section of params.yaml (its members, their overrides, shards and windows),
and Params with it: params.parse_params finds this module in a fleet bake, and
members.members resolves each member's own params with `member_params`."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import Field, model_validator

from .errors import DataError
from .params import PARAMS_FILE, Params, parse_params
from .section import Section

if TYPE_CHECKING:
    import pandas as pd

MEMBER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")


class MemberOverrides(Section):
    """What one member sets differently from the shared sections; merged key by key."""

    train: dict[str, Any] = Field(default_factory=dict)
    gate: dict[str, Any] = Field(default_factory=dict)


class FleetParams(Section):
    by: str  # the categorical column whose values are the members
    shards: int = Field(ge=1, le=256)  # DVC stages (and CI jobs) the members are grouped into
    windows: dict[str, int] = Field(default_factory=dict)  # member -> its synthetic window
    members: dict[str, MemberOverrides | None]

    @model_validator(mode="after")
    def _names(self) -> FleetParams:
        if not self.members:
            raise ValueError("fleet.members: list at least one member (a value of the `by` column)")
        bad = [name for name in self.members if not MEMBER_NAME.match(str(name))]
        if bad:
            raise ValueError(
                f"fleet.members: {bad} cannot name files and registered models; use letters,"
                " digits, '-' and '_' (at most 64 characters)"
            )
        unknown = sorted(set(self.windows) - set(self.members))
        if unknown:
            raise ValueError(f"fleet.windows: {unknown} are not members")
        return self

    def check_members(self, schema: Any) -> None:
        if self.by not in schema.categorical:
            raise ValueError(f"fleet.by: {self.by!r} is not a categorical column of data.schema")
        allowed = schema.categorical[self.by]
        strangers = sorted(set(self.members) - set(allowed)) if allowed else []
        if strangers:
            raise ValueError(
                f"fleet.members: {strangers} are not values of {self.by} (data.schema.categorical"
                f" allows {allowed}), so they would have no rows"
            )

    def overrides(self, member: str) -> MemberOverrides:
        return self.members[member] or MemberOverrides()


class FleetBakeParams(Params):
    fleet: FleetParams | None = None  # a member's own params have none

    @model_validator(mode="after")
    def _members_exist(self) -> FleetBakeParams:
        if self.fleet is not None:
            self.fleet.check_members(self.data.schema_)
        return self


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def member_params(params: Params, member: str) -> Params:
    """The member's own params: the shared ones, its overrides merged in, its model name;
    the `by` column is no feature of a member's model (it has one value there)."""
    raw = params.model_dump(by_alias=True, mode="json", exclude={"fleet"})
    over = params.fleet.overrides(member)
    if over.train.get("estimator", raw["train"]["estimator"]) != raw["train"]["estimator"]:
        raw["train"].pop("hyperparameters")  # another estimator takes other hyperparameters
    raw["train"] = _merge(raw["train"], over.train)
    raw["gate"] = _merge(raw["gate"], over.gate)
    raw["model"]["name"] = f"{params.model.name}-{member}"
    by = params.fleet.by
    schema = raw["data"]["schema"]
    schema["categorical"].pop(by, None)
    schema["segment"] = None
    raw["drift"]["critical_columns"] = [c for c in raw["drift"]["critical_columns"] if c != by]
    raw["drift"]["thresholds"].pop(by, None)
    sensitive = raw["fairness"]["sensitive_features"]
    raw["fairness"]["sensitive_features"] = [name for name in sensitive if name != by]
    return parse_params(raw, f"{PARAMS_FILE} (fleet.members.{member})")


def fleet_section(by: str, members: list[str], shards: int, kept: dict[str, dict]) -> str:
    """The `fleet:` section: one member per value of `by`, each with its overrides in `kept`."""
    lines = [
        'fleet:                     # one model per member: see README "The fleet"',
        f"  by: {json.dumps(by)}  # written by `use-data`: each of its values is a member",
        f"  shards: {min(shards, len(members))}  # DVC stages (and CI jobs) for the members",
        "  windows: {}",
        "  members:                 # every member; each may override train and gate keys",
        *(f"    {json.dumps(member)}: {json.dumps(kept.get(member, {}))}" for member in members),
        "",
    ]
    return "\n".join(lines)


FLEET_SECTION = re.compile(r"^fleet:[^\n]*\n(?:(?: .*)?\n)*", re.MULTILINE)


@dataclass(frozen=True)
class FleetData:
    """What `use-data` does for a fleet: the values of the `by` column become the members."""

    params: Params  # as they were
    by: str
    counts: pd.Series  # rows per member to be, by name

    @classmethod
    def plan(
        cls, params: Params, text: str, frame: pd.DataFrame, by: str | None, taken: tuple
    ) -> FleetData:
        """Check `by` (default: fleet.by) against the table; `taken`: target and time."""
        from .ingest import as_categories

        if params.fleet is None or FLEET_SECTION.search(text) is None:
            raise DataError(f"use-data: {PARAMS_FILE} has no top-level `fleet:` section")
        by = by or params.fleet.by
        if by not in frame.columns or by in taken:
            raise DataError(
                f"use-data: --by {by!r} must be a column other than the target and the time;"
                f" the file has {list(frame.columns)}"
            )
        counts = as_categories(frame[by]).dropna().astype(str).value_counts().sort_index()
        if counts.empty:
            raise DataError(f"use-data: --by {by!r} holds no values, so there would be no member")
        return cls(params, by, counts)

    @property
    def min_rows(self) -> int:
        return max(1, int(self.counts.min()) // 2)  # each member's own rows are checked

    def describe(
        self, numeric: list[str], categorical: dict[str, list[str]], skipped: list[str]
    ) -> tuple[list[str], dict[str, list[str]], list[str]]:
        """The columns use-data found, `by` a categorical one whose values are the members."""
        categorical = {**categorical, self.by: list(self.counts.index)}
        return (
            [c for c in numeric if c != self.by],
            categorical,
            [c for c in skipped if c != self.by],
        )

    def section(self, text: str) -> str:
        """params.yaml's text with the new fleet section (members that stay keep overrides)."""
        fleet = self.params.fleet
        kept = {m: o.model_dump(exclude_defaults=True) for m, o in fleet.members.items() if o}
        lines = fleet_section(self.by, list(self.counts.index), fleet.shards, kept)
        return FLEET_SECTION.sub(lambda _: lines, text, count=1)

    def stages(self, pipeline: str, new: Params) -> str:
        from . import shards

        return shards.write_stages(pipeline, list(self.counts.index), new.fleet.shards)

    def written(self, frame: pd.DataFrame) -> None:
        """Say what became of the members, and delete the files of those that left."""
        from . import shards

        counts, by = self.counts, self.by
        print(
            f"use-data: {len(counts)} members (the values of {by}), {counts.min():,} to"
            f" {counts.max():,} rows each -> {PARAMS_FILE} (fleet), dvc.yaml (member stages)"
        )
        unassigned = int(frame[by].isna().sum())
        if unassigned:
            print(f"use-data: {unassigned:,} rows have no {by}: no member trains on them")
        gone = [member for member in self.params.fleet.members if member not in counts.index]
        if gone:
            deleted = ", ".join(shards.forget(gone)) or "no files"
            print(
                f"use-data: {', '.join(gone)} are no longer members: deleted {deleted}"
                " (git history and the DVC cache keep them)"
            )


WINDOWS_LINE = re.compile(r"^(  windows: *)(\{.*\})(.*)$", re.MULTILINE)


def next_windows(text: str, params: Params, fired: list[str]) -> tuple[str, str]:
    """params.yaml's text with fleet.windows moved on by one for the `fired` members (comments
    kept), and what moved ("" when no member fired)."""
    if not fired:
        return text, ""
    match = WINDOWS_LINE.search(text)
    if match is None:
        raise DataError("next-window: params.yaml has no `  windows: {...}` line in its fleet")
    gone = sorted(set(fired) - set(params.fleet.members))
    if gone:
        raise DataError(f"next-window: {gone} are no longer in fleet.members; run `drift` again")
    own = params.fleet.windows
    moved = {**own, **{member: own.get(member, params.data.window) + 1 for member in fired}}
    flow = "{" + ", ".join(f"{member}: {window}" for member, window in moved.items()) + "}"
    said = ", ".join(f"{member} -> window {moved[member]}" for member in fired)
    return text[: match.start(2)] + flow + text[match.end(2) :], said
