"""Posting one NDJSON batch to ``POST /v1/events``, with retries while the server is busy or away.

A batch is all-or-nothing on the server: a 202 means every input of it is committed, any other
answer means none is. So a batch answered 503 (or 408, 429, 502, 504) or lost to a connection
error is sent again whole, after the server's ``Retry-After`` (capped at ``max_delay``) or, when
it gives none, an exponential backoff with jitter. Every other answer is final: 400, 413, 415
and 422 raise ``BatchRejected``, 401 and 403 ``AuthError``, the rest ``ServerError``.

One caveat: a connection lost after the body was sent may hide a 202; the batch is sent again,
so across such a failure delivery is at least once.
"""

from __future__ import annotations

import email.utils
import http.client
import json
import logging
import random
import ssl
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable, Dict, Mapping, Optional, Tuple
from urllib.parse import urlsplit

from .errors import AuthError, BatchRejected, RetriesExhausted, ServerError, describe_errors

logger = logging.getLogger("modelwatch_client")

#: Answers after which the same batch is sent again.
RETRYABLE_STATUSES = frozenset({408, 429, 502, 503, 504})
#: Answers that say the batch itself is wrong; sending it again cannot help.
REJECTED_STATUSES = frozenset({400, 413, 415, 422})


@dataclass(frozen=True)
class RetryPolicy:
    """How long to wait between attempts, and when to give up on a batch.

    ``base_delay`` is the first backoff without ``Retry-After``, doubled per attempt up to
    ``max_delay``, which also caps what ``Retry-After`` may ask. ``deadline`` is the most
    seconds one batch may spend in retries before it fails with ``RetriesExhausted``
    (``None``: retry for as long as it takes; the buffer then fills and pushes back).
    """

    base_delay: float = 0.5
    max_delay: float = 30.0
    deadline: Optional[float] = 600.0


@dataclass(frozen=True)
class Answer:
    """The server's answer to one POST: status, JSON body (if it sent one) and ``Retry-After``."""

    status: int
    body: Mapping[str, Any]
    retry_after: Optional[str]


