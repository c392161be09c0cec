"""Validate a watch request and make the watch state (no Neptune call); take the job's lock.

Event: ``{"request": <watch request, continuation reference or recovery>, "functions": {kind:
{status, cancel, start?}}, "lockTable": "...", "executionId": "..."}``; returns ``{"watch": {...}}``
or raises InvalidRequestError. With ``{"await": {"watch": ...}, "token": ...}`` (the AwaitOwner
state, ``.waitForTaskToken``) it registers the token with the job's owner instead.
"""

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from ..observability import entrypoint, logger, metrics
from ..settings import settings
from ..watch import await_owner, prepare


@entrypoint
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    if isinstance(event, dict) and isinstance(event.get("await"), dict):
        await_owner({**event["await"], "token": event.get("token"), "lockTable": event.get("lockTable")},
                    execution_id=event.get("executionId"))
        return {}
    watch = prepare(event, execution_id=event.get("executionId"), cfg=settings())
    if "job" in watch:
        metrics.add_metric(name="Continuations" if watch["generation"] else "Watches", unit=MetricUnit.Count, value=1)
    logger.info("watch prepared", extra={"job": watch.get("job"), "role": watch.get("role"), "next": watch.get("next")})
    return {"watch": watch}
