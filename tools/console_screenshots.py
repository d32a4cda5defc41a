#!/usr/bin/env python3
"""Screenshots of the web console for docs/images/: starts `modelwatch serve` on a temporary
store with the example events (examples/degrading-model.jsonl, as README replays them),
writes the report of the same events (`modelwatch replay --report`), starts chromedriver
(Debian's chromium-driver) and a headless Chromium, and saves the overview, the example
model's page and the report's model page (opened from disk) as PNG files. Standard library
only; WebDriver over HTTP.

    cargo build -p modelwatch && python3 tools/console_screenshots.py

--binary PATH picks the modelwatch binary (default target/debug/modelwatch), --out DIR the
directory (default docs/images).
"""

import argparse
import base64
import json
import os
import subprocess
import sys
import tempfile
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EVENTS = os.path.join(ROOT, "examples/degrading-model.jsonl")


def request(method, url, body=None, headers=None, timeout=60):
    """One HTTP request with a JSON body (or bytes); the JSON answer, or None when empty."""
    data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method,
                                 headers=headers or {"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as response:
        text = response.read()
    return json.loads(text) if text else None


def line_after(stream, prefix):
    """Reads lines of a child's output until one contains `prefix`; the rest of that line."""
    seen = []
    for raw in stream:
        line = raw.decode(errors="replace").strip()
        seen.append(line)
        if prefix in line:
            return line.split(prefix, 1)[1]
    sys.exit("the child exited before printing %r:\n%s" % (prefix, "\n".join(seen)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--binary", default=os.path.join(ROOT, "target/debug/modelwatch"))
    parser.add_argument("--out", default=os.path.join(ROOT, "docs/images"))
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    children = []
    with tempfile.TemporaryDirectory() as data:
        try:
            serve = subprocess.Popen(
                [args.binary, "serve", "--listen", "127.0.0.1:0", "--data", data,
                 "--retention", "off", "--max-future", "off"],
                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=ROOT)
            children.append(serve)
            base = line_after(serve.stdout, "listening on ").strip()
            line_after(serve.stdout, "ready:")
            with open(EVENTS, "rb") as f:
                events = b"".join(line for line in f if b'"job_finished"' not in line)
            request("POST", base + "/v1/events", events, {"content-type": "application/x-ndjson"})
            report = os.path.join(data, "report.html")
            subprocess.run([args.binary, "replay", "--report", report, EVENTS], check=True,
                           stdout=subprocess.DEVNULL, cwd=ROOT)
            pages = [("console-overview.png", base + "/#/"),
                     ("console-model.png", base + "/#/model/fraud-detector"),
                     ("report-model.png", "file://" + report + "#/model/fraud-detector")]

            driver = subprocess.Popen(["chromedriver", "--port=0"], stdout=subprocess.PIPE,
                                      stderr=subprocess.DEVNULL)
            children.append(driver)
            port = line_after(driver.stdout, "started successfully on port ").strip().rstrip(".")
            webdriver = "http://127.0.0.1:%s" % port
            session = request("POST", webdriver + "/session", {"capabilities": {"alwaysMatch": {
                "browserName": "chrome",
                "goog:chromeOptions": {"args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                                                "--window-size=1280,900", "--hide-scrollbars"]},
                "timeouts": {"script": 30000, "pageLoad": 30000}}}})["value"]["sessionId"]
            at = webdriver + "/session/" + session
            try:
                for name, url in pages:
                    request("POST", at + "/url", {"url": "about:blank"})
                    request("POST", at + "/url", {"url": url})
                    # The browser awaits the rendered page (bounded by the script timeout).
                    request("POST", at + "/execute/async", {"args": [], "script": """
                        const done = arguments[arguments.length - 1];
                        const check = () => document.getElementById('page').dataset.state === 'ready'
                          ? done(true) : requestAnimationFrame(check);
                        check();"""})
                    shot = request("GET", at + "/screenshot")["value"]
                    path = os.path.join(args.out, name)
                    with open(path, "wb") as f:
                        f.write(base64.b64decode(shot))
                    print("wrote", os.path.relpath(path, ROOT))
            finally:
                request("DELETE", at)
        finally:
            for child in children:
                child.kill()
                child.wait()


if __name__ == "__main__":
    main()
