"""Many predictions and labels at once, from lists of dicts and pandas DataFrames (wire checked on a stub)."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from modelwatch_client import Client

from .conftest import Stub

pd = pytest.importorskip("pandas")
np = pytest.importorskip("numpy")


def test_a_dataframe_of_predictions_with_column_mapping(stub: Stub) -> None:
    df = pd.DataFrame(
        {
            "request_id": ["r1", "r2", "r3"],
            "pred": ["fraud", "ok", "ok"],
            "proba": [0.91, np.nan, 0.2],
            "age": [42, 31, 57],
            "income": [50_000.0, np.nan, 72_000.5],
            "country": ["DE", None, "FR"],
            "ts": pd.to_datetime(["2026-12-06T10:00:00", "2026-12-06T10:00:01.5", None], format="ISO8601"),
        }
    )
    with Client(stub.url, version="2.1.0", instance="canary-0") as mw:
        n = mw.log_predictions(
            "fraud",
            df,
            id_col="request_id",
            output_col="pred",
            score_col="proba",
            feature_cols=["age", "income", "country"],
            timestamp_col="ts",
        )
        mw.flush()
    assert n == 3
    model = {"name": "fraud", "version": "2.1.0", "instance": "canary-0"}
    assert stub.inputs() == [
        {
            "model": model,
            "timestamp": "2026-12-06T10:00:00Z",
            "prediction": {"id": "r1", "output": "fraud", "score": 0.91, "features": {"age": 42, "income": 50000.0, "country": "DE"}},
        },
        {
            "model": model,
            "timestamp": "2026-12-06T10:00:01.500000Z",
            "prediction": {"id": "r2", "output": "ok", "features": {"age": 31, "income": None, "country": None}},
        },
        {
            "model": model,
            "prediction": {"id": "r3", "output": "ok", "score": 0.2, "features": {"age": 57, "income": 72000.5, "country": "FR"}},
        },
    ]


def test_per_class_score_columns_and_integer_ids(stub: Stub) -> None:
    df = pd.DataFrame({"id": np.array([7, 8], dtype="int64"), "output": [2, 0], "p0": [0.1, 0.8], "p1": [0.1, 0.1], "p2": [0.8, 0.1]})
    with Client(stub.url, version="1") as mw:
        mw.log_predictions("digits", df, scores_cols={"0": "p0", "1": "p1", "2": "p2"})
        mw.flush()
    assert [obj["prediction"] for obj in stub.inputs()] == [
        {"id": "7", "output": 2, "scores": {"0": 0.1, "1": 0.1, "2": 0.8}},
        {"id": "8", "output": 0, "scores": {"0": 0.8, "1": 0.1, "2": 0.1}},
    ]


def test_a_dataframe_of_labels(stub: Stub) -> None:
    df = pd.DataFrame({"rid": ["r1", "r2"], "label": [True, False], "at": [datetime(2026, 12, 7, 8, tzinfo=timezone.utc), None]})
    with Client(stub.url) as mw:
        assert mw.log_labels("fraud", df, id_col="rid", value_col="label", timestamp_col="at") == 2
        mw.flush()
    assert stub.inputs() == [
        {"model": {"name": "fraud"}, "timestamp": "2026-12-07T08:00:00Z", "label": {"id": "r1", "value": True}},
        {"model": {"name": "fraud"}, "label": {"id": "r2", "value": False}},
    ]


def test_a_list_of_dicts_uses_the_argument_names(stub: Stub) -> None:
    rows = [
        {"id": "a", "output": 1.5, "features": {"x": 1}, "timestamp": "2026-12-06T10:00:00Z"},
        {"id": "b", "output": 2.5, "version": "3", "instance": "i-1"},
    ]
    with Client(stub.url, version="1") as mw:
        mw.log_predictions("price", rows)
        mw.flush()
    assert stub.inputs() == [
        {"model": {"name": "price", "version": "1"}, "timestamp": "2026-12-06T10:00:00Z", "prediction": {"id": "a", "output": 1.5, "features": {"x": 1}}},
        {"model": {"name": "price", "version": "3", "instance": "i-1"}, "prediction": {"id": "b", "output": 2.5}},
    ]


def test_bad_rows_are_refused_before_any_is_logged(stub: Stub) -> None:
    df = pd.DataFrame({"id": ["a", "b"], "output": ["x", None]})
    with Client(stub.url, version="1") as mw:
        with pytest.raises(ValueError, match="row 1: 'output' is missing"):
            mw.log_predictions("m", df)
        with pytest.raises(KeyError, match="no column 'label'"):
            mw.log_labels("m", df, value_col="label")
        with pytest.raises(TypeError, match="DataFrame or an iterable of mappings"):
            mw.log_labels("m", {"id": "a", "value": 1})
        assert mw.pending == 0
    assert stub.requests == []
