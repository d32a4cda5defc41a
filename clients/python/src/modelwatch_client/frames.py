"""Turning many predictions or labels (a list of dicts, or a pandas DataFrame) into wire objects.

pandas is imported only when a DataFrame is passed, so the package needs nothing beyond the
standard library. A DataFrame is read column by column (``Series.tolist()``), which gives plain
Python values; a missing cell (NaN, ``pd.NA``, ``NaT``) is a null feature, an absent score or an
absent timestamp (the server stamps it), and an error in the id, output or label columns.
"""

from __future__ import annotations

import math
from typing import Any, Dict, Iterable, Iterator, List, Mapping, Optional, Sequence, Union

from . import inputs

#: A column name, or several: a mapping of class to column (or a list of columns named by class).
ScoresColumns = Union[Mapping[str, str], Sequence[str], None]


def rows(data: Any, needed: Sequence[str]) -> Iterator[Mapping[str, Any]]:
    """Each row of ``data`` as a mapping: a DataFrame's rows (only the columns in ``needed``
    that it has), or the mappings of an iterable as they are."""
    if _is_dataframe(data):
        columns = [c for c in dict.fromkeys(needed) if c in data.columns]
        values = [data[c].tolist() for c in columns]
        for row in zip(*values) if columns else ({} for _ in range(len(data))):
            yield dict(zip(columns, row))
        return
    if isinstance(data, (str, bytes)) or isinstance(data, Mapping) or not isinstance(data, Iterable):
        raise TypeError(f"expected a pandas DataFrame or an iterable of mappings, not {type(data).__name__}")
    for row in data:
        if not isinstance(row, Mapping):
            raise TypeError(f"expected each row to be a mapping (such as a dict), not {type(row).__name__}")
        yield row


def predictions(
    model: str,
    data: Any,
    *,
    id_col: str,
    output_col: str,
    score_col: Optional[str],
    scores_cols: ScoresColumns,
    feature_cols: Optional[Sequence[str]],
    timestamp_col: Optional[str],
    version: Optional[str],
    instance: Optional[str],
) -> List[Dict[str, Any]]:
    """The wire objects of many predictions (see ``Client.log_predictions``)."""
    score_map = _scores_map(scores_cols)
    needed = [id_col, output_col, "scores", "features", "version", "instance"]
    needed += [c for c in (score_col, timestamp_col) if c]
    needed += list(score_map.values()) + list(feature_cols or ())
    _check_columns(data, [id_col, output_col] + list(score_map.values()) + list(feature_cols or ()))
    out = []
    for index, row in enumerate(rows(data, needed)):
        try:
            scores: Optional[Mapping[Any, Any]] = (
                {cls: row[col] for cls, col in score_map.items()} if score_map else row.get("scores")
            )
            features: Optional[Mapping[str, Any]] = (
                {name: row[name] for name in feature_cols} if feature_cols else row.get("features")
            )
            out.append(
                inputs.prediction(
                    model,
                    _required(row, id_col),
                    _required(row, output_col),
                    score=_optional(row, score_col),
                    scores=scores,
                    features=features,
                    version=_optional(row, "version") or version,
                    instance=_optional(row, "instance") or instance,
                    timestamp=_optional(row, timestamp_col),
                )
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise type(exc)(f"row {index}: {_text(exc)}") from exc
    return out


def labels(
    model: str,
    data: Any,
    *,
    id_col: str,
    value_col: str,
    timestamp_col: Optional[str],
) -> List[Dict[str, Any]]:
    """The wire objects of many labels (see ``Client.log_labels``)."""
    _check_columns(data, [id_col, value_col])
    needed = [id_col, value_col] + ([timestamp_col] if timestamp_col else [])
    out = []
    for index, row in enumerate(rows(data, needed)):
        try:
            out.append(
                inputs.label(
                    model,
                    _required(row, id_col),
                    _required(row, value_col),
                    timestamp=_optional(row, timestamp_col),
                )
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise type(exc)(f"row {index}: {_text(exc)}") from exc
    return out


def _scores_map(scores_cols: ScoresColumns) -> Dict[str, str]:
    if scores_cols is None:
        return {}
    if isinstance(scores_cols, str):
        raise TypeError("scores_cols: expected a mapping of class to column or a list of columns, not one string")
    if isinstance(scores_cols, Mapping):
        return {str(cls): col for cls, col in scores_cols.items()}
    return {str(col): col for col in scores_cols}


def _check_columns(data: Any, required: Sequence[str]) -> None:
    if _is_dataframe(data):
        missing = [c for c in required if c not in data.columns]
        if missing:
            raise KeyError(f"the DataFrame has no column {', '.join(map(repr, missing))} (columns: {list(data.columns)})")


def _required(row: Mapping[str, Any], key: str) -> Any:
    if key not in row:
        raise KeyError(f"no {key!r}")
    value = row[key]
    if value is None or _missing(value):
        raise ValueError(f"{key!r} is missing (None or NaN)")
    return value


def _optional(row: Mapping[str, Any], key: Optional[str]) -> Any:
    if key is None:
        return None
    value = row.get(key)
    return None if value is None or _missing(value) else value


def _missing(value: Any) -> bool:
    if isinstance(value, float):
        return math.isnan(value)
    return type(value).__name__ in ("NAType", "NaTType")


def _is_dataframe(data: Any) -> bool:
    module = type(data).__module__
    return module.startswith("pandas") and type(data).__name__ == "DataFrame"


def _text(exc: Exception) -> str:
    return exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
