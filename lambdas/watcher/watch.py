"""One step of a watch: the logic behind the status and cancel handlers in watch mode.

The state machine carries a *watch* (a JSON object) from step to step. ``prepare`` makes
it from a request; each ``poll`` makes exactly one Neptune call, folds the answer in and
says what comes next in ``watch["next"]``:

- ``WAIT``: wait ``watch["waitSeconds"]`` (the poll policy), then poll again;
- ``POLL``: poll again now (confirming a cancel);
- ``COLLECT_ERRORS``: fetch the next loader error page now;
- ``CANCEL``: the deadline passed with ``cancelOnTimeout``: cancel the job;
- ``CONTINUE``: this execution has done its share; continue as a new execution;
- ``FINISH``: ``watch["result"]`` holds the outcome; build and publish it.
"""

from __future__ import annotations

import copy
import json
import uuid
from typing import Any

from . import clock, lock, normalize
from .errors import (
    GraphNotAllowed,
    InvalidRequestError,
    NeptuneBadRequest,
    NeptuneConflict,
    NeptuneMalformedResponse,
    NeptuneNotFound,
    WatchError,
)
from .names import RECOVER_KEY  # {"executionArn": ...}: from the recovery rule
from .policy import PollPolicy, pacing_age
from .record import LOCK_MARGIN_SECONDS, finish, functions_of, new_watch
from .settings import Settings
from .start import start_watch
from .statuses import CANCELLED_STATUS, Outcome, Phase

RESUME_KEY = "neptuneWatchResume"  # the old by-value continuation: refused
CONTINUE_KEY = "neptuneWatchContinue"  # {"from": <execution ARN>}: a continuation by reference
CONTINUATION_RECORD_SECONDS = 7 * 86400
STARTED_BY = "AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID"
MAX_ERRORS_PER_PAGE = 100
# The error details a watch carries are bounded in bytes, not only in number: the watch travels
# in every state's payload (256 KB at most), and the end of the state machine holds it next to
# the outcome and the Fail cause. maxErrors long messages would otherwise overflow the payload
# (States.DataLimitExceeded) and the watch would end in ERROR instead of its real outcome.
MAX_ERROR_MESSAGE = 2_000
MAX_CARRIED_ERRORS_BYTES = 150_000  # under the outcome's 200 KB; the state after Finalize holds the outcome only
CANCEL_CONFIRM_SECONDS = 900
DEFAULT_ROLLBACK_MAX_SECONDS = 6 * 3600


def prepare(event: dict[str, Any], *, execution_id: str | None, cfg: Settings) -> dict[str, Any]:
    """The watch of this execution: a new request's (with its role for the job), a
    continuation's (by reference, checked) or a recovery's (an aborted owner's request)."""
    request = event.get("request")
    table = event.get("lockTable")
    me = execution_id or ""
    if isinstance(request, dict) and RESUME_KEY in request:
        raise InvalidRequestError(f"{RESUME_KEY} is not accepted: a watch continues only by reference")
    if isinstance(request, dict) and CONTINUE_KEY in request:
        ref = request[CONTINUE_KEY].get("from") if isinstance(request[CONTINUE_KEY], dict) else None
        if request.get(STARTED_BY) != ref:
            raise InvalidRequestError("a continuation must be started by the execution it continues")
        w = lock.load_continuation(table, ref, me=me)
        return resume(w, functions_of(event, w["job"]["kind"]))
    if isinstance(request, dict) and RECOVER_KEY in request:
        dead = request[RECOVER_KEY].get("executionArn") if isinstance(request[RECOVER_KEY], dict) else None
        stored = lock.recover(table, dead, me=me)
        if stored is None:
            return {"next": "QUIET"}  # nothing to recover: the owner ended its watch
        if "start" in stored:
            # The dead owner may have started the job already: look for it from the dead
            # owner's own start (start.start_job) before starting it, never start twice.
            w = start_watch(event, execution_id=me, cfg=cfg, request=stored)
            w["startSince"] = lock.started_epoch(dead)
        else:
            w = new_watch(event, execution_id=me, cfg=cfg, request=stored)
        w["lock"]["expiresEpoch"] = str(int(float(w["deadlineEpoch"]) + LOCK_MARGIN_SECONDS))
        return w
    if isinstance(request, dict) and STARTED_BY in request:
        # Set by parents that start us with startExecution (links the executions in the console).
        request = {k: v for k, v in request.items() if k != STARTED_BY}
    if isinstance(request, dict) and "start" in request:  # a start request (start.py)
        w = start_watch(event, execution_id=me, cfg=cfg, request=request)
    else:
        w = new_watch(event, execution_id=me, cfg=cfg, request=request)
    if w.get("lock") is None:  # a start request: its job is new, there is nothing to share yet
        return w
    held = lock.acquire(
        table, w["lock"]["key"], me=me, corr=w["correlationId"], request=request, expires=int(w["lock"]["expiresEpoch"])
    )
    w["role"] = held["role"]
    if held["role"] != "OWNER":
        if held.get("base") is not None:
            w["base"] = held["base"]
            w["next"] = "FINISH"
        else:
            w["next"] = "AWAIT"
            w["awaitSeconds"] = max(60, int(held["expires"] - clock.epoch()) + 300)
    return w