class Transport:
    """One keep-alive HTTP(S) connection to a modelwatch server; not thread-safe (the sender owns it)."""

    def __init__(
        self,
        url: str,
        token: Optional[str],
        timeout: float,
        user_agent: str,
        ssl_context: Optional[ssl.SSLContext] = None,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"url: expected http://HOST[:PORT] or https://HOST[:PORT], not {url!r}")
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port
        self._path = parts.path.rstrip("/") + "/v1/events"
        self._timeout = timeout
        self._ssl_context = ssl_context
        self._headers = {"Content-Type": "application/x-ndjson", "User-Agent": user_agent, "Accept": "application/json"}
        if token:
            self._headers["Authorization"] = f"Bearer {token}"
        self.has_token = bool(token)
        self._conn: Optional[http.client.HTTPConnection] = None

    def post_events(self, payload: bytes) -> Answer:
        """POST ``payload`` (NDJSON) and read the whole answer; connection problems raise ``OSError``
        or ``http.client.HTTPException``, after which the next call opens a new connection."""
        reused = self._conn is not None
        try:
            response, raw = self._exchange(payload)
        except (ConnectionError, http.client.RemoteDisconnected):
            self.close()
            if not reused:
                raise
            # A kept-alive connection the server closed while it was idle: once more, on a new one.
            try:
                response, raw = self._exchange(payload)
            except BaseException:
                self.close()
                raise
        except BaseException:
            self.close()
            raise
        if response.will_close:
            self.close()
        return Answer(response.status, _json_object(raw), response.getheader("Retry-After"))

    def _exchange(self, payload: bytes) -> Tuple[http.client.HTTPResponse, bytes]:
        conn = self._connection()
        conn.request("POST", self._path, body=payload, headers=self._headers)
        response = conn.getresponse()
        return response, response.read()

    def close(self) -> None:
        """Close the connection, if one is open."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            if self._https:
                context = self._ssl_context or ssl.create_default_context()
                self._conn = http.client.HTTPSConnection(self._host, self._port, timeout=self._timeout, context=context)
            else:
                self._conn = http.client.HTTPConnection(self._host, self._port, timeout=self._timeout)
        return self._conn


def deliver(
    transport: Transport,
    payload: bytes,
    count: int,
    policy: RetryPolicy,
    stop: threading.Event,
    clock: Callable[[], float] = time.monotonic,
) -> int:
    """Send one batch of ``count`` inputs until the server takes it; return how many it accepted.

    Raises a ``ServerError`` when the batch fails for good: refused, or still unsent after
    ``policy.deadline`` seconds, or when ``stop`` is set during a wait (the client is closing
    with its time up).
    """
    started = clock()
    attempt = 0
    while True:
        try:
            answer = transport.post_events(payload)
        except (OSError, http.client.HTTPException) as exc:
            reason, retry_after = f"no answer ({type(exc).__name__}: {exc})", None
            status: Optional[int] = None
        else:
            if 200 <= answer.status < 300:
                accepted = answer.body.get("accepted")
                return accepted if isinstance(accepted, int) else count
            if answer.status not in RETRYABLE_STATUSES:
                raise refusal(answer, count, transport.has_token)
            reason, retry_after, status = _status_text(answer), answer.retry_after, answer.status
        delay, source = retry_delay(attempt, retry_after, policy)
        waited = clock() - started
        if policy.deadline is not None and waited + delay > policy.deadline:
            raise RetriesExhausted(
                f"gave up on a batch of {count} inputs after {attempt + 1} attempts in {waited:.1f} s "
                f"(retry_deadline {policy.deadline:g} s); the last: {reason}",
                status=status,
            )
        logger.warning(
            "POST /v1/events: %s; attempt %d, retrying in %.1f s (%s)", reason, attempt + 1, delay, source
        )
        if stop.wait(delay):
            raise RetriesExhausted(f"the client closed while a batch of {count} inputs waited to be retried; the last: {reason}", status=status)
        attempt += 1


def retry_delay(
    attempt: int,
    retry_after: Optional[str],
    policy: RetryPolicy,
    rand: Callable[[], float] = random.random,
    now: Optional[datetime] = None,
) -> Tuple[float, str]:
    """The wait before attempt ``attempt + 1``, and where it comes from (for the log).

    ``Retry-After`` wins when it parses (seconds, or an HTTP date), capped at ``max_delay``;
    otherwise ``base_delay * 2**attempt`` capped at ``max_delay``, of which a random half is
    taken off so that many clients do not come back at once.
    """
    asked = _parse_retry_after(retry_after, now)
    if asked is not None:
        if asked > policy.max_delay:
            return policy.max_delay, f"Retry-After {retry_after}, capped at max_retry_delay"
        return asked, f"Retry-After {retry_after}"
    ceiling = min(policy.max_delay, policy.base_delay * (2.0 ** min(attempt, 32)))
    return ceiling / 2 + rand() * ceiling / 2, "backoff"


def refusal(answer: Answer, count: int, has_token: bool) -> ServerError:
    """The error for a final answer (not 2xx, not retryable) to a batch of ``count`` inputs."""
    summary = _status_text(answer)
    if answer.status in (401, 403):
        hint = ""
        if answer.status == 401:
            hint = " (is the token right?)" if has_token else " (no token was given: pass token= or set MODELWATCH_TOKEN)"
        else:
            hint = " (the token needs the ingest scope)"
        return AuthError(f"the server refused the token{hint}: {summary}", answer.status, answer.body)
    message = f"the server refused a batch of {count} inputs: {summary}"
    if answer.status in REJECTED_STATUSES:
        problems = answer.body.get("errors")
        if isinstance(problems, list) and problems:
            message += "\n" + describe_errors([p for p in problems if isinstance(p, Mapping)])
        return BatchRejected(message, answer.status, answer.body)
    return ServerError(message, answer.status, answer.body)


def _status_text(answer: Answer) -> str:
    error = answer.body.get("error")
    reason = http.client.responses.get(answer.status, "")
    text = f"{answer.status} {reason}".rstrip()
    return f"{text}: {error}" if isinstance(error, str) else text


def _parse_retry_after(value: Optional[str], now: Optional[datetime]) -> Optional[float]:
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        seconds = (when - (now or datetime.now(timezone.utc))).total_seconds()
        return max(0.0, seconds)
    return seconds if seconds >= 0 and seconds == seconds and seconds != float("inf") else None


def _json_object(raw: bytes) -> Dict[str, Any]:
    try:
        value = json.loads(raw.decode("utf-8")) if raw else {}
    except (UnicodeDecodeError, ValueError):
        return {"error": raw[:500].decode("utf-8", "replace")}
    return value if isinstance(value, dict) else {}
