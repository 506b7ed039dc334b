"""The models `serve` answers with: one per member (a single model is a fleet of one member,
named ""), each loaded through the safe loader from a file or from the registry.

A registered version is trusted only when it holds a model the pipeline built (compared by
content, as promote compares): the workspace's, when dvc.lock records it, or the one dvc.lock
recorded at the commit the version was built from, a commit of this clone's history. When
the alias moves, the new version is checked and loaded beside the old one, then swapped in
whole: a request in flight finishes on the models it started with.
`champions` writes the checked files, and the version of each, for the scoring image.
"""

from __future__ import annotations

import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from . import lock
from .errors import DataError, PipelineError, first_line
from .files import load_model, md5, model_digest
from .members import Member, members
from .params import Params
from .paths import PIPELINE_LOCK
from .predict import model_categories
from .tracking import git_state

NAME, MEMBER = "{name}", "{member}"  # in --model: each model's registered name, member name
CHAMPION = f"models:/{NAME}@champion"
VERSIONS = "champions.json"  # beside the files `champions` writes: model name -> version


@dataclass(frozen=True)
class Served:
    """A loaded model and what a response says about it."""

    member: Member
    estimator: Any = field(repr=False)
    version: str
    seen: dict[str, set[Any]] = field(repr=False)  # the categories training saw, per column

    @property
    def name(self) -> str:
        return self.member.params.model.name


def source(spec: str, member: Member) -> str:
    """`spec` with {name} and {member} filled in for this member."""
    return spec.replace(NAME, member.params.model.name).replace(MEMBER, member.name)


def is_registered(spec: str) -> bool:
    return spec.startswith("models:/")


def load_file(path: Path, member: Member, version: str) -> Served:
    """A model file (the workspace's, or the one an image holds), through the safe loader."""
    if not path.is_file():
        raise DataError(f"{path}: no such model file; run `dvc repro` (or `dvc pull`) first")
    try:
        estimator = load_model(path, member.params.train.estimator)
    except DataError:
        raise
    except Exception as error:  # skops raises many types for a damaged file
        raise DataError(f"{path}: cannot be read: {first_line(error)}") from error
    return Served(member, estimator, version, model_categories(estimator))


class Registry:
    """The champion of each member in the MLflow registry (imported only in this mode)."""

    def __init__(self, spec: str) -> None:
        from mlflow import MlflowClient

        from . import tracking

        tracking.configure()
        self.spec = spec
        self.client = MlflowClient()

    def version(self, member: Member) -> Any | None:
        """The version the spec names now, or None when there is none (no alias yet)."""
        from . import registry

        try:
            return registry.version_of(self.client, source(self.spec, member))
        except DataError:
            return None

    def fetch(self, member: Member, version: Any, target: Path) -> None:
        """The pipeline's file holding what `version` holds, into `target` (see `trusted`)."""
        import tempfile

        from . import registry

        with tempfile.TemporaryDirectory() as folder:
            downloaded = registry.download(self.client, version, Path(folder))
            recorded = trusted(member, version, downloaded, Path(folder) / "recorded.skops")
            target.parent.mkdir(parents=True, exist_ok=True)
            if not (target.exists() and target.samefile(recorded)):
                shutil.copyfile(recorded, target)

    def load(self, member: Member, version: Any) -> Served:
        import tempfile

        with tempfile.TemporaryDirectory() as folder:
            target = Path(folder) / member.outputs.model.name
            self.fetch(member, version, target)
            return load_file(target, member, str(version.version))


def recorded(member: Member, rev: str | None) -> str | None:
    """The md5 dvc.lock records for the member's model, in the workspace or at `rev`."""
    return lock.stage_md5s((lock.read(rev) or {}).get("stages", {})).get(
        member.outputs.model.as_posix()
    )


def trusted(member: Member, version: Any, downloaded: Path, scratch: Path) -> Path:
    """A file the pipeline built that holds the same model as `version` (compared by
    content): the workspace model when dvc.lock records it (promote's own check), else the
    one dvc.lock recorded at the commit the version was built from, a commit of this clone's
    history, from the DVC cache or remote (copied into `scratch`). DataError if neither."""
    from .revisions import descends_from

    where = f"{version.name} version {version.version}"
    held = model_digest(downloaded)
    workspace = member.outputs.model.is_file() and md5(member.outputs.model) == recorded(
        member, None
    )
    if workspace and model_digest(member.outputs.model) == held:
        return member.outputs.model
    commit = str(version.tags.get("git_commit", ""))
    if not commit or descends_from(commit) is not True:
        raise DataError(
            f"{where} is not the workspace's model and was built from commit"
            f" {commit[:12] or 'unknown'}, which is not in this clone's history up to HEAD;"
            " `git pull` (or fetch it) first; not served"
        )
    expected = recorded(member, commit)
    if expected is None:
        raise DataError(
            f"{where}: {PIPELINE_LOCK} at its commit {commit[:12]} records no"
            f" {member.outputs.model} (promoted before dvc.lock was committed?); not served"
        )
    failed = lock.get_all({member.outputs.model: (expected, scratch)}, commit)
    if failed:
        raise DataError(
            f"{where}: {member.outputs.model} as of {commit[:12]}: {failed[member.outputs.model]}"
        )
    if model_digest(scratch) != held:
        raise DataError(
            f"{where} is not the model {PIPELINE_LOCK} records for {member.outputs.model}, in the"
            f" workspace or at its commit {commit[:12]}; not served"
        )
    return scratch