def await_owner(event: dict[str, Any], *, execution_id: str | None) -> None:
    """AwaitOwner: register this execution's task token on the job's lock item; the owner
    answers it at its end. If the owner has already ended, answer it here from its record."""
    w = event["watch"]
    name = (execution_id or "").split(":")[-1]
    ended = lock.register(event.get("lockTable"), w["lock"]["key"], name=name, token=event["token"])
    if ended is not None:
        lock.answer(event["token"], ended)


def resume(watch: Any, fn: dict[str, Any]) -> dict[str, Any]:
    """The watch carried into a continuation execution, with this generation's counters reset."""
    if not isinstance(watch, dict) or "job" not in watch:
        raise InvalidRequestError("the continuation record does not hold a watch")
    w = copy.deepcopy(watch)
    now = clock.epoch()
    w["generation"] = int(w.get("generation", 0)) + 1
    w["generationStartedEpoch"] = now
    w["generationPolls"] = 0
    w["fn"] = fn
    w["continuation"] = None
    w["next"] = "POLL"
    w["waitSeconds"] = 0
    return w


def _per_page(w: dict[str, Any]) -> int:
    return max(1, min(int(w.get("maxErrors", 0)), MAX_ERRORS_PER_PAGE))


def fetch(kind: str, job_id: str, *, errors_page: int | None, per_page: int) -> dict[str, Any]:
    """Exactly one status call; the normalised view of its answer."""
    from . import neptune  # boto3: not needed by prepare, which shares this module

    if kind == "loader":
        params: dict[str, Any] = {"loadId": job_id}
        if errors_page is not None:
            params.update(errors=True, page=errors_page, errorsPerPage=per_page)
        return normalize.loader_status(job_id, neptune.get_loader_job_status(**params))
    if kind == "import":
        return normalize.import_status(neptune.get_import_task(job_id))
    return normalize.export_status(neptune.get_export_task(job_id))


def _compact(view: dict[str, Any]) -> dict[str, Any]:
    keep = ("status", "phase", "known", "outcome", "statusReason", "counters", "progress", "graphId", "startTime")
    return {k: view.get(k) for k in keep if k in view}


