"""How a watch reads odd answers, rejected cancels, failed error pages and rollbacks.

Each case runs the deployable definition on the local runtime (real handlers, the Neptune
emulator, virtual time) and checks the published outcome, plus a few direct checks of the
watch logic.

AWS documentation relied on:
- Neptune Analytics import statuses (https://docs.aws.amazon.com/neptune-analytics/latest/
  userguide/bulk-import-checking-details.html): "ROLLING_BACK: The import task encountered an
  error ... The import task will be rolled back and eventually marked as FAILED."
- GetImportTask's status in the AWS SDK references (e.g. https://docs.aws.amazon.com/
  sdk-for-kotlin/api/latest/neptunegraph/aws.sdk.kotlin.services.neptunegraph.model/
  -get-import-task-response/status.html): "ERROR_ENCOUNTERED - An error has been encountered
  while trying to create the graph and import the data. ERROR_ENCOUNTERED_ROLLING_BACK -
  Because of the error that was encountered, the graph is being rolled back and all its
  resources released."
"""

from __future__ import annotations

import copy
import json
import math
from typing import Any

import pytest
from watcher import clock
from watcher.settings import Settings
from watcher.statuses import classify
from watcher.watch import DEFAULT_ROLLBACK_MAX_SECONDS, new_watch

from neptune_watch.runner import run_scenario
from neptune_watch.scenario import load_scenario

pytestmark = pytest.mark.runtime

IDS = {"loader": "load-fix-1", "import": "t-abcdefghij", "export": "t-0123456789"}
GET = {"loader": "GetLoaderJobStatus", "import": "GetImportTask", "export": "GetExportTask"}
CANCEL = {"loader": "CancelLoaderJob", "import": "CancelImportTask", "export": "CancelExportTask"}
RUNNING = {"loader": "LOAD_IN_PROGRESS", "import": "IMPORTING", "export": "EXPORTING"}
DONE = {"loader": "LOAD_COMPLETED", "import": "SUCCEEDED", "export": "SUCCEEDED"}
MIN_WAIT = Settings().min_wait_seconds
DEADLINE_POLLS = math.ceil(60 / MIN_WAIT) + 1  # every MIN_WAIT s before 60 s, then one on the deadline


def run(request: dict[str, Any], timeline: list[dict[str, Any]] | None, kind: str, **extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"request": request, **extra}
    if timeline is not None:
        data["job"] = {"kind": kind, "id": IDS[kind], "timeline": timeline}
    return run_scenario(load_scenario(copy.deepcopy(data)), timeout=60)


def outcome_of(r: dict[str, Any], expected: str) -> dict[str, Any]:
    """The one outcome published (SNS and EventBridge alike); the execution ends as it says."""
    assert len(r["sns"]) == 1 and len(r["events"]) == 1, (len(r["sns"]), len(r["events"]))
    message = r["sns"][0]["message"]
    assert r["events"][0]["detail"] == message
    assert message["outcome"] == expected, message.get("statusReason")
    if expected == "SUCCEEDED":
        assert r["execution"]["status"] == "SUCCEEDED"
    else:
        assert (r["execution"]["status"], r["execution"]["error"]) == ("FAILED", f"NeptuneWatch.{expected}")
    return message


# --- malformed status payloads ------------------------------------------------------------

