"""Deployment configuration, read once from the environment the infrastructure sets."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import cache


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    return int(raw) if raw not in (None, "") else default


def _float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    return float(raw) if raw not in (None, "") else default


def _bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw in (None, ""):
        return default
    return raw.strip().lower() in ("1", "true", "yes", "on")


def _list(name: str) -> tuple[str, ...]:
    raw = os.environ.get(name, "")
    return tuple(part.strip() for part in raw.split(",") if part.strip())


@dataclass(frozen=True)
class Settings:
    # Clients
    neptune_endpoint: str | None = None  # https://<cluster-endpoint>:8182 (writer)
    graph_endpoint: str | None = None  # override of the regional neptune-graph endpoint
    connect_timeout: float = 5.0
    read_timeout: float = 20.0
    allowed_graphs: tuple[str, ...] = ()  # empty or "*" means any graph
    # Defaults of a watch request
    default_timeout_seconds: int = 86400
    default_cancel_on_timeout: bool = False
    default_max_errors: int = 10
    max_timeout_seconds: int = 360 * 86400
    max_max_errors: int = 1000
    # Poll policy bounds
    min_wait_seconds: int = 12
    max_wait_seconds: int = 175
    wait_fraction: float = 0.05
    # Continue-as-new thresholds (history stays far below 25,000 events)
    max_polls_per_execution: int = 1000
    max_seconds_per_execution: int = 86400
    # How many consecutive polls an unknown status is tolerated before the watch gives up
    unknown_status_max_polls: int = 5
    # How long an ended watch answers later requests for its job from its record (lock.py)
    ended_window_seconds: int = 900
    extra: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls) -> Settings:
        d = cls()
        return cls(
            neptune_endpoint=os.environ.get("NEPTUNE_ENDPOINT") or None,
            graph_endpoint=os.environ.get("NEPTUNE_GRAPH_ENDPOINT") or None,
            connect_timeout=_float("NEPTUNE_CONNECT_TIMEOUT", d.connect_timeout),
            read_timeout=_float("NEPTUNE_READ_TIMEOUT", d.read_timeout),
            allowed_graphs=_list("ALLOWED_GRAPH_IDS"),
            default_timeout_seconds=_int("DEFAULT_TIMEOUT_SECONDS", d.default_timeout_seconds),
            default_cancel_on_timeout=_bool("DEFAULT_CANCEL_ON_TIMEOUT", d.default_cancel_on_timeout),
            default_max_errors=_int("DEFAULT_MAX_ERRORS", d.default_max_errors),
            min_wait_seconds=_int("MIN_WAIT_SECONDS", d.min_wait_seconds),
            max_wait_seconds=_int("MAX_WAIT_SECONDS", d.max_wait_seconds),
            wait_fraction=_float("WAIT_FRACTION", d.wait_fraction),
            max_polls_per_execution=_int("MAX_POLLS_PER_EXECUTION", d.max_polls_per_execution),
            max_seconds_per_execution=_int("MAX_SECONDS_PER_EXECUTION", d.max_seconds_per_execution),
            unknown_status_max_polls=_int("UNKNOWN_STATUS_MAX_POLLS", d.unknown_status_max_polls),
            ended_window_seconds=_int("ENDED_WINDOW_SECONDS", d.ended_window_seconds),
        )

    def graph_allowed(self, graph_id: str | None) -> bool:
        if not self.allowed_graphs or "*" in self.allowed_graphs:
            return True
        return graph_id in self.allowed_graphs


@cache
def settings() -> Settings:
    """The settings of this process, read on first use."""
    return Settings.from_env()
