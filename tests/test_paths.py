"""Every path of a watch, end to end: the deployable state machine definition on moto's ASL
interpreter, the real handlers and the Neptune emulator on a virtual clock.

Each test runs one scenario (most of them the copyable files in ``scenarios/``) and checks the
public contract (docs/CONTRACT.md): exactly one SNS message and one EventBridge event, both equal to
the outcome; the execution's end (Succeed only for SUCCEEDED, otherwise Fail with
``NeptuneWatch.<OUTCOME>`` and the outcome JSON as Cause); the outcome's fields; and how many
Neptune calls the watch made.
"""

from __future__ import annotations

import copy
import json
import math
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from watcher.outcome import DETAIL_TYPES
from watcher.policy import PollPolicy
from watcher.settings import Settings
from watcher.statuses import LOADER, Phase

from neptune_watch.local.runtime import EVENT_SOURCE, LocalRuntime
from neptune_watch.runner import report, run_scenario
from neptune_watch.scenario import load_scenario

pytestmark = pytest.mark.runtime

REPO = Path(__file__).resolve().parents[1]
SCENARIOS = REPO / "scenarios"
EXAMPLES = REPO / "examples"

LOAD = "4f1c2e0a-6b5d-4c3e-9a8f-1d2e3f4a5b6c"  # the ids the scenario files use
IMP = "t-a1b2c3d4e5"
EXP = "t-e5d4c3b2a1"
IDS = {"loader": LOAD, "import": IMP, "export": EXP}
GET = {"loader": "GetLoaderJobStatus", "import": "GetImportTask", "export": "GetExportTask"}
CANCEL = {"loader": "CancelLoaderJob", "import": "CancelImportTask", "export": "CancelExportTask"}
CANCELLED_STATUS = {"loader": "LOAD_CANCELLED_BY_USER", "import": "CANCELLED", "export": "CANCELLED"}

MESSAGE_LIMIT = 256 * 1024  # SNS message, EventBridge entry, Step Functions payload
CAUSE_LIMIT = 32_768  # Fail / SendTaskFailure cause (characters)
CONTRACT_FIELDS = (
    "schemaVersion", "job", "outcome", "status", "statusReason", "counters", "progress",
    "errors", "polls", "startedAt", "endedAt", "correlationId", "context",
)  # fmt: skip
MIN_WAIT = Settings().min_wait_seconds  # the default poll policy's shortest wait (14 s)


# --- helpers ------------------------------------------------------------------------------


def scenario(name: str) -> dict[str, Any]:
    """A scenario file of scenarios/, as a dict a test may change."""
    return json.loads((SCENARIOS / f"{name}.json").read_text())


def job(kind: str, timeline: list[dict[str, Any]], **spec: Any) -> dict[str, Any]:
    return {"kind": kind, "id": IDS[kind], "timeline": timeline, **spec}


def request(kind: str, **fields: Any) -> dict[str, Any]:
    return {"job": {"kind": kind, "id": IDS[kind]}, **fields}


def run(data: dict[str, Any]) -> dict[str, Any]:
    """One scenario through ``run_scenario``: the report of docs/CONTRACT.md section 3."""
    return run_scenario(load_scenario(copy.deepcopy(data)), timeout=60)


def published(r: dict[str, Any], expected: str, kind: str, *, cause_is_outcome: bool = True) -> dict[str, Any]:
    """Check the contract's guarantees of a finished watch; the outcome that was published."""
    assert len(r["sns"]) == 1, f"expected exactly one SNS message, got {len(r['sns'])}"
    assert len(r["events"]) == 1, f"expected exactly one EventBridge event, got {len(r['events'])}"
    message, event = r["sns"][0]["message"], r["events"][0]
    assert isinstance(message, dict), message
    assert event["detail"] == message
    assert event["source"] == EVENT_SOURCE
    assert event["detailType"] == DETAIL_TYPES[expected]
    assert r["sns"][0]["attributes"] == {"outcome": expected, "jobKind": kind, "schemaVersion": "1"}
    for name in CONTRACT_FIELDS:
        assert name in message, f"the outcome has no {name!r}"
    assert message["schemaVersion"] == "1"
    assert message["outcome"] == expected, message.get("statusReason")
    assert isinstance(message["errors"], list) and isinstance(message["counters"], dict)
    assert set(message["progress"]) >= {"percent"}
    assert message["startedAt"] <= message["endedAt"]
    assert len(json.dumps(message).encode()) < MESSAGE_LIMIT

    execution = r["execution"]
    if expected == "SUCCEEDED":
        assert (execution["status"], execution["error"], execution["cause"]) == ("SUCCEEDED", None, None)
        assert execution["output"] == message
    else:
        assert (execution["status"], execution["error"]) == ("FAILED", f"NeptuneWatch.{expected}")
        assert execution["output"] is None
        assert len(execution["cause"]) <= CAUSE_LIMIT
        if cause_is_outcome:
            assert json.loads(execution["cause"]) == message
    if cause_is_outcome:
        assert r["outcome"] == message
    return message


def watched(message: dict[str, Any], r: dict[str, Any], kind: str) -> None:
    """Checks for an outcome of a watch that got as far as calling Neptune."""
    assert message["job"] == {"kind": kind, "id": IDS[kind]}
    assert message["watch"]["executionArn"] == r["execution"]["executionArn"]
    assert r["transitions"] > 0


def loader_error(i: int) -> dict[str, Any]:
    return {"code": "PARSING_ERROR", "message": f"bad row {i}", "file": "s3://bucket/v.csv", "record": i}


def states_entered(rt: LocalRuntime, arn: str) -> Counter[str]:
    return Counter(
        e["stateEnteredEventDetails"]["name"] for e in rt.history(arn) if "stateEnteredEventDetails" in e
    )


def history_events(rt: LocalRuntime, arn: str, event_type: str) -> list[dict[str, Any]]:
    return [e for e in rt.history(arn) if str(e["type"]).endswith(event_type)]


# --- Neptune Database bulk loads ---------------------------------------------------------


