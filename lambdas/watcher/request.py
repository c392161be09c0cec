"""Input models: the watch request (docs/CONTRACT.md section 1) and the handlers' direct events.

Parsing fails fast with :class:`~watcher.errors.InvalidRequestError` and a message that
names the field, before any Neptune call is made.
"""

from __future__ import annotations

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
from .limits import (
    MAX_CONTEXT_BYTES,
    MAX_CORRELATION_ID,
    MAX_MESSAGE,
    MAX_SHOWN,
    MAX_TASK_TOKEN,
    json_bytes,
    shown,
)

# Ids are checked with fullmatch: ``$`` in a ``re.match`` pattern also accepts a trailing "\n".
LOAD_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,127}")
TASK_ID = re.compile(r"t-[a-z0-9]{10}")

PositiveInt = Annotated[StrictInt, Field(ge=1)]


def check_id(kind: str, job_id: Any, field: str = "job.id") -> str:
    """The job id if it is well-formed for ``kind``; InvalidRequestError otherwise."""
    if not isinstance(job_id, str) or not job_id:
        raise InvalidRequestError(f"{field} must be a non-empty string, got {shown(job_id)}")
    if kind == "loader":
        if not LOAD_ID.fullmatch(job_id):
            raise InvalidRequestError(
                f"{field} {shown(job_id)} is not a loader loadId (letters, digits, '-' and '_', at most 128)"
            )
    elif not TASK_ID.fullmatch(job_id):
        raise InvalidRequestError(
            f"{field} {shown(job_id)} does not match the {kind} task id pattern t-[a-z0-9]{{10}}"
        )
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
    taskToken: Annotated[str, Field(min_length=1, max_length=MAX_TASK_TOKEN)] | None = None
    context: Any = None

    @model_validator(mode="after")
    def _context_size(self) -> WatchRequest:
        try:
            size = json_bytes(self.context)
        except (ValueError, TypeError, RecursionError) as err:
            raise InvalidRequestError(
                f"context cannot be echoed back as JSON: {type(err).__name__}"
            ) from None
        if size > MAX_CONTEXT_BYTES:
            raise InvalidRequestError(
                f"context is {size} bytes as compact UTF-8 JSON; at most {MAX_CONTEXT_BYTES} are echoed back"
            )
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
        check_id("loader", self.loadId, "loadId")
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
        check_id("loader", self.loadId, "loadId")
        return self


class TaskEvent(_Strict):
    """Direct event of the Analytics handlers: the task identifier."""

    taskIdentifier: str

    @model_validator(mode="after")
    def _check(self) -> TaskEvent:
        check_id("import", self.taskIdentifier, "taskIdentifier")
        return self


def _where(loc: Any) -> str:
    parts = [str(p) for p in loc or ()]
    return ".".join(p if len(p) <= MAX_SHOWN else shown(p) for p in parts) or "request"


def _describe(err: ValidationError) -> str:
    parts = []
    for item in err.errors(include_url=False, include_input=False):
        msg = item.get("msg", "invalid")
        if item.get("type") == "extra_forbidden":
            msg = "unknown field"
        elif item.get("type") == "missing":
            msg = "required"
        parts.append(f"{_where(item.get('loc'))}: {msg}")
    return "; ".join(parts)


def _bounded(err: InvalidRequestError) -> InvalidRequestError:
    """``err`` with its message cut to MAX_MESSAGE characters (it travels in the state machine's state)."""
    if len(err.message) > MAX_MESSAGE:
        err = InvalidRequestError(
            err.message[: MAX_MESSAGE - 20] + " ... (and more)", code=err.code
        )
    return err


M = TypeVar("M", bound=BaseModel)


def parse(model: type[M], data: Any, what: str = "request") -> M:
    """``data`` as ``model``, or InvalidRequestError naming every bad field."""
    if not isinstance(data, dict):
        raise InvalidRequestError(f"{what} must be a JSON object, got {type(data).__name__}")
    try:
        return model.model_validate(data)
    except InvalidRequestError as err:
        raise _bounded(err) from None
    except ValidationError as err:
        # A validator that raised InvalidRequestError is wrapped by pydantic; unwrap it.
        for item in err.errors(include_url=False, include_input=False):
            ctx_err = (item.get("ctx") or {}).get("error")
            if isinstance(ctx_err, InvalidRequestError):
                raise _bounded(ctx_err) from None
        raise _bounded(InvalidRequestError(f"invalid {what}: {_describe(err)}")) from None
