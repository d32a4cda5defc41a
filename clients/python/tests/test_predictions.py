"""Predictions and labels through the real serve: the realized accuracy it computes is read back.

They use serve's prediction and label inputs, its ``[[models]]`` config section and the
realized quality it computes per window (issue 13).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from modelwatch_client import BatchRejected, Client

from .conftest import Serve

T0 = datetime(2026, 12, 6, 10, 0, 0, tzinfo=timezone.utc)

CONFIG = """
[[models]]
name = "fraud*"
task = "binary"
positive = "fraud"
window = 2
label_horizon_secs = 604800
"""


def series(serve: Serve, model: str, metric: str) -> list:
    answer = serve.get(f"/v1/series?model={model}&metric={metric}")
    return [(p["version"], p["instance"], p["at"], p["value"]) for p in answer["points"]]


def log_one_window(serve: Serve) -> None:
    """Two predictions of fraud-a and their labels: one right, one wrong (a missed fraud)."""
    with Client(serve.url, version="2.1.0") as mw:
        mw.log_prediction("fraud-a", "req-1", "fraud", score=0.91, features={"age": 42, "country": "DE", "income": None}, timestamp=T0)
        mw.log_prediction("fraud-a", "req-2", "ok", score=0.2, features={"age": 30, "country": "FR", "income": 1.5}, timestamp=T0 + timedelta(seconds=1))
        mw.log_label("fraud-a", "req-1", "fraud", timestamp=T0 + timedelta(hours=1))
        mw.log_label("fraud-a", "req-2", "fraud", timestamp=T0 + timedelta(hours=2))
        mw.flush()
        assert mw.failed == []


def test_labels_join_their_predictions_and_complete_a_window(start_serve) -> None:
    serve = start_serve(config=CONFIG)
    log_one_window(serve)
    # The window's point takes the time of the label that completes it.
    assert series(serve, "fraud-a", "label_coverage") == [("2.1.0", "default", "2026-12-06T12:00:00Z", 1.0)]


def test_a_window_of_labeled_predictions_gives_realized_quality(start_serve) -> None:
    serve = start_serve(config=CONFIG)
    log_one_window(serve)
    assert series(serve, "fraud-a", "accuracy") == [("2.1.0", "default", "2026-12-06T12:00:00Z", 0.5)]
    assert series(serve, "fraud-a", "recall") == [("2.1.0", "default", "2026-12-06T12:00:00Z", 0.5)]
    assert series(serve, "fraud-a", "precision") == [("2.1.0", "default", "2026-12-06T12:00:00Z", 1.0)]


def test_predictions_labels_and_metrics_mixed_in_one_batch(start_serve) -> None:
    serve = start_serve(config=CONFIG)
    with Client(serve.url, version="1.0.0", instance="canary-0") as mw:
        mw.log_prediction("fraud-b", 1, "fraud", scores={"fraud": 0.7, "ok": 0.3}, timestamp=T0)
        mw.log_metrics("fraud-b", {"latency_ms": 12.5}, timestamp=T0)
        mw.log_prediction("fraud-b", 2, "fraud", scores={"fraud": 0.6, "ok": 0.4}, timestamp=T0)
        mw.log_label("fraud-b", 1, "fraud", timestamp=T0 + timedelta(minutes=5))
        mw.log_label("fraud-b", 2, "fraud", timestamp=T0 + timedelta(minutes=6))
        mw.flush()
    assert series(serve, "fraud-b", "latency_ms") == [("1.0.0", "canary-0", "2026-12-06T10:00:00Z", 12.5)]
    assert series(serve, "fraud-b", "label_coverage") == [("1.0.0", "canary-0", "2026-12-06T10:06:00Z", 1.0)]


def test_dataframes_of_predictions_and_labels(start_serve) -> None:
    pd = pytest.importorskip("pandas")
    serve = start_serve(config=CONFIG)
    predictions = pd.DataFrame(
        {
            "rid": ["a", "b", "c", "d"],
            "pred": ["fraud", "ok", "ok", "fraud"],
            "proba": [0.8, 0.3, 0.1, 0.9],
            "age": [40, float("nan"), 22, 35],
            "ts": pd.to_datetime(["2026-12-06T10:00:00"] * 4),
        }
    )
    labels = pd.DataFrame({"rid": ["a", "b", "c", "d"], "truth": ["fraud", "ok", "fraud", "fraud"], "ts": pd.to_datetime(["2026-12-06T11:00:00"] * 4)})
    with Client(serve.url, version="3") as mw:
        mw.log_predictions("fraud-c", predictions, id_col="rid", output_col="pred", score_col="proba", feature_cols=["age"], timestamp_col="ts")
        mw.log_labels("fraud-c", labels, id_col="rid", value_col="truth", timestamp_col="ts")
        mw.flush()
    assert [value for *_, value in series(serve, "fraud-c", "label_coverage")] == [1.0, 1.0]
    assert [value for *_, value in series(serve, "fraud-c", "accuracy")] == [1.0, 0.5]


def test_an_invalid_prediction_is_a_422_naming_the_field(start_serve) -> None:
    serve = start_serve(config=CONFIG)
    with Client(serve.url, version="1") as mw:
        mw.log_prediction("fraud-d", "x", "fraud", score=0.5)
        mw.log_prediction("fraud-d", "y", "fraud", score=1.5)
        with pytest.raises(BatchRejected) as caught:
            mw.flush()
    assert caught.value.status == 422
    assert [(e["index"], e["line"], e["field"]) for e in caught.value.errors] == [(1, 2, "prediction.score")]
    assert "input 1 (line 2): prediction.score: " in str(caught.value)


def test_the_model_shows_the_traffic_the_client_sent(start_serve) -> None:
    serve = start_serve(config=CONFIG)
    with Client(serve.url, version="1") as mw:
        for request in ("p-1", "p-2", "p-3"):
            mw.log_prediction("fraud-e", request, "ok", score=0.1, timestamp=T0)
        mw.log_label("fraud-e", "p-2", "ok", timestamp=T0 + timedelta(minutes=1))
        mw.log_label("fraud-e", "nobody", "ok", timestamp=T0 + timedelta(minutes=1))
        mw.flush()
    traffic = serve.get("/v1/models/fraud-e")["traffic"]
    assert (traffic["task"], traffic["positive"], traffic["window"]) == ("binary", "fraud", 2)
    counts = {key: traffic[key] for key in ("predictions", "pending", "joined", "unmatched")}
    assert counts == {"predictions": 3, "pending": 2, "joined": 1, "unmatched": 1}