def test_loader_succeeds_after_queue():
    data = scenario("loader-succeeds-after-queue")
    r = run(data)
    o = published(r, "SUCCEEDED", "loader")
    watched(o, r, "loader")
    assert o["status"] == "LOAD_COMPLETED" and o["statusReason"] is None
    assert o["counters"]["totalRecords"] == 120000 and o["counters"]["totalDuplicates"] == 12
    assert o["errors"] == [] and o["progress"] == {"percent": None}
    assert o["correlationId"] == "nightly-load-2026-11-24"
    assert o["context"] == {"pipeline": "nightly", "table": "vertices"}
    assert o["watch"]["generations"] == 1
    # LOAD_IN_QUEUE is not an end; every poll is one call, and nothing else was called.
    assert r["calls"] == {"GetLoaderJobStatus": o["polls"]}
    # Reported within the poll policy's bound after the job ended (900 s: 5% of it).
    assert 900 <= r["virtualSeconds"] <= 900 + 0.05 * 900 + 1


def test_loader_fails_with_parsing_errors():
    data = scenario("loader-fails-with-parsing-errors")
    r = run(data)
    o = published(r, "FAILED", "loader")
    watched(o, r, "loader")
    assert o["status"] == "LOAD_FAILED"
    assert o["counters"]["totalRecords"] == 90000 and o["counters"]["parsingErrors"] == 3
    assert o["errors"] == data["job"]["timeline"][-1]["errors"]  # code, message, file, record
    assert o["correlationId"] == "nightly-load-2026-11-24" and o["context"] is None
    assert r["calls"] == {"GetLoaderJobStatus": o["polls"]}  # 3 errors: one page was enough
    assert 2400 <= r["virtualSeconds"] <= 2400 + 0.05 * 2400 + 1


def test_loader_cancelled_by_user():
    r = run(scenario("loader-cancelled-by-user"))
    o = published(r, "CANCELLED", "loader")
    watched(o, r, "loader")
    assert o["status"] == "LOAD_CANCELLED_BY_USER" and o["counters"]["totalRecords"] == 40000
    assert "cancellation" not in o  # not a cancel this watch made
    assert r["calls"] == {"GetLoaderJobStatus": o["polls"]}


# What each terminal loader status means (docs/CONTRACT.md section 2), written out rather than read
# from statuses.LOADER, so that a wrong table fails here.
LOADER_TERMINAL = {
    "LOAD_COMPLETED": "SUCCEEDED",
    "LOAD_CANCELLED_BY_USER": "CANCELLED",
    "LOAD_CANCELLED_DUE_TO_ERRORS": "FAILED",
    "LOAD_UNEXPECTED_ERROR": "FAILED",
    "LOAD_FAILED": "FAILED",
    "LOAD_S3_READ_ERROR": "FAILED",
    "LOAD_S3_ACCESS_DENIED_ERROR": "FAILED",
    "LOAD_COMMITTED_W_WRITE_CONFLICTS": "FAILED",
    "LOAD_DATA_DEADLOCK": "FAILED",
    "LOAD_DATA_FAILED_DUE_TO_FEED_MODIFIED_OR_DELETED": "FAILED",
    "LOAD_FAILED_BECAUSE_DEPENDENCY_NOT_SATISFIED": "FAILED",
    "LOAD_FAILED_INVALID_REQUEST": "FAILED",
}


def test_the_parametrized_loader_statuses_are_the_terminal_ones():
    terminal = {status for status, (phase, _) in LOADER.items() if phase == Phase.TERMINAL}
    assert set(LOADER_TERMINAL) == terminal and len(terminal) == 12


@pytest.mark.parametrize(("status", "expected"), sorted(LOADER_TERMINAL.items()))
def test_every_terminal_loader_status(status, expected):
    err = loader_error(7)
    r = run({
        "request": request("loader", maxErrors=5),
        "job": job("loader", [
            {"at": 0, "status": "LOAD_IN_PROGRESS"},
            {"at": 40, "status": status, "counters": {"totalRecords": 500, "insertErrors": 1}, "errors": [err]},
        ]),
    })  # fmt: skip
    o = published(r, expected, "loader")
    watched(o, r, "loader")
    assert o["status"] == status and o["counters"]["totalRecords"] == 500
    # Error details come with an outcome that is not a success (a completed load may carry errors
    # within its threshold: the counters show them).
    assert o["errors"] == ([] if expected == "SUCCEEDED" else [err])
    assert o["counters"]["insertErrors"] == 1
    assert r["calls"] == {"GetLoaderJobStatus": o["polls"]}
    assert 40 <= r["virtualSeconds"] <= 40 + MIN_WAIT


# --- Neptune Analytics import / export ----------------------------------------------------


def test_import_progress_succeeds():
    r = run(scenario("import-progress-succeeds"))
    o = published(r, "SUCCEEDED", "import")
    watched(o, r, "import")
    assert o["status"] == "SUCCEEDED" and o["progress"] == {"percent": 100}
    assert o["counters"]["statementCount"] == 1000000 and o["counters"]["dictionaryEntryCount"] == 5000
    assert o["graphId"] == "g-0123456789" and o["correlationId"] == "import-2026-11-24"
    assert r["calls"] == {"GetImportTask": o["polls"]}
    assert 600 <= r["virtualSeconds"] <= 600 + 0.05 * 600 + 1


def test_import_fails_with_reason_and_error_details():
    r = run(scenario("import-fails"))
    o = published(r, "FAILED", "import")
    watched(o, r, "import")
    assert o["status"] == "FAILED"  # ROLLING_BACK was not taken for the end
    assert o["statusReason"] == "Malformed CSV header in s3://bucket/import/edges.csv"
    assert o["errors"] == [{
        "code": "IMPORT_ERROR",
        "message": "MALFORMED_HEADER: unknown column type 'Strng' (s3://bucket/import/edges.csv:1)",
        "file": None,
        "record": None,
    }]  # fmt: skip
    assert r["calls"] == {"GetImportTask": o["polls"]}
    assert 400 <= r["virtualSeconds"] <= 400 + 0.05 * 400 + 1


@pytest.mark.parametrize("kind", ["import", "export"])
def test_cancelled_by_someone_else(kind):
    r = run(scenario(f"{kind}-cancelled-by-someone-else"))
    o = published(r, "CANCELLED", kind)
    watched(o, r, kind)
    assert o["status"] == "CANCELLED" and "cancellation" not in o
    assert r["calls"] == {GET[kind]: o["polls"]}  # CANCELLING was waited out; no cancel call of ours


