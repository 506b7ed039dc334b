"""Check all of params.yaml before DVC runs any stage.

DVC empties a stage's outputs before its command starts, so a value that a stage
refuses would already have cost the previous model or snapshot. `make repro` and
the workflows run this first; it also checks the keys no stage reads (the gate). It imports
no scikit-learn: the hyperparameters are typed per estimator in params.yaml's model.
"""

from __future__ import annotations

from pathlib import Path

from .errors import DataError
from .params import Params, load_params


def check(params: Params) -> str:
    """Raise a one-line PipelineError for the first problem; else say what was checked."""
    schema = params.data.schema_
    if params.data.source == "file" and not Path(str(params.data.path)).is_file():
        raise DataError(f"params.yaml: data.path: {params.data.path}: file not found")
    return f"{params.train.estimator}, {len(schema.features)} features, source {params.data.source}"


def main(write_stages: bool = False) -> None:
    """Check params.yaml, each member's own params and, in a fleet, dvc.yaml's member stages
    (rewritten first with `--write-stages`: `make repro` runs one process, not two)."""
    from .members import FLEET, members

    params = load_params()
    group = members(params)
    if FLEET:
        from .fleet import check_stages

        check_stages(params, write_stages)
    many = f", {len(group)} members" if FLEET else ""
    print(f"check: params.yaml is valid ({check(params)}{many})")
