#!/usr/bin/env python3
"""Generate the reference cases for modelwatch's data drift tests from Evidently 0.7.23.

Writes crates/modelwatch-engine/tests/golden/drift/<method>.json, one file per method Evidently
ships for tabular columns (ks, wasserstein, psi, kl_div, jensenshannon, hellinger, chisquare, z,
g_test, fisher_exact, TVD, mannw, t_test, ed, cramer_von_mises, anderson, es) and auto.json (the
automatic choice). empirical_mmd is left out: its permutations are unseeded.

Each case is one column: seeded synthetic values are written as CSV text (an empty cell is a
missing value), read back with pandas as Evidently's users do, and run through the legacy
`Report(metrics=[DataDriftTable(per_column_stattest={"x": method})])`. A case records the
values Evidently saw (numbers, strings, booleans; null for a missing value), the column type
it used ("num"/"cat"), the method it ran, the score (null for NaN), the threshold and the
decision, or the error it raised. The Rust test `drift` (crates/modelwatch-engine/tests/it/
drift.rs) replays every case through `modelwatch_engine::drift`.

Usage:
    python3 tools/drift_reference.py                    # creates tools/.venv-evidently
    python3 tools/drift_reference.py --python /path/to/python

The interpreter must have exactly the pinned versions below (Evidently 0.7.23 does not import
under pandas 3); the script installs them into tools/.venv-evidently (ignored by git) when it
creates that venv, and re-runs itself under it.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import os
import subprocess
import sys
import venv
import warnings
from pathlib import Path

EVIDENTLY_VERSION = "0.7.23"
PANDAS_VERSION = "2.3.3"
NUMPY_VERSION = "2.4.6"
SCIPY_VERSION = "1.17.1"
REPO = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO / "crates" / "modelwatch-engine" / "tests" / "golden" / "drift"
VENV = REPO / "tools" / ".venv-evidently"
PINS = [
    f"evidently=={EVIDENTLY_VERSION}",
    f"pandas=={PANDAS_VERSION}",
    f"numpy=={NUMPY_VERSION}",
    f"scipy=={SCIPY_VERSION}",
]
VERSIONS = {
    "evidently": EVIDENTLY_VERSION,
    "pandas": PANDAS_VERSION,
    "numpy": NUMPY_VERSION,
    "scipy": SCIPY_VERSION,
}
METHODS = [
    "ks", "wasserstein", "psi", "kl_div", "jensenshannon", "hellinger", "chisquare", "z",
    "g_test", "fisher_exact", "TVD", "mannw", "t_test", "ed", "cramer_von_mises", "anderson",
    "es",
]


def reference_python(explicit: str | None) -> str:
    """The interpreter with the pinned versions: --python, or tools/.venv-evidently (created)."""
    if explicit:
        return explicit
    python = VENV / "bin" / "python"
    if not python.exists():
        print(f"creating {VENV}", file=sys.stderr)
        venv.create(VENV, with_pip=True)
    wanted = tuple(VERSIONS[k] for k in ("evidently", "pandas", "numpy", "scipy"))
    check = subprocess.run(
        [
            str(python),
            "-c",
            "import importlib.metadata as m, sys; sys.exit(tuple(m.version(p) for p in"
            f" ('evidently', 'pandas', 'numpy', 'scipy')) != {wanted!r})",
        ],
        capture_output=True,
    )
    if check.returncode != 0:
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", *PINS], check=True)
    return str(python)


# --- values -----------------------------------------------------------------------------------


def cell(value) -> str:
    """One CSV cell: None is an empty cell (a missing value for pandas)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def csv_text(values) -> str:
    """A two-column CSV: `row` (the id, so that blank cells are not blank lines) and `x`."""
    lines = ["row,x"] + [f"{i},{cell(v)}" for i, v in enumerate(values)]
    return "\n".join(lines) + "\n"


def json_value(value):
    """A value as Evidently saw it, for JSON: numbers, strings, booleans, null for missing."""
    import numpy as np

    if value is None:
        return None
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return None if math.isnan(value) else float(value)
    return str(value)


