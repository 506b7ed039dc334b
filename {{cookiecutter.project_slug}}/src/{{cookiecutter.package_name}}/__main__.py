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

# command -> (module, help)
COMMANDS = {
    "ingest": ("ingest", "read the data source and write data/train.parquet"),
    "validate": ("validate", "check the training snapshot with Great Expectations"),
    "train": ("train", "fit the model and write models/model.skops"),
    "evaluate": ("evaluate", "write metrics, plots and the model card; log the run to MLflow"),
    "report": ("report", "compare the workspace with a base revision, as Markdown (PR report)"),
}

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
    for name, (_, text) in COMMANDS.items():
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
    return top


def main(argv: list[str] | None = None) -> int:
    for key, value in TELEMETRY_OFF.items():
        os.environ.setdefault(key, value)
    args = parser().parse_args(argv)
    from .errors import PipelineError

    module = importlib.import_module(f".{COMMANDS[args.command][0]}", __package__)
    options = {key: value for key, value in vars(args).items() if key != "command"}
    try:
        module.main(**options)
    except PipelineError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
