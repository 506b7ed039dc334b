"""Refuse bad answers before cookiecutter writes anything.

Self-contained on purpose: a hook runs in whatever interpreter runs
cookiecutter, so it may import only the standard library.
gitops_ml_answers.py runs this file's problems() and report() while the
answers are collected, before cookiecutter makes the project folder; as a
hook, it checks again the runs that do not prompt (--replay).
"""

from __future__ import annotations

import keyword
import re
import sys
import unicodedata

# tojson writes an answer that is not text (a YAML config's `model_name: yes`) as a JSON literal.
true, false, null = True, False, None

ANSWERS = {
    "task": {{ cookiecutter.task | tojson }},
    "primary_metric": {{ cookiecutter.primary_metric | tojson }},
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
NAME_LIMIT = 100  # GitHub's limit for repository names; also keeps folder names short
MODEL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
# The bucket (or container) of a cloud remote's URL, as it goes into deploy/compose.yaml.
BUCKET = re.compile(r"^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$")
# Line breaks and control characters (also U+2028 and U+2029, which YAML reads as line breaks),
# and lone surrogates (bytes that are not UTF-8).
NOT_ONE_LINE = {"Cc", "Cs", "Zl", "Zp"}
# A GitHub user (@name) or team (@org/team), as CODEOWNERS names them.
OWNER = re.compile(r"^@[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})(?:/[A-Za-z0-9._-]+)?$")
# The metrics each task computes (its task.py); the primary one decides the gate and the report.
TASK_METRICS = {
    "classification": ["roc_auc", "average_precision", "f1", "accuracy", "precision", "recall"],
    "regression": ["mae", "rmse", "wape", "r2"],
}
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


def shown(value: str) -> str:
    """`value` quoted for a message, shortened when long."""
    return repr(value) if len(value) <= 60 else f"{value[:40]!r}... ({len(value)} characters)"


def problems(answers: dict[str, object]) -> list[str]:
    found = []
    for key, value in answers.items():
        if not isinstance(value, str):
            found.append(f"{key}: {value!r} is not text; quote it in your cookiecutter config")
        elif any(
            unicodedata.category(char) in NOT_ONE_LINE or char in "\ufffe\uffff" for char in value
        ):  # U+FFFE and U+FFFF: noncharacters that YAML refuses
            found.append(f"{key}: must be one line without control characters")
    if not all(isinstance(value, str) for value in answers.values()):
        return found  # the checks below expect text
    if not answers["project_name"].strip():
        found.append("project_name: must not be empty")
    task, metric = answers["task"], answers["primary_metric"]
    if task not in TASK_METRICS:
        found.append(f"task: {shown(task)} is not one of {', '.join(TASK_METRICS)}")
    elif metric not in TASK_METRICS[task]:
        found.append(
            f"primary_metric: {shown(metric)} is not a {task} metric;"
            f" use one of {', '.join(TASK_METRICS[task])}"
        )
    slug = answers["project_slug"]
    if len(slug) > NAME_LIMIT:
        found.append(f"project_slug: {shown(slug)} is too long; use at most {NAME_LIMIT} characters")
    elif not SLUG.match(slug):
        found.append(
            f"project_slug: {shown(slug)} is not allowed; use lowercase letters, "
            "digits and single hyphens, starting with a letter (e.g. customer-churn)"
        )
    package = answers["package_name"]
    if len(package) > NAME_LIMIT:
        found.append(f"package_name: {shown(package)} is too long; use at most {NAME_LIMIT} characters")
    elif not (package.isidentifier() and package.isascii() and package == package.lower()):
        found.append(
            f"package_name: {shown(package)} is not allowed; use a lowercase Python identifier "
            "(letters, digits, underscores; e.g. customer_churn)"
        )
    elif keyword.iskeyword(package) or keyword.issoftkeyword(package):
        found.append(f"package_name: {package!r} is a Python keyword; choose another name")
    elif package in sys.stdlib_module_names or package in TAKEN_PACKAGE_NAMES:
        found.append(
            f"package_name: {package!r} would shadow the module of the same name; choose another"
        )
    model = answers["model_name"]
    if not MODEL_NAME.match(model):
        found.append(
            f"model_name: {shown(model)} is not allowed; use letters, digits, '.', "
            "'_' and '-', starting with a letter or digit (at most 128 characters)"
        )
    elif ".." in model or model.endswith((".", ".lock")):
        # git check-ref-format's rules, for the retraining branch retrain/<model_name>
        found.append(
            f"model_name: {model!r} would make retrain/{model} an invalid Git branch name; "
            "use no '..' and do not end with '.' or '.lock'"
        )
    remote, url = answers["dvc_remote"], answers["dvc_remote_url"]
    if url != url.strip() or '"' in url:
        found.append(
            f"dvc_remote_url: {shown(url)} is not allowed; use no double quotes and no spaces "
            "at either end (it goes into .dvc/config)"
        )
    elif remote in URL_SCHEMES:
        bucket = url.removeprefix(URL_SCHEMES[remote]).split("/")[0]
        if not url.startswith(URL_SCHEMES[remote]):
            found.append(
                f"dvc_remote_url: {shown(url)} must start with {URL_SCHEMES[remote]} for {remote}"
            )
        elif not BUCKET.match(bucket):
            found.append(
                f"dvc_remote_url: bucket {shown(bucket)} is not allowed; use 3 to 63 lowercase "
                f"letters, digits, '.', '-' and '_' (e.g. {URL_SCHEMES[remote]}my-bucket/store)"
            )
    elif remote == "local" and (not url or "://" in url):
        found.append(f"dvc_remote_url: {shown(url)} must be a folder path for a local remote")
    owners = answers["code_owners"].split()
    if not owners or not all(OWNER.match(owner) for owner in owners):
        found.append(
            f"code_owners: {shown(answers['code_owners'])} is not allowed; use GitHub @users or"
            " @org/teams separated by spaces (e.g. @alice @acme/ml-team)"
        )
    schedule = answers["drift_schedule"]
    error = cron_error(schedule)
    if error:
        found.append(f"drift_schedule: {shown(schedule)} is not a cron expression: {error}")
    return found


def report(found: list[str]) -> str:
    """What the user sees when answers are refused."""
    lines = [f"ERROR: {line}" for line in found]
    return "\n".join([*lines, "Nothing was written. Run cookiecutter again with corrected answers."])


def main() -> int:
    found = problems(ANSWERS)
    if found:
        print(report(found), file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
