"""schemas/*.json describe what the code accepts and publishes (docs/CONTRACT.md 1 and 2)."""

from __future__ import annotations

import json
from typing import Any

import conftest_cdk as h
import pytest
from watcher import outcome as outcome_module
from watcher.errors import InvalidRequestError
from watcher.request import WatchRequest, parse
from watcher.settings import Settings
from watcher.watch import new_watch

pytestmark = pytest.mark.cdk

jsonschema = pytest.importorskip("jsonschema")

SCHEMAS = h.REPO / "schemas"
EXECUTION = "arn:aws:states:us-east-1:123456789012:execution:NeptuneWatch-watch:abc"
FUNCTIONS = {
    k: {"status": f"arn:fn:{k}-status", "cancel": f"arn:fn:{k}-cancel"}
    for k in ("loader", "import", "export")
}


def _validator(name: str) -> Any:
    schema = json.loads((SCHEMAS / name).read_text())
    cls = jsonschema.Draft202012Validator
    cls.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


@pytest.fixture(scope="module")
def request_schema() -> Any:
    return _validator("watch-request.schema.json")


@pytest.fixture(scope="module")
def outcome_schema() -> Any:
    return _validator("outcome.schema.json")


REQUESTS = [
    ({"job": {"kind": "loader", "id": "4f1c2e0a-1b2c-4d5e-8f90-0123456789ab"}}, True),
    ({"job": {"kind": "import", "id": "t-abcdefghij"}, "timeoutSeconds": 60, "cancelOnTimeout": True,
      "maxErrors": 0, "correlationId": "c-1", "taskToken": "tok", "context": {"a": [1, 2]}}, True),
    ({"job": {"kind": "export", "id": "t-0123456789"}, "timeoutSeconds": None, "context": None}, True),
    ({"job": {"kind": "import", "id": "t-ABCDEFGHIJ"}}, False),
    ({"job": {"kind": "export", "id": "g-abcdefghij"}}, False),
    ({"job": {"kind": "loader", "id": "-starts-with-dash"}}, False),
    ({"job": {"kind": "graph", "id": "t-abcdefghij"}}, False),
    ({"job": {"kind": "loader"}}, False),
    ({"job": {"kind": "loader", "id": "x", "extra": 1}}, False),
    ({"job": {"kind": "loader", "id": "x"}, "unknown": 1}, False),
    ({"job": {"kind": "loader", "id": "x"}, "timeoutSeconds": 0}, False),
    ({"job": {"kind": "loader", "id": "x"}, "maxErrors": -1}, False),
    ({"job": {"kind": "loader", "id": "x"}, "cancelOnTimeout": "yes"}, False),
    ({"job": {"kind": "loader", "id": "x"}, "correlationId": ""}, False),
    ({}, False),
]  # fmt: skip


@pytest.mark.parametrize(("request_body", "valid"), REQUESTS)
def test_request_schema_agrees_with_the_parser(
    request_schema: Any, request_body: dict[str, Any], valid: bool
) -> None:
    assert request_schema.is_valid(request_body) is valid
    try:
        parse(WatchRequest, request_body)
        parsed = True
    except InvalidRequestError:
        parsed = False
    assert parsed is valid


def _watch(job: dict[str, str], **changes: Any) -> dict[str, Any]:
    w = new_watch({"request": {"job": job, "correlationId": "corr-1", "context": {"k": "v"}}, "functions": FUNCTIONS},
                execution_id=EXECUTION, cfg=Settings())  # fmt: skip
    w.update(changes)
    return w


def _finalize(state: dict[str, Any]) -> dict[str, Any]:
    return outcome_module.finalize({"state": state, "executionId": EXECUTION})


