"""Against the real ``modelwatch serve``: metrics in and read back, 422s surfaced, bearer tokens."""

from __future__ import annotations

import logging
import threading
import urllib.error
from datetime import datetime, timezone

import pytest

from modelwatch_client import AuthError, BatchRejected, Client, FailedBatch

from .conftest import Serve

T0 = datetime(2026, 12, 6, 10, 0, 0, tzinfo=timezone.utc)


def accuracy_points(serve: Serve, model: str, token: str = "") -> list:
    return [(p["version"], p["instance"], p["at"], p["value"]) for p in serve.get(f"/v1/series?model={model}&metric=accuracy", token)["points"]]


def test_metrics_are_accepted_and_read_back_in_order(start_serve) -> None:
    serve = start_serve()
    # Small batches: 7 events go in 3 POSTs, in the order they were logged.
    with Client(serve.url, batch_size=3, version="2.1.0") as mw:
        for minute in range(7):
            mw.log_metrics("fraud", {"accuracy": 0.90 + minute / 100}, timestamp=T0.replace(minute=minute))
        mw.log_metrics("fraud", {"accuracy": 0.5}, version="2.2.0", instance="canary-0", timestamp="2026-12-06T10:30:00Z")
        mw.flush()
        assert mw.pending == 0
        assert mw.failed == []
        points = accuracy_points(serve, "fraud")
    assert points == [("2.1.0", "default", f"2026-12-06T10:0{m}:00Z", pytest.approx(0.90 + m / 100)) for m in range(7)] + [
        ("2.2.0", "canary-0", "2026-12-06T10:30:00Z", 0.5)
    ]
    models = serve.get("/v1/models")["items"]
    assert [m["name"] for m in models] == ["fraud"]


def test_an_event_without_a_timestamp_gets_the_server_s_time(start_serve) -> None:
    serve = start_serve()
    with Client(serve.url) as mw:
        mw.log_metrics("m", {"accuracy": 0.8}, version="1")
        mw.flush()
        [(_, _, at, value)] = accuracy_points(serve, "m")
    assert value == 0.8
    assert at.startswith(str(datetime.now(timezone.utc).year))


def test_a_422_is_raised_by_flush_with_the_server_s_errors_and_the_batch_is_kept(start_serve, caplog) -> None:
    serve = start_serve()
    mw = Client(serve.url, version="1")
    mw.log_metrics("m", {"accuracy": 0.9}, timestamp=T0)
    mw.log_metrics("m", {"accuracy": 1.2}, timestamp=T0)
    with caplog.at_level(logging.ERROR, logger="modelwatch_client"), pytest.raises(BatchRejected) as caught:
        mw.flush()
    error = caught.value
    assert error.status == 422
    assert error.errors == [
        {"index": 1, "line": 2, "field": "metrics.accuracy", "message": "value 1.2 is outside the range of accuracy, [0, 1]"}
    ]
    assert "input 1 (line 2): metrics.accuracy: value 1.2 is outside the range of accuracy, [0, 1]" in str(error)
    # The batch is all-or-nothing: the good event was not stored either, and is kept to resend.
    assert accuracy_points(serve, "m") == []
    [failed] = mw.failed
    assert isinstance(failed, FailedBatch) and failed.error is error
    assert [obj["metrics"]["accuracy"] for obj in failed.inputs] == [0.9, 1.2]
    assert "failed and is kept in client.failed" in caplog.text
    # Raised once: the next calls work, and the fixed inputs can be logged again.
    mw.flush()
    fixed = [obj for obj in failed.inputs if obj["metrics"]["accuracy"] <= 1]
    assert mw.log_inputs(fixed) == 1
    mw.close()
    assert accuracy_points(serve, "m") == [("1", "default", "2026-12-06T10:00:00Z", 0.9)]


