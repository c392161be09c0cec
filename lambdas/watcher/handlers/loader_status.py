"""Get a Neptune bulk load's status (neptunedata GetLoaderJobStatus).

Direct event: ``{"loadId", "details"?, "errors"?, "page"?, "errorsPerPage"?}`` exactly as the
API; returns ``{"job": <normalised status>, "payload": <the service's payload>}``.
Watch event: ``{"watch": {...}}`` from the state machine; returns ``{"watch": {...}}``.
"""

from typing import Any

from .. import neptune, normalize
from ..observability import entrypoint
from ._status import advance


@entrypoint
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    if isinstance(event, dict) and "watch" in event:
        return advance(event)
    from ..request import (  # direct events only: polls skip the pydantic import
        LoaderStatusEvent,
        parse,
    )

    ev = parse(LoaderStatusEvent, event, "event")
    raw = neptune.get_loader_job_status(**ev.api_params())
    return {"job": normalize.loader_status(ev.loadId, raw), "payload": raw.get("payload")}