def json_score(value):
    value = float(value)
    return None if math.isnan(value) else value


# --- Evidently --------------------------------------------------------------------------------


def display_names():
    from evidently.legacy.calculations.stattests import registry

    names = {}
    for name, by_type in registry._registered_stat_tests.items():
        for stattest in by_type.values():
            names[stattest.display_name] = name
    return names


def run_case(name, ref_values, cur_values, method, categorical=False, threshold=None):
    """Runs Evidently on one column; returns the case as written to the file."""
    import pandas as pd
    from evidently.legacy.metrics import DataDriftTable
    from evidently.legacy.pipeline.column_mapping import ColumnMapping
    from evidently.legacy.report import Report

    reference = pd.read_csv(io.StringIO(csv_text(ref_values)))
    current = pd.read_csv(io.StringIO(csv_text(cur_values)))
    mapping = ColumnMapping(
        target=None,
        prediction=None,
        datetime=None,
        id="row",
        categorical_features=["x"] if categorical else None,
    )
    table = DataDriftTable(
        columns=["x"],
        per_column_stattest=None if method == "auto" else {"x": method},
        per_column_stattest_threshold=None if threshold is None else {"x": threshold},
    )
    case = {
        "name": name,
        "declared_categorical": categorical,
        "reference": [json_value(v) for v in reference["x"].tolist()],
        "current": [json_value(v) for v in current["x"].tolist()],
    }
    report = Report(metrics=[table])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            report.run(reference_data=reference, current_data=current, column_mapping=mapping)
            column = report._first_level_metrics[0].get_result().drift_by_columns["x"]
        except Exception as error:  # Evidently refuses the case: recorded as such.
            case["error"] = f"{type(error).__name__}: {error}"
            return case
    case.update(
        {
            "column_type": column.column_type,
            "method": display_names()[column.stattest_name],
            "score": json_score(column.drift_score),
            "threshold": float(column.stattest_threshold),
            "drifted": bool(column.drift_detected),
        }
    )
    return case


# --- synthetic data ---------------------------------------------------------------------------


def with_missing(rng, values, share):
    return [None if rng.random() < share else v for v in values]


def numerical_sets():
    """(name, reference, current) of numerical columns, seeded."""
    import numpy as np

    rng = np.random.default_rng(14)

    def normal(n, mu=0.0, sd=1.0, digits=2):
        return [round(float(v), digits) for v in rng.normal(mu, sd, n)]

    def ints(n, low, high):
        return [int(v) for v in rng.integers(low, high + 1, n)]

    sets = [
        ("small_normal_shift", normal(200), normal(150, 0.3, 1.2)),
        ("small_normal_same", normal(120), normal(100)),
        ("tiny", normal(7), normal(9, 0.5)),
        ("equal_sizes_small", normal(60), normal(60, 0.4)),
        ("ref_1000", normal(1000, 5, 2, 1), normal(200, 5.2, 2, 1)),
        ("ref_1001", normal(1001, 5, 2, 1), normal(200, 5.2, 2, 1)),
        ("large_shift", normal(1100, 0, 1, 2), normal(600, 0.1, 1, 2)),
        ("large_same", normal(1050, 0, 1, 1), normal(500, 0, 1, 1)),
        ("heavy_ties", [round(v) for v in normal(300, 0, 2)], [round(v) for v in normal(250, 0.5, 2)]),
        ("heavy_ties_large", [round(v) for v in normal(1100, 0, 3)], [round(v) for v in normal(500, 0.3, 3)]),
        ("ints_few_3", ints(80, 1, 3), ints(60, 1, 3)),
        ("ints_few_5_large", ints(1050, 1, 5), [int(v) for v in rng.choice([1, 2, 3, 4, 5], 400, p=[0.3, 0.3, 0.2, 0.1, 0.1])]),
        ("ints_ten", ints(150, 0, 9), ints(140, 2, 11)),
        ("ints_30_values", ints(400, 0, 29), ints(300, 3, 32)),
        ("binary_01", ints(200, 0, 1), [int(v) for v in rng.random(180) < 0.6]),
        ("binary_01_large", ints(1020, 0, 1), [int(v) for v in rng.random(500) < 0.55]),
        ("constant_reference", [5] * 50, ints(40, 3, 8)),
        ("constant_both_equal", [2.5] * 40, [2.5] * 30),
        ("constant_both_different", [1] * 30, [2] * 30),
        ("missing_values", with_missing(rng, normal(150, 1, 1), 0.1), with_missing(rng, normal(130, 1.5, 1), 0.2)),
        ("missing_ints", with_missing(rng, ints(100, 0, 40), 0.05), ints(90, 0, 45)),
        ("missing_crosses_1000", with_missing(rng, normal(1010, 0, 1, 1), 0.02), normal(150, 0, 1, 1)),
        ("wide_range", [round(float(v), 1) for v in rng.lognormal(3, 1.5, 300)], [round(float(v), 1) for v in rng.lognormal(3.3, 1.5, 250)]),
        ("current_outside", normal(100), normal(80, 10, 1)),
        ("identical", [1.5, 2.5, 3.5, 4.5, 5.5, 6.5] * 5, [1.5, 2.5, 3.5, 4.5, 5.5, 6.5] * 5),
        # Integers 1 to 3: as int64, NumPy's Sturges width is raised to 1 (hellinger bins by
        # it); with a missing cell pandas reads float64 and the width stays below 1.
        ("ints_1_to_3", ints(60, 1, 3), ints(50, 1, 3)),
        ("ints_1_to_3_missing", ints(60, 1, 3) + [None], ints(50, 1, 3)),
        # The same whole numbers as floats (`1.0`): float64 without a missing cell either.
        ("whole_floats_1_to_3", [float(v) for v in ints(60, 1, 3)], [float(v) for v in ints(50, 1, 3)]),
    ]
    return sets


