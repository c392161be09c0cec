"""What the three status handlers share: watch mode, and the metrics they emit."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from ..observability import logger, metrics
from ..settings import settings
from ..watch import poll


def advance(event: dict[str, Any]) -> dict[str, Any]:
    """Watch mode: one poll of the watch in ``event["watch"]``."""
    w = poll(event["watch"], cfg=settings())
    metrics.add_metric(name="Polls", unit=MetricUnit.Count, value=1)
    logger.info(
        "polled",
        extra={"job": w["job"], "status": (w.get("last") or {}).get("status"), "next": w["next"], "wait": w["waitSeconds"]},
    )
    return {"watch": w}


def task_status(event: Any, get: Any, normalise: Any) -> dict[str, Any]:
    """An Analytics status handler: watch mode, or one direct ``{"taskIdentifier"}`` call."""
    if isinstance(event, dict) and "watch" in event:
        return advance(event)
    from ..request import TaskEvent, parse  # direct events only: polls skip the pydantic import

    raw = get(parse(TaskEvent, event, "event").taskIdentifier)
    return {"job": normalise(raw), "payload": raw}