class Models:
    """The models being served, by member; `current` is replaced whole, never edited."""

    def __init__(self, spec: str, params: Params, label: str) -> None:
        if not is_registered(spec) and not spec.lower().endswith(".skops"):
            raise DataError(
                f"serve: --model {spec}: use models:/<name>@<alias> ({NAME} for each model's"
                f" name) or a .skops file ({MEMBER} for each member's)"
            )
        self.spec = spec
        self.label = label  # a file's version when no champions.json says it
        self.members = members(params)
        self.registry = Registry(spec) if is_registered(spec) else None
        folder = Path(source(spec, self.members[0])).parent
        self.versions = {} if self.registry else _versions(folder / VERSIONS)
        self.current: dict[str, Served] = {}
        self.refused: dict[str, str] = {}  # member -> the version last refused, and why

    def load(self) -> list[str]:
        """Load every member's model; one line per member that has none. Raises when no
        member can be served."""
        loaded, problems = {}, []
        for member in self.members:
            try:
                served = self._load(member)
            except PipelineError as error:
                problems.append(f"{_label(member)}{error}")
                continue
            if served is not None:
                loaded[member.name] = served
        if not loaded:
            raise DataError("serve: no model to serve: " + "; ".join(problems))
        self.current = loaded
        return problems

    def _load(self, member: Member) -> Served | None:
        if self.registry is None:
            label = self.versions.get(member.params.model.name, self.label)
            return load_file(Path(source(self.spec, member)), member, label)
        version = self.registry.version(member)
        if version is None:
            raise DataError(f"{source(self.spec, member)} names no version; run `make promote`")
        return self.registry.load(member, version)

    def refresh(self) -> list[Swap]:
        """Swap in each member whose alias moved, when its new version passes the checks;
        one Swap per alias move seen. A refused version is tried again after the checkout moves."""
        if self.registry is None:
            return []
        current, swaps = dict(self.current), []
        for member in self.members:
            version = self.registry.version(member)
            served = current.get(member.name)
            was = served.version if served else "none"
            if version is None or was == str(version.version):
                continue
            attempt = f"{version.version}:{git_state()['git_commit']}"  # retried on a new commit
            if self.refused.get(member.name) == attempt:
                continue
            name = member.params.model.name
            try:
                current[member.name] = self.registry.load(member, version)
            except PipelineError as error:
                self.refused[member.name] = attempt
                line = f"warning: serve: {_label(member)}kept version {was}: {error}"
                swaps.append(Swap(name, "refused", line))
                continue
            line = f"serve: {_label(member)}version {was} -> {version.version}"
            swaps.append(Swap(name, "swapped", line))
        if any(swap.outcome == "swapped" for swap in swaps):
            self.current = current
        return swaps


class Swap(NamedTuple):
    model: str
    outcome: str  # swapped or refused
    line: str


def _label(member: Member) -> str:
    return f"{member.name}: " if member.name else ""


def _versions(path: Path) -> dict[str, str]:
    if not path.is_file():
        return {}
    from .files import read_json

    found = read_json(path)
    return {str(name): str(version) for name, version in found.items()}


def champions_main(out: Path) -> None:
    """Each model's champion, checked as `serve` checks it, into `out` with champions.json:
    the files the scoring image holds. Fails when any champion cannot be checked."""
    from .files import write_json
    from .params import load_params

    models = Models(CHAMPION, load_params(), "")
    assert models.registry is not None
    versions = {}
    for member in models.members:
        version = models.registry.version(member)
        if version is None:
            print(
                f"warning: champions: {source(CHAMPION, member)}: no such version", file=sys.stderr
            )
            continue
        models.registry.fetch(member, version, out / member.outputs.model.name)
        versions[member.params.model.name] = str(version.version)
    if not versions:
        raise DataError("champions: no model has a champion yet; run `make promote` first")
    write_json(versions, out / VERSIONS)
    print(f"champions: {len(versions)} model file(s) and {VERSIONS} -> {out}")


def report(lines: list[str]) -> None:
    for line in lines:
        print(line, file=sys.stderr, flush=True)
