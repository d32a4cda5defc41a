#!/usr/bin/env python3
"""Time River 0.26.1 on the streams the modelwatch-detectors benchmarks use.

The streams come from the deterministic recipe in
crates/modelwatch-detectors/benches/support/streams.rs (SplitMix64 -> uniforms -> Irwin-Hall
gaussians; `real_abrupt` and `real_nodrift` 4000-point blocks, and the 0/1 error block
`bin_abrupt` (error rate 0.1, then 0.4), tiled). This script implements the same recipe and checks
the blocks' fingerprint, so both sides time identical numbers.

Method (as in the River reference notes): for each detector and stream, 3 runs; each run builds a
fresh detector, feeds it the first 20,000 points as warm-up, then times `for x in data:
det.update(x)` over the first 1,000,000 points of the stream. The median run is reported.
KSWIN is the exception: at ~380 us per update in River it is timed over only the first 2,000
points after the same warm-up (the `timed` column says so). The binary detectors (DDM, EDDM,
HDDMA, HDDMW, FHDDM) run on `bin_abrupt`; CUSUM has no River counterpart and is not timed here.

Usage:
    python3 tools/river_bench.py [--python PATH] [--runs 3] [--json results.json]
    RIVER_PYTHON=/path/to/venv/bin/python python3 tools/river_bench.py
"""

from __future__ import annotations

import argparse
import json
import statistics
import struct
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from river_fixtures import RIVER_VERSION, river_python  # noqa: E402

MASK = (1 << 64) - 1
BLOCK_LEN = 4000
WARM_UP_LEN = 20_000
TIMED_LEN = 1_000_000
# KSWIN costs ~380 us per update in River (scipy's ks_2samp): 1,000,000 updates would take hours.
KSWIN_TIMED_LEN = 2_000
# FNV-1a 64 over real_abrupt, real_nodrift and bin_abrupt, as BLOCKS_FINGERPRINT in streams.rs.
BLOCKS_FINGERPRINT = 0x17F2248E0A00857D


class SplitMix64:
    def __init__(self, seed: int) -> None:
        self.state = seed

    def next_u64(self) -> int:
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        return z ^ (z >> 31)

    def next_uniform(self) -> float:
        return (self.next_u64() >> 11) * (1.0 / 9007199254740992.0)

    def next_gaussian(self) -> float:
        total = 0.0
        for _ in range(12):
            total += self.next_uniform()
        return total - 6.0


