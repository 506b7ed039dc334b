"""The fleet at 10, 50 and 200 members (10k rows each, the default estimator).

    python benchmarks/fleet.py [--members 10 50 200] [--rows 10000] [--runs 3]

For each size: bakes `fleet=yes` into a temporary folder with its own .venv (`make setup`),
writes a table of `--rows` synthetic rows per member (its own seed, its `region` the member's
name) as the data source, and lists the members in params.yaml, one shard stage per 25.
Then times, with bytecode written as on a user's machine:

- `make repro` from clean (once), its peak RSS, and the time per member;
- `promote` of every member (once: the first champions);
- `make repro` with nothing to do;
- a change of one member's learning rate: `make repro`, `report --base HEAD` (the comment's
  length), commit, `promote` (one member promoted or held back, the rest unchanged);
- `drift` over the fleet (once), against the same table with one member's prices shifted.

And once, a single-model bake at the same rows per model: `make repro` after a change of its
learning rate, the yardstick for "one changed member". Prints medians of --runs; records them
in benchmarks/results.json as `fleet_<members>_*`.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml
from results import record

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
RATES = ["0.05", "0.2", "0.08", "0.15", "0.12"]
PER_SHARD = 25

MAKE_TABLE = """
import sys
import pandas as pd
from {package} import synthetic
rows, names, out = int(sys.argv[1]), sys.argv[2].split(","), sys.argv[3]
parts = []
for seed, name in enumerate(names):
    part = synthetic.generate(rows, window=0, seed=seed)
    parts.append(part.assign(region=name))
