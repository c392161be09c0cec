"""Start a export job (neptune-graph StartExportTask), then hand over to the polls.

Watch event: ``{"watch": {...}, "retryCount": n}`` from the state machine's StartJob state;
returns ``{"watch": {...}}`` with ``job.id``, ``started`` and ``next`` (POLL, or FINISH when refused).
Direct event: the StartExportTask parameters; returns ``{"job": {"kind", "id"}}``.
"""

from typing import Any

from ..observability import entrypoint
from ._start import run


@entrypoint
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return run(event, "export")
