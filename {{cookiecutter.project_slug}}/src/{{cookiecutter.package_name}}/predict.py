"""Score a CSV or Parquet file with a registered or local model, through MLflow's pyfunc loader."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .errors import PipelineError, first_line
from .files import read_table, write_table


def main(model: str, input: Path, output: Path) -> None:
    from . import tracking
    from .params import load_params

    params = load_params()
    schema = params.data.schema_
    tracking.configure()
    import mlflow.pyfunc

    try:
        loaded = mlflow.pyfunc.load_model(model)
    except Exception as error:  # MLflow raises many types for a bad URI or an unreachable store
        raise PipelineError(f"predict: cannot load {model}: {first_line(error)}") from error
    frame = read_table(input)
    missing = [column for column in schema.features if column not in frame.columns]
    if missing:
        raise PipelineError(f"predict: {input} lacks the feature columns {missing}")
    features = frame[schema.features].astype({column: object for column in schema.categorical})
    probabilities = np.asarray(loaded.predict(features))
    scores = probabilities[:, 1] if probabilities.ndim == 2 else probabilities
    result = frame.assign(score=scores, prediction=(scores >= params.model.threshold).astype(int))
    write_table(result, output)
    print(f"predict: {len(result):,} rows scored with {model} -> {output}")
