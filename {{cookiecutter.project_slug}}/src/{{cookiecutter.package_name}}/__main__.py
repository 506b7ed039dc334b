"""Command line: `python -m <package> <command>`.

Each command imports only its own module, so a quick command never pays for
Great Expectations or MLflow.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from pathlib import Path

# command -> (module, function, help)
COMMANDS = {
    "check": ("check", "main", "check every value in params.yaml before any stage runs"),
{%- if cookiecutter.fleet == "yes" %}
    "ingest": ("fleet", "ingest_main", "read the data source and write data/train.parquet"),
{%- else %}
    "ingest": ("ingest", "main", "read the data source and write data/train.parquet"),
{%- endif %}
    "validate": ("validate", "main", "check the training snapshot with Great Expectations"),
{%- if cookiecutter.fleet == "yes" %}
    "members": (
        "fleet",
        "members_main",
        "train and evaluate the members of one stage whose inputs changed; log them to MLflow",
    ),
    "fleet-stages": (
        "fleet",
        "fleet_stages_main",
        "rewrite dvc.yaml's member stages from params.yaml's fleet section",
    ),
    "shards": ("fleet", "shards_main", "print the member stages as JSON, for a CI matrix"),
    "gather": (
        "gather",
        "main",
        "put the CI shard jobs' member outputs and dvc.lock entries into the workspace",
    ),
{%- else %}
    "train": ("train", "main", "fit the model and write models/model.skops"),
    "evaluate": (
        "evaluate",
        "main",
        "write metrics, plots and the model card; log the run to MLflow",
    ),
{%- endif %}
{%- if cookiecutter.fleet != "yes" %}
    "plots": ("plots", "main", "draw the plots of dvc.yaml as one offline page (dvc_plots/)"),
{%- endif %}
    "report": (
        "{{ "fleet_commands" if cookiecutter.fleet == "yes" else "report" }}",
        "{{ "report_main" if cookiecutter.fleet == "yes" else "main" }}",
        "compare the workspace with a base revision, as Markdown (PR report)",
    ),
    "promote": (
        "{{ "fleet_promote" if cookiecutter.fleet == "yes" else "promote" }}",
        "{{ "promote_main" if cookiecutter.fleet == "yes" else "main" }}",
        "gate the model against the champion; register it and move the alias",
    ),
    "rollback": (
        "{{ "fleet_promote" if cookiecutter.fleet == "yes" else "rollback" }}",
        "{{ "rollback_main" if cookiecutter.fleet == "yes" else "main" }}",
        "move the champion alias back to the previous version",
    ),
{%- if cookiecutter.fleet == "yes" %}
    "predict": (
        "fleet_commands",
        "predict_main",
        "score a CSV or Parquet file, each row with its member's model file or MLflow model",
    ),
{%- else %}
    "predict": (
        "predict",
        "main",
        "score a CSV or Parquet file with models/model.skops or an MLflow model",
    ),
{%- endif %}
    "use-data": (
        "use_data",
        "main",
        "point params.yaml and dvc.yaml at your own CSV or Parquet file",
    ),
    "ui-links": (
        "tracking",
        "ui_links_main",
        "print where this project's runs and models are in the MLflow UI",
    ),
    "drift": (
        "{{ "fleet_drift" if cookiecutter.fleet == "yes" else "drift" }}",
        "main",
        "compare the newest data with the training snapshot; say whether to retrain",
    ),
    "next-window": (
        "{{ "fleet_drift" if cookiecutter.fleet == "yes" else "drift" }}",
        "next_window_main",
        "move data.window in params.yaml forward by one, for retraining",
    ),
}


def _flag(value: str) -> bool:
    """true/false as GitHub passes inputs; empty (an event without inputs) is false."""
    if value.lower() not in {"true", "false", ""}:
        raise argparse.ArgumentTypeError(f"expected true or false, got {value!r}")
    return value.lower() == "true"


TELEMETRY_OFF = {
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "GX_ANALYTICS_ENABLED": "false",
    "DVC_NO_ANALYTICS": "1",
    "ITERATIVE_DO_NOT_TRACK": "1",
}


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog=f"python -m {__package__}",
        description="Pipeline commands; run them from the repository root.",
    )
    commands = top.add_subparsers(dest="command", required=True, metavar="command")
    for name, (_, _, text) in COMMANDS.items():
        command = commands.add_parser(name, help=text, description=text)
        if name == "report":
            command.add_argument(
                "--base", default="origin/main", help="git revision to compare with"
            )
            command.add_argument(
                "--out",
                type=Path,
                default=Path("reports/pr_report.md"),
                help="Markdown file to write",
            )
        if name == "promote":
            command.add_argument(
                "--strict", action="store_true", help="exit non-zero when the model is held back"
            )
        if name == "predict":
{%- if cookiecutter.fleet == "yes" %}
            command.add_argument(
                "--model",
                default="models/{member}.skops",
                help="each member's model, {member} standing for its name: the file"
                " (default: %(default)s) or a registered version such as"
                " models:/{{ cookiecutter.model_name }}-{member}@champion; without {member},"
                " one model scores every row",
            )
{%- else %}
            command.add_argument(
                "--model",
                required=True,
                help="models/model.skops, or models:/<name>@<alias> or models:/<name>/<version>",
            )
{%- endif %}
            command.add_argument(
                "--input", type=Path, required=True, help="CSV or Parquet to score"
            )
            command.add_argument(
                "--output", type=Path, required=True, help="CSV or Parquet to write"
            )
{%- if cookiecutter.fleet == "yes" %}
        if name == "check":
            command.add_argument(
                "--write-stages",
                action="store_true",
                help="first rewrite dvc.yaml's member stages, as fleet-stages does",
            )
        if name == "members":
            command.add_argument("stage", help="the stage in dvc.yaml, e.g. members-1")
        if name == "gather":
            command.add_argument(
                "folder", type=Path, help="one folder per stage, each a shard job's files"
            )
        if name == "rollback":
            command.add_argument("--member", required=True, help="the member to roll back")
{%- endif %}
        if name == "use-data":
            command.add_argument(
                "path", type=Path, help="the CSV or Parquet file, in the repository"
            )
            command.add_argument("--target", required=True, help="the column to predict")
{%- if cookiecutter.fleet == "yes" %}
            command.add_argument(
                "--by", help="the column whose values are the members (default: fleet.by)"
            )
{%- else %}
            command.add_argument(
                "--segment", help="a column to report metrics per segment (default: none)"
            )
{%- endif %}
            command.add_argument("--sep", help="the CSV delimiter (default: guessed)")
            command.add_argument(
                "--time", help="a date column: the split puts the newest dates in the test set"
            )
        if name == "ui-links":
            command.add_argument(
                "--ui", default="", help="the UI's address (default: MLFLOW_TRACKING_URI)"
            )
        if name == "drift":
            command.add_argument(
                "--current",
                type=Path,
                help="a CSV or Parquet sample to check instead of the data source's newest data",
            )
            command.add_argument(
                "--force",
                type=_flag,
                nargs="?",
                const=True,
                default=False,
                metavar="true|false",
                help="retrain even when no rule fires (the workflow's manual trigger)",
            )
    return top


def main(argv: list[str] | None = None) -> int:
    for key, value in TELEMETRY_OFF.items():
        os.environ.setdefault(key, value)
    args = parser().parse_args(argv)
    from .errors import PipelineError

    module_name, function, _ = COMMANDS[args.command]
    entry = getattr(importlib.import_module(f".{module_name}", __package__), function)
    options = {key: value for key, value in vars(args).items() if key != "command"}
    try:
        entry(**options)
    except PipelineError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
