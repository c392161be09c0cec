"""The Neptune emulator, spoken to by real botocore clients over loopback HTTP."""

from __future__ import annotations

import http.client
import json
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import botocore.session
import pytest
from botocore.config import Config
from botocore.exceptions import ConnectionClosedError, ReadTimeoutError

from neptune_watch.emulator import UNROUTED, NeptuneEmulator, RecordedRequest
from neptune_watch.scenario import FaultSpec, JobSpec, load_scenario

EPOCH = 1_790_000_000.0
LOAD_ID = "4f1c2e0a-0000-4000-8000-000000000001"
IMPORT_ID = "t-import0001"
EXPORT_ID = "t-export0001"
NO_RETRIES = Config(retries={"mode": "standard", "total_max_attempts": 1})
BOTOCORE_MODELS = botocore.session.get_session()
SESSION = boto3.session.Session()


class FakeClock:
    """A virtual clock the test moves by hand."""

    def __init__(self, now: float = 0.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@dataclass
class Harness:
    emulator: NeptuneEmulator
    clock: FakeClock
    data: Any  # neptunedata client
    graph: Any  # neptune-graph client


def client(service: str, url: str, config: Config = NO_RETRIES) -> Any:
    return SESSION.client(
        service,
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
        config=config,
    )


def job(kind: str, id: str, *timeline: tuple[float, str] | dict[str, Any], **extra: Any) -> JobSpec:
    """A JobSpec from (at, status) pairs or full entry dicts."""
    entries = [
        entry if isinstance(entry, dict) else {"at": entry[0], "status": entry[1]}
        for entry in timeline
    ]
    return JobSpec.model_validate({"kind": kind, "id": id, "timeline": entries, **extra})


def fault(operation: str, calls: list[int], error: str) -> FaultSpec:
    return FaultSpec.model_validate({"operation": operation, "calls": calls, "error": error})


@pytest.fixture
def start() -> Iterator[Callable[..., Harness]]:
    """Start an emulator on a fake clock (stopped at teardown) with clients pointed at it."""
    started: list[NeptuneEmulator] = []

    def _start(*jobs: JobSpec, faults: tuple[FaultSpec, ...] = (), **kw: Any) -> Harness:
        fake = FakeClock()
        kw.setdefault("epoch", EPOCH)
        emulator = NeptuneEmulator(jobs=jobs, faults=faults, clock=fake, **kw)
        started.append(emulator)
        url = emulator.start()
        return Harness(emulator, fake, client("neptunedata", url), client("neptune-graph", url))

    yield _start
    for emulator in started:
        emulator.stop()


def body(response: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in response.items() if key != "ResponseMetadata"}


def raw_request(
    url: str, method: str, path: str, payload: bytes | None = None
) -> tuple[int, dict[str, str], Any]:
    host, port = url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=2)
    try:
        connection.request(method, path, body=payload)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), json.loads(response.read() or b"null")
    finally:
        connection.close()


# --- GetLoaderJobStatus ---------------------------------------------------------------------


def test_loader_status_defaults_and_counters(start: Callable[..., Harness]) -> None:
    h = start(
        job(
            "loader",
            LOAD_ID,
            (30, "LOAD_IN_QUEUE"),
            {
                "at": 60,
                "status": "LOAD_IN_PROGRESS",
                "counters": {"totalRecords": 5000, "insertErrors": 2, "custom": "kept"},
            },
        )
    )
    h.clock.now = 100

    response = h.data.get_loader_job_status(loadId=LOAD_ID)

    assert response["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert body(response) == {
        "status": "200 OK",
        "payload": {
            "overallStatus": {
                "fullUri": "s3://neptune-watch-emulator/input/",
                "runNumber": 1,
                "retryNumber": 0,
                "status": "LOAD_IN_PROGRESS",
                "totalTimeSpent": 70,
                "startTime": int(EPOCH) + 30,
                "totalRecords": 5000,
                "totalDuplicates": 0,
                "parsingErrors": 0,
                "datatypeMismatchErrors": 0,
                "insertErrors": 2,
                "custom": "kept",
            }
        },
    }


def test_loader_details_for_a_running_load(start: Callable[..., Harness]) -> None:
    h = start(job("loader", LOAD_ID, (0, "LOAD_IN_PROGRESS")))

    payload = h.data.get_loader_job_status(loadId=LOAD_ID, details=True)["payload"]

    assert payload["failedFeeds"] == []
    assert payload["feedCount"] == [{"LOAD_IN_PROGRESS": 1}]
    assert "errors" not in payload


@pytest.mark.parametrize("status", ["LOAD_IN_QUEUE", "LOAD_NOT_STARTED"])
def test_loader_details_omit_feed_count_before_the_load_starts(
    start: Callable[..., Harness], status: str
) -> None:
    h = start(job("loader", LOAD_ID, (0, status)))

    payload = h.data.get_loader_job_status(loadId=LOAD_ID, details=True)["payload"]

    assert "feedCount" not in payload
    assert payload["failedFeeds"] == []
    assert payload["overallStatus"]["status"] == status


def test_loader_details_of_a_failed_load_have_a_failed_feed(start: Callable[..., Harness]) -> None:
    h = start(
        job(
            "loader",
            LOAD_ID,
            (0, "LOAD_IN_PROGRESS"),
            {
                "at": 50,
                "status": "LOAD_FAILED",
                "counters": {"parsingErrors": 3},
            },
        )
    )
    h.clock.now = 80

    payload = h.data.get_loader_job_status(loadId=LOAD_ID, details=True)["payload"]

    assert payload["feedCount"] == [{"LOAD_FAILED": 1}]
    [feed] = payload["failedFeeds"]
    assert feed["status"] == "LOAD_FAILED"
    assert feed["parsingErrors"] == 3
    assert payload["overallStatus"]["totalTimeSpent"] == 50  # frozen once the load ended


def _errors(count: int) -> list[dict[str, Any]]:
    return [
        {"code": "PARSING_ERROR", "message": f"bad row {n}", "file": "s3://b/v.csv", "record": n}
        for n in range(1, count + 1)
    ]


