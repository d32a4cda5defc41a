"""Building the wire objects of predictions, labels and metric events (docs/events.md).

Each builder checks what a wrong call would make unsendable (types, a missing name, both
``score`` and ``scores``, a number that is not finite) and raises ``TypeError`` or
``ValueError`` at once, in the caller. What only the server knows (its name rules, ranges,
time bounds, a model's task) it checks, and a refusal comes back as ``BatchRejected``.
"""

from __future__ import annotations

import json
import math
from datetime import datetime, timezone
from typing import Any, Dict, Mapping, Optional, Union

#: What a timestamp may be given as: an aware ``datetime`` (converted to UTC), a naive one
#: (taken as UTC), an RFC 3339 string (sent as it is), or ``None`` (the server stamps the
#: time it receives the input).
Timestamp = Union[datetime, str, None]

#: A predicted class or label (string, integer or boolean) or, for regression, a number.
Value = Union[str, int, float, bool]


def format_timestamp(value: Timestamp, field: str = "timestamp") -> Optional[str]:
    """The RFC 3339 UTC form of ``value`` (``2026-12-06T10:00:00Z``), or ``None`` for ``None``.

    Naive datetimes are taken as UTC (what ``datetime.utcnow()`` and pandas give), aware ones
    are converted to UTC; strings are sent as given and the server checks them. pandas'
    ``NaT`` counts as ``None``.
    """
    if value is None or _is_missing(value):
        return None
    if isinstance(value, str):
        if not value:
            raise ValueError(f"{field}: an empty string is not a time; pass None to let the server stamp it")
        return value
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(timezone.utc)
        text = value.replace(tzinfo=None).isoformat(timespec="microseconds")
        if text.endswith(".000000"):
            text = text[: -len(".000000")]
        return text + "Z"
    raise TypeError(f"{field}: expected a datetime, an RFC 3339 string or None, not {type(value).__name__}")


def model_object(name: str, version: Optional[str], instance: Optional[str]) -> Dict[str, str]:
    """The ``model`` object of an input: its name, and its version and instance when given."""
    if not isinstance(name, str) or not name:
        raise TypeError(f"model: expected a non-empty model name (a string), not {name!r}")
    model = {"name": name}
    if version is not None:
        model["version"] = _name(version, "version")
    if instance is not None:
        model["instance"] = _name(instance, "instance")
    return model


def prediction(
    model: str,
    id: Union[str, int],
    output: Value,
    *,
    score: Optional[float] = None,
    scores: Optional[Mapping[Any, float]] = None,
    features: Optional[Mapping[str, Any]] = None,
    version: Optional[str] = None,
    instance: Optional[str] = None,
    timestamp: Timestamp = None,
) -> Dict[str, Any]:
    """The wire object of one prediction (see ``Client.log_prediction``)."""
    if version is None:
        raise ValueError("log_prediction: a prediction needs the model's version (pass version= or Client(version=...))")
    body: Dict[str, Any] = {"id": _id(id), "output": _value(output, "prediction.output")}
    if score is not None and scores is not None:
        raise ValueError("prediction: give score (the positive class's probability) or scores (per class), not both")
    if score is not None:
        body["score"] = _finite(score, "prediction.score")
    if scores is not None:
        if not isinstance(scores, Mapping) or not scores:
            raise TypeError("prediction.scores: expected a non-empty mapping of class to probability")
        body["scores"] = {str(k): _finite(v, f"prediction.scores.{k}") for k, v in scores.items()}
    if features is not None:
        if not isinstance(features, Mapping):
            raise TypeError(f"prediction.features: expected a mapping of name to value, not {type(features).__name__}")
        body["features"] = {str(k): feature_value(v, f"prediction.features.{k}") for k, v in features.items()}
    return _input(model, version, instance, timestamp, "prediction", body)


def label(
    model: str,
    id: Union[str, int],
    value: Value,
    *,
    timestamp: Timestamp = None,
) -> Dict[str, Any]:
    """The wire object of one label (see ``Client.log_label``)."""
    body = {"id": _id(id), "value": _value(value, "label.value")}
    return _input(model, None, None, timestamp, "label", body)


def metrics(
    model: str,
    values: Mapping[str, float],
    *,
    version: Optional[str],
    instance: Optional[str] = None,
    timestamp: Timestamp = None,
) -> Dict[str, Any]:
    """The wire object of one metric event (see ``Client.log_metrics``)."""
    if version is None:
        raise ValueError("log_metrics: a metric event needs the model's version (pass version= or Client(version=...))")
    if not isinstance(values, Mapping) or not values:
        raise TypeError("metrics: expected a non-empty mapping of metric name to number")
    body = {str(k): _finite(v, f"metrics.{k}") for k, v in values.items()}
    return _input(model, version, instance, timestamp, "metrics", body)


def encode(obj: Mapping[str, Any]) -> bytes:
    """One NDJSON line (with its newline) for a wire object; NaN and infinities are refused."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8") + b"\n"


def feature_value(value: Any, field: str) -> Any:
    """A feature as JSON: numbers, strings, booleans and null; NaN, ``pd.NA`` and ``NaT`` become null."""
    if value is None or _is_missing(value):
        return None
    if isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, datetime):
        return format_timestamp(value, field)
    scalar = _numpy_scalar(value)
    if scalar is not value:
        return feature_value(scalar, field)
    raise TypeError(f"{field}: a feature is a number, string, boolean or None, not {type(value).__name__}")


def _input(
    model: str,
    version: Optional[str],
    instance: Optional[str],
    timestamp: Timestamp,
    kind: str,
    body: Dict[str, Any],
) -> Dict[str, Any]:
    obj: Dict[str, Any] = {"model": model_object(model, version, instance)}
    stamp = format_timestamp(timestamp)
    if stamp is not None:
        obj["timestamp"] = stamp
    obj[kind] = body
    return obj


def _name(value: Any, field: str) -> str:
    if not isinstance(value, str) or not value:
        raise TypeError(f"model.{field}: expected a non-empty string, not {value!r}")
    return value


def _id(value: Any) -> str:
    value = _numpy_scalar(value)
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise TypeError(f"id: expected a string or an integer, not {type(value).__name__}")
    text = str(value)
    if not text:
        raise ValueError("id: must not be empty")
    return text


def _value(value: Any, field: str) -> Value:
    value = _numpy_scalar(value)
    if isinstance(value, (bool, str, int)):
        return value
    if isinstance(value, float):
        return _finite(value, field)
    raise TypeError(f"{field}: expected a string, an integer, a boolean or a number, not {type(value).__name__}")


def _finite(value: Any, field: str) -> float:
    value = _numpy_scalar(value)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{field}: expected a number, not {type(value).__name__}")
    if not math.isfinite(value):
        raise ValueError(f"{field}: {value} is not a finite number")
    return value


def _numpy_scalar(value: Any) -> Any:
    """A numpy scalar as the Python value it holds (``np.int64(3)`` is ``3``); anything else as is."""
    if type(value).__module__ == "numpy" and hasattr(value, "item"):
        return value.item()
    return value


def _is_missing(value: Any) -> bool:
    """pandas' missing markers (``pd.NA``, ``NaT``) and NaN."""
    if isinstance(value, float):
        return math.isnan(value)
    return type(value).__name__ in ("NAType", "NaTType")
