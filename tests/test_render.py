"""Level 1: what a bake contains, for the defaults and one option at a time."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

from .conftest import DEFAULT_PACKAGE, DEFAULT_SLUG, TEMPLATE, bake, run

PACKAGE_FILES = [
    "__init__.py", "__main__.py", "cells.py", "check.py", "drift.py", "drift_log.py",
    "drift_report.py", "drift_rules.py", "drift_stats.py", "errors.py", "evaluate.py",
    "feedback.py", "files.py", "gate.py", "fairness.py", "github.py", "inference_log.py",
    "ingest.py", "lock.py", "log_writer.py", "markdown.py", "members.py", "paired.py",
    "params.py", "params_errors.py", "paths.py", "plots.py", "predict.py", "production.py",
    "promote.py", "promotion.py", "registry.py", "report.py", "report_markdown.py",
    "report_model.py", "report_parts.py", "revisions.py", "rollback.py", "same_rows.py",
    "section.py", "serve.py", "serve_batch.py", "serve_input.py", "serve_log.py",
    "serve_metrics.py", "serve_models.py", "simulate.py", "svg_chart.py", "synthetic.py",
    "task.py", "task_fairness.py", "task_params.py", "task_report.py", "task_stats.py",
    "tracking.py", "train.py", "trust.py", "use_data.py", "validate.py", "yaml_file.py",
]  # fmt: skip
TEST_FILES = [
    "__init__.py", "conftest.py", "test_fairness.py", "test_inference_log.py",
    "test_markdown.py", "test_members.py", "test_pipeline.py", "test_promote.py",
    "test_report_markdown.py", "test_serve.py", "test_tracking.py",
]  # fmt: skip
# Each task's own tests (in the template's bake folder, .tasks/<task>/tests/).
TASKS_FOLDER = TEMPLATE / "{{cookiecutter.project_slug}}" / ".tasks"
TASK_TEST_FILES = {
    task: sorted(path.name for path in (TASKS_FOLDER / task / "tests").glob("*.py"))
    for task in ("classification", "regression")
}
TOP_FILES = [
    ".dvc/.gitignore", ".dvc/config", ".dvc/plots/confusion_counts.json", ".dvcignore",
    ".github/CODEOWNERS", ".github/dependabot.yml",
    ".github/scripts/pr-comment.sh", ".github/scripts/retrain-pr.sh",
    ".github/workflows/ci.yml", ".github/workflows/drift.yml", ".github/workflows/pr.yml",
    ".github/workflows/promote.yml",
    ".dockerignore", ".gitignore", ".pre-commit-config.yaml", ".python-version", "Dockerfile",
    "LICENSE", "Makefile", "README.md", "data/.gitignore", "dvc.yaml", "models/.gitignore",
    "params.yaml", "pyproject.toml", "reports/.gitkeep", "requirements.lock",
    "serving/compose.yaml", "serving/requirements.in", "serving/requirements.lock",
]  # fmt: skip


DEPLOY_FILES = ["deploy/.env.example", "deploy/README.md", "deploy/compose.yaml"]


def expected_files(package: str = DEFAULT_PACKAGE, task: str = "classification") -> list[str]:
    return sorted(
        TOP_FILES
        + [f"src/{package}/{name}" for name in PACKAGE_FILES]
        + [f"tests/{name}" for name in TEST_FILES + TASK_TEST_FILES[task]]
    )


def files_of(project: Path) -> list[str]:
    return sorted(
        str(path.relative_to(project))
        for path in project.rglob("*")
        if path.is_file() and ".git" not in path.relative_to(project).parts[:1]
    )


FLEET_FILES = [
    "src/{package}/fleet.py", "src/{package}/fleet_changes.py", "src/{package}/fleet_cli.py",
    "src/{package}/fleet_params.py", "src/{package}/fleet_report.py",
    "src/{package}/fleet_summary.py", "src/{package}/gather.py", "src/{package}/shards.py",
    "tests/test_fleet.py", "tests/test_fleet_report.py",
]  # fmt: skip
SINGLE_MODEL_FILES = [  # the hook's SINGLE_MODEL_ONLY
    "src/{package}/plots.py", "src/{package}/report_model.py",
    "src/{package}/report_markdown.py", "src/{package}/report_parts.py",
    "src/{package}/task_report.py",
    "tests/test_use_data.py", "tests/test_plots.py", "tests/test_pipeline.py",
    "tests/test_report.py", "tests/test_report_markdown.py", "tests/test_task_report.py",
]  # fmt: skip

VARIANTS = [
    {"task": "regression"},
    {"fleet": "yes"},
    {"fleet": "yes", "task": "regression"},
    {"fleet": "yes", "dvc_remote": "s3", "mlflow_tracking": "server"},
    {"task": "regression", "primary_metric": "r2"},
    {"python_version": "3.12"},
    {"python_version": "3.13"},
    {"primary_metric": "f1"},
    {"primary_metric": "average_precision"},
    {"dvc_remote": "s3"},
    {"dvc_remote": "gs"},
    {"dvc_remote": "azure"},
    {"mlflow_tracking": "server"},
    {"open_source_license": "Apache-2.0"},
    {"open_source_license": "BSD-3-Clause"},
    {"open_source_license": "Not open source"},
    {"project_name": "Acme Fraud", "author_name": "Acme Data Team"},
    {"drift_schedule": "*/30 2-4 * * MON-FRI"},
    {"description": 'Scores "risky" accounts \\ with quotes', "author_name": "O'Brien"},
    {"code_owners": "@alice @acme/ml-team"},
]


@pytest.fixture(
    scope="module",
    params=VARIANTS,
    ids=lambda answers: ",".join(f"{k}={v}" for k, v in answers.items()),
)
def variant(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> tuple[dict, Path]:
    return request.param, bake(tmp_path_factory.mktemp("variant"), **request.param)


def test_default_bake_has_exactly_the_contract_files(default_bake: Path) -> None:
    assert default_bake.name == DEFAULT_SLUG
    assert files_of(default_bake) == expected_files()


def test_bake_is_a_committed_git_repository_on_main(default_bake: Path) -> None:
    assert run(["git", "branch", "--show-current"], default_bake).stdout.strip() == "main"
    assert run(["git", "log", "--oneline"], default_bake).stdout.count("\n") == 1
    assert run(["git", "status", "--porcelain"], default_bake).stdout == ""


def test_workflow_expressions_survive_rendering(default_bake: Path) -> None:
    ci = (default_bake / ".github/workflows/ci.yml").read_text()
    assert "${{ github.ref }}" in ci
    pr = (default_bake / ".github/workflows/pr.yml").read_text()
    assert "${{ github.event.pull_request.base.sha }}" in pr
    assert set(yaml.safe_load(ci)[True]) == {"push", "pull_request"}  # PyYAML reads `on:` as True
    assert set(yaml.safe_load(pr)[True]) == {"pull_request"}
    drift = (default_bake / ".github/workflows/drift.yml").read_text()
    assert "${{ steps.app-token.outputs.token || secrets.RETRAIN_TOKEN || github.token }}" in drift
    assert f"python -m {DEFAULT_PACKAGE} next-window" in drift


@pytest.mark.parametrize("name", ["ci.yml", "drift.yml", "pr.yml", "promote.yml"])
def test_workflows_are_least_privilege_and_pinned(default_bake: Path, name: str) -> None:
    workflow = yaml.safe_load((default_bake / ".github/workflows" / name).read_text())
    assert workflow["permissions"] in ({}, {"contents": "read"})
    assert set(workflow["concurrency"]) == {"group", "cancel-in-progress"}
    assert "pull_request_target" not in workflow[True]
    for job in workflow["jobs"].values():
        assert job["timeout-minutes"] <= 60
        assert set(job.get("permissions", {}).values()) <= {"read", "write"}
        for step in job["steps"]:
            if "uses" in step:
                assert re.fullmatch(r"[\w-]+/[\w-]+@[0-9a-f]{40}", step["uses"]), step["uses"]
            if step.get("uses", "").startswith("actions/checkout@"):
                assert step["with"]["persist-credentials"] is False
            # untrusted text reaches scripts through env:, never inline
            assert "${{" not in step.get("run", ""), step["run"]


def test_workflows_install_the_uv_the_lock_pins(default_bake: Path) -> None:
    locked = re.search(r"^uv==(\S+)", (default_bake / "requirements.lock").read_text(), re.M)
    assert locked
    ours = re.search(r"^uv==(\S+)", (TEMPLATE / "requirements-dev.lock").read_text(), re.M)
    assert ours and ours.group(1) == locked.group(1)
    workflows = [default_bake / ".github/workflows" / name
                 for name in ("ci.yml", "drift.yml", "pr.yml", "promote.yml")]  # fmt: skip
    for path in [*workflows, TEMPLATE / ".github/workflows/ci.yml"]:
        name = path.name if path.is_relative_to(default_bake) else "template ci.yml"
        workflow = yaml.safe_load(path.read_text())
        setups = [
            step["with"]
            for job in workflow["jobs"].values()
            for step in job["steps"]
            if step.get("uses", "").startswith("astral-sh/setup-uv@")
        ]
        assert setups and all(setup["version"] == locked.group(1) for setup in setups), name
        cached = name != "promote.yml"  # nothing restored where a model is promoted
        assert all(setup["enable-cache"] is cached for setup in setups), name


def test_code_owners_cover_what_decides_a_promotion(default_bake: Path) -> None:
    lines = (default_bake / ".github/CODEOWNERS").read_text().splitlines()
    owned = {line.split()[0] for line in lines if line.startswith("/")}
    assert owned >= {
        "/.github/", "/dvc.yaml", "/params.yaml", "/src/", "/.dvc/config",
        "/pyproject.toml", "/.pre-commit-config.yaml", "/requirements.lock",
    }  # fmt: skip


def test_zizmor_ignores_only_the_pr_jobs_read_only_secrets(variant: tuple[dict, Path]) -> None:
    """Each ignored finding is a read-only secret of the PR job, explained in the README."""
    answers, project = variant
    for workflow in (project / ".github/workflows").glob("*.yml"):
        for line in workflow.read_text().splitlines():
            if "zizmor: ignore" in line:
                assert workflow.name == "pr.yml" and "_READ_" in line, line
                assert line.endswith("# zizmor: ignore[secrets-outside-env] read-only, see README")
    if answers.get("dvc_remote", "local") != "local":
        assert "zizmor's `secrets-outside-env`" in (project / "README.md").read_text()


def test_pr_code_never_runs_in_the_job_that_can_write(default_bake: Path) -> None:
    jobs = yaml.safe_load((default_bake / ".github/workflows/pr.yml").read_text())["jobs"]
    assert jobs["report"]["permissions"] == {"contents": "read"}
    comment = jobs["comment"]
    assert comment["permissions"] == {"contents": "read", "pull-requests": "write"}
    assert comment["needs"] == "report" and "head.repo.full_name ==" in comment["if"]
    [checkout] = [step for step in comment["steps"] if "checkout@" in step.get("uses", "")]
    assert checkout["with"]["ref"] == "${{ github.event.pull_request.base.sha }}"
    runs = [step["run"] for step in comment["steps"] if "run" in step]
    assert runs == ['.github/scripts/pr-comment.sh "$RUNNER_TEMP/reports/pr_report.md"']


def test_lock_file_pins_everything_with_hashes_and_no_location(default_bake: Path) -> None:
    pins = {}
    for path in ("requirements.lock", "serving/requirements.lock"):
        lock = (default_bake / path).read_text()
        assert_pinned_with_hashes(lock)
        pins[path] = set(re.findall(r"^([A-Za-z0-9._-]+==\S+)", lock, re.M))
    for name in ("dvc", "mlflow", "great-expectations", "scikit-learn", "pandas", "pytest", "ruff"):
        assert any(pin.startswith(f"{name}==") for pin in pins["requirements.lock"]), name
    # The image installs a part of the project's environment, at the same versions.
    assert pins["serving/requirements.lock"] < pins["requirements.lock"]
    assert not any(
        pin.startswith(("mlflow==", "dvc==")) for pin in pins["serving/requirements.lock"]
    )


def assert_pinned_with_hashes(lock: str) -> None:
    requirements = [line for line in lock.splitlines() if line and not line.startswith((" ", "#"))]
    assert len(requirements) > 20
    for line in requirements:
        assert re.match(r"^[A-Za-z0-9._-]+==\S+", line), line
    assert lock.count("--hash=sha256:") >= len(requirements)
    assert not re.search(
        r"https?://|file:|--index-url|--extra-index-url|--find-links|/tmp/|/home/|/root/|/opt/",
        lock,
    )


def test_dvc_remote_is_a_local_folder_outside_the_repo(default_bake: Path) -> None:
    config = (default_bake / ".dvc/config").read_text()
    assert "remote = storage" in config and "analytics = false" in config
    url = re.search(r"url = (.+)", config).group(1)
    # relative to .dvc/: two levels up is the folder that holds the repository
    assert url == f"../../{DEFAULT_SLUG}-dvc-storage"


def check_bake(project: Path, answers: dict) -> None:
    """Every check that holds for any bake."""
    text_files = [
        path for path in project.rglob("*") if path.is_file() and ".git" not in path.parts
    ]
    for path in text_files:
        if path.suffix in {".lock"}:
            continue
        content = path.read_text()
        for marker in ("{{", "{%", "{#", "cookiecutter."):
            if marker == "{{" and path.parent.name == "workflows":
                content = content.replace("${{", "")
            assert marker not in content, f"{marker!r} left in {path.relative_to(project)}"
    for path in project.rglob("*.y*ml"):
        assert yaml.safe_load(path.read_text()) is not None, path
    for path in project.rglob("*.json"):
        json.loads(path.read_text())
    pyproject = tomllib.loads((project / "pyproject.toml").read_text())
    assert pyproject["project"]["name"] == project.name
    ruff = [sys.executable, "-m", "ruff"]
    run([*ruff, "check", "--no-cache", "."], project)
    run([*ruff, "format", "--check", "--no-cache", "."], project)
    # Every function and class of the package is reached from a command; every module is short.
    unreachable = run([sys.executable, str(TEMPLATE / "scripts/unreachable.py"), "."], project)
    assert unreachable.stdout == "0 lines unreachable in 0 units\n"
    long = {p.name: n for p in project.glob("src/*/*.py") if (n := p.read_text().count("\n")) > 300}
    assert long == {}, long


def test_default_bake_is_clean(default_bake: Path) -> None:
    check_bake(default_bake, {})


def test_variant(variant: tuple[dict, Path]) -> None:
    answers, project = variant
    check_bake(project, answers)
    package = project.name.replace("-", "_")
    expected = expected_files(package, answers.get("task", "classification"))
    if answers.get("open_source_license") == "Not open source":
        expected.remove("LICENSE")
    if answers.get("mlflow_tracking") == "server" or answers.get("dvc_remote") == "s3":
        expected = sorted(expected + DEPLOY_FILES)
    if answers.get("mlflow_tracking") == "server":
        expected = sorted([*expected, f"src/{package}/tracking_server.py"])
    if answers.get("fleet") == "yes":
        single = [name.format(package=package) for name in SINGLE_MODEL_FILES]
        fleet = [name.format(package=package) for name in FLEET_FILES]
        expected = sorted([name for name in expected if name not in single] + fleet)
    assert files_of(project) == expected

    params = yaml.safe_load((project / "params.yaml").read_text())
    makefile = (project / "Makefile").read_text()
    config = (project / ".dvc/config").read_text()
    lock = (project / "requirements.lock").read_text()
    readme = (project / "README.md").read_text()
    tracking = (project / f"src/{package}/tracking.py").read_text()
    if "python_version" in answers:
        version = answers["python_version"]
        assert (project / ".python-version").read_text().strip() == version
        assert f"WANTED_PYTHON := {version}" in makefile
        assert (
            f'target-version = "py{version.replace(".", "")}"'
            in (project / "pyproject.toml").read_text()
        )
        done = run(["make", "check-python", f"PYTHON={sys.executable}"], project)
        assert f"warning: this project targets Python {version}" in done.stdout
    if answers.get("task") == "regression":
        bound = "min_value" if answers.get("primary_metric") == "r2" else "max_value"
        paired = {"confidence", "resamples", "require_improvement"}
        assert set(params["gate"]) == {bound, "max_regression", "max_segment_gap", *paired}
        assert params["data"]["schema"]["time"] == "week"
        assert "forecast" in (project / f"src/{package}/task.py").read_text()
    if answers.get("fleet") == "yes":
        members = sorted(params["fleet"]["members"])
        assert members == sorted(params["data"]["schema"]["categorical"]["region"])
        stages = yaml.safe_load((project / "dvc.yaml").read_text())["stages"]
        keys = [key for stage in stages.values() for key in stage.get("params", [])]
        listed = [key.removeprefix("fleet.members.") for key in keys if "members." in key]
        assert sorted(listed) == members and "train" not in stages
        assert f"`{params['model']['name']}-<member>`" in readme
    else:
        assert "fleet" not in params and "fleet" not in makefile
    if "primary_metric" in answers:
        assert params["model"]["primary_metric"] == answers["primary_metric"]
        assert f"primary metric: `{answers['primary_metric']}`" in readme
    if "dvc_remote" in answers:
        remote = answers["dvc_remote"]
        scheme = {"s3": "s3://", "gs": "gs://", "azure": "azure://"}[remote]
        assert f"url = {scheme}{project.name}-dvc/store" in config
        assert re.search(rf"^dvc-{remote}==", lock, re.MULTILINE)
        assert f"dvc[{remote}]" in (project / "pyproject.toml").read_text()
        login = {"s3": "aws-actions/configure-aws-credentials@",
                 "gs": "google-github-actions/auth@", "azure": "azure/login@"}[remote]  # fmt: skip
        fleet = ["plan", "shard"] if answers.get("fleet") == "yes" else None  # fan-out jobs
        # A fleet's promote job reads the remote too: a held-back member's champion file.
        reaching = {"pr.yml": fleet or ["report"], "promote.yml": [*(fleet or []), "promote"],
                    "drift.yml": ["drift"]}  # fmt: skip
        for name, wanted in reaching.items():
            jobs = yaml.safe_load((project / ".github/workflows" / name).read_text())["jobs"]
            for job_name, job in jobs.items():
                steps = [step.get("uses", "") for step in job["steps"]]
                if job_name in wanted:  # the jobs that reach the remote, and only those
                    assert job["permissions"]["id-token"] == "write"
                    assert sum(step.startswith(login) for step in steps) == 1, (name, steps)
                else:
                    assert "id-token" not in job["permissions"], (name, job_name)
                    assert not any(step.startswith(login) for step in steps), (name, job_name)
    else:
        assert not re.search(r"^dvc-(s3|gs|azure)==", lock, re.MULTILINE)
    if answers.get("mlflow_tracking") == "server":
        assert "tracking_server" in tracking  # tracking.EXPECTS_SERVER finds it
        assert "MLFLOW_TRACKING_URI ?=" not in makefile
    else:
        assert "export MLFLOW_TRACKING_URI ?= sqlite:///mlflow.db" in makefile
    license_text = {
        "Apache-2.0": "Apache License, Version 2.0",
        "BSD-3-Clause": "BSD 3-Clause License",
    }.get(answers.get("open_source_license", "MIT"), "MIT License")
    if answers.get("open_source_license") != "Not open source":
        assert (project / "LICENSE").read_text().startswith(("MIT", "BSD", "Copyright"))
        assert license_text in (project / "LICENSE").read_text()
    owners = answers.get("code_owners", "@your-org/ml-maintainers")
    assert f"/.github/ {owners}\n" in (project / ".github/CODEOWNERS").read_text()
    drift = yaml.safe_load((project / ".github/workflows/drift.yml").read_text())
    assert drift[True]["schedule"] == [{"cron": answers.get("drift_schedule", "0 6 * * 1")}]
    assert drift["env"]["RETRAIN_BRANCH"] == f"retrain/{params['model']['name']}"
    if "drift_schedule" in answers:
        assert f"`{answers['drift_schedule']}`" in readme
    if "description" in answers:
        assert (
            tomllib.loads((project / "pyproject.toml").read_text())["project"]["description"]
            == answers["description"]
        )
        assert params["model"]["description"] == answers["description"]


def test_a_regression_bake_has_no_trace_of_churn(tmp_path: Path) -> None:
    project = bake(tmp_path, task="regression", project_name="Shelf Demand")
    assert project.name == "shelf-demand"
    for path in project.rglob("*"):
        if path.is_file() and ".git" not in path.parts:
            text = path.read_text().lower()
            for word in ("churn", "customer", "roc_auc", "predict_proba", "classif"):
                assert word not in text, f"{word!r} in {path.relative_to(project)}"


def test_other_names_leave_no_trace_of_the_defaults(tmp_path: Path) -> None:
    project = bake(tmp_path, project_name="Acme Fraud", author_name="Acme Data Team")
    assert project.name == "acme-fraud"
    assert (project / "src/acme_fraud/__main__.py").is_file()
    for path in project.rglob("*"):
        if path.is_file() and ".git" not in path.parts:
            text = path.read_text()
            for name in ("Customer Churn", DEFAULT_SLUG, DEFAULT_PACKAGE, "Your Name"):
                assert name not in text, f"{name!r} in {path.relative_to(project)}"
    params = yaml.safe_load((project / "params.yaml").read_text())
    assert params["model"]["name"] == "acme-fraud"


TOOLS = Path(sys.executable).parent


def workflow_check_failures(project: Path, zizmor_target: str = ".") -> list[str]:
    """zizmor (auditor, its strictest persona), actionlint with shellcheck, shellcheck on the
    scripts, the GitHub workflow and Dependabot JSON schemas, hadolint on the Dockerfile and
    the Compose schema on the scoring service; the output of each that found something."""
    workflows = sorted(str(path) for path in (project / ".github/workflows").glob("*.yml"))
    scripts = sorted(str(path) for path in (project / ".github/scripts").glob("*.sh"))
    checks = [
        [TOOLS / "zizmor", "--offline", "--persona=auditor", "--no-progress", zizmor_target],
        [TOOLS / "actionlint", "-shellcheck", TOOLS / "shellcheck", *workflows],
        *([[TOOLS / "shellcheck", *scripts]] if scripts else []),
        [TOOLS / "check-jsonschema", "--builtin-schema", "vendor.github-workflows", *workflows],
        [TOOLS / "check-jsonschema", "--builtin-schema", "vendor.dependabot",
         project / ".github/dependabot.yml"],
        *([[TOOLS / "hadolint", "Dockerfile"],
           [TOOLS / "check-jsonschema", "--builtin-schema", "vendor.compose-spec",
            "serving/compose.yaml"]] if (project / "Dockerfile").is_file() else []),
    ]  # fmt: skip
    failures = []
    for command in checks:
        done = subprocess.run(command, cwd=project, capture_output=True, text=True)
        if done.returncode != 0:
            failures.append(f"{Path(command[0]).name}:\n{done.stdout}{done.stderr}")
    return failures


def test_default_bake_passes_the_workflow_checks(default_bake: Path) -> None:
    assert workflow_check_failures(default_bake) == []


def test_variant_passes_the_workflow_checks(variant: tuple[dict, Path]) -> None:
    assert workflow_check_failures(variant[1]) == []


def test_the_workflow_checks_catch_a_bad_workflow(tmp_path: Path) -> None:
    """The checks above are not vacuous: an unpinned action and untrusted text in `run:` fail."""
    project = bake(tmp_path)
    (project / ".github/workflows/bad.yml").write_text(
        "on: issues\n"
        "jobs:\n"
        "  greet:\n"
        "    runs-on: ubuntu-latest\n"
        "    steps:\n"
        "      - uses: actions/checkout@v4\n"
        '      - run: echo "${{ github.event.issue.title }}"\n'
    )
    failures = "\n".join(workflow_check_failures(project))
    assert "unpinned-uses" in failures and "template-injection" in failures
    assert failures.startswith("zizmor:") and "\nactionlint:" in failures


PIN = re.compile(r"uses:\s*([\w.-]+/[\w.-]+)@([0-9a-f]{40}) # (v[\d.]+)")


@pytest.mark.parametrize(
    ("answers", "bucket"),
    [({"dvc_remote": "s3", "mlflow_tracking": "server"}, "customer-churn-dvc"),
     ({"mlflow_tracking": "server"}, "customer-churn-mlflow")],
)  # fmt: skip
def test_deploy_stack_is_a_valid_compose_file(
    tmp_path: Path, answers: dict[str, str], bucket: str
) -> None:
    project = bake(tmp_path, **answers)
    compose_file = project / "deploy" / "compose.yaml"
    run([str(TOOLS / "check-jsonschema"), "--builtin-schema", "vendor.compose-spec",
         str(compose_file)], project)  # fmt: skip
    compose = yaml.safe_load(compose_file.read_text())
    assert set(compose["services"]) == {"postgres", "s3", "bucket", "mlflow"}
    mlflow_version = re.search(r"^mlflow==(\S+)", (project / "requirements.lock").read_text(), re.M)
    assert compose["services"]["mlflow"]["image"].endswith(f":v{mlflow_version[1]}-full")
    assert (
        f"--artifacts-destination=s3://${{BUCKET:-{bucket}}}/mlflow"
        in (compose["services"]["mlflow"]["command"])
    )
    ports = [port for service in compose["services"].values() for port in service.get("ports", [])]
    assert ports and all(port.startswith("127.0.0.1:") for port in ports)
    required = set(re.findall(r"\$\{(\w+):\?", compose_file.read_text()))
    example = (project / "deploy" / ".env.example").read_text()
    assert required == {"POSTGRES_PASSWORD", "S3_ACCESS_KEY_ID", "S3_SECRET_ACCESS_KEY"}
    assert all(re.search(rf"^{name}=\w+$", example, re.M) for name in required)
    assert ".env\n" in (project / ".gitignore").read_text()


def test_default_bake_has_no_deploy_stack(default_bake: Path) -> None:
    assert not (default_bake / "deploy").exists()
    assert "deploy/" not in (default_bake / "README.md").read_text()


def test_every_pinned_action_is_listed_in_pins_md() -> None:
    """One table of pins (PINS.md) for the generated workflows and the template's own."""
    listed = set(re.findall(r"^\| ([\w.-]+/[\w.-]+) \| (v[\d.]+) \| ([0-9a-f]{40}) \|",
                            (TEMPLATE / "PINS.md").read_text(), re.MULTILINE))  # fmt: skip
    workflows = [*(TEMPLATE / "{{cookiecutter.project_slug}}" / ".github/workflows").glob("*.yml")]
    workflows += [*(TEMPLATE / ".github/workflows").glob("*.yml")]
    workflows += [*(TEMPLATE / "templates").glob("*.yml")]  # steps the workflows import
    used = set()
    for workflow in workflows:
        text = workflow.read_text()
        assert text.count("uses:") == len(PIN.findall(text)), f"{workflow.name}: unpinned uses"
        used |= {(action, version, sha) for action, sha, version in PIN.findall(text)}
    assert used == listed