def test_loader_error_pages(start: Callable[..., Harness]) -> None:
    h = start(job("loader", LOAD_ID, {"at": 0, "status": "LOAD_FAILED", "errors": _errors(12)}))

    def page(**kw: Any) -> dict[str, Any]:
        return h.data.get_loader_job_status(loadId=LOAD_ID, errors=True, **kw)["payload"]["errors"]

    first = page()
    assert (first["startIndex"], first["endIndex"], first["loadId"]) == (1, 10, LOAD_ID)
    assert first["errorLogs"][0] == {
        "errorCode": "PARSING_ERROR",
        "errorMessage": "bad row 1",
        "fileName": "s3://b/v.csv",
        "recordNum": 1,
    }
    assert [log["recordNum"] for log in page(page=2)["errorLogs"]] == [11, 12]
    third = page(page=3, errorsPerPage=5)
    assert (third["startIndex"], third["endIndex"]) == (11, 12)
    assert [log["recordNum"] for log in third["errorLogs"]] == [11, 12]
    assert page(page=4, errorsPerPage=5)["errorLogs"] == []
    assert page(page=2, errorsPerPage=3)["errorLogs"][0]["errorMessage"] == "bad row 4"


def test_loader_error_log_omits_missing_file_and_record(start: Callable[..., Harness]) -> None:
    h = start(
        job(
            "loader",
            LOAD_ID,
            {
                "at": 0,
                "status": "LOAD_FAILED",
                "errors": [{"code": "X", "message": "m"}],
            },
        )
    )

    payload = h.data.get_loader_job_status(loadId=LOAD_ID, errors=True)["payload"]

    assert payload["errors"]["errorLogs"] == [{"errorCode": "X", "errorMessage": "m"}]


@pytest.mark.parametrize("query", ["page=0", "errorsPerPage=0", "page=abc", "details=maybe"])
def test_loader_bad_parameters_are_invalid_parameter(
    start: Callable[..., Harness], query: str
) -> None:
    h = start(job("loader", LOAD_ID, (0, "LOAD_FAILED")))
    status, _, error = raw_request(h.emulator.url, "GET", f"/loader/{LOAD_ID}?errors=true&{query}")

    assert status == 400
    assert error["code"] == "InvalidParameterException"


def test_loader_page_below_one_through_botocore(start: Callable[..., Harness]) -> None:
    h = start(job("loader", LOAD_ID, (0, "LOAD_FAILED")))
    unchecked = client(
        "neptunedata", h.emulator.url, NO_RETRIES.merge(Config(parameter_validation=False))
    )

    with pytest.raises(unchecked.exceptions.InvalidParameterException) as caught:
        unchecked.get_loader_job_status(loadId=LOAD_ID, errors=True, page=0)

    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_loader_raw_body_is_returned_verbatim(start: Callable[..., Harness]) -> None:
    raw = {"status": "200 OK", "payload": {"overallStatus": {"status": "LOAD_IN_PROGRESS"}}}
    h = start(job("loader", LOAD_ID, {"at": 0, "status": "LOAD_IN_PROGRESS", "raw": raw}))

    response = h.data.get_loader_job_status(loadId=LOAD_ID, details=True, errors=True)

    assert body(response) == raw  # no startTime, no feedCount, no errors: nothing added


def test_loader_raw_body_with_odd_fields(start: Callable[..., Harness]) -> None:
    raw = {
        "status": "200 OK",
        "payload": {
            "overallStatus": {"status": "LOAD_WHATEVER", "totalRecords": "many"},
            "feedCount": [{"A": 1}, {"B": 2}],
            "extra": [1],
        },
    }
    h = start(job("loader", LOAD_ID, {"at": 0, "status": "LOAD_WHATEVER", "raw": raw}))

    assert body(h.data.get_loader_job_status(loadId=LOAD_ID)) == raw


def test_loader_timeline_follows_the_clock(start: Callable[..., Harness]) -> None:
    h = start(
        job(
            "loader",
            LOAD_ID,
            (10, "LOAD_IN_QUEUE"),
            (120, "LOAD_IN_PROGRESS"),
            (5400, "LOAD_COMPLETED"),
        )
    )

    def status() -> str:
        return h.data.get_loader_job_status(loadId=LOAD_ID)["payload"]["overallStatus"]["status"]

    with pytest.raises(h.data.exceptions.BulkLoadIdNotFoundException):
        status()  # virtual 0: the load does not exist yet
    seen = []
    for now in (10, 119.9, 120, 5399, 5400, 10_000):
        h.clock.now = now
        seen.append(status())
    assert seen == [
        "LOAD_IN_QUEUE",
        "LOAD_IN_QUEUE",
        "LOAD_IN_PROGRESS",
        "LOAD_IN_PROGRESS",
        "LOAD_COMPLETED",
        "LOAD_COMPLETED",
    ]


# --- GetImportTask / GetExportTask ----------------------------------------------------------


def test_import_task_body(start: Callable[..., Harness]) -> None:
    h = start(
        job(
            "import",
            IMPORT_ID,
            (5, "INITIALIZING"),
            {
                "at": 20,
                "status": "IMPORTING",
                "statusReason": "going",
                "counters": {"progressPercentage": 40, "statementCount": 1000, "attemptNumber": 2},
            },
            graphId="g-abcdefghij",
        )
    )
    h.clock.now = 25

    task = body(h.graph.get_import_task(taskIdentifier=IMPORT_ID))

    details = task.pop("importTaskDetails")
    assert task == {
        "graphId": "g-abcdefghij",
        "taskId": IMPORT_ID,
        "source": "s3://neptune-watch-emulator/input/",
        "format": "CSV",
        "roleArn": "arn:aws:iam::123456789012:role/neptune-watch-emulator",
        "status": "IMPORTING",
        "statusReason": "going",
        "attemptNumber": 2,
    }
    assert details.pop("startTime").timestamp() == EPOCH + 5
    assert details == {
        "status": "IMPORTING",
        "timeElapsedSeconds": 20,
        "progressPercentage": 40,
        "errorCount": 0,
        "statementCount": 1000,
        "dictionaryEntryCount": 0,
    }


def test_import_task_error_details(start: Callable[..., Harness]) -> None:
    errors = [
        {"code": "PARSING_ERROR", "message": "bad row", "file": "s3://b/v.csv", "record": 7},
        {"code": "S3_ERROR", "message": "gone"},
    ]
    h = start(job("import", IMPORT_ID, {"at": 0, "status": "FAILED", "errors": errors}))

    details = h.graph.get_import_task(taskIdentifier=IMPORT_ID)["importTaskDetails"]

    assert details["errorCount"] == 2
    assert details["errorDetails"] == "PARSING_ERROR: bad row (s3://b/v.csv:7)\nS3_ERROR: gone"


