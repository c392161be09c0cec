"""Scenario files: what the local Neptune emulator plays back (docs/CONTRACT.md section 3).

A scenario names the watch request to run, the job(s) the emulated service knows (each a
timeline of statuses in virtual seconds) and the faults to inject into given calls::

    scenario = load_scenario("scenarios/loader-failed.json")
    for job in scenario.all_jobs():
        ...

Every model forbids unknown fields; any problem is reported as a :class:`ScenarioError` whose
message is one short sentence naming the file and the place, e.g.
``scenario.json: job.timeline[2].at: must be >= 0``.
"""

from __future__ import annotations

import json
import os
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

__all__ = [
    "DEFAULT_GRAPH_ID",
    "OPERATION_SERVICE",
    "TIMEOUT_FAULT",
    "ErrorSpec",
    "Expect",
    "FaultSpec",
    "JobKind",
    "JobSpec",
    "Operation",
    "Scenario",
    "ScenarioError",
    "TimelineEntry",
    "load_scenario",
    "normalise_error_name",
    "service_errors",
]

JobKind = Literal["loader", "import", "export"]
Operation = Literal[
    "GetLoaderJobStatus",
    "CancelLoaderJob",
    "ListLoaderJobs",
    "GetImportTask",
    "CancelImportTask",
    "GetExportTask",
    "CancelExportTask",
    # start requests (docs/CONTRACT.md section 4) and the list calls a retried start checks
    "StartLoaderJob",
    "StartImportTask",
    "ListImportTasks",
    "StartExportTask",
    "ListExportTasks",
]

#: botocore service name of each emulated operation.
OPERATION_SERVICE: dict[str, str] = {
    "GetLoaderJobStatus": "neptunedata",
    "CancelLoaderJob": "neptunedata",
    "ListLoaderJobs": "neptunedata",
    "GetImportTask": "neptune-graph",
    "CancelImportTask": "neptune-graph",
    "GetExportTask": "neptune-graph",
    "CancelExportTask": "neptune-graph",
    "StartLoaderJob": "neptunedata",
    "StartImportTask": "neptune-graph",
    "ListImportTasks": "neptune-graph",
    "StartExportTask": "neptune-graph",
    "ListExportTasks": "neptune-graph",
}

#: The fault "error" that means: hold the request, then drop the connection unanswered.
TIMEOUT_FAULT = "Timeout"

DEFAULT_GRAPH_ID = "g-0123456789"

_MAX_REPORTED_PROBLEMS = 3


class ScenarioError(ValueError):
    """A scenario that cannot be used; the message is one human sentence, never a traceback."""


@cache
def service_errors(service: str) -> dict[str, int]:
    """Every modeled error of a botocore service, name -> HTTP status (from the installed model)."""
    import botocore.session  # deferred: only needed when a fault is validated or answered

    model = botocore.session.get_session().get_service_model(service)
    return {
        shape.name: int(shape.metadata.get("error", {}).get("httpStatusCode", 400))
        for shape in model.error_shapes
    }


def normalise_error_name(operation: str, name: str) -> str | None:
    """The canonical error name for a fault on ``operation`` or None if the service has no such error.

    ``Timeout`` is kept as is; a short form such as ``TooManyRequests`` becomes
    ``TooManyRequestsException`` when that is what the service calls it.
    """
    if name == TIMEOUT_FAULT:
        return name
    known = service_errors(OPERATION_SERVICE[operation])
    for candidate in (name, f"{name}Exception"):
        if candidate in known:
            return candidate
    return None


class _StrictModel(BaseModel):
    """Base model: strict JSON types and a readable message for an unknown field."""

    model_config = ConfigDict(extra="forbid", strict=True)

    @model_validator(mode="before")
    @classmethod
    def _reject_unknown_fields(cls, data: Any) -> Any:
        if isinstance(data, dict):
            unknown = [key for key in data if key not in cls.model_fields]
            if unknown:
                allowed = ", ".join(cls.model_fields)
                names = ", ".join(repr(key) for key in unknown)
                noun = "field" if len(unknown) == 1 else "fields"
                raise ValueError(f"unknown {noun} {names} (allowed: {allowed})")
        return data


class ErrorSpec(_StrictModel):
    """One error the job reports (loader error log entry, Analytics errorDetails line)."""

    code: str
    message: str
    file: str | None = None
    record: int | None = None


class TimelineEntry(_StrictModel):
    """What the service reports from virtual second ``at`` on (until the next entry)."""

    at: float = Field(ge=0)
    status: str
    counters: dict[str, Any] = Field(default_factory=dict)
    errors: list[ErrorSpec] = Field(default_factory=list)
    statusReason: str | None = None
    raw: dict[str, Any] | None = None


class JobSpec(_StrictModel):
    """A job the emulated service knows, and how its status evolves.

    With ``start: true`` and no ``id``, the job does not exist until the first start call of its
    kind (docs/CONTRACT.md section 4) creates it: the emulator assigns its id, and the timeline's
    ``at`` counts from that call.
    """

    kind: JobKind
    start: bool = False
    id: str | None = Field(default=None, min_length=1, validate_default=True)
    timeline: list[TimelineEntry] = Field(min_length=1)
    graphId: str | None = DEFAULT_GRAPH_ID
    cancelDelaySeconds: float = Field(default=0, ge=0)

    @field_validator("id")
    @classmethod
    def _id_unless_started(cls, job_id: str | None, info: ValidationInfo) -> str | None:
        started = info.data.get("start") is True
        if started and job_id is not None:
            raise ValueError("a job with start: true has no id (the start call assigns it)")
        if not started and job_id is None:
            raise ValueError("required field is missing (or \"start\": true for a job a start request creates)")
        return job_id

    @field_validator("timeline")
    @classmethod
    def _timeline_is_sorted(cls, timeline: list[TimelineEntry]) -> list[TimelineEntry]:
        for index in range(1, len(timeline)):
            previous, current = timeline[index - 1].at, timeline[index].at
            if current < previous:
                raise ValueError(
                    f"[{index}].at: must be >= {_number(previous)}, the 'at' of the entry "
                    f"before it (entries are in non-decreasing order of 'at')"
                )
        return timeline


