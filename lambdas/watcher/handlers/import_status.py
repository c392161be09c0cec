"""Get a Neptune Analytics import task (neptune-graph GetImportTask).

Direct event: ``{"taskIdentifier": "t-..."}``; returns ``{"job": <normalised>, "payload": <task>}``.
Watch event: ``{"watch": {...}}``; returns ``{"watch": {...}}``.
"""

from typing import Any

from .. import neptune, normalize
from ..observability import entrypoint
from ._status import task_status


@entrypoint
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return task_status(event, neptune.get_import_task, normalize.import_status)
