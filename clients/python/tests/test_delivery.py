"""Buffer bounds, flush, close and retries, against a stub that can stall, answer 503 or hang up.

No test sleeps: each waits on the outcome (a request arriving at the stub, a flush returning,
an exception). The only clock is the client's own (``Retry-After``, ``block_timeout``).
"""

from __future__ import annotations

import logging
import threading

import pytest

from modelwatch_client import BufferFull, Client, ClientClosed, FlushTimeout, RetriesExhausted, ServerError

from .conftest import Reply, Stub


def test_on_full_raise_raises_and_takes_nothing_of_the_call(stub: Stub) -> None:
    stub.hold()
    mw = Client(stub.url, version="1", batch_size=1, max_buffer_items=3, on_full="raise")
    mw.log_metrics("m", {"a": 1})
    stub.wait_for_request(1)  # the first is in flight, held by the stub: it still counts
    mw.log_metrics("m", {"a": 2})
    mw.log_metrics("m", {"a": 3})
    with pytest.raises(BufferFull, match="no room for 1 more inputs") as caught:
        mw.log_metrics("m", {"a": 4})
    assert caught.value.accepted == 0
    # A call of many inputs is taken whole or not at all.
    stub_rows = [{"id": str(i), "value": 1} for i in range(2)]
    with pytest.raises(BufferFull, match="nothing of this call was logged"):
        mw.log_labels("m", stub_rows)
    assert mw.pending == 3
    stub.release()
    mw.flush()
    assert [obj["metrics"]["a"] for obj in stub.inputs()] == [1, 2, 3]
    # Room again once acknowledged.
    mw.log_labels("m", stub_rows)
    mw.close()
    assert [obj["label"]["id"] for obj in stub.inputs()[3:]] == ["0", "1"]


def test_a_byte_bound_counts_too(stub: Stub) -> None:
    stub.hold()
    mw = Client(stub.url, version="1", batch_size=1, max_buffer_bytes=200, on_full="raise")
    mw.log_metrics("m", {"a": 1})
    stub.wait_for_request(1)
    with pytest.raises(BufferFull, match="bytes held"):
        mw.log_metrics("m", {"a_rather_long_metric_name_" + "x" * 100: 2})
    stub.release()
    mw.close()


def test_on_full_block_waits_for_room(stub: Stub) -> None:
    stub.hold()
    mw = Client(stub.url, version="1", batch_size=1, max_buffer_items=1)
    mw.log_metrics("m", {"a": 1})
    stub.wait_for_request(1)
    logged = threading.Event()

    def log_second() -> None:
        mw.log_metrics("m", {"a": 2})  # blocks: the one slot is in flight
        logged.set()

    thread = threading.Thread(target=log_second)
    thread.start()
    assert not logged.is_set()  # the first request is held, so its slot is not free
    stub.release()
    thread.join(timeout=60)
    assert logged.is_set()
    mw.close()
    assert [obj["metrics"]["a"] for obj in stub.inputs()] == [1, 2]


def test_on_full_block_with_a_timeout_raises_saying_how_many_were_logged(stub: Stub) -> None:
    stub.hold()
    mw = Client(stub.url, batch_size=1, max_buffer_items=2, block_timeout=0.05)
    rows = [{"id": str(i), "value": "ok"} for i in range(4)]
    with pytest.raises(BufferFull, match="2 inputs of this call were logged") as caught:
        mw.log_labels("m", rows)
    assert caught.value.accepted == 2
    stub.release()
    mw.close()
    assert [obj["label"]["id"] for obj in stub.inputs()] == ["0", "1"]


def test_flush_waits_for_the_acknowledgement_and_can_time_out(stub: Stub) -> None:
    stub.hold()
    mw = Client(stub.url, version="1", flush_interval=3600)
    mw.log_metrics("m", {"a": 1})
    with pytest.raises(FlushTimeout) as caught:
        mw.flush(timeout=0.05)  # flush asked for the batch at once (no 3600 s wait) ...
    assert caught.value.unsent == 1
    stub.wait_for_request(1)  # ... and it went out
    stub.release()
    mw.flush()
    assert mw.pending == 0
    mw.close()


