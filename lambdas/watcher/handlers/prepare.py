"""Validate a watch request and make the watch state (no Neptune call).

Event: ``{"request": <watch request or continuation>, "functions": {kind: {status, cancel}},
"executionId": "..."}``; returns ``{"watch": {...}}`` or raises InvalidRequestError.
"""

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from ..observability import entrypoint, logger, metrics
from ..settings import settings
from ..watch import prepare


@entrypoint
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    watch = prepare(event, execution_id=event.get("executionId"), cfg=settings())
    metrics.add_metric(name="Continuations" if watch["generation"] else "Watches", unit=MetricUnit.Count, value=1)
    logger.info("watch prepared", extra={"job": watch["job"], "generation": watch["generation"]})
    return {"watch": watch}