def test_export_succeeds():
    r = run(scenario("export-succeeds"))
    o = published(r, "SUCCEEDED", "export")
    watched(o, r, "export")
    assert o["status"] == "SUCCEEDED" and o["progress"] == {"percent": 100}
    assert o["counters"]["numVerticesWritten"] == 1000000 and o["counters"]["numEdgesWritten"] == 3000000
    assert r["calls"] == {"GetExportTask": o["polls"]}


def test_export_fails():
    r = run(scenario("export-fails"))
    o = published(r, "FAILED", "export")
    watched(o, r, "export")
    assert o["status"] == "FAILED" and o["statusReason"] == "Access denied to s3://bucket/export/"
    assert r["calls"] == {"GetExportTask": o["polls"]}


@pytest.mark.parametrize(
    ("kind", "status", "expected"),
    [("import", "DELETED", "FAILED"), ("export", "DELETED", "FAILED")],  # ERROR_ENCOUNTERED: test_watch_fixes.py
)
def test_other_analytics_ends(kind, status, expected):
    r = run({"request": request(kind), "job": job(kind, [{"at": 0, "status": "INITIALIZING"}, {"at": 30, "status": status}])})
    o = published(r, expected, kind)
    assert o["status"] == status and r["calls"] == {GET[kind]: o["polls"]}


# --- timeouts -----------------------------------------------------------------------------


def test_timeout_without_cancel():
    r = run(scenario("loader-timeout"))
    o = published(r, "TIMED_OUT", "loader")
    watched(o, r, "loader")
    assert o["status"] == "LOAD_IN_PROGRESS"
    assert "timeoutSeconds=600" in o["statusReason"]
    assert "cancellation" not in o
    assert r["calls"] == {"GetLoaderJobStatus": o["polls"]}  # no CancelLoaderJob
    assert 600 <= r["virtualSeconds"] <= 601  # waits never run past the deadline


@pytest.mark.parametrize("kind", ["loader", "export", "import"])
def test_timeout_with_cancel_on_timeout(kind):
    if kind == "import":
        data = {
            "request": request("import", timeoutSeconds=900, cancelOnTimeout=True),
            "job": job("import", [{"at": 0, "status": "IMPORTING"}], cancelDelaySeconds=30),
        }
    else:
        data = scenario(f"{kind}-timeout-cancelled")
    timeout = data["request"]["timeoutSeconds"]
    r = run(data)
    o = published(r, "TIMED_OUT", kind)
    watched(o, r, kind)
    assert o["status"] == CANCELLED_STATUS[kind]  # the cancel was confirmed by a poll
    cancellation = o["cancellation"]
    assert (cancellation["accepted"], cancellation["confirmed"], cancellation["reason"]) == (True, True, "timeout")
    assert isinstance(cancellation["requestedAt"], str)
    assert r["calls"][CANCEL[kind]] == 1
    assert set(r["calls"]) == {GET[kind], CANCEL[kind]} and r["calls"][GET[kind]] == o["polls"]
    assert timeout <= r["virtualSeconds"] <= timeout + 900  # confirmed within the confirm window


# --- unknown statuses and partial payloads ------------------------------------------------


@pytest.mark.parametrize("tolerated", [None, 2])
def test_unknown_status_that_persists_ends_in_error(tolerated):
    data = scenario("loader-unknown-status")  # LOAD_RESHARDING from 60 s on, forever
    if tolerated is not None:
        data["settings"] = {"unknownStatusMaxPolls": tolerated}
    polls_allowed = tolerated or 5
    r = run(data)
    o = published(r, "ERROR", "loader")
    watched(o, r, "loader")
    assert o["status"] == "LOAD_RESHARDING"
    assert "'LOAD_RESHARDING'" in o["statusReason"] and f"{polls_allowed} polls" in o["statusReason"]
    assert r["calls"] == {"GetLoaderJobStatus": o["polls"]}
    # Polls every MIN_WAIT s before 60 see LOAD_IN_PROGRESS; the first at or after 60 sees the new status.
    before = math.ceil(60 / MIN_WAIT)
    assert o["polls"] == before + polls_allowed
    assert r["virtualSeconds"] == (before + polls_allowed - 1) * MIN_WAIT


def test_unknown_status_that_passes_is_not_an_end():
    r = run({
        "request": request("loader"),
        "job": job("loader", [
            {"at": 0, "status": "LOAD_IN_PROGRESS"},
            {"at": 20, "status": "LOAD_RESHARDING"},
            {"at": 40, "status": "LOAD_COMPLETED", "counters": {"totalRecords": 9}},
        ]),
    })  # fmt: skip
    o = published(r, "SUCCEEDED", "loader")
    assert o["status"] == "LOAD_COMPLETED" and o["counters"]["totalRecords"] == 9
    assert r["calls"] == {"GetLoaderJobStatus": o["polls"]}


def test_queued_load_without_feed_count_or_start_time():
    r = run(scenario("loader-queued-partial-payload"))
    o = published(r, "SUCCEEDED", "loader")
    watched(o, r, "loader")
    assert o["status"] == "LOAD_COMPLETED" and o["counters"] == {"totalRecords": 800}
    assert r["calls"] == {"GetLoaderJobStatus": o["polls"]}


def test_loader_payload_with_odd_types_and_missing_parts():
    raw_failed = {
        "status": "200 OK",
        "payload": {
            "overallStatus": {"status": "LOAD_FAILED", "totalRecords": "12", "parsingErrors": None, "startTime": "soon"},
            "errors": {"errorLogs": [{"errorCode": "PARSING_ERROR"}, "not an object", {"recordNum": "3"}]},
        },
    }
    r = run({
        "request": request("loader"),
        "job": job("loader", [
            {"at": 0, "status": "LOAD_IN_QUEUE", "raw": {"status": "200 OK", "payload": {}}},
            {"at": 20, "status": "LOAD_IN_PROGRESS", "raw": {"status": "200 OK"}},
            {"at": 40, "status": "LOAD_FAILED", "raw": raw_failed},
        ]),
    })  # fmt: skip
    o = published(r, "FAILED", "loader")
    assert o["status"] == "LOAD_FAILED" and o["counters"] == {"totalRecords": 12}
    assert o["errors"] == [
        {"code": "PARSING_ERROR", "message": "", "file": None, "record": None},
        {"code": "UNKNOWN", "message": "", "file": None, "record": 3},
    ]
    assert r["calls"] == {"GetLoaderJobStatus": o["polls"]}


