"""Re-lock the generated project's dependencies and the template's own.

Writes, with hashes and without index URLs, host names or local paths:
- {{cookiecutter.project_slug}}/.locks/requirements-<remote>.lock, one per dvc_remote
  choice (the post-generation hook keeps the chosen one as requirements.lock);
- {{cookiecutter.project_slug}}/serving/requirements.lock: what the serving image installs,
  at the local lock's versions;
- requirements-dev.lock: the s3 variant's pins (the local ones plus dvc-s3) and the template's
  test tools, so the tests run local and s3 bakes, and the servers they need, from one venv.

Usage: python scripts/lock.py  (needs `uv` and `jinja2` on PATH / importable)
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import jinja2

ROOT = Path(__file__).resolve().parents[1]
PROJECT = ROOT / "{{cookiecutter.project_slug}}"
LOCKS = PROJECT / ".locks"
UV_COMPILE = [
    "pip", "compile", "--universal", "--python-version", "3.11", "--generate-hashes",
    "--no-emit-index-url", "--no-emit-find-links", "--no-annotate", "--quiet",
]  # fmt: skip


ENV = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True)


def defaults(**answers: str) -> dict[str, object]:
    """The answers cookiecutter would give with --no-input, rendered in order."""
    context: dict[str, object] = {}
    for key, value in json.loads((ROOT / "cookiecutter.json").read_text()).items():
        if key.startswith("_"):
            continue
        if key in answers:
            value = answers[key]
        elif isinstance(value, list):
            value = value[0]
        context[key] = ENV.from_string(value).render(cookiecutter=context)
    return context


def uv(*args: str, command: str) -> None:
    exe = shutil.which("uv")
    if exe is None:
        sys.exit("error: uv is not on PATH (pip install uv)")
    subprocess.run([exe, *args, "--custom-compile-command", command], check=True)


def lock_project(remote: str, work: Path) -> Path:
    context = defaults(dvc_remote=remote)
    pyproject = ENV.from_string((PROJECT / "pyproject.toml").read_text())
    folder = work / remote
    folder.mkdir()
    (folder / "pyproject.toml").write_text(pyproject.render(cookiecutter=context))
    output = LOCKS / f"requirements-{remote}.lock"
    uv(
        *UV_COMPILE,
        str(folder / "pyproject.toml"),
        "--extra",
        "dev",
        "-o",
        str(output),
        command="make lock",
    )
    print(f"locked {output.relative_to(ROOT)}")
    return output


def main() -> None:
    LOCKS.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as work:
        locks = {
            remote: lock_project(remote, Path(work))
            for remote in json.loads((ROOT / "cookiecutter.json").read_text())["dvc_remote"]
        }
        serving = PROJECT / "serving" / "requirements.lock"
        uv(*UV_COMPILE, str(serving.with_suffix(".in")), "-c", str(locks["local"]), "-o",
           str(serving), command="make lock")  # fmt: skip
        print(f"locked {serving.relative_to(ROOT)}")
        dev_in = Path(work) / "dev.in"
        dev_in.write_text(f"-r {locks['s3']}\n-r {ROOT / 'requirements-dev.in'}\n")
        output = ROOT / "requirements-dev.lock"
        uv(*UV_COMPILE, str(dev_in), "-o", str(output), command="make lock")
        print(f"locked {output.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
