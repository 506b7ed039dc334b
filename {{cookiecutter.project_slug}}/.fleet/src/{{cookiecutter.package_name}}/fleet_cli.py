"""The fleet's command line: the commands a fleet runs instead of the single model's, and
the arguments only a fleet takes. `__main__` finds this module in a fleet bake only."""

from __future__ import annotations

import argparse
from pathlib import Path

Commands = dict[str, tuple[str, str, str]]  # command -> (module, function, help)

OWN: Commands = {
    "check": ("fleet_cli", "check_main", ""),
    "ingest": ("fleet", "ingest_main", ""),
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
    "report": ("fleet_commands", "report_main", ""),
    "promote": ("fleet_promote", "promote_main", ""),
    "rollback": ("fleet_promote", "rollback_main", ""),
    "predict": (
        "fleet_commands",
        "predict_main",
        "score a CSV or Parquet file, each row with its member's model file or MLflow model",
    ),
    "drift": ("fleet_drift", "main", ""),
    "next-window": ("fleet_drift", "next_window_main", ""),
}
SINGLE_MODEL_ONLY = {"train", "evaluate", "plots"}  # a fleet's members stages do these


def commands(single: Commands) -> Commands:
    """The single model's commands with the fleet's in their place (keeping a help text that
    says the same) and the fleet's own after `validate`."""
    merged: Commands = {}
    for name, (module, function, text) in single.items():
        if name in SINGLE_MODEL_ONLY:
            continue
        own = OWN.get(name)
        merged[name] = (own[0], own[1], own[2] or text) if own else (module, function, text)
        if name == "validate":
            merged.update({n: OWN[n] for n in ("members", "fleet-stages", "shards", "gather")})
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


def check_main(write_stages: bool = False) -> None:
    """`check` for a fleet: the single model's checks, then the members and their stages."""
    from . import check, fleet
    from .params import load_params

    if write_stages:  # `make repro`: one process, not two, before DVC starts
        fleet.fleet_stages_main()
    params = load_params()
    print(f"check: params.yaml is valid ({check.check(params)}, {fleet.check(params)})")
