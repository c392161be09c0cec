"""The outcome: the one message a watch publishes (docs/CONTRACT.md section 2).

:func:`finalize` builds it from whatever the state machine has when the watch ends (a
finished watch, a watch interrupted by an error, or a request that never became a watch),
caps it to fit SNS, EventBridge and Step Functions, and returns everything the publishing
states need, so the state machine does no string work of its own.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from . import SCHEMA_VERSION, clock
from .limits import (
    MAX_CONTEXT_BYTES,
    MAX_CORRELATION_ID,
    MAX_ECHOED_JOB_FIELD,
    MAX_TASK_TOKEN,
    fits,
    shown,
)
from .statuses import Outcome
from .watch import errors_note

# SNS / EventBridge cap 256 KB per message; the state after Finalize holds the outcome and the
# Fail cause (at most 32,000 ASCII characters) under Step Functions' 256 KB payload limit.
MAX_OUTCOME_BYTES = 200_000
MAX_CAUSE_CHARS = 32_000  # Fail / SendTaskFailure cause: at most 32,768 characters
MAX_ERROR_MESSAGE = 2_000
NAMESPACE = uuid.UUID("6f0b7a6e-5d1c-4c55-9a52-6e6570747775")

DETAIL_TYPES = {
    Outcome.SUCCEEDED: "Neptune Job Succeeded",
    Outcome.FAILED: "Neptune Job Failed",
    Outcome.CANCELLED: "Neptune Job Cancelled",
    Outcome.TIMED_OUT: "Neptune Job Timed Out",
    Outcome.NOT_FOUND: "Neptune Job Not Found",
    Outcome.INVALID_REQUEST: "Neptune Watch Request Invalid",
    Outcome.ERROR: "Neptune Watch Error",
}


def _size(value: Any) -> int:
    return len(json.dumps(value, separators=(",", ":"), default=str).encode())


def _error_reason(error: Any) -> tuple[str | None, str]:
    """(error name, readable reason) from a Step Functions ``{Error, Cause}`` object."""
    if not isinstance(error, dict):
        return None, "the watch could not go on"
    name = error.get("Error")
    cause = error.get("Cause")
    text = cause if isinstance(cause, str) else ""
    try:
        parsed = json.loads(text) if text else None
    except ValueError:
        parsed = None
    if isinstance(parsed, dict) and ("errorMessage" in parsed or "errorType" in parsed):
        text = f"{parsed.get('errorType') or name}: {parsed.get('errorMessage') or ''}".strip()
    elif text:
        text = f"{name}: {text}" if name else text
    else:
        text = str(name or "the watch could not go on")
    return (str(name) if name else None), text[:MAX_ERROR_MESSAGE]


def _short(text: Any) -> Any:
    """A reason bounded like an error message (the service's statusReason has no documented limit)."""
    return text[:MAX_ERROR_MESSAGE] if isinstance(text, str) else text


def _clean_errors(errors: Any) -> list[dict[str, Any]]:
    out = []
    for item in errors if isinstance(errors, list) else []:
        if not isinstance(item, dict):
            continue
        entry = {k: item.get(k) for k in ("code", "message", "file", "record")}
        if isinstance(entry["message"], str):
            entry["message"] = entry["message"][:MAX_ERROR_MESSAGE]
        out.append(entry)
    return out


def _echo_job_field(value: Any) -> Any:
    """A job field of a malformed request as given, or a short description of an oversized one."""
    return value if fits(value, MAX_ECHOED_JOB_FIELD) else shown(value)


def _from_request(request: Any, error: Any) -> dict[str, Any]:
    """The outcome of a request that never became a watch (invalid, or Prepare failed).

    The request may be anything up to 256 KB: only what fits the request's own limits is
    echoed (a correlationId or taskToken over its limit is dropped, an oversized context
    becomes ``{"truncated": true}``), so that the outcome stays small whatever came in.
    """
    req = request if isinstance(request, dict) else {}
    job = req.get("job") if isinstance(req.get("job"), dict) else None
    job_ref = (
        {"kind": _echo_job_field(job.get("kind")), "id": _echo_job_field(job.get("id"))}
        if job
        else None
    )
    start = req.get("start")  # a start request names its kind, and no id yet
    if job_ref is None and isinstance(start, dict) and start.get("kind") in ("loader", "import", "export"):
        job_ref = {"kind": start["kind"], "id": None}
    name, reason = _error_reason(error)
    outcome = Outcome.INVALID_REQUEST if name == "InvalidRequestError" else Outcome.ERROR
    corr = req.get("correlationId")
    token = req.get("taskToken")
    context = req.get("context")
    now = clock.iso()
    return {
        "schemaVersion": SCHEMA_VERSION,
        "job": job_ref,
        "outcome": outcome.value,
        "status": None,
        "statusReason": reason,
        "counters": {},
        "progress": {"percent": None},
        "errors": [],
        "polls": 0,
        "startedAt": now,
        "endedAt": now,
        "correlationId": corr if isinstance(corr, str) and len(corr) <= MAX_CORRELATION_ID else None,
        "context": context if fits(context, MAX_CONTEXT_BYTES) else {"truncated": True},
        # A token over AWS's limit could not be answered anyway (SendTaskFailure refuses it).
        "_taskToken": token if isinstance(token, str) and 0 < len(token) <= MAX_TASK_TOKEN else None,
    }


def _from_watch(w: dict[str, Any], error: Any) -> dict[str, Any]:
    last = w.get("last") or {}
    result = w.get("result") or {}
    note = w.get("errorsNote")
    if error is not None and w.get("next") == "COLLECT_ERRORS" and result.get("outcome"):
        # The job's end was already known; only an error page failed (retries exhausted).
        outcome = Outcome(result["outcome"])
        reason = result.get("reason")
        note = errors_note(int(w.get("errorsPage") or 2), _error_reason(error)[1])
        w = {**w, "errorsTruncated": True}
    elif error is not None:
        outcome = Outcome.ERROR
        _, reason = _error_reason(error)
    else:
        outcome = Outcome(result.get("outcome", Outcome.ERROR))
        reason = result.get("reason")
    out: dict[str, Any] = {
        "schemaVersion": SCHEMA_VERSION,
        "job": {"kind": w["job"]["kind"], "id": w["job"]["id"]},
        "outcome": outcome.value,
        "status": last.get("status"),
        "statusReason": _short(last.get("statusReason") or reason),
        "counters": last.get("counters") or {},
        "progress": {"percent": (last.get("progress") or {}).get("percent")},
        "errors": _clean_errors(w.get("errors")) if outcome != Outcome.SUCCEEDED else [],
        "polls": int(w.get("polls", 0)),
        "startedAt": w.get("startedAt"),
        "endedAt": clock.iso(),
        "correlationId": w.get("correlationId"),
        "context": w.get("context"),
        "_taskToken": w.get("taskToken"),
    }
    if w.get("errorsTruncated") and outcome != Outcome.SUCCEEDED:
        out["errorsTruncated"] = True  # the watch kept fewer error details than maxErrors asked for
        if note:
            out["errorsNote"] = _short(note)
    if last.get("graphId"):
        out["graphId"] = last["graphId"]
    if w.get("started"):  # a start request's start call (docs/CONTRACT.md section 4)
        out["started"] = w["started"]
    if w.get("cancel"):
        c = w["cancel"]
        out["cancellation"] = {
            "requestedAt": c.get("requestedAt"),
            "accepted": bool(c.get("accepted")),
            "confirmed": bool(c.get("confirmed")),
            "reason": c.get("reason"),
        }
        if c.get("rejected"):
            out["cancellation"]["rejected"] = str(c["rejected"])  # the service's error code
    out["watch"] = {"executionArn": w.get("root"), "generations": int(w.get("generation", 0)) + 1}
    return out


def _fit(outcome: dict[str, Any], limit: int) -> dict[str, Any]:
    """``outcome`` with as many errors as fit in ``limit`` bytes (flagging what was cut)."""
    if _size(outcome) <= limit:
        return outcome
    trimmed = dict(outcome)
    errors = list(outcome.get("errors") or [])
    trimmed["errorsTruncated"] = True
    lo, hi = 0, len(errors)
    while lo < hi:  # the largest prefix of errors that fits
        mid = (lo + hi + 1) // 2
        trimmed["errors"] = errors[:mid]
        if _size(trimmed) <= limit:
            lo = mid
        else:
            hi = mid - 1
    trimmed["errors"] = errors[:lo]
    if _size(trimmed) > limit:
        trimmed["context"] = {"truncated": True}
    return trimmed


def _adopted(w: dict[str, Any]) -> dict[str, Any]:
    """A duplicate's or repeat's outcome: the owner's, with this request's own fields."""
    out = dict(w["base"])
    owner = out.get("watch") if isinstance(out.get("watch"), dict) else {}
    out.update(
        correlationId=w.get("correlationId"),
        context=w.get("context"),
        _taskToken=w.get("taskToken"),
        watch={"executionArn": w.get("root"), "generations": 1, "duplicateOf": owner.get("executionArn")},
    )
    return out


def _relayed(continuation: Any) -> dict[str, Any] | None:
    """The outcome a failed continuation published (its Fail cause), or None if it has none."""
    try:
        child = json.loads(continuation.get("Cause") or "")
        if str(child.get("Error", "")).startswith("NeptuneWatch.") and child.get("Cause"):
            return json.loads(child["Cause"])
    except (AttributeError, TypeError, ValueError):
        pass
    return None


def _lost(continuation: Any) -> str:
    """Why a continuation left no outcome, naming the child execution when its cause says."""
    try:
        child = json.loads(continuation.get("Cause") or "")
        return f"the continuation execution {child.get('ExecutionArn')} ended {child.get('Status')} without an outcome"
    except (AttributeError, TypeError, ValueError):
        return f"the continuation execution could not be started or ended without an outcome: {continuation}"[:MAX_ERROR_MESSAGE]


def finalize(event: dict[str, Any]) -> dict[str, Any]:
    """Everything the end of the state machine needs: outcome, Fail error and cause, routing,
    whether to publish; for the job's owner, the lock's ENDED record and every waiter answered."""
    state = event.get("state") if isinstance(event.get("state"), dict) else {}
    watch = state.get("watch")
    error = state.get("error")
    publish, relay = True, False
    if "Error" in state and not isinstance(watch, dict):  # Prepare failed: state is its error
        outcome = _from_request(event.get("input", state.get("request")), state)
    elif isinstance(watch, dict) and isinstance(watch.get("job"), dict):
        relayed = _relayed(state.get("continuation")) if isinstance(state.get("continuation"), dict) else None
        if relayed is not None:  # the continuation published and answered: end as it did
            outcome, publish, relay = {**relayed, "_taskToken": None}, False, True
        elif state.get("continuation") is not None:
            outcome = _from_watch(watch, {"Error": "States.TaskFailed", "Cause": _lost(state["continuation"])})
        elif isinstance(watch.get("base"), dict) and error is None:
            outcome = _adopted(watch)
        else:
            outcome = _from_watch(watch, error)
        publish = publish and watch.get("role", "OWNER") != "REPEAT"
    else:
        outcome = _from_request(event.get("input", state.get("request")), error)
    token = outcome.pop("_taskToken", None)
    root = (watch or {}).get("root") if isinstance(watch, dict) else None
    if not relay:
        outcome["eventId"] = str(uuid.uuid5(NAMESPACE, f"{root or event.get('executionId') or uuid.uuid4()}"))
    outcome = _fit(outcome, MAX_OUTCOME_BYTES)
    name = outcome["outcome"]
    if not relay and isinstance(watch, dict) and watch.get("role", "OWNER") == "OWNER" and outcome.get("job"):
        _end_lock(event, watch, outcome)
    job = outcome.get("job") or {}
    return {
        "outcome": outcome,
        "succeeded": name == Outcome.SUCCEEDED.value,
        "error": f"NeptuneWatch.{name}",
        "cause": json.dumps(_fit(outcome, MAX_CAUSE_CHARS), separators=(",", ":")),
        "detailType": DETAIL_TYPES[Outcome(name)],
        "attributes": {
            "outcome": name,
            "jobKind": job.get("kind")
            if job.get("kind") in ("loader", "import", "export")
            else "unknown",
            "schemaVersion": SCHEMA_VERSION,
        },
        "taskToken": token,
        "publish": publish,
    }


def _end_lock(event: dict[str, Any], watch: dict[str, Any], outcome: dict[str, Any]) -> None:
    """Leave the ENDED record and answer the waiters. A failure here is logged, not raised:
    the outcome must still be published; waiters then end at their own timeout, in ERROR."""
    lk = watch.get("lock")
    if not isinstance(lk, dict) or not lk.get("key") or not watch.get("root") or not event.get("lockTable"):
        return
    from . import lock
    from .observability import logger
    from .settings import settings

    stored = {k: v for k, v in outcome.items() if k not in ("correlationId", "context", "eventId")}
    stored = _fit(stored, lock.MAX_STORED_OUTCOME_BYTES)
    try:
        answered = lock.end(event["lockTable"], lk["key"], me=watch["root"], outcome=stored, window=settings().ended_window_seconds)
        logger.info("lock ended", extra={"key": lk["key"], "answered": answered})
    except Exception:
        logger.exception("could not end the lock of this watch", extra={"key": lk["key"]})
