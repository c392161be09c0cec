"""Response bodies of the emulated operations, built from a job's current timeline entry.

Defaults follow the botocore output shapes; a scenario entry's ``counters`` override or extend
them verbatim.
"""

from __future__ import annotations

from typing import Any

from neptune_watch.emulator.state import LOADER_FAILED, LOADER_WITHOUT_FEEDS, JobState
from neptune_watch.scenario import ErrorSpec, TimelineEntry

INPUT_URI = "s3://neptune-watch-emulator/input/"
EXPORT_URI = "s3://neptune-watch-emulator/export/"
ROLE_ARN = "arn:aws:iam::123456789012:role/neptune-watch-emulator"
KMS_KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000000"

#: Counters that belong at the top level of an Analytics task, not in its *TaskDetails.
_IMPORT_TOP_LEVEL = frozenset(
    {"source", "format", "parquetType", "roleArn", "attemptNumber", "importOptions"}
)
_EXPORT_TOP_LEVEL = frozenset(
    {"format", "parquetType", "destination", "kmsKeyIdentifier", "roleArn", "exportFilter"}
)
#: Members of the Cancel*Output shapes.
CANCEL_IMPORT_FIELDS = ("graphId", "taskId", "source", "format", "parquetType", "roleArn", "status")
CANCEL_EXPORT_FIELDS = (
    "graphId",
    "roleArn",
    "taskId",
    "status",
    "format",
    "destination",
    "kmsKeyIdentifier",
    "parquetType",
    "statusReason",
)


class Clock:
    """Virtual ``now`` and the unix time of virtual 0, for rendering times."""

    def __init__(self, now: float, epoch: float) -> None:
        self.now = now
        self.epoch = epoch

    def unix(self, virtual: float) -> int:
        """Unix seconds of a virtual second."""
        return int(self.epoch + virtual)

    def elapsed(self, job: JobState, entry: TimelineEntry) -> int:
        """Whole seconds the job has run (frozen once it reached a terminal status)."""
        return max(0, int(job.reached_at(entry, self.now) - job.started_at))


# --- Neptune Database bulk loader -------------------------------------------------------------


def loader_overall_status(job: JobState, entry: TimelineEntry, clock: Clock) -> dict[str, Any]:
    """``payload.overallStatus``: defaults, then the entry's counters."""
    overall: dict[str, Any] = {
        "fullUri": job.params.get("source", INPUT_URI),
        "runNumber": 1,
        "retryNumber": 0,
        "status": entry.status,
        "totalTimeSpent": clock.elapsed(job, entry),
        "startTime": clock.unix(job.started_at),
        "totalRecords": 0,
        "totalDuplicates": 0,
        "parsingErrors": 0,
        "datatypeMismatchErrors": 0,
        "insertErrors": 0,
    }
    overall.update(entry.counters)
    return overall


def loader_payload(
    job: JobState,
    entry: TimelineEntry,
    clock: Clock,
    *,
    details: bool,
    errors_page: tuple[int, int] | None,
) -> dict[str, Any]:
    """The GetLoaderJobStatus payload; ``errors_page`` is (page, errorsPerPage) when asked."""
    overall = loader_overall_status(job, entry, clock)
    payload: dict[str, Any] = {"overallStatus": overall}
    if details:
        payload["failedFeeds"] = [dict(overall)] if entry.status in LOADER_FAILED else []
        if entry.status not in LOADER_WITHOUT_FEEDS:
            payload["feedCount"] = [{entry.status: 1}]
    if errors_page is not None:
        page, per_page = errors_page
        payload["errors"] = loader_error_page(job.spec.id, entry.errors, page, per_page)
    return payload


def loader_error_page(
    load_id: str, errors: list[ErrorSpec], page: int, per_page: int
) -> dict[str, Any]:
    """One page (1-based) of the error log; a page past the end has no errorLogs."""
    first = (page - 1) * per_page
    chosen = errors[first : first + per_page]
    return {
        "startIndex": first + 1,
        "endIndex": first + len(chosen),
        "loadId": load_id,
        "errorLogs": [_error_log(error) for error in chosen],
    }


def _error_log(error: ErrorSpec) -> dict[str, Any]:
    log: dict[str, Any] = {"errorCode": error.code, "errorMessage": error.message}
    if error.file is not None:
        log["fileName"] = error.file
    if error.record is not None:
        log["recordNum"] = error.record
    return log


# --- Neptune Analytics import / export tasks --------------------------------------------------


def import_task(job: JobState, entry: TimelineEntry, clock: Clock) -> dict[str, Any]:
    """The GetImportTask output."""
    task: dict[str, Any] = _task_identity(job, entry)
    task.update(source=INPUT_URI, format="CSV", roleArn=ROLE_ARN, attemptNumber=1)
    task.update({k: v for k, v in job.params.items() if k in _IMPORT_TOP_LEVEL})  # as started
    details: dict[str, Any] = {
        "status": entry.status,
        "startTime": clock.unix(job.started_at),
        "timeElapsedSeconds": clock.elapsed(job, entry),
        "progressPercentage": 0,
        "errorCount": len(entry.errors),
        "statementCount": 0,
        "dictionaryEntryCount": 0,
    }
    if entry.errors:
        details["errorDetails"] = "\n".join(_error_line(error) for error in entry.errors)
    _apply_counters(task, details, entry.counters, _IMPORT_TOP_LEVEL)
    task["importTaskDetails"] = details
    return task


def export_task(job: JobState, entry: TimelineEntry, clock: Clock) -> dict[str, Any]:
    """The GetExportTask output."""
    task: dict[str, Any] = _task_identity(job, entry)
    task.update(
        roleArn=ROLE_ARN,
        format="PARQUET",
        parquetType="COLUMNAR",
        destination=EXPORT_URI,
        kmsKeyIdentifier=KMS_KEY_ARN,
    )
    task.update({k: v for k, v in job.params.items() if k in _EXPORT_TOP_LEVEL})  # as started
    details: dict[str, Any] = {
        "startTime": clock.unix(job.started_at),
        "timeElapsedSeconds": clock.elapsed(job, entry),
        "progressPercentage": 0,
        "numVerticesWritten": 0,
        "numEdgesWritten": 0,
    }
    _apply_counters(task, details, entry.counters, _EXPORT_TOP_LEVEL)
    task["exportTaskDetails"] = details
    return task


def cancel_output(task: dict[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    """The members of a Cancel*Output shape, taken from the task as GET renders it."""
    return {name: task[name] for name in fields if name in task}


def _task_identity(job: JobState, entry: TimelineEntry) -> dict[str, Any]:
    task: dict[str, Any] = {}
    if job.spec.graphId is not None:
        task["graphId"] = job.spec.graphId
    task["taskId"] = job.spec.id
    task["status"] = entry.status
    if entry.statusReason is not None:
        task["statusReason"] = entry.statusReason
    return task


def _apply_counters(
    task: dict[str, Any],
    details: dict[str, Any],
    counters: dict[str, Any],
    top_level: frozenset[str],
) -> None:
    for name, value in counters.items():
        (task if name in top_level else details)[name] = value


def _error_line(error: ErrorSpec) -> str:
    where = [str(part) for part in (error.file, error.record) if part is not None]
    suffix = f" ({':'.join(where)})" if where else ""
    return f"{error.code}: {error.message}{suffix}"
