"""Service responses as one normalised job status, whatever fields are missing.

Every field of a Neptune response can be missing (a queued load has no ``feedCount``, some
responses lack ``startTime``, an odd payload may not even be an object). Nothing here
raises on a missing or oddly typed field: it is reported as absent.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from .statuses import classify

LOADER_COUNTERS = (
    "totalRecords",
    "totalDuplicates",
    "parsingErrors",
    "datatypeMismatchErrors",
    "insertErrors",
    "runNumber",
    "retryNumber",
    "totalTimeSpent",
)
IMPORT_COUNTERS = (
    "timeElapsedSeconds",
    "progressPercentage",
    "errorCount",
    "statementCount",
    "dictionaryEntryCount",
)
EXPORT_COUNTERS = ("timeElapsedSeconds", "progressPercentage", "numVerticesWritten", "numEdgesWritten")


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _num(value: Any) -> int | float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return value
    if isinstance(value, str):
        try:
            return float(value) if "." in value else int(value)
        except ValueError:
            return None
    return None


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _epoch(value: Any) -> float | None:
    """A service timestamp (unix seconds or milliseconds, a datetime, or the ISO-8601 string
    :func:`jsonable` makes of botocore's datetimes) as unix seconds."""
    if isinstance(value, str) and "T" in value:
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return None
    if isinstance(value, datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        return aware.timestamp()
    num = _num(value)
    if num is None:
        return None
    return num / 1000.0 if num > 1e11 else float(num)


def start_epoch(value: Any) -> float | None:
    """A job's reported start as unix seconds, when it is a timestamp in whole milliseconds (or
    coarser): a value with a fraction of a millisecond is in no unit either service uses (the
    loader reports epoch seconds, Neptune Analytics a ``timestamp``), so the unit is unknown and
    the value is not used for pacing. Whether the time itself is plausible is the poll policy's
    question (:func:`watcher.policy.plausible_start`)."""
    seconds = _epoch(value)
    if seconds is None:
        return None
    if isinstance(value, str) and "T" in value:
        value = datetime.fromisoformat(value)
    if isinstance(value, datetime):
        return seconds if value.microsecond % 1000 == 0 else None
    num = _num(value)
    millis = float(num) if num is not None and num > 1e11 else seconds * 1000.0
    if not math.isfinite(millis) or abs(millis - round(millis)) > 1e-3:
        return None
    return seconds


def _time(value: Any) -> str | None:
    """A service timestamp (unix seconds, milliseconds, datetime or ISO string) as ISO-8601."""
    seconds = _epoch(value)
    if seconds is not None:
        try:
            return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        except (OverflowError, ValueError, OSError):  # a number no calendar holds
            return None
    return _str(value)


def _kind_of(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _problem(status: str | None, *where: tuple[str, Any]) -> str | None:
    """Why no status could be read: the first of ``where`` (path, value) that is not what it
    should be (an object on the way, a non-empty string at the end); None when ``status`` was read."""
    if status is not None:
        return None
    *objects, (leaf, value) = where
    for path, obj in objects:
        if not isinstance(obj, dict):
            return f"{path} is {_kind_of(obj)}, not an object"
    return f"{leaf} is missing" if value is None else f"{leaf} is {_kind_of(value)} {str(value)[:40]!r}, not a status"


def _counters(source: dict[str, Any], names: tuple[str, ...]) -> dict[str, int | float]:
    out: dict[str, int | float] = {}
    for name in names:
        value = _num(source.get(name))
        if value is not None:
            out[name] = value
    return out


def loader_status(load_id: str, response: Any) -> dict[str, Any]:
    """GetLoaderJobStatus output (``{status, payload}``) as a normalised status."""
    body = _obj(response)
    payload = _obj(body.get("payload"))
    overall = _obj(payload.get("overallStatus"))
    status = _str(overall.get("status"))
    cls = classify("loader", status)
    problem = _problem(
        status,
        ("the answer", response),
        ("payload", body.get("payload")),
        ("payload.overallStatus", payload.get("overallStatus")),
        ("payload.overallStatus.status", overall.get("status")),
    )
    errors_obj = _obj(payload.get("errors"))
    logs = errors_obj.get("errorLogs")
    errors = [loader_error(e) for e in logs if isinstance(e, dict)] if isinstance(logs, list) else []
    feed_count = payload.get("feedCount")
    return {
        "kind": "loader",
        "id": load_id,
        "status": status,
        "phase": cls.phase.value,
        "known": cls.known,
        "rollingBack": cls.rolling_back,
        "problem": problem,
        "outcome": cls.outcome.value if cls.outcome else None,
        "statusReason": None,
        "counters": _counters(overall, LOADER_COUNTERS),
        "progress": {"percent": None},
        "startTime": _time(overall.get("startTime")),
        "startEpoch": start_epoch(overall.get("startTime")),
        "feedCount": feed_count if isinstance(feed_count, list) else None,
        "errors": errors,
        "errorsReturned": len(errors),
    }


def loader_error(entry: dict[str, Any]) -> dict[str, Any]:
    record = _num(entry.get("recordNum"))
    return {
        "code": _str(entry.get("errorCode")) or "UNKNOWN",
        "message": _str(entry.get("errorMessage")) or "",
        "file": _str(entry.get("fileName")),
        "record": int(record) if record is not None else None,
    }


def _analytics(kind: str, response: Any, details_key: str, names: tuple[str, ...]) -> dict[str, Any]:
    body = _obj(response)
    details = _obj(body.get(details_key))
    status = _str(body.get("status")) or _str(details.get("status"))
    cls = classify(kind, status)
    problem = _problem(status, ("the answer", response), ("status", body.get("status")))
    counters = _counters(details, names)
    percent = _num(details.get("progressPercentage"))
    errors: list[dict[str, Any]] = []
    error_text = _str(details.get("errorDetails"))
    if error_text:
        for line in error_text.splitlines():
            if line.strip():
                errors.append({"code": f"{kind.upper()}_ERROR", "message": line.strip(), "file": None, "record": None})
    return {
        "kind": kind,
        "id": _str(body.get("taskId")),
        "graphId": _str(body.get("graphId")),
        "status": status,
        "phase": cls.phase.value,
        "known": cls.known,
        "rollingBack": cls.rolling_back,
        "problem": problem,
        "outcome": cls.outcome.value if cls.outcome else None,
        "statusReason": _str(body.get("statusReason")),
        "counters": counters,
        "progress": {"percent": percent},
        "startTime": _time(details.get("startTime")),
        "startEpoch": start_epoch(details.get("startTime")),
        "errors": errors,
        "errorsReturned": len(errors),
    }


def import_status(response: Any) -> dict[str, Any]:
    return _analytics("import", response, "importTaskDetails", IMPORT_COUNTERS)


def export_status(response: Any) -> dict[str, Any]:
    return _analytics("export", response, "exportTaskDetails", EXPORT_COUNTERS)


def jsonable(value: Any) -> Any:
    """A botocore response as plain JSON (datetimes to ISO strings, metadata dropped)."""
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items() if k != "ResponseMetadata"}
    if isinstance(value, list):
        return [jsonable(v) for v in value]
    if isinstance(value, datetime):
        return _time(value)
    return value
