"""Where the pipeline's files are: the project's and each fleet member's, in one place.

Standard library only: the template's post-generation hook writes a fleet's first dvc.yaml
stages with these paths before any dependency is installed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

PIPELINE_LOCK = Path("dvc.lock")
PIPELINE = Path("dvc.yaml")
TRAINING_DATA = Path("data/train.parquet")
MODELS = Path("models")
MODEL = MODELS / "model.skops"
REPORTS = Path("reports")
VALIDATION = REPORTS / "validation.json"
METRICS = REPORTS / "metrics.json"
SEGMENTS = REPORTS / "segments.json"
PLOTS = REPORTS / "plots"
MODEL_CARD = REPORTS / "model_card.md"
IMPORTANCE = REPORTS / "importance.json"
FAIRNESS = REPORTS / "fairness.json"
RUN = "run.json"  # a fleet member's: what its model was built from (reports/<member>/run.json)
MODEL_CODE = ("train.py", "evaluate.py", "task.py", "task_params.py")  # a model's key hashes them


@dataclass(frozen=True)
class Outputs:
    """Where one model and its reports are: the project's, or one fleet member's."""

    model: Path = MODEL
    reports: Path = REPORTS

    def report(self, name: str) -> Path:
        return self.reports / name

    def member_files(self) -> dict[str, Path]:
        """A fleet member's files, as its stage in dvc.yaml lists them."""
        names = ("metrics.json", "importance.json", "model_card.md", RUN)
        return {"model": self.model, **{name: self.report(name) for name in names}}


PROJECT = Outputs()


def member_outputs(member: str) -> Outputs:
    """A fleet member's files: its model, and its reports in a folder of its own."""
    return Outputs(model=MODELS / f"{member}.skops", reports=REPORTS / member)
