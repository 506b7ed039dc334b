"""The fleet's section of params.yaml (its members, their overrides, shards and windows),
and Params with it: params.parse_params finds this module in a fleet bake."""

from __future__ import annotations

import re
from typing import Any

from pydantic import Field, model_validator

from .params import Params
from .section import Section

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
