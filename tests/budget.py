"""The suite's budget: count the expensive work a run does and fail a run that does more.

Every process a test starts is classified by what it is (a bake, a workflow run under act,
a server, a bake's own test suite) and by what it printed (a pipeline that ran a train
stage: DVC's "Running stage 'train" line, or a fleet's "'members-" one, once per process
or once per act job). A bake counts once made, in process or not (one the hooks refuse
costs next to nothing). The workers' counts are summed on the controller and held against
tests/budget.json: a test that adds a bake, a training, an act run or a server start the
budget does not allow fails the run, whatever the load. The summary names the tests the
work went to (with -v, for every kind).

`--budget FILE` reads another budget (the guard's own test uses it).
"""

from __future__ import annotations

import json
import re
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

import cookiecutter.main
import pytest

BUDGET = Path(__file__).with_name("budget.json")
KINDS = {
    "bakes": "bakes (cookiecutter, in process or not)",
    "pipelines": "pipelines that ran a train stage (dvc repro, make, an act job, ...)",
    "act_runs": "workflow runs under act",
    "servers": "servers started (mlflow, moto, postgres, mlflow ui)",
    "bake_suites": "runs of a bake's own test suite",
}
TRAINED = r"Running stage '(?:train|members-)"  # a model's stage, or a fleet's shard of them
ACT_JOB = re.compile(r"^\[([^\]]+)\].*" + TRAINED, re.M)

_spent: list[tuple[str, str]] = []  # (kind, test id), in this process
_current = {"test": "(collection)"}
_RECORDS = pytest.StashKey[list]()  # on the controller: every process's records
_OVER = pytest.StashKey[list]()  # the kinds over budget
_BUDGET = pytest.StashKey[dict]()


def spend(kind: str, count: int = 1) -> None:
    assert kind in KINDS, kind
    _spent.extend([(kind, _current["test"])] * count)


def _words(args: Any) -> list[str]:
    if isinstance(args, str | bytes):
        args = str(args).split()
    return [Path(str(arg)).name for arg in args]


def classify(args: Any) -> list[str]:
    """The kinds of work a process started with `args` is."""
    words = _words(args)
    kinds = []
    if "cookiecutter" in words[:3] or words[:2] == ["cruft", "create"]:
        kinds.append("bakes")
    if "act" in words[:3]:
        kinds.append("act_runs")
    if (
        ("mlflow" in words[:1] and "server" in words)
        or "moto_server" in words[:1]
        or "mlflow-ui" in words
        or ("pg_ctl" in words and "start" in words)
    ):
        kinds.append("servers")
    if "pytest" in words[:3] or words[:2] == ["make", "test"]:
        kinds.append("bake_suites")
    return kinds


def trained(args: Any, output: str) -> int:
    """Pipelines that trained in a process's output: one per act job, else one at most."""
    if "act_runs" in classify(args):
        return len(set(ACT_JOB.findall(output)))
    return int(re.search(TRAINED, output) is not None)


_popen_init = subprocess.Popen.__init__
_communicate = subprocess.Popen.communicate
_generate = cookiecutter.main.generate_files


def _counting_init(self: subprocess.Popen, args: Any, *rest: Any, **kwargs: Any) -> None:
    for kind in classify(args):
        if kind != "bakes":  # counted once made (below)
            spend(kind)
    _popen_init(self, args, *rest, **kwargs)


def _counting_communicate(self: subprocess.Popen, *args: Any, **kwargs: Any) -> tuple:
    """subprocess.run reads a process's output here too."""
    stdout, stderr = _communicate(self, *args, **kwargs)
    spend("pipelines", trained(self.args, _text(stdout) + _text(stderr)))
    if self.returncode == 0 and "bakes" in classify(self.args):
        spend("bakes")
    return stdout, stderr


def _counting_generate(*args: Any, **kwargs: Any) -> Any:
    made = _generate(*args, **kwargs)
    spend("bakes")  # made: an answer the hooks refuse costs next to nothing
    return made


def _text(output: Any) -> str:
    if isinstance(output, bytes):
        return output.decode(errors="replace")
    return output or ""


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--budget", default=str(BUDGET), help="the budget file (JSON) to hold to")


def pytest_configure(config: pytest.Config) -> None:
    subprocess.Popen.__init__ = _counting_init  # type: ignore[method-assign]
    subprocess.Popen.communicate = _counting_communicate  # type: ignore[method-assign]
    cookiecutter.main.generate_files = _counting_generate
    config.stash[_RECORDS] = []
    config.stash[_BUDGET] = json.loads(Path(config.getoption("--budget")).read_text())


def pytest_unconfigure(config: pytest.Config) -> None:
    subprocess.Popen.__init__ = _popen_init  # type: ignore[method-assign]
    subprocess.Popen.communicate = _communicate  # type: ignore[method-assign]
    cookiecutter.main.generate_files = _generate


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item) -> Any:
    _current["test"] = item.nodeid
    try:
        return (yield)
    finally:
        _current["test"] = "(between tests)"


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """On the xdist controller: take a worker's records."""
    records = node.workeroutput.get("budget")
    if records:
        node.config.stash[_RECORDS].extend(json.loads(records))


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    config = session.config
    if hasattr(config, "workeroutput"):  # an xdist worker: hand the records over
        config.workeroutput["budget"] = json.dumps(_spent)
        return
    config.stash[_RECORDS].extend(_spent)
    spent = Counter(kind for kind, _ in config.stash[_RECORDS])
    budget = config.stash[_BUDGET]
    over = [kind for kind in KINDS if spent[kind] > budget.get(kind, 0)]
    config.stash[_OVER] = over
    if over and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    if hasattr(config, "workeroutput") or _OVER not in config.stash:
        return
    records = config.stash[_RECORDS]
    spent, budget = Counter(kind for kind, _ in records), config.stash[_BUDGET]
    write = terminalreporter.write_line
    terminalreporter.section("budget: the expensive work of this run")
    for kind, meaning in KINDS.items():
        write(f"{spent[kind]:4d} of {budget.get(kind, 0):4d}  {meaning}")
    over = config.stash[_OVER]
    for kind in KINDS if config.option.verbose > 0 else over:
        if kind in over:
            write(
                f"OVER BUDGET: {spent[kind]} {kind}, the budget ({config.getoption('--budget')}) "
                f"allows {budget.get(kind, 0)}. Share the work with an existing test or fixture, "
                "or raise the budget in the same commit and say why. Where it went:",
                red=True,
            )
        else:
            write(f"{kind} (shown with -v):")
        by_test = Counter(test for spent_kind, test in records if spent_kind == kind)
        for test, count in by_test.most_common():
            write(f"  {count:3d}  {test}")
