#!/usr/bin/env python3
"""Generate the reference cases for modelwatch's realized quality metrics from scikit-learn.

Writes crates/modelwatch-engine/tests/golden/quality/{binary,multiclass,regression}.json:
seeded windows (random windows of several sizes, tied scores, all-same predictions,
single-class windows, no predicted positive, perfect predictions, a class absent from the
window, multiclass probabilities, zero targets, constant targets, windows of 1 and 2 rows) with
the metrics scikit-learn computes on each. A metric that scikit-learn declares ill-defined (an
UndefinedMetricWarning, or the UserWarning "No positive class found in y_true"), refuses (an
exception), or returns as nan/inf is recorded under "absent" with the reason. The Rust test
`quality_metrics` (crates/modelwatch-engine/tests/it/quality_metrics.rs) replays every case.

Usage:
    python3 tools/quality_reference.py                    # creates tools/.venv-sklearn
    python3 tools/quality_reference.py --python /path/to/python

The interpreter must have exactly the pinned versions below; the script installs them into
tools/.venv-sklearn (ignored by git) when it creates that venv, and re-runs itself under it.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import venv
import warnings
from pathlib import Path

SKLEARN_VERSION = "1.9.1"
NUMPY_VERSION = "2.4.6"
SCIPY_VERSION = "1.17.1"
REPO = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO / "crates" / "modelwatch-engine" / "tests" / "golden" / "quality"
VENV = REPO / "tools" / ".venv-sklearn"
PINS = [
    f"scikit-learn=={SKLEARN_VERSION}",
    f"numpy=={NUMPY_VERSION}",
    f"scipy=={SCIPY_VERSION}",
]


def reference_python(explicit: str | None) -> str:
    """The interpreter with the pinned versions: --python, or tools/.venv-sklearn (created)."""
    if explicit:
        return explicit
    python = VENV / "bin" / "python"
    if not python.exists():
        print(f"creating {VENV}", file=sys.stderr)
        venv.create(VENV, with_pip=True)
    check = subprocess.run(
        [
            str(python),
            "-c",
            "import sklearn, numpy, scipy, sys; sys.exit((sklearn.__version__, numpy.__version__,"
            f" scipy.__version__) != ('{SKLEARN_VERSION}', '{NUMPY_VERSION}', '{SCIPY_VERSION}'))",
        ],
        capture_output=True,
    )
    if check.returncode != 0:
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", *PINS], check=True)
    return str(python)


# --- scikit-learn calls -----------------------------------------------------------------------


def evaluate(calls):
    """Runs each (name, thunk); returns ({name: value}, {name: reason it is absent})."""
    from sklearn.exceptions import UndefinedMetricWarning

    expected, absent = {}, {}
    for name, thunk in calls:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                value = float(thunk())
            except ValueError as error:
                absent[name] = f"ValueError: {error}"
                continue
        ill_defined = [
            w
            for w in caught
            if issubclass(w.category, UndefinedMetricWarning)
            or "No positive class found" in str(w.message)
            # r2 with force_finite=False on constant targets: 0/0 or x/0.
            or (name == "r2" and issubclass(w.category, RuntimeWarning) and "divide" in str(w.message))
        ]
        others = [w for w in caught if w not in ill_defined]
        if others:
            raise SystemExit(f"{name}: unexpected warning {others[0].category.__name__}: {others[0].message}")
        if ill_defined:
            absent[name] = f"{ill_defined[0].category.__name__}: {ill_defined[0].message}"
        elif not math.isfinite(value):
            absent[name] = f"not finite: {value}"
        else:
            expected[name] = value
    return dict(sorted(expected.items())), dict(sorted(absent.items()))


def binary_case(name, y_true, y_pred, score):
    import numpy as np
    from sklearn import metrics as m

    t, p = np.array(y_true, dtype=bool), np.array(y_pred, dtype=bool)
    calls = [
        ("accuracy", lambda: m.accuracy_score(t, p)),
        ("precision", lambda: m.precision_score(t, p, pos_label=True)),
        ("recall", lambda: m.recall_score(t, p, pos_label=True)),
        ("f1", lambda: m.f1_score(t, p, pos_label=True)),
    ]
    if score is not None:
        s = np.array(score, dtype=np.float64)
        calls += [
            ("roc_auc", lambda: m.roc_auc_score(t, s)),
            ("average_precision", lambda: m.average_precision_score(t, s, pos_label=True)),
            ("log_loss", lambda: m.log_loss(t, s, labels=[False, True])),
            ("brier", lambda: m.brier_score_loss(t, s, pos_label=True)),
        ]
    expected, absent = evaluate(calls)
    return {
        "name": name,
        "y_true": [bool(v) for v in y_true],
        "y_pred": [bool(v) for v in y_pred],
        "score": None if score is None else [float(v) for v in score],
        "expected": expected,
        "absent": absent,
    }


def multiclass_case(name, y_true, y_pred, n_classes, proba):
    import numpy as np
    from sklearn import metrics as m

    t, p = np.array(y_true, dtype=np.int64), np.array(y_pred, dtype=np.int64)
    calls = [("accuracy", lambda: m.accuracy_score(t, p))]
    for average in ("macro", "weighted"):
        calls += [
            (f"precision_{average}", lambda a=average: m.precision_score(t, p, average=a)),
            (f"recall_{average}", lambda a=average: m.recall_score(t, p, average=a)),
            (f"f1_{average}", lambda a=average: m.f1_score(t, p, average=a)),
        ]
    if proba is not None:
        q = np.array(proba, dtype=np.float64).reshape(len(y_true), n_classes)
        labels = list(range(n_classes))
        calls.append(("log_loss", lambda: m.log_loss(t, q, labels=labels)))
        if n_classes == 2:
            # roc_auc_score refuses two columns ("y should be a 1d array"); modelwatch
            # documents roc_auc_ovr as the area of column 1 then.
            calls.append(("roc_auc_ovr", lambda: m.roc_auc_score(t, q[:, 1])))
        else:
            calls.append(
                ("roc_auc_ovr", lambda: m.roc_auc_score(t, q, multi_class="ovr", labels=labels))
            )
    expected, absent = evaluate(calls)
    return {
        "name": name,
        "n_classes": n_classes,
        "y_true": [int(v) for v in y_true],
        "y_pred": [int(v) for v in y_pred],
        "proba": None if proba is None else [float(v) for v in np.ravel(proba)],
        "expected": expected,
        "absent": absent,
    }


def regression_case(name, y_true, y_pred):
    import numpy as np
    from sklearn import metrics as m

    t, p = np.array(y_true, dtype=np.float64), np.array(y_pred, dtype=np.float64)
    calls = [
        ("mae", lambda: m.mean_absolute_error(t, p)),
        ("mse", lambda: m.mean_squared_error(t, p)),
        ("rmse", lambda: m.root_mean_squared_error(t, p)),
        ("mape", lambda: m.mean_absolute_percentage_error(t, p)),
        # force_finite=False: constant targets give nan or -inf (r2 is undefined there), which
        # modelwatch leaves out rather than emit the 1.0 or 0.0 force_finite puts in their place.
        ("r2", lambda: m.r2_score(t, p, force_finite=False)),
        ("median_ae", lambda: m.median_absolute_error(t, p)),
        ("max_error", lambda: m.max_error(t, p)),
    ]
    expected, absent = evaluate(calls)
    return {
        "name": name,
        "y_true": [float(v) for v in y_true],
        "y_pred": [float(v) for v in y_pred],
        "expected": expected,
        "absent": absent,
    }


# --- windows ----------------------------------------------------------------------------------


def binary_cases(rng):
    import numpy as np

    cases = []

    def scored(n, decimals, positive_rate=0.3):
        y = rng.random(n) < positive_rate
        # Informative but imperfect scores: positives drawn higher.
        raw = np.clip(rng.normal(np.where(y, 0.65, 0.35), 0.2), 0.0, 1.0)
        return y, np.round(raw, decimals)

    for n in (3, 10, 57, 200, 1000, 2500):
        y, s = scored(n, 4)
        cases.append(binary_case(f"random_{n}", y, s >= 0.5, s))
    for n in (40, 600):
        y, s = scored(n, 1)
        cases.append(binary_case(f"ties_one_decimal_{n}", y, s >= 0.5, s))
    y, s = scored(300, 2, positive_rate=0.05)
    cases.append(binary_case("rare_positives_ties_two_decimals_300", y, s >= 0.5, s))
    y, _ = scored(20, 4)
    cases.append(binary_case("all_scores_tied_20", y, np.ones(20, bool), np.full(20, 0.5)))
    y, s = scored(50, 4)
    cases.append(binary_case("all_predicted_positive_50", y, np.ones(50, bool), s))
    cases.append(binary_case("all_predicted_negative_50", y, np.zeros(50, bool), s))
    _, s = scored(30, 3)
    cases.append(binary_case("only_positives_30", np.ones(30, bool), s >= 0.5, s))
    cases.append(binary_case("only_negatives_30", np.zeros(30, bool), s >= 0.5, s))
    cases.append(
        binary_case("only_negatives_none_predicted_30", np.zeros(30, bool), np.zeros(30, bool), s)
    )
    cases.append(
        binary_case("only_positives_all_predicted_30", np.ones(30, bool), np.ones(30, bool), s)
    )
    y, s = scored(80, 4)
    cases.append(binary_case("no_predicted_positives_80", y, np.zeros(80, bool), s))
    y = rng.random(64) < 0.4
    cases.append(binary_case("perfect_64", y, y, np.where(y, 1.0, 0.0)))
    cases.append(binary_case("perfectly_wrong_64", y, ~y, np.where(y, 0.0, 1.0)))
    y, s = scored(100, 4)
    cases.append(binary_case("no_scores_100", y, s >= 0.5, None))
    cases.append(binary_case("one_row_positive", [True], [True], [0.8]))
    cases.append(binary_case("one_row_negative", [False], [True], [0.8]))
    cases.append(binary_case("two_rows", [True, False], [True, True], [0.9, 0.6]))
    cases.append(binary_case("two_rows_tied", [True, False], [False, False], [0.3, 0.3]))
    cases.append(binary_case("two_rows_same_class", [False, False], [False, True], [0.2, 0.7]))
    return cases


def dirichlet_rows(rng, n, k, decimals=None):
    import numpy as np

    proba = rng.dirichlet(np.ones(k), size=n)
    if decimals is not None:
        proba = np.round(proba, decimals)
        # Keep each row a probability vector: the last column takes the remainder.
        proba[:, -1] = 1.0 - proba[:, :-1].sum(axis=1)
        proba = np.clip(proba, 0.0, 1.0)
    return proba


def informative_multiclass(rng, n, k, decimals=4):
    import numpy as np

    y = rng.integers(0, k, n)
    proba = dirichlet_rows(rng, n, k)
    # Push some mass towards the true class so the model is informative, not perfect.
    proba[np.arange(n), y] += rng.uniform(0.0, 0.6, n)
    proba /= proba.sum(axis=1, keepdims=True)
    proba = np.round(proba, decimals)
    proba[:, -1] = 1.0 - proba[:, :-1].sum(axis=1)
    proba = np.clip(proba, 0.0, 1.0)
    return y, proba.argmax(axis=1), proba


def multiclass_cases(rng):
    import numpy as np

    cases = []
    for n, k in ((3, 3), (12, 3), (100, 4), (500, 5), (1500, 3), (300, 10)):
        y, pred, proba = informative_multiclass(rng, n, k)
        cases.append(multiclass_case(f"random_{n}_rows_{k}_classes", y, pred, k, proba))
    y, pred, proba = informative_multiclass(rng, 200, 4, decimals=1)
    cases.append(multiclass_case("ties_one_decimal_200_rows_4_classes", y, pred, 4, proba))
    y, pred, proba = informative_multiclass(rng, 60, 3)
    cases.append(multiclass_case("no_proba_60", y, pred, 3, None))
    # Class 3 of 4 occurs neither in y_true nor in y_pred (its probability column is 0).
    y, pred, proba = informative_multiclass(rng, 80, 3)
    proba4 = np.hstack([proba, np.zeros((80, 1))])
    cases.append(multiclass_case("class_absent_from_window_80", y, pred, 4, proba4))
    # Class 2 is predicted but never true; class 0 is true but never predicted.
    y = rng.integers(0, 2, 40)
    pred = np.where(y == 0, 1, np.where(rng.random(40) < 0.5, 1, 2))
    proba = dirichlet_rows(rng, 40, 3, decimals=4)
    cases.append(multiclass_case("predicted_never_true_and_true_never_predicted_40", y, pred, 3, proba))
    y, pred, proba = informative_multiclass(rng, 50, 2)
    cases.append(multiclass_case("two_classes_50", y, pred, 2, proba))
    cases.append(
        multiclass_case("single_class_window_25", np.full(25, 1), np.full(25, 1), 3, dirichlet_rows(rng, 25, 3, 4))
    )
    y, _, proba = informative_multiclass(rng, 45, 3)
    onehot = np.eye(3)[y]
    cases.append(multiclass_case("perfect_45", y, y, 3, onehot))
    cases.append(multiclass_case("all_same_prediction_45", y, np.zeros(45, int), 3, proba))
    cases.append(multiclass_case("one_row", [2], [2], 3, [0.1, 0.2, 0.7]))
    cases.append(multiclass_case("two_rows", [0, 1], [0, 2], 3, [0.5, 0.25, 0.25, 0.2, 0.3, 0.5]))
    return cases


def regression_cases(rng):
    import numpy as np

    cases = []
    for n in (3, 10, 101, 1000, 3000):
        y = np.round(rng.normal(50.0, 20.0, n), 4)
        pred = np.round(y + rng.normal(0.0, 5.0, n), 4)
        cases.append(regression_case(f"random_{n}", y, pred))
    y = np.round(rng.normal(0.0, 1.0, 200), 3)
    y[::7] = 0.0
    pred = np.round(y + rng.normal(0.0, 0.1, 200), 3)
    cases.append(regression_case("zero_targets_200", y, pred))
    cases.append(regression_case("constant_targets_30", np.full(30, 4.5), np.round(rng.normal(4.5, 1.0, 30), 3)))
    cases.append(regression_case("constant_targets_perfect_30", np.full(30, 4.5), np.full(30, 4.5)))
    y = np.round(rng.normal(10.0, 3.0, 64), 3)
    cases.append(regression_case("perfect_64", y, y))
    y = rng.integers(0, 5, 120).astype(float)
    pred = rng.integers(0, 5, 120).astype(float)
    cases.append(regression_case("integer_ties_even_120", y, pred))
    y = np.round(rng.normal(1e6, 1e5, 50), 2)
    cases.append(regression_case("large_magnitudes_50", y, np.round(y * rng.normal(1.0, 0.01, 50), 2)))
    cases.append(regression_case("one_row", [3.0], [2.5]))
    cases.append(regression_case("one_row_zero_target", [0.0], [0.25]))
    cases.append(regression_case("two_rows", [1.0, -2.0], [1.5, -1.0]))
    return cases


def write(out: Path, task: str, cases) -> None:
    import numpy
    import sklearn

    document = {
        "generator": "tools/quality_reference.py",
        "sklearn_version": sklearn.__version__,
        "numpy_version": numpy.__version__,
        "task": task,
        "cases": cases,
    }
    path = out / f"{task}.json"
    path.write_text(json.dumps(document, separators=(",", ":")) + "\n")
    print(f"wrote {path.relative_to(REPO)} ({len(cases)} cases, {path.stat().st_size} bytes)")


def generate(out: Path) -> None:
    import numpy as np
    import sklearn

    if (sklearn.__version__, np.__version__) != (SKLEARN_VERSION, NUMPY_VERSION):
        raise SystemExit(f"need scikit-learn {SKLEARN_VERSION} and numpy {NUMPY_VERSION}")
    out.mkdir(parents=True, exist_ok=True)
    write(out, "binary", binary_cases(np.random.default_rng(13)))
    write(out, "multiclass", multiclass_cases(np.random.default_rng(1313)))
    write(out, "regression", regression_cases(np.random.default_rng(131313)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--python", help="an interpreter with the pinned versions")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--in-reference-env", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if not args.in_reference_env:
        python = reference_python(args.python)
        command = [python, __file__, "--in-reference-env", "--out", str(args.out)]
        sys.exit(subprocess.run(command, env={**os.environ, "PYTHONHASHSEED": "0"}).returncode)
    generate(args.out)


if __name__ == "__main__":
    main()
