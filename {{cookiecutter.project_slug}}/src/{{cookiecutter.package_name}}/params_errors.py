"""A params.yaml that pydantic refuses, told in one line per key: the key's full name, what
it takes, and the value it got (cut short)."""

from __future__ import annotations

import types
from typing import Any, Union, get_args, get_origin

from pydantic import ValidationError

from . import task_params
from .section import Section


def _shorten(value: Any, most: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= most else text[: most - 3] + "..."


def _kinds(annotation: Any) -> list[Any]:
    """The types an annotation allows (a union or an optional one flattened)."""
    if get_origin(annotation) in (Union, types.UnionType):
        return [kind for arg in get_args(annotation) for kind in _kinds(arg)]
    return [annotation]


def _known_keys(root: type, path: list[Any]) -> list[str]:
    """The keys the section at this path of params.yaml takes; [] if no section is there."""
    kinds: list[Any] = [root]
    for part in path:
        inner: list[Any] = []
        for kind in kinds:
            if get_origin(kind) is dict:  # keyed by a name, such as a member or a column
                inner += _kinds(get_args(kind)[1])
            elif part in _fields(kind):
                inner += _kinds(_fields(kind)[part].annotation)
        kinds = inner
    return sorted({name for kind in kinds for name in _fields(kind)})


def _fields(kind: Any) -> dict[str, Any]:
    """A section's fields by the key params.yaml spells them with; {} if kind is no section."""
    if not (isinstance(kind, type) and issubclass(kind, Section)):
        return {}
    return {field.alias or name: field for name, field in kind.model_fields.items()}


def _describe(root: type, error: dict[str, Any]) -> str:
    loc = list(error["loc"])
    estimator = None
    if loc[:1] == ["train"] and len(loc) > 1 and loc[1] in task_params.ESTIMATORS:
        estimator = loc.pop(1)  # pydantic names the member of the tagged union
    key = ".".join(str(part) for part in loc)
    if error["type"] == "union_tag_invalid":
        *others, last = [repr(name) for name in task_params.ESTIMATORS]
        names = f"{', '.join(others)} or {last}" if others else last
        return f"{key}.estimator: Input should be {names} (got {_shorten(error['ctx']['tag'])})"
    if error["type"] == "extra_forbidden":
        if estimator and loc[:2] == ["train", "hyperparameters"]:
            allowed = ", ".join(sorted(task_params.ESTIMATORS[estimator].model_fields))
            return f"{key}: unknown key for {estimator} (it takes {allowed})"
        known = ", ".join(_known_keys(root, loc[:-1]))
        return f"{key}: unknown key (it takes {known})" if known else f"{key}: unknown key"
    if error["type"] == "missing":
        return f"{key}: missing"
    if error["type"] == "value_error":  # our own checks: the message names what to change
        message = error["msg"].removeprefix("Value error, ")
        return f"{key}: {message}" if key and not message.startswith(f"{key}.") else message
    return f"{key or '(top level)'}: {error['msg']} (got {_shorten(error['input'])})"


def _is_member(part: Any) -> bool:
    """A loc part that names a member of a union (`literal['sqrt','log2']`, `constrained-float`,
    `bool`), not a key."""
    return isinstance(part, str) and (
        part in {"bool", "int", "float", "str"} or "[" in part or part.startswith("constrained-")
    )


def _merge_unions(errors: list[Any]) -> list[Any]:
    """One error per key: a value that fits no member of a union gets one message saying
    what each member wanted, not one line per member."""
    merged: dict[tuple[Any, ...], Any] = {}
    for error in errors:
        loc = tuple(part for part in error["loc"] if not _is_member(part))
        if loc in merged and loc != tuple(error["loc"]):
            wanted = error["msg"].removeprefix("Input should be ")
            merged[loc]["msg"] += f", or {wanted}"
        else:
            merged.setdefault(loc, {**error, "loc": loc})
    return list(merged.values())


def messages(root: type, error: ValidationError) -> list[str]:
    """One line per key that `root` (the Params model) refused."""
    lines = [_describe(root, detail) for detail in _merge_unions(error.errors(include_url=False))]
    return list(dict.fromkeys(lines))
