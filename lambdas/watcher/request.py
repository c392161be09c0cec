"""Input models: the watch request (docs/CONTRACT.md section 1) and the handlers' direct events.

Parsing fails fast with :class:`~watcher.errors.InvalidRequestError` and a message that
names the field, before any Neptune call is made.
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    ValidationError,
    model_validator,
)

from .errors import InvalidRequestError

LOAD_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$")
TASK_ID = re.compile(r"^t-[a-z0-9]{10}$")
MAX_CONTEXT_BYTES = 8192
MAX_CORRELATION_ID = 256

PositiveInt = Annotated[StrictInt, Field(ge=1)]


def check_id(kind: str, job_id: Any) -> str:
    """The job id if it is well-formed for ``kind``; InvalidRequestError otherwise."""
    if not isinstance(job_id, str) or not job_id:
        raise InvalidRequestError(f"job.id must be a non-empty string, got {job_id!r}")
    if kind == "loader":
        if not LOAD_ID.match(job_id):
            raise InvalidRequestError(
                f"job.id {job_id!r} is not a loader loadId (letters, digits, '-' and '_', at most 128)"
            )
    elif not TASK_ID.match(job_id):
        raise InvalidRequestError(f"job.id {job_id!r} does not match the {kind} task id pattern t-[a-z0-9]{{10}}")
    return job_id


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class JobRef(_Strict):
    kind: Literal["loader", "import", "export"]
    id: str

    @model_validator(mode="after")
    def _id_pattern(self) -> JobRef:
        check_id(self.kind, self.id)
        return self


class WatchRequest(_Strict):
    job: JobRef
    timeoutSeconds: PositiveInt | None = None
    cancelOnTimeout: StrictBool | None = None
    maxErrors: Annotated[StrictInt, Field(ge=0)] | None = None
    correlationId: Annotated[str, Field(min_length=1, max_length=MAX_CORRELATION_ID)] | None = None
    taskToken: Annotated[str, Field(min_length=1, max_length=1024)] | None = None
    context: Any = None

    @model_validator(mode="after")
    def _context_size(self) -> WatchRequest:
        size = len(json.dumps(self.context, separators=(",", ":")).encode())
        if size > MAX_CONTEXT_BYTES:
            raise InvalidRequestError(f"context is {size} bytes; at most {MAX_CONTEXT_BYTES} are echoed back")
        return self


class LoaderStatusEvent(_Strict):
    """Direct event of the get-loader-job-status handler, exactly the API's inputs."""

    loadId: str
    details: StrictBool = False
    errors: StrictBool = False
    page: PositiveInt | None = None
    errorsPerPage: PositiveInt | None = None

    @model_validator(mode="after")
    def _check(self) -> LoaderStatusEvent:
        check_id("loader", self.loadId)
        if not self.errors and (self.page is not None or self.errorsPerPage is not None):
            raise InvalidRequestError("page and errorsPerPage are only valid with errors=true")
        return self

    def api_params(self) -> dict[str, Any]:
        params: dict[str, Any] = {"loadId": self.loadId}
        if self.details:
            params["details"] = True
        if self.errors:
            params["errors"] = True
            params["page"] = self.page or 1
            params["errorsPerPage"] = self.errorsPerPage or 10
        return params


class LoaderCancelEvent(_Strict):
    loadId: str

    @model_validator(mode="after")
    def _check(self) -> LoaderCancelEvent:
        check_id("loader", self.loadId)
        return self


class TaskEvent(_Strict):
    """Direct event of the Analytics handlers: the task identifier."""

    taskIdentifier: str

    @model_validator(mode="after")
    def _check(self) -> TaskEvent:
        check_id("import", self.taskIdentifier)
        return self


def _describe(err: ValidationError) -> str:
    parts = []
    for item in err.errors():
        where = ".".join(str(p) for p in item.get("loc", ())) or "request"
        msg = item.get("msg", "invalid")
        if item.get("type") == "extra_forbidden":
            msg = "unknown field"
        elif item.get("type") == "missing":
            msg = "required"
        parts.append(f"{where}: {msg}")
    return "; ".join(parts)


M = TypeVar("M", bound=BaseModel)


def parse(model: type[M], data: Any, what: str = "request") -> M:
    """``data`` as ``model``, or InvalidRequestError naming every bad field."""
    if not isinstance(data, dict):
        raise InvalidRequestError(f"{what} must be a JSON object, got {type(data).__name__}")
    try:
        return model.model_validate(data)
    except InvalidRequestError:
        raise
    except ValidationError as err:
        # A validator that raised InvalidRequestError is wrapped by pydantic; unwrap it.
        for item in err.errors():
            ctx_err = (item.get("ctx") or {}).get("error")
            if isinstance(ctx_err, InvalidRequestError):
                raise ctx_err from None
        raise InvalidRequestError(f"invalid {what}: {_describe(err)}") from None
