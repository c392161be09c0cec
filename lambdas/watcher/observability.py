"""Powertools Logger, Tracer and Metrics, created once per process.

They are configured by the ``POWERTOOLS_*`` environment variables the infrastructure sets
(service name, log level, metrics namespace); the defaults below only keep a bare local
run working. Tracer disables itself outside Lambda.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer

SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME", "neptune-watch")

logger = Logger(service=SERVICE)
tracer = Tracer(service=SERVICE)
metrics = Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "NeptuneWatch"), service=SERVICE)

Handler = Callable[[dict[str, Any], Any], Any]


def entrypoint(fn: Handler) -> Handler:
    """The three Powertools decorators every handler wears, in the documented order."""

    @logger.inject_lambda_context(correlation_id_path="watch.correlationId", clear_state=True)
    @metrics.log_metrics(capture_cold_start_metric=True)
    @tracer.capture_lambda_handler(capture_response=False)
    @functools.wraps(fn)
    def wrapped(event: dict[str, Any], context: Any) -> Any:
        return fn(event, context)

    return wrapped
