"""Run the pre-gen hook's checks while the answers are still only in memory.

A top-level module with a name of its own: cookiecutter appends the template folder
to the end of sys.path, so a `hooks` package installed elsewhere would win over ours.

cookiecutter creates the project folder before it runs hooks/pre_gen_project.py
(a name like `../x` is made outside the output folder, one too long for the
file system ends in a traceback) and prints a traceback when the hook refuses.
cookiecutter.json renders its last variable, `__answers_checked`, through the
filter below once every answer is known, so the hook's own checks run first
and a refusal is just its message. The hook still runs as a hook, for runs
that do not prompt (--replay).
"""

from __future__ import annotations

from pathlib import Path

from cookiecutter.exceptions import FailedHookException
from jinja2 import Environment
from jinja2.ext import Extension

HOOK = Path(__file__).with_name("hooks") / "pre_gen_project.py"


class CheckAnswers(Extension):
    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        # tojson writes text as it is, not as \uXXXX: the surrogate pairs it writes for
        # characters beyond U+FFFF (emoji) are invalid in TOML and broken in YAML.
        environment.policies["json.dumps_kwargs"] = {"sort_keys": True, "ensure_ascii": False}
        environment.filters["check_answers"] = self.check_answers

    def check_answers(self, answers: dict) -> str:
        """Raise FailedHookException with the hook's message if it would refuse `answers`."""
        source = self.environment.from_string(HOOK.read_text(encoding="utf-8"))
        hook: dict = {"__name__": "pre_gen_project"}
        # backslashreplace: bytes of an answer that are not UTF-8 reach the hook's checks
        code = source.render(cookiecutter=answers).encode("utf-8", "backslashreplace")
        exec(compile(code, str(HOOK), "exec"), hook)
        found = hook["problems"](hook["ANSWERS"])
        if found:
            raise FailedHookException(hook["report"](found))
        return ""
