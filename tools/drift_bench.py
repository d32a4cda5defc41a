#!/usr/bin/env python3
"""Time `modelwatch drift` against Evidently 0.7.23's data-drift report on the same CSV files.

Writes two seeded cases to a temporary directory, each a reference and a current CSV file with
40 numerical columns (`n0`..`n39`, 4 significant decimals, some shifted in the current file)
and 10 categorical ones (`c0`..`c9`, text categories, some with new categories in the current
file):
- 100,000 rows on each side (Evidently's automatic choice: wasserstein and jensenshannon);
- 1,000 rows on each side (ks and chisquare).

Then, for each case, alternates --runs times:
- `modelwatch drift --reference R --current C --format json` (the release build), the whole
  process timed from outside;
- one Python process (the pinned Evidently, pandas, numpy, scipy) that reads both files with
  `pandas.read_csv` and runs the legacy `Report(metrics=[DataDriftTable()])` with a
  `ColumnMapping` listing the 40 numerical and 10 categorical columns (target, prediction and
  datetime set to None), timed from outside (whole process) and inside (read + report, the
  interpreter's start and the imports left out).

It checks that both give every column the same method, the same decision and the same score
(1e-9 relative), and the same dataset decision; then prints the medians and the ratios.

Usage:
    cargo build --release -p modelwatch
    python3 tools/drift_bench.py --runs 5 [--python PATH] [--only 100000|1000]

The Python side needs evidently==0.7.23 pandas==2.3.3 numpy==2.4.6 scipy==1.17.1 (Evidently
0.7.23 does not import under pandas 3). Without --python, the script uses
tools/.venv-evidently-bench, creating it with those pins when it is missing.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
import venv
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BINARY = REPO / "target" / "release" / "modelwatch"
VENV = REPO / "tools" / ".venv-evidently-bench"
PINS = ["evidently==0.7.23", "pandas==2.3.3", "numpy==2.4.6", "scipy==1.17.1"]
NUMERICAL = [f"n{i}" for i in range(40)]
CATEGORICAL = [f"c{i}" for i in range(10)]

EVIDENTLY_SIDE = r"""
import json, sys, time, warnings
start = time.perf_counter()
import pandas as pd
from evidently.legacy.metrics import DataDriftTable
from evidently.legacy.pipeline.column_mapping import ColumnMapping
from evidently.legacy.report import Report
from evidently.legacy.calculations.stattests import registry
imports = time.perf_counter() - start

reference_path, current_path, numerical, categorical = sys.argv[1:5]
start = time.perf_counter()
reference = pd.read_csv(reference_path)
current = pd.read_csv(current_path)
read = time.perf_counter() - start
start = time.perf_counter()
mapping = ColumnMapping(
    target=None, prediction=None, datetime=None,
    numerical_features=numerical.split(","), categorical_features=categorical.split(","),
)
report = Report(metrics=[DataDriftTable()])
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    report.run(reference_data=reference, current_data=current, column_mapping=mapping)
    result = report._first_level_metrics[0].get_result()
compute = time.perf_counter() - start
names = {}
for name, by_type in registry._registered_stat_tests.items():
    for stattest in by_type.values():
        names[stattest.display_name] = name
