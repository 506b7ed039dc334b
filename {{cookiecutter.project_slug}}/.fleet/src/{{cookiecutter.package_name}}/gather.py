"""Beyond one machine: put the outputs of the CI shard jobs back into one workspace."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from . import lock
from .errors import DataError
from .files import md5, write_text
from .fleet import stages
from .params import load_params
from .paths import PIPELINE_LOCK, member_outputs


def main(folder: Path) -> None:
    """Beyond one machine: each CI shard job ran `dvc repro <stage>` on the data of one plan
    job and kept its dvc.lock and outputs in `folder/<stage>/`; put its members' files into
    the workspace and its stage's entry into dvc.lock, and the files into the DVC cache, so
    that the workspace is the one a single `dvc repro` would have left."""
    params = load_params()
    if not PIPELINE_LOCK.is_file():
        raise DataError(f"gather: {PIPELINE_LOCK} missing; the plan job's files come first")
    ours = lock.read()
    planned = {name: e for name, e in ours["stages"].items() if not name.startswith("members-")}
    groups = stages(params)
    single = len(groups) == 1 and (folder / PIPELINE_LOCK).is_file()  # one artifact: no subfolder
    merged, copies = dict(planned), []
    for stage, members in groups.items():
        shard = folder if single else folder / stage
        if not (shard / PIPELINE_LOCK).is_file():
            raise DataError(f"gather: no {shard / PIPELINE_LOCK}: did the job for {stage} finish?")
        theirs = lock.read(folder=shard)["stages"]
        if stage not in theirs:
            raise DataError(f"gather: {shard / PIPELINE_LOCK} has no entry for {stage}")
        for name, entry in planned.items():
            if theirs.get(name) != entry:
                raise DataError(
                    f"gather: {stage} did not run on the plan job's data: its dvc.lock entry for"
                    f" {name} differs; nothing was gathered"
                )
        recorded = lock.stage_md5s({stage: theirs[stage]})  # not a stale entry of another stage
        for member in members:
            for path in member_outputs(member).member_files():
                source = shard / path
                found = md5(source) if source.is_file() else "missing"
                if found != recorded.get(path.as_posix()):
                    raise DataError(
                        f"gather: {stage}'s {path} (md5 {found[:12]}) is not the file its"
                        " dvc.lock records; nothing was gathered"
                    )
                copies.append((source, path))
        merged[stage] = theirs[stage]
    for source, path in copies:
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, path)
    ours["stages"] = merged
    write_text(yaml.safe_dump(ours, sort_keys=False), PIPELINE_LOCK)
    # The files into this runner's DVC cache; dvc.lock must come out of it as it went in.
    done = lock.run("commit", "--force", "--quiet")
    if done.returncode != 0:
        raise DataError(f"gather: `dvc commit` failed: {done.stderr.strip()}")
    if lock.read()["stages"] != merged:
        raise DataError(
            "gather: the workspace's code, params or data are not what the shards ran on"
            " (dvc commit changed dvc.lock)"
        )
    print(
        f"gather: {len(params.fleet.members)} members from {len(groups)} stages"
        f" ({len(copies)} files) -> {PIPELINE_LOCK}"
    )