def ks_sets():
    """Extra sets for ks: the exact paths (equal and unequal sizes) and the asymptotic one."""
    import numpy as np

    rng = np.random.default_rng(2)

    def normal(n, mu=0.0, digits=2):
        return [round(float(v), digits) for v in rng.normal(mu, 1, n)]

    return [
        ("exact_equal_sizes_large", normal(1500, 0, 1), normal(1500, 0.05, 1)),
        ("exact_unequal_coprime", normal(997, 0, 1), normal(1009, 0.08, 1)),
        ("exact_unequal_common_divisor", normal(600, 0, 1), normal(900, 0.1, 1)),
        ("exact_equal_strong_shift", normal(500), normal(500, 0.6)),
        ("asymptotic_large_reference", [int(v) for v in rng.integers(0, 100, 10001)], [int(v) for v in rng.integers(2, 100, 300)]),
        ("asymptotic_large_current", normal(200, 0, 1), [int(v) for v in rng.integers(-9, 10, 10050)]),
    ]


def categorical_sets():
    """(name, reference, current, declared categorical) of categorical columns, seeded."""
    import numpy as np

    rng = np.random.default_rng(41)

    def pick(n, values, p=None):
        return [values[int(i)] for i in rng.choice(len(values), n, p=p)]

    letters = ["a", "b", "c", "d", "e"]
    return [
        ("letters_shift", pick(200, letters), pick(150, letters, [0.3, 0.3, 0.2, 0.1, 0.1]), False),
        ("letters_same", pick(300, letters), pick(250, letters), False),
        ("unseen_in_reference", pick(100, ["a", "b", "c"]), pick(90, ["a", "b", "c", "z"]), False),
        ("binary_strings", pick(120, ["no", "yes"]), pick(110, ["no", "yes"], [0.3, 0.7]), False),
        ("booleans", pick(200, [True, False]), pick(150, [True, False], [0.65, 0.35]), False),
        ("booleans_missing", with_missing(rng, pick(100, [True, False]), 0.1), pick(100, [True, False]), False),
        ("strings_missing", with_missing(rng, pick(150, letters), 0.1), with_missing(rng, pick(140, letters), 0.15), False),
        ("large_reference", pick(1100, letters + ["f"]), pick(600, letters + ["f"], [0.2, 0.2, 0.2, 0.2, 0.1, 0.1]), False),
        ("constant_same", ["a"] * 40, ["a"] * 35, False),
        ("constant_different", ["a"] * 40, ["b"] * 35, False),
        ("numbers_declared", [int(v) for v in rng.integers(0, 3, 120)], [int(v) for v in rng.integers(0, 4, 100)], True),
        ("numbers_binary_declared", [int(v) for v in rng.integers(0, 2, 90)], [int(v) for v in rng.integers(0, 2, 90)], True),
        ("many_categories", pick(400, [f"c{i:02d}" for i in range(30)]), pick(350, [f"c{i:02d}" for i in range(5, 35)]), False),
        ("numeric_looking_text", pick(80, ["1", "2", "10", "x"]), pick(80, ["1", "2", "10", "x"], [0.1, 0.4, 0.4, 0.1]), False),
        ("z_far_apart", pick(300, ["a", "b"], [0.9, 0.1]), pick(300, ["a", "b"], [0.1, 0.9]), False),
    ]