frame = pd.concat(parts, ignore_index=True)
frame.to_parquet(out, index=False)
newest = frame.copy()
first = newest["region"] == names[0]
newest.loc[first, "monthly_charges"] = newest.loc[first, "monthly_charges"] * 1.5
newest.to_parquet(out.replace(".parquet", "-newest.parquet"), index=False)
"""


def environment() -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    env.update({"DVC_NO_ANALYTICS": "1", "MLFLOW_DISABLE_TELEMETRY": "true"})
    env.update({"GX_ANALYTICS_ENABLED": "false", "GIT_AUTHOR_NAME": "bench"})
    env.update({"GIT_AUTHOR_EMAIL": "b@example.com", "GIT_COMMITTER_NAME": "bench"})
    env["GIT_COMMITTER_EMAIL"] = "b@example.com"
    return env


def timed(command: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float, str]:
    """Wall seconds, the peak RSS (MB) of the largest process in it (os.wait4), its output."""
    start = time.perf_counter()
    process = subprocess.Popen(
        command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    assert process.stdout is not None
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(command)} failed in {cwd}:\n{output[-3000:]}")
    return seconds, usage.ru_maxrss / 1024, output


def bake(folder: Path, env: dict[str, str], template: Path, *answers: str) -> Path:
    subprocess.run(
        [BIN / "cookiecutter", "--no-input", "-o", folder, template, *answers],
        check=True,
        env=env,
        capture_output=True,
    )
    [project] = [path for path in folder.iterdir() if path.is_dir()]
    uv = shutil.which("uv") or str(BIN / "uv")
    subprocess.run(["make", "setup", f"UV={uv}"], cwd=project, env=env, check=True,
                   capture_output=True)  # fmt: skip
    return project


def git(project: Path, env: dict[str, str], *args: str) -> None:
    subprocess.run(["git", *args], cwd=project, env=env, check=True, capture_output=True)


def fleet_params(project: Path, names: list[str]) -> None:
    params = yaml.safe_load((project / "params.yaml").read_text())
    params["data"].update(source="file", path="data/raw/fleet.parquet")
    params["data"]["schema"]["categorical"]["region"] = []
    params["drift"]["current_path"] = "data/raw/fleet-newest.parquet"
    params["fleet"]["members"] = {name: {} for name in names}
    params["fleet"]["shards"] = math.ceil(len(names) / PER_SHARD)
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))


def set_member_rate(project: Path, member: str, rate: str) -> None:
    params = yaml.safe_load((project / "params.yaml").read_text())
    rate_value = float(rate)
    params["fleet"]["members"][member] = {
        "train": {"hyperparameters": {"learning_rate": rate_value}}
    }
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))


def single_model_baseline(template: Path, rows: int, runs: int, env: dict[str, str]) -> float:
    with tempfile.TemporaryDirectory() as folder:
        project = bake(Path(folder), env, template)
        text = (project / "params.yaml").read_text()
        (project / "params.yaml").write_text(re.sub(r"(?m)^  rows: \d+", f"  rows: {rows}", text))
        timed(["make", "repro"], project, env)
        times = []
        for rate in RATES[:runs]:
            text = (project / "params.yaml").read_text()
            text = re.sub(r"(?m)^    learning_rate: .*$", f"    learning_rate: {rate}", text)
            (project / "params.yaml").write_text(text)
            times.append(timed(["make", "repro"], project, env)[0])
        return statistics.median(times)


def measure(template: Path, members: int, rows: int, runs: int, env: dict[str, str]) -> dict:
    names = [f"r{index:03d}" for index in range(members)]
    prefix = f"fleet_{members}"
    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as folder:
        project = bake(Path(folder), env, template, "fleet=yes")
        package = next(path.name for path in (project / "src").iterdir() if path.is_dir())
        python = str(project / ".venv/bin/python")
        (project / "data/raw").mkdir(parents=True, exist_ok=True)
        table = str(project / "data/raw/fleet.parquet")
        script = MAKE_TABLE.format(package=package)
        subprocess.run([python, "-c", script, str(rows), ",".join(names), table], check=True)
        fleet_params(project, names)
        print(f"fleet of {members}: baked, {members * rows:,} rows written; clean repro...")
        seconds, peak, _ = timed(["make", "repro"], project, env)
        figures.update({f"{prefix}_clean_repro_s": round(seconds, 1)})
        figures[f"{prefix}_clean_per_member_s"] = round(seconds / members, 3)
        figures[f"{prefix}_peak_rss_mb"] = round(peak)
        git(project, env, "add", "-A")
        git(project, env, "commit", "-qm", "fleet")
        seconds, _, _ = timed([python, "-m", package, "promote"], project, env)
        figures[f"{prefix}_promote_all_first_s"] = round(seconds, 1)
        clean = figures[f"{prefix}_clean_repro_s"]
        print(f"  clean repro {clean} s; first promote {seconds:.0f} s")
        noop = [timed(["make", "repro"], project, env)[0] for _ in range(runs)]
        changed, report, promote, length = [], [], [], 0
        for run, rate in enumerate(RATES[:runs]):
            set_member_rate(project, names[run % members], rate)
            changed.append(timed(["make", "repro"], project, env)[0])
            out = project / "reports/pr_report.md"
            command = [python, "-m", package, "report", "--base", "HEAD", "--out", str(out)]
            report.append(timed(command, project, env)[0])
            length = len(out.read_text())
            git(project, env, "add", "-A")
            git(project, env, "commit", "-qm", f"member {run}")
            promote.append(timed([python, "-m", package, "promote"], project, env)[0])
            print(f"  one member changed: repro {changed[-1]:.1f} s, promote {promote[-1]:.1f} s")
        drift = timed([python, "-m", package, "drift"], project, env)[0]  # once: it is slow
    figures.update(
        {
            f"{prefix}_noop_repro_s": round(statistics.median(noop), 2),
            f"{prefix}_one_changed_repro_s": round(statistics.median(changed), 2),
            f"{prefix}_report_s": round(statistics.median(report), 2),
            f"{prefix}_comment_chars": length,
            f"{prefix}_promote_one_s": round(statistics.median(promote), 2),
            f"{prefix}_drift_s": round(drift, 2),
        }
    )
    print(f"fleet of {members}: {figures}", flush=True)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, nargs="+", default=[10, 50, 200])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--template", type=Path, default=HERE.parent)
    args = parser.parse_args()
    env = environment()
    figures: dict[str, float] = {}
    single = single_model_baseline(args.template, args.rows, args.runs, env)
    figures["fleet_single_model_repro_s"] = round(single, 2)
    print(f"single model, {args.rows:,} rows: make repro after a change {single:.1f} s")
    for members in args.members:
        found = measure(args.template, members, args.rows, args.runs, env)
        figures.update(found)
        figures[f"fleet_{members}_one_changed_over_single"] = round(
            found[f"fleet_{members}_one_changed_repro_s"] / single, 2
        )
    smallest, largest = min(args.members), max(args.members)
    if smallest != largest:
        figures[f"fleet_per_member_{largest}_over_{smallest}"] = round(
            figures[f"fleet_{largest}_clean_per_member_s"]
            / figures[f"fleet_{smallest}_clean_per_member_s"],
            2,
        )
    print(f"fleet: {figures}")
    if args.template.resolve() == HERE.parent and args.rows == 10_000:
        record(figures, "fleet")


if __name__ == "__main__":
    main()