def poll(watch: dict[str, Any], *, cfg: Settings) -> dict[str, Any]:
    """One poll of the job (or one error page); the watch advanced by it."""
    w = copy.deepcopy(watch)
    kind, job_id = w["job"]["kind"], w["job"]["id"]
    if w.get("next") == "COLLECT_ERRORS":
        return _collect_errors(w)
    wants_errors = kind == "loader" and int(w.get("maxErrors", 0)) > 0
    try:
        view = fetch(kind, job_id, errors_page=1 if wants_errors else None, per_page=_per_page(w))
    except NeptuneNotFound as err:
        _count_poll(w)
        return finish(w, Outcome.NOT_FOUND, err.message)
    except NeptuneMalformedResponse as err:
        view = {"status": None, "phase": Phase.RUNNING.value, "known": False, "problem": err.message}
    _count_poll(w)
    now = clock.epoch()
    if view.get("problem"):
        # No status could be read from this answer: keep the last good reading, and count the
        # poll like an unknown status (a good poll in between resets the count).
        ended = _strange_poll(w, f"the service's answer could not be read ({view['problem']})")
        if ended:
            return ended
        return _after_running(w, view, now)
    w["last"] = _compact(view)
    if view.get("startEpoch") is not None:
        w["jobStartEpoch"] = view["startEpoch"]  # the job's own start: the poll policy paces by it
    if kind != "loader" and not cfg.graph_allowed(view.get("graphId")):
        raise GraphNotAllowed(f"task {job_id} belongs to graph {view.get('graphId')}, which is not allowed here")
    w["errors"], w["errorsTruncated"] = [], False
    _keep_errors(w, view["errors"])

    if view["phase"] == Phase.TERMINAL:
        outcome = Outcome(view["outcome"])
        cancel = w.get("cancel")
        if cancel and cancel.get("accepted") and view["status"] == CANCELLED_STATUS[kind]:
            cancel["confirmed"] = True
            outcome = Outcome.TIMED_OUT
        if outcome != Outcome.SUCCEEDED and _more_errors(w, view):
            w["result"] = {"outcome": str(outcome), "reason": None}
            w["errorsPage"] = 2
            w["next"] = "COLLECT_ERRORS"
            w["waitSeconds"] = 0
            return w
        return finish(w, outcome)

    if not view["known"]:
        ended = _strange_poll(
            w, f"the service reported status {view['status']!r}, which neptune-watch does not know"
        )
        if ended:
            return ended
    else:
        w["unknownPolls"] = 0
    if view.get("rollingBack"):
        since = w.get("rollbackSinceEpoch")
        if since is None:
            w["rollbackSinceEpoch"] = since = now
        limit = int(w.get("limits", {}).get("rollbackMaxSeconds", DEFAULT_ROLLBACK_MAX_SECONDS))
        if now - float(since) >= limit:
            return finish(
                w,
                Outcome.FAILED,
                f"the job met an error ({view['status']}) and was still rolling back {int(now - float(since))} s "
                f"later (rollbackMaxSeconds={limit}); its final status was not seen",
            )
    elif view["known"]:
        w["rollbackSinceEpoch"] = None
    return _after_running(w, view, now)


def _strange_poll(w: dict[str, Any], what: str) -> dict[str, Any] | None:
    """Count a poll that read no known status; the finished watch once too many came in a row."""
    w["unknownPolls"] = int(w.get("unknownPolls", 0)) + 1
    limit = int(w.get("limits", {}).get("unknownStatusMaxPolls", 5))
    if w["unknownPolls"] >= limit:
        return finish(w, Outcome.ERROR, f"{what}, {w['unknownPolls']} polls in a row"[:MAX_ERROR_MESSAGE])
    return None


def _after_running(w: dict[str, Any], view: dict[str, Any], now: float) -> dict[str, Any]:
    """What follows a poll that found the job still running: wait, cancel, continue or time out."""
    policy = PollPolicy.from_dict(w.get("policy"))
    cancel = w.get("cancel")
    if cancel and not cancel.get("accepted") and view.get("phase") != Phase.CANCELLING.value:
        status = (w.get("last") or {}).get("status")
        return finish(
            w,
            Outcome.TIMED_OUT,
            f"still {status} after timeoutSeconds={w['timeoutSeconds']}; "
            f"the service rejected the cancel ({cancel.get('rejected')})",
        )
    if cancel:
        if now - float(cancel.get("requestedEpoch", now)) >= CANCEL_CONFIRM_SECONDS:
            return finish(w, Outcome.TIMED_OUT, "cancel requested after the timeout but not confirmed by the service")
        return _wait(w, policy.min_wait)
    if now >= float(w["deadlineEpoch"]):
        if w.get("cancelOnTimeout"):
            w["next"] = "CANCEL"
            w["waitSeconds"] = 0
            return w
        status = (w.get("last") or {}).get("status")
        return finish(w, Outcome.TIMED_OUT, f"still {status} after timeoutSeconds={w['timeoutSeconds']}")
    limits = w.get("limits", {})
    if w["generationPolls"] >= int(limits.get("maxPollsPerExecution", 1000)) or now - float(
        w["generationStartedEpoch"]
    ) >= int(limits.get("maxSecondsPerExecution", 86400)):
        w["next"] = "CONTINUE"
        w["waitSeconds"] = 0
        w["continuation"] = {"name": str(uuid.uuid4()), "expiresEpoch": str(int(now + CONTINUATION_RECORD_SECONDS))}
        return w
    elapsed = pacing_age(now - float(w["startedEpoch"]), w.get("jobStartEpoch"), now, w["job"]["kind"])
    seconds = policy.next_wait(
        elapsed,
        progress_percent=(view.get("progress") or {}).get("percent"),
        progress_elapsed=(view.get("counters") or {}).get("timeElapsedSeconds"),
        until_deadline=float(w["deadlineEpoch"]) - now,
    )
    return _wait(w, seconds)


def _wait(w: dict[str, Any], seconds: float) -> dict[str, Any]:
    w["next"] = "WAIT"
    w["waitSeconds"] = max(1, int(seconds))
    return w


