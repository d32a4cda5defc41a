#!/usr/bin/env python3
"""Generate golden fixtures for modelwatch-detectors from River 0.26.1.

Runs River's PageHinkley and ADWIN over seeded synthetic streams with several parameter sets and
writes one JSON case file per (detector, parameters, stream) to
crates/modelwatch-detectors/tests/golden/, in the format of River's own case files:
name, detector, river_class, params, source, stream_generator, stream, drifts, warnings,
river_version. The Rust tests require the port to reproduce every drift index exactly.

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


def generate(out: Path) -> None:
    import river
    from river import drift

    if river.__version__ != RIVER_VERSION:
        sys.exit(f"need river {RIVER_VERSION}, found {river.__version__}")
    streams = {}
    for name, (make, seed, recipe) in STREAMS.items():
        values = [round(x, 6) for x in make(random.Random(seed))]
        streams[name] = (values, f"random.Random({seed}); {recipe}; rounded to 6 decimals")

    out.mkdir(parents=True, exist_ok=True)
    for stale in out.glob("*.json"):
        stale.unlink()
    written = total_drifts = 0
    for river_class, sets in (("PageHinkley", PAGE_HINKLEY), ("ADWIN", ADWIN)):
        for set_name, params, stream_names in sets:
            for stream_name in stream_names:
                values, recipe = streams[stream_name]
                detector = getattr(drift, river_class)(**params)
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
                    "river_class": f"river.drift.{river_class}",
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
    if total_drifts == 0:
        sys.exit("no drift in any fixture: the fixtures would prove nothing")
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