def test_export_task_body(start: Callable[..., Harness]) -> None:
    h = start(
        job(
            "export",
            EXPORT_ID,
            {
                "at": 0,
                "status": "EXPORTING",
                "counters": {"numVerticesWritten": 12, "format": "CSV"},
            },
        )
    )
    h.clock.now = 9.5

    task = body(h.graph.get_export_task(taskIdentifier=EXPORT_ID))

    details = task.pop("exportTaskDetails")
    assert task == {
        "graphId": "g-0123456789",
        "roleArn": "arn:aws:iam::123456789012:role/neptune-watch-emulator",
        "taskId": EXPORT_ID,
        "status": "EXPORTING",
        "format": "CSV",
        "parquetType": "COLUMNAR",
        "destination": "s3://neptune-watch-emulator/export/",
        "kmsKeyIdentifier": (
            "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000000"
        ),
    }
    assert details.pop("startTime").timestamp() == EPOCH
    assert details == {
        "timeElapsedSeconds": 9,
        "progressPercentage": 0,
        "numVerticesWritten": 12,
        "numEdgesWritten": 0,
    }


@pytest.mark.parametrize("kind", ["import", "export"])
def test_task_raw_body_is_returned_verbatim(start: Callable[..., Harness], kind: str) -> None:
    task_id = IMPORT_ID if kind == "import" else EXPORT_ID
    partial = {"taskId": task_id, "status": "SOMETHING_NEW"}  # required members missing
    raw = {**partial, "notInTheModel": [1, 2]}
    h = start(job(kind, task_id, {"at": 0, "status": "SOMETHING_NEW", "raw": raw}))
    get = h.graph.get_import_task if kind == "import" else h.graph.get_export_task
    path = f"/{kind}tasks/{task_id}"

    assert body(get(taskIdentifier=task_id)) == partial  # botocore drops unmodeled members
    assert raw_request(h.emulator.url, "GET", path)[::2] == (200, raw)


def test_task_timeline_follows_the_clock(start: Callable[..., Harness]) -> None:
    h = start(job("export", EXPORT_ID, (0, "INITIALIZING"), (60, "EXPORTING"), (600, "SUCCEEDED")))

    seen = []
    for now in (0, 59, 60, 599, 600, 9999):
        h.clock.now = now
        seen.append(h.graph.get_export_task(taskIdentifier=EXPORT_ID)["status"])

    assert seen == [
        "INITIALIZING",
        "INITIALIZING",
        "EXPORTING",
        "EXPORTING",
        "SUCCEEDED",
        "SUCCEEDED",
    ]


# --- not found ------------------------------------------------------------------------------


def test_unknown_and_not_yet_started_ids_are_not_found(start: Callable[..., Harness]) -> None:
    h = start(
        job("loader", LOAD_ID, (0, "LOAD_IN_PROGRESS")),
        job("import", IMPORT_ID, (100, "INITIALIZING")),
        job("export", EXPORT_ID, (0, "EXPORTING")),
    )
    calls: list[tuple[Any, Callable[[], Any], str]] = [
        (
            h.data,
            lambda: h.data.get_loader_job_status(loadId="nope"),
            "BulkLoadIdNotFoundException",
        ),
        (
            h.data,
            lambda: h.data.get_loader_job_status(loadId=IMPORT_ID),
            "BulkLoadIdNotFoundException",
        ),
        (
            h.graph,
            lambda: h.graph.get_import_task(taskIdentifier="t-nope000000"),
            "ResourceNotFoundException",
        ),
        (
            h.graph,
            lambda: h.graph.get_import_task(taskIdentifier=IMPORT_ID),
            "ResourceNotFoundException",
        ),
        (
            h.graph,
            lambda: h.graph.get_export_task(taskIdentifier=IMPORT_ID),
            "ResourceNotFoundException",
        ),
        (
            h.graph,
            lambda: h.graph.get_import_task(taskIdentifier=EXPORT_ID),
            "ResourceNotFoundException",
        ),
    ]
    for service_client, call, code in calls:
        with pytest.raises(getattr(service_client.exceptions, code)) as caught:
            call()
        assert caught.value.response["Error"]["Code"] == code
        assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_loader_error_text_is_in_detailed_message(start: Callable[..., Harness]) -> None:
    h = start()

    with pytest.raises(h.data.exceptions.BulkLoadIdNotFoundException) as caught:
        h.data.get_loader_job_status(loadId="gone")

    response = caught.value.response
    assert response["Error"]["Message"] == ""  # as with the real service (NEPTUNE.md)
    assert "gone" in response["detailedMessage"]
    assert response["code"] == "BulkLoadIdNotFoundException"
    assert response["requestId"]
    assert "x-amzn-errortype" not in response["ResponseMetadata"]["HTTPHeaders"]


def test_graph_error_has_message_and_error_type_header(start: Callable[..., Harness]) -> None:
    h = start()

    with pytest.raises(h.graph.exceptions.ResourceNotFoundException) as caught:
        h.graph.get_export_task(taskIdentifier="t-gone000000")

    response = caught.value.response
    assert "t-gone000000" in response["Error"]["Message"]
    assert response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-errortype"] == (
        "ResourceNotFoundException"
    )
    assert response["ResponseMetadata"]["RequestId"]


# --- faults ---------------------------------------------------------------------------------

OPERATION_CALLS: dict[str, tuple[str, str, dict[str, str]]] = {
    "GetLoaderJobStatus": ("neptunedata", "get_loader_job_status", {"loadId": LOAD_ID}),
    "CancelLoaderJob": ("neptunedata", "cancel_loader_job", {"loadId": LOAD_ID}),
    "ListLoaderJobs": ("neptunedata", "list_loader_jobs", {}),
    "GetImportTask": ("neptune-graph", "get_import_task", {"taskIdentifier": IMPORT_ID}),
    "CancelImportTask": ("neptune-graph", "cancel_import_task", {"taskIdentifier": IMPORT_ID}),
    "GetExportTask": ("neptune-graph", "get_export_task", {"taskIdentifier": EXPORT_ID}),
    "CancelExportTask": ("neptune-graph", "cancel_export_task", {"taskIdentifier": EXPORT_ID}),
}


