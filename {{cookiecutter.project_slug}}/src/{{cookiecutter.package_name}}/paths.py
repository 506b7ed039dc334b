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
PRODUCTION_DATA = Path("data/production.parquet")  # labelled served rows (drift job)
MODELS = Path("models")
MODEL = MODELS / "model.skops"
REPORTS = Path("reports")
VALIDATION = REPORTS / "validation.json"
SEGMENTS = REPORTS / "segments.json"  # the single model's evaluate stage writes these three too
PLOTS = REPORTS / "plots"
FAIRNESS = REPORTS / "fairness.json"
MODEL_CODE = ("train.py", "evaluate.py", "task.py", "task_params.py")  # a model's key hashes them


@dataclass(frozen=True)
class Outputs:
    """Where one model and its reports are: the project's, or one fleet member's."""

    model: Path = MODEL
    reports: Path = REPORTS

    def report(self, name: str) -> Path:
        return self.reports / name

    @property
    def metrics(self) -> Path:
        return self.report("metrics.json")

    @property
    def importance(self) -> Path:
        return self.report("importance.json")

    @property
    def model_card(self) -> Path:
        return self.report("model_card.md")

    @property
    def run(self) -> Path:
        """A fleet member's: what its model was built from (its key, rows and MLflow run)."""
        return self.report("run.json")

    def member_files(self) -> tuple[Path, ...]:
        """A fleet member's files, as its stage in dvc.yaml lists them."""
        return (self.model, self.metrics, self.importance, self.model_card, self.run)


PROJECT = Outputs()
METRICS, IMPORTANCE = PROJECT.metrics, PROJECT.importance


def member_outputs(member: str) -> Outputs:
    """A fleet member's files: its model, and its reports in a folder of its own."""
    return Outputs(model=MODELS / f"{member}.skops", reports=REPORTS / member)
