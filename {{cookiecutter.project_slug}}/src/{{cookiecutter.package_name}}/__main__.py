"""Command line: `python -m <package> <command>`.

Each command imports only its own module, so a quick command never pays for
Great Expectations or MLflow. A fleet bake has fleet_cli.py, which swaps in the
fleet's commands and adds the arguments only a fleet takes.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import os
import sys
from pathlib import Path

# command -> (module, function, help); a fleet bake's fleet_cli swaps in the fleet's
COMMANDS = {
    "check": ("check", "main", "check every value in params.yaml before any stage runs"),
    "ingest": ("ingest", "main", "read the data source and write data/train.parquet"),
    "validate": ("validate", "main", "check the training snapshot with Great Expectations"),
    "train": ("train", "main", "fit the model and write models/model.skops"),
    "evaluate": (
        "evaluate",
        "main",
        "write metrics, plots and the model card; log the run to MLflow",
    ),
    "plots": ("plots", "main", "draw the plots of dvc.yaml as one offline page (dvc_plots/)"),
    "report": (
        "report",
        "main",
        "compare the workspace with a base revision, as Markdown (PR report)",
    ),
    "promote": (
        "promote",
        "main",
        "gate the model against the champion; register it and move the alias",
    ),
    "rollback": ("rollback", "main", "move the champion alias back to the previous version"),
    "predict": (
        "predict",
        "main",
        "score a CSV or Parquet file with models/model.skops or an MLflow model",
    ),
    "serve": (
        "serve",
        "main",
        "answer scoring requests over HTTP with the champion (or a model file)",
    ),
    "champions": (
        "serve_models",
        "champions_main",
        "write each champion's model file, checked against dvc.lock, for the scoring image",
    ),
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
        "drift",
        "main",
        "compare the newest data with the training snapshot; say whether to retrain",
    ),
    "next-window": (
        "drift",
        "next_window_main",
        "move data.window in params.yaml forward by one (or add the labelled served rows)",
    ),
    "feedback": (
        "feedback",
        "main",
        "record labels for served requests (CSV or Parquet: request_id, label[, row])",
    ),
    "simulate": (
        "simulate",
        "main",
        "play production: send a drifting stream to a running serve; write labels for a share",
    ),
}
FLEET = importlib.util.find_spec(f"{__package__}.fleet_cli") is not None  # a fleet bake
if FLEET:
    fleet_cli = importlib.import_module(f"{__package__}.fleet_cli")
    COMMANDS = fleet_cli.commands(COMMANDS)


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
        if name == "predict" and not FLEET:
            command.add_argument(
                "--model",
                required=True,
                help="models/model.skops, or models:/<name>@<alias> or models:/<name>/<version>",
            )
        if name == "predict":
            command.add_argument(
                "--input", type=Path, required=True, help="CSV or Parquet to score"
            )
            command.add_argument(
                "--output", type=Path, required=True, help="CSV or Parquet to write"
            )
        if name == "serve":
            command.add_argument("--host", default="127.0.0.1", help="address to listen on")
            command.add_argument("--port", type=int, default=8000, help="port to listen on")
            command.add_argument(
                "--model",
                default="models:/{name}@champion",
                help="what to serve: a registered version (%(default)s; {name} is each model's"
                " registered name) or a file such as models/model.skops ({member} stands for"
                " a fleet member's name)",
            )
            command.add_argument(
                "--poll",
                type=float,
                default=10.0,
                help="seconds between looks at the registry for a moved alias (0: never)",
            )
        if name == "champions":
            command.add_argument("--out", type=Path, required=True, help="the folder to write")
        if name == "use-data":
            command.add_argument(
                "path", type=Path, help="the CSV or Parquet file, in the repository"
            )
            command.add_argument("--target", required=True, help="the column to predict")
            if not FLEET:
                command.add_argument(
                    "--segment", help="a column to report metrics per segment (default: none)"
                )
            command.add_argument("--sep", help="the CSV delimiter (default: guessed)")
            command.add_argument(
                "--time", help="a date column: the split puts the newest dates in the test set"
            )
            command.add_argument(
                "--sensitive",
                nargs="+",
                metavar="COLUMN",
                help="categorical columns whose groups fairness compares (default: none)",
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
        if name == "feedback":
            command.add_argument("path", type=Path, help="the labels' CSV or Parquet file")
        if name == "simulate":
            simulate_arguments(command)
        if FLEET:
            fleet_cli.arguments(name, command)
    return top


def simulate_arguments(command: argparse.ArgumentParser) -> None:
    command.add_argument("--url", default="http://127.0.0.1:8000", help="the serve to call")
    command.add_argument("--rows", type=int, default=5000, help="rows to send in all")
    command.add_argument("--batch", type=int, default=10, help="rows per request")
    command.add_argument(
        "--drift", type=float, default=3.0, help="synthetic windows the stream drifts ahead"
    )
    command.add_argument("--label-share", type=float, default=0.5, help="share labelled later")
    command.add_argument(
        "--labels", type=Path, default=Path("logs/labels.csv"), help="the labels file to write"
    )


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
