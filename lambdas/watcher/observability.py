"""Powertools Logger, Tracer and Metrics, one of each per process.

They are configured by the ``POWERTOOLS_*`` environment variables the infrastructure sets
(service name, log level, metrics namespace); the defaults below only keep a bare local run
working.

The Tracer is built on the first invocation, not at import: creating it loads the X-Ray SDK
(about 0.17 s here), which is most of a handler's import time. A traced cold start still pays
that once; the import itself stays close to ``import boto3`` (see docs/BENCHMARKS.md).
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Metrics

from .names import METRICS_NAMESPACE, SERVICE_NAME

SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME", SERVICE_NAME)

logger = Logger(service=SERVICE)
metrics = Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", METRICS_NAMESPACE), service=SERVICE)

Handler = Callable[[dict[str, Any], Any], Any]

_tracer: Any = None
_tracer_lock = threading.Lock()


def tracer() -> Any:
    """The process's Powertools Tracer (disabled outside Lambda), created on first use."""
    global _tracer
    with _tracer_lock:
        if _tracer is None:
            from aws_lambda_powertools import Tracer

            _tracer = Tracer(service=SERVICE)
        return _tracer


def entrypoint(fn: Handler) -> Handler:
    """The three Powertools decorators every handler wears, in the documented order."""
    traced: list[Handler] = []

    @functools.wraps(fn)
    def call(event: dict[str, Any], context: Any) -> Any:
        if not traced:
            traced.append(tracer().capture_lambda_handler(fn, capture_response=False))
        return traced[0](event, context)

    return logger.inject_lambda_context(correlation_id_path="watch.correlationId", clear_state=True)(
        metrics.log_metrics(call, capture_cold_start_metric=True)
    )
