"""The strict local runtime: where moto 5.2.5 is more lenient than AWS Step Functions, the local
runtime fails as AWS documents. One test (or more) per row of docs/LOCAL-RUNTIME.md; each small
definition is written for the test. The whole path suite (tests/test_paths.py) runs the real
definition under these rules.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import botocore.exceptions
import pytest

from neptune_watch.local import adapter, strict
from neptune_watch.local.runtime import LocalRuntime

pytestmark = pytest.mark.runtime

REPO = Path(__file__).resolve().parents[1]
QUOTAS = "https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html"
ERRORS = "https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html"
CHOICE = "https://docs.aws.amazon.com/step-functions/latest/dg/state-choice.html"


@pytest.fixture(scope="module")
def rt():
    with LocalRuntime() as runtime:
        yield runtime


_names = iter(range(10**6))


def run(rt: LocalRuntime, definition: dict, request: object = None) -> dict:
    arn = rt.create_state_machine(f"strict-{next(_names)}", json.dumps(definition))
    return rt.wait(rt.start(request if request is not None else {}, state_machine_arn=arn), timeout=60)


def choice(rule: dict) -> dict:
    return {
        "StartAt": "C",
        "States": {
            "C": {"Type": "Choice", "Choices": [{**rule, "Next": "Yes"}], "Default": "No"},
            "Yes": {"Type": "Pass", "Result": "yes", "End": True},
            "No": {"Type": "Pass", "Result": "no", "End": True},
        },
    }


def task(rt: LocalRuntime, extra: dict, catch: list[str] | None = ("States.ALL",)) -> dict:
    """One SNS publish task with a Catch on ``catch``; ``extra`` overrides its fields."""
    state = {
        "Type": "Task",
        "Resource": "arn:aws:states:::sns:publish",
        "Parameters": {"TopicArn": rt.arns["topic"], "Message": "m"},
        "End": True,
        **extra,
    }
    if catch:
        state["Catch"] = [{"ErrorEquals": list(catch), "ResultPath": "$.caught", "Next": "Caught"}]
    return {"StartAt": "T", "States": {"T": state, "Caught": {"Type": "Pass", "Result": "caught", "End": True}}}


def output(desc: dict) -> object:
    """The execution's output (moto hands a string result back without JSON quotes)."""
    try:
        return json.loads(desc["output"])
    except ValueError:
        return desc["output"]


def failed(desc: dict, error: str) -> str:
    assert (desc["status"], desc.get("error")) == ("FAILED", error), desc
    return desc.get("cause") or ""


# Choice on a missing path -----------------------------------------------------------------
# CHOICE: a Choice rule's Variable must resolve; IsPresent tests whether it does. ERRORS,
# States.Runtime: "attempting to apply InputPath or OutputPath on a null JSON payload"-class
# errors at runtime fail the execution.
@pytest.mark.parametrize(
    "rule, request_",
    [
        ({"Variable": "$.nope", "StringEquals": "a"}, {}),
        ({"Variable": "$.lock.key", "IsString": True}, {"lock": None}),
        ({"Not": {"Variable": "$.nope", "IsNull": True}}, {}),
        ({"Or": [{"Variable": "$.nope", "NumericEquals": 1}, {"Variable": "$.x", "IsPresent": True}]}, {"x": 1}),
    ],
    ids=["string-equals", "null-parent", "not-is-null", "or"],
)
def test_choice_on_a_missing_path_fails_with_states_runtime(rt, rule, request_):
    cause = failed(run(rt, choice(rule), request_), "States.Runtime")
    assert "Invalid path" in cause


def test_is_present_still_tests_a_missing_path(rt):
    desc = run(rt, choice({"Variable": "$.lock.key", "IsPresent": True}), {"lock": None})
    assert desc["status"] == "SUCCEEDED" and output(desc) == "no"
    desc = run(rt, choice({"Variable": "$.lock.key", "IsPresent": True}), {"lock": {"key": "k"}})
    assert output(desc) == "yes"


# States.ALL ----------------------------------------------------------------------------------
# ERRORS, States.ALL: "cannot catch the States.DataLimitExceeded terminal error or Runtime
# error types"; States.Runtime: "A retry or catch on States.ALL won't catch States.Runtime errors."
def test_states_all_does_not_catch_states_runtime(rt):
    definition = task(rt, {"Parameters": {"TopicArn": rt.arns["topic"], "Message.$": "$.nope"}})
    assert "could not be found" in failed(run(rt, definition), "States.Runtime")