def _modeled_errors() -> list[Any]:
    cases = []
    for operation, (service, _, _) in OPERATION_CALLS.items():
        model = BOTOCORE_MODELS.get_service_model(service).operation_model(operation)
        for shape in model.error_shapes:
            status = shape.metadata["error"]["httpStatusCode"]
            cases.append(
                pytest.param(operation, shape.name, status, id=f"{operation}-{shape.name}")
            )
    return cases


def _running_jobs() -> tuple[JobSpec, ...]:
    return (
        job("loader", LOAD_ID, (0, "LOAD_IN_PROGRESS")),
        job("import", IMPORT_ID, (0, "IMPORTING")),
        job("export", EXPORT_ID, (0, "EXPORTING")),
    )


def _call(h: Harness, operation: str) -> dict[str, Any]:
    service, method, params = OPERATION_CALLS[operation]
    service_client = h.data if service == "neptunedata" else h.graph
    return getattr(service_client, method)(**params)


def _status(h: Harness, operation: str) -> str:
    if "Loader" in operation:
        return h.data.get_loader_job_status(loadId=LOAD_ID)["payload"]["overallStatus"]["status"]
    if "Import" in operation:
        return h.graph.get_import_task(taskIdentifier=IMPORT_ID)["status"]
    return h.graph.get_export_task(taskIdentifier=EXPORT_ID)["status"]


@pytest.mark.parametrize(("operation", "error", "http_status"), _modeled_errors())
def test_every_modeled_error_is_raised_as_its_botocore_exception(
    start: Callable[..., Harness], operation: str, error: str, http_status: int
) -> None:
    h = start(*_running_jobs(), faults=(fault(operation, [1], error),))
    service_client = h.data if OPERATION_CALLS[operation][0] == "neptunedata" else h.graph

    with pytest.raises(getattr(service_client.exceptions, error)) as caught:
        _call(h, operation)

    assert caught.value.response["Error"]["Code"] == error
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == http_status
    assert _status(h, operation) in {"LOAD_IN_PROGRESS", "IMPORTING", "EXPORTING"}


@pytest.mark.parametrize(
    ("operation", "error", "http_status"),
    [
        ("GetLoaderJobStatus", "S3Exception", 400),
        ("GetLoaderJobStatus", "ThrottlingException", 500),  # neptunedata's is a 500
        ("CancelLoaderJob", "AccessDeniedException", 403),
        ("GetImportTask", "ConflictException", 409),
        ("GetExportTask", "ServiceQuotaExceededException", 402),
    ],
)
def test_service_errors_outside_the_operation_model_work_too(
    start: Callable[..., Harness], operation: str, error: str, http_status: int
) -> None:
    h = start(*_running_jobs(), faults=(fault(operation, [1], error),))
    service_client = h.data if OPERATION_CALLS[operation][0] == "neptunedata" else h.graph

    with pytest.raises(getattr(service_client.exceptions, error)) as caught:
        _call(h, operation)

    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == http_status


def test_faults_hit_the_nth_calls_and_every_call_is_counted(start: Callable[..., Harness]) -> None:
    h = start(
        *_running_jobs(),
        faults=(
            fault("GetLoaderJobStatus", [2, 3], "TooManyRequests"),
            fault("GetImportTask", [1], "InternalServerException"),
        ),
    )
    outcomes = []
    for now in range(5):
        h.clock.now = now
        try:
            h.data.get_loader_job_status(loadId=LOAD_ID, details=True)
            outcomes.append("ok")
        except h.data.exceptions.TooManyRequestsException:
            outcomes.append("429")
    with pytest.raises(h.graph.exceptions.InternalServerException):
        h.graph.get_import_task(taskIdentifier=IMPORT_ID)
    h.graph.get_import_task(taskIdentifier=IMPORT_ID)

    assert outcomes == ["ok", "429", "429", "ok", "ok"]
    assert h.emulator.calls == {"GetLoaderJobStatus": 5, "GetImportTask": 2}
    assert h.emulator.requests[1] == RecordedRequest(
        "GetLoaderJobStatus", "GET", f"/loader/{LOAD_ID}", {"details": "true"}, 1
    )
    assert [request.at for request in h.emulator.requests] == [0, 1, 2, 3, 4, 4, 4]


def test_faulted_cancel_does_not_cancel(start: Callable[..., Harness]) -> None:
    h = start(*_running_jobs(), faults=(fault("CancelLoaderJob", [1], "InternalFailure"),))

    with pytest.raises(h.data.exceptions.InternalFailureException):
        h.data.cancel_loader_job(loadId=LOAD_ID)
    assert _status(h, "CancelLoaderJob") == "LOAD_IN_PROGRESS"
    h.data.cancel_loader_job(loadId=LOAD_ID)
    assert _status(h, "CancelLoaderJob") == "LOAD_CANCELLED_BY_USER"


def test_timeout_fault_makes_botocore_time_out(start: Callable[..., Harness]) -> None:
    h = start(
        *_running_jobs(), faults=(fault("GetExportTask", [1], "Timeout"),), timeout_hold_seconds=0.3
    )
    impatient = client("neptune-graph", h.emulator.url, NO_RETRIES.merge(Config(read_timeout=0.1)))

    with pytest.raises(ReadTimeoutError):
        impatient.get_export_task(taskIdentifier=EXPORT_ID)
    assert impatient.get_export_task(taskIdentifier=EXPORT_ID)["status"] == "EXPORTING"
    assert h.emulator.calls["GetExportTask"] == 2


def test_timeout_fault_closes_the_connection_unanswered_at_its_bound(start: Callable[..., Harness]) -> None:
    h = start(
        *_running_jobs(),
        faults=(fault("GetLoaderJobStatus", [1], "Timeout"),),
        timeout_hold_seconds=0.1,
    )
    patient = client("neptunedata", h.emulator.url, NO_RETRIES.merge(Config(read_timeout=2)))

    with pytest.raises(ConnectionClosedError):
        patient.get_loader_job_status(loadId=LOAD_ID)


def test_stop_releases_held_requests_at_once() -> None:
    emulator = NeptuneEmulator(
        faults=[fault("GetLoaderJobStatus", [1], "Timeout")], timeout_hold_seconds=30
    )
    url = emulator.start()
    slow = client("neptunedata", url, NO_RETRIES.merge(Config(read_timeout=5)))
    errors: list[BaseException] = []

    def call() -> None:
        try:
            slow.get_loader_job_status(loadId=LOAD_ID)
        except Exception as exc:
            errors.append(exc)

    caller = threading.Thread(target=call)
    caller.start()
    while not emulator.calls:
        threading.Event().wait(0.01)
    emulator.stop()
    caller.join(timeout=2)

    assert not caller.is_alive()
    assert isinstance(errors[0], ConnectionClosedError)


