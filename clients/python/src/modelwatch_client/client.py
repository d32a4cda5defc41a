"""The client: a bounded buffer of inputs, a background thread that posts them in batches, and the API.

Every ``log_*`` call turns its arguments into wire objects and NDJSON lines in the caller's
thread (so a wrong argument raises there), then appends them to the buffer. One sender thread
takes batches of up to ``batch_size`` inputs (and ``max_batch_bytes``) in the order they were
logged and posts each with ``transport.deliver``. An input stays counted in the buffer until
the server has acknowledged its batch (202) or the batch has failed for good, so the bounds
hold what is in flight too.

Nothing is dropped without a word: a full buffer blocks or raises (``on_full``), and a batch
that fails for good is kept in ``Client.failed`` with its error, which the next ``log_*``,
``flush()`` or ``close()`` call raises (once).
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import ssl
import threading
import time
from collections import deque
from types import TracebackType
from typing import Any, Deque, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Type, Union

from . import frames, inputs
from .errors import BufferFull, ClientClosed, FailedBatch, FlushTimeout, ModelwatchError, ServerError
from .transport import RetryPolicy, Transport, deliver
from .version import __version__

logger = logging.getLogger("modelwatch_client")

#: The environment variable the token is read from when ``token`` is not given.
TOKEN_ENV = "MODELWATCH_TOKEN"


class Client:
    """Sends predictions, labels and metrics to ``modelwatch serve`` (``POST /v1/events``).

    ``url`` is the server's base URL (``http://127.0.0.1:8780``). ``token`` is the bearer token
    of a token with the ``ingest`` scope; without it, ``$MODELWATCH_TOKEN`` if set, else none.
    ``version`` and ``instance`` are the defaults of the model's version and instance for the
    inputs that do not name their own.

    Batching: inputs are posted by a background thread in NDJSON batches of up to
    ``batch_size`` inputs and ``max_batch_bytes``, as soon as a batch is full, ``flush()`` asks
    for it, or its oldest input has waited ``flush_interval`` seconds.

    Buffer: at most ``max_buffer_items`` inputs and ``max_buffer_bytes`` bytes are held until
    acknowledged. When a ``log_*`` call finds it full, ``on_full="block"`` waits for room (at
    most ``block_timeout`` seconds when given, then raises ``BufferFull``) and
    ``on_full="raise"`` raises ``BufferFull`` at once, taking none of the call's inputs.

    Retries: a batch answered 503 (or 408, 429, 502, 504) or lost to a connection error is
    sent again after ``Retry-After`` (capped at ``max_retry_delay``) or an exponential backoff
    from ``retry_base_delay``; after ``retry_deadline`` seconds of this (``None``: never) it
    fails with ``RetriesExhausted``. Any other refusal fails the batch at once: 400, 413, 415
    and 422 with ``BatchRejected`` (carrying the server's ``errors``), 401 and 403 with
    ``AuthError``. ``timeout`` bounds each HTTP exchange.

    Use it as a context manager, or call ``close()``; at interpreter exit an open client is
    closed with ``exit_timeout`` seconds to send what it holds (what it cannot send is logged
    at error level, never dropped without a word).
    """

    def __init__(
        self,
        url: str,
        token: Optional[str] = None,
        *,
        version: Optional[str] = None,
        instance: Optional[str] = None,
        batch_size: int = 500,
        max_batch_bytes: int = 1 << 20,
        flush_interval: float = 1.0,
        max_buffer_items: int = 100_000,
        max_buffer_bytes: int = 64 << 20,
        on_full: str = "block",
        block_timeout: Optional[float] = None,
        timeout: float = 30.0,
        retry_base_delay: float = 0.5,
        max_retry_delay: float = 30.0,
        retry_deadline: Optional[float] = 600.0,
        exit_timeout: float = 10.0,
        ssl_context: Optional[ssl.SSLContext] = None,
    ) -> None:
        if on_full not in ("block", "raise"):
            raise ValueError(f'on_full: expected "block" or "raise", not {on_full!r}')
        for name, value in (
            ("batch_size", batch_size),
            ("max_batch_bytes", max_batch_bytes),
            ("max_buffer_items", max_buffer_items),
            ("max_buffer_bytes", max_buffer_bytes),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name}: expected a whole number of at least 1, not {value!r}")
        if flush_interval <= 0:
            raise ValueError(f"flush_interval: expected seconds above 0, not {flush_interval!r}")
        if token is None:
            token = os.environ.get(TOKEN_ENV) or None
        self.url = url.rstrip("/")
        self.version = version
        self.instance = instance
        self.on_full = on_full
        self.block_timeout = block_timeout
        self.batch_size = batch_size
        self.max_batch_bytes = max_batch_bytes
        self.flush_interval = flush_interval
        self.max_buffer_items = max_buffer_items
        self.max_buffer_bytes = max_buffer_bytes
        self.exit_timeout = exit_timeout
        #: Every batch that failed for good, oldest first (see ``FailedBatch``).
        self.failed: List[FailedBatch] = []
        self._has_token = bool(token)
        self._transport = Transport(self.url, token, timeout, f"modelwatch-client/{__version__}", ssl_context)
        self._policy = RetryPolicy(retry_base_delay, max_retry_delay, retry_deadline)
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._queue: Deque[Tuple[bytes, float]] = deque()  # lines not yet taken, with when they came
        self._queued_bytes = 0
        self._held_items = 0  # queued + in flight
        self._held_bytes = 0
        self._logged = 0  # inputs logged so far; the n-th input logged is number n
        self._taken = 0  # inputs taken by the sender
        self._resolved = 0  # inputs acknowledged or failed (always the first ones taken)
        self._flush_upto = 0  # a flush waits for the inputs up to this number
        self._waiting_for_room = 0
        self._unreported: Deque[FailedBatch] = deque()
        self._closing = False
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="modelwatch-client-sender", daemon=True)
        self._thread.start()
        atexit.register(self._close_at_exit)

    def __repr__(self) -> str:
        token = "<set>" if self._has_token else None
        return f"Client(url={self.url!r}, token={token}, pending={self.pending})"

    def __enter__(self) -> "Client":
        return self

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        self.close()

    @property
    def pending(self) -> int:
        """Inputs logged and not yet acknowledged nor failed."""
        with self._cond:
            return self._logged - self._resolved

    def log_prediction(
        self,
        model: str,
        id: Union[str, int],
        output: inputs.Value,
        *,
        score: Optional[float] = None,
        scores: Optional[Mapping[Any, float]] = None,
        features: Optional[Mapping[str, Any]] = None,
        version: Optional[str] = None,
        instance: Optional[str] = None,
        timestamp: inputs.Timestamp = None,
    ) -> None:
        """Log one prediction of one version of ``model``: request ``id`` (a string or integer,
        unique per model) and ``output`` (the predicted class, or a number for regression).

        The version is required (``version`` or the client's). A class is a string, an integer
        or a boolean: a float such as ``1.0`` is a number, which only a regression model takes.

        ``score`` is the probability of the positive class (binary) and ``scores`` the
        probability per class; give at most one. ``features`` maps names to numbers, strings,
        booleans or ``None`` (NaN becomes ``None``). ``timestamp``: see ``log_metrics``.
        """
        obj = inputs.prediction(
            model,
            id,
            output,
            score=score,
            scores=scores,
            features=features,
            version=version or self.version,
            instance=instance or self.instance,
            timestamp=timestamp,
        )
        self._append([obj])

    def log_predictions(
        self,
        model: str,
        data: Any,
        *,
        id_col: str = "id",
        output_col: str = "output",
        score_col: Optional[str] = "score",
        scores_cols: frames.ScoresColumns = None,
        feature_cols: Optional[Sequence[str]] = None,
        timestamp_col: Optional[str] = "timestamp",
        version: Optional[str] = None,
        instance: Optional[str] = None,
    ) -> int:
        """Log many predictions of ``model`` at once; returns how many.

        ``data`` is a pandas DataFrame or an iterable of mappings. Each row gives the id
        (``id_col``), the output (``output_col``) and, when present, the score (``score_col``),
        the time (``timestamp_col``), and ``version`` and ``instance`` (else the arguments').
        Per-class scores come from the columns ``scores_cols`` (a mapping of class to column,
        or a list of columns named by their class) or a row's ``scores`` mapping; features from
        the columns ``feature_cols`` or a row's ``features`` mapping. A missing cell (NaN,
        ``None``) is a null feature, no score, or no timestamp (the server stamps it).

        Every row is checked before any is logged; then they are logged in order (see
        ``on_full`` for what a full buffer does with them).
        """
        objs = frames.predictions(
            model,
            data,
            id_col=id_col,
            output_col=output_col,
            score_col=score_col,
            scores_cols=scores_cols,
            feature_cols=feature_cols,
            timestamp_col=timestamp_col,
            version=version or self.version,
            instance=instance or self.instance,
        )
        return self._append(objs)

    def log_label(self, model: str, id: Union[str, int], value: inputs.Value, timestamp: inputs.Timestamp = None) -> None:
        """Log the label (true value) of the prediction ``id`` of ``model``; it joins that
        prediction, whose version and instance then apply."""
        self._append([inputs.label(model, id, value, timestamp=timestamp)])

    def log_labels(
        self,
        model: str,
        data: Any,
        *,
        id_col: str = "id",
        value_col: str = "value",
        timestamp_col: Optional[str] = "timestamp",
    ) -> int:
        """Log many labels of ``model`` (a DataFrame or an iterable of mappings with the columns
        ``id_col``, ``value_col`` and optionally ``timestamp_col``); returns how many."""
        return self._append(frames.labels(model, data, id_col=id_col, value_col=value_col, timestamp_col=timestamp_col))

    def log_metrics(
        self,
        model: str,
        metrics: Mapping[str, float],
        version: Optional[str] = None,
        instance: Optional[str] = None,
        timestamp: inputs.Timestamp = None,
    ) -> None:
        """Log metric values of one version of ``model`` (``{"accuracy": 0.93}``).

        The version is required here (``version`` or the client's). ``timestamp`` is a
        ``datetime`` (a naive one is taken as UTC), an RFC 3339 string, or ``None`` for the time
        the server receives it.
        """
        obj = inputs.metrics(
            model, metrics, version=version or self.version, instance=instance or self.instance, timestamp=timestamp
        )
        self._append([obj])

    def log_inputs(self, objs: Iterable[Mapping[str, Any]]) -> int:
        """Log wire objects as they are (``docs/events.md``), for instance the ``inputs`` of a
        ``FailedBatch`` once fixed; returns how many."""
        items = list(objs)
        for obj in items:
            if not isinstance(obj, Mapping):
                raise TypeError(f"expected wire objects (mappings), not {type(obj).__name__}")
        return self._append(items)

    def flush(self, timeout: Optional[float] = None) -> None:
        """Wait until every input logged before this call is acknowledged by the server.

        Raises the error of a batch that failed for good and has not been raised yet (the
        batch is in ``failed``), or ``FlushTimeout`` when ``timeout`` seconds pass first.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            target = self._logged
            if target > self._flush_upto:
                self._flush_upto = target
                self._cond.notify_all()
            while self._resolved < target:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    unsent = target - self._resolved
                    raise FlushTimeout(f"flush: {unsent} inputs not yet acknowledged after {timeout} s", unsent)
                if not self._thread.is_alive():
                    raise ModelwatchError(f"the sender thread has stopped with {target - self._resolved} inputs unsent")
                self._cond.wait(1.0 if remaining is None else min(remaining, 1.0))
            self._raise_unreported()

    def close(self, timeout: Optional[float] = None) -> None:
        """Send what is buffered (as ``flush(timeout)``), then stop the sender thread.

        If the time runs out, the inputs not yet sent are put in ``failed`` (with a
        ``ClientClosed`` error) and ``FlushTimeout`` is raised; a batch in flight at that moment
        lands in ``failed`` if its attempt then fails. Closing twice does nothing.
        """
        if self._closed:
            return
        try:
            self.flush(timeout)
        except FlushTimeout:
            self._stop.set()
            raise
        finally:
            with self._cond:
                self._closing = True
                self._closed = True
                self._cond.notify_all()
                if self._stop.is_set():
                    self._fail_queued()
            if not self._stop.is_set():
                self._thread.join()
                self._transport.close()
            atexit.unregister(self._close_at_exit)

    def _append(self, objs: Sequence[Mapping[str, Any]]) -> int:
        lines = [inputs.encode(obj) for obj in objs]
        for index, line in enumerate(lines):
            if len(line) > self.max_batch_bytes or len(line) > self.max_buffer_bytes:
                limit = min(self.max_batch_bytes, self.max_buffer_bytes)
                raise ValueError(f"input {index} is {len(line)} bytes as JSON, over the limit of {limit} bytes")
        with self._cond:
            if self._closed:
                raise ClientClosed("the client is closed")
            self._raise_unreported()
            was_empty = not self._queue
            if self.on_full == "raise":
                if not self._room_for(len(lines), sum(map(len, lines))):
                    raise BufferFull(
                        f"the buffer has no room for {len(lines)} more inputs ({self._held_items} of "
                        f"{self.max_buffer_items} inputs, {self._held_bytes} of {self.max_buffer_bytes} bytes held); "
                        "nothing of this call was logged"
                    )
                for line in lines:
                    self._enqueue(line)
            else:
                deadline = None if self.block_timeout is None else time.monotonic() + self.block_timeout
                for index, line in enumerate(lines):
                    self._wait_for_room(len(line), deadline, index)
                    self._enqueue(line)
            # The sender waits without a deadline only on an empty queue; otherwise it wakes
            # by itself when the oldest input is due, unless a batch fills up first.
            if was_empty or len(self._queue) >= self.batch_size or self._queued_bytes >= self.max_batch_bytes:
                self._cond.notify_all()
        return len(lines)

    def _room_for(self, count: int, size: int) -> bool:
        held = self._held_items
        # An input bigger than what is left is taken when nothing else is held (it fits alone).
        return held + count <= self.max_buffer_items and (held == 0 or self._held_bytes + size <= self.max_buffer_bytes)

    def _wait_for_room(self, size: int, deadline: Optional[float], accepted: int) -> None:
        while not self._room_for(1, size):
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                raise BufferFull(
                    f"the buffer stayed full for block_timeout ({self.block_timeout} s); "
                    f"{accepted} inputs of this call were logged, the rest were not",
                    accepted,
                )
            self._waiting_for_room += 1
            self._cond.notify_all()
            try:
                self._cond.wait(remaining)
            finally:
                self._waiting_for_room -= 1
            if self._closed:
                raise ClientClosed(f"the client was closed while waiting for room; {accepted} inputs of this call were logged")

    def _enqueue(self, line: bytes) -> None:
        self._queue.append((line, time.monotonic()))
        self._queued_bytes += len(line)
        self._held_items += 1
        self._held_bytes += len(line)
        self._logged += 1

    def _raise_unreported(self) -> None:
        if self._unreported:
            first = self._unreported.popleft()
            for batch in [first, *self._unreported]:
                batch.reported = True
            self._unreported.clear()
            raise first.error

    def _run(self) -> None:
        """The sender thread: take a batch when one is due, post it, record the outcome."""
        while True:
            with self._cond:
                batch = self._next_batch()
            if batch is None:
                return
            payload = b"".join(batch)
            error: Optional[ModelwatchError] = None
            try:
                deliver(self._transport, payload, len(batch), self._policy, self._stop)
            except ServerError as exc:
                error = exc
            except Exception as exc:  # a bug must not lose inputs silently: record them as failed
                error = ModelwatchError(f"unexpected error while sending a batch: {type(exc).__name__}: {exc}")
            with self._cond:
                self._resolve(batch, error)

    def _next_batch(self) -> Optional[List[bytes]]:
        """Wait (holding the lock) until a batch is due and take it; ``None`` once closed and empty."""
        while True:
            if self._stop.is_set():
                self._fail_queued()
                return None
            if self._queue:
                due = (
                    len(self._queue) >= self.batch_size
                    or self._queued_bytes >= self.max_batch_bytes
                    or self._flush_upto > self._taken
                    or self._waiting_for_room > 0
                    or self._closing
                )
                wait = self._queue[0][1] + self.flush_interval - time.monotonic()
                if due or wait <= 0:
                    return self._take()
                self._cond.wait(wait)
            elif self._closing:
                return None
            else:
                self._cond.wait()

    def _take(self) -> List[bytes]:
        batch: List[bytes] = []
        size = 0
        while self._queue and len(batch) < self.batch_size:
            line = self._queue[0][0]
            if batch and size + len(line) > self.max_batch_bytes:
                break
            self._queue.popleft()
            batch.append(line)
            size += len(line)
        self._queued_bytes -= size
        self._taken += len(batch)
        return batch

    def _resolve(self, batch: List[bytes], error: Optional[ModelwatchError]) -> None:
        self._resolved += len(batch)
        self._held_items -= len(batch)
        self._held_bytes -= sum(map(len, batch))
        if error is not None:
            failed = FailedBatch([_decode(line) for line in batch], error)
            self.failed.append(failed)
            self._unreported.append(failed)
            logger.error("a batch of %d inputs failed and is kept in client.failed: %s", len(batch), error)
        self._cond.notify_all()

    def _fail_queued(self) -> None:
        """On close with the time up: the inputs still queued fail with ``ClientClosed``."""
        if self._queue:
            batch = [line for line, _ in self._queue]
            self._queue.clear()
            self._queued_bytes = 0
            self._taken += len(batch)
            self._resolve(batch, ClientClosed(f"the client closed before {len(batch)} inputs could be sent"))

    def _close_at_exit(self) -> None:
        try:
            self.close(self.exit_timeout)
        except ModelwatchError as exc:
            logger.error("modelwatch client at exit: %s (%d batches in client.failed)", exc, len(self.failed))


def _decode(line: bytes) -> Dict[str, Any]:
    value = json.loads(line)
    return value if isinstance(value, dict) else {"input": value}