def test_states_all_does_not_retry_states_runtime(rt):
    definition = task(
        rt,
        {
            "Parameters": {"TopicArn": rt.arns["topic"], "Message.$": "$.nope"},
            "Retry": [{"ErrorEquals": ["States.ALL"], "MaxAttempts": 3, "IntervalSeconds": 1}],
        },
        catch=None,
    )
    before = rt.clock.now()
    failed(run(rt, definition), "States.Runtime")
    assert rt.clock.now() == before  # no retry interval was slept


def test_states_all_does_not_catch_data_limit_exceeded_but_its_own_name_does(rt):
    a = "a" * 140_000  # the state's input (~140 KB) is fine; Parameters double it
    params = {"TopicArn": rt.arns["topic"], "Message.$": "States.Format('{}{}', $.a, $.a)"}
    cause = failed(run(rt, task(rt, {"Parameters": params}), {"a": a}), "States.DataLimitExceeded")
    assert "input" in cause
    desc = run(rt, task(rt, {"Parameters": params}, catch=["States.DataLimitExceeded"]), {"a": a})
    assert desc["status"] == "SUCCEEDED" and output(desc) == "caught"


# Payload size: 262,144 bytes of UTF-8 -------------------------------------------------------
# QUOTAS: "Maximum input or output size for a task, state, or execution: 256 KiB of data as a
# UTF-8 encoded string"; ERRORS, States.DataLimitExceeded: state output over the quota, task
# output over it, state input after Parameters over it.
def test_state_output_of_exactly_256_kib_passes_and_one_byte_more_fails(rt):
    exact = "x" * (strict.PAYLOAD_LIMIT_BYTES - 2)  # with its quotes: 262,144 bytes of JSON
    desc = run(rt, {"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": exact, "End": True}}})
    assert desc["status"] == "SUCCEEDED"  # moto refused this size (it tests "<")
    over = exact + "x"
    desc = run(rt, {"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": over, "End": True}}})
    failed(desc, "States.DataLimitExceeded")


def test_size_is_counted_in_utf8_bytes_not_escaped_json(rt):
    # 60,000 three-byte characters: 180,002 bytes of UTF-8 JSON (AWS: fits); moto counted
    # each as a six-byte \\uXXXX escape (360,002 bytes) and failed the state.
    text = "\u20ac" * 60_000
    desc = run(rt, {"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": text, "End": True}}})
    assert desc["status"] == "SUCCEEDED", desc
    # and 90,000 of them (270,002 bytes) do not fit, though that is only 90,002 characters
    desc = run(rt, {"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": "\u20ac" * 90_000, "End": True}}})
    failed(desc, "States.DataLimitExceeded")


# Fail state: Error <= 256, Cause <= 32,768 characters -----------------------------------------
# https://docs.aws.amazon.com/step-functions/latest/apireference/API_ExecutionFailedEventDetails.html
# (error: maximum length 256; cause: maximum length 32768): the execution's failure cannot carry more.
@pytest.mark.parametrize("field, size", [("Cause", 32_769), ("Error", 257)])
def test_fail_state_over_the_documented_lengths_fails_with_states_runtime(rt, field, size):
    state = {"Type": "Fail", "Error": "E", "Cause": "c", field: "z" * size}
    cause = failed(run(rt, {"StartAt": "F", "States": {"F": state}}), "States.Runtime")
    assert f"{field} is {size} characters" in cause


def test_fail_state_at_the_documented_lengths_keeps_its_error_and_cause(rt):
    state = {"Type": "Fail", "Error": "E" * 256, "CausePath": "$.c"}
    desc = run(rt, {"StartAt": "F", "States": {"F": state}}, {"c": "c" * 32_768})
    assert desc["error"] == "E" * 256 and desc["cause"] == "c" * 32_768


# ResultSelector / ResultPath ------------------------------------------------------------------
# ERRORS: States.Runtime for a path that cannot be applied; States.ResultPathMatchFailure: "Step
# Functions failed to apply a state's ResultPath field to the input the state received."
def test_result_selector_on_a_missing_path_is_states_runtime_not_caught(rt):
    definition = task(rt, {"ResultSelector": {"x.$": "$.nope"}})
    failed(run(rt, definition), "States.Runtime")


