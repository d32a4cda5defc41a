"""Fixtures: the real ``modelwatch serve`` as a child process, and a scripted stub server.

``serve`` is started on a free loopback port with a fresh data directory; the fixture reads its
output until it prints ``listening on URL`` and then ``ready: ...`` (recovery is over), so no
test waits on a clock. The stub (``http.server`` in a thread) is for what serve cannot be made
to do on demand: stall, answer 503 with ``Retry-After``, drop a connection.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple

import pytest

REPO = Path(__file__).resolve().parents[3]
#: How long serve may take to start (a debug build, recovery of an empty store); a bound on a
#: failure, not a wait: the fixture returns as soon as serve says it is ready.
START_TIMEOUT = 60.0


def serve_binary() -> Path:
    path = Path(os.environ.get("MODELWATCH_BIN") or REPO / "target" / "debug" / "modelwatch")
    if not path.is_file():
        pytest.fail(f"{path} is missing: build it (cargo build -p modelwatch) or set MODELWATCH_BIN")
    return path


@dataclass
class Serve:
    """A running ``modelwatch serve``: its base URL and its output so far."""

    url: str
    process: "subprocess.Popen[str]"
    output: List[str]

    def get(self, path: str, token: Optional[str] = None) -> Any:
        """GET ``path`` and decode its JSON answer (raises ``urllib.error.HTTPError`` on 4xx/5xx)."""
        request = urllib.request.Request(self.url + path)
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture
def start_serve(tmp_path: Path) -> Iterator[Callable[..., Serve]]:
    """Start serve with extra arguments (and environment variables); stopped after the test."""
    started: List[Serve] = []

    def start(*args: str, env: Optional[Dict[str, str]] = None, config: Optional[str] = None) -> Serve:
        command = [str(serve_binary()), "serve", "--listen", "127.0.0.1:0", "--data", str(tmp_path / f"data{len(started)}")]
        command += ["--retention", "off", "--max-future", "off"]
        if config is not None:
            config_path = tmp_path / f"config{len(started)}.toml"
            config_path.write_text(config)
            command += ["--config", str(config_path)]
        command += list(args)
        process = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, **(env or {})},
        )
        lines: "queue.Queue[Optional[str]]" = queue.Queue()
        output: List[str] = []

        def read() -> None:
            assert process.stdout is not None
            for line in process.stdout:
                output.append(line)
                lines.put(line)
            lines.put(None)

        threading.Thread(target=read, daemon=True).start()
        url = None
        while True:
            try:
                line = lines.get(timeout=START_TIMEOUT)
            except queue.Empty:
                process.kill()
                pytest.fail(f"serve did not get ready in {START_TIMEOUT} s:\n{''.join(output)}")
            if line is None:
                pytest.fail(f"serve exited with {process.wait()} before it was ready:\n{''.join(output)}")
            if line.startswith("listening on "):
                url = line[len("listening on ") :].strip()
            if line.startswith("ready") and url:
                break
        serve = Serve(url, process, output)
        started.append(serve)
        return serve

    yield start
    for serve in started:
        serve.stop()


@dataclass
class Reply:
    """One scripted answer of the stub: status, headers, JSON body; ``drop`` closes the
    connection without answering."""

    status: int = 202
    headers: Dict[str, str] = field(default_factory=dict)
    body: Optional[Dict[str, Any]] = None
    drop: bool = False


class Stub:
    """A local HTTP server that answers ``POST /v1/events`` from a script, records each request,
    and can hold requests until ``release()``."""

    def __init__(self) -> None:
        self.requests: List[Tuple[Dict[str, str], bytes]] = []
        self.script: List[Reply] = []
        self.gate = threading.Event()
        self.gate.set()
        self.arrived: "queue.Queue[int]" = queue.Queue()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                with lock:
                    stub.requests.append((dict(self.headers.items()), body))
                    reply = stub.script.pop(0) if stub.script else Reply()
                    number = len(stub.requests)
                stub.arrived.put(number)
                stub.gate.wait(timeout=60)
                if reply.drop:
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                count = body.count(b"\n")
                payload = json.dumps(reply.body if reply.body is not None else {"accepted": count}).encode()
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
        self.thread.start()

    def hold(self) -> None:
        """Hold every request (after recording it) until ``release()``."""
        self.gate.clear()

    def release(self) -> None:
        self.gate.set()

    def wait_for_request(self, number: int) -> None:
        """Block until request ``number`` (1-based) has arrived."""
        while True:
            if self.arrived.get(timeout=60) >= number:
                return

    def inputs(self) -> List[Dict[str, Any]]:
        """Every input of every request received, in order."""
        return [json.loads(line) for _, body in self.requests for line in body.splitlines() if line.strip()]

    def close(self) -> None:
        self.release()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def stub() -> Iterator[Stub]:
    server = Stub()
    yield server
    server.close()


def lines_of(body: bytes) -> Sequence[Dict[str, Any]]:
    return [json.loads(line) for line in body.splitlines() if line.strip()]
