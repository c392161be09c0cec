"""The watch's own rules: request defaults, the poll policy, outcome building and caps."""

from __future__ import annotations

import json

import pytest
from watcher import clock
from watcher.errors import ConfigurationError, InvalidRequestError
from watcher.outcome import MAX_CAUSE_CHARS, MAX_OUTCOME_BYTES, finalize
from watcher.policy import PollPolicy, estimate_remaining
from watcher.settings import Settings
from watcher.watch import new_watch, prepare, resume

FNS = {k: {"status": f"{k}-s", "cancel": f"{k}-c"} for k in ("loader", "import", "export")}


@pytest.fixture(autouse=True)
def fixed_clock():
    clock.use(lambda: 1_800_000_000.0)
    yield
    clock.use(None)


def test_prepare_applies_deployment_defaults():
    cfg = Settings(default_timeout_seconds=600, default_max_errors=7, default_cancel_on_timeout=True)
    w = new_watch({"request": {"job": {"kind": "loader", "id": "abc"}}, "functions": FNS}, execution_id="arn:x", cfg=cfg)
    assert (w["timeoutSeconds"], w["maxErrors"], w["cancelOnTimeout"]) == (600, 7, True)
    assert w["deadlineEpoch"] - w["startedEpoch"] == 600
    assert w["fn"] == {"status": "loader-s", "cancel": "loader-c", "start": None}
    assert w["lock"]["key"] == "loader#abc" and w["root"] == "arn:x"
    assert w["startedAt"] == "2027-01-15T08:00:00Z"


@pytest.mark.parametrize(
    "request_",
    [
        {"job": {"kind": "loader", "id": "abc"}, "timeoutSeconds": 0},
        {"job": {"kind": "loader", "id": "abc"}, "timeoutSeconds": 10**9},
        {"job": {"kind": "loader", "id": "abc"}, "maxErrors": 5000},
        {"job": {"kind": "loader", "id": "abc"}, "cancelOnTimeout": "yes"},
        {"job": {"kind": "export", "id": "abc"}},
        {"job": {"kind": "loader"}},
        "just a string",
        None,
    ],
)
def test_prepare_rejects_bad_requests(request_):
    with pytest.raises(InvalidRequestError):
        new_watch({"request": request_, "functions": FNS}, execution_id="x", cfg=Settings())


def test_prepare_without_functions_is_a_configuration_error():
    with pytest.raises(ConfigurationError):
        new_watch({"request": {"job": {"kind": "loader", "id": "abc"}}, "functions": {}}, execution_id="x", cfg=Settings())


def test_resume_carries_the_watch_and_resets_the_generation():
    w = new_watch({"request": {"job": {"kind": "loader", "id": "abc"}}, "functions": FNS}, execution_id="root", cfg=Settings())
    w.update(polls=40, generationPolls=40, fn={"status": "forged", "cancel": "forged"})
    r = resume(w, FNS["loader"])
    assert r["generation"] == 1 and r["polls"] == 40 and r["generationPolls"] == 0 and r["root"] == "root"
    assert r["fn"] == {"status": "loader-s", "cancel": "loader-c"}  # from the definition, never carried
    with pytest.raises(InvalidRequestError):
        resume("nonsense", FNS["loader"])


@pytest.mark.parametrize(
    "request_",
    [
        {"neptuneWatchResume": {"job": {"kind": "loader", "id": "abc"}}},
        {"neptuneWatchContinue": {"from": "arn:aws:states:us-east-1:1:execution:m:a"}},  # not started by it
        {"neptuneWatchContinue": "x", "AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID": None},
    ],
)
def test_continuations_by_value_or_unstarted_are_invalid(request_):
    with pytest.raises(InvalidRequestError):
        prepare({"request": request_, "functions": FNS}, execution_id="arn:aws:states:us-east-1:1:execution:m:b", cfg=Settings())


def test_policy_is_fast_early_slow_late_and_bounded():
    p = PollPolicy(min_wait=12, max_wait=175, fraction=0.05)
    assert p.next_wait(0) == 12
    assert p.next_wait(1000) == 50
    assert p.next_wait(10 * 3600) == 175
    waits = [p.next_wait(t) for t in range(0, 20000, 500)]
    assert waits == sorted(waits)  # never faster as a job ages (without progress)


def test_policy_never_waits_past_the_deadline():
    assert PollPolicy().next_wait(50_000, until_deadline=30.2) == 31
    assert PollPolicy().next_wait(50_000, until_deadline=0) == 1