columns = {
    column: {
        "method": names[drift.stattest_name],
        "score": float(drift.drift_score),
        "drifted": bool(drift.drift_detected),
    }
    for column, drift in result.drift_by_columns.items()
}
print(json.dumps({
    "imports": imports, "read": read, "compute": compute, "columns": columns,
    "drifted_columns": int(result.number_of_drifted_columns),
    "dataset_drift": bool(result.dataset_drift),
}))
"""


def write_case(directory: Path, rows: int, seed: int) -> tuple[Path, Path]:
    """A reference and a current CSV file of `rows` rows each."""
    rng = random.Random(seed)
    # Per column: a mean, a scale, and for the current file a shift (a fifth of the columns).
    means = [rng.uniform(-50, 50) for _ in NUMERICAL]
    scales = [rng.uniform(0.5, 20) for _ in NUMERICAL]
    shifts = [(0.3 * scale if i % 5 == 0 else 0.0) for i, scale in enumerate(scales)]
    levels = [[f"level_{j}" for j in range(3 + i)] for i in range(len(CATEGORICAL))]
    paths = []
    for side in ("reference", "current"):
        path = directory / f"{side}-{rows}.csv"
        with path.open("w") as out:
            out.write(",".join(NUMERICAL + CATEGORICAL) + "\n")
            for _ in range(rows):
                cells = []
                for i, (mean, scale) in enumerate(zip(means, scales)):
                    shift = shifts[i] if side == "current" else 0.0
                    cells.append(f"{rng.gauss(mean + shift, scale):.4f}")
                for i, names in enumerate(levels):
                    if side == "current" and i % 4 == 0 and rng.random() < 0.05:
                        cells.append(f"new_{i}")
                    else:
                        # Skewed towards the first levels.
                        cells.append(names[min(int(rng.expovariate(0.5)), len(names) - 1)])
                out.write(",".join(cells) + "\n")
        paths.append(path)
    return paths[0], paths[1]


def python_interpreter(given: str | None) -> str:
    if given:
        return given
    python = VENV / "bin" / "python"
    if not python.exists():
        print(f"creating {VENV} with {' '.join(PINS)}", file=sys.stderr)
        venv.create(VENV, with_pip=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", *PINS], check=True)
        (VENV / ".gitignore").write_text("*\n")  # keeps the venv out of git
    return str(python)


def compare(ours: dict, theirs: dict) -> None:
    """Same methods, decisions and scores (1e-9 relative) for every column; same dataset."""
    for column in ours["columns"]:
        name = column["column"]
        want = theirs["columns"][name]
        if column["method"] != want["method"] or column["drifted"] != want["drifted"]:
            raise SystemExit(f"{name}: modelwatch {column}, Evidently {want}")
        got, expected = column["score"], want["score"]
        if abs(got - expected) > 1e-9 * abs(expected) and not (got == 0 and expected == 0):
            raise SystemExit(f"{name}: score {got!r}, Evidently {expected!r}")
    if ours["drifted_columns"] != theirs["drifted_columns"]:
        raise SystemExit(f"drifted columns {ours['drifted_columns']} != {theirs['drifted_columns']}")
    if ours["dataset_drift"] != theirs["dataset_drift"]:
        raise SystemExit("the dataset decisions differ")


def bench(rows: int, runs: int, python: str, directory: Path) -> None:
    reference, current = write_case(directory, rows, seed=20261207 + rows)
    size = (reference.stat().st_size + current.stat().st_size) / 1e6
    print(f"{rows:,} rows x 50 columns per file, {size:.1f} MB in both files")
    command = [str(BINARY), "drift", "--reference", str(reference), "--current", str(current),
               "--format", "json"]
    python_command = [python, "-c", EVIDENTLY_SIDE, str(reference), str(current),
                      ",".join(NUMERICAL), ",".join(CATEGORICAL)]
    ours, theirs_process, theirs_inside = [], [], []
    for run in range(runs):
        start = time.perf_counter()
        result = subprocess.run(command, capture_output=True, text=True, check=True)
        ours.append(time.perf_counter() - start)
        start = time.perf_counter()
        side = subprocess.run(python_command, capture_output=True, text=True, check=True)
        theirs_process.append(time.perf_counter() - start)
        theirs = json.loads(side.stdout)
        theirs_inside.append(theirs["read"] + theirs["compute"])
        compare(json.loads(result.stdout), theirs)
        print(
            f"  run {run + 1}: modelwatch {ours[-1]:.3f} s; Evidently process "
            f"{theirs_process[-1]:.3f} s (imports {theirs['imports']:.3f} s, read "
            f"{theirs['read']:.3f} s, report {theirs['compute']:.3f} s)"
        )
    mw = statistics.median(ours)
    process = statistics.median(theirs_process)
    inside = statistics.median(theirs_inside)
    print(f"  median modelwatch drift (whole process): {mw:.4f} s")
    print(f"  median Evidently script (whole process): {process:.3f} s; read + report {inside:.3f} s")
    print(f"  ratio, whole process / whole process: {process / mw:.1f}x")
    print(f"  ratio, Evidently read + report (no start, no imports) / modelwatch: {inside / mw:.1f}x")
    print("  every column has the same method, decision and score (1e-9) in every run")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--python", help="an interpreter with the pinned Evidently")
    parser.add_argument("--only", type=int, choices=[100_000, 1_000])
    args = parser.parse_args()
    if not BINARY.exists():
        raise SystemExit(f"{BINARY} is missing: run `cargo build --release -p modelwatch` first")
    python = python_interpreter(args.python)
    with tempfile.TemporaryDirectory() as directory:
        for rows in (100_000, 1_000):
            if args.only in (None, rows):
                bench(rows, args.runs, python, Path(directory))


if __name__ == "__main__":
    main()
