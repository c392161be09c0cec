"""One watch per job: the job's lock item in DynamoDB, and continuation records.

The lock item (``pk`` = ``<kind>#<id>``) lives through three phases:

- absent, or expired (``expiresAt`` < now: DynamoDB TTL deletes lazily, so every condition
  compares the expiry itself): the next request takes it with a conditional PutItem and
  becomes the OWNER, the only execution that polls Neptune;
- ``RUNNING``: ``corrs`` is the set of correlation ids that already have a request (the owner's
  included); a request whose id is in it is a REPEAT (publishes nothing), any other adds its id
  (conditional UpdateItem) and is a DUPLICATE. Both then register their own task token under
  ``regs`` and wait (``AwaitOwner``, ``.waitForTaskToken``) for the owner's outcome;
- ``ENDED``: the owner stored its outcome, with ``expiresAt`` = now + the ended window
  (default 15 minutes), and answered every registered token. A request within the window is
  answered from the record (a new correlation id publishes its own copy; a known one is a
  REPEAT); after the window, a request starts a new watch.

Bounds (a DynamoDB item holds at most 400 KB): at most ``MAX_REQUESTS`` correlation ids per
item (each at most 256 characters), each with the ``by#<execution ARN>`` attribute that names
the execution that added it (about 500 bytes), at most as many registrations (an execution name
and a task token of at most 2,048 characters each, kept in the ENDED record), the owner's request
(context at most 8 KB; removed at the end) and the stored outcome (at most
``MAX_STORED_OUTCOME_BYTES``): under 350 KB. A request past the bound is refused with
``TooManyRequestsForJob``, which ends in a published ERROR outcome.

Every write is idempotent for the execution that makes it: botocore retries DynamoDB calls and
the state machine retries the tasks, so a call whose write landed but whose answer was lost runs
again, finds its own write and keeps its role. Failures of these calls are raised by name
(``LockStoreUnavailable``, retried; ``LockStoreError``, not).

A stale lock (the owner was aborted or timed out without ending it) is recovered by a recovery
execution that the deployment's EventBridge rule starts on those status events
(:func:`recover`); continuation records (``cont#<execution ARN>``) carry a watch from one
execution to the next by reference (:func:`load_continuation`).
"""

from __future__ import annotations

import functools
import json
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from . import clock
from .errors import InvalidRequestError, WatchError, store_error
from .names import RECOVER_KEY, RECOVERY_STATUSES
from .settings import settings
from .start import validate

F = TypeVar("F", bound=Callable[..., Any])

MAX_REQUESTS = 50
MAX_STORED_OUTCOME_BYTES = 200_000
RUNNING, ENDED = "RUNNING", "ENDED"
ATTEMPTS = 6  # conditional-update races re-read and retry; each round changes the item
MAX_RECOVERY_CHAIN = 10  # a recovery of a recovery of ... an owner, followed this far back

_lock = threading.Lock()
_clients: dict[str, Any] = {}


class TooManyRequestsForJob(WatchError):
    """More distinct requests for one job than a lock item can register."""


class LockLost(WatchError):
    """The lock item changed under us in a way no retry resolves."""


def client(service: str) -> Any:
    with _lock:
        if service not in _clients:
            import boto3

            _clients[service] = boto3.session.Session().client(service)
        return _clients[service]


def reset() -> None:
    with _lock:
        _clients.clear()