def test_policy_uses_progress_to_wake_near_the_end_never_later():
    p = PollPolicy(min_wait=12, max_wait=175, fraction=0.05)
    base = p.next_wait(7200)
    assert p.next_wait(7200, progress_percent=10, progress_elapsed=7200) == base  # far from the end
    near = p.next_wait(7200, progress_percent=99, progress_elapsed=7200)
    assert near < base and near >= 12
    assert estimate_remaining(50, 100) == 100
    assert estimate_remaining(None, 100) is None and estimate_remaining(100, 5) is None


def _watch(**over):
    w = new_watch({"request": {"job": {"kind": "loader", "id": "abc"}, "correlationId": "c-1", "context": {"k": 1}, "taskToken": "tok"},
                 "functions": FNS}, execution_id="arn:root", cfg=Settings())
    w.update(over)
    return w


def test_finalize_succeeded_builds_the_contract_outcome():
    w = _watch(result={"outcome": "SUCCEEDED", "reason": None}, polls=3,
               last={"status": "LOAD_COMPLETED", "counters": {"totalRecords": 5}, "progress": {"percent": None}})
    final = finalize({"state": {"watch": w}, "executionId": "arn:root"})
    o = final["outcome"]
    for key in ("schemaVersion", "job", "outcome", "status", "statusReason", "counters", "progress", "errors",
                "polls", "startedAt", "endedAt", "correlationId", "context"):
        assert key in o
    assert (o["outcome"], o["status"], o["polls"], o["correlationId"], o["context"]) == ("SUCCEEDED", "LOAD_COMPLETED", 3, "c-1", {"k": 1})
    assert final["succeeded"] and final["taskToken"] == "tok"
    assert final["attributes"] == {"outcome": "SUCCEEDED", "jobKind": "loader", "schemaVersion": "1"}
    assert final["publish"] is True
    assert json.loads(final["cause"]) == o


def test_finalize_caps_huge_outcomes_for_sns_and_the_fail_cause():
    errors = [{"code": "PARSING_ERROR", "message": "x" * 1900, "file": "s3://b/f", "record": i} for i in range(1000)]
    w = _watch(result={"outcome": "FAILED", "reason": None}, errors=errors, last={"status": "LOAD_FAILED"})
    final = finalize({"state": {"watch": w}})
    size = len(json.dumps(final["outcome"], separators=(",", ":")).encode())
    assert size <= MAX_OUTCOME_BYTES and final["outcome"]["errorsTruncated"] is True
    assert 0 < len(final["outcome"]["errors"]) < 1000
    assert len(final["cause"]) <= MAX_CAUSE_CHARS and final["error"] == "NeptuneWatch.FAILED"


def test_finalize_invalid_request_and_errors():
    bad = finalize({"state": {"request": {"job": {"kind": "zip", "id": 1}, "taskToken": "t"},
                              "error": {"Error": "InvalidRequestError", "Cause": json.dumps({"errorType": "InvalidRequestError", "errorMessage": "job.kind: no"})}}})
    assert bad["outcome"]["outcome"] == "INVALID_REQUEST" and bad["taskToken"] == "t"
    assert "job.kind" in bad["outcome"]["statusReason"] and bad["publish"] is True
    err = finalize({"state": {"watch": _watch(), "error": {"Error": "NeptuneAccessDenied", "Cause": "denied"}}})
    assert err["outcome"]["outcome"] == "ERROR" and "NeptuneAccessDenied" in err["outcome"]["statusReason"]
    odd = finalize({"state": "nonsense"})
    assert odd["outcome"]["outcome"] == "ERROR" and odd["outcome"]["job"] is None


@pytest.mark.parametrize("elapsed", [0, 30, 227, 600, 1234, 3600, 7200, 50_000])
@pytest.mark.parametrize("percent", [None, 1, 50, 90, 95, 99, 99.9])
def test_progress_never_lengthens_a_wait(elapsed, percent):
    p = PollPolicy()
    assert p.next_wait(elapsed, progress_percent=percent) <= p.next_wait(elapsed)
    assert p.next_wait(elapsed) <= max(p.min_wait, p.fraction * elapsed)  # within the delay bound


def test_prepare_does_not_load_the_aws_sdk():
    import subprocess
    import sys

    code = "import sys, watcher.handlers.prepare; print('boto3' in sys.modules, 'botocore.session' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={"PYTHONPATH": "lambdas", "PATH": "/usr/bin"})
    assert out.stdout.split() == ["False", "False"]