# --- cancel ---------------------------------------------------------------------------------


def test_cancel_a_running_load(start: Callable[..., Harness]) -> None:
    h = start(
        job(
            "loader",
            LOAD_ID,
            (0, "LOAD_IN_QUEUE"),
            {
                "at": 10,
                "status": "LOAD_IN_PROGRESS",
                "counters": {"totalRecords": 70},
            },
            (100, "LOAD_COMPLETED"),
        )
    )
    h.clock.now = 50

    response = h.data.cancel_loader_job(loadId=LOAD_ID)

    assert body(response) == {"status": "200 OK"}
    h.clock.now = 500  # the completion that was scheduled at 100 never happens
    overall = h.data.get_loader_job_status(loadId=LOAD_ID)["payload"]["overallStatus"]
    assert overall["status"] == "LOAD_CANCELLED_BY_USER"
    assert overall["totalRecords"] == 70
    assert overall["totalTimeSpent"] == 50
    state = h.emulator.job_state("loader", LOAD_ID)
    assert state is not None
    assert (state["status"], state["since"], state["cancelledAt"]) == (
        "LOAD_CANCELLED_BY_USER",
        50,
        50,
    )


@pytest.mark.parametrize(
    "status", ["LOAD_COMPLETED", "LOAD_FAILED", "LOAD_CANCELLED_BY_USER", "LOAD_SOMETHING_NEW"]
)
def test_cancel_a_load_that_is_not_active(start: Callable[..., Harness], status: str) -> None:
    h = start(job("loader", LOAD_ID, (0, status)))

    with pytest.raises(h.data.exceptions.BulkLoadIdNotFoundException) as caught:
        h.data.cancel_loader_job(loadId=LOAD_ID)

    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert "not active" in caught.value.response["detailedMessage"]


def test_cancel_an_unknown_or_future_load(start: Callable[..., Harness]) -> None:
    h = start(job("loader", LOAD_ID, (10, "LOAD_IN_QUEUE")))

    for load_id in ("nope", LOAD_ID):
        with pytest.raises(h.data.exceptions.BulkLoadIdNotFoundException):
            h.data.cancel_loader_job(loadId=load_id)
    h.clock.now = 10
    assert _status(h, "CancelLoaderJob") == "LOAD_IN_QUEUE"


TASKS = {
    "import": (IMPORT_ID, "IMPORTING", "cancel_import_task", "get_import_task"),
    "export": (EXPORT_ID, "EXPORTING", "cancel_export_task", "get_export_task"),
}


@pytest.mark.parametrize("kind", ["import", "export"])
def test_cancel_a_running_task_at_once(start: Callable[..., Harness], kind: str) -> None:
    task_id, running, cancel, get = TASKS[kind]
    h = start(job(kind, task_id, (0, running), (100, "SUCCEEDED")))
    h.clock.now = 30

    response = body(getattr(h.graph, cancel)(taskIdentifier=task_id))

    assert response["status"] == "CANCELLED"
    assert response["taskId"] == task_id
    assert response["roleArn"]
    h.clock.now = 1000
    assert getattr(h.graph, get)(taskIdentifier=task_id)["status"] == "CANCELLED"


@pytest.mark.parametrize("kind", ["import", "export"])
def test_cancel_a_running_task_with_a_delay(start: Callable[..., Harness], kind: str) -> None:
    task_id, running, cancel, get = TASKS[kind]
    h = start(job(kind, task_id, (0, running), (100, "SUCCEEDED"), cancelDelaySeconds=30))
    h.clock.now = 50

    assert getattr(h.graph, cancel)(taskIdentifier=task_id)["status"] == "CANCELLING"
    seen = []
    for now in (50, 79, 80, 500):
        h.clock.now = now
        seen.append(getattr(h.graph, get)(taskIdentifier=task_id)["status"])
    assert seen == ["CANCELLING", "CANCELLING", "CANCELLED", "CANCELLED"]


@pytest.mark.parametrize("kind", ["import", "export"])
@pytest.mark.parametrize("status", ["SUCCEEDED", "FAILED", "CANCELLED", "CANCELLING", "DELETED"])
def test_cancel_a_task_that_cannot_be_cancelled_is_a_conflict(
    start: Callable[..., Harness], kind: str, status: str
) -> None:
    task_id, _, cancel, _ = TASKS[kind]
    h = start(job(kind, task_id, (0, status)))

    with pytest.raises(h.graph.exceptions.ConflictException) as caught:
        getattr(h.graph, cancel)(taskIdentifier=task_id)

    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 409
    assert caught.value.response["reason"] == "CONCURRENT_MODIFICATION"
    assert status in caught.value.response["Error"]["Message"]


@pytest.mark.parametrize("kind", ["import", "export"])
def test_cancel_an_unknown_task(start: Callable[..., Harness], kind: str) -> None:
    _, _, cancel, _ = TASKS[kind]
    h = start()

    with pytest.raises(h.graph.exceptions.ResourceNotFoundException):
        getattr(h.graph, cancel)(taskIdentifier="t-unknown000")


def test_a_second_cancel_of_a_cancelling_task_conflicts(start: Callable[..., Harness]) -> None:
    h = start(job("import", IMPORT_ID, (0, "ANALYZING_DATA"), cancelDelaySeconds=5))

    h.graph.cancel_import_task(taskIdentifier=IMPORT_ID)
    with pytest.raises(h.graph.exceptions.ConflictException):
        h.graph.cancel_import_task(taskIdentifier=IMPORT_ID)


# --- retries, routing, robustness ------------------------------------------------------------


