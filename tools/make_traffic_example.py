#!/usr/bin/env python3
"""Writes examples/fraud-traffic.jsonl and its config, examples/fraud-traffic.toml, and the
same predictions as two tables for `modelwatch drift`: examples/fraud-reference.jsonl (the
first 400 predictions, the reference the config's drift uses) and examples/fraud-current.jsonl
(the last 1,000), one JSON object a line with the 20 features and the output as `prediction`.

The raw traffic of a binary fraud detector, `fraud-detector` 2.1.0 on instance `web-0`: two
days of predictions (a `score`, the predicted class and 20 features each: numbers, strings,
booleans, now and then a null), and the labels that arrive hours later. Most labels come
4 to 22 hours later; some never come (and a labeling outage loses most of those of the second
morning); a few come after the two-day horizon; a few name ids that were never predicted.

From hour 18 on, transactions of a new kind (crypto and gift-card merchants, through the app)
grow to half of the traffic. The model is unsure about them (its scores sit near the middle),
and their outcomes no longer follow its scores (fraudsters there look legitimate). So the
estimated accuracy (CBPE) falls as soon as those predictions are served, and the realized
accuracy, computed from the labels, falls hours later, when their labels come.

Standard library only; seeded and with fixed timestamps: run it again and both files are byte
for byte the same.
"""
import json
import math
import random
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TRAFFIC = ROOT / "examples" / "fraud-traffic.jsonl"
CONFIG = ROOT / "examples" / "fraud-traffic.toml"
REFERENCE = ROOT / "examples" / "fraud-reference.jsonl"
CURRENT = ROOT / "examples" / "fraud-current.jsonl"
REFERENCE_ROWS = 400
CURRENT_ROWS = 1000

START = datetime(2026, 12, 1, 0, 0, tzinfo=timezone.utc)
MODEL = {"name": "fraud-detector", "version": "2.1.0", "instance": "web-0"}
PREDICTIONS = 2400
HOURS = 48.0
# The new kind of transaction grows from 0 to half of the traffic between these hours.
SHIFT_FROM, SHIFT_TO = 18.0, 26.0
# Hours whose labels mostly never come (the labeling pipeline's outage).
OUTAGE_FROM, OUTAGE_TO = 30.0, 36.0
HORIZON_HOURS = 48
UNMATCHED_LABELS = 8

rng = random.Random(13)

CONFIG_TEXT = """\
# The config of examples/fraud-traffic.jsonl (written by tools/make_traffic_example.py):
#
#   modelwatch replay --config examples/fraud-traffic.toml examples/fraud-traffic.jsonl
#
# fraud-detector sends raw traffic, predictions and the labels that come later; modelwatch
# computes its quality from them and these rules act on it as on pushed metrics.

[[models]]
name = "fraud-detector"
task = "binary"
positive = "fraud"                     # the positive class, as outputs and labels write it
window = 200                           # one realized point per 200 labeled predictions
label_horizon_secs = 172800            # labels more than two days late are dropped
reference = { first = 400 }            # data drift: the first 400 predictions of a version
drift_window = 200                     # one drift point per 200 predictions after them

[retrain]
cooldown_secs = 21600                  # one retrain per model per six hours of event time

# Realized accuracy, from the labels: below 0.9 asks for a retrain.
[[rules]]
name = "accuracy-low"
description = "realized accuracy below 0.9"
model = "fraud-detector"
metric = "accuracy"
detector = { kind = "threshold", below = 0.9 }
severity = "critical"
actions = ["retrain"]

[[rules]]
name = "f1-low"
description = "realized f1 below 0.8"
model = "fraud-detector"
metric = "f1"
detector = { kind = "threshold", below = 0.8 }
severity = "warning"

# The estimate (CBPE) acts on the scores alone, hours before the labels come.
[[rules]]
name = "estimated-accuracy-low"
description = "estimated accuracy (CBPE, before labels) below 0.9"
model = "fraud-detector"
metric = "estimated_accuracy"
detector = { kind = "threshold", below = 0.9 }
severity = "warning"

# Labels stop coming: the realized metrics would be computed on too few of them.
[[rules]]
name = "label-coverage-low"
description = "fewer than 80% of the predictions labeled within the horizon"
model = "fraud-detector"
metric = "label_coverage"
detector = { kind = "threshold", below = 0.8 }
severity = "warning"

# The inputs stop looking like the reference: more than 40% of the columns drifted (the
# reference is the first hours, so hour_of_day always differs; the built-in rule says 0.10).
[[rules]]
name = "data-drift-high"
description = "more than 40% of the features and the output drifted from the reference"
model = "fraud-detector"
metric = "drift_score"
detector = { kind = "threshold", above = 0.4 }
severity = "warning"

[[rules]]
name = "channel-drifted"
description = "the sales channel drifted from the reference in two windows in a row"
model = "fraud-detector"
data_drift = { columns = ["channel"] }
for = 2
severity = "warning"
"""


def stamp(hours):
    moment = START + timedelta(seconds=round(hours * 3600))
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def sigmoid(z):
    return 1.0 / (1.0 + math.exp(-z))


def ramp(hours, start, end):
    return min(1.0, max(0.0, (hours - start) / (end - start)))


