#!/usr/bin/env python3
"""Writes examples/degrading-model.jsonl: the stream README's first command replays.

A fraud detector serves version 1.4.0 on its default instance and version 1.5.0 on a
canary. The canary's accuracy degrades from minute 60 and its latency from minute 90;
the retrain job granted for it finishes at minute 104. Deterministic: run it again and
the file is byte for byte the same.
"""
import json
import random
from datetime import datetime, timedelta, timezone

START = datetime(2026, 11, 22, 8, 0, tzinfo=timezone.utc)
rng = random.Random(7)


def stamp(minute):
    return (START + timedelta(minutes=minute)).strftime("%Y-%m-%dT%H:%M:%SZ")


def clamp(x, low=0.0, high=1.0):
    return min(high, max(low, x))


def ramp(minute, start, end, before, after):
    if minute <= start:
        return before
    if minute >= end:
        return after
    return before + (after - before) * (minute - start) / (end - start)


def event(minute, version, instance, accuracy, latency, drift):
    noise = lambda scale: rng.gauss(0.0, scale)
    acc = clamp(accuracy + noise(0.004))
    metrics = {
        "accuracy": round(acc, 4),
        "precision": round(clamp(acc - 0.01 + noise(0.004)), 4),
        "recall": round(clamp(acc + 0.005 + noise(0.004)), 4),
        "f1": round(clamp(acc - 0.003 + noise(0.004)), 4),
        "latency_ms": round(max(0.0, latency + noise(2.0)), 1),
        "drift_score": round(max(0.0, drift + noise(0.004)), 4),
    }
    model = {"name": "fraud-detector", "version": version}
    if instance != "default":
        model["instance"] = instance
    return {"model": model, "timestamp": stamp(minute), "metrics": metrics}


lines = []
for minute in range(0, 181, 2):
    lines.append(event(minute, "1.4.0", "default", 0.94, 42.0, 0.02))
    if minute >= 20:
        accuracy = ramp(minute, 60, 120, 0.95, 0.76)
        latency = ramp(minute, 90, 130, 45.0, 240.0)
        drift = ramp(minute, 60, 120, 0.02, 0.15)
        lines.append(event(minute, "1.5.0", "canary-0", accuracy, latency, drift))
    if minute == 104:
        lines.append({
            "job_finished": {"model": "fraud-detector", "status": "succeeded", "version": "1.5.1"},
            "timestamp": stamp(minute),
        })

with open("examples/degrading-model.jsonl", "w") as out:
    for line in lines:
        out.write(json.dumps(line, separators=(",", ":")) + "\n")
print(f"wrote {len(lines)} lines to examples/degrading-model.jsonl")