def test_the_templates_own_workflows_pass_the_checks() -> None:
    # .github only: the composite actions in tests/act/ are local stand-ins, never run on GitHub.
    assert workflow_check_failures(TEMPLATE, zizmor_target=".github") == []


def markdown_problems(text: str) -> list[str]:
    """Where CommonMark reads `text` other than its author meant: a fence that never closes
    (e.g. a closing ``` that Jinja's `{%-` glued to the next line), a `## ` heading swallowed
    by a code block, or a `## ` line outside code that is not parsed as a heading."""
    from markdown_it import MarkdownIt

    lines = text.splitlines()
    in_code: set[int] = set()
    headings: set[int] = set()
    problems = []
    for token in MarkdownIt("commonmark").enable("table").parse(text):
        if token.type in ("fence", "code_block") and token.map:
            start, end = token.map
            in_code.update(range(start, end))
            if token.type == "fence" and not lines[end - 1].strip().startswith(token.markup):
                problems.append(f"line {start + 1}: the fence never closes")
            problems += [
                f"line {start + 1}: a code block holds the heading {line!r}"
                for line in token.content.splitlines()
                if line.startswith("## ")
            ]
        if token.type == "heading_open" and token.map:
            headings.add(token.map[0])
    written = {n for n, line in enumerate(lines) if line.startswith("## ") and n not in in_code}
    problems += [f"line {n + 1}: {lines[n]!r} is not a heading" for n in sorted(written - headings)]
    return problems