def test_result_path_that_cannot_apply_is_result_path_match_failure(rt):
    desc = run(rt, {"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": 1, "ResultPath": "$.s.t", "End": True}}}, {"s": "str"})
    failed(desc, "States.ResultPathMatchFailure")
    # an ordinary error: States.ALL catches it
    desc = run(rt, task(rt, {"ResultPath": "$.s.t"}), {"s": "str"})
    assert desc["status"] == "SUCCEEDED" and output(desc) == "caught"


# Paths moto already treats as AWS does (kept here so a moto change shows up) -------------------
@pytest.mark.parametrize(
    "state, request_",
    [
        ({"Type": "Pass", "Parameters": {"x.$": "$.nope"}, "End": True}, {}),
        ({"Type": "Pass", "InputPath": "$.nope", "End": True}, {}),
        ({"Type": "Pass", "OutputPath": "$.nope", "End": True}, {}),
        ({"Type": "Wait", "SecondsPath": "$.n", "End": True}, {"n": -5}),
        ({"Type": "Pass", "Parameters": {"x.$": "States.StringToJson($.s)"}, "End": True}, {"s": "{no"}),
        ({"Type": "Pass", "Parameters": {"x.$": "States.Format('{} {}', $.s)"}, "End": True}, {"s": "a"}),
    ],
    ids=["parameters", "input-path", "output-path", "wait-negative", "string-to-json", "format-args"],
)
def test_path_and_intrinsic_errors_fail_with_states_runtime(rt, state, request_):
    failed(run(rt, {"StartAt": "S", "States": {"S": state}}, request_), "States.Runtime")


# History: 25,000 events ---------------------------------------------------------------------------
# QUOTAS: "Maximum execution history size: 25,000 events in a single state machine execution
# history. If the execution history reaches this quota the execution will fail."
def test_history_limit_fails_the_execution(rt, monkeypatch):
    assert strict.HISTORY_EVENT_LIMIT == 25_000
    monkeypatch.setattr(strict, "HISTORY_EVENT_LIMIT", 60)  # the same rule, reached in ~30 states
    loop = {
        "StartAt": "A",
        "States": {
            "A": {"Type": "Pass", "Next": "B"},
            "B": {"Type": "Pass", "Next": "A"},
        },
    }
    desc = run(rt, loop)
    assert re.search(r"history reached 6\d events \(the limit is 60\)", failed(desc, "States.Runtime"))
    assert len(rt.history(desc["executionArn"])) <= 62


# API limits --------------------------------------------------------------------------------------
# https://docs.aws.amazon.com/step-functions/latest/apireference/API_StartExecution.html: name
# 1..80 characters, none of whitespace, < > { } [ ] ? * " # % \ ^ | ~ ` $ & , ; : / or control
# characters; input at most 262,144 bytes (UTF-8).
def _client_error(call, *args, **kwargs) -> str:
    with pytest.raises(botocore.exceptions.ClientError) as info:
        call(*args, **kwargs)
    return info.value.response["Error"]["Code"]


def test_execution_names_and_input_are_checked(rt):
    sfn = rt.client("stepfunctions")
    arn = rt.create_state_machine("strict-names", json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}))
    assert sfn.start_execution(stateMachineArn=arn, name="a" * 80, input="{}")["executionArn"]
    assert _client_error(sfn.start_execution, stateMachineArn=arn, name="a" * 81, input="{}") == "ValidationException"
    for bad in ("has space", "a/b", "x:y", "q?", "tab\t", "ctl\u0085"):
        assert _client_error(sfn.start_execution, stateMachineArn=arn, name=bad, input="{}") == "InvalidName", bad
    big = json.dumps({"a": "x" * strict.PAYLOAD_LIMIT_BYTES})
    assert _client_error(sfn.start_execution, stateMachineArn=arn, input=big) == "ValidationException"


# https://docs.aws.amazon.com/step-functions/latest/apireference/API_SendTaskSuccess.html and
# API_SendTaskFailure.html: taskToken 1..2,048 (botocore model shape TaskToken: max 2048);
# output at most 262,144 bytes; error at most 256, cause at most 32,768 characters.
def _waiting(rt: LocalRuntime) -> tuple[str, str]:
    """An execution waiting on a task token, and that token."""
    definition = {
        "StartAt": "W",
        "States": {
            "W": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sns:publish.waitForTaskToken",
                "Parameters": {"TopicArn": rt.arns["topic"], "Message.$": "$$.Task.Token"},
                "End": True,
            }
        },
    }
    arn = rt.create_state_machine(f"strict-{next(_names)}", json.dumps(definition))
    execution = rt.start({}, state_machine_arn=arn)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for message in rt.sns_messages():
            if message["message"] != "m":  # not one of the other tests' publications
                return execution, message["message"]
        time.sleep(0.02)
    raise AssertionError("no task token published")