MALFORMED = {
    "loader status a number": ("loader", {"status": "200 OK", "payload": {"overallStatus": {"status": 5}}}),
    "loader overallStatus a string": ("loader", {"status": "200 OK", "payload": {"overallStatus": "LOAD_IN_PROGRESS"}}),
    "loader payload null": ("loader", {"status": "200 OK", "payload": None}),
    "loader payload a list": ("loader", {"status": "200 OK", "payload": [1, 2]}),
    "import status a number": ("import", {"taskId": IDS["import"], "status": 7}),
    "import details a string": ("import", {"taskId": IDS["import"], "status": "IMPORTING", "importTaskDetails": "x"}),
    "export progress not a number": ("export", {"taskId": IDS["export"], "status": "EXPORTING",
                                                "exportTaskDetails": {"progressPercentage": "abc"}}),
    "export no status": ("export", {"taskId": IDS["export"]}),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_one_malformed_answer_does_not_end_a_watch(case):
    kind, raw = MALFORMED[case]
    r = run({"job": {"kind": kind, "id": IDS[kind]}}, [
        {"at": 0, "status": RUNNING[kind]},
        {"at": 20, "status": RUNNING[kind], "raw": raw},  # exactly one poll (at 24 s) reads this
        {"at": 30, "status": RUNNING[kind]},
        {"at": 100, "status": DONE[kind]},
    ], kind)  # fmt: skip
    o = outcome_of(r, "SUCCEEDED")
    assert o["status"] == DONE[kind] and r["calls"] == {GET[kind]: o["polls"]}


@pytest.mark.parametrize("case", ["loader payload null", "import status a number", "export no status"])
def test_malformed_answers_in_a_row_are_bounded_then_error(case):
    kind, raw = MALFORMED[case]
    r = run({"job": {"kind": kind, "id": IDS[kind]}}, [
        {"at": 0, "status": RUNNING[kind], "counters": {"totalRecords": 10} if kind == "loader" else {}},
        {"at": 20, "status": RUNNING[kind], "raw": raw},
    ], kind, settings={"unknownStatusMaxPolls": 3})  # fmt: skip
    o = outcome_of(r, "ERROR")
    assert "could not be read" in o["statusReason"] and "3 polls in a row" in o["statusReason"]
    assert o["status"] == RUNNING[kind]  # the last status it could read
    if kind == "loader":
        assert o["counters"]["totalRecords"] == 10
    # Polls at 0 and 12 read the good answer; 24, 36, 48 the malformed one: the third ends it.
    assert o["polls"] == 5 and r["calls"] == {GET[kind]: 5}


def test_a_good_poll_between_malformed_ones_resets_the_count():
    kind = "loader"
    bad = {"status": "200 OK", "payload": None}
    timeline = [{"at": 0, "status": RUNNING[kind]}]
    # Early polls come every w s (0, w, 2w, ...): polls at 3kw+w and 3kw+2w read a malformed
    # answer, the poll at 3kw+3w a good one, five times over.
    w = MIN_WAIT
    for base in range(0, 15 * w, 3 * w):
        timeline += [{"at": base + w / 2, "status": RUNNING[kind], "raw": bad}, {"at": base + 2.5 * w, "status": RUNNING[kind]}]
    timeline.append({"at": 15 * w + w / 2, "status": DONE[kind]})
    r = run({"job": {"kind": kind, "id": IDS[kind]}}, timeline, kind, settings={"unknownStatusMaxPolls": 3})
    o = outcome_of(r, "SUCCEEDED")
    assert o["polls"] == 17  # polls at 0, w, ..., 16w: 10 malformed ones, never 3 in a row


# --- a cancel the service rejected --------------------------------------------------------


@pytest.mark.parametrize(("kind", "error"), [("import", "ConflictException"), ("loader", "BulkLoadIdNotFoundException")])
def test_a_rejected_cancel_of_a_running_job_is_reported_rejected(kind, error):
    r = run({"job": {"kind": kind, "id": IDS[kind]}, "timeoutSeconds": 60, "cancelOnTimeout": True},
            [{"at": 0, "status": RUNNING[kind]}], kind,
            faults=[{"operation": CANCEL[kind], "calls": [1], "error": error}])  # fmt: skip
    o = outcome_of(r, "TIMED_OUT")
    c = o["cancellation"]
    assert (c["accepted"], c["confirmed"], c["rejected"], c["reason"]) == (False, False, error, "timeout")
    assert "rejected the cancel" in o["statusReason"] and error in o["statusReason"]
    assert r["calls"][CANCEL[kind]] == 1
    assert r["virtualSeconds"] < 60 + 900  # no wait for a confirmation that cannot come


# A cancel refused because the job ended a moment before it (Neptune's cancel answers 404
# BulkLoadIdNotFoundException "when the load does not exist or is no longer active", CancelLoaderJob
# in https://docs.aws.amazon.com/neptune/latest/apiref/API_CancelLoaderJob.html; Analytics answers
# 409 ConflictException for a task that is no longer running). The scripted job ends just after
# the deadline poll, and the fault stands for the service refusing because it has.


@pytest.mark.parametrize(("kind", "error", "final", "outcome"), [
    ("loader", "BulkLoadIdNotFoundException", "LOAD_FAILED", "FAILED"),
    ("loader", "BadRequestException", "LOAD_CANCELLED_DUE_TO_ERRORS", "FAILED"),
    ("loader", "BulkLoadIdNotFoundException", "LOAD_CANCELLED_BY_USER", "CANCELLED"),
    ("loader", "BulkLoadIdNotFoundException", "LOAD_COMPLETED", "SUCCEEDED"),
    ("import", "ConflictException", "FAILED", "FAILED"),
    ("export", "ConflictException", "CANCELLED", "CANCELLED"),
])  # fmt: skip
def test_a_cancel_refused_because_the_job_just_ended_reports_how_it_ended(kind, error, final, outcome):
    errors = [{"code": "PARSING_ERROR", "message": "Expected 4 columns, found 3", "file": "s3://b/v.csv", "record": 17}]
    r = run({"job": {"kind": kind, "id": IDS[kind]}, "timeoutSeconds": 60, "cancelOnTimeout": True, "maxErrors": 10},
            [{"at": 0, "status": RUNNING[kind]},
             {"at": 61, "status": final, "statusReason": "ended on its own", "errors": errors}], kind,
            faults=[{"operation": CANCEL[kind], "calls": [1], "error": error}])  # fmt: skip
    o = outcome_of(r, outcome)
    assert o["status"] == final  # what the service said, not the status before the deadline
    c = o["cancellation"]
    assert (c["accepted"], c["confirmed"], c["rejected"]) == (False, False, error)  # ours was refused
    if kind == "loader" and outcome == "FAILED":
        assert o["errors"] == errors  # the user learns why the load failed
    # Polls every MIN_WAIT s and on the deadline (60), the refused cancel, then one poll
    # MIN_WAIT s later (the policy's shortest wait): the job ended at 61, so it reads the end.
    assert r["calls"][CANCEL[kind]] == 1 and r["calls"][GET[kind]] == DEADLINE_POLLS + 1
    assert r["virtualSeconds"] == 60 + MIN_WAIT


def test_a_cancel_refused_while_the_job_is_still_running_polls_once_more_then_times_out():
    kind = "loader"
    r = run({"job": {"kind": kind, "id": IDS[kind]}, "timeoutSeconds": 60, "cancelOnTimeout": True},
            [{"at": 0, "status": RUNNING[kind]}, {"at": 3600, "status": "LOAD_COMPLETED"}], kind,
            faults=[{"operation": CANCEL[kind], "calls": [1], "error": "BadRequestException"}])  # fmt: skip
    o = outcome_of(r, "TIMED_OUT")
    assert o["status"] == RUNNING[kind] and "rejected the cancel (BadRequestException)" in o["statusReason"]
    assert r["calls"] == {GET[kind]: DEADLINE_POLLS + 1, CANCEL[kind]: 1}  # exactly one poll after the refusal
    assert r["virtualSeconds"] == 60 + MIN_WAIT


def test_a_rejected_cancel_of_a_job_someone_else_cancels_is_not_ours():
    kind = "import"
    r = run({"job": {"kind": kind, "id": IDS[kind]}, "timeoutSeconds": 60, "cancelOnTimeout": True},
            [{"at": 0, "status": "IMPORTING"}, {"at": 55, "status": "CANCELLING"}, {"at": 70, "status": "CANCELLED"}],
            kind, faults=[{"operation": "CancelImportTask", "calls": [1], "error": "ConflictException"}])  # fmt: skip
    o = outcome_of(r, "CANCELLED")  # cancelled by someone else: not a TIMED_OUT of ours
    c = o["cancellation"]
    assert (c["accepted"], c["confirmed"], c["rejected"]) == (False, False, "ConflictException")
    assert o["status"] == "CANCELLED"


def test_an_accepted_cancel_is_still_confirmed_as_timed_out():
    kind = "export"
    r = run({"job": {"kind": kind, "id": IDS[kind]}, "timeoutSeconds": 60, "cancelOnTimeout": True},
            [{"at": 0, "status": "EXPORTING"}], kind)  # fmt: skip
    o = outcome_of(r, "TIMED_OUT")
    assert (o["cancellation"]["accepted"], o["cancellation"]["confirmed"]) == (True, True)
    assert "rejected" not in o["cancellation"]


# --- a failure while collecting loader error pages ----------------------------------------


def _errors(n: int) -> list[dict[str, Any]]:
    return [{"code": "PARSING_ERROR", "message": f"bad row {i}", "file": "s3://b/v.csv", "record": i} for i in range(n)]


@pytest.mark.parametrize(
    ("error", "calls"),
    [("BadRequestException", [3]),  # not retryable: the handler ends the collection at once
     ("InternalFailureException", list(range(3, 40)))],  # retryable: the retries run out
)  # fmt: skip
def test_a_failed_error_page_keeps_the_job_failed(error, calls):
    kind = "loader"
    r = run({"job": {"kind": kind, "id": IDS[kind]}, "maxErrors": 250}, [
        {"at": 0, "status": RUNNING[kind]},
        {"at": 5, "status": "LOAD_FAILED", "errors": _errors(250)},
    ], kind, faults=[{"operation": GET[kind], "calls": calls, "error": error}])  # fmt: skip
    # Call 1 at 0 s (running), call 2 at MIN_WAIT s: LOAD_FAILED with page 1 (100 errors); call 3: page 2.
    o = outcome_of(r, "FAILED")
    assert o["status"] == "LOAD_FAILED" and o["errors"] == _errors(100)
    assert o["errorsTruncated"] is True
    assert "page 2 could not be read" in o["errorsNote"] and error in o["errorsNote"]


# --- ERROR_ENCOUNTERED: an error was met, a rollback follows ------------------------------


@pytest.mark.parametrize("status", ["ERROR_ENCOUNTERED", "ERROR_ENCOUNTERED_ROLLING_BACK", "ROLLING_BACK"])
def test_error_encountered_is_watched_to_the_services_final_status(status):
    assert classify("import", status).rolling_back and not classify("import", status).outcome
    r = run({"job": {"kind": "import", "id": IDS["import"]}}, [
        {"at": 0, "status": "IMPORTING"},
        {"at": 30, "status": status},
        {"at": 600, "status": "ERROR_ENCOUNTERED_ROLLING_BACK"},
        {"at": 1800, "status": "FAILED", "statusReason": "rolled back"},
    ], "import")  # fmt: skip
    o = outcome_of(r, "FAILED")
    assert (o["status"], o["statusReason"]) == ("FAILED", "rolled back")  # the service's own end
    assert r["virtualSeconds"] >= 1800


def test_a_rollback_that_never_ends_is_bounded():
    bound = 3600
    r = run({"job": {"kind": "import", "id": IDS["import"]}, "timeoutSeconds": 86400}, [
        {"at": 0, "status": "IMPORTING"},
        {"at": 100, "status": "ERROR_ENCOUNTERED"},
        {"at": 400, "status": "ERROR_ENCOUNTERED_ROLLING_BACK"},
    ], "import", settings={"rollbackMaxSeconds": bound})  # fmt: skip
    o = outcome_of(r, "FAILED")
    assert o["status"] == "ERROR_ENCOUNTERED_ROLLING_BACK"
    assert f"rollbackMaxSeconds={bound}" in o["statusReason"] and "final status was not seen" in o["statusReason"]
    # Ends at the first poll at least `bound` after the first poll that saw the error.
    assert 100 + bound <= r["virtualSeconds"] <= 100 + MIN_WAIT + bound + Settings().max_wait_seconds


def test_the_rollback_bound_is_a_setting_with_a_documented_default():
    clock.use(lambda: 1_800_000_000.0)
    try:
        fns = {k: {"status": "s", "cancel": "c"} for k in ("loader", "import", "export")}
        w = new_watch({"request": {"job": {"kind": "import", "id": IDS["import"]}}, "functions": fns},
                    execution_id="x", cfg=Settings())  # fmt: skip
    finally:
        clock.use(None)
    assert w["limits"]["rollbackMaxSeconds"] == DEFAULT_ROLLBACK_MAX_SECONDS == Settings().rollback_max_seconds
    assert json.dumps(w)  # the watch stays plain JSON