def real_abrupt_block() -> list[float]:
    generator = SplitMix64(2026)
    block = []
    for index in range(BLOCK_LEN):
        noise = generator.next_gaussian()
        block.append(noise if index < BLOCK_LEN // 2 else 2.0 + noise)
    return block


def real_nodrift_block() -> list[float]:
    generator = SplitMix64(2027)
    return [generator.next_gaussian() for _ in range(BLOCK_LEN)]


def bin_abrupt_block() -> list[float]:
    generator = SplitMix64(2028)
    block = []
    for index in range(BLOCK_LEN):
        rate = 0.1 if index < BLOCK_LEN // 2 else 0.4
        block.append(1.0 if generator.next_uniform() < rate else 0.0)
    return block


def fingerprint(blocks: list[list[float]]) -> int:
    value = 0xCBF29CE484222325
    for block in blocks:
        for x in block:
            for byte in struct.pack("<d", x):
                value ^= byte
                value = (value * 0x100000001B3) & MASK
    return value


def tiled(block: list[float], length: int) -> list[float]:
    return (block * (length // len(block) + 1))[:length]


REAL = ["real_abrupt", "real_nodrift"]
BINARY = ["bin_abrupt"]


def detectors():
    """(row label, factory, stream names, timed updates) for every timed River object."""
    from river import drift, stats, utils
    from river.drift import binary

    return [
        ("NoDrift (loop + call overhead)", lambda: drift.NoDrift(), REAL + BINARY, TIMED_LEN),
        ("ADWIN()", lambda: drift.ADWIN(), REAL, TIMED_LEN),
        ("ADWIN(clock=1)", lambda: drift.ADWIN(clock=1), REAL, TIMED_LEN),
        ("PageHinkley()", lambda: drift.PageHinkley(), REAL, TIMED_LEN),
        ("stats.EWMean(0.25) (ema analogue)", lambda: stats.EWMean(0.25), REAL, TIMED_LEN),
        (
            "utils.Rolling(stats.Mean, window_size=1000) (window_mean analogue)",
            lambda: utils.Rolling(stats.Mean, window_size=1000),
            REAL,
            TIMED_LEN,
        ),
        ("KSWIN(seed=42)", lambda: drift.KSWIN(seed=42), ["real_abrupt"], KSWIN_TIMED_LEN),
        ("binary.DDM()", lambda: binary.DDM(), BINARY, TIMED_LEN),
        ("binary.EDDM()", lambda: binary.EDDM(), BINARY, TIMED_LEN),
        ("binary.HDDMA()", lambda: binary.HDDMA(), BINARY, TIMED_LEN),
        ("binary.HDDMW()", lambda: binary.HDDMW(), BINARY, TIMED_LEN),
        ("binary.FHDDM()", lambda: binary.FHDDM(), BINARY, TIMED_LEN),
    ]


def time_run(factory, warm_up, timed) -> float:
    detector = factory()
    update = detector.update
    for x in warm_up:
        update(x)
    start = time.perf_counter()
    for x in timed:
        update(x)
    return time.perf_counter() - start


def bench(runs: int, json_path: Path | None) -> None:
    import river

    if river.__version__ != RIVER_VERSION:
        sys.exit(f"need river {RIVER_VERSION}, found {river.__version__}")
    blocks = {"real_abrupt": real_abrupt_block(), "real_nodrift": real_nodrift_block(), "bin_abrupt": bin_abrupt_block()}
    got = fingerprint(list(blocks.values()))
    if got != BLOCKS_FINGERPRINT:
        sys.exit(f"stream fingerprint {got:#x} != {BLOCKS_FINGERPRINT:#x}: recipe differs from the Rust bench")
    results = []
    print(f"River {river.__version__}, Python {sys.version.split()[0]}, {runs} runs, median; "
          f"{WARM_UP_LEN:,} warm-up updates, then the timed ones")
    print("| detector | stream | timed updates | runs (s) | median ns/update |")
    print("|---|---|---:|---|---:|")
    for label, factory, stream_names, timed_len in detectors():
        for stream_name in stream_names:
            block = blocks[stream_name]
            warm_up, timed = tiled(block, WARM_UP_LEN), tiled(block, timed_len)
            seconds = [time_run(factory, warm_up, timed) for _ in range(runs)]
            ns_per_update = statistics.median(seconds) / timed_len * 1e9
            runs_text = ", ".join(f"{s:.3f}" for s in seconds)
            print(f"| {label} | {stream_name} | {timed_len:,} | {runs_text} | {ns_per_update:.1f} |", flush=True)
            results.append(
                {
                    "detector": label,
                    "stream": stream_name,
                    "timed_updates": timed_len,
                    "seconds": seconds,
                    "ns_per_update": ns_per_update,
                }
            )
    print(f"KSWIN is timed over {KSWIN_TIMED_LEN:,} updates only (~380 us each in River); "
          f"every other row over {TIMED_LEN:,}.")
    if json_path:
        json_path.write_text(json.dumps(results, indent=2) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--python", help="interpreter with river==0.26.1 (default: $RIVER_PYTHON or tools/.venv)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", type=Path, help="also write the results as JSON here")
    parser.add_argument("--bench", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bench:
        bench(args.runs, args.json)
        return
    command = [river_python(args.python), str(Path(__file__).resolve()), "--bench", "--runs", str(args.runs)]
    if args.json:
        command += ["--json", str(args.json.resolve())]
    subprocess.run(command, check=True)


if __name__ == "__main__":
    main()
