"""The fleet's members in shards: one DVC stage each and, beyond one machine, one CI job each.

DVC pays about half a second per stage, so a stage per member is too slow at hundreds of
members; a shard stage lists its members' own params keys and outputs, so a change to one
member re-runs only its shard, and inside it the `members` command retrains only the members
whose inputs changed.

Standard library only (and .paths): the template's post-generation hook writes the first
stages with it.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from .paths import MODEL_CODE, MODELS, TRAINING_DATA, VALIDATION, member_outputs

PACKAGE = Path(__file__).parent.name  # the package folder: its name is the package's
MARKER = (
    f"  # Fleet members: written by `python -m {PACKAGE} fleet-stages` from params.yaml's fleet"
    " section;\n  # `make repro` rewrites them, so edit params.yaml, not the lines below.\n"
)
MAX_SHARDS = 256  # GitHub Actions runs at most 256 jobs per matrix
CODE = (*MODEL_CODE, "fleet.py")  # a stage re-runs when they change; members.key decides who


def assign(members: list[str], shards: int) -> list[list[str]]:
    """Contiguous runs of the sorted members, as even as can be, none empty."""
    ordered = sorted(members)
    count = max(1, min(shards, len(ordered)))
    size, extra = divmod(len(ordered), count)
    groups, start = [], 0
    for index in range(count):
        end = start + size + (1 if index < extra else 0)
        groups.append(ordered[start:end])
        start = end
    return groups


def stage_names(count: int) -> list[str]:
    width = len(str(count))
    return [f"members-{index + 1:0{width}d}" for index in range(count)]


def forget(members: list[str]) -> list[str]:
    """Delete the files of members that left the fleet, and their lines in models/.gitignore
    (which DVC does not prune); the paths deleted. Git history and the DVC cache keep them."""
    deleted, ignored = [], set()
    for member in members:
        out = member_outputs(member)
        model, reports = out.model, out.reports
        ignored.add(f"/{model.name}")
        if model.is_file():
            model.unlink()
            deleted.append(model.as_posix())
        if reports.is_dir():
            shutil.rmtree(reports)
            deleted.append(f"{reports.as_posix()}/")
    ignore = MODELS / ".gitignore"
    if ignore.is_file():
        kept = [line for line in ignore.read_text().splitlines() if line not in ignored]
        ignore.write_text("".join(f"{line}\n" for line in kept))
    return deleted


def _stage(name: str, members: list[str]) -> list[str]:
    source = f"src/{PACKAGE}"
    lines = [
        "",
        f"  {name}:",
        f'    cmd: PATH="$PWD/.venv/bin:$PATH" python -m {PACKAGE} members {name}',
        "    deps:",
        f"      - {TRAINING_DATA}",
        f"      - {VALIDATION}",
        *(f"      - {source}/{module}" for module in CODE),
        "    params:",
        "      - data.schema",
        "      - fleet.by",
        "      - model",
        "      - split",
        "      - train",
        *(f"      - fleet.members.{member}" for member in members),
        "    outs:",
    ]
    kept = ["          cache: false", "          persist: true"]  # outside DVC's cache
    metrics = []
    for member in members:
        out = member_outputs(member)
        lines += [f"      - {out.model.as_posix()}:", "          persist: true"]
        metrics += [f"      - {out.metrics.as_posix()}:", *kept]
        for path in (out.importance, out.model_card, out.run):
            lines += [f"      - {path.as_posix()}:", *kept]
    return [*lines, "    metrics:", *metrics]


def stages(members: list[str], shards: int) -> dict[str, list[str]]:
    """Stage name -> its members."""
    groups = assign(members, shards)
    return dict(zip(stage_names(len(groups)), groups, strict=True))


def write_stages(dvc_yaml: str, members: list[str], shards: int) -> str:
    """dvc.yaml's text with everything after the marker replaced by the member stages."""
    head, found, _ = dvc_yaml.partition(MARKER)
    if not found:
        raise ValueError("dvc.yaml has no fleet marker line; restore it from the template")
    body = [line for name, group in stages(members, shards).items() for line in _stage(name, group)]
    return head + MARKER + "\n".join(body).removeprefix("\n") + "\n"
