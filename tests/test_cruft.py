"""Template updates: a bake made with cruft learns of a later template commit and takes it."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from .conftest import TEMPLATE, run

CRUFT = str(Path(sys.executable).parent / "cruft")


def test_cruft_check_and_update_follow_the_template(tmp_path: Path) -> None:
    template, out, scratch = tmp_path / "template", tmp_path / "out", tmp_path / "scratch"
    scratch.mkdir()
    run(["git", "clone", "-q", str(TEMPLATE), str(template)], tmp_path)
    # cruft renders in the temporary folder to compare; the bake itself goes elsewhere.
    env = {**os.environ, "TMPDIR": str(scratch)}
    run([CRUFT, "create", str(template), "--no-input", "--output-dir", str(out)], tmp_path, env=env)
    project = out / "customer-churn"
    assert (project / ".cruft.json").is_file()
    run(["git", "add", ".cruft.json"], project)
    run(["git", "commit", "-qm", "Track the template"], project)
    assert "up to date" in run([CRUFT, "check"], project, env=env).stdout

    makefile = template / "{{cookiecutter.project_slug}}" / "Makefile"
    makefile.write_text(makefile.read_text() + "\n# A later template change.\n")
    run(["git", "commit", "-qam", "Change the Makefile"], template)
    stale = run([CRUFT, "check"], project, env=env, check=False)
    assert stale.returncode == 1 and "out of date" in stale.stdout

    run([CRUFT, "update", "--skip-apply-ask"], project, env=env)
    assert (project / "Makefile").read_text().endswith("# A later template change.\n")
    assert "up to date" in run([CRUFT, "check"], project, env=env).stdout
    assert run(["git", "log", "--oneline"], project).stdout.count("\n") == 2  # nothing committed
