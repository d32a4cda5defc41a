#!/usr/bin/env python3
"""Generate golden fixtures for modelwatch-detectors from River 0.26.1.

Runs River's PageHinkley, ADWIN and KSWIN over seeded real-valued streams, and River's binary
detectors DDM, EDDM, HDDMA, HDDMW and FHDDM over seeded 0/1 error streams, with several parameter
sets each, and crates/modelwatch-detectors/tests/golden/, in the format of River's own case files:
name, detector, river_class, params, source, stream_generator, stream, drifts, warnings,
river_version. `warnings` lists every index where River's `warning_detected` was true right
after the update (empty for detectors without a warning signal). The Rust tests require the
port to reproduce every drift and warning index exactly.

Usage:
    python3 tools/river_fixtures.py                  # creates tools/.venv with river==0.26.1
    python3 tools/river_fixtures.py --python /tmp/riverenv/bin/python
    RIVER_PYTHON=/tmp/riverenv/bin/python python3 tools/river_fixtures.py

The interpreter must have river 0.26.1 installed; the script re-runs itself under it.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import venv
from pathlib import Path

RIVER_VERSION = "0.26.1"
REPO = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO / "crates" / "modelwatch-detectors" / "tests" / "golden"
VENV = REPO / "tools" / ".venv"
STREAM_LEN = 2000


def river_python(explicit: str | None) -> str:
    """The interpreter to run River with: --python, $RIVER_PYTHON, or tools/.venv (created)."""
    chosen = explicit or os.environ.get("RIVER_PYTHON")
    if chosen:
        return chosen
    python = VENV / "bin" / "python"
    if not python.exists():
        print(f"creating {VENV}", file=sys.stderr)
        venv.create(VENV, with_pip=True)
    check = subprocess.run(
        [str(python), "-c", f"import river, sys; sys.exit(river.__version__ != '{RIVER_VERSION}')"],
        capture_output=True,
    )
    if check.returncode != 0:
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", f"river=={RIVER_VERSION}"], check=True
        )
    return str(python)


# --- streams -------------------------------------------------------------------------------
# Each generator takes a seeded random.Random and returns STREAM_LEN floats, rounded to 6
# decimals to keep the files small (the rounded values are still arbitrary doubles).


def abrupt(rng):
    return [rng.gauss(0.0, 1.0) if i < 1000 else rng.gauss(1.5, 1.0) for i in range(STREAM_LEN)]


def abrupt_multi(rng):
    levels = [0.0, 2.0, -1.0, 3.0, 3.5]
    return [rng.gauss(levels[i // 400], 1.0) for i in range(STREAM_LEN)]


def gradual(rng):
    # Accuracy-like: concept B (0.80) replaces concept A (0.92) with a probability rising
    # linearly from 0 to 1 between points 600 and 1400.
    out = []
    for i in range(STREAM_LEN):
        p_new = min(1.0, max(0.0, (i - 600) / 800))
        out.append(rng.gauss(0.80, 0.03) if rng.random() < p_new else rng.gauss(0.92, 0.02))
    return out


def nodrift(rng):
    return [rng.gauss(0.5, 0.2) for _ in range(STREAM_LEN)]


def outliers(rng):
    out = []
    for i in range(STREAM_LEN):
        x = rng.gauss(1.0 if i >= 1000 else 0.0, 1.0)
        if rng.random() < 0.02:
            x += rng.choice([-50.0, 50.0])
        out.append(x)
    return out


def negative(rng):
    return [rng.gauss(-100.0 if i < 1200 else -90.0, 5.0) for i in range(STREAM_LEN)]


def ties(rng):
    return [
        float(rng.choices([0, 1, 2, 3], weights=[4, 3, 2, 1] if i < 1000 else [1, 2, 3, 4])[0])
        for i in range(STREAM_LEN)
    ]


def large_offset(rng):
    # Tiny changes on a huge level: every subtraction cancels, so operation order shows.
    return [1e6 + (0.02 if i >= 1000 else 0.0) + rng.gauss(0.0, 0.01) for i in range(STREAM_LEN)]


def trend(rng):
    return [i * 0.002 + rng.gauss(0.0, 0.5) for i in range(STREAM_LEN)]


# Binary streams: 1 = error, 0 = correct, drawn as int(rng.random() < p) with a per-point error
# rate p; written as JSON integers like River's own binary case files.
BIN_LEN = 3000


def bernoulli(rng, rate):
    return [int(rng.random() < rate(i)) for i in range(BIN_LEN)]


def bin_abrupt(rng):
    return bernoulli(rng, lambda i: 0.1 if i < 1500 else 0.4)


def bin_gradual(rng):
    return bernoulli(rng, lambda i: 0.1 + 0.3 * min(1.0, max(0.0, (i - 1000) / 1000)))


def bin_nodrift(rng):
    return bernoulli(rng, lambda i: 0.2)


def bin_falling(rng):
    # The error rate improves: FHDDM (which watches the rate of 1s falling) fires on this one.
    return bernoulli(rng, lambda i: 0.4 if i < 1500 else 0.1)


def bin_multi(rng):
    levels = [0.05, 0.3, 0.1, 0.5]
    return bernoulli(rng, lambda i: levels[i // 750])


def bin_zero_start(rng):
    # No error at all for 100 points, then errors at rate 0.1 (DDM's p_min = s_min = 0 case).
    return bernoulli(rng, lambda i: 0.0 if i < 100 else 0.1)


STREAMS = {
    "abrupt": (abrupt, 11, "gauss(0,1) x1000 then gauss(1.5,1) x1000"),
    "abrupt_multi": (abrupt_multi, 12, "gauss(level,1), level 0,2,-1,3,3.5 every 400"),
    "gradual": (gradual, 13, "gauss(0.92,0.02) replaced by gauss(0.80,0.03) with p rising 600..1400"),
    "nodrift": (nodrift, 14, "gauss(0.5,0.2) x2000"),
    "outliers": (outliers, 15, "gauss(0|1,1) shift at 1000, 2% spikes of +-50"),
    "negative": (negative, 16, "gauss(-100,5) x1200 then gauss(-90,5)"),
    "ties": (ties, 17, "choices 0..3, weights 4,3,2,1 then 1,2,3,4 at 1000"),
    "large_offset": (large_offset, 18, "1e6 + gauss(0,0.01), +0.02 from 1000"),
    "trend": (trend, 19, "0.002*i + gauss(0,0.5)"),
}

BINARY_STREAMS = {
    "bin_abrupt": (bin_abrupt, 21, "error rate 0.1 x1500 then 0.4 x1500"),
    "bin_gradual": (bin_gradual, 22, "error rate 0.1, rising linearly to 0.4 between 1000 and 2000"),
    "bin_nodrift": (bin_nodrift, 23, "error rate 0.2 x3000"),
    "bin_falling": (bin_falling, 24, "error rate 0.4 x1500 then 0.1 x1500"),
    "bin_multi": (bin_multi, 25, "error rate 0.05,0.3,0.1,0.5 every 750"),
    "bin_zero_start": (bin_zero_start, 26, "no error x100, then error rate 0.1"),
}

# --- parameter sets ------------------------------------------------------------------------
# (name, params, streams). Defaults run on every stream; the others on a few each.

ALL = list(STREAMS)
PAGE_HINKLEY = [
    ("default", {}, ALL),
    ("up", {"mode": "up"}, ["abrupt", "abrupt_multi", "trend"]),
    ("down", {"mode": "down"}, ["abrupt_multi", "gradual", "negative"]),
    ("small_threshold", {"threshold": 5.0, "delta": 0.001}, ["nodrift", "ties", "large_offset"]),
    ("large_threshold", {"threshold": 200.0}, ["abrupt", "outliers", "trend"]),
    ("fast_forgetting", {"alpha": 0.99, "min_instances": 10}, ["gradual", "outliers", "abrupt_multi"]),
    ("late_start", {"min_instances": 100, "delta": 0.05}, ["negative", "ties", "abrupt"]),
]
ADWIN = [
    ("default", {}, ALL),
    ("clock_1", {"clock": 1}, ["abrupt", "gradual", "large_offset"]),
    ("delta_0.1", {"delta": 0.1}, ["nodrift", "outliers", "trend"]),
    ("delta_1e-5_clock_8", {"delta": 1e-5, "clock": 8}, ["abrupt_multi", "negative", "ties"]),
    ("eager", {"grace_period": 0, "min_window_length": 1, "clock": 1}, ["abrupt", "ties", "outliers"]),
    ("patient", {"grace_period": 50, "min_window_length": 20}, ["gradual", "trend", "abrupt_multi"]),
    ("max_buckets_2", {"max_buckets": 2}, ["abrupt_multi", "large_offset", "nodrift"]),
    ("max_buckets_10_clock_16", {"max_buckets": 10, "clock": 16}, ["negative", "outliers", "trend"]),
    ("max_buckets_1", {"max_buckets": 1}, ["abrupt", "nodrift", "ties"]),
]
# KSWIN draws its reference sample with random.Random(seed); seed=None would not be reproducible,
# so every set fixes a seed ("seed42" is the defaults otherwise). window_size - stat_size against
# CPython's random.sample setsize (21 + 4**ceil(log4(3k)) for k > 5, else 21) picks the sampling
# method: pool for 70/30, 40/10 and 100/100; set for 370/30 ("w400_seed1") and 25/5 ("w30_s5").
KSWIN = [
    ("seed42", {"seed": 42}, ALL + ["bin_abrupt", "bin_multi"]),
    ("seed7", {"seed": 7}, ["abrupt", "gradual", "nodrift"]),
    ("seed0", {"seed": 0}, ["abrupt_multi", "ties", "trend"]),
    ("big_seed", {"seed": 12345678901}, ["abrupt", "gradual"]),
    ("w400_seed1", {"window_size": 400, "stat_size": 30, "seed": 1},
     ["abrupt", "gradual", "nodrift", "abrupt_multi", "bin_abrupt"]),
    ("w200_s100_alpha1e-4", {"alpha": 0.0001, "window_size": 200, "stat_size": 100, "seed": 42},
     ["abrupt", "outliers", "trend"]),
    ("w50_s10_alpha0.05", {"alpha": 0.05, "window_size": 50, "stat_size": 10, "seed": 3},
     ["nodrift", "negative", "large_offset"]),
    ("w30_s5", {"alpha": 0.05, "window_size": 30, "stat_size": 5, "seed": 99}, ["abrupt", "ties", "gradual"]),
]

BIN = list(BINARY_STREAMS)
DDM = [
    ("default", {}, BIN),
    ("tight", {"warm_start": 50, "warning_threshold": 1.5, "drift_threshold": 2.5},
     ["bin_abrupt", "bin_gradual", "bin_multi"]),
    ("eager", {"warm_start": 5, "warning_threshold": 1.0, "drift_threshold": 2.0},
     ["bin_nodrift", "bin_zero_start", "bin_falling"]),
]
EDDM = [
    ("default", {}, BIN),
    ("alpha0.9_beta0.8", {"alpha": 0.9, "beta": 0.8}, ["bin_abrupt", "bin_gradual", "bin_multi"]),
    ("warm10_alpha0.99_beta0.97", {"warm_start": 10, "alpha": 0.99, "beta": 0.97},
     ["bin_nodrift", "bin_falling", "bin_zero_start"]),
]
HDDMA = [
    ("default", {}, BIN),
    ("two_sided", {"two_sided_test": True}, BIN),
    ("confidence", {"drift_confidence": 0.0001, "warning_confidence": 0.01},
     ["bin_abrupt", "bin_gradual", "bin_nodrift"]),
    ("loose_two_sided", {"drift_confidence": 0.01, "warning_confidence": 0.05, "two_sided_test": True},
     ["bin_multi", "bin_falling", "bin_zero_start"]),
]
HDDMW = [
    ("default", {}, BIN),
    ("two_sided", {"two_sided_test": True}, BIN),
    ("lambda0.1_two_sided", {"lambda_val": 0.1, "two_sided_test": True},
     ["bin_abrupt", "bin_falling", "bin_multi"]),
    ("lambda0.01_loose", {"drift_confidence": 0.01, "warning_confidence": 0.05, "lambda_val": 0.01},
     ["bin_abrupt", "bin_gradual", "bin_nodrift"]),
]
FHDDM = [
    ("default", {}, BIN),
    ("short20", {"short_window_size": 20}, BIN),
    ("w50_conf1e-4", {"sliding_window_size": 50, "confidence_level": 0.0001},
     ["bin_falling", "bin_multi", "bin_nodrift"]),
    ("w200_short50", {"sliding_window_size": 200, "confidence_level": 1e-7, "short_window_size": 50},
     ["bin_falling", "bin_multi", "bin_abrupt"]),
]

# (River class, River module path, parameter sets), in generation order.
DETECTORS = [
    ("PageHinkley", "river.drift", PAGE_HINKLEY),
    ("ADWIN", "river.drift", ADWIN),
    ("KSWIN", "river.drift", KSWIN),
    ("DDM", "river.drift.binary", DDM),
    ("EDDM", "river.drift.binary", EDDM),
    ("HDDMA", "river.drift.binary", HDDMA),
    ("HDDMW", "river.drift.binary", HDDMW),
    ("FHDDM", "river.drift.binary", FHDDM),
]


def generate(out: Path) -> None:
    import importlib

    import river

    if river.__version__ != RIVER_VERSION:
        sys.exit(f"need river {RIVER_VERSION}, found {river.__version__}")
    streams = {}
    for name, (make, seed, recipe) in STREAMS.items():
        values = [round(x, 6) for x in make(random.Random(seed))]
        streams[name] = (values, f"random.Random({seed}); {recipe}; rounded to 6 decimals")
    for name, (make, seed, recipe) in BINARY_STREAMS.items():
        streams[name] = (make(random.Random(seed)), f"random.Random({seed}); int(random() < rate), {recipe}")

    out.mkdir(parents=True, exist_ok=True)
    for stale in out.glob("*.json"):
        stale.unlink()
    written = total_drifts = 0
    summary = []
    for river_class, module, sets in DETECTORS:
        cls = getattr(importlib.import_module(module), river_class)
        counts = [0, 0, 0]  # files, drifts, warnings
        for set_name, params, stream_names in sets:
            for stream_name in stream_names:
                values, recipe = streams[stream_name]
                detector = cls(**params)
                drifts, warnings = [], []
                try:
                    for index, x in enumerate(values):
                        detector.update(x)
                        if detector.drift_detected:
                            drifts.append(index)
                        if getattr(detector, "warning_detected", False):
                            warnings.append(index)
                except BaseException as error:  # River's Rust core panics with max_buckets=1
                    print(f"skipped {river_class} {set_name} {stream_name}: River raised "
                          f"{type(error).__name__}: {error}", file=sys.stderr)
                    continue
                name = f"{river_class.lower()}__{set_name}__{stream_name}"
                case = {
                    "name": name,
                    "detector": river_class,
                    "river_class": f"{module}.{river_class}",
                    "params": params,
                    "source": "tools/river_fixtures.py",
                    "stream_generator": recipe,
                    "stream": values,
                    "drifts": drifts,
                    "warnings": warnings,
                    "river_version": RIVER_VERSION,
                }
                (out / f"{name}.json").write_text(json.dumps(case, separators=(",", ":")) + "\n")
                written += 1
                total_drifts += len(drifts)
                counts[0] += 1
                counts[1] += len(drifts)
                counts[2] += len(warnings)
        if counts[1] == 0:
            sys.exit(f"no {river_class} drift in any fixture: its fixtures would prove nothing")
        summary.append(f"{river_class}: {counts[0]} files, {counts[1]} drifts, {counts[2]} warning steps")
    print("\n".join(summary))
    print(f"wrote {written} fixtures with {total_drifts} drifts to {out}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--python", help="interpreter with river==0.26.1 (default: $RIVER_PYTHON or tools/.venv)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="fixture directory")
    parser.add_argument("--generate", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.generate:
        generate(args.out)
        return
    python = river_python(args.python)
    subprocess.run([python, str(Path(__file__).resolve()), "--generate", "--out", str(args.out)], check=True)


if __name__ == "__main__":
    main()