def test_analytics_task_without_details():
    r = run(scenario("import-partial-payload"))
    o = published(r, "SUCCEEDED", "import")
    watched(o, r, "import")
    assert o["status"] == "SUCCEEDED" and o["counters"] == {} and o["progress"] == {"percent": None}
    assert o["graphId"] == "g-0123456789"
    assert r["calls"] == {"GetImportTask": o["polls"]}


def test_export_task_with_status_only_in_details_and_strings_for_numbers():
    r = run({
        "request": request("export"),
        "job": job("export", [
            {"at": 0, "status": "EXPORTING", "raw": {"taskId": EXP, "exportTaskDetails": {"progressPercentage": "40"}}},
            {"at": 30, "status": "FAILED", "raw": {"taskId": EXP, "status": "FAILED", "exportTaskDetails": {"numVerticesWritten": "7"}}},
        ]),
    })  # fmt: skip
    o = published(r, "FAILED", "export")
    assert o["status"] == "FAILED" and o["counters"] == {"numVerticesWritten": 7}


# --- throttling, server errors, timeouts, access denied -----------------------------------


def test_throttling_storm_that_recovers():
    r = run(scenario("throttling-storm"))  # calls 2..6 answer 429 TooManyRequestsException
    o = published(r, "SUCCEEDED", "loader")
    watched(o, r, "loader")
    assert o["status"] == "LOAD_COMPLETED"
    assert r["calls"] == {"GetLoaderJobStatus": o["polls"] + 5}  # every throttled call counted


def test_throttling_that_exhausts_the_retries():
    r = run(scenario("throttling-exhausted"))  # every call from the 2nd on is throttled
    o = published(r, "ERROR", "loader")
    watched(o, r, "loader")
    assert o["statusReason"].startswith("NeptuneThrottled")
    assert "TooManyRequestsException" in o["statusReason"]
    assert o["status"] == "LOAD_IN_PROGRESS" and o["polls"] == 1  # the last status it did read
    assert r["calls"] == {"GetLoaderJobStatus": 1 + 9}  # the first poll, then 1 + 8 retries


def test_analytics_throttling_recovers():
    r = run({
        "request": request("export"),
        "job": job("export", [{"at": 0, "status": "EXPORTING"}, {"at": 60, "status": "SUCCEEDED"}]),
        "faults": [{"operation": "GetExportTask", "calls": [1, 2, 3], "error": "ThrottlingException"}],
    })  # fmt: skip
    o = published(r, "SUCCEEDED", "export")
    assert r["calls"] == {"GetExportTask": o["polls"] + 3}


@pytest.mark.parametrize(
    ("kind", "error", "name"),
    [("import", None, "server-errors-burst"), ("loader", "InternalFailureException", None),
     ("export", "InternalServerException", None)],
)  # fmt: skip
def test_server_error_burst_recovers(kind, error, name):
    if name:
        data = scenario(name)  # GetImportTask calls 3, 4, 5 answer 500 InternalServerException
    else:
        data = {
            "request": request(kind),
            "job": job(kind, [{"at": 0, "status": "LOAD_IN_PROGRESS" if kind == "loader" else "EXPORTING"},
                              {"at": 90, "status": "LOAD_COMPLETED" if kind == "loader" else "SUCCEEDED"}]),
            "faults": [{"operation": GET[kind], "calls": [3, 4, 5], "error": error}],
        }  # fmt: skip
    r = run(data)
    o = published(r, "SUCCEEDED", kind)
    watched(o, r, kind)
    assert r["calls"] == {GET[kind]: o["polls"] + 3}


def test_server_errors_that_exhaust_the_retries():
    r = run({
        "request": request("loader"),
        "job": job("loader", [{"at": 0, "status": "LOAD_IN_PROGRESS"}]),
        "faults": [{"operation": "GetLoaderJobStatus", "calls": list(range(2, 30)), "error": "InternalFailureException"}],
    })  # fmt: skip
    o = published(r, "ERROR", "loader")
    assert o["statusReason"].startswith("NeptuneServerError")
    assert r["calls"] == {"GetLoaderJobStatus": 1 + 6}  # the first poll, then 1 + 5 retries


def test_a_call_that_times_out_is_retried():
    r = run(scenario("neptune-timeout"))  # call 2 gets no answer in time
    o = published(r, "SUCCEEDED", "loader")
    watched(o, r, "loader")
    assert r["calls"] == {"GetLoaderJobStatus": o["polls"] + 1}


def test_access_denied_is_an_error_at_once():
    r = run(scenario("access-denied"))
    o = published(r, "ERROR", "export")
    watched(o, r, "export")
    assert o["statusReason"].startswith("NeptuneAccessDenied")
    assert (o["status"], o["polls"]) == (None, 0)
    assert r["calls"] == {"GetExportTask": 1}  # a 403 is not retried


# --- not found, invalid requests ----------------------------------------------------------


@pytest.mark.parametrize("kind", ["loader", "import", "export"])
def test_not_found(kind):
    r = run(scenario("not-found" if kind == "loader" else f"{kind}-not-found"))
    o = published(r, "NOT_FOUND", kind)
    watched(o, r, kind)
    assert (o["status"], o["polls"], o["errors"]) == (None, 1, [])
    assert IDS[kind] in o["statusReason"]
    assert r["calls"] == {GET[kind]: 1}  # the loader's 404 is sent once, not retried by botocore


def test_a_job_not_known_yet_is_not_found():
    r = run({"request": request("loader"), "job": job("loader", [{"at": 30, "status": "LOAD_IN_QUEUE"}])})
    published(r, "NOT_FOUND", "loader")
    assert r["calls"] == {"GetLoaderJobStatus": 1}


