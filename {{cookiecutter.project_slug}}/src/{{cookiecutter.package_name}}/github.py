"""What a command hands GitHub Actions when it runs there: step outputs, the job summary and
a link to the run. Outside Actions (no GITHUB_* variables) each is a no-op."""

from __future__ import annotations

import os


def _append(variable: str, text: str) -> None:
    path = os.environ.get(variable)
    if path:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(text)


def set_outputs(**values: bool | str) -> None:
    """Step outputs for `if:` conditions (booleans as true/false)."""
    lines = (
        f"{name}={str(value).lower() if isinstance(value, bool) else value}\n"
        for name, value in values.items()
    )
    _append("GITHUB_OUTPUT", "".join(lines))


def add_summary(markdown: str) -> None:
    """Markdown for the job summary page."""
    _append("GITHUB_STEP_SUMMARY", markdown)


def run_url() -> str | None:
    """Link to the workflow run, when running in GitHub Actions."""
    parts = [
        os.environ.get(name) for name in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID")
    ]
    return f"{parts[0]}/{parts[1]}/actions/runs/{parts[2]}" if all(parts) else None
