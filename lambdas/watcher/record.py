"""The watch record: made from a request (:func:`new_watch`) and ended (:func:`finish`).

The lowest layer of a watch's logic, under :mod:`watcher.start` (a start request's watch),
:mod:`watcher.lock` and :mod:`watcher.watch` (prepare and every poll): the dependency runs one
way, ``watch -> lock -> start -> record``, never back.
"""

from __future__ import annotations

from typing import Any

from . import clock
from .errors import ConfigurationError, InvalidRequestError
from .limits import shown
from .model import Functions, Lock, Watch
from .policy import PollPolicy
from .settings import Settings
from .statuses import Outcome

LOCK_MARGIN_SECONDS = 900 + 3600  # the running lock outlives the deadline by the cancel confirmation and an hour


def functions_of(event: dict[str, Any], kind: str) -> dict[str, Any]:
    """The kind's functions, from the map the definition passes in (never from the request)."""
    functions = event.get("functions") or {}
    fn = functions.get(kind) if isinstance(functions, dict) else None
    if not isinstance(fn, dict) or not fn.get("status") or not fn.get("cancel"):
        raise ConfigurationError(f"no status/cancel functions are configured for {kind} jobs")
    return {"status": fn["status"], "cancel": fn["cancel"], "start": fn.get("start")}


def new_watch(event: dict[str, Any], *, execution_id: str | None, cfg: Settings, request: Any = None) -> dict[str, Any]:
    """A validated request (``request``, else ``event["request"]``) as a new watch (no Neptune
    call, no lock yet)."""
    from .request import WatchRequest, parse  # pydantic is only needed here, not on every poll

    req = parse(WatchRequest, event.get("request") if request is None else request)
    timeout = req.timeoutSeconds if req.timeoutSeconds is not None else cfg.default_timeout_seconds
    if timeout > cfg.max_timeout_seconds:
        raise InvalidRequestError(f"timeoutSeconds {shown(timeout)} exceeds the maximum {cfg.max_timeout_seconds}")
    max_errors = req.maxErrors if req.maxErrors is not None else cfg.default_max_errors
    if max_errors > cfg.max_max_errors:
        raise InvalidRequestError(f"maxErrors {shown(max_errors)} exceeds the maximum {cfg.max_max_errors}")
    fn = functions_of(event, req.job.kind)
    now = clock.epoch()
    deadline = now + timeout
    watch = Watch(
        job={"kind": req.job.kind, "id": req.job.id},
        timeoutSeconds=timeout,
        cancelOnTimeout=cfg.default_cancel_on_timeout if req.cancelOnTimeout is None else req.cancelOnTimeout,
        maxErrors=max_errors,
        correlationId=req.correlationId,
        taskToken=req.taskToken,
        context=req.context,
        startedAt=clock.iso(now),
        startedEpoch=now,
        deadlineEpoch=deadline,
        root=execution_id,
        fn=Functions(**fn),
        policy=PollPolicy(cfg.min_wait_seconds, cfg.max_wait_seconds, cfg.wait_fraction).as_dict(),
        limits={
            "maxPollsPerExecution": cfg.max_polls_per_execution,
            "maxSecondsPerExecution": cfg.max_seconds_per_execution,
            "unknownStatusMaxPolls": cfg.unknown_status_max_polls,
            "rollbackMaxSeconds": cfg.rollback_max_seconds,
        },
        lock=Lock(key=f"{req.job.kind}#{req.job.id}", expiresEpoch=str(int(deadline + LOCK_MARGIN_SECONDS))),
        generationStartedEpoch=now,
    )
    return watch.to_json()


def finish(w: dict[str, Any], outcome: Outcome | str, reason: str | None = None) -> dict[str, Any]:
    w["result"] = {"outcome": str(outcome), "reason": reason}
    w["next"] = "FINISH"
    w["waitSeconds"] = 0
    return w