INVALID = {
    "unknown kind": ({"job": {"kind": "bulk-load", "id": LOAD}, "correlationId": "bad-kind"}, "unknown", "job.kind"),
    "bad task id pattern": ({"job": {"kind": "import", "id": "import-123"}}, "import", "t-[a-z0-9]{10}"),
    "bad loader id": ({"job": {"kind": "loader", "id": "has spaces/slash"}}, "loader", "loadId"),
    "bad option type": ({**request("loader"), "cancelOnTimeout": "yes"}, "loader", "cancelOnTimeout"),
    "string maxErrors": ({**request("loader"), "maxErrors": "ten"}, "loader", "maxErrors"),
    "negative maxErrors": ({**request("loader"), "maxErrors": -1}, "loader", "maxErrors"),
    "zero timeout": ({**request("export"), "timeoutSeconds": 0}, "export", "timeoutSeconds"),
    "timeout over the maximum": ({**request("export"), "timeoutSeconds": 400 * 86400}, "export", "timeoutSeconds"),
    "maxErrors over the maximum": ({**request("loader"), "maxErrors": 5000}, "loader", "maxErrors"),
    "unknown field": ({**request("loader"), "timeout": 60, "correlationId": "c-7"}, "loader", "timeout"),
    "no job": ({"timeoutSeconds": 60}, "unknown", "job"),
    "job without id": ({"job": {"kind": "loader"}}, "loader", "job.id"),
    "context too large": ({**request("loader"), "context": {"blob": "x" * 9000}}, "loader", "context"),
}


@pytest.mark.parametrize("case", sorted(INVALID))
def test_invalid_request_makes_no_neptune_call(case):
    req, kind_attribute, named = INVALID[case]
    if case == "unknown kind":
        data = scenario("invalid-request-bad-kind")
        assert data["request"] == req
    elif case == "bad task id pattern":
        data = scenario("invalid-request-bad-task-id")
        assert data["request"] == req
    else:
        data = {"request": req}
    # The service knows the job: any call would have found it.
    data["jobs"] = [job("loader", [{"at": 0, "status": "LOAD_IN_PROGRESS"}])]
    r = run(data)
    o = published(r, "INVALID_REQUEST", kind_attribute)
    assert r["calls"] == {}
    assert (o["status"], o["polls"], o["errors"], o["counters"]) == (None, 0, [], {})
    assert named in o["statusReason"]
    assert o["correlationId"] == req.get("correlationId")
    # An oversized context is not echoed (the outcome must stay small): a marker says it was cut.
    assert o["context"] == ({"truncated": True} if case == "context too large" else req.get("context"))


@pytest.mark.parametrize("body", [[1, 2], "watch this", 42, None, True])
def test_input_that_is_not_an_object(body):
    started = time.perf_counter()
    with LocalRuntime() as rt:
        arn = rt.start(body)
        r = report(rt, rt.wait(arn, timeout=60), started)
    o = published(r, "INVALID_REQUEST", "unknown")
    assert o["job"] is None and o["context"] is None and o["correlationId"] is None
    assert "must be a JSON object" in o["statusReason"]
    assert r["calls"] == {}


# --- error details ------------------------------------------------------------------------


def test_max_errors_from_the_scenario_file():
    data = scenario("loader-max-errors")  # 250 errors in the job, maxErrors 150
    r = run(data)
    o = published(r, "FAILED", "loader")
    watched(o, r, "loader")
    assert o["errors"] == data["job"]["timeline"][-1]["errors"][:150]
    assert "errorsTruncated" not in o
    assert r["calls"] == {"GetLoaderJobStatus": o["polls"] + 1}  # page 1 with the poll, page 2 after


@pytest.mark.parametrize(("max_errors", "kept", "extra_pages"), [(0, 0, 0), (10, 10, 0), (100, 100, 0), (150, 150, 1), (250, 250, 2), (1000, 250, 2)])
def test_max_errors_pages(max_errors, kept, extra_pages):
    errors = [loader_error(i) for i in range(250)]
    r = run({
        "request": request("loader", maxErrors=max_errors),
        "job": job("loader", [{"at": 0, "status": "LOAD_IN_PROGRESS"}, {"at": 30, "status": "LOAD_FAILED", "errors": errors}]),
    })  # fmt: skip
    o = published(r, "FAILED", "loader")
    assert o["errors"] == errors[:kept]
    # Pages hold min(maxErrors, 100) errors; only a full page that leaves room asks for the next.
    assert r["calls"] == {"GetLoaderJobStatus": o["polls"] + extra_pages}


def test_a_thousand_short_errors_all_reach_the_outcome():
    """maxErrors 1000 with ~110-byte error details: all of them fit the outcome (the watch once
    stopped at 722 under an 80 KB cap); every state's payload stays under 256 KB."""
    errors = [{"code": "PARSING_ERROR", "message": f"row {i} is malformed: expected 12 columns", "file": "s3://bucket/v.csv",
               "record": i} for i in range(1000)]  # fmt: skip
    sc = load_scenario({
        "request": request("loader", maxErrors=1000),
        "job": job("loader", [{"at": 0, "status": "LOAD_IN_PROGRESS"}, {"at": 30, "status": "LOAD_FAILED", "errors": errors}]),
    })  # fmt: skip
    started = time.perf_counter()
    with LocalRuntime(jobs=sc.all_jobs()) as rt:
        arn = rt.start(sc.request)
        r = report(rt, rt.wait(arn, timeout=60), started)
        history = rt.history(arn)
    o = published(r, "FAILED", "loader", cause_is_outcome=False)
    assert len(json.dumps(errors).encode()) > 100_000
    assert o["errors"] == errors and "errorsTruncated" not in o
    for event in history:
        for details in (v for k, v in event.items() if k.endswith("Details") and isinstance(v, dict)):
            for value in details.values():
                if isinstance(value, str):
                    assert len(value.encode()) < MESSAGE_LIMIT, (event["type"], len(value))


