"""Cancel a import job (neptune-graph CancelImportTask).

Direct event: ``{"taskIdentifier"}``; watch event: ``{"watch": {...}}`` (cancel on timeout).
"""

from typing import Any

from .. import neptune
from ..observability import entrypoint
from ._cancel import run


@entrypoint
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return run(event, "import", neptune.cancel_import_task)
