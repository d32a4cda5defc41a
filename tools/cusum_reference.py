#!/usr/bin/env python3
"""Independent reference implementation of modelwatch's CUSUM detector, and its fixtures.

modelwatch's `cusum` detector (crates/modelwatch-detectors/src/cusum.rs) has no River
counterpart, so this script implements the same specification a second time, in plain Python
(stdlib only), and writes one JSON case file per (parameters, stream) to
crates/modelwatch-detectors/tests/cusum/, in the format of River's case files (detector "CUSUM",
params, stream, drifts, warnings = []). The Rust test `cusum_matches_its_python_reference_exactly`
requires the Rust detector to reproduce every drift index exactly.

Specification (float operations in exactly this order):
- params: target (None = estimate the mean), k (default 0.5), h (default 5.0), warm_up
  (default 30, only without target), mode "up" | "down" | "both" (default "both");
- without target, the first warm_up points after each (re)start only estimate the mean:
  total += x in order, then mean = total / warm_up;
- per scored point: s_up = max(0.0, s_up + ((x - mean) - k)),
  s_down = max(0.0, s_down + ((mean - x) - k)); drift when a watched sum is > h (strict);
- the update after a drift first resets everything (sums to 0, mean estimated again).

Usage:
    python3 tools/cusum_reference.py
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO / "crates" / "modelwatch-detectors" / "tests" / "cusum"
DEFAULTS = {"target": None, "k": 0.5, "h": 5.0, "warm_up": 30, "mode": "both"}


def cusum_drifts(stream, params):
    """The indices at which CUSUM with `params` (CUSUM's parameter names) signals a drift."""
    p = dict(DEFAULTS, **params)
    if p["target"] is not None and "warm_up" in params:
        raise ValueError("warm_up only applies without target")
    watch_up = p["mode"] in ("up", "both")
    watch_down = p["mode"] in ("down", "both")
    k, h = p["k"], p["h"]

    drifts = []
    fresh = True
    for index, x in enumerate(stream):
        if fresh:
            mean = p["target"]
            total, seen = 0.0, 0
            s_up = s_down = 0.0
            fresh = False
        if mean is None:
            total += x
            seen += 1
            if seen == p["warm_up"]:
                mean = total / p["warm_up"]
            continue
        s_up = max(0.0, s_up + ((x - mean) - k))
        s_down = max(0.0, s_down + ((mean - x) - k))
        if (watch_up and s_up > h) or (watch_down and s_down > h):
            drifts.append(index)
            fresh = True
    return drifts


# --- streams -------------------------------------------------------------------------------
# Each takes a seeded random.Random; values are rounded to 6 decimals (still arbitrary doubles;
# the grid streams are exact already).
N = 1200


def up_shift(rng):
    return [rng.gauss(0.0 if i < 600 else 1.0, 1.0) for i in range(N)]


def down_shift(rng):
    return [rng.gauss(5.0 if i < 600 else 4.4, 0.5) for i in range(N)]


def gradual(rng):
    return [rng.gauss(1.5 * min(1.0, max(0.0, (i - 400) / 600)), 1.0) for i in range(N)]


def nodrift(rng):
    return [rng.gauss(0.0, 1.0) for _ in range(N)]


def accuracy(rng):
    # Accuracy-like metric: 0.92 falling to 0.89 at 600, small noise.
    return [rng.gauss(0.92 if i < 600 else 0.89, 0.02) for i in range(N)]


def accuracy_stable(rng):
    return [rng.gauss(0.92, 0.02) for _ in range(N)]


def multi(rng):
    levels = [0.0, 2.0, -1.0, 1.0]
    return [rng.gauss(levels[i // 300], 1.0) for i in range(N)]


def large_offset(rng):
    # Tiny changes on a huge level: every subtraction cancels, so the operation order shows.
    return [1e6 + (0.03 if i >= 600 else 0.0) + rng.gauss(0.0, 0.01) for i in range(N)]


def decimal_grid(rng):
    # Values on a 0.1 grid: the exact decimal sums often land on h or on 0, so the binary rounding
    # of each operation decides the drift index (a different operation order gives other drifts).
    return [rng.randrange(0, 11) / 10 for _ in range(N)]


def quarter_grid(rng):
    # Values on a 0.25 grid: every operation is exact, so sums equal to h test the strict `>`.
    return [rng.randrange(-4, 9) / 4 for _ in range(N)]


STREAMS = {
    "up_shift": (up_shift, 31, "gauss(0,1) x600 then gauss(1,1) x600"),
    "down_shift": (down_shift, 32, "gauss(5,0.5) x600 then gauss(4.4,0.5) x600"),
    "gradual": (gradual, 33, "gauss(m,1), m rising linearly 0 -> 1.5 between 400 and 1000"),
    "nodrift": (nodrift, 34, "gauss(0,1) x1200"),
    "accuracy": (accuracy, 35, "gauss(0.92,0.02) x600 then gauss(0.89,0.02) x600"),
    "accuracy_stable": (accuracy_stable, 38, "gauss(0.92,0.02) x1200"),
    "multi": (multi, 36, "gauss(level,1), level 0,2,-1,1 every 300"),
    "large_offset": (large_offset, 37, "1e6 + gauss(0,0.01), +0.03 from 600"),
    "decimal_grid": (decimal_grid, 39, "randrange(0,11)/10"),
    "quarter_grid": (quarter_grid, 40, "randrange(-4,9)/4"),
}

# --- parameter sets: (name, params, streams) -----------------------------------------------
ALL = list(STREAMS)
SETS = [
    ("default", {}, ALL),
    ("target0", {"target": 0.0}, ["up_shift", "gradual", "nodrift", "multi"]),
    ("target5_down", {"target": 5.0, "mode": "down"}, ["down_shift"]),
    ("target5_up", {"target": 5.0, "mode": "up"}, ["down_shift"]),
    ("up", {"mode": "up"}, ["up_shift", "down_shift", "multi", "gradual"]),
    ("down", {"mode": "down"}, ["up_shift", "down_shift", "multi"]),
    ("accuracy_down", {"target": 0.92, "k": 0.01, "h": 0.1, "mode": "down"}, ["accuracy", "accuracy_stable"]),
    ("accuracy_warm", {"k": 0.01, "h": 0.1, "warm_up": 100}, ["accuracy", "accuracy_stable", "large_offset"]),
    ("warm_up_1", {"warm_up": 1, "k": 1.0, "h": 4.0}, ["up_shift", "nodrift", "multi"]),
    ("k0_up", {"k": 0.0, "h": 10.0, "mode": "up"}, ["gradual", "nodrift"]),
    ("large_offset_target", {"target": 1e6, "k": 0.005, "h": 0.05}, ["large_offset"]),
    ("tight", {"k": 0.25, "h": 2.0, "warm_up": 50}, ["nodrift", "gradual", "down_shift"]),
    ("grid_target", {"target": 0.5, "k": 0.1, "h": 0.7}, ["decimal_grid"]),
    ("grid_target_up", {"target": 0.3, "k": 0.2, "h": 0.9, "mode": "up"}, ["decimal_grid"]),
    ("grid_warm", {"k": 0.1, "h": 0.6, "warm_up": 7}, ["decimal_grid"]),
    ("grid_quarter", {"target": 1.0, "k": 0.25, "h": 2.0}, ["quarter_grid"]),
    ("grid_quarter_warm", {"k": 0.5, "h": 3.0, "warm_up": 4, "mode": "down"}, ["quarter_grid"]),
]


def generate(out: Path) -> None:
    streams = {}
    for name, (make, seed, recipe) in STREAMS.items():
        values = [round(x, 6) for x in make(random.Random(seed))]
        streams[name] = (values, f"random.Random({seed}); {recipe}; rounded to 6 decimals")
    out.mkdir(parents=True, exist_ok=True)
    for stale in out.glob("*.json"):
        stale.unlink()
    written = total_drifts = 0
    for set_name, params, stream_names in SETS:
        for stream_name in stream_names:
            values, recipe = streams[stream_name]
            drifts = cusum_drifts(values, params)
            name = f"cusum__{set_name}__{stream_name}"
            case = {
                "name": name,
                "detector": "CUSUM",
                "params": params,
                "source": "tools/cusum_reference.py (independent Python implementation)",
                "stream_generator": recipe,
                "stream": values,
                "drifts": drifts,
                "warnings": [],
            }
            (out / f"{name}.json").write_text(json.dumps(case, separators=(",", ":")) + "\n")
            written += 1
            total_drifts += len(drifts)
    if total_drifts == 0:
        raise SystemExit("no drift in any fixture: the fixtures would prove nothing")
    print(f"wrote {written} fixtures with {total_drifts} drifts to {out}")


def self_check() -> None:
    """Hand-computed cases, the same as in src/cusum/tests.rs."""
    # target 0, k 0.5, h 2, x = 1: s_up = 0.5, 1.0, 1.5, 2.0 (not > 2), 2.5 -> drift at 4.
    assert cusum_drifts([1.0] * 5, {"target": 0.0, "h": 2.0}) == [4]
    # warm_up 4 over 1,2,3,4 -> mean 2.5; k 0.25, h 1, down: s_down 0.25, then 1.5 -> drift at 5;
    # then a fresh warm-up of 4 points, so nothing before index 10.
    stream = [1.0, 2.0, 3.0, 4.0, 2.0, 1.0, 7.0, 7.0, 7.0, 7.0, 7.0]
    assert cusum_drifts(stream, {"warm_up": 4, "k": 0.25, "h": 1.0, "mode": "down"}) == [5]
    # mode up ignores a fall: s_down = (10 - 5) - 1 = 4 > 3.
    assert cusum_drifts([5.0], {"target": 10.0, "k": 1.0, "h": 3.0, "mode": "up"}) == []
    assert cusum_drifts([5.0], {"target": 10.0, "k": 1.0, "h": 3.0}) == [0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="fixture directory")
    args = parser.parse_args()
    self_check()
    generate(args.out)


if __name__ == "__main__":
    main()