CASES = {
    "succeeded_loader": {"watch": _watch(
        {"kind": "loader", "id": "load-1"},
        result={"outcome": "SUCCEEDED", "reason": None},
        last={"status": "LOAD_COMPLETED", "counters": {"totalRecords": 10, "insertErrors": 0},
              "progress": {"percent": None}},
        polls=3)},
    "failed_loader_with_errors": {"watch": _watch(
        {"kind": "loader", "id": "load-2"},
        result={"outcome": "FAILED", "reason": None},
        last={"status": "LOAD_FAILED", "counters": {"parsingErrors": 2}, "progress": {"percent": None}},
        errors=[{"code": "PARSING_ERROR", "message": "bad row", "file": "s3://b/v.csv", "record": 7},
                {"code": "X", "message": None, "file": None, "record": None}])},
    "cancelled_import": {"watch": _watch(
        {"kind": "import", "id": "t-abcdefghij"},
        result={"outcome": "TIMED_OUT", "reason": "still running"},
        last={"status": "CANCELLED", "counters": {"progressPercentage": 40}, "progress": {"percent": 40},
              "graphId": "g-abcdefghij"},
        cancel={"requestedAt": "2026-11-24T01:00:00Z", "accepted": True, "confirmed": True, "reason": "timeout"})},
    "not_found_export": {"watch": _watch(
        {"kind": "export", "id": "t-0123456789"}, result={"outcome": "NOT_FOUND", "reason": "no such task"})},
    "watch_error": {"watch": _watch({"kind": "loader", "id": "load-3"}),
                    "error": {"Error": "NeptuneAccessDenied", "Cause": json.dumps(
                        {"errorType": "NeptuneAccessDenied", "errorMessage": "denied"})}},
    "invalid_request": {"request": {"job": {"kind": "graph", "id": 5}},
                        "error": {"Error": "InvalidRequestError", "Cause": json.dumps(
                            {"errorType": "InvalidRequestError", "errorMessage": "job.kind: bad"})}},
    "not_an_object": {"request": "just a string",
                      "error": {"Error": "InvalidRequestError", "Cause": "request must be a JSON object"}},
}  # fmt: skip


CASES["duplicate_adopts_the_owners_outcome"] = {"watch": _watch(
    {"kind": "loader", "id": "load-2"}, role="DUPLICATE",
    base=_finalize(CASES["failed_loader_with_errors"])["outcome"])}  # fmt: skip


@pytest.mark.parametrize("case", sorted(CASES))
def test_outcomes_built_by_the_code_match_the_schema(outcome_schema: Any, case: str) -> None:
    final = _finalize(CASES[case])
    errors = sorted(outcome_schema.iter_errors(final["outcome"]), key=str)
    assert errors == [], [e.message for e in errors]
    # The Fail cause is the same outcome, as JSON.
    assert outcome_schema.is_valid(json.loads(final["cause"]))


def test_the_state_machine_fallback_outcome_matches_the_schema(outcome_schema: Any) -> None:
    asl = json.loads(h.ASL_PATH.read_text())
    template = asl["States"]["FallbackOutcome"]["Parameters"]["outcome"]
    values = {"$$.Execution.StartTime": "2026-11-24T01:00:00.123Z", "$$.State.EnteredTime": "2026-11-24T02:00:00Z",
              "$$.Execution.Id": EXECUTION}  # fmt: skip

    def fill(node: Any) -> Any:
        if isinstance(node, dict):
            return {
                k.removesuffix(".$"): (values[v] if k.endswith(".$") else fill(v))
                for k, v in node.items()
            }
        return node

    assert outcome_schema.is_valid(fill(template))


def test_detail_types_and_outcomes_match_the_code() -> None:
    schema = json.loads((SCHEMAS / "outcome.schema.json").read_text())
    assert schema["$defs"]["detailTypes"]["const"] == {
        k.value: v for k, v in outcome_module.DETAIL_TYPES.items()
    }
    assert set(schema["$defs"]["outcome"]["enum"]) == {k.value for k in outcome_module.DETAIL_TYPES}


def test_schema_rejects_what_the_contract_forbids(outcome_schema: Any) -> None:
    good = _finalize(CASES["succeeded_loader"])["outcome"]
    assert outcome_schema.is_valid(good)
    for bad in (
        {**good, "outcome": "DONE"},
        {**good, "schemaVersion": "2"},
        {
            **good,
            "errors": [{"code": "X", "message": "m", "file": None, "record": None}],
        },  # SUCCEEDED has none
        {k: v for k, v in good.items() if k != "status"},
        {**good, "job": {"kind": "loader"}},
    ):
        assert not outcome_schema.is_valid(bad), bad
