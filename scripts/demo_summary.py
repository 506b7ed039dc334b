"""Print where `make demo` left its results, with the headline numbers."""

from __future__ import annotations

import json
import sys
from pathlib import Path


def main(project: Path) -> None:
    metrics = json.loads((project / "reports/metrics.json").read_text())
    validation = json.loads((project / "reports/validation.json").read_text())
    checks = validation["statistics"]
    lines = [
        "",
        f"Demo project ready in {project}/",
        f"  data validation   reports/validation.json ({checks['successful_expectations']}"
        f"/{checks['evaluated_expectations']} expectations met)",
        "  metrics           reports/metrics.json ("
        + ", ".join(f"{key} {value:.3f}" for key, value in list(metrics.items())[:3])
        + f", segment_gap {metrics['segment_gap']:.3f})",
        "  per segment       reports/segments.json",
        "  plot data         reports/plots/ (render: make -C "
        f"{project} plots, then open {project}/dvc_plots/index.html)",
        "  model card        reports/model_card.md",
        "  model             models/model.skops (tracked by DVC, see dvc.lock)",
        f"  MLflow runs       {project}/mlflow.db (browse: make -C {project} mlflow-ui)",
        "",
        f"Next: cd {project} && less README.md",
    ]
    print("\n".join(lines))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
