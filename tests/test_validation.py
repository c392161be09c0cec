"""Request validation at AWS's own limits, and the INVALID_REQUEST outcome of oversized input.

Every field a request carries is bounded, so that a request of any size up to Step Functions'
256 KB execution input gets an INVALID_REQUEST outcome that names the oversized field and
stays small itself (it is published to SNS and EventBridge, and is the Fail cause).

AWS limits relied on here:
- Task tokens are 1..2,048 characters: botocore's stepfunctions service model, shape
  ``TaskToken`` (min 1, max 2048), the token of SendTaskSuccess / SendTaskFailure
  (https://docs.aws.amazon.com/step-functions/latest/apireference/API_SendTaskSuccess.html:
  "taskToken ... Length Constraints: Minimum length of 1. Maximum length of 2048.").
- Execution input is at most 256 KiB (https://docs.aws.amazon.com/step-functions/latest/dg/
  service-quotas.html: "Maximum input or output size for a task, state, or execution: 256 KiB
  of data as a UTF-8 encoded string").
- A Fail state's Cause is at most 32,768 characters (botocore's stepfunctions ``SensitiveCause``
  shape, max 32768).
"""

from __future__ import annotations

import json

import botocore.session
import pytest
from watcher import clock
from watcher.errors import InvalidRequestError
from watcher.limits import MAX_CONTEXT_BYTES, MAX_TASK_TOKEN, json_bytes
from watcher.outcome import finalize
from watcher.settings import Settings
from watcher.watch import new_watch

FNS = {k: {"status": f"{k}-s", "cancel": f"{k}-c"} for k in ("loader", "import", "export")}
LOADER = {"kind": "loader", "id": "load-1"}
IMPORT = {"kind": "import", "id": "t-abcdefghij"}
EXECUTION_INPUT_LIMIT = 256 * 1024
CAUSE_LIMIT = 32_768


@pytest.fixture(autouse=True)
def fixed_clock():
    clock.use(lambda: 1_800_000_000.0)
    yield
    clock.use(None)


def _prepare(request):
    return new_watch({"request": request, "functions": FNS}, execution_id="arn:x", cfg=Settings())


def _rejected(request) -> str:
    with pytest.raises(InvalidRequestError) as info:
        _prepare(request)
    return info.value.message


def cause_of(request) -> str:
    """Prepare's error as Step Functions catches it into the state: the Lambda error JSON."""
    message = _rejected(request)
    return json.dumps({"errorMessage": message, "errorType": "InvalidRequestError", "requestId": "r", "stackTrace": []})


def _finalized(request) -> dict:
    """The end of an invalid request's execution: Prepare's error caught into $.error, then Finalize."""
    cause = cause_of(request)
    assert len(cause) < 2048, len(cause)  # it travels in the state next to the request
    state = {"request": request, "error": {"Error": "InvalidRequestError", "Cause": cause}}
    return finalize({"state": state, "executionId": "arn:x"})


def test_task_token_limits_are_botocores():
    shape = botocore.session.get_session().get_service_model("stepfunctions").shape_for("TaskToken")
    assert (shape.metadata["min"], shape.metadata["max"]) == (1, MAX_TASK_TOKEN)


@pytest.mark.parametrize(
    "job",
    [
        {"kind": "import", "id": "t-abcdefghij\n"},
        {"kind": "export", "id": "t-abcdefghij\n"},
        {"kind": "loader", "id": "load-1\n"},
        {"kind": "import", "id": "\nt-abcdefghij"},
        {"kind": "import", "id": "t-abcdefghïj"},
        {"kind": "loader", "id": "l\u043ead"},  # a Cyrillic o
        {"kind": "loader", "id": "x" * 129},
        {"kind": "import", "id": "t-abcdefghijk"},
    ],
)
def test_ids_must_match_in_full(job):
    message = _rejected({"job": job})
    assert message.startswith("job.id ")


def test_good_ids_are_accepted_at_their_limits():
    assert _prepare({"job": {"kind": "loader", "id": "a" + "-_9" * 42 + "x"}})["job"]["id"].endswith("x")
    assert _prepare({"job": IMPORT})["job"] == IMPORT


def test_task_token_up_to_2048_characters_is_accepted():
    assert _prepare({"job": LOADER, "taskToken": "t" * MAX_TASK_TOKEN})["taskToken"] == "t" * MAX_TASK_TOKEN
    assert "taskToken" in _rejected({"job": LOADER, "taskToken": "t" * (MAX_TASK_TOKEN + 1)})
    assert "taskToken" in _rejected({"job": LOADER, "taskToken": ""})


