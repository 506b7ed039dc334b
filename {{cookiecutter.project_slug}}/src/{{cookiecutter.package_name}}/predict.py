"""Score a CSV or Parquet file with the local model file or a registered version.

A `.skops` file, an MLflow model folder holding one, or a registered version
(`models:/<name>@<alias>`) is loaded with the project's own safe loader: only the
types a model train saves, never pickle. MLflow is imported only for a registered
version. Numeric columns holding text or infinity are refused; categories the schema
does not declare, or the model never saw, are scored (as unknown) with a warning per
column.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np
import pandas as pd

from . import task
from .errors import DataError, PipelineError, first_line
from .files import load_model, read_table, write_table
from .ingest import as_categories, count_infinite, plain_numbers
from .params import READABLE, Params, Schema, load_params
from .registry import MODEL_FILE

EXAMPLES = 3  # values quoted in a message
MEMBER = "{member}"  # in a fleet's --model: each member's name


def is_local_model(model: str) -> bool:
    """A `.skops` file path (not a URI such as models:/)."""
    if not model.lower().endswith(".skops") or Path(model).is_dir():
        return False
    return Path(model).is_file() or len(urlparse(model).scheme) <= 1  # C:\ is a path


def _examples(values: pd.Series) -> str:
    unique = list(dict.fromkeys(values.tolist()))
    quoted = ", ".join(repr(value) for value in unique[:EXAMPLES])
    return quoted + (", ..." if len(unique) > EXAMPLES else "")


def numeric_features(frame: pd.DataFrame, schema: Schema, source: Path) -> pd.DataFrame:
    """`frame` with its numeric feature columns as numbers; text in any of them is refused."""
    frame = frame.copy()
    problems, infinite = [], []
    for column in schema.numeric:
        values = frame[column]
        if pd.api.types.is_bool_dtype(values):
            numbers = pd.Series(np.nan, index=values.index)  # true/false is not a quantity
        elif pd.api.types.is_numeric_dtype(values):
            numbers = plain_numbers(values)
        else:
            numbers = pd.to_numeric(values, errors="coerce")
        bad = values[numbers.isna() & values.notna()]
        if len(bad):
            noun = "value" if len(bad) == 1 else "values"
            problems.append(
                f"{column} holds {len(bad):,} non-numeric {noun}, e.g. {_examples(bad)}"
            )
        else:
            frame[column] = numbers
        if count := count_infinite(numbers):  # training refuses them too
            infinite.append(f"{column} holds {count:,} infinite value(s)")
    if problems or infinite:
        raise DataError(f"predict: {source}: " + "; ".join(problems + infinite))
    return frame


def model_categories(model: Any) -> dict[str, set[Any]]:
    """The categories each column had in training, from the fitted encoders of a pipeline
    train builds; {} for a model of another shape."""
    try:
        transformers = model.named_steps["preprocess"].transformers_
    except (AttributeError, KeyError, TypeError):
        return {}
    known: dict[str, set[Any]] = {}
    for _, transformer, columns in transformers:
        steps = [step for _, step in getattr(transformer, "steps", [])] or [transformer]
        for step in steps:
            categories = getattr(step, "categories_", None)
            if categories is not None and isinstance(columns, list):
                known.update(
                    {
                        column: set(values)
                        for column, values in zip(columns, categories, strict=True)
                    }
                )
    return known


def unseen(frame: pd.DataFrame, schema: Schema, seen: dict[str, set[Any]]) -> dict[str, pd.Series]:
    """Per categorical column, the values the schema does not declare (an empty list allows
    any) or the model did not see in training."""
    found = {}
    for column, declared in schema.categorical.items():
        values = frame[column]
        allowed = [set(declared)] if declared else []
        if column in seen:
            allowed.append({value for value in seen[column] if pd.notna(value)})
        outside = pd.Series(False, index=values.index)
        for known in allowed:
            outside |= ~values.isin(known)
        unknown = outside & values.notna()
        if unknown.any():
            found[column] = values[unknown]
    return found


def warn_unseen(frame: pd.DataFrame, schema: Schema, seen: dict[str, set[Any]]) -> None:
    """One line per categorical column with categories the model cannot know."""
    for column, values in unseen(frame, schema, seen).items():
        print(
            f"warning: predict: {column}: {len(values):,} of {len(frame):,} rows "
            f"hold categories not declared in params.yaml or unseen in training "
            f"({_examples(values)}); scored as unknown",
            file=sys.stderr,
        )


def _reason(error: BaseException) -> str:
    """MLflow's schema errors quote the whole frame first: keep the part after `Error: `."""
    text = str(error)
    if "Error: " in text:
        text = text.rsplit("Error: ", 1)[1].split(" Hint:", 1)[0]
    return (text.strip().splitlines() or [first_line(error)])[0]


