"""botocore clients for the two Neptune APIs, created once per process.

They are made with botocore directly, not through boto3: boto3's ``Session.client`` is a thin
layer over ``botocore.session.create_client``, and importing boto3 adds its own modules (the
resource layer; about 40 ms, a fifth of ``import boto3``, here) to every cold start of a status
or cancel handler (docs/BENCHMARKS.md, cold start).

Retries are switched off inside the client on purpose: botocore's ``standard`` mode honours
the model's ``retryable`` trait and would send a 404 BulkLoadIdNotFoundException three
times. Every call here is exactly one HTTP request; the state machine retries throttling,
timeouts and 5xx by error name, with backoff and jitter, where it is visible and costs no
Lambda time.
"""

from __future__ import annotations

import os
import threading
from typing import Any

import botocore.session
from botocore.config import Config
from botocore.utils import parse_timestamp

from .errors import ConfigurationError
from .settings import Settings, settings

_lock = threading.Lock()
_clients: dict[tuple[str, str | None], Any] = {}
_given: dict[str, Any] = {}

NO_RETRY = {"mode": "standard", "total_max_attempts": 1}

#: How many connections a client keeps open for reuse (unset: botocore's 10). A Lambda
#: environment runs one invocation at a time, so the deployment leaves it unset; the local
#: runtime runs hundreds of handlers in one process on these shared clients and sets it, so
#: that their calls reuse kept-alive connections instead of opening (and closing) one each.
POOL_ENV = "NEPTUNE_MAX_POOL_CONNECTIONS"


def client_config(cfg: Settings) -> Config:
    pool = os.environ.get(POOL_ENV)
    return Config(
        retries=NO_RETRY,  # type: ignore[arg-type]
        connect_timeout=cfg.connect_timeout,
        read_timeout=cfg.read_timeout,
        user_agent_extra="neptune-watch/0.1",
        **({"max_pool_connections": int(pool)} if pool else {}),
    )


def lenient_timestamp(value: Any) -> Any:
    """botocore's timestamp parser, except that a timestamp no calendar holds is kept as the
    service sent it rather than failing the whole answer (botocore raises ``ValueError: year
    ... is out of range`` for a start reported in microseconds). The status still reads; the
    poll policy then ignores the start (:func:`watcher.policy.plausible_start`)."""
    try:
        return parse_timestamp(value)
    except (ValueError, OverflowError, OSError):
        return value


def _make(service: str, endpoint: str | None, cfg: Settings) -> Any:
    kwargs: dict[str, Any] = {"config": client_config(cfg)}
    if endpoint:
        kwargs["endpoint_url"] = endpoint
    # One botocore session per client: sessions are not safe to share between threads.
    session = botocore.session.Session()
    session.get_component("response_parser_factory").set_parser_defaults(timestamp_parser=lenient_timestamp)
    return session.create_client(service, **kwargs)


def _cached(service: str, endpoint: str | None, cfg: Settings) -> Any:
    key = (service, endpoint)
    with _lock:
        if key not in _clients:
            _clients[key] = _make(service, endpoint, cfg)
        return _clients[key]


def loader_client(cfg: Settings | None = None) -> Any:
    """``neptunedata`` client for the cluster's writer endpoint (it has no default endpoint)."""
    if "neptunedata" in _given:
        return _given["neptunedata"]
    cfg = cfg or settings()
    if not cfg.neptune_endpoint:
        raise ConfigurationError(
            "NEPTUNE_ENDPOINT is not set: the loader API is only reachable at "
            "https://<cluster-endpoint>:8182 inside the cluster's VPC"
        )
    return _cached("neptunedata", cfg.neptune_endpoint, cfg)


def graph_client(cfg: Settings | None = None) -> Any:
    """``neptune-graph`` client on the regional endpoint (overridable for local runs)."""
    if "neptune-graph" in _given:
        return _given["neptune-graph"]
    cfg = cfg or settings()
    return _cached("neptune-graph", cfg.graph_endpoint, cfg)


def use(given: dict[str, Any]) -> None:
    """Make the calls use these clients (service name -> client), e.g. the CLI's, built from the
    user's profile and region; an empty dict goes back to the clients the settings describe."""
    with _lock:
        _given.clear()
        _given.update(given)


def reset() -> None:
    """Forget cached and given clients (tests and the local runtime change endpoints)."""
    with _lock:
        _clients.clear()
        _given.clear()
