"""Stage 2: validate the training snapshot with a Great Expectations suite built from the schema.

Great Expectations takes seconds to import, so only this stage imports it.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import pandas as pd

from . import task
from .errors import ValidationFailed
from .files import read_table, write_json
from .params import Schema
from .paths import TRAINING_DATA, VALIDATION

NUMERIC_TYPES = [
    "int8",
    "int16",
    "int32",
    "int64",
    "uint8",
    "uint16",
    "uint32",
    "float32",
    "float64",
]


def build_expectations(schema: Schema) -> list[Any]:
    """The suite's expectations, derived from the declared schema only."""
    import great_expectations.expectations as gxe

    mostly = 1.0 - schema.max_null_fraction
    expectations: list[Any] = [gxe.ExpectTableRowCountToBeBetween(min_value=schema.min_rows)]
    for column in schema.columns:
        expectations.append(gxe.ExpectColumnToExist(column=column))
    for column, bounds in schema.numeric.items():
        expectations.append(
            gxe.ExpectColumnValuesToBeInTypeList(column=column, type_list=NUMERIC_TYPES)
        )
        expectations.append(gxe.ExpectColumnValuesToNotBeNull(column=column, mostly=mostly))
        # An open bound is the largest finite float, so that inf and -inf are out of range.
        expectations.append(
            gxe.ExpectColumnValuesToBeBetween(
                column=column,
                min_value=-sys.float_info.max if bounds.min is None else bounds.min,
                max_value=sys.float_info.max if bounds.max is None else bounds.max,
            )
        )
    for column, values in schema.categorical.items():
        # ingest stores categorical columns as pandas `category`
        expectations.append(
            gxe.ExpectColumnValuesToBeOfType(column=column, type_="CategoricalDtypeType")
        )
        expectations.append(gxe.ExpectColumnValuesToNotBeNull(column=column, mostly=mostly))
        if values:
            expectations.append(gxe.ExpectColumnValuesToBeInSet(column=column, value_set=values))
    if schema.time:
        expectations.append(gxe.ExpectColumnValuesToNotBeNull(column=schema.time))
    return expectations + task.target_expectations(gxe, schema.target)


def _observed(result: dict[str, Any]) -> Any:
    if result.get("observed_value") is not None:
        return result["observed_value"]
    if result.get("unexpected_count"):
        return {
            "unexpected_count": result["unexpected_count"],
            "unexpected_percent": round(float(result.get("unexpected_percent") or 0.0), 4),
            "examples": [str(value) for value in (result.get("partial_unexpected_list") or [])[:5]],
        }
    return None


def validate(frame: pd.DataFrame, schema: Schema) -> dict[str, Any]:
    """Run the suite on `frame`; return the report written to reports/validation.json."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    batch = (
        context.data_sources.add_pandas("training")
        .add_dataframe_asset("snapshot")
        .add_batch_definition_whole_dataframe("all_rows")
    )
    suite = context.suites.add(gx.ExpectationSuite(name="training_data"))
    for expectation in build_expectations(schema):
        suite.add_expectation(expectation)
    definition = context.validation_definitions.add(
        gx.ValidationDefinition(name="training_data", data=batch, suite=suite)
    )
    result = definition.run(batch_parameters={"dataframe": frame}, result_format="SUMMARY")

    failures = []
    for item in result.results:
        if item.success:
            continue
        failures.append(
            {
                "expectation": item.expectation_config.type,
                "column": item.expectation_config.kwargs.get("column"),
                "observed": _observed(item.result),
            }
        )
    # A column of text fails its type check; its range check then says nothing more.
    mistyped = {f["column"] for f in failures if f["expectation"].endswith("_in_type_list")}
    failures = [
        failure
        for failure in failures
        if not (failure["column"] in mistyped and failure["expectation"].endswith("_be_between"))
    ]
    # GX does not keep insertion order: sort so the file diffs cleanly.
    failures.sort(key=lambda failure: (str(failure["column"]), failure["expectation"]))
    statistics = result.statistics
    return {
        "success": bool(result.success),
        "statistics": {
            "rows": len(frame),
            "columns": frame.shape[1],
            "evaluated_expectations": int(statistics["evaluated_expectations"]),
            "successful_expectations": int(statistics["successful_expectations"]),
            "unsuccessful_expectations": int(statistics["unsuccessful_expectations"]),
        },
        "failures": failures,
    }


def describe_failures(report: dict[str, Any], schema: Schema) -> str:
    lines = [
        f"validation failed: {len(report['failures'])} expectation(s) not met on {TRAINING_DATA}"
    ]
    for failure in report["failures"]:
        where = f" on {failure['column']}" if failure["column"] else ""
        line = f"  - {failure['expectation']}{where}: observed {failure['observed']}"
        if failure["expectation"] == "expect_table_row_count_to_be_between":
            line += f" rows; data.schema.min_rows asks for at least {schema.min_rows:,}"
        lines.append(line)
    lines.append(f"Details in {VALIDATION}. Training did not run; the previous model is unchanged.")
    return "\n".join(lines)


def main() -> None:
    from .params import load_params

    schema = load_params().data.schema_
    frame = read_table(TRAINING_DATA)
    report = validate(frame, schema)
    write_json(report, VALIDATION)
    if not report["success"]:
        raise ValidationFailed(describe_failures(report, schema))
    statistics = report["statistics"]
    print(
        f"validate: {statistics['evaluated_expectations']} expectations met on "
        f"{statistics['rows']:,} rows -> {VALIDATION}"
    )