def test_a_huge_outcome_stays_under_256_kb():
    big = "x" * 2500
    errors = [{"code": "PARSING_ERROR", "message": big, "file": "s3://bucket/v.csv", "record": i} for i in range(1000)]
    context = {"blob": "y" * 8000}
    sc = load_scenario({
        "request": request("loader", maxErrors=1000, context=context, correlationId="huge"),
        "job": job("loader", [{"at": 0, "status": "LOAD_IN_PROGRESS"}, {"at": 30, "status": "LOAD_FAILED", "errors": errors}]),
    })  # fmt: skip
    started = time.perf_counter()
    with LocalRuntime(jobs=sc.all_jobs()) as rt:
        arn = rt.start(sc.request)
        r = report(rt, rt.wait(arn, timeout=60), started)
        history = rt.history(arn)
    o = published(r, "FAILED", "loader", cause_is_outcome=False)
    assert o["status"] == "LOAD_FAILED" and o["context"] == context and o["correlationId"] == "huge"
    assert o["errorsTruncated"] is True
    assert 0 < len(o["errors"]) < 1000
    assert all(e["message"] == big[:2000] and e["record"] == i for i, e in enumerate(o["errors"]))
    # The Fail cause is the outcome cut to fit its 32 KB: same outcome, fewer errors.
    cause = json.loads(r["execution"]["cause"])
    assert cause["outcome"] == "FAILED" and cause["status"] == "LOAD_FAILED" and cause["errorsTruncated"] is True
    assert cause["errors"] == o["errors"][: len(cause["errors"])]
    # Every state's input and output, every task result, fits Step Functions' 256 KB.
    for event in history:
        for details in (v for k, v in event.items() if k.endswith("Details") and isinstance(v, dict)):
            for value in details.values():
                if isinstance(value, str):
                    assert len(value.encode()) < MESSAGE_LIMIT, (event["type"], len(value))


# --- long watches -------------------------------------------------------------------------


def test_three_day_load_continues_as_new():
    data = scenario("loader-3-day-continue-as-new")
    assert data["settings"]["maxPollsPerExecution"] <= 100
    r = run(data)
    o = published(r, "SUCCEEDED", "loader")
    watched(o, r, "loader")  # watch.executionArn is the first execution, the one that was started
    assert o["status"] == "LOAD_COMPLETED" and o["counters"]["totalRecords"] == 2500000000
    assert o["watch"]["generations"] >= 3  # continued as new at least twice
    assert o["polls"] == r["calls"]["GetLoaderJobStatus"]  # counted across every execution
    assert o["polls"] > data["settings"]["maxPollsPerExecution"]
    assert o["correlationId"] == "backfill-2026"
    assert r["virtualSeconds"] >= 3 * 86400


def test_a_failure_after_continuing_as_new_fails_the_first_execution():
    r = run({
        "request": request("loader", correlationId="two-days", timeoutSeconds=3 * 86400),
        "job": job("loader", [
            {"at": 0, "status": "LOAD_IN_PROGRESS"},
            {"at": 2 * 86400, "status": "LOAD_FAILED", "errors": [loader_error(1)]},
        ]),
        "settings": {"maxPollsPerExecution": 8, "minWaitSeconds": 120, "maxWaitSeconds": 21600, "waitFraction": 0.5},
    })  # fmt: skip
    o = published(r, "FAILED", "loader")
    watched(o, r, "loader")
    assert o["watch"]["generations"] >= 2 and o["errors"] == [loader_error(1)]
    assert o["polls"] == r["calls"]["GetLoaderJobStatus"]


def test_a_continuation_stopped_by_an_operator_still_ends_with_one_outcome():
    sc = load_scenario({
        "request": request("loader"),
        "job": job("loader", [{"at": 0, "status": "LOAD_IN_PROGRESS"}, {"at": 86400, "status": "LOAD_COMPLETED"}]),
        "settings": {"maxPollsPerExecution": 20},
    })  # fmt: skip
    with LocalRuntime(jobs=sc.all_jobs(), settings=sc.settings) as rt:
        root = rt.start(sc.request)
        deadline = time.monotonic() + 20
        child = None
        while child is None or "Poll" not in states_entered(rt, child):
            assert time.monotonic() < deadline, "no continuation was started"
            time.sleep(0.002)
            child = next((e["executionArn"] for e in rt.executions() if e["executionArn"] != root), None)
        rt.client("stepfunctions").stop_execution(executionArn=child)
        desc = rt.wait(root, timeout=60)
        r = report(rt, desc, time.perf_counter())
        assert rt.wait(child)["status"] == "ABORTED"
        # The recovery rule's execution for the child finds no lock of its own to take over.
        recovery = rt.recovery_of(child)
        assert rt.wait(recovery)["status"] == "SUCCEEDED" and "NothingToRecover" in states_entered(rt, recovery)
        assert {e["executionArn"] for e in rt.executions()} == {root, child, recovery}  # the child did not continue
    o = published(r, "ERROR", "loader")
    assert "without an outcome" in o["statusReason"] and child in o["statusReason"]
    assert o["watch"]["generations"] == 1  # the first execution's own view of the watch


# --- callers: a task-token parent, a .sync:2 parent, a duplicate watch ---------------------


def _token_parent() -> str:
    return json.dumps({
        "StartAt": "Watch",
        "States": {
            "Watch": {
                "Type": "Task",
                "Resource": "arn:aws:states:::states:startExecution.waitForTaskToken",
                "Parameters": {
                    "StateMachineArn": "${WatchStateMachineArn}",
                    "Input": {"job.$": "$.job", "correlationId": "from-parent", "taskToken.$": "$$.Task.Token"},
                },
                "ResultPath": "$.outcome",
                "Catch": [{"ErrorEquals": ["NeptuneWatch.FAILED"], "ResultPath": "$.failure", "Next": "MarkFailed"}],
                "Next": "Done",
            },
            "MarkFailed": {"Type": "Pass", "Result": "job failed", "ResultPath": "$.marked", "End": True},
            "Done": {"Type": "Succeed"},
        },
    })  # fmt: skip


def _sync_parent() -> str:
    return json.dumps({
        "StartAt": "Watch",
        "States": {
            "Watch": {
                "Type": "Task",
                "Resource": "arn:aws:states:::states:startExecution.sync:2",
                "Parameters": {"StateMachineArn": "${WatchStateMachineArn}", "Input": {"job.$": "$.job"}},
                "End": True,
            }
        },
    })  # fmt: skip


