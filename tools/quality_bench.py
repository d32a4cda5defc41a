#!/usr/bin/env python3
"""Time `modelwatch quality` against scikit-learn on 1,000,000 binary rows with scores.

Writes a seeded CSV file (label, prediction, score; scores with 4 decimals, so with ties) to a
temporary directory, then alternates, --runs times:

- `modelwatch quality --task binary ... --score score --format json` (the release build: the
  whole process, reading and parsing the file included), timed from outside;
- one Python process with the pinned scikit-learn that reads the same file with
  `numpy.loadtxt` and computes the same eight metrics (accuracy, precision, recall, f1,
  roc_auc, average_precision, log_loss, brier), timed inside the process: the read, and the
  metrics on the arrays in memory, separately (the interpreter's start and the imports are
  not counted).

It checks that both sides give the same values (1e-12 relative), then prints the medians and
the ratios. The file is deleted at the end.

Usage:
    cargo build --release -p modelwatch
    python3 tools/quality_bench.py --runs 5 [--rows 1000000] [--python PATH]
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
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from quality_reference import REPO, reference_python  # noqa: E402

BINARY = REPO / "target" / "release" / "modelwatch"

SKLEARN_SIDE = r"""
import json, sys, time
import numpy as np
from sklearn import metrics as m

path = sys.argv[1]
start = time.perf_counter()
data = np.loadtxt(path, delimiter=",", skiprows=1)
y_true, y_pred, score = data[:, 0] == 1, data[:, 1] == 1, data[:, 2]
read = time.perf_counter() - start
start = time.perf_counter()
values = {
    "accuracy": m.accuracy_score(y_true, y_pred),
    "precision": m.precision_score(y_true, y_pred, pos_label=True),
    "recall": m.recall_score(y_true, y_pred, pos_label=True),
    "f1": m.f1_score(y_true, y_pred, pos_label=True),
    "roc_auc": m.roc_auc_score(y_true, score),
    "average_precision": m.average_precision_score(y_true, score, pos_label=True),
    "log_loss": m.log_loss(y_true, score, labels=[False, True]),
    "brier": m.brier_score_loss(y_true, score, pos_label=True),
}
compute = time.perf_counter() - start
print(json.dumps({"read": read, "compute": compute,
                  "metrics": {k: float(v) for k, v in values.items()}}))
"""


def write_rows(path: Path, rows: int) -> None:
    rng = random.Random(20261206)
    with path.open("w") as out:
        out.write("label,prediction,score\n")
        for _ in range(rows):
            label = rng.random() < 0.3
            score = min(1.0, max(0.0, rng.gauss(0.65 if label else 0.35, 0.2)))
            score = round(score, 4)
            out.write(f"{int(label)},{int(score >= 0.5)},{score}\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--python", help="an interpreter with the pinned scikit-learn")
    args = parser.parse_args()
    if not BINARY.exists():
        raise SystemExit(f"{BINARY} is missing: run `cargo build --release -p modelwatch` first")
    python = reference_python(args.python)
    with tempfile.TemporaryDirectory() as directory:
        data = Path(directory) / "binary.csv"
        write_rows(data, args.rows)
        print(f"{args.rows:,} rows, {data.stat().st_size / 1e6:.1f} MB at {data}")
        command = [
            str(BINARY), "quality", "--task", "binary", "--data", str(data),
            "--target", "label", "--prediction", "prediction", "--score", "score",
            "--format", "json",
        ]
        ours, theirs_read, theirs_compute = [], [], []
        for run in range(args.runs):
            start = time.perf_counter()
            result = subprocess.run(command, capture_output=True, text=True, check=True)
            ours.append(time.perf_counter() - start)
            report = json.loads(result.stdout)
            side = subprocess.run(
                [python, "-c", SKLEARN_SIDE, str(data)], capture_output=True, text=True, check=True
            )
            reference = json.loads(side.stdout)
            theirs_read.append(reference["read"])
            theirs_compute.append(reference["compute"])
            for name, want in reference["metrics"].items():
                got = report["metrics"][name]
                if abs(got - want) > 1e-12 * abs(want):
                    raise SystemExit(f"{name}: modelwatch {got}, scikit-learn {want}")
            print(
                f"run {run + 1}: modelwatch {ours[-1]:.3f} s; scikit-learn read "
                f"{theirs_read[-1]:.3f} s + metrics {theirs_compute[-1]:.3f} s"
            )
    mw = statistics.median(ours)
    read = statistics.median(theirs_read)
    compute = statistics.median(theirs_compute)
    total = statistics.median(r + c for r, c in zip(theirs_read, theirs_compute))
    print(f"median modelwatch quality (whole process, file read included): {mw:.3f} s")
    print(f"median scikit-learn: read {read:.3f} s, eight metrics {compute:.3f} s, both {total:.3f} s")
    print(f"ratio scikit-learn (read + metrics) / modelwatch: {total / mw:.2f}")
    print(f"ratio scikit-learn (metrics only) / modelwatch (read + metrics): {compute / mw:.2f}")
    print("the eight values agree to 1e-12 relative in every run")


if __name__ == "__main__":
    main()
