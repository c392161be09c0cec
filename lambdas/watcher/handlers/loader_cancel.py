"""Cancel a loader job (neptunedata CancelLoaderJob).

Direct event: ``{"loadId"}``; watch event: ``{"watch": {...}}`` (cancel on timeout).
"""

from typing import Any

from .. import neptune
from ..observability import entrypoint
from ._cancel import run


@entrypoint
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return run(event, "loader", neptune.cancel_loader_job)
