"""modelwatch-client: send predictions, labels and metrics to ``modelwatch serve``.

>>> from modelwatch_client import Client
>>> with Client("http://127.0.0.1:8780", version="2.1.0") as mw:    # doctest: +SKIP
...     mw.log_prediction("fraud", "req-42", "fraud", score=0.91, features={"age": 42})
...     mw.log_label("fraud", "req-42", "ok")
...     mw.log_metrics("fraud", {"latency_ms": 12.5})
"""

from .client import TOKEN_ENV, Client
from .errors import (
    AuthError,
    BatchRejected,
    BufferFull,
    ClientClosed,
    FailedBatch,
    FlushTimeout,
    ModelwatchError,
    RetriesExhausted,
    ServerError,
)
from .version import __version__

__all__ = [
    "__version__",
    "TOKEN_ENV",
    "AuthError",
    "BatchRejected",
    "BufferFull",
    "Client",
    "ClientClosed",
    "FailedBatch",
    "FlushTimeout",
    "ModelwatchError",
    "RetriesExhausted",
    "ServerError",
]
