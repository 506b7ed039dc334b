"""The members: the models this project trains, each with its own params, files, registered
name and rows. Every command works on a list of them.

A single-model project has one member, named "", whose files are the project's
(models/model.skops, reports/metrics.json), whose registered name is `model.name` and whose
rows are the whole snapshot. A fleet (a bake with fleet_params.py) has one member per
`fleet.members`: its params are the shared ones with its overrides merged in (resolved once,
here), its files are models/<member>.skops and reports/<member>/, its model is registered as
`<model.name>-<member>`, and its rows are those whose `fleet.by` column holds its name.

A model's identity (its key) is what produced it: its member's params, a hash of its rows and
a hash of the code that trains and evaluates it.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import DataError
from .params import Params
from .paths import MODEL_CODE, PROJECT, Outputs, member_outputs

if TYPE_CHECKING:
    import pandas as pd

FLEET = importlib.util.find_spec(f"{__package__}.fleet_params") is not None  # a fleet bake


@dataclass(frozen=True)
class Member:
    name: str  # "" for the single model
    params: Params  # its own: model.name is its registered name
    outputs: Outputs
    window: int  # its synthetic window

    def where(self, by: str | None) -> str:
        """What a message about its rows starts with: which rows (none for the single model)."""
        return f"member {self.name!r} ({by} == {self.name!r}): " if self.name else ""


def members(params: Params) -> list[Member]:
    """The single model, or each member of params.yaml's fleet section (in its order)."""
    fleet = getattr(params, "fleet", None)
    if fleet is None:
        return [Member("", params, PROJECT, params.data.window)]
    resolve = importlib.import_module(f"{__package__}.fleet_params").member_params
    return [
        Member(
            name,
            resolve(params, name),
            member_outputs(name),
            fleet.windows.get(name, params.data.window),
        )
        for name in fleet.members
    ]


def by(params: Params) -> str | None:
    """The column that names each row's member (None: every row is the single model's)."""
    fleet = getattr(params, "fleet", None)
    return None if fleet is None else fleet.by


def find(params: Params, name: str) -> Member:
    """The member called `name` ("" for the single model)."""
    group = members(params)
    found = [member for member in group if member.name == name]
    if not found:
        known = ", ".join(member.name for member in group)
        raise DataError(f"{name!r} is not in fleet.members ({known})")
    return found[0]


def split(params: Params, frame: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Each member's rows of `frame`, in one pass over it (a member without rows is absent)."""
    column = by(params)
    if column is None:
        return {"": frame}
    return {
        str(name): rows.reset_index(drop=True)
        for name, rows in frame.groupby(frame[column].astype(str), sort=False, observed=True)
    }


def rows(parts: dict[str, pd.DataFrame], frame: pd.DataFrame, member: Member) -> pd.DataFrame:
    """`member`'s rows of a table `split` divided (none: an empty table of its columns)."""
    return parts.get(member.name, frame.iloc[:0])


def problem(member: Member, rows: pd.DataFrame) -> str | None:
    """Why these rows cannot train the member's model (too few rows, or a split that lacks a
    class or a date), or None."""
    from . import task

    schema = member.params.data.schema_
    if len(rows) < schema.min_rows:
        return f"{len(rows):,} rows; data.schema.min_rows asks for at least {schema.min_rows:,}"
    return task.split_problem(rows, member.params.split, schema)


def refuse(
    params: Params,
    group: list[Member],
    parts: dict[str, pd.DataFrame],
    frame: pd.DataFrame,
    stage: str,
    kept: str,
) -> None:
    """Stop with one line naming the first member whose rows cannot train its model, before any
    file is written (`kept` says what is left as it was)."""
    for member in group:
        found = problem(member, rows(parts, frame, member))
        if found:
            raise DataError(f"{stage}: {member.where(by(params))}{found}; {kept}")


def rows_hash(rows: pd.DataFrame) -> str:
    import pandas as pd

    return hashlib.md5(
        pd.util.hash_pandas_object(rows, index=False).to_numpy().tobytes(),
        usedforsecurity=False,
    ).hexdigest()


def code_hash() -> str:
    here = Path(__file__).parent
    digest = hashlib.md5(usedforsecurity=False)
    for name in MODEL_CODE:
        digest.update((here / name).read_bytes())
    return digest.hexdigest()


def key(params: Params, data_hash: str, code: str) -> str:
    """A model's identity: what produced it (its member's params, its rows, the code)."""
    used = params.model_dump(
        include={"model": True, "data": {"schema_"}, "split": True, "train": True}, mode="json"
    )
    text = json.dumps({"params": used, "data": data_hash, "code": code}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:32]