def equal_size_sets():
    """Categorical sets with equal sizes, for g_test and fisher_exact."""
    import numpy as np

    rng = np.random.default_rng(7)

    def pick(n, values, p=None):
        return [values[int(i)] for i in rng.choice(len(values), n, p=p)]

    return [
        ("g_letters", pick(200, ["a", "b", "c", "d"]), pick(200, ["a", "b", "c", "d"], [0.4, 0.3, 0.2, 0.1])),
        ("g_same", pick(150, ["a", "b", "c"]), pick(150, ["a", "b", "c"])),
        ("g_large", pick(1050, ["u", "v", "w", "x", "y"]), pick(1050, ["u", "v", "w", "x", "y"], [0.22, 0.2, 0.2, 0.2, 0.18])),
        ("two_small", pick(20, ["no", "yes"]), pick(20, ["no", "yes"], [0.2, 0.8])),
        ("two_medium", pick(100, ["no", "yes"]), pick(100, ["no", "yes"], [0.45, 0.55])),
        ("two_large", pick(1010, ["no", "yes"]), pick(1010, ["no", "yes"], [0.4, 0.6])),
        ("booleans_equal", pick(60, [True, False]), pick(60, [True, False], [0.7, 0.3])),
        ("one_category_each", ["a"] * 30, ["a"] * 30),
        ("unequal_sizes", pick(50, ["no", "yes"]), pick(40, ["no", "yes"])),
        ("three_categories", pick(60, ["a", "b", "c"]), pick(60, ["a", "b", "c"])),
        ("unseen_equal", pick(80, ["a", "b"]), pick(80, ["a", "c"])),
    ]


def cramer_von_mises_sets():
    """Extra sets for cramer_von_mises: the exact p-value (at most 20 values a side) with each
    storage NumPy picks for its frequency table (unsigned integers, where Evidently's copy
    fails with a casting error; float16; float32), with and without ties, a side of one value (refused), the limiting distribution just above 20
    values, a small p-value, and a statistic so small that p is 1 (tn < 0.003)."""
    import numpy as np

    rng = np.random.default_rng(1914)

    def normal(n, mu=0.0, digits=2):
        return [round(float(v), digits) for v in rng.normal(mu, 1, n)]

    def ints(n, low, high):
        return [int(v) for v in rng.integers(low, high + 1, n)]

    return [
        ("exact_2_3_unsigned", normal(2), normal(3, 1.0)),
        ("exact_6_8_unsigned", normal(6), normal(8, 0.5)),
        ("exact_3_20_unsigned", normal(3), normal(20, 0.3)),
        ("exact_8_8_float16", normal(8), normal(8, 0.8)),
        ("exact_9_9_float16_ties", ints(9, 0, 4), ints(9, 1, 5)),
        ("exact_4_20_float16", normal(4), normal(20, 0.7)),
        ("exact_5_20_float16_ties", ints(5, 0, 6), ints(20, 0, 6)),
        ("exact_10_10_float32", normal(10), normal(10, 0.9)),
        ("exact_12_13_float32_ties", ints(12, 0, 5), ints(13, 1, 6)),
        ("exact_20_20_float32", normal(20), normal(20, 0.6)),
        ("exact_20_20_same", normal(20), normal(20)),
        ("exact_15_20_far_apart", normal(15), normal(20, 4.0)),
        ("one_value_refused", [1.5], normal(10)),
        ("asymptotic_21_21", normal(21), normal(21, 0.5)),
        ("asymptotic_25_ties", ints(25, 0, 5), ints(30, 0, 6)),
        ("asymptotic_small_p", normal(60), normal(60, 1.3)),
        ("asymptotic_p_one_interleaved", [float(2 * i) for i in range(50)], [float(2 * i + 1) for i in range(50)]),
        ("asymptotic_p_one_identical", [float(i) for i in range(30)], [float(i) for i in range(30)]),
    ]


