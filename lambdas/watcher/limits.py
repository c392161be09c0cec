"""Size limits of a watch request, and helpers to measure and quote input within them.

No third-party import here: ``outcome.py`` (every watch's last step) uses these without paying
for pydantic.

Every string a request carries is bounded, so that any request up to Step Functions' 256 KB
execution input is answered with an INVALID_REQUEST outcome naming the oversized field, never
with ``States.DataLimitExceeded``: nothing the request carries is copied into the state
machine's state (error messages, the outcome, the Fail cause) beyond these bounds.
"""

from __future__ import annotations

import json
from typing import Any

MAX_CONTEXT_BYTES = 8192  # UTF-8 bytes of the compact JSON, as it travels in the outcome
MAX_CORRELATION_ID = 256
# Step Functions task tokens are 1..2,048 characters: botocore's stepfunctions model, shape
# TaskToken (min 1, max 2048), used by SendTaskSuccess / SendTaskFailure.
MAX_TASK_TOKEN = 2048
MAX_ECHOED_JOB_FIELD = 256  # bytes of an invalid request's job.kind / job.id echoed as given
MAX_SHOWN = 64  # characters of a rejected value quoted back in an error message
MAX_MESSAGE = 1000  # an InvalidRequestError message travels in the state: keep it short


def json_bytes(value: Any) -> int:
    """Size of ``value`` as it is carried: compact JSON, UTF-8, non-ASCII characters unescaped.

    Raises ValueError (also for a lone surrogate or an int too long to print), TypeError or
    RecursionError for a value that cannot be carried as JSON.
    """
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())


def fits(value: Any, limit: int) -> bool:
    """True when ``value`` is JSON of at most ``limit`` bytes (see :func:`json_bytes`)."""
    try:
        return json_bytes(value) <= limit
    except (ValueError, TypeError, RecursionError):
        return False


def shown(value: Any) -> str:
    """A short description of ``value`` (at most MAX_SHOWN characters) for an error message."""
    if isinstance(value, dict | list):
        return f"<{type(value).__name__} of {len(value)}>"
    try:
        text = repr(value)
    except (ValueError, RecursionError):  # e.g. an int with more digits than str() allows
        text = f"<{type(value).__name__}>"
    return text if len(text) <= MAX_SHOWN else f"{text[: MAX_SHOWN - 16]}... ({len(text)} chars)"
