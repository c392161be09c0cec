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
from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.metrics.functions import is_metrics_disabled

from .names import METRICS_NAMESPACE, SERVICE_NAME

SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME", SERVICE_NAME)

logger = Logger(service=SERVICE)
metrics = Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", METRICS_NAMESPACE), service=SERVICE)

def count_by(name: str, dimension: str, value: str) -> None:
    """A count with its own dimension, published at once.

    ``metrics.add_dimension`` would put the dimension on every metric of the invocation, and the
    dimension set is shared by the process (Powertools warns when it is added twice before a
    flush); ``single_metric`` is Powertools' way to give one metric its own dimensions. It
    prints even with metrics disabled, so it is skipped then.
    """
    if is_metrics_disabled():
        return
    with single_metric(
        name=name, unit=MetricUnit.Count, value=1, namespace=metrics.namespace, default_dimensions={"service": SERVICE}
    ) as metric:
        metric.add_dimension(name=dimension, value=value)


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
        try:
            return traced[0](event, context)
        except Exception:
            # Every invocation publishes at least one metric: a failed one counts here (and
            # log_metrics does not warn about an empty flush).
            metrics.add_metric(name="HandlerErrors", unit=MetricUnit.Count, value=1)
            raise

    published = metrics.log_metrics(call, capture_cold_start_metric=True)

    @functools.wraps(fn)
    def invoke(event: dict[str, Any], context: Any) -> Any:
        if is_metrics_disabled():
            # Powertools only clears its (process-wide) metric set when it publishes it, so with
            # metrics disabled the set would grow across invocations, print itself at 100 values
            # and then warn about an empty flush. Nothing is published: drop them per invocation.
            try:
                return call(event, context)
            finally:
                metrics.clear_metrics()
        return published(event, context)

    return logger.inject_lambda_context(correlation_id_path="watch.correlationId", clear_state=True)(invoke)
