"""What the three start handlers share (start requests, docs/CONTRACT.md section 4)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from ..observability import logger, metrics
from ..settings import settings
from ..start import call_start, start_job, validate


def run(event: Any, kind: str) -> dict[str, Any]:
    """Watch mode starts the watch's job; a direct event starts the job its parameters describe.

    Watch event: ``{"watch": {...}, "retryCount": $$.State.RetryCount}``; returns ``{"watch"}``.
    Direct event: the operation's parameters (as in a start request, without ``kind``); returns
    ``{"job": {"kind", "id"}}`` (a refusal raises its named error).
    """
    if isinstance(event, dict) and "watch" in event:
        retry = event.get("retryCount")
        w = start_job(event["watch"], retry_count=retry if isinstance(retry, int) else 0)
        metrics.add_metric(name="Starts", unit=MetricUnit.Count, value=1)
        logger.info("start", extra={"job": w["job"], "started": w.get("started"), "next": w["next"]})
        return {"watch": w}
    if not isinstance(event, dict):
        from ..errors import InvalidRequestError

        raise InvalidRequestError(f"event must be a JSON object, got {type(event).__name__}")
    spec = validate({**event, "kind": kind}, settings())
    return {"job": {"kind": kind, "id": call_start(kind, spec.params)}}