def test_close_out_of_time_keeps_what_was_not_sent(stub: Stub) -> None:
    stub.hold()
    mw = Client(stub.url, version="1", batch_size=1)
    mw.log_metrics("m", {"a": 1})
    stub.wait_for_request(1)
    mw.log_metrics("m", {"a": 2})
    with pytest.raises(FlushTimeout):
        mw.close(timeout=0.05)
    # The queued input is kept at once; the one in flight is settled by its answer.
    assert [batch.inputs[0]["metrics"]["a"] for batch in mw.failed] == [2]
    assert isinstance(mw.failed[0].error, ClientClosed)
    with pytest.raises(ClientClosed):
        mw.log_metrics("m", {"a": 3})
    stub.release()


def test_503_is_retried_after_retry_after_and_nothing_is_lost(stub: Stub, caplog) -> None:
    busy = {"error": "the ingest queue is full; retry later"}
    stub.script = [
        Reply(503, {"Retry-After": "0"}, busy),
        Reply(503, {"Retry-After": "1"}, busy),
        Reply(202),
    ]
    with caplog.at_level(logging.WARNING, logger="modelwatch_client"), Client(stub.url, version="1") as mw:
        mw.log_metrics("m", {"a": 1})
        mw.log_metrics("m", {"a": 2})
        mw.flush()
    bodies = [body for _, body in stub.requests]
    assert len(bodies) == 3 and bodies[0] == bodies[1] == bodies[2]
    assert "503 Service Unavailable: the ingest queue is full; retry later; attempt 1, retrying in 0.0 s (Retry-After 0)" in caplog.text
    assert "attempt 2, retrying in 1.0 s (Retry-After 1)" in caplog.text
    assert mw.failed == []


def test_a_dropped_connection_is_retried(stub: Stub) -> None:
    stub.script = [Reply(drop=True), Reply(202)]
    with Client(stub.url, version="1", retry_base_delay=0.01) as mw:
        mw.log_metrics("m", {"a": 1})
        mw.flush()
    assert len(stub.requests) == 2


def test_past_the_retry_deadline_the_batch_fails_and_is_kept(stub: Stub) -> None:
    stub.script = [Reply(503, {"Retry-After": "5"}, {"error": "busy"})]
    mw = Client(stub.url, version="1", retry_deadline=1.0)
    mw.log_metrics("m", {"a": 1})
    with pytest.raises(RetriesExhausted, match="gave up on a batch of 1 inputs after 1 attempts") as caught:
        mw.flush()
    assert caught.value.status == 503
    assert [batch.inputs[0]["metrics"] for batch in mw.failed] == [{"a": 1}]
    mw.close()


def test_other_statuses_are_final(stub: Stub) -> None:
    stub.script = [Reply(500, {}, {"error": "internal error", "request_id": "x-1"})]
    with Client(stub.url, version="1") as mw:
        mw.log_metrics("m", {"a": 1})
        with pytest.raises(ServerError, match="500 Internal Server Error: internal error"):
            mw.flush()
    assert len(stub.requests) == 1


def test_requests_are_ndjson_with_the_bearer_token(stub: Stub) -> None:
    with Client(stub.url, token="tok-123", version="1", batch_size=2) as mw:
        for a in range(3):
            mw.log_metrics("m", {"a": a})
        mw.flush()
    headers = [h for h, _ in stub.requests]
    assert len(headers) == 2
    assert all(h["Content-Type"] == "application/x-ndjson" and h["Authorization"] == "Bearer tok-123" for h in headers)
    assert [body.count(b"\n") for _, body in stub.requests] == [2, 1]
