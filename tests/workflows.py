"""Run a generated workflow for real with `act` (host mode, offline).

One harness for every workflow: each `uses:` in the workflow file is mapped
to a local stand-in in tests/act/ (an unknown action fails the run before act
starts), and the stand-ins reuse this test environment instead of installing.
Given a `FakeGitHub`, the run talks to it as a job talks to GitHub: its
GITHUB_TOKEN is a token of the fake, the real `gh` (tests/act/runner/gh) and the
CML stand-in call the fake's API, and git pushes to the fake's repository.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .conftest import ONE_THREAD
from .fake_github import BOT, FakeGitHub

STANDINS = Path(__file__).parent / "act"
STANDIN_FOR = {
    "actions/checkout": "checkout",
    "actions/create-github-app-token": "create-github-app-token",
    "actions/download-artifact": "download-artifact",
    "actions/setup-python": "setup-python",
    "actions/upload-artifact": "upload-artifact",
    "astral-sh/setup-uv": "setup-uv",
    "aws-actions/configure-aws-credentials": "configure-aws-credentials",
    "iterative/setup-cml": "setup-cml",
}
REPOSITORY = "example-org/example-repo"
REPOSITORY_PAYLOAD = {"full_name": REPOSITORY, "name": REPOSITORY.split("/")[1]}
VENV = Path(sys.executable).parent.parent  # the test environment the stand-ins reuse


@dataclass
class WorkflowRun:
    returncode: int
    output: str
    calls: list[dict[str, Any]]
    artifacts: Path

    def summary(self) -> str:
        """What the job wrote to $GITHUB_STEP_SUMMARY (act prints it in the log)."""
        return "\n".join(
            line for line in self.output.splitlines() if "Summary" in line or "|" in line
        )


def _mappings(workflow: Path) -> list[str]:
    args = []
    for action in sorted(set(re.findall(r"uses:\s*(\S+)", workflow.read_text()))):
        name, _, ref = action.partition("@")
        if name not in STANDIN_FOR:
            raise AssertionError(
                f"{workflow.name} uses {action}, which has no stand-in in tests/act/"
            )
        args += ["--local-repository", f"{name}@{ref}={STANDINS / STANDIN_FOR[name]}"]
    return args


def _network_free() -> list[str]:
    """`unshare -rn` when this machine allows it: the run then cannot reach any network."""
    unshare = shutil.which("unshare")
    if unshare and subprocess.run([unshare, "-rn", "true"], capture_output=True).returncode == 0:
        return [unshare, "-rn"]
    return []


def run_workflow(
    project: Path,
    workflow: str,
    event_name: str,
    event: dict[str, Any],
    work: Path,
    env: dict[str, str] | None = None,
    secrets: dict[str, str] | None = None,
    variables: dict[str, str] | None = None,
    network: bool = False,
    github: FakeGitHub | None = None,
) -> WorkflowRun:
    """Run `workflow` for `event`; `network=True` lets it reach servers the test started.

    With `github`, the job's token and tools talk to that fake GitHub (network implied).
    """
    work.mkdir(parents=True, exist_ok=True)
    if github is not None:
        network = True
        secrets = {"GITHUB_TOKEN": github.token(BOT), **(secrets or {})}
        env = {**github.client_env(), **(env or {})}
    else:  # GitHub gives every run a token; the docker stand-in's login needs one
        secrets = {"GITHUB_TOKEN": "token-of-this-run", **(secrets or {})}
    event_file, calls, artifacts = work / "event.json", work / "calls.jsonl", work / "artifacts"
    event_file.write_text(json.dumps(event))
    secret_file, var_file = work / "secrets.env", work / "vars.env"
    for path, values in ((secret_file, secrets), (var_file, variables)):
        path.write_text("".join(f"{key}={value}\n" for key, value in (values or {}).items()))
    calls.touch()
    home = work / "home"
    home.mkdir(exist_ok=True)
    job_env = {
        "STANDIN_VENV": str(VENV),
        "STANDIN_CALLS": str(calls),
        "STANDIN_ARTIFACTS": str(artifacts),
        "GITHUB_REPOSITORY": REPOSITORY,
        "STANDIN_ORIGIN": github.clone_url if github else str(project),
        **ONE_THREAD,  # as in the tests: the jobs share the cores with the other workers
        **(env or {}),
    }
    command = [
        *([] if network else _network_free()),
        str(Path(sys.executable).parent / "act"),
        event_name,
        "-W", f".github/workflows/{workflow}",
        "-e", str(event_file),
        "-P", "ubuntu-latest=-self-hosted",
        "--action-cache-path", str(work / "act-cache"),
        "--no-cache-server", "--pull=false", "--action-offline-mode",
        "--env-file", os.devnull, "--secret-file", str(secret_file),
        "--var-file", str(var_file), "--input-file", os.devnull,
        *_mappings(project / ".github/workflows" / workflow),
        *(arg for key, value in job_env.items() for arg in ("--env", f"{key}={value}")),
    ]  # fmt: skip
    process_env = {
        **os.environ,
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "PATH": f"{STANDINS / 'runner'}{os.pathsep}{os.environ['PATH']}",  # gh, as on runners
        "ACT_DISABLE_VERSION_CHECK": "1",
        "TERM": "dumb",
        "GIT_PAGER": "cat",
        "PAGER": "cat",
    }
    done = subprocess.run(
        command,
        cwd=project,
        env=process_env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=900,
    )
    recorded = [json.loads(line) for line in calls.read_text().splitlines() if line.strip()]
    return WorkflowRun(done.returncode, done.stdout + done.stderr, recorded, artifacts)


def script_env(github: FakeGitHub, home: Path, **env: str) -> dict[str, str]:
    """The environment a workflow's script step sees on a runner, for calling the script
    directly (no act): the runner's `gh`, a token of `github` and the repository's name."""
    return {
        **os.environ,
        **github.client_env(),
        "PATH": f"{STANDINS / 'runner'}:/usr/bin:/bin",
        "STANDIN_VENV": str(VENV),
        "HOME": str(home),
        "GITHUB_TOKEN": github.token(BOT),
        "GITHUB_REPOSITORY": REPOSITORY,
        **env,
    }


def sha(project: Path, ref: str = "HEAD") -> str:
    """The commit `ref` names in `project`."""
    return subprocess.run(
        ["git", "rev-parse", ref], cwd=project, capture_output=True, text=True, check=True
    ).stdout.strip()


def push_event(project: Path, branch: str = "main", default_branch: str = "main") -> dict:
    """A push event as GitHub sends it (a workflow_dispatch payload has the same fields)."""
    return {
        "ref": f"refs/heads/{branch}",
        "after": sha(project),
        "repository": {**REPOSITORY_PAYLOAD, "default_branch": default_branch},
    }


def pull_request_event(project: Path, base: str, head: str, number: int = 7) -> dict[str, Any]:
    """A pull_request event as GitHub sends it, for the branch `head` into `base`."""
    repo = REPOSITORY_PAYLOAD
    return {
        "action": "synchronize",
        "number": number,
        "pull_request": {
            "number": number,
            "head": {"ref": head, "sha": sha(project, head), "repo": repo},
            "base": {"ref": base, "sha": sha(project, base), "repo": repo},
        },
        "repository": {**repo, "default_branch": base},
    }