def _count_poll(w: dict[str, Any]) -> None:
    w["polls"] = int(w.get("polls", 0)) + 1
    w["generationPolls"] = int(w.get("generationPolls", 0)) + 1


def _more_errors(w: dict[str, Any], view: dict[str, Any]) -> bool:
    """True when a loader error page came back full and the outcome wants more errors."""
    return (
        w["job"]["kind"] == "loader"
        and not w.get("errorsTruncated")
        and len(w["errors"]) < int(w.get("maxErrors", 0))
        and view.get("errorsReturned", 0) >= _per_page(w)
    )


def _size(value: Any) -> int:
    return len(json.dumps(value, separators=(",", ":"), default=str).encode())


def _keep_errors(w: dict[str, Any], new: list[dict[str, Any]]) -> None:
    """Append ``new`` error details to the watch, up to maxErrors and the byte budget."""
    room = int(w.get("maxErrors", 0)) - len(w["errors"])
    used = sum(_size(e) for e in w["errors"])
    for error in new[: max(room, 0)]:
        entry = dict(error)
        if isinstance(entry.get("message"), str):
            entry["message"] = entry["message"][:MAX_ERROR_MESSAGE]
        size = _size(entry)
        if used + size > MAX_CARRIED_ERRORS_BYTES:
            w["errorsTruncated"] = True
            return
        w["errors"].append(entry)
        used += size


def _collect_errors(w: dict[str, Any]) -> dict[str, Any]:
    page = int(w.get("errorsPage", 2))
    pending = (w.get("result") or {}).get("outcome", Outcome.FAILED)
    try:
        view = fetch("loader", w["job"]["id"], errors_page=page, per_page=_per_page(w))
    except WatchError as err:
        if err.retryable:
            raise  # the state machine retries it; if it never comes, Finalize keeps the outcome too
        # The job's outcome is known: a page that cannot be read only cuts the error details.
        w["errorsTruncated"] = True
        w["errorsNote"] = errors_note(page, f"{type(err).__name__}: {err.message}")
        return finish(w, pending)
    _keep_errors(w, view["errors"])
    if _more_errors(w, view):
        w["errorsPage"] = page + 1
        w["next"] = "COLLECT_ERRORS"
        w["waitSeconds"] = 0
        return w
    return finish(w, pending)


def errors_note(page: int, why: str) -> str:
    """The outcome's note when loader error pages stopped at ``page``."""
    return f"error details incomplete: page {page} could not be read ({why})"[:MAX_ERROR_MESSAGE]


def cancel(watch: dict[str, Any]) -> dict[str, Any]:
    """Cancel the job (after the timeout, with cancelOnTimeout); the next step confirms it."""
    from . import neptune

    w = copy.deepcopy(watch)
    kind, job_id = w["job"]["kind"], w["job"]["id"]
    call = {
        "loader": neptune.cancel_loader_job,
        "import": neptune.cancel_import_task,
        "export": neptune.cancel_export_task,
    }[kind]
    now = clock.epoch()
    record: dict[str, Any] = {"requestedAt": clock.iso(now), "requestedEpoch": now, "reason": "timeout"}
    try:
        call(job_id)
        record.update(accepted=True, confirmed=False)
    except NeptuneMalformedResponse:
        record.update(accepted=True, confirmed=False)  # a 2xx answer, however odd its body
    except (NeptuneNotFound, NeptuneConflict, NeptuneBadRequest) as err:
        # Refused: the job is usually no longer active (it ended on its own between our last
        # poll and the cancel, or someone else is cancelling it). One more poll, a short wait
        # later, reports what the service says of it: FAILED with its errors, CANCELLED,
        # SUCCEEDED, or TIMED_OUT if it really is still running (:func:`_after_running`).
        # The outcome's cancellation says ours was refused, whichever it is.
        record.update(accepted=False, confirmed=False, rejected=err.code)
        w["cancel"] = record
        return _wait(w, refused_cancel_repoll_seconds(w))
    w["cancel"] = record
    w["next"] = "POLL"
    w["waitSeconds"] = 0
    return w


def refused_cancel_repoll_seconds(w: dict[str, Any]) -> int:
    """The wait between a refused cancel and the poll that tells how the job ended: the
    policy's shortest wait (14 s by default). A poll at once would read the status the last
    poll read, a moment before the job ended and the cancel was refused."""
    return max(1, PollPolicy.from_dict(w.get("policy")).min_wait)