def features(hours, z, new_kind):
    """Twenty features loosely tied to the model's log-odds `z` and the kind of transaction."""
    risky = sigmoid(z)
    category = (
        rng.choice(["crypto", "gift_cards"])
        if new_kind
        else rng.choice(["grocery", "travel", "electronics", "fashion", "fuel", "restaurants"])
    )
    distance = round(rng.lognormvariate(2.0 + 2.0 * risky, 1.0), 1)
    return {
        "amount": round(rng.lognormvariate(3.5 + 1.5 * risky, 0.8), 2),
        "currency": rng.choice(["EUR", "EUR", "EUR", "USD", "GBP"]),
        "country": rng.choice(["DE", "DE", "FR", "NL", "ES", "IT", "PL"]),
        "merchant_category": category,
        "channel": "app" if new_kind else rng.choice(["web", "app", "pos", "pos"]),
        "card_type": rng.choice(["debit", "credit", "credit", "prepaid"]),
        "device": rng.choice(["ios", "android", "desktop"]),
        "hour_of_day": int(hours) % 24,
        "account_age_days": int(rng.expovariate(1 / (900 * (1.2 - risky)))),
        "txn_count_24h": int(rng.expovariate(1 / (2 + 6 * risky))),
        "avg_amount_30d": round(rng.lognormvariate(3.6, 0.6), 2),
        # Unknown for about one transaction in twelve (no location).
        "distance_km": None if rng.random() < 0.08 else distance,
        "ip_risk": round(min(1.0, max(0.0, risky + rng.gauss(0.0, 0.15))), 3),
        "email_domain": rng.choice(["gmail.com", "web.de", "outlook.com", "gmx.de", "other"]),
        "new_device": rng.random() < 0.1 + 0.5 * risky,
        "failed_logins_7d": int(rng.expovariate(1 / (0.2 + 2 * risky))),
        "velocity_1h": int(rng.expovariate(1 / (0.5 + 3 * risky))),
        "address_match": rng.random() > 0.1 + 0.4 * risky,
        "tenure_months": None if rng.random() < 0.03 else rng.randrange(1, 120),
        "chargebacks_12m": int(rng.expovariate(1 / (0.05 + risky))),
    }


def main():
    events = []  # (hours, order, event)
    order = 0

    def add(hours, event):
        nonlocal order
        events.append((hours, order, event))
        order += 1

    times = sorted(rng.uniform(0.0, HOURS) for _ in range(PREDICTIONS))
    for index, hours in enumerate(times, start=1):
        new_kind = rng.random() < 0.5 * ramp(hours, SHIFT_FROM, SHIFT_TO)
        if new_kind:
            # Unsure scores, and outcomes that follow them only loosely.
            z = rng.gauss(1.0 if rng.random() < 0.4 else -1.0, 1.0)
            p_fraud = 0.35 + 0.3 * (sigmoid(z) - 0.5)
        else:
            # Confident scores that the outcomes follow (calibrated).
            z = rng.gauss(3.5 if rng.random() < 0.3 else -3.5, 1.2)
            p_fraud = sigmoid(z)
        score = round(sigmoid(z), 4)
        truth = "fraud" if rng.random() < p_fraud else "ok"
        txn = f"txn-{index:06d}"
        add(hours, {
            "model": MODEL,
            "timestamp": stamp(hours),
            "prediction": {
                "id": txn,
                "output": "fraud" if score >= 0.5 else "ok",
                "score": score,
                "features": features(hours, z, new_kind),
            },
        })
        draw = rng.random()
        never = 0.05 if not OUTAGE_FROM <= hours < OUTAGE_TO else 0.75
        if draw < never:
            continue  # never labeled
        if draw < never + 0.02:
            delay = HORIZON_HOURS + rng.uniform(0.5, 3.0)  # after the horizon: dropped
        else:
            delay = 2.0 + rng.lognormvariate(2.0, 0.6)  # mostly 4 to 20 hours
            delay = min(delay, HORIZON_HOURS - 1.0)
        add(hours + delay, {
            "model": {"name": MODEL["name"]},
            "timestamp": stamp(hours + delay),
            "label": {"id": txn, "value": truth},
        })
    for n in range(UNMATCHED_LABELS):
        hours = rng.uniform(6.0, HOURS)
        add(hours, {
            "model": {"name": MODEL["name"]},
            "timestamp": stamp(hours),
            "label": {"id": f"chargeback-{n + 1:03d}", "value": "fraud"},
        })

    events.sort(key=lambda item: (stamp(item[0]), item[1]))
    with TRAFFIC.open("w") as out:
        for _, _, event in events:
            out.write(json.dumps(event, separators=(",", ":")) + "\n")
    CONFIG.write_text(CONFIG_TEXT)
    rows = [
        {**event["prediction"]["features"], "prediction": event["prediction"]["output"]}
        for _, _, event in events
        if "prediction" in event
    ]
    for path, table in ((REFERENCE, rows[:REFERENCE_ROWS]), (CURRENT, rows[-CURRENT_ROWS:])):
        with path.open("w") as out:
            for row in table:
                out.write(json.dumps(row, separators=(",", ":")) + "\n")
    print(
        f"wrote {len(events)} lines to {TRAFFIC.relative_to(ROOT)}, {CONFIG.relative_to(ROOT)}, "
        f"{REFERENCE.relative_to(ROOT)} and {CURRENT.relative_to(ROOT)}"
    )


if __name__ == "__main__":
    main()
