"""Get a Neptune Analytics export task (neptune-graph GetExportTask).

Direct event: ``{"taskIdentifier": "t-..."}``; returns ``{"job": <normalised>, "payload": <task>}``.
Watch event: ``{"watch": {...}}``; returns ``{"watch": {...}}``.
"""

from typing import Any

from .. import neptune, normalize
from ..observability import entrypoint
from ._status import advance


@entrypoint
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    if isinstance(event, dict) and "watch" in event:
        return advance(event)
    from ..request import TaskEvent, parse  # direct events only: polls skip the pydantic import

    ev = parse(TaskEvent, event, "event")
    raw = neptune.get_export_task(ev.taskIdentifier)
    return {"job": normalize.export_status(raw), "payload": raw}
