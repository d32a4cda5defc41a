#!/usr/bin/env python3
"""Time the web console's model page with 100,000 points in view, in a real headless Chromium.

Starts `modelwatch serve` on a temporary store (loopback, retention off), posts one model with
one metric on two instances, 50,000 points each (100,000 in all, one a minute), starts
chromedriver (Debian's chromium-driver) and a headless Chromium, and opens the model page. It
measures, in the page:
- the load: from navigation until the chart is drawn with every point (the page reads
  `/v1/series` along its cursor, then draws once);
- a zoom step: the time from a wheel event on the chart until uPlot has redrawn it (uPlot
  redraws in a microtask after `setScale`, so the step ends when the event's microtasks have
  run), over --steps wheel events in, then out again: the first step starts, and the last
  ends, with every point in view;
- the frame interval while zooming: the time between animation frames with one wheel event
  each, which is what a user sees as smooth or not.

Prints the figures as a table and as JSON (--json). Standard library only; WebDriver over HTTP.
Every child is on loopback and stopped at the end; the run is bounded by --timeout.

    cargo build --release -p modelwatch
    python3 tools/console_bench.py --runs 3
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

# Run as `python3 tools/console_bench.py`: this directory is on the path.
from console_screenshots import line_after, request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODEL = "bench-model"
POINTS_PER_INSTANCE = 50_000
INSTANCES = ["a", "b"]
BATCH = 10_000
START = 1_767_225_600  # 2026-01-01T00:00:00Z


def iso(seconds):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def post_points(base):
    """100,000 points: one a minute on each instance, a slow sine so that lines have shape."""
    lines = []
    for index in range(POINTS_PER_INSTANCE):
        for number, instance in enumerate(INSTANCES):
            value = 0.9 + 0.05 * ((index * (number + 1)) % 997) / 997.0
            lines.append(json.dumps({
                "model": {"name": MODEL, "version": "1.0.0", "instance": instance},
                "timestamp": iso(START + 60 * index),
                "metrics": {"accuracy": round(value, 6)},
            }))
        if len(lines) >= BATCH:
            request("POST", base + "/v1/events", "\n".join(lines).encode(),
                    {"content-type": "application/x-ndjson"})
            lines = []
    if lines:
        request("POST", base + "/v1/events", "\n".join(lines).encode(),
                {"content-type": "application/x-ndjson"})


# Runs in the page: waits for the chart of `accuracy` with every point, then times wheel steps.
MEASURE = r"""
const [steps, limit, done] = arguments;
const started = performance.now();
const wait = () => new Promise((resolve) => requestAnimationFrame(() => resolve()));
(async () => {
  let over = null;
  while (performance.now() - started < limit) {
    over = document.querySelector('.chart[data-metric="accuracy"] .u-over');
    if (over) break;
    await wait();
  }
  if (!over) { done({ error: 'no chart within ' + limit + ' ms' }); return; }
  const loaded = performance.now();
  const rect = over.getBoundingClientRect();
  const wheel = (deltaY) => over.dispatchEvent(new WheelEvent('wheel', {
    deltaY: deltaY, clientX: rect.left + rect.width / 2, clientY: rect.top + rect.height / 2,
    bubbles: true, cancelable: true }));
  const redraws = [];
  const frames = [];
  await wait();
  let previous = performance.now();
  for (let i = 0; i < steps; i++) {
    // In for the first half, out again for the second: the last steps have every point in view.
    const t0 = performance.now();
    wheel(i < steps / 2 ? -100 : 100);
    await Promise.resolve();
    redraws.push(performance.now() - t0);
    await wait();
    const now = performance.now();
    frames.push(now - previous);
    previous = now;
  }
  const reads = performance.getEntriesByType('resource')
    .filter((entry) => entry.name.includes('/v1/series')).length;
  done({ sinceNavigation: loaded, redraws: redraws, frames: frames, seriesReads: reads });
})();
"""


def percentile(values, share):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--binary", default=os.path.join(ROOT, "target/release/modelwatch"))
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per page load")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    children = []
    results = []
    with tempfile.TemporaryDirectory() as data:
        try:
            serve = subprocess.Popen(
                [args.binary, "serve", "--listen", "127.0.0.1:0", "--data", data,
                 "--retention", "off", "--max-future", "off"],
                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=ROOT)
            children.append(serve)
            base = line_after(serve.stdout, "listening on ").strip()
            if not base.startswith("http"):
                base = "http://" + base
            line_after(serve.stdout, "ready:")
            started = time.perf_counter()
            post_points(base)
            print("posted %d points in %.1f s" % (POINTS_PER_INSTANCE * len(INSTANCES),
                                                  time.perf_counter() - started), file=sys.stderr)
            driver = subprocess.Popen(["chromedriver", "--port=0"], stdout=subprocess.PIPE,
                                      stderr=subprocess.DEVNULL)
            children.append(driver)
            port = line_after(driver.stdout, "started successfully on port ").strip().rstrip(".")
            webdriver = "http://127.0.0.1:%s" % port
            for _ in range(args.runs):
                session = request("POST", webdriver + "/session", {"capabilities": {"alwaysMatch": {
                    "browserName": "chrome",
                    "goog:chromeOptions": {"args": ["--headless=new", "--no-sandbox",
                                                    "--disable-gpu", "--window-size=1400,1000"]},
                }}})["value"]["sessionId"]
                url = webdriver + "/session/" + session
                try:
                    request("POST", url + "/timeouts", {"script": int(args.timeout * 1000) + 60_000})
                    request("POST", url + "/url", {"url": base + "/#/model/" + MODEL})
                    result = request("POST", url + "/execute/async", {
                        "script": MEASURE, "args": [args.steps, args.timeout * 1000]},
                        timeout=args.timeout + 120)["value"]
                finally:
                    request("DELETE", url)
                if "error" in result:
                    sys.exit(result["error"])
                results.append(result)
        finally:
            for child in children:
                child.kill()
                child.wait()
    summary = [{
        "series_reads": r["seriesReads"],
        "load_ms": r["sinceNavigation"],
        "redraw_all_in_view_ms": [r["redraws"][0], r["redraws"][-1]],
        "redraw_median_ms": statistics.median(r["redraws"]),
        "redraw_p95_ms": percentile(r["redraws"], 0.95),
        "frame_median_ms": statistics.median(r["frames"]),
        "frame_p95_ms": percentile(r["frames"], 0.95),
    } for r in results]
    if args.json:
        print(json.dumps(summary, indent=1))
        return
    print("| run | `/v1/series` reads | load (all 100,000 points drawn) | redraw, every point in view (first / last step) | redraw per wheel step, median / p95 | frame interval, median / p95 |")
    print("|---|---|---|---|---|---|")
    for number, row in enumerate(summary, 1):
        print("| %d | %d | %.0f ms | %.1f / %.1f ms | %.1f / %.1f ms | %.1f / %.1f ms |" % (
            number, row["series_reads"], row["load_ms"], *row["redraw_all_in_view_ms"],
            row["redraw_median_ms"], row["redraw_p95_ms"],
            row["frame_median_ms"], row["frame_p95_ms"]))


if __name__ == "__main__":
    main()