def _run_parent(definition: str, kind: str, end_status: str, parent_input: dict[str, Any] | None = None) -> dict[str, Any]:
    """Run ``definition`` as a parent of the watch; what happened, to both."""
    sc = load_scenario({"request": {}, "job": job(kind, [{"at": 0, "status": "LOAD_IN_PROGRESS" if kind == "loader" else "IMPORTING"},
                                                          {"at": 60, "status": end_status}])})  # fmt: skip
    with LocalRuntime(jobs=sc.all_jobs()) as rt:
        parent = rt.create_state_machine("parent", definition, {"WatchStateMachineArn": rt.state_machine_arn})
        arn = rt.start(parent_input or {"job": {"kind": kind, "id": IDS[kind]}}, state_machine_arn=parent)
        desc = rt.wait(arn, timeout=60)
        children = rt.executions()
        return {
            "parent": desc,
            "entered": states_entered(rt, arn),
            "task_failed": history_events(rt, arn, "TaskFailed"),
            "task_succeeded": history_events(rt, arn, "TaskSucceeded"),
            "children": [rt.wait(c["executionArn"]) for c in children],
            "sns": rt.sns_messages(),
            "events": rt.events(),
        }


def test_task_token_parent_gets_the_outcome_on_success():
    p = _run_parent(_token_parent(), "loader", "LOAD_COMPLETED")
    assert len(p["sns"]) == 1 and len(p["events"]) == 1
    outcome = p["sns"][0]["message"]
    assert outcome["outcome"] == "SUCCEEDED" and outcome["correlationId"] == "from-parent"
    assert p["parent"]["status"] == "SUCCEEDED"
    assert json.loads(p["parent"]["output"])["outcome"] == outcome  # SendTaskSuccess(outcome)
    assert "MarkFailed" not in p["entered"] and p["entered"]["Done"] == 1
    assert [c["status"] for c in p["children"]] == ["SUCCEEDED"]


def test_task_token_parent_catches_the_failure_by_name():
    p = _run_parent(_token_parent(), "loader", "LOAD_FAILED")
    assert len(p["sns"]) == 1 and len(p["events"]) == 1
    outcome = p["sns"][0]["message"]
    assert outcome["outcome"] == "FAILED"
    assert p["entered"]["MarkFailed"] == 1 and "Done" not in p["entered"]
    assert p["parent"]["status"] == "SUCCEEDED"
    output = json.loads(p["parent"]["output"])
    assert output["marked"] == "job failed"
    assert output["failure"]["Error"] == "NeptuneWatch.FAILED"  # SendTaskFailure(error, cause)
    assert json.loads(output["failure"]["Cause"]) == outcome
    child = p["children"][0]
    assert (child["status"], child["error"]) == ("FAILED", "NeptuneWatch.FAILED")


def test_sync_parent_gets_the_outcome_as_output():
    p = _run_parent(_sync_parent(), "import", "SUCCEEDED")
    assert len(p["sns"]) == 1 and len(p["events"]) == 1
    assert p["parent"]["status"] == "SUCCEEDED"
    assert json.loads(p["parent"]["output"])["Output"] == p["sns"][0]["message"]


def test_sync_parent_fails_with_task_failed_carrying_the_childs_error():
    p = _run_parent(_sync_parent(), "loader", "LOAD_S3_READ_ERROR")
    assert len(p["sns"]) == 1 and len(p["events"]) == 1
    outcome = p["sns"][0]["message"]
    assert (p["parent"]["status"], p["parent"]["error"]) == ("FAILED", "States.TaskFailed")
    child = json.loads(p["parent"]["cause"])  # the child's DescribeExecution
    assert child["Error"] == "NeptuneWatch.FAILED"
    assert json.loads(child["Cause"]) == outcome and outcome["status"] == "LOAD_S3_READ_ERROR"
    assert [e["taskFailedEventDetails"]["error"] for e in p["task_failed"]] == ["States.TaskFailed"]


def _example(name: str) -> str:
    path = EXAMPLES / name
    if not path.exists():
        pytest.skip(f"{path} is not there")
    return path.read_text()


def test_example_sync_parent_routes_a_failed_job():
    p = _run_parent(_example("parent_sync.asl.json"), "loader", "LOAD_FAILED")
    assert len(p["sns"]) == 1 and len(p["events"]) == 1
    outcome = p["sns"][0]["message"]
    assert [e["taskFailedEventDetails"]["error"] for e in p["task_failed"]] == ["States.TaskFailed"]
    assert json.loads(p["task_failed"][0]["taskFailedEventDetails"]["cause"])["Error"] == "NeptuneWatch.FAILED"
    assert (p["parent"]["status"], p["parent"]["error"]) == ("FAILED", "Example.JobFailed")
    assert json.loads(p["parent"]["cause"]) == outcome


def test_example_token_parent_routes_a_retryable_load_failure():
    p = _run_parent(_example("parent_token.asl.json"), "loader", "LOAD_DATA_DEADLOCK")
    assert len(p["sns"]) == 1 and len(p["events"]) == 1
    assert [e["taskFailedEventDetails"]["error"] for e in p["task_failed"]] == ["NeptuneWatch.FAILED"]
    assert (p["parent"]["status"], p["parent"]["error"]) == ("FAILED", "Example.RetryableLoadFailure")
    assert p["parent"]["cause"] == "LOAD_DATA_DEADLOCK"


def test_example_token_parent_routes_a_failed_job():
    p = _run_parent(_example("parent_token.asl.json"), "loader", "LOAD_FAILED")
    assert len(p["sns"]) == 1 and len(p["events"]) == 1
    assert (p["parent"]["status"], p["parent"]["error"]) == ("FAILED", "Example.JobFailed")
    assert json.loads(p["parent"]["cause"]) == p["sns"][0]["message"]


def _duplicate_watch(end_status: str, *, second_after_first_poll: bool) -> dict[str, Any]:
    sc = load_scenario({"request": {}, "job": job("loader", [{"at": 0, "status": "LOAD_IN_PROGRESS"}, {"at": 300, "status": end_status}])})
    req = request("loader", correlationId="dup")
    with LocalRuntime(jobs=sc.all_jobs()) as rt:
        first = rt.start(req)
        if second_after_first_poll:
            deadline = time.monotonic() + 20
            while rt.emulator.calls["GetLoaderJobStatus"] < 1:
                assert time.monotonic() < deadline
                time.sleep(0.002)
        second = rt.start(req)
        ends = [rt.wait(first, timeout=60), rt.wait(second, timeout=60)]
        return {
            "ends": ends,
            "entered": [states_entered(rt, first), states_entered(rt, second)],
            "sns": rt.sns_messages(),
            "events": rt.events(),
            "calls": dict(rt.emulator.calls),
        }


