#!/usr/bin/env python3
"""Reference values for modelwatch's Mann-Whitney U test, from SciPy.

crates/modelwatch-detectors/src/mann_whitney.rs computes the normal distribution itself and the
Mann-Whitney U statistic, its continuity- and tie-corrected z and two-sided p-value as R's
`wilcox.test(x, y, exact = FALSE, correct = TRUE)` does. SciPy computes the same test with
`mannwhitneyu(x, y, use_continuity=True, alternative="two-sided", method="asymptotic")`, an
independent implementation. This script writes the samples and SciPy's answers to
crates/modelwatch-detectors/tests/mann_whitney/scipy.json; the Rust tests require agreement to
1e-12 (normal distribution) and 1e-9 (p-values).

Samples come from a seeded generator (random.Random(7)), some rounded to force ties.

Usage (SciPy from PyPI in a virtualenv):
    python3 -m venv /tmp/sp && /tmp/sp/bin/pip install scipy
    /tmp/sp/bin/python tools/mann_whitney_reference.py
"""

import json
import pathlib
import random

from scipy import stats

OUT = pathlib.Path(__file__).resolve().parent.parent / "crates/modelwatch-detectors/tests/mann_whitney/scipy.json"


def sample(rng, n, mean, sd, decimals):
    values = [rng.gauss(mean, sd) for _ in range(n)]
    return [round(v, decimals) if decimals is not None else v for v in values]


def main():
    rng = random.Random(7)
    cases = []
    shapes = [
        # (n candidate, n baseline, shift, decimals): small, large, tied, shifted both ways
        (5, 7, 0.0, None),
        (30, 30, 0.0, None),
        (40, 25, 0.5, None),
        (25, 40, -0.8, None),
        (100, 100, 0.1, 1),
        (60, 80, 0.0, 0),
        (200, 150, 0.3, 2),
        (3, 3, 5.0, None),
        (1, 9, 0.0, None),
        (50, 50, 2.0, 1),
    ]
    for nx, ny, shift, decimals in shapes:
        x = sample(rng, nx, 10.0 + shift, 1.0, decimals)
        y = sample(rng, ny, 10.0, 1.0, decimals)
        result = stats.mannwhitneyu(x, y, use_continuity=True, alternative="two-sided", method="asymptotic")
        cases.append({"candidate": x, "baseline": y, "u": float(result.statistic), "p_value": float(result.pvalue)})
    cdf = [{"x": x, "cdf": float(stats.norm.cdf(x))} for x in
           [-38.0, -20.0, -8.5, -5.0, -3.5, -2.5, -1.959963984540054, -1.0, -0.3, 0.0, 0.7, 1.5, 2.4, 3.6, 6.0, 9.0]]
    quantile = [{"p": p, "quantile": float(stats.norm.ppf(p))} for p in
                [1e-300, 1e-30, 1e-10, 1e-5, 0.001, 0.01, 0.025, 0.1, 0.3, 0.5, 0.75, 0.975, 0.99, 0.999999]]
    OUT.write_text(json.dumps({"source": "scipy " + __import__("scipy").__version__, "tests": cases,
                               "cdf": cdf, "quantile": quantile}, indent=1) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
