"""Deployment configuration, read once from the environment the infrastructure sets."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import cache


def _bool(raw: str) -> bool:
    return raw.strip().lower() in ("1", "true", "yes", "on")


def _list(raw: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in raw.split(",") if part.strip())


@dataclass(frozen=True)
class Settings:
    # Clients
    neptune_endpoint: str | None = None  # https://<cluster-endpoint>:8182 (writer)
    graph_endpoint: str | None = None  # override of the regional neptune-graph endpoint
    connect_timeout: float = 5.0
    read_timeout: float = 20.0
    allowed_graph_ids: tuple[str, ...] = ()  # empty or "*" means any graph
    # Start requests (start.py): the roles an Analytics start may pass, checked when the deployment says so
    check_pass_roles: bool = False
    pass_role_arns: tuple[str, ...] = ()
    # Defaults of a watch request
    default_timeout_seconds: int = 86400
    default_cancel_on_timeout: bool = False
    default_max_errors: int = 10
    max_timeout_seconds: int = 360 * 86400
    max_max_errors: int = 1000
    # Poll policy bounds
    min_wait_seconds: int = 14
    max_wait_seconds: int = 179
    wait_fraction: float = 0.05
    # Continue-as-new thresholds (history stays far below 25,000 events)
    max_polls_per_execution: int = 1000
    max_seconds_per_execution: int = 86400
    # How many consecutive polls an unknown status (or an unreadable answer) is tolerated
    # before the watch gives up
    unknown_status_max_polls: int = 5
    # How long an ended watch answers later requests for its job from its record (lock.py)
    ended_window_seconds: int = 900
    # How long a job that met an error and is rolling back (Analytics ROLLING_BACK,
    # ERROR_ENCOUNTERED, ERROR_ENCOUNTERED_ROLLING_BACK) is watched for its final status before
    # the outcome is FAILED without it
    rollback_max_seconds: int = 6 * 3600
    extra: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls) -> Settings:
        """The settings of ``ENV``'s variables; an unset or empty variable keeps the default."""
        d = cls()
        values: dict[str, object] = {}
        for name, env in ENV.items():
            raw = os.environ.get(env)
            if raw in (None, ""):
                continue
            default = getattr(d, name)
            if isinstance(default, bool):
                values[name] = _bool(raw)
            elif isinstance(default, tuple):
                values[name] = _list(raw)
            elif isinstance(default, int):
                values[name] = int(raw)
            elif isinstance(default, float):
                values[name] = float(raw)
            else:
                values[name] = raw
        return cls(**values)  # type: ignore[arg-type]

    def graph_allowed(self, graph_id: str | None) -> bool:
        if not self.allowed_graph_ids or "*" in self.allowed_graph_ids:
            return True
        return graph_id in self.allowed_graph_ids


# Settings field -> the environment variable the deployment sets it with (the one place of
# these names: the CDK construct and the local runtime build their environments from it).
ENV: dict[str, str] = {
    "neptune_endpoint": "NEPTUNE_ENDPOINT",
    "graph_endpoint": "NEPTUNE_GRAPH_ENDPOINT",
    "connect_timeout": "NEPTUNE_CONNECT_TIMEOUT",
    "read_timeout": "NEPTUNE_READ_TIMEOUT",
    "allowed_graph_ids": "ALLOWED_GRAPH_IDS",
    "check_pass_roles": "CHECK_PASS_ROLES",
    "pass_role_arns": "PASS_ROLE_ARNS",
    "default_timeout_seconds": "DEFAULT_TIMEOUT_SECONDS",
    "default_cancel_on_timeout": "DEFAULT_CANCEL_ON_TIMEOUT",
    "default_max_errors": "DEFAULT_MAX_ERRORS",
    "min_wait_seconds": "MIN_WAIT_SECONDS",
    "max_wait_seconds": "MAX_WAIT_SECONDS",
    "wait_fraction": "WAIT_FRACTION",
    "max_polls_per_execution": "MAX_POLLS_PER_EXECUTION",
    "max_seconds_per_execution": "MAX_SECONDS_PER_EXECUTION",
    "unknown_status_max_polls": "UNKNOWN_STATUS_MAX_POLLS",
    "ended_window_seconds": "ENDED_WINDOW_SECONDS",
    "rollback_max_seconds": "ROLLBACK_MAX_SECONDS",
}


def env_value(value: object) -> str:
    """How a setting's value is written into its environment variable (read back by from_env)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple | list):
        return ",".join(str(v) for v in value)
    if isinstance(value, float):
        return repr(value)
    return str(value)


@cache
def settings() -> Settings:
    """The settings of this process, read on first use."""
    return Settings.from_env()
