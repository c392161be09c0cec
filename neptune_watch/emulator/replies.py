"""HTTP replies of the emulator, including error bodies botocore maps to modeled exceptions.

botocore's rest-json parser takes an error's code from the ``x-amzn-ErrorType`` header if there
is one, else from the body's ``code`` (or ``Code``) field, and the message from the body's
``message``. The two Neptune APIs answer differently:

* neptunedata (the Neptune engine's HTTP endpoint) documents a JSON body
  ``{"code", "requestId", "detailedMessage"}`` and no error-type header: the code is picked up
  from the body, and botocore's ``Error.Message`` stays empty (the text is in
  ``detailedMessage``, which botocore copies into the parsed response as a modeled member).
* neptune-graph (a regular AWS control-plane API) sends ``x-amzn-ErrorType: <Name>`` and a body
  ``{"message", "reason"?}``.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from neptune_watch.scenario import service_errors

NEPTUNEDATA = "neptunedata"
NEPTUNE_GRAPH = "neptune-graph"

#: Code for requests that match no emulated operation (not a modeled error of either service).
UNKNOWN_OPERATION = "UnknownOperationException"

#: A valid ``reason`` member per neptune-graph error that has one (enums of the model).
_GRAPH_REASONS = {
    "ValidationException": "BAD_REQUEST",
    "ConflictException": "CONCURRENT_MODIFICATION",
}


@dataclass(frozen=True)
class Reply:
    """What the HTTP layer writes back; ``hold`` means: answer nothing, then drop the connection."""

    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    hold: bool = False


HOLD = Reply(status=0, hold=True)


def json_reply(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Reply:
    """A JSON reply."""
    all_headers = {"Content-Type": "application/json", **(headers or {})}
    return Reply(status=status, body=json.dumps(body).encode("utf-8"), headers=all_headers)


def error_status(service: str, code: str) -> int:
    """The HTTP status the botocore model gives a service's error."""
    return service_errors(service)[code]


def service_error(service: str, code: str, message: str) -> Reply:
    """A modeled error of ``service``, shaped as that service shapes its errors."""
    status = error_status(service, code)
    request_id = str(uuid.uuid4())
    if service == NEPTUNEDATA:
        body = {"code": code, "requestId": request_id, "detailedMessage": message}
        return json_reply(body, status)
    body = {"message": message}
    if code in _GRAPH_REASONS:
        body["reason"] = _GRAPH_REASONS[code]
    headers = {"x-amzn-ErrorType": code, "x-amzn-RequestId": request_id}
    return json_reply(body, status, headers)


def unknown_operation(method: str, path: str) -> Reply:
    """404 for a request no emulated operation matches, readable by either client."""
    request_id = str(uuid.uuid4())
    message = f"neptune-watch emulator: no operation for {method} {path}"
    body = {
        "code": UNKNOWN_OPERATION,
        "requestId": request_id,
        "detailedMessage": message,
        "message": message,
    }
    headers = {"x-amzn-ErrorType": UNKNOWN_OPERATION, "x-amzn-RequestId": request_id}
    return json_reply(body, 404, headers)
