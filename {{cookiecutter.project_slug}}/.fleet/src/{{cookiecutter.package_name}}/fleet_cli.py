"""The fleet's command line: the commands only a fleet has and the arguments only a fleet
takes; every other command is the single model's, working on the members. `__main__` finds
this module in a fleet bake only."""

from __future__ import annotations

import argparse
from pathlib import Path

Commands = dict[str, tuple[str, str, str]]  # command -> (module, function, help)

OWN: Commands = {  # what only a fleet has: its stages and, beyond one machine, its CI shards
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
}
HELP = {  # what the shared commands do for a fleet
    "train": "fit every member's model (the `members` stages do it per stage)",
    "evaluate": "evaluate every member's model and log its run to MLflow",
    "predict": "score a CSV or Parquet file, each row with its member's model file or MLflow model",
    "rollback": "move one member's champion alias back to its previous version",
}
LEFT_OUT = {"plots"}  # the offline page of dvc.yaml's plots: a fleet's stages have none


def commands(single: Commands) -> Commands:
    """The shared commands (with the help a fleet needs) and the fleet's own after `validate`."""
    merged: Commands = {}
    for name, (module, function, text) in single.items():
        if name in LEFT_OUT:
            continue
        merged[name] = (module, function, HELP.get(name, text))
        if name == "validate":
            merged.update(OWN)
    return merged


def arguments(name: str, command: argparse.ArgumentParser) -> None:
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
    if name == "predict":
        command.add_argument(
            "--model",
            default="models/{member}.skops",
            help="each member's model, {member} standing for its name: the file"
            " (default: %(default)s) or a registered version such as"
            " models:/<model.name>-{member}@champion; without {member},"
            " one model scores every row",
        )
    if name == "use-data":
        command.add_argument(
            "--by", help="the column whose values are the members (default: fleet.by)"
        )