def test_a_repeated_request_after_the_first_poll_waits_and_publishes_nothing_new():
    d = _duplicate_watch("LOAD_FAILED", second_after_first_poll=True)
    assert len(d["sns"]) == 1 and len(d["events"]) == 1
    outcome = d["sns"][0]["message"]
    assert outcome["outcome"] == "FAILED" and d["events"][0]["detail"] == outcome
    first, second = d["ends"]
    assert (first["status"], first["error"]) == (second["status"], second["error"]) == ("FAILED", "NeptuneWatch.FAILED")
    assert json.loads(first["cause"]) == outcome
    repeat = json.loads(second["cause"])
    assert {k: v for k, v in repeat.items() if k not in ("watch", "eventId")} == {
        k: v for k, v in outcome.items() if k not in ("watch", "eventId")
    }
    assert repeat["watch"]["duplicateOf"] == outcome["watch"]["executionArn"]
    assert d["entered"][0]["PublishToSns"] == 1
    assert "PublishToSns" not in d["entered"][1] and "Poll" not in d["entered"][1]
    assert d["entered"][1]["AwaitOwner"] == 1  # registered and waited, without polling the owner
    assert d["calls"] == {"GetLoaderJobStatus": outcome["polls"]}  # only the first watch polled


def test_repeated_requests_started_together_publish_once():
    d = _duplicate_watch("LOAD_COMPLETED", second_after_first_poll=False)
    assert len(d["sns"]) == 1 and len(d["events"]) == 1
    outcome = d["sns"][0]["message"]
    assert outcome["outcome"] == "SUCCEEDED"
    assert [e["status"] for e in d["ends"]] == ["SUCCEEDED", "SUCCEEDED"]
    assert [json.loads(e["output"])["outcome"] for e in d["ends"]] == ["SUCCEEDED", "SUCCEEDED"]
    publishers = [n for n, entered in enumerate(d["entered"]) if "PublishToSns" in entered]
    assert len(publishers) == 1
    assert d["entered"][1 - publishers[0]]["AwaitOwner"] == 1


# --- a refused cancel, and implausible start times (the scenario files) ---------------------


@pytest.mark.parametrize(("name", "kind", "error", "expected", "status"), [
    ("loader-timeout-cancel-refused-job-failed", "loader", "BulkLoadIdNotFoundException", "FAILED", "LOAD_FAILED"),
    ("loader-timeout-cancel-refused-still-running", "loader", "BadRequestException", "TIMED_OUT", "LOAD_IN_PROGRESS"),
    ("import-timeout-cancel-refused-task-failed", "import", "ConflictException", "FAILED", "FAILED"),
])  # fmt: skip
def test_a_refused_cancel_is_followed_by_one_poll_that_reports_the_end(name, kind, error, expected, status):
    data = scenario(name)
    r = run(data)
    o = published(r, expected, kind)
    watched(o, r, kind)
    assert o["status"] == status
    assert (o["cancellation"]["accepted"], o["cancellation"]["rejected"]) == (False, error)
    timeout = data["request"]["timeoutSeconds"]
    # The policy's polls from 0 s up to one landing on the deadline, then the refused cancel.
    policy, t, polls_to_deadline = PollPolicy(), 0, 1
    while t < timeout:
        t += policy.next_wait(t, until_deadline=timeout - t)
        polls_to_deadline += 1
    assert r["calls"] == {GET[kind]: polls_to_deadline + 1, CANCEL[kind]: 1}
    assert r["virtualSeconds"] == timeout + MIN_WAIT  # the re-poll, the policy's shortest wait after the refusal
    final = data["job"]["timeline"][-1]
    if expected == "FAILED":
        assert final["at"] > timeout  # it really ended after the deadline poll, before the re-poll
        assert len(o["errors"]) == len(final["errors"]) and final["errors"][0]["message"] in o["errors"][0]["message"]
    else:
        assert "rejected the cancel (BadRequestException)" in o["statusReason"]


@pytest.mark.parametrize(("name", "kind"), [
    ("loader-implausible-start-time", "loader"),
    ("import-start-time-before-the-service", "import"),
    ("export-start-time-in-microseconds", "export"),
])  # fmt: skip
def test_an_implausible_start_time_paces_the_watch_by_its_own_age(name, kind):
    data = scenario(name)
    r = run(data)
    o = published(r, "SUCCEEDED", kind)
    watched(o, r, kind)
    end = data["job"]["timeline"][-1]["at"]
    # Paced as a new job: a poll every MIN_WAIT s, the end seen at the first poll after it (not
    # at the cap, as a start decades ago would have it).
    first_after = math.ceil(end / MIN_WAIT) * MIN_WAIT
    assert r["virtualSeconds"] == first_after < Settings().max_wait_seconds
    assert o["polls"] == r["calls"][GET[kind]] == first_after // MIN_WAIT + 1


# --- the scenario files -------------------------------------------------------------------


# Scenario files the tests above name through a template (f"{kind}-...").
TEMPLATED = {
    "import-cancelled-by-someone-else", "export-cancelled-by-someone-else",
    "loader-timeout-cancelled", "export-timeout-cancelled", "import-not-found", "export-not-found",
}  # fmt: skip


def test_every_scenario_file_is_valid_run_here_and_listed_in_the_readme():
    readme = (SCENARIOS / "README.md").read_text()
    source = Path(__file__).read_text() + (Path(__file__).parent / "test_start_paths.py").read_text()  # start scenarios
    files = sorted(SCENARIOS.glob("*.json"))
    assert len(files) >= 20
    for path in files:
        load_scenario(path)
        assert f"`{path.name}`" in readme, f"{path.name} is not listed in scenarios/README.md"
        assert f'"{path.stem}"' in source or path.stem in TEMPLATED, f"no test runs {path.name}"