class FaultSpec(_StrictModel):
    """Answer the given calls (1-based, per operation) of ``operation`` with ``error``."""

    operation: Operation
    calls: list[Annotated[int, Field(ge=1)]] = Field(default_factory=list)
    error: str

    @field_validator("error")
    @classmethod
    def _error_is_known(cls, error: str, info: ValidationInfo) -> str:
        operation = info.data.get("operation")
        if operation is None:  # the operation itself is invalid and reported on its own
            return error
        canonical = normalise_error_name(operation, error)
        if canonical is None:
            service = OPERATION_SERVICE[operation]
            valid = ", ".join([*sorted(service_errors(service)), TIMEOUT_FAULT])
            raise ValueError(f"unknown error {error!r} for {operation} ({service}); valid: {valid}")
        return canonical


class Expect(_StrictModel):
    """What ``run-scenario --check`` verifies: the outcome, the execution's status and the
    number of calls of each named operation (each optional)."""

    outcome: str | None = None
    status: str | None = None
    calls: dict[str, int] = Field(default_factory=dict)


class Scenario(_StrictModel):
    """A whole scenario file."""

    request: dict[str, Any]
    job: JobSpec | None = None
    jobs: list[JobSpec] = Field(default_factory=list)
    faults: list[FaultSpec] = Field(default_factory=list)
    settings: dict[str, Any] = Field(default_factory=dict)
    expect: Expect | None = None

    @model_validator(mode="after")
    def _job_ids_are_unique(self) -> Scenario:
        seen: set[tuple[str, str]] = set()
        for job in self.all_jobs():
            if job.id is None:  # created by a start call
                continue
            key = (job.kind, job.id)
            if key in seen:
                raise ValueError(f"two jobs are {job.kind} {job.id!r}: ids must be unique per kind")
            seen.add(key)
        return self

    def all_jobs(self) -> list[JobSpec]:
        """``job`` (if any) followed by ``jobs``."""
        return ([self.job] if self.job is not None else []) + list(self.jobs)


def load_scenario(source: str | os.PathLike[str] | dict[str, Any]) -> Scenario:
    """Read and validate a scenario from a JSON file path or an already-parsed dict."""
    if isinstance(source, dict):
        return _validate(source, "scenario")
    label = os.fspath(source)
    return _validate(_read_json(Path(label), label), label)


def _read_json(path: Path, label: str) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError(f"{label}: no such file") from None
    except UnicodeDecodeError as exc:
        raise ScenarioError(f"{label} is not valid JSON: not UTF-8 text ({exc.reason})") from None
    except OSError as exc:
        raise ScenarioError(f"{label}: cannot be read ({exc.strerror or exc})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ScenarioError(
            f"{label} is not valid JSON: line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from None


def _validate(data: Any, label: str) -> Scenario:
    if not isinstance(data, dict):
        raise ScenarioError(f"{label}: must be a JSON object, not {_json_type(data)}")
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(_describe(exc, label)) from None


def _describe(exc: ValidationError, label: str) -> str:
    problems = [_problem(error) for error in exc.errors()]
    text = "; ".join(problems[:_MAX_REPORTED_PROBLEMS])
    hidden = len(problems) - _MAX_REPORTED_PROBLEMS
    if hidden > 0:
        text += f"; and {hidden} more problem{'s' if hidden > 1 else ''}"
    return f"{label}: {text}"


def _problem(error: Any) -> str:
    where = _location(error["loc"])
    what = _message(error)
    if what.startswith("["):  # the validator pinned the problem on an item of this field
        return f"{where}{what}"
    return f"{where}: {what}" if where else what


def _location(loc: tuple[Any, ...]) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def _message(error: Any) -> str:
    kind, ctx, msg = error["type"], error.get("ctx") or {}, error["msg"]
    if kind == "missing":
        return "required field is missing"
    if kind == "greater_than_equal":
        return f"must be >= {_number(ctx['ge'])}"
    if kind == "greater_than":
        return f"must be > {_number(ctx['gt'])}"
    if kind == "string_too_short" and ctx.get("min_length") == 1:
        return "must not be empty"
    if kind == "too_short":
        count = ctx.get("min_length")
        return f"must have at least {count} entr{'y' if count == 1 else 'ies'}"
    if kind in ("model_type", "dict_type", "model_attributes_type"):
        return f"must be a JSON object, not {_json_type(error.get('input'))}"
    if kind == "list_type":
        return f"must be a JSON array, not {_json_type(error.get('input'))}"
    if kind == "value_error":
        return msg.removeprefix("Value error, ")
    text = msg.replace("Input should be", "must be", 1)
    if "input" in error:
        text += f" (got {_short_json(error['input'])})"
    return text


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _json_type(value: Any) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}
    if value is None:
        return "null"
    for python_type, name in names.items():
        if isinstance(value, python_type):
            return name
    return "a number" if isinstance(value, int | float) else type(value).__name__


def _short_json(value: Any, limit: int = 40) -> str:
    try:
        text = json.dumps(value)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
