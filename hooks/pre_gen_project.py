"""Refuse bad answers before cookiecutter writes anything.

Self-contained on purpose: a hook runs in whatever interpreter runs
cookiecutter, so it may import only the standard library.
"""

from __future__ import annotations

import keyword
import re
import sys

ANSWERS = {
    "project_name": {{ cookiecutter.project_name | tojson }},
    "project_slug": {{ cookiecutter.project_slug | tojson }},
    "package_name": {{ cookiecutter.package_name | tojson }},
    "model_name": {{ cookiecutter.model_name | tojson }},
    "description": {{ cookiecutter.description | tojson }},
    "author_name": {{ cookiecutter.author_name | tojson }},
    "code_owners": {{ cookiecutter.code_owners | tojson }},
    "dvc_remote": {{ cookiecutter.dvc_remote | tojson }},
    "dvc_remote_url": {{ cookiecutter.dvc_remote_url | tojson }},
    "drift_schedule": {{ cookiecutter.drift_schedule | tojson }},
}

# Packages the generated project imports: a package of the same name would shadow them.
TAKEN_PACKAGE_NAMES = {
    "dvc", "mlflow", "sklearn", "pandas", "numpy", "scipy", "pyarrow", "pydantic",
    "yaml", "skops", "great_expectations", "pytest", "tests", "src",
}  # fmt: skip

SLUG = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
MODEL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
# A GitHub user (@name) or team (@org/team), as CODEOWNERS names them.
OWNER = re.compile(r"^@[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})(?:/[A-Za-z0-9._-]+)?$")
URL_SCHEMES = {"s3": "s3://", "gs": "gs://", "azure": "azure://"}

# field name, lowest value, highest value, names allowed in place of numbers
CRON_FIELDS = [
    ("minute", 0, 59, []),
    ("hour", 0, 23, []),
    ("day of month", 1, 31, []),
    ("month", 1, 12, "jan feb mar apr may jun jul aug sep oct nov dec".split()),
    ("day of week", 0, 6, "sun mon tue wed thu fri sat".split()),
]


def _cron_value(text: str, low: int, high: int, names: list[str]) -> int:
    if text.lower() in names:
        return names.index(text.lower()) + low
    if not text.isdigit() or not low <= int(text) <= high:
        raise ValueError(f"{text!r} is not a number from {low} to {high}")
    return int(text)


def cron_error(expression: str) -> str | None:
    """Return why `expression` is not a five-field cron expression, or None."""
    fields = expression.split()
    if len(fields) != len(CRON_FIELDS):
        return f"expected 5 fields (minute hour day-of-month month day-of-week), got {len(fields)}"
    for text, (name, low, high, names) in zip(fields, CRON_FIELDS):
        for part in text.split(","):
            base, _, step = part.partition("/")
            try:
                if step and (not step.isdigit() or int(step) < 1):
                    raise ValueError(f"step {step!r} is not a positive number")
                if base != "*":
                    first, _, last = base.partition("-")
                    start = _cron_value(first, low, high, names)
                    if last and _cron_value(last, low, high, names) < start:
                        raise ValueError(f"range {base!r} runs backwards")
            except ValueError as error:
                return f"{name} field {text!r}: {error}"
    return None


def problems(answers: dict[str, str]) -> list[str]:
    found = []
    for key, value in answers.items():
        if any(ord(char) < 32 for char in value):
            found.append(f"{key}: must be one line without control characters")
    if not answers["project_name"].strip():
        found.append("project_name: must not be empty")
    if not SLUG.match(answers["project_slug"]):
        found.append(
            f"project_slug: {answers['project_slug']!r} is not allowed; use lowercase letters, "
            "digits and single hyphens, starting with a letter (e.g. customer-churn)"
        )
    package = answers["package_name"]
    if not (package.isidentifier() and package.isascii() and package == package.lower()):
        found.append(
            f"package_name: {package!r} is not allowed; use a lowercase Python identifier "
            "(letters, digits, underscores; e.g. customer_churn)"
        )
    elif keyword.iskeyword(package) or keyword.issoftkeyword(package):
        found.append(f"package_name: {package!r} is a Python keyword; choose another name")
    elif package in sys.stdlib_module_names or package in TAKEN_PACKAGE_NAMES:
        found.append(
            f"package_name: {package!r} would shadow the module of the same name; choose another"
        )
    if not MODEL_NAME.match(answers["model_name"]):
        found.append(
            f"model_name: {answers['model_name']!r} is not allowed; use letters, digits, '.', "
            "'_' and '-', starting with a letter or digit (at most 128 characters)"
        )
    remote, url = answers["dvc_remote"], answers["dvc_remote_url"]
    if remote in URL_SCHEMES and not url.startswith(URL_SCHEMES[remote]):
        found.append(f"dvc_remote_url: {url!r} must start with {URL_SCHEMES[remote]} for {remote}")
    if remote == "local" and (not url.strip() or "://" in url):
        found.append(f"dvc_remote_url: {url!r} must be a folder path for a local remote")
    owners = answers["code_owners"].split()
    if not owners or not all(OWNER.match(owner) for owner in owners):
        found.append(
            f"code_owners: {answers['code_owners']!r} is not allowed; use GitHub @users or"
            " @org/teams separated by spaces (e.g. @alice @acme/ml-team)"
        )
    error = cron_error(answers["drift_schedule"])
    if error:
        found.append(f"drift_schedule: {answers['drift_schedule']!r} is not a cron expression: {error}")
    return found


def main() -> int:
    found = problems(ANSWERS)
    if not found:
        return 0
    print(f"ERROR: {found[0]}", file=sys.stderr)
    for line in found[1:]:
        print(f"ERROR: {line}", file=sys.stderr)
    print("Nothing was written. Run cookiecutter again with corrected answers.", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