def epps_singleton_sets():
    """Extra sets for es: sizes just above SciPy's minimum of 5, below 25 (small-sample
    correction) and at 25, ties, values on two and three points (a covariance matrix of rank 1
    and 2: the pseudo-inverse and the chi-square's degrees of freedom), and 4 values (refused)."""
    import numpy as np

    rng = np.random.default_rng(1915)

    def normal(n, mu=0.0, digits=2):
        return [round(float(v), digits) for v in rng.normal(mu, 1, n)]

    def ints(n, low, high):
        return [int(v) for v in rng.integers(low, high + 1, n)]

    return [
        ("five_and_six", normal(5), normal(6, 0.5)),
        ("small_ties", ints(8, 0, 4), ints(10, 0, 5)),
        ("under_25", normal(20), normal(24, 0.5)),
        ("at_25", normal(25), normal(30, 0.3)),
        ("two_points_rank_1", [0] * 6 + [1] * 6, [0] * 4 + [1] * 8),
        ("three_points_rank_2", ints(30, 0, 2), ints(30, 0, 2)),
        ("four_values_refused", normal(4), normal(10)),
    ]


def cases_for(method):
    """The cases one method's file holds."""
    numerical = numerical_sets()
    categorical = categorical_sets()
    cases = []
    small_numerical = [s for s in numerical if len(s[1]) <= 400]
    if method in ("ks", "wasserstein", "psi", "kl_div", "jensenshannon", "hellinger", "ed"):
        chosen = [s for s in numerical if s[0] != "large_same"]
    else:
        chosen = small_numerical + [s for s in numerical if s[0] in ("large_shift", "heavy_ties_large")]
    numeric_methods = {"ks", "wasserstein", "psi", "kl_div", "jensenshannon", "hellinger", "mannw",
                       "t_test", "ed", "cramer_von_mises", "anderson", "es"}
    categorical_methods = {"psi", "kl_div", "jensenshannon", "hellinger", "chisquare", "z", "TVD"}
    if method in numeric_methods:
        for name, ref, cur in chosen:
            cases.append(run_case(name, ref, cur, method))
    if method == "ks":
        for name, ref, cur in ks_sets():
            cases.append(run_case(name, ref, cur, method))
        cases.append(run_case("threshold_0_5", numerical[0][1], numerical[0][2], method, threshold=0.5))
        cases.append(run_case("refused_on_categorical", ["a", "b"] * 10, ["a"] * 10, method))
    if method in categorical_methods:
        for name, ref, cur, declared in categorical:
            cases.append(run_case(name, ref, cur, method, categorical=declared))
    if method in ("g_test", "fisher_exact"):
        for name, ref, cur in equal_size_sets():
            cases.append(run_case(name, ref, cur, method))
    if method == "chisquare":
        cases.append(run_case("refused_on_numerical", numerical[0][1], numerical[0][2], method))
        cases.append(run_case("threshold_0_2", categorical[0][1], categorical[0][2], method, threshold=0.2))
    if method == "z":
        cases.append(run_case("refused_on_numerical", numerical[0][1], numerical[0][2], method))
    if method == "cramer_von_mises":
        for name, ref, cur in cramer_von_mises_sets():
            cases.append(run_case(name, ref, cur, method))
    if method == "es":
        for name, ref, cur in epps_singleton_sets():
            cases.append(run_case(name, ref, cur, method))
        cases.append(run_case("iqr_zero", [1.0] * 30 + [2.0], [1.0] * 20 + [3.0], method))
    if method == "auto":
        for name, ref, cur in numerical + ks_sets()[:2]:
            cases.append(run_case(name, ref, cur, method))
        for name, ref, cur, declared in categorical:
            cases.append(run_case(name, ref, cur, method, categorical=declared))
    return cases


