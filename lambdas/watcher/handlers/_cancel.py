"""What the three cancel handlers share."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from ..observability import logger, metrics
from ..watch import cancel


def run(event: Any, kind: str, call: Callable[[str], dict[str, Any]]) -> dict[str, Any]:
    """Watch mode cancels the watched job; a direct event cancels the id it names."""
    if isinstance(event, dict) and "watch" in event:
        w = cancel(event["watch"])
        metrics.add_metric(name="Cancels", unit=MetricUnit.Count, value=1)
        logger.info("cancel requested", extra={"job": w["job"], "cancel": w["cancel"]})
        return {"watch": w}
    from ..request import LoaderCancelEvent, TaskEvent, parse  # direct events only

    if kind == "loader":
        job_id = parse(LoaderCancelEvent, event, "event").loadId
    else:
        job_id = parse(TaskEvent, event, "event").taskIdentifier
    response = call(job_id)
    return {"job": {"kind": kind, "id": job_id, "status": response.get("status")}, "payload": response}