def _named_errors(fn: F) -> F:
    """Raise the lock protocol's failures by name: LockStoreUnavailable (retried by the state
    machine) or LockStoreError, never a bare botocore exception."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except Exception as exc:
            named = store_error(f"lock.{fn.__name__}", exc)
            if named is exc:
                raise
            raise named from exc

    return wrapper  # type: ignore[return-value]


# Codes SendTaskSuccess answers for a token that cannot be answered any more: the waiter timed
# out, was stopped, or was already answered (a retried call answers again).
_CLOSED_TOKEN_CODES = ("TaskTimedOut", "InvalidToken", "TaskDoesNotExist")


def _by(me: str) -> str:
    """The item attribute that records which correlation id execution ``me`` added, so that a
    retried call (its first answer lost) finds its own earlier write and keeps its role."""
    return "by#" + me


def _ccf(exc: Exception) -> bool:
    return getattr(exc, "response", {}).get("Error", {}).get("Code") == "ConditionalCheckFailedException"


def corr_key(correlation_id: str | None) -> str:
    return "c:" + (correlation_id or "")


def _get(table: str, key: str) -> dict[str, Any] | None:
    return client("dynamodb").get_item(TableName=table, Key={"pk": {"S": key}}, ConsistentRead=True).get("Item")


def _num(item: dict[str, Any], name: str) -> float:
    return float(item.get(name, {}).get("N", "0"))


@_named_errors
def acquire(table: str, key: str, *, me: str, corr: str | None, request: dict[str, Any], expires: int) -> dict[str, Any]:
    """This request's role for the job: ``{"role", "owner"?, "base"?, "expires"}``.

    Idempotent for one execution: a call retried after its first write landed but its answer
    was lost (botocore retries DynamoDB calls; the state machine retries the task) finds that
    write (``owner`` is ``me``, or ``by#<me>`` holds its correlation id) and keeps the role."""
    ddb = client("dynamodb")
    ck = corr_key(corr)
    for _ in range(ATTEMPTS):
        now = int(clock.epoch())
        try:
            ddb.put_item(
                TableName=table,
                Item={
                    "pk": {"S": key},
                    "st": {"S": RUNNING},
                    "owner": {"S": me},
                    "req": {"S": json.dumps(request, separators=(",", ":"))},
                    "corrs": {"SS": [ck]},
                    "regs": {"M": {}},
                    "expiresAt": {"N": str(expires)},
                },
                ConditionExpression="attribute_not_exists(pk) OR expiresAt < :now",
                ExpressionAttributeValues={":now": {"N": str(now)}},
            )
            return {"role": "OWNER", "expires": expires}
        except Exception as exc:
            if not _ccf(exc):
                raise
        item = _get(table, key)
        if item is None or _num(item, "expiresAt") < now:
            continue
        state = item["st"]["S"]
        known = set(item.get("corrs", {}).get("SS", []))
        base = json.loads(item["out"]["S"]) if state == ENDED else None
        held = {"owner": item["owner"]["S"], "expires": int(_num(item, "expiresAt")), "base": base}
        if state == RUNNING and held["owner"] == me:
            return {"role": "OWNER", "expires": held["expires"]}
        if item.get(_by(me), {}).get("S") == ck:
            return {"role": "DUPLICATE", **held}
        if ck in known:
            return {"role": "REPEAT", **held}
        if len(known) >= MAX_REQUESTS:
            raise TooManyRequestsForJob(
                f"{len(known)} requests already wait for {key}; at most {MAX_REQUESTS} are registered per job"
            )
        try:
            ddb.update_item(
                TableName=table,
                Key={"pk": {"S": key}},
                UpdateExpression="ADD corrs :c SET #by = :k",
                ConditionExpression="st = :st AND expiresAt = :exp AND NOT contains(corrs, :k)",
                ExpressionAttributeNames={"#by": _by(me)},
                ExpressionAttributeValues={
                    ":c": {"SS": [ck]},
                    ":k": {"S": ck},
                    ":st": {"S": state},
                    ":exp": {"N": item["expiresAt"]["N"]},
                },
            )
            return {"role": "DUPLICATE", **held}
        except Exception as exc:
            if not _ccf(exc):
                raise
    raise LockLost(f"the lock item {key} kept changing; gave up after {ATTEMPTS} attempts")


@_named_errors
def register(table: str, key: str, *, name: str, token: str) -> dict[str, Any] | None:
    """Register ``token`` to be answered by the owner; the stored outcome if it already ended."""
    ddb = client("dynamodb")
    try:
        ddb.update_item(
            TableName=table,
            Key={"pk": {"S": key}},
            UpdateExpression="SET regs.#n = :t",
            ConditionExpression="st = :running AND expiresAt >= :now",
            ExpressionAttributeNames={"#n": name},
            ExpressionAttributeValues={
                ":t": {"S": token},
                ":running": {"S": RUNNING},
                ":now": {"N": str(int(clock.epoch()))},
            },
        )
        return None
    except Exception as exc:
        if not _ccf(exc):
            raise
    item = _get(table, key)
    if item is not None and item["st"]["S"] == ENDED:
        return json.loads(item["out"]["S"])
    raise LockLost(f"the watch of {key} ended without leaving its outcome (the lock expired)")


@_named_errors
def end(table: str, key: str, *, me: str, outcome: dict[str, Any], window: int) -> int:
    """Leave the ENDED record and answer every registered token; how many were answered.

    The record keeps the registrations, so that a call retried after its write landed (its
    answer lost) finds the record its own and answers them (a token answered twice is refused
    as closed, which is fine)."""
    ddb = client("dynamodb")
    text = json.dumps(outcome, separators=(",", ":"))
    try:
        old = ddb.update_item(
            TableName=table,
            Key={"pk": {"S": key}},
            UpdateExpression="SET st = :ended, #out = :o, expiresAt = :exp REMOVE req",
            ConditionExpression="st = :running AND #o = :me",
            ExpressionAttributeNames={"#o": "owner", "#out": "out"},
            ExpressionAttributeValues={
                ":ended": {"S": ENDED},
                ":running": {"S": RUNNING},
                ":o": {"S": text},
                ":me": {"S": me},
                ":exp": {"N": str(int(clock.epoch()) + window)},
            },
            ReturnValues="ALL_OLD",
        )["Attributes"]
    except Exception as exc:
        if not _ccf(exc):
            raise
        old = _get(table, key) or {}
        if old.get("st", {}).get("S") != ENDED or old.get("owner", {}).get("S") != me:
            return 0  # not ours any more (recovered, or expired and taken): nothing to answer
        text = old["out"]["S"]  # ended by an earlier try of this call: answer as recorded
    return sum(_answer(token["S"], text) for token in (old.get("regs", {}).get("M") or {}).values())


def _answer(token: str, text: str) -> bool:
    """Send ``text`` to one waiter's task token; False if the token is closed already."""
    try:
        client("stepfunctions").send_task_success(taskToken=token, output=text)
        return True
    except Exception as exc:
        if getattr(exc, "response", {}).get("Error", {}).get("Code") in _CLOSED_TOKEN_CODES:
            return False
        raise


@_named_errors
def answer(token: str, outcome: dict[str, Any]) -> None:
    """Answer one waiter directly (a registration that found the record already ENDED)."""
    _answer(token, json.dumps(outcome, separators=(",", ":")))


def state_machine_of(execution_arn: str) -> str:
    """arn:...:execution:<machine>:<name> -> arn:...:stateMachine:<machine>."""
    parts = execution_arn.split(":")
    if len(parts) < 8 or parts[5] != "execution":
        raise InvalidRequestError(f"{execution_arn!r} is not an execution ARN")
    return ":".join([*parts[:5], "stateMachine", parts[6]])


@_named_errors
def load_continuation(table: str, ref: Any, *, me: str) -> dict[str, Any]:
    """The watch that execution ``ref`` stored for its continuation, if ``me`` is that
    continuation: ``ref`` is an execution of this same state machine that runs (or was stopped
    after starting us), the record is ``ref``'s, and it names this execution. Anything else is
    an InvalidRequestError."""
    if not isinstance(ref, str) or not ref:
        raise InvalidRequestError("neptuneWatchContinue.from must name the execution that continues")
    mine = state_machine_of(me)
    if state_machine_of(ref) != mine:
        raise InvalidRequestError("a continuation is accepted only from an execution of this state machine")
    item = _get(table, f"cont#{ref}")
    if item is None or item.get("owner", {}).get("S") != ref or item.get("child", {}).get("S") != me.split(":")[-1]:
        raise InvalidRequestError("no continuation of this execution was recorded by the execution it names")
    try:
        desc = client("stepfunctions").describe_execution(executionArn=ref)
    except Exception as exc:
        raise InvalidRequestError(f"the continuing execution cannot be described: {exc}") from exc
    # RUNNING, or stopped since it started us (an operator's abort, a timeout): the record binds
    # this execution by name, so the watch goes on here and the recovery rule leaves it alone.
    if desc.get("status") not in ("RUNNING", "ABORTED", "TIMED_OUT") or desc.get("stateMachineArn") != mine:
        raise InvalidRequestError("a continuation is accepted only from an execution of this state machine that runs or was stopped")
    return json.loads(item["watch"]["S"])


@_named_errors
def recover(table: str, dead: Any, *, me: str) -> dict[str, Any] | None:
    """Take over the lock an aborted or timed-out owner left RUNNING; its request, or None."""
    if not isinstance(dead, str) or state_machine_of(dead) != state_machine_of(me):
        return None
    desc = _describe(dead)
    if desc is None or desc.get("status") not in RECOVERY_STATUSES or desc.get("stateMachineArn") != state_machine_of(me):
        return None
    ddb = client("dynamodb")
    origin = _origin(desc)
    scan_key = _lock_key_of(origin) if origin is not None else None
    if scan_key is None:
        return None
    item = _get(table, scan_key)
    if item is not None and item["st"]["S"] == RUNNING and item["owner"]["S"] == me:
        return json.loads(item["req"]["S"])  # taken over by an earlier try of this call
    if item is None or item["st"]["S"] != RUNNING or item["owner"]["S"] != dead:
        return None
    if _continuation_running(table, dead):
        return None  # the watch goes on in a continuation, which ends the lock in the owner's name
    try:
        ddb.update_item(
            TableName=table,
            Key={"pk": {"S": scan_key}},
            UpdateExpression="SET #o = :me",
            ConditionExpression="st = :running AND #o = :dead",
            ExpressionAttributeNames={"#o": "owner"},
            ExpressionAttributeValues={":me": {"S": me}, ":dead": {"S": dead}, ":running": {"S": RUNNING}},
        )
    except Exception as exc:
        if not _ccf(exc):
            raise
        again = _get(table, scan_key)  # an earlier try of this update may have landed
        if again is None or again["st"]["S"] != RUNNING or again["owner"]["S"] != me:
            return None
    return json.loads(item["req"]["S"])


def _continuation_running(table: str, execution: str) -> bool:
    """True if ``execution`` handed its watch to a continuation that still runs."""
    record = _get(table, f"cont#{execution}")
    if record is None:
        return False
    child = state_machine_of(execution).replace(":stateMachine:", ":execution:") + ":" + record["child"]["S"]
    try:
        return client("stepfunctions").describe_execution(executionArn=child).get("status") == "RUNNING"
    except Exception:
        return False


def _describe(execution_arn: str) -> dict[str, Any] | None:
    """DescribeExecution; None for an execution that does not exist. Anything else (throttled,
    failed) is raised, to be named and retried, not taken for "nothing to recover"."""
    try:
        return client("stepfunctions").describe_execution(executionArn=execution_arn)
    except Exception as exc:
        if getattr(exc, "response", {}).get("Error", {}).get("Code") in ("ExecutionDoesNotExist", "InvalidArn"):
            return None
        raise


def _input(desc: dict[str, Any]) -> Any:
    try:
        return json.loads(desc.get("input") or "null")
    except ValueError:
        return None


def _origin(desc: dict[str, Any]) -> dict[str, Any] | None:
    """The execution whose request ``desc`` stands for: ``desc`` itself, or for a recovery
    execution (which may have died in turn after taking the lock over) the execution its chain
    of recoveries started from. None past ``MAX_RECOVERY_CHAIN`` links or a vanished link."""
    for _ in range(MAX_RECOVERY_CHAIN):
        data = _input(desc)
        link = data.get(RECOVER_KEY) if isinstance(data, dict) else None
        if link is None:
            return desc
        ref = link.get("executionArn") if isinstance(link, dict) else None
        if not isinstance(ref, str):
            return None
        found = _describe(ref)
        if found is None:
            return None
        desc = found
    return None


def _lock_key_of(desc: dict[str, Any]) -> str | None:
    """The lock key of an execution, from its input (a watch or a start request; None for a
    continuation, whose lock is its root's)."""
    data = _input(desc)
    if isinstance(data, dict) and isinstance(data.get("job"), dict):
        job = data["job"]
        return f"{job.get('kind')}#{job.get('id')}"
    if isinstance(data, dict) and "start" in data:  # a start request: the key of its parameters
        try:
            return validate(data["start"], settings()).lock_key
        except WatchError:
            return None  # an invalid start request never held a lock
    return None


@_named_errors
def started_epoch(execution_arn: str) -> float:
    """When the request of ``execution_arn`` was first taken up (epoch seconds): its own start,
    or for a recovery execution the start of the execution its chain of recoveries stands for
    (a job that execution started must be found, not started again)."""
    desc = client("stepfunctions").describe_execution(executionArn=execution_arn)
    started = (_origin(desc) or desc)["startDate"]
    return started.timestamp() if hasattr(started, "timestamp") else float(started)