def test_a_failure_is_raised_by_the_next_log_call_which_then_logs_nothing(start_serve) -> None:
    serve = start_serve()
    failures = threading.Semaphore(0)

    class Failures(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if "failed and is kept in client.failed" in record.getMessage():
                failures.release()

    handler = Failures()
    logging.getLogger("modelwatch_client").addHandler(handler)
    try:
        mw = Client(serve.url, version="1", flush_interval=0.01)
        mw.log_metrics("m", {"accuracy": 7.0})
        # The sender logs the failure while it records it; after that, the next call raises it.
        assert failures.acquire(timeout=60)
        with pytest.raises(BatchRejected, match="value 7 is outside the range of accuracy"):
            mw.log_metrics("m", {"accuracy": 0.5})
        mw.flush()  # raised once only
        mw.close()
    finally:
        logging.getLogger("modelwatch_client").removeHandler(handler)
    assert len(mw.failed) == 1
    assert accuracy_points(serve, "m") == []


TOKEN = "s3cret-ingest-token-value"
READ_TOKEN = "s3cret-read-only-token"


@pytest.fixture
def serve_with_tokens(start_serve) -> Serve:
    return start_serve(
        "--token-env",
        "MW_TEST_INGEST:ingest,read",
        "--token-env",
        "MW_TEST_READ:read",
        env={"MW_TEST_INGEST": TOKEN, "MW_TEST_READ": READ_TOKEN},
    )


def test_the_token_comes_from_the_environment_and_is_never_shown(serve_with_tokens, monkeypatch, caplog) -> None:
    serve = serve_with_tokens
    monkeypatch.setenv("MODELWATCH_TOKEN", TOKEN)
    with caplog.at_level(logging.DEBUG, logger="modelwatch_client"), Client(serve.url, version="1") as mw:
        assert TOKEN not in repr(mw) and "token=<set>" in repr(mw)
        mw.log_metrics("m", {"accuracy": 0.75}, timestamp=T0)
        mw.flush()
    assert accuracy_points(serve, "m", TOKEN) == [("1", "default", "2026-12-06T10:00:00Z", 0.75)]
    assert TOKEN not in caplog.text
    with pytest.raises(urllib.error.HTTPError) as unauthorized:
        serve.get("/v1/series?model=m&metric=accuracy")
    assert unauthorized.value.code == 401


def test_the_token_argument_wins_over_the_environment(serve_with_tokens, monkeypatch) -> None:
    monkeypatch.setenv("MODELWATCH_TOKEN", "not-the-token")
    with Client(serve_with_tokens.url, token=TOKEN, version="1") as mw:
        mw.log_metrics("m", {"accuracy": 0.5})
        mw.flush()


def test_a_missing_or_wrong_token_is_a_clear_401(serve_with_tokens, monkeypatch, caplog) -> None:
    monkeypatch.delenv("MODELWATCH_TOKEN", raising=False)
    with Client(serve_with_tokens.url, version="1") as mw:
        mw.log_metrics("m", {"accuracy": 0.5})
        with pytest.raises(AuthError, match="no token was given: pass token= or set MODELWATCH_TOKEN") as caught:
            mw.flush()
        assert caught.value.status == 401
    wrong = "wrong-token-value-123"
    with caplog.at_level(logging.DEBUG, logger="modelwatch_client"), Client(serve_with_tokens.url, token=wrong, version="1") as mw:
        mw.log_metrics("m", {"accuracy": 0.5})
        with pytest.raises(AuthError, match="is the token right") as caught:
            mw.flush()
    assert caught.value.status == 401
    assert wrong not in caplog.text and wrong not in str(caught.value)


def test_a_token_without_the_ingest_scope_is_a_403(serve_with_tokens) -> None:
    with Client(serve_with_tokens.url, token=READ_TOKEN, version="1") as mw:
        mw.log_metrics("m", {"accuracy": 0.5})
        with pytest.raises(AuthError, match="needs the ingest scope") as caught:
            mw.flush()
    assert caught.value.status == 403
    assert "ingest" in caught.value.body["error"]
