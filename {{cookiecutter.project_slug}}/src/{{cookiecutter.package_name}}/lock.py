"""dvc.lock and the DVC command line, in one place: what the pipeline recorded (each output's
md5, the snapshot's hash) and the `dvc` commands the other modules run."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from .errors import DataError, PipelineError, first_line
from .paths import MODEL, PIPELINE_LOCK
from .revisions import SAFE, load, output

DVC = [sys.executable, "-m", "dvc"]  # the DVC of this environment, activated or not
CACHE = Path(".dvc/cache/files/md5")  # DVC 3's default cache: <md5[:2]>/<md5[2:]>


def read(rev: str | None = None, folder: Path = Path()) -> dict[str, Any] | None:
    """dvc.lock in the workspace (or a copy of one in `folder`), or at a git revision (rev);
    None if absent."""
    return load(rev, folder / PIPELINE_LOCK)


def stage_md5s(stages: dict[str, Any]) -> dict[str, str]:
    """Each output path of these dvc.lock stage entries, with its md5."""
    return {
        str(out["path"]): str(out["md5"])
        for stage in stages.values()
        for out in stage.get("outs", [])
        if "md5" in out
    }


def recorded_md5s(lock_text: str) -> dict[str, str]:
    """Each output path dvc.lock records, with its md5."""
    return stage_md5s((yaml.load(lock_text, Loader=SAFE) or {}).get("stages", {}))


def recorded(md5s: dict[str, str], model: Path = MODEL) -> str:
    """The md5 of `model` among `recorded_md5s`; DataError when no stage records it."""
    found = md5s.get(model.as_posix())
    if found is None:
        raise DataError(f"{PIPELINE_LOCK}: no stage records {model}; run `dvc repro`")
    return found


def data_md5(lock: dict[str, Any] | None) -> str | None:
    """The md5 of the training snapshot (ingest's output), or None."""
    try:
        return lock["stages"]["ingest"]["outs"][0]["md5"]  # type: ignore[index]
    except (KeyError, IndexError, TypeError):
        return None


def run(*args: str) -> subprocess.CompletedProcess[str]:
    """`dvc <args>`, the DVC of this environment; its output captured."""
    return subprocess.run([*DVC, *args], capture_output=True, text=True)


def stale() -> list[str]:
    """The stages and files `dvc status` finds changed (none: the pipeline is up to date)."""
    done = run("status", "--json")
    if done.returncode != 0:
        raise PipelineError(f"`dvc status` failed: {first_line(done.stderr)}")
    return sorted(json.loads(done.stdout or "{}"))


def diff(what: str, base: str) -> dict[str, Any]:
    """`dvc metrics diff` or `dvc params diff` of the workspace against `base`, as JSON."""
    extra = ["--all"] if what == "metrics" else []
    return json.loads(output([*DVC, what, "diff", base, *extra, "--json"]) or "{}")


def get_all(targets: dict[Path, tuple[str, Path]], rev: str) -> dict[Path, str]:
    """Files as git revision `rev` recorded them (path -> (its md5, where to put it)): copied
    from the DVC cache when they are there, else fetched with `dvc get` from the remote, a few
    at a time. Returns what could not be had, with why."""
    from concurrent.futures import ThreadPoolExecutor

    def one(path: Path) -> str | None:
        md5, target = targets[path]
        cached = CACHE / md5[:2] / md5[2:]
        if cached.is_file():
            shutil.copyfile(cached, target)
            return None
        done = run("get", ".", path.as_posix(), "--rev", rev, "--out", str(target))
        return None if done.returncode == 0 else f"`dvc get` failed: {first_line(done.stderr)}"

    with ThreadPoolExecutor(max_workers=4) as pool:
        found = dict(zip(targets, pool.map(one, targets), strict=True))
    return {path: error for path, error in found.items() if error}
