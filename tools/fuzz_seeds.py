#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets, fuzz/corpus/<target>/seed-*.

The seeds come from the project's own examples: the example events
(examples/degrading-model.jsonl) cut into cases, the wire format's examples (docs/events.md),
the TOML examples of docs/config.md and README.md with config/default.toml, and the query
strings the docs show. Each seed is a file of its own named after what it is. Run it again
after those files change; it rewrites the seed-* files and leaves every other file alone
(regression-* cases, added by hand, stay).

    python3 tools/fuzz_seeds.py
"""

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "fuzz" / "corpus"


def fenced(path, language):
    """The fenced code blocks of one language in a Markdown file."""
    text = (ROOT / path).read_text()
    return re.findall(r"```" + language + r"\n(.*?)```", text, re.S)


def wire_seeds():
    lines = (ROOT / "examples/degrading-model.jsonl").read_text().splitlines()
    events = [line for line in lines if '"job_finished"' not in line]
    jobs = [line for line in lines if '"job_finished"' in line]
    seeds = {
        "example-first-event": events[0],
        "example-canary-event": next(line for line in events if "canary-0" in line),
        "example-last-event": events[-1],
        "example-job-finished": jobs[0],
        "example-ndjson-five": "\n".join(events[:5]) + "\n",
        "example-ndjson-crlf": "\r\n".join(events[10:13]) + "\r\n",
        "example-array-three": "[" + ",\n".join(events[20:23]) + "]",
        "example-sequence-one-line": " ".join(events[30:33]),
        "example-ndjson-with-job": "\n".join(events[94:96] + jobs + events[96:98]) + "\n",
    }
    for number, block in enumerate(fenced("docs/events.md", "json"), 1):
        seeds[f"docs-events-{number}"] = block
    event = json.loads(events[0])
    single = {
        "single-metric": {"model": event["model"], "metric": "accuracy", "value": 0.5},
        "single-metric-alias": {"model": event["model"], "metric": "f1_score", "value": 0.81},
        "instance-and-offset": {
            "model": {"name": "shop-ranker", "version": "2", "instance": "canary-0"},
            "timestamp": "2026-11-22T09:00:00.123456789+01:00",
            "metrics": {"auc": 1, "error_rate": 0, "latency_ms": 1e3},
        },
        "null-timestamp": {"model": event["model"], "timestamp": None, "metrics": {"accuracy": 0}},
        "custom-metrics": {
            "model": event["model"],
            "timestamp": "2262-04-11T00:00:00Z",
            "metrics": {"conversion_rate": 0.02, "wrong_label": 1, "my_kpi": -17e-300},
        },
        "binary-error": {"model": event["model"], "metric": "error", "value": 1},
        "retrain-request-no-reason": {"retrain_request": {"model": "fraud-detector"}},
        "retrain-request-tab": {
            "retrain_request": {"model": "m", "reason": "labels \"v7\"\tlate \u00e9\u4e2d"},
            "timestamp": "1970-01-01T00:00:00Z",
        },
        "job-finished-no-id": {"job_finished": {"model": "m", "status": "timed_out"}},
        "job-finished-cancelled": {
            "job_finished": {"model": "m", "job_id": "0123abcd", "status": "cancelled"},
            "timestamp": None,
        },
    }
    for name, value in single.items():
        seeds[name] = json.dumps(value)
    # Refused inputs: each reaches a different problem.
    refused = {
        "refused-macro-score": '{"model":{"name":"m","version":"1"},"metrics":{"macro_score":0.5}}',
        "refused-out-of-range": '{"model":{"name":"m","version":"1"},"metrics":{"accuracy":1.2}}',
        "refused-duplicate-field": '{"model":{"name":"m","version":"1","name":"n"},"metric":"f1","value":0.1,"value":0.2}',
        "refused-both-forms": '{"model":{"name":"m","version":"1"},"metrics":{"f1":0.1},"metric":"f1","value":0.2}',
        "refused-huge-number": '{"model":{"name":"m","version":"1"},"metrics":{"latency_ms":1e400}}',
        "refused-bad-identifier": '{"model":{"name":"-m","version":"1 0"},"metrics":{"Accuracy":0.1}}',
        "refused-bad-timestamp": '{"model":{"name":"m","version":"1"},"timestamp":"2026-13-01T00:00:00Z","metrics":{"f1":0.1}}',
        "refused-syntax-middle-line": events[0] + '\n{"model": \n' + events[1] + "\n",
        "refused-array-of-scalars": '[1, "two", null, true, {"model":{}}]',
        "refused-unknown-field": '{"model":{"name":"m","version":"1","zone":"eu"},"metrics":{"f1":0.1},"extra":[]}',
    }
    seeds.update(refused)
    return seeds


def config_seeds():
    seeds = {"default-toml": (ROOT / "config/default.toml").read_text()}
    for number, block in enumerate(fenced("docs/config.md", "toml"), 1):
        seeds[f"docs-config-{number}"] = block
    for number, block in enumerate(fenced("README.md", "toml"), 1):
        seeds[f"readme-{number}"] = block
    for number, block in enumerate(fenced("docs/actions.md", "toml"), 1):
        seeds[f"docs-actions-{number}"] = block
    seeds["refused-bad-detector"] = (
        '[[rules]]\nname = "x"\nmetric = "accuracy"\n'
        'detector = { kind = "ema", alpha = 2.5, below = "low" }\nseverity = "urgent"\n'
    )
    seeds["refused-syntax"] = '[retrain\ncooldown_secs = -1\n[[rules]]\nname = "a b"\n'
    seeds["empty"] = ""
    return seeds


def query_seeds():
    docs = "".join((ROOT / path).read_text() for path in ["README.md", "docs/http-api.md", "docs/actions.md"])
    targets = set(re.findall(r"(/v1/[a-z/{}_-]*\?[^ `\"')\n]*)", docs))
    targets = {target.replace("{id}", "0123abcd").replace("NAME", "fraud-detector")
               .replace("M&", "fraud-detector&").replace("=X", "=accuracy") for target in targets}
    targets |= {
        "/v1/alerts?state=firing&model=fraud-detector&limit=2",
        "/v1/alerts?since=2026-11-22T08:00:00Z&after=5&limit=1",
        "/v1/decisions?model=fraud-detector&limit=3",
        "/v1/models?limit=1&after=fraud-detector",
        "/v1/models/fraud-detector?limit=5",
        "/v1/models/fraud-detector/versions",
        "/v1/series?model=fraud-detector&metric=accuracy&version=1.5.0&instance=canary-0&from=2026-11-22T08:00:00Z&to=2026-11-22T10:00:00%2B01:00",
        "/v1/series?model=fraud-detector&metric=f1_score&after=1795852800000000000:3&limit=10",
        "/v1/jobs?model=fraud-detector&state=running&kind=retrain&limit=5",
        "/v1/jobs/0123abcd?wait=0",
        "/v1/deliveries?notifier=oncall&state=failed&output_id=abc&limit=2",
        "/v1/audit?model=fraud-detector&after=1",
        "/v1/canary/fraud-detector?metric=accuracy&candidate=1.5.0/canary-0&baseline=1.4.0/default&window=20&min_samples=5&confidence=0.95&tolerance=0.01&gate=fail",
        "/v1/alerts?limit=0",
        "/v1/alerts?limit=1&limit=2",
        "/v1/alerts?stat%65=firing&x=%ZZ",
        "/v1/series?model=fraud-detector&metric=NOPE!",
        "/healthz",
        "/metrics",
    }
    seeds = {}
    for number, target in enumerate(sorted(targets), 1):
        seeds[f"target-{number:02}"] = target
    # The short form: a first byte picking the route, then the query string.
    seeds["short-alerts"] = "\x00state=resolved&model=fraud-detector"
    seeds["short-series"] = "\x05model=fraud-detector&metric=latency_ms&limit=3"
    return seeds


def main():
    for target, seeds in [("wire_parser", wire_seeds()), ("config_loader", config_seeds()),
                          ("query_strings", query_seeds())]:
        directory = CORPUS / target
        directory.mkdir(parents=True, exist_ok=True)
        for old in directory.glob("seed-*"):
            old.unlink()
        for name, text in seeds.items():
            (directory / f"seed-{name}").write_text(text)
        print(f"{target}: {len(seeds)} seeds in {directory.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
