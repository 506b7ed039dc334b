"""What `serve` accepts: one record or a list of records, each holding every feature column
of params.yaml's schema (and, in a fleet, the column naming its member). A missing column or
a value of the wrong type is refused with the row and the column named; a category the model
never saw, or a number outside the schema's min/max, is scored and counted."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

import numpy as np
import pandas as pd
from pydantic import AfterValidator, ConfigDict, Field, TypeAdapter, ValidationError
from typing_extensions import TypedDict

from .ingest import as_categories
from .params import Schema

MAX_TEXT = 200  # characters in one categorical value
MAX_PROBLEMS = 20  # problems listed in one refusal


def _category(value: Any) -> Any:
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, str) and len(value) <= MAX_TEXT:
        return value
    if isinstance(value, str):
        raise ValueError(f"a category has at most {MAX_TEXT} characters")
    raise ValueError("a category must be text, a whole number, true/false or null")


NUMBER = Annotated[float | None, Field(strict=True, allow_inf_nan=False)]
CATEGORY = Annotated[Any, AfterValidator(_category)]


class Refused(ValueError):
    """A body that cannot be scored, with what is wrong in it (row, column, problem)."""

    def __init__(self, problems: list[dict[str, Any]]) -> None:
        self.problems = problems[:MAX_PROBLEMS]
        first = self.problems[0]
        where = " ".join(f"{key} {first[key]}" for key in ("row", "column") if key in first)
        super().__init__(f"{where}: {first['problem']}" if where else first["problem"])


@dataclass(frozen=True)
class Records:
    """Parses request bodies against the schema (the columns a row needs, `route` among them
    in a fleet) into one frame of features, as training saw them."""

    schema: Schema
    route: str | None = None  # the column naming each row's member

    def __post_init__(self) -> None:
        fields: dict[str, Any] = {column: NUMBER for column in self.schema.numeric}
        fields.update({column: CATEGORY for column in self.schema.categorical})
        if self.route:
            fields[self.route] = CATEGORY
        record = TypedDict("Record", fields)  # type: ignore[misc]
        record.__pydantic_config__ = ConfigDict(extra="ignore")  # type: ignore[attr-defined]
        object.__setattr__(self, "one", TypeAdapter(record))
        object.__setattr__(self, "many", TypeAdapter(list[record]))  # type: ignore[valid-type]

    def parse(self, body: bytes) -> list[dict[str, Any]]:
        """The records of a JSON body (an object or an array of objects); Refused if any is
        not a record of this schema."""
        many = body.lstrip()[:1] == b"["
        try:
            parsed = (self.many if many else self.one).validate_json(body)  # type: ignore[attr-defined]
        except ValidationError as error:
            raise Refused([_problem(found, many) for found in error.errors()]) from None
        records = parsed if many else [parsed]
        if not records:
            raise Refused([{"problem": "no records: send an object or a non-empty array"}])
        return records

    def frame(self, records: list[dict[str, Any]]) -> pd.DataFrame:
        """The records' features as a frame: numbers as floats (null as NaN), categories as
        the text training saw."""
        columns = list(self.schema.features) + ([self.route] if self.route else [])
        frame = pd.DataFrame.from_records(records, columns=list(dict.fromkeys(columns)))
        for column in self.schema.numeric:
            frame[column] = frame[column].astype(float)
        for column in self.schema.categorical:
            frame[column] = as_categories(frame[column]).astype(object)
        return frame

    def out_of_range(self, frame: pd.DataFrame) -> dict[str, int]:
        """Per numeric column, the rows below its min or above its max in params.yaml."""
        counts = {}
        for column, bounds in self.schema.numeric.items():
            values = frame[column].to_numpy(dtype=float)
            outside = np.zeros(len(values), dtype=bool)
            if bounds.min is not None:
                outside |= values < bounds.min
            if bounds.max is not None:
                outside |= values > bounds.max
            if count := int(outside.sum()):
                counts[column] = count
        return counts


def _problem(found: Any, many: bool) -> dict[str, Any]:
    """One of pydantic's errors as row, column and problem."""
    location = list(found["loc"])
    problem: dict[str, Any] = {}
    if many and location and isinstance(location[0], int):
        problem["row"] = location.pop(0)
    if location:
        problem["column"] = str(location[0])[:MAX_TEXT]
    message = str(found["msg"]).removeprefix("Value error, ")
    problem["problem"] = "required column missing" if found["type"] == "missing" else message
    return problem
