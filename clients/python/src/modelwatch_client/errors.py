"""The exceptions the client raises, and the record of a batch the server never took."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Sequence


class ModelwatchError(Exception):
    """The base of every error this package raises about the server or its buffer."""


class BufferFull(ModelwatchError):
    """The buffer had no room for an input (``on_full="raise"``, or a block that timed out).

    ``accepted`` is how many inputs of the call were taken before it was raised; for a call
    that logs one input, or for ``on_full="raise"`` (which takes all of a call's inputs or
    none), it is 0.
    """

    def __init__(self, message: str, accepted: int = 0) -> None:
        super().__init__(message)
        self.accepted = accepted


class FlushTimeout(ModelwatchError, TimeoutError):
    """``flush(timeout)`` or ``close(timeout)`` ran out of time with inputs still unsent.

    ``unsent`` is how many inputs logged before the call were neither acknowledged nor failed.
    """

    def __init__(self, message: str, unsent: int) -> None:
        super().__init__(message)
        self.unsent = unsent


class ClientClosed(ModelwatchError):
    """An input was logged after ``close()``."""


class ServerError(ModelwatchError):
    """The server refused a batch for good (it is not retried).

    ``status`` is the HTTP status (``None`` when the server never answered: the retries ran
    out), ``body`` the server's JSON answer when it sent one, and ``errors`` its list of
    problems (each with ``index``, ``line``, ``field`` and ``message``), indexes counted from
    the start of the batch.
    """

    def __init__(
        self,
        message: str,
        status: Optional[int] = None,
        body: Optional[Mapping[str, Any]] = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body: Mapping[str, Any] = body if body is not None else {}
        raw_errors = self.body.get("errors")
        self.errors: List[Mapping[str, Any]] = (
            [e for e in raw_errors if isinstance(e, Mapping)] if isinstance(raw_errors, list) else []
        )


class BatchRejected(ServerError):
    """The server answered 400, 413, 415 or 422: the batch is invalid as sent; nothing of it is stored."""


class AuthError(ServerError):
    """The server answered 401 (no or unknown token) or 403 (the token lacks the ``ingest`` scope)."""


class RetriesExhausted(ServerError):
    """The server stayed unreachable or overloaded for longer than ``retry_deadline``."""


@dataclass
class FailedBatch:
    """A batch that failed for good: its inputs (wire objects, in the order logged) and why.

    Nothing of a failed batch is stored by the server (a batch is all-or-nothing), so its
    ``inputs`` may be fixed and logged again with ``Client.log_inputs``.
    """

    inputs: Sequence[Dict[str, Any]]
    error: ModelwatchError
    reported: bool = field(default=False, repr=False)


def describe_errors(errors: Sequence[Mapping[str, Any]], limit: int = 10) -> str:
    """Render the server's problem list as ``input I (line L): FIELD: MESSAGE`` lines."""
    lines = []
    for problem in errors[:limit]:
        where = f"input {problem.get('index')}" if problem.get("index") is not None else "body"
        if problem.get("line") is not None:
            where += f" (line {problem.get('line')})"
        name = problem.get("field")
        text = problem.get("message", "")
        lines.append(f"{where}: {name}: {text}" if name else f"{where}: {text}")
    if len(errors) > limit:
        lines.append(f"... and {len(errors) - limit} more")
    return "\n".join(lines)