def test_context_is_counted_in_utf8_bytes_not_ascii_escapes():
    emoji = {"note": "\U0001f600" * 1000}  # 4,000 bytes of UTF-8; 12,000 as \\u escapes
    assert json_bytes(emoji) == 4000 + len('{"note":""}')
    assert len(json.dumps(emoji)) > MAX_CONTEXT_BYTES
    assert _prepare({"job": LOADER, "context": emoji})["context"] == emoji
    at_limit = {"k": "é" * ((MAX_CONTEXT_BYTES - len('{"k":""}')) // 2)}
    assert json_bytes(at_limit) == MAX_CONTEXT_BYTES
    _prepare({"job": LOADER, "context": at_limit})
    over = {"k": "é" * ((MAX_CONTEXT_BYTES - len('{"k":""}')) // 2) + "x"}
    assert "context is 8193 bytes" in _rejected({"job": LOADER, "context": over})


def test_context_that_cannot_be_json_is_named():
    assert "context" in _rejected({"job": LOADER, "context": {"s": "\ud800"}})  # a lone surrogate
    deep: list = []
    for _ in range(100_000):
        deep = [deep]
    assert "context" in _rejected({"job": LOADER, "context": deep})


HUGE = 250_000  # a request just under the 256 KB execution input limit


@pytest.mark.parametrize(
    ("request_", "named"),
    [
        ({"job": LOADER, "correlationId": "c" * HUGE}, "correlationId"),
        ({"job": LOADER, "taskToken": "t" * HUGE}, "taskToken"),
        ({"job": LOADER, "context": {"blob": "b" * HUGE}}, "context"),
        ({"job": LOADER, "context": "é" * (HUGE // 2)}, "context"),
        ({"job": {"kind": "loader", "id": "a" * HUGE}}, "job.id"),
        ({"job": {"kind": "import", "id": "t-" + "a" * HUGE}}, "job.id"),
        ({"job": {"kind": "k" * HUGE, "id": "load-1"}}, "job.kind"),
        ({"job": {"kind": "loader", "id": ["x" * 1000] * 240}}, "job.id"),
        ({"job": LOADER, "x" * HUGE: 1}, "unknown field"),
        ({"job": LOADER, **{f"extra{i}": i for i in range(10_000)}}, "unknown field"),
        ({"job": LOADER, "timeoutSeconds": int("9" * 4000)}, "timeoutSeconds"),
        ({"job": LOADER, "maxErrors": int("9" * 4000)}, "maxErrors"),
        ({"job": LOADER, "cancelOnTimeout": "y" * HUGE}, "cancelOnTimeout"),
    ],
)
def test_oversized_fields_are_named_and_the_outcome_stays_small(request_, named):
    final = _finalized(request_)
    o = final["outcome"]
    assert o["outcome"] == "INVALID_REQUEST" and final["error"] == "NeptuneWatch.INVALID_REQUEST"
    assert named in o["statusReason"]
    size = len(json.dumps(o, separators=(",", ":"), ensure_ascii=False).encode())
    assert size < 8 * 1024, size  # the request's bulk is never echoed
    assert len(final["cause"]) < CAUSE_LIMIT and json.loads(final["cause"]) == o
    # The request itself is within the execution input limit, and Finalize's whole result is
    # small: next to the request in the state, the two still fit.
    assert json_bytes(request_) < EXECUTION_INPUT_LIMIT
    assert json_bytes(final) < 8 * 1024
    assert json_bytes(request_) + len(cause_of(request_)) + json_bytes(final) < EXECUTION_INPUT_LIMIT


def test_what_fits_is_echoed_and_what_does_not_is_dropped():
    o = _finalized({"job": {"kind": "loader", "id": "bad id"}, "correlationId": "c-1", "context": {"k": "é"},
                    "taskToken": "tok"})  # fmt: skip
    assert (o["outcome"]["correlationId"], o["outcome"]["context"], o["taskToken"]) == ("c-1", {"k": "é"}, "tok")
    assert o["outcome"]["job"] == {"kind": "loader", "id": "bad id"}
    o = _finalized({"job": {"kind": "loader", "id": "a" * 5000}, "correlationId": "c" * 257,
                    "context": {"k": "x" * 9000}, "taskToken": "t" * 2049})  # fmt: skip
    assert (o["outcome"]["correlationId"], o["outcome"]["context"], o["taskToken"]) == (None, {"truncated": True}, None)
    assert o["outcome"]["job"]["kind"] == "loader" and len(o["outcome"]["job"]["id"]) <= 64
    assert "5002 chars" in o["outcome"]["job"]["id"]
