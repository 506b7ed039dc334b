"""Check all of params.yaml before DVC runs any stage.

DVC empties a stage's outputs before its command starts, so a value that a stage
refuses would already have cost the previous model or snapshot. `make repro` and
the workflows run this first; it also checks the keys no stage reads (the gate). It imports
no scikit-learn: the hyperparameters are typed per estimator in params.yaml's model.
"""

from __future__ import annotations

from pathlib import Path

from .errors import DataError
from .params import load_params


def check() -> str:
    """Raise a one-line PipelineError for the first problem; else say what was checked."""
    params = load_params()
    schema = params.data.schema_
    if params.data.source == "file" and not Path(str(params.data.path)).is_file():
        raise DataError(f"params.yaml: data.path: {params.data.path}: file not found")
{%- if cookiecutter.fleet == "yes" %}
    from . import fleet

    checked = f"{params.train.estimator}, {len(schema.features)} features"
    return f"{checked}, source {params.data.source}, {fleet.check(params)}"
{%- else %}
    return f"{params.train.estimator}, {len(schema.features)} features, source {params.data.source}"
{%- endif %}

{% if cookiecutter.fleet == "yes" %}
def main(write_stages: bool = False) -> None:
    if write_stages:  # `make repro`: one process, not two, before DVC starts
        from . import fleet

        fleet.fleet_stages_main()
    print(f"check: params.yaml is valid ({check()})")
{%- else %}
def main() -> None:
    print(f"check: params.yaml is valid ({check()})")
{%- endif %}