def test_default_retry_config_resends_a_bulk_load_id_not_found(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """NEPTUNE.md's retry gotcha: the model marks BulkLoadIdNotFoundException retryable."""
    for name in ("AWS_RETRY_MODE", "AWS_MAX_ATTEMPTS", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/neptune-watch-test")
    with NeptuneEmulator() as emulator:
        default = boto3.session.Session().client(
            "neptunedata",
            endpoint_url=emulator.url,
            region_name="us-east-1",
            aws_access_key_id="x",
            aws_secret_access_key="x",
        )

        with pytest.raises(default.exceptions.BulkLoadIdNotFoundException) as caught:
            default.get_loader_job_status(loadId="old-load")

    assert emulator.calls["GetLoaderJobStatus"] == 3  # 1 call + 2 retries of a 404
    assert caught.value.response["ResponseMetadata"]["RetryAttempts"] == 2


def test_default_retry_config_does_not_resend_resource_not_found(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The Analytics 404 is not modeled retryable: sent once."""
    for name in ("AWS_RETRY_MODE", "AWS_MAX_ATTEMPTS", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/neptune-watch-test")
    with NeptuneEmulator() as emulator:
        default = boto3.session.Session().client(
            "neptune-graph",
            endpoint_url=emulator.url,
            region_name="us-east-1",
            aws_access_key_id="x",
            aws_secret_access_key="x",
        )
        with pytest.raises(default.exceptions.ResourceNotFoundException):
            default.get_import_task(taskIdentifier="t-gone000000")

    assert emulator.calls["GetImportTask"] == 1


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        ("PUT", "/loader", 400, "UnsupportedOperationException"),  # POST /loader: StartLoaderJob
        ("DELETE", "/loader", 400, "UnsupportedOperationException"),  # no loadId: nothing to cancel
        ("PUT", f"/loader/{LOAD_ID}", 400, "UnsupportedOperationException"),
        ("GET", f"/loader/{LOAD_ID}/extra", 400, "UnsupportedOperationException"),
        ("GET", "/graphs/g-0123456789/importtasks", 400, "ValidationException"),  # POST: StartImportTask
        ("PATCH", f"/importtasks/{IMPORT_ID}", 400, "ValidationException"),
        ("GET", "/", 404, "UnknownOperationException"),
        ("DELETE", "/nothing/here?x=1", 404, "UnknownOperationException"),
    ],
)
def test_unrouted_requests_get_an_error_body(
    start: Callable[..., Harness], method: str, path: str, status: int, code: str
) -> None:
    h = start(*_running_jobs())

    got_status, headers, error = raw_request(h.emulator.url, method, path, b"{}")

    assert got_status == status
    assert headers["Content-Type"] == "application/json"
    assert code in (error.get("code"), headers.get("x-amzn-ErrorType"))
    assert h.emulator.calls == {}
    assert h.emulator.requests[-1].operation == UNROUTED


def test_server_survives_garbage_and_logs_nothing(
    start: Callable[..., Harness], capfd: pytest.CaptureFixture[str]
) -> None:
    h = start(*_running_jobs())
    host, port = h.emulator.url.removeprefix("http://").split(":")
    for garbage in (b"\x00\xff nonsense\r\n\r\n", b"GET\r\n\r\n", b""):
        with socket.create_connection((host, int(port)), timeout=2) as sock:
            sock.sendall(garbage)
            sock.shutdown(socket.SHUT_WR)
            sock.recv(65536)

    assert _status(h, "GetLoaderJobStatus") == "LOAD_IN_PROGRESS"
    with pytest.raises(h.data.exceptions.BulkLoadIdNotFoundException):
        h.data.get_loader_job_status(loadId="nope")
    captured = capfd.readouterr()
    assert (captured.out, captured.err) == ("", "")


def test_concurrent_requests_are_all_counted(start: Callable[..., Harness]) -> None:
    h = start(*_running_jobs())
    results: list[str] = []

    def poll() -> None:
        for _ in range(5):
            results.append(_status(h, "GetImportTask"))

    threads = [threading.Thread(target=poll) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=5)

    assert results == ["IMPORTING"] * 20
    assert h.emulator.calls["GetImportTask"] == 20
    assert len(h.emulator.requests) == 20


# --- lifecycle and API ----------------------------------------------------------------------


def test_default_clock_is_real_time_since_start() -> None:
    emulator = NeptuneEmulator(
        jobs=[job("loader", LOAD_ID, (0, "LOAD_IN_PROGRESS"), (3600, "LOAD_COMPLETED"))]
    )
    state = emulator.job_state("loader", LOAD_ID)
    assert state is not None
    assert state["status"] == "LOAD_IN_PROGRESS"
    with emulator:
        data = client("neptunedata", emulator.url)
        overall = data.get_loader_job_status(loadId=LOAD_ID)["payload"]["overallStatus"]

    assert overall["status"] == "LOAD_IN_PROGRESS"
    assert 0 <= emulator.requests[0].at < 5


def test_lifecycle_is_idempotent_and_url_needs_a_start() -> None:
    emulator = NeptuneEmulator()
    with pytest.raises(RuntimeError):
        _ = emulator.url

    url = emulator.start()
    assert url.startswith("http://127.0.0.1:")
    assert emulator.start() == url == emulator.url
    emulator.stop()
    emulator.stop()
    with pytest.raises(RuntimeError):
        _ = emulator.url


def test_add_job_while_running_and_job_state(start: Callable[..., Harness]) -> None:
    h = start()
    h.emulator.add_job(job("export", EXPORT_ID, (20, "INITIALIZING")))

    assert h.emulator.job_state("export", EXPORT_ID) == {
        "kind": "export",
        "id": EXPORT_ID,
        "status": None,
        "since": None,
        "counters": {},
        "statusReason": None,
        "errors": 0,
        "cancelledAt": None,
        "startsAt": 20,
    }
    h.clock.now = 20
    assert h.graph.get_export_task(taskIdentifier=EXPORT_ID)["status"] == "INITIALIZING"
    assert h.emulator.job_state("import", EXPORT_ID) is None
    with pytest.raises(ValueError, match="already has"):
        h.emulator.add_job(job("export", EXPORT_ID, (0, "EXPORTING")))


def test_from_scenario_plays_the_contract_example() -> None:
    scenario = load_scenario(
        {
            "request": {"job": {"kind": "loader", "id": LOAD_ID}},
            "job": {
                "kind": "loader",
                "id": LOAD_ID,
                "timeline": [
                    {"at": 0, "status": "LOAD_IN_QUEUE"},
                    {"at": 120, "status": "LOAD_IN_PROGRESS", "counters": {"totalRecords": 5000}},
                ],
            },
            "faults": [
                {"operation": "GetLoaderJobStatus", "calls": [2], "error": "TooManyRequests"}
            ],
        }
    )
    fake = FakeClock(130)

    with NeptuneEmulator.from_scenario(scenario, clock=fake, epoch=EPOCH) as emulator:
        data = client("neptunedata", emulator.url)
        first = data.get_loader_job_status(loadId=LOAD_ID)["payload"]["overallStatus"]
        with pytest.raises(data.exceptions.TooManyRequestsException) as caught:
            data.get_loader_job_status(loadId=LOAD_ID)

    assert (first["status"], first["totalRecords"], first["totalTimeSpent"]) == (
        "LOAD_IN_PROGRESS",
        5000,
        130,
    )
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 429


# --- the loader's query forms (graph-notebook's client) ----------------------------------------
# https://docs.aws.amazon.com/neptune/latest/userguide/load-api-reference-status-requests.html:
# GET /loader?loadId=..., GET /loader/{loadId} and GET /loader (a list of load ids: limit 1-100,
# default 100; includeQueuedLoads default TRUE, queued loads first, most recently queued first).
# graph-notebook (src/graph_notebook/neptune/client.py) sends load_status as
# GET /loader?loadId=..&details=..&errors=..&page=..&errorsPerPage=.. (requests writes True as
# "True") and cancel_load as DELETE /loader?loadId=...


def test_get_loader_query_form_answers_like_the_path_form(start: Callable[..., Harness]) -> None:
    errors = [{"code": "PARSING_ERROR", "message": f"row {i}", "file": "s3://b/f.csv", "record": i} for i in range(3)]
    h = start(job("loader", LOAD_ID, {"at": 0, "status": "LOAD_FAILED", "errors": errors}))
    query = f"loadId={LOAD_ID}&details=True&errors=True&page=2&errorsPerPage=2"
    status, _, by_query = raw_request(h.emulator.url, "GET", f"/loader?{query}")
    _, _, by_path = raw_request(h.emulator.url, "GET", f"/loader/{LOAD_ID}?details=true&errors=true&page=2&errorsPerPage=2")
    assert status == 200 and by_query == by_path
    assert [e["recordNum"] for e in by_query["payload"]["errors"]["errorLogs"]] == [2]
    assert "failedFeeds" in by_query["payload"]
    assert h.emulator.calls["GetLoaderJobStatus"] == 2


def test_delete_loader_query_form_cancels(start: Callable[..., Harness]) -> None:
    h = start(job("loader", LOAD_ID, (0, "LOAD_IN_PROGRESS")))
    status, _, answer = raw_request(h.emulator.url, "DELETE", f"/loader?loadId={LOAD_ID}")
    assert status == 200 and answer == {"status": "200 OK"}
    assert h.data.get_loader_job_status(loadId=LOAD_ID)["payload"]["overallStatus"]["status"] == "LOAD_CANCELLED_BY_USER"
    status, _, answer = raw_request(h.emulator.url, "DELETE", f"/loader?loadId={LOAD_ID}")
    assert status == 404 and answer["code"] == "BulkLoadIdNotFoundException"
    assert h.emulator.calls["CancelLoaderJob"] == 2


def test_list_loads_queued_first_with_limit_and_include_queued(start: Callable[..., Harness]) -> None:
    h = start(
        job("loader", "old-done", (0, "LOAD_COMPLETED")),
        job("loader", "running", (10, "LOAD_IN_PROGRESS")),
        job("loader", "queued-early", (20, "LOAD_IN_QUEUE")),
        job("loader", "queued-late", (30, "LOAD_IN_QUEUE")),
        job("loader", "future", (500, "LOAD_IN_QUEUE")),
        job("import", IMPORT_ID, (0, "IMPORTING")),
    )
    h.clock.now = 100
    listed = h.data.list_loader_jobs()
    assert listed["status"] == "200 OK"
    assert listed["payload"]["loadIds"] == ["queued-late", "queued-early", "running", "old-done"]
    assert h.data.list_loader_jobs(includeQueuedLoads=False)["payload"]["loadIds"] == ["running", "old-done"]
    assert h.data.list_loader_jobs(limit=1)["payload"]["loadIds"] == ["queued-late"]
    status, _, answer = raw_request(h.emulator.url, "GET", "/loader?includeQueuedLoads=False&limit=1")
    assert status == 200 and answer["payload"]["loadIds"] == ["running"]
    for bad in ("limit=0", "limit=101", "includeQueuedLoads=maybe"):
        status, _, answer = raw_request(h.emulator.url, "GET", f"/loader?{bad}")
        assert status == 400 and answer["code"] == "InvalidParameterException", bad
    assert h.emulator.calls["ListLoaderJobs"] == 7


def test_a_malformed_task_id_is_a_validation_exception(start: Callable[..., Harness]) -> None:
    """botocore's model gives taskIdentifier the pattern t-[a-z0-9]{10}; botocore does not check it
    on the client side, the service answers 400 ValidationException."""
    h = start(*_running_jobs())
    for call, task_id in ((h.graph.get_import_task, "t-BAD"), (h.graph.cancel_export_task, "bogus"),
                          (h.graph.get_export_task, "t-export00012")):
        with pytest.raises(h.graph.exceptions.ValidationException) as exc:
            call(taskIdentifier=task_id)
        assert "t-[a-z0-9]{10}" in exc.value.response["Error"]["Message"]
        assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_a_timeout_holds_the_connection_until_the_client_gives_up(start: Callable[..., Harness]) -> None:
    h = start(*_running_jobs(), faults=(fault("GetImportTask", [1], "Timeout"),))  # default bound: 60 s
    impatient = client("neptune-graph", h.emulator.url, NO_RETRIES.merge(Config(read_timeout=0.5)))
    with pytest.raises(ReadTimeoutError):
        impatient.get_import_task(taskIdentifier=IMPORT_ID)
    # the server noticed the client left and let the request go (it did not wait out its bound)
    deadline = threading.Event()
    for _ in range(100):
        if h.emulator.held == 0:
            break
        deadline.wait(0.05)
    assert h.emulator.held == 0
    assert impatient.get_import_task(taskIdentifier=IMPORT_ID)["status"] == "IMPORTING"


# --- keep-alive -----------------------------------------------------------------------------


def _socket_closed_by_server(sock: socket.socket) -> bool:
    """Whether the server has closed its end: the next read returns EOF (or the socket is reset)."""
    sock.settimeout(2)
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True


def test_a_client_reuses_one_connection_for_its_requests(start: Callable[..., Harness]) -> None:
    h = start(*_running_jobs())

    for _ in range(5):
        assert _status(h, "GetLoaderJobStatus") == "LOAD_IN_PROGRESS"

    assert h.emulator.calls["GetLoaderJobStatus"] == 5
    assert h.emulator.connections == 1


def test_errors_and_faults_leave_the_connection_open(start: Callable[..., Harness]) -> None:
    h = start(
        *_running_jobs(),
        faults=(fault("GetLoaderJobStatus", [2], "InternalFailure"), fault("GetImportTask", [2], "ThrottlingException")),
    )

    with pytest.raises(h.data.exceptions.BulkLoadIdNotFoundException):
        h.data.get_loader_job_status(loadId="nope")
    with pytest.raises(h.data.exceptions.InternalFailureException):
        h.data.get_loader_job_status(loadId=LOAD_ID)  # call 2: an injected fault
    assert _status(h, "GetLoaderJobStatus") == "LOAD_IN_PROGRESS"
    assert _status(h, "GetImportTask") == "IMPORTING"
    with pytest.raises(h.graph.exceptions.ThrottlingException):
        h.graph.get_import_task(taskIdentifier=IMPORT_ID)
    with pytest.raises(h.graph.exceptions.ValidationException):
        h.graph.get_export_task(taskIdentifier="t-BAD")
    assert _status(h, "GetImportTask") == "IMPORTING"

    assert h.emulator.connections == 2  # one per client


def test_every_answer_on_a_kept_alive_connection_has_its_length(start: Callable[..., Harness]) -> None:
    """An error, an unrouted request and a HEAD (its answer has a length and no body) on one
    connection: each answer is read to its end and the next request follows on the same one."""
    h = start(*_running_jobs())
    host, port = h.emulator.url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=2)
    try:
        answers = []
        for method, path in (
            ("GET", f"/loader?loadId={LOAD_ID}"),
            ("GET", "/loader?loadId=nope"),
            ("POST", "/nowhere"),
            ("HEAD", f"/loader?loadId={LOAD_ID}"),
            ("GET", f"/importtasks/{IMPORT_ID}"),
        ):
            connection.request(method, path)
            response = connection.getresponse()
            answers.append((response.status, response.getheader("Content-Length"), response.read(), response.getheader("Connection")))
    finally:
        connection.close()

    assert [status for status, *_ in answers] == [200, 404, 404, 400, 200]
    assert all(int(length) == len(payload) for _, length, payload, _ in answers if payload)
    assert answers[3][2] == b"" and int(answers[3][1]) > 0
    assert {closing for *_, closing in answers} == {None}
    assert h.emulator.connections == 1


def test_a_request_asking_to_close_gets_its_connection_closed(start: Callable[..., Harness]) -> None:
    h = start(*_running_jobs())
    host, port = h.emulator.url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=2)
    try:
        connection.request("GET", f"/loader?loadId={LOAD_ID}", headers={"Connection": "close"})
        response = connection.getresponse()
        response.read()
        assert response.getheader("Connection") == "close"
        assert response.will_close
    finally:
        connection.close()


def test_a_body_that_is_not_drained_closes_the_connection(start: Callable[..., Harness]) -> None:
    """A body longer than the emulator reads cannot be told from a next request: it closes."""
    h = start(*_running_jobs())
    host, port = h.emulator.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=2) as sock:
        sock.sendall(b"POST /loader HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\n\r\n" + b"x" * (2 << 20))
        head = sock.recv(65536)
        assert b"Connection: close" in head
        while sock.recv(65536):
            pass  # the server closes: EOF


def test_a_timeout_fault_drops_a_kept_alive_connection_and_the_client_reconnects(
    start: Callable[..., Harness],
) -> None:
    h = start(
        *_running_jobs(), faults=(fault("GetLoaderJobStatus", [2], "Timeout"),), timeout_hold_seconds=0.1
    )
    patient = client("neptunedata", h.emulator.url, NO_RETRIES.merge(Config(read_timeout=2)))

    assert patient.get_loader_job_status(loadId=LOAD_ID)["payload"]["overallStatus"]["status"] == "LOAD_IN_PROGRESS"
    with pytest.raises(ConnectionClosedError):
        patient.get_loader_job_status(loadId=LOAD_ID)  # unanswered on the kept-alive connection
    assert patient.get_loader_job_status(loadId=LOAD_ID)["payload"]["overallStatus"]["status"] == "LOAD_IN_PROGRESS"

    assert h.emulator.connections == 2


def test_a_read_timeout_on_a_kept_alive_connection_lets_the_held_request_go(
    start: Callable[..., Harness],
) -> None:
    h = start(*_running_jobs(), faults=(fault("GetExportTask", [2], "Timeout"),))  # bound: 60 s
    impatient = client("neptune-graph", h.emulator.url, NO_RETRIES.merge(Config(read_timeout=0.5)))

    assert impatient.get_export_task(taskIdentifier=EXPORT_ID)["status"] == "EXPORTING"
    with pytest.raises(ReadTimeoutError):
        impatient.get_export_task(taskIdentifier=EXPORT_ID)
    assert impatient.get_export_task(taskIdentifier=EXPORT_ID)["status"] == "EXPORTING"
    for _ in range(100):
        if h.emulator.held == 0:
            break
        threading.Event().wait(0.05)
    assert h.emulator.held == 0
    assert h.emulator.connections == 2


def test_stop_closes_kept_alive_connections() -> None:
    emulator = NeptuneEmulator(jobs=_running_jobs())
    host, port = emulator.start().removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=2)
    try:
        connection.request("GET", f"/loader?loadId={LOAD_ID}")
        connection.getresponse().read()
        assert connection.sock is not None
        emulator.stop()
        assert _socket_closed_by_server(connection.sock)
    finally:
        connection.close()
        emulator.stop()


def test_handler_clients_take_their_pool_size_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The local runtime sizes the handlers' shared connection pools (their calls are in flight
    together); the deployment leaves botocore's default."""
    from watcher import clients
    from watcher.settings import Settings

    monkeypatch.setenv(clients.POOL_ENV, "64")
    assert clients.client_config(Settings()).max_pool_connections == 64
    monkeypatch.delenv(clients.POOL_ENV)
    assert clients.client_config(Settings()).max_pool_connections == Config().max_pool_connections
