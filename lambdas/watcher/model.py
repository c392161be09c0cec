"""The watch: the JSON object the state machine carries from state to state, defined once.

``prepare`` builds it, each poll returns it advanced, ``finalize`` reads it. The state machine
definition reads some of its fields by JSONPath (``$.watch.next``, ``$.watch.fn.status``, ...);
``tests/test_model.py`` checks that every ``$.watch...`` path of the definition is a field here.

A plain dataclass on purpose: the poll handlers import this module on every cold start, and
pydantic is only needed where a request is parsed.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal

# What the state machine does next (``Route`` reads it):
Next = Literal["POLL", "WAIT", "COLLECT_ERRORS", "CANCEL", "CONTINUE", "FINISH", "AWAIT", "START", "QUIET"]
# This execution's part in the watch of its job (see lock.py):
#   OWNER     polls Neptune, publishes its own outcome and answers every registration at the end;
#   DUPLICATE another request for the job: waits for the owner's outcome, publishes its own copy;
#   REPEAT    the same job and correlationId as an earlier request: ends like it, publishes nothing.
Role = Literal["OWNER", "DUPLICATE", "REPEAT"]


@dataclass
class Functions:
    """The Lambda functions of the job's kind. Always chosen by ``prepare`` from the map the
    definition itself passes in (placeholders), never from the request."""

    status: str
    cancel: str
    start: str | None = None


@dataclass
class Lock:
    key: str  # the lock item of the job: "<kind>#<id>"
    expiresEpoch: str  # the running lock's expiry (DynamoDB TTL), as a string for the N type


@dataclass
class Continuation:
    """Set by the poll that decides CONTINUE: the name the next execution will have."""

    name: str
    expiresEpoch: str


@dataclass
class Watch:
    job: dict[str, str]  # {"kind", "id"}
    timeoutSeconds: int
    cancelOnTimeout: bool
    maxErrors: int
    correlationId: str | None
    taskToken: str | None
    context: Any
    startedAt: str
    startedEpoch: float
    deadlineEpoch: float
    root: str | None  # the first execution of the watch (owns the lock)
    fn: Functions
    policy: dict[str, Any]
    limits: dict[str, Any]
    lock: Lock | None
    role: Role = "OWNER"
    generation: int = 0
    generationStartedEpoch: float = 0.0
    generationPolls: int = 0
    polls: int = 0
    last: dict[str, Any] | None = None
    unknownPolls: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    errorsPage: int = 1
    errorsTruncated: bool = False
    errorsNote: str | None = None  # why error details stopped early (a page that could not be read)
    jobStartEpoch: float | None = None  # the job's own start as the service reports it (poll pacing)
    rollbackSinceEpoch: float | None = None  # when an Analytics rollback was first seen
    cancel: dict[str, Any] | None = None
    result: dict[str, Any] | None = None
    next: Next = "POLL"
    waitSeconds: int = 0
    awaitSeconds: int = 60  # a duplicate's wait for the owner's outcome (TimeoutSecondsPath)
    base: dict[str, Any] | None = None  # the owner's outcome a duplicate or repeat adopts
    continuation: Continuation | None = None
    start: dict[str, Any] | None = None  # a start request (issue 10): handled by StartJob
    startSince: float | None = None  # a recovered start request: its dead owner's start (epoch)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


# Nested dataclasses the paths below descend into.
_NESTED: dict[str, type] = {"fn": Functions, "lock": Lock, "continuation": Continuation}


def paths() -> set[str]:
    """Every JSONPath ``$.watch.<field>[.<sub>]`` the watch has."""
    out: set[str] = set()
    for f in fields(Watch):
        out.add(f"$.watch.{f.name}")
        nested = _NESTED.get(f.name)
        if nested is not None:
            out.update(f"$.watch.{f.name}.{g.name}" for g in fields(nested))
    out.update({"$.watch.job.kind", "$.watch.job.id"})
    return out