def test_send_task_success_checks_token_and_output(rt):
    sfn = rt.client("stepfunctions")
    execution, token = _waiting(rt)
    assert 1 <= len(token) <= strict.TASK_TOKEN_MAX
    assert _client_error(sfn.send_task_success, taskToken="t" * 2049, output="{}") == "ValidationException"
    big = json.dumps("x" * strict.PAYLOAD_LIMIT_BYTES)
    assert _client_error(sfn.send_task_success, taskToken=token, output=big) == "ValidationException"
    assert sfn.describe_execution(executionArn=execution)["status"] == "RUNNING"  # refused, not delivered
    sfn.send_task_success(taskToken=token, output='{"ok": 1}')
    assert json.loads(rt.wait(execution)["output"]) == {"ok": 1}


def test_send_task_failure_checks_error_and_cause(rt):
    sfn = rt.client("stepfunctions")
    execution, token = _waiting(rt)
    assert _client_error(sfn.send_task_failure, taskToken=token, error="e" * 257) == "ValidationException"
    assert _client_error(sfn.send_task_failure, taskToken=token, cause="c" * 32_769) == "ValidationException"
    assert _client_error(sfn.send_task_heartbeat, taskToken="t" * 2049) == "ValidationException"
    sfn.send_task_failure(taskToken=token, error="e" * 256, cause="c" * 32_768)
    desc = rt.wait(execution)
    assert (desc["error"], desc["cause"]) == ("e" * 256, "c" * 32_768)


# The patched moto names --------------------------------------------------------------------------
def test_moto_is_pinned_exactly_and_every_patched_name_exists():
    import importlib.metadata

    assert importlib.metadata.version("moto") == adapter.MOTO_VERSION
    assert re.search(r"^moto==5\.2\.5$", (REPO / "requirements.txt").read_text(), re.M)
    assert re.search(r'"moto\[[a-z,]+\]==5\.2\.5"', (REPO / "pyproject.toml").read_text())
    assert adapter.missing_hooks() == []


def test_a_missing_hook_is_named_when_the_runtime_starts(monkeypatch):
    from moto.stepfunctions.parser.asl.component.state import state

    monkeypatch.delattr(state, "is_within_size_quota")
    assert adapter.missing_hooks() == ["moto.stepfunctions.parser.asl.component.state.state:is_within_size_quota"]
    with pytest.raises(adapter.MissingHookError, match=r"moto==5\.2\.5.*state:is_within_size_quota"):
        adapter.install(None, None)  # type: ignore[arg-type]


# Pagination (moto pages ListExecutions at 100, as AWS does) --------------------------------------
def test_all_executions_and_transitions_read_past_the_first_page(rt):
    definition = {"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "B"}, "B": {"Type": "Pass", "End": True}}}
    arn = rt.create_state_machine("paged", json.dumps(definition))
    before = rt.transitions()
    started = [rt.start({}, state_machine_arn=arn) for _ in range(105)]
    for execution in started:
        rt.wait(execution)
    assert len(rt.client("stepfunctions").list_executions(stateMachineArn=arn)["executions"]) == 100
    assert {e["executionArn"] for e in rt.executions(arn)} == set(started)
    assert set(started) <= {e["executionArn"] for e in rt.all_executions()}
    assert rt.transitions() - before == 2 * 105


# A service error moto's integration does not map ---------------------------------------------
# ERRORS: a task's failure is an ordinary error (States.ALL catches it); moto reported an
# unmapped service error (EventBridge PutEvents to a missing bus) as States.Runtime, which the
# strict States.ALL rule would then make uncatchable.
def test_an_unmapped_service_error_is_a_catchable_task_failure(rt):
    definition = task(rt, {"Resource": "arn:aws:states:::events:putEvents", "Parameters": {"Entries": [
        {"EventBusName": "no-such-bus", "Source": "s", "DetailType": "d", "Detail": {}}]}})  # fmt: skip
    desc = run(rt, definition)
    assert desc["status"] == "SUCCEEDED" and output(desc) == "caught"
    failed(run(rt, task(rt, {"Resource": "arn:aws:states:::events:putEvents", "Parameters": {"Entries": [
        {"EventBusName": "no-such-bus", "Source": "s", "DetailType": "d", "Detail": {}}]}}, catch=None)),
        "EventBridge.ResourceNotFoundException")  # fmt: skip