def _registered(model: str) -> Any:
    """The model a models:/ URI names, loaded from the registry through the safe loader."""
    from mlflow import MlflowClient

    from . import registry, tracking

    tracking.configure()
    try:
        client = MlflowClient()
        version = registry.version_of(client, model)
        loaded = registry.load_version(client, version)
    except DataError:
        raise
    except Exception as error:  # MLflow raises many types for a bad URI or an unreachable store
        raise PipelineError(f"cannot load {model}: {first_line(error)}") from error
    print(f"predict: {model} is {version.name} version {version.version}", file=sys.stderr)
    return loaded


def load_scorer(model: str) -> tuple[Callable[[pd.DataFrame], Any], dict[str, set[Any]]]:
    """A function from features to predictions, and the categories the model saw. Only the
    types a model train saves are loaded, from a file or the registry: nothing is unpickled."""
    folder = Path(model) / MODEL_FILE  # an MLflow model folder, as promote registers it
    local = folder if folder.is_file() else Path(model) if is_local_model(model) else None
    if local is None and not model.startswith("models:/"):
        raise DataError(
            f"predict: --model {model}: use a .skops file, a folder holding {MODEL_FILE}, "
            "models:/<name>@<alias> or models:/<name>/<version>"
        )
    try:
        estimator = load_model(local) if local else _registered(model)
    except PipelineError as error:
        raise type(error)(f"predict: {error}") from error
    except Exception as error:  # skops raises many types for a damaged file
        raise DataError(f"predict: cannot load {model}: {first_line(error)}") from error
    if not hasattr(estimator, task.RESPONSE_METHOD):
        raise DataError(f"predict: {model} holds a {type(estimator).__name__}, not a model")
    return (lambda features: task.predict(estimator, features)), model_categories(estimator)


def check_paths(input: Path, output: Path) -> None:
    if output.suffix.lower() not in READABLE:
        raise DataError(
            f"predict: {output}: unsupported file type {output.suffix!r}; use .csv or .parquet"
        )
    if output.resolve() == input.resolve():
        raise DataError(f"predict: --output {output} would overwrite the input")


def scored(frame: pd.DataFrame, model: str, params: Params, source: Path) -> dict[str, Any]:
    """The prediction columns for the rows of `frame` (read from `source`), by `model`."""
    schema = params.data.schema_
    missing = [column for column in schema.features if column not in frame.columns]
    if missing:
        raise DataError(f"predict: {source} lacks the feature columns {missing}")
    features = numeric_features(frame[schema.features], schema, source)
    features = features.assign(
        **{column: as_categories(features[column]).astype(object) for column in schema.categorical}
    )
    scorer, seen = load_scorer(model)
    warn_unseen(features, schema, seen)
    try:
        predicted = scorer(features)
    except Exception as error:  # the model's or MLflow's own checks of the input
        raise DataError(f"predict: {model} cannot score {source}: {_reason(error)}") from error
    return task.prediction_columns(predicted, params.model)


def by_member(frame: pd.DataFrame, model: str, params: Params, source: Path) -> pd.DataFrame:
    """Each row scored by its own fleet member's model (`model` with {member} filled in),
    the member being the row's `fleet.by` value; rows of no member are left unscored, with a
    warning that counts them."""
    from .members import members

    by, own = params.fleet.by, {member.name: member for member in members(params)}
    if by not in frame.columns:
        raise DataError(f"predict: {source} lacks the column {by}, which names each row's member")
    names = frame[by].astype(str).where(frame[by].notna())
    parts, strangers = [], {}
    for name, rows in frame.groupby(names, sort=False):
        if name not in own:
            strangers[name] = len(rows)
            continue
        columns = scored(rows, model.replace(MEMBER, name), own[name].params, source)
        parts.append(pd.DataFrame(columns, index=rows.index))
    if not parts:
        raise DataError(f"predict: no row of {source} has a {by} in fleet.members")
    unscored = len(frame) - sum(len(part) for part in parts)
    if unscored:
        why = [f"{count:,} of {by} {name!r}" for name, count in strangers.items()]
        if names.isna().any():
            why.insert(0, f"{int(names.isna().sum()):,} with no {by}")
        print(
            f"warning: predict: {unscored:,} of {len(frame):,} rows belong to no member"
            f" ({'; '.join(why[:4])}{'; ...' if len(why) > 4 else ''}); left unscored",
            file=sys.stderr,
        )
    return pd.concat(parts).reindex(frame.index).convert_dtypes(convert_string=False)


def main(model: str, input: Path, output: Path) -> None:
    """Score every row with `model`; in a fleet, with {member} in it, each row with its own
    member's model."""
    check_paths(input, output)
    params = load_params()
    frame = read_table(input)
    if frame.empty:
        raise DataError(f"predict: {input} has no rows to score")
    if MEMBER in model and getattr(params, "fleet", None) is not None:
        predictions = by_member(frame, model, params, input)
        done = predictions.notna().any(axis=1)
        how = f"by {frame[params.fleet.by][done].nunique()} members ({model})"
    else:
        predictions = pd.DataFrame(scored(frame, model, params, input), index=frame.index)
        done, how = pd.Series(True, index=frame.index), f"with {model}"
    write_table(frame.assign(**predictions), output)
    print(f"predict: {int(done.sum()):,} rows scored {how} -> {output}")