def es_rounding_noise(case) -> bool:
    """Whether SciPy's Epps-Singleton pseudo-inverse keeps a singular value that is rounding
    noise (below 1e-12 of the largest, above NumPy's 4·eps cutoff): the statistic is then set
    by the last bits of OpenBLAS's products, which no other implementation reproduces."""
    import numpy as np
    from scipy.stats import iqr

    x = np.array([v for v in case["reference"] if v is not None], dtype=float)
    y = np.array([v for v in case["current"] if v is not None], dtype=float)
    nx, ny = len(x), len(y)
    if nx < 5 or ny < 5 or case.get("score") is None:
        return False
    n = nx + ny
    ts = np.array([0.4, 0.8])[:, None] / (iqr(np.concatenate([x, y])) / 2)
    gx = np.concatenate([np.cos(ts * x), np.sin(ts * x)])
    gy = np.concatenate([np.cos(ts * y), np.sin(ts * y)])
    cov = (n / nx) * (np.cov(gx) * (nx - 1) / nx) + (n / ny) * (np.cov(gy) * (ny - 1) / ny)
    s = np.linalg.svd(cov, compute_uv=False)
    kept = s[s > 4 * np.finfo(float).eps * s.max()]
    return bool(kept.min() < 1e-12 * s.max())


def generate(out: Path):
    os.environ.setdefault("EVIDENTLY_DISABLE_TELEMETRY", "1")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    import importlib.metadata as metadata

    for package, version in VERSIONS.items():
        if metadata.version(package) != version:
            raise SystemExit(f"{package} {metadata.version(package)} is not the pinned {version}")
    out.mkdir(parents=True, exist_ok=True)
    total = 0
    for method in METHODS + ["auto"]:
        cases = cases_for(method)
        if method == "TVD":
            # The permutation p-value depends on numpy's legacy RNG (seeded 0): only p = 0
            # (the statistic above every permuted one) can be compared without it.
            for case in cases:
                if case.get("score") not in (None, 0.0):
                    case["needs_numpy_rng"] = True
        if method == "es":
            for case in cases:
                if es_rounding_noise(case):
                    case["rounding_noise"] = True
        if method == "fisher_exact":
            # Three categories over both sides (two on each): Evidently maps them to 0 and 1 in
            # Python's set order, so its p-value follows the string hash; modelwatch maps them
            # in sorted order. Only that we answer is checked.
            for case in cases:
                values = {json.dumps(v) for v in case["reference"] + case["current"] if v is not None}
                if "error" not in case and len(values) > 2:
                    case["set_order_dependent"] = True
        document = {"versions": VERSIONS, "method": method, "cases": cases}
        text = json.dumps(document, separators=(",", ":"), allow_nan=False) + "\n"
        (out / f"{method}.json").write_text(text)
        total += len(text)
        print(f"{method}: {len(cases)} cases, {len(text)} bytes", file=sys.stderr)
    print(f"total {total} bytes", file=sys.stderr)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--python", default=os.environ.get("EVIDENTLY_PYTHON"), help="interpreter with the pinned versions")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inner:
        generate(args.out)
        return
    python = reference_python(args.python)
    # Evidently orders categories by Python's set order, which follows the string hash: a fixed
    # seed makes the cases the same on every run.
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    subprocess.run([python, __file__, "--inner", "--out", str(args.out)], check=True, env=env)


if __name__ == "__main__":
    main()