def markdown_files(project: Path) -> list[Path]:
    return sorted(path for path in project.rglob("*.md") if ".git" not in path.parts)


def test_markdown_checks_catch_a_fence_glued_to_a_heading() -> None:
    assert markdown_problems("```bash\nmake\n```\n\n## Commands\n") == []
    assert markdown_problems("```bash\nmake\n```## Commands\n\n## Next\n") != []


def test_default_bake_markdown_reads_as_written(default_bake: Path) -> None:
    found = markdown_files(default_bake)
    assert default_bake / "README.md" in found
    for path in found:
        assert markdown_problems(path.read_text()) == [], path.relative_to(default_bake)


def test_variant_markdown_reads_as_written(variant: tuple[dict, Path]) -> None:
    _, project = variant
    for path in markdown_files(project):
        assert markdown_problems(path.read_text()) == [], path.relative_to(project)


FAKE_GH = """#!/bin/sh
# Records the comment body the script would post; finds no earlier comment.
for arg in "$@"; do case "$arg" in body=@*) cp "${arg#body=@}" "$BODY";; esac; done
"""


def test_comment_script_cuts_a_report_over_githubs_limit(
    default_bake: Path, tmp_path: Path
) -> None:
    """The report is built to stay under 65,536 characters; one that is not is posted cut, at a
    line, with a code block it leaves open closed and a note, instead of being refused."""
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "gh").write_text(FAKE_GH)
    (tmp_path / "bin" / "gh").chmod(0o755)
    env = {"PATH": f"{tmp_path / 'bin'}:/usr/bin:/bin", "BODY": str(tmp_path / "body.md"),
           "GITHUB_REPOSITORY": "o/r", "PR_NUMBER": "1", "HEAD_SHA": "0" * 40}  # fmt: skip
    script = str(default_bake / ".github/scripts/pr-comment.sh")
    chart = ["```mermaid", *["🟢 a bar of the chart " * 4] * 2_000, "```"]
    for lines, cut in (
        (["## Model report", "", "short"], False),
        (["## Model report", *chart], True),
    ):
        report = tmp_path / "report.md"
        report.write_text("\n".join([*lines, "## After the chart", ""]))
        run([script, str(report)], tmp_path, env=env)
        body = (tmp_path / "body.md").read_text()
        assert len(body.encode("utf-16-le")) // 2 <= 65_536 and body.count("\n") > 2
        assert ("over GitHub's 65,536-character limit" in body) is cut
        assert ("## After the chart" in body) is not cut
        assert markdown_problems(body) == []
        assert body.endswith(
            f'![](https://cml.dev/watermark.png#{"0" * 40} "CML watermark Model report")'
        )
