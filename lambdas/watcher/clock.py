"""The one clock every handler reads.

In Lambda it is the wall clock. The local runtime swaps in its virtual clock with
:func:`use` so that a day-long load is watched in seconds, and the handlers still see
a coherent "now".
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

_wall: Callable[[], float] = lambda: datetime.now(UTC).timestamp()  # noqa: E731
_source: Callable[[], float] = _wall


def epoch() -> float:
    """Current time as unix seconds."""
    return _source()


def now() -> datetime:
    """Current time as an aware UTC datetime."""
    return datetime.fromtimestamp(_source(), UTC)


def iso(ts: float | None = None) -> str:
    """Unix seconds (default: now) as an ISO-8601 UTC string with a Z suffix."""
    value = epoch() if ts is None else ts
    return datetime.fromtimestamp(value, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text: str) -> float:
    """An ISO-8601 timestamp (as Step Functions and this module write them) as unix seconds."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def use(source: Callable[[], float] | None) -> None:
    """Read time from ``source`` (unix seconds); ``None`` restores the wall clock."""
    global _source
    _source = source or _wall
