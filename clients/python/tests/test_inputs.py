"""The wire objects the client builds, its timestamps, and its retry delays (no server)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from modelwatch_client import inputs
from modelwatch_client.transport import RetryPolicy, retry_delay


def test_a_prediction_is_the_issue_s_wire_form() -> None:
    obj = inputs.prediction(
        "fraud",
        "req-42",
        "fraud",
        scores={"fraud": 0.91, "ok": 0.09},
        features={"age": 42, "country": "DE", "income": None},
        version="2.1.0",
        instance="canary-0",
        timestamp=datetime(2026, 12, 6, 10, 0, 0, tzinfo=timezone.utc),
    )
    assert obj == json.loads(
        '{"model": {"name": "fraud", "version": "2.1.0", "instance": "canary-0"}, "timestamp": "2026-12-06T10:00:00Z",'
        ' "prediction": {"id": "req-42", "output": "fraud", "scores": {"fraud": 0.91, "ok": 0.09},'
        ' "features": {"age": 42, "country": "DE", "income": null}}}'
    )


def test_a_label_and_a_metric_event() -> None:
    assert inputs.label("fraud", "req-42", "ok", timestamp="2026-12-07T08:00:00Z") == {
        "model": {"name": "fraud"},
        "timestamp": "2026-12-07T08:00:00Z",
        "label": {"id": "req-42", "value": "ok"},
    }
    assert inputs.metrics("fraud", {"accuracy": 0.93}, version="2.1.0") == {
        "model": {"name": "fraud", "version": "2.1.0"},
        "metrics": {"accuracy": 0.93},
    }


def test_no_timestamp_is_sent_when_none_so_the_server_stamps_it() -> None:
    assert "timestamp" not in inputs.label("m", 1, True)


def test_naive_datetimes_are_utc_and_aware_ones_are_converted() -> None:
    assert inputs.format_timestamp(datetime(2026, 12, 6, 10, 0, 0)) == "2026-12-06T10:00:00Z"
    paris = timezone(timedelta(hours=1))
    assert inputs.format_timestamp(datetime(2026, 12, 6, 11, 0, 0, 250000, tzinfo=paris)) == "2026-12-06T10:00:00.250000Z"
    assert inputs.format_timestamp("2026-12-06T11:00:00+01:00") == "2026-12-06T11:00:00+01:00"
    with pytest.raises(TypeError, match="timestamp"):
        inputs.format_timestamp(1765015200)  # type: ignore[arg-type]


def test_nan_features_become_null_but_a_nan_score_is_refused() -> None:
    obj = inputs.prediction("m", "a", 1, features={"x": float("nan"), "y": float("inf"), "z": 1.5}, version="1")
    assert obj["prediction"]["features"] == {"x": None, "y": None, "z": 1.5}
    assert b"NaN" not in inputs.encode(obj)
    with pytest.raises(ValueError, match="prediction.score"):
        inputs.prediction("m", "a", 1, score=float("nan"), version="1")


def test_wrong_calls_raise_in_the_caller() -> None:
    with pytest.raises(ValueError, match="not both"):
        inputs.prediction("m", "a", "x", score=0.5, scores={"x": 0.5, "y": 0.5}, version="1")
    with pytest.raises(ValueError, match="a metric event needs the model's version"):
        inputs.metrics("m", {"accuracy": 0.9}, version=None)
    with pytest.raises(ValueError, match="a prediction needs the model's version"):
        inputs.prediction("m", "a", "x")
    with pytest.raises(TypeError, match="id"):
        inputs.label("m", 1.5, "x")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="features.when"):
        inputs.prediction("m", "a", 1, features={"when": object()}, version="1")


def test_integer_ids_are_sent_as_strings() -> None:
    assert inputs.label("m", 42, 1)["label"]["id"] == "42"


def test_retry_after_is_honoured_and_capped() -> None:
    policy = RetryPolicy(base_delay=0.5, max_delay=30.0)
    assert retry_delay(0, "1", policy) == (1.0, "Retry-After 1")
    assert retry_delay(3, "0", policy)[0] == 0.0
    assert retry_delay(0, "3600", policy) == (30.0, "Retry-After 3600, capped at max_retry_delay")
    now = datetime(2026, 12, 6, 10, 0, 0, tzinfo=timezone.utc)
    assert retry_delay(0, "Sun, 06 Dec 2026 10:00:05 GMT", policy, now=now)[0] == 5.0


def test_backoff_without_retry_after_doubles_up_to_the_cap() -> None:
    policy = RetryPolicy(base_delay=0.5, max_delay=4.0)
    assert retry_delay(0, None, policy, rand=lambda: 1.0) == (0.5, "backoff")
    assert retry_delay(2, None, policy, rand=lambda: 0.0) == (1.0, "backoff")
    assert retry_delay(10, None, policy, rand=lambda: 1.0) == (4.0, "backoff")
    assert retry_delay(0, "soon", policy, rand=lambda: 1.0) == (0.5, "backoff")
