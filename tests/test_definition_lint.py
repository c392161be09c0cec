"""Static checks of the watcher definition and the example parents (no CDK synth here; the
synthesized template's definition is checked in test_definition_lint_template.py).

Third-party validators: statelint (PyPI, a Python port of awslabs/statelint), asl-validator
and AWS's amazon-states-language-service (npm, run with node by tools/validate_asl.js). Each
must report 0 findings here, and each must report a finding on a broken definition (so the
check can fail). Then our own rules (tests/asl_lint.py, which cites the AWS docs each follows).

Each rule also has a test that it reports a finding on a definition that breaks it.
"""

from __future__ import annotations

import json
import shutil
from typing import Any

import asl_lint as L
import pytest

WATCH_TEXT = L.ASL_PATH.read_text()
WATCH = json.loads(WATCH_TEXT)

# Every definition checked: the watcher (placeholders substituted with realistic ARNs) and
# each example parent state machine.
TARGETS = {"watch": L.substitute_file(WATCH_TEXT)} | {
    p.name.removesuffix(".asl.json"): L.substitute_file(p.read_text()) for p in L.EXAMPLES
}

# A definition every validator must reject: Next to a state that does not exist, a Retry
# whose BackoffRate is below 1, a Choice without Choices, and no terminal state.
BROKEN = json.dumps(
    {
        "StartAt": "A",
        "States": {
            "A": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": "arn:aws:lambda:eu-west-1:123456789012:function:f"},
                "Retry": [{"ErrorEquals": ["States.ALL"], "BackoffRate": 0.5}],
                "Next": "Missing",
            },
            "B": {"Type": "Choice", "Choices": []},
        },
    }
)

needs_node = pytest.mark.skipif(
    shutil.which("node") is None or not (L.REPO / "node_modules" / "asl-validator").is_dir(),
    reason="node and `npm ci` (make setup) are needed for the npm validators",
)


def _report(findings: dict[str, list[str]]) -> str:
    return "\n".join(f"{name}: {f}" for name, items in findings.items() for f in items)


def test_every_placeholder_gets_a_realistic_value_of_its_service() -> None:
    text = TARGETS["watch"]
    assert "${" not in text
    assert "arn:aws:lambda:eu-west-1:123456789012:function:neptune-watch-prepare" in text
    assert "arn:aws:sns:eu-west-1:123456789012:neptune-watch-topic" in text
    with pytest.raises(KeyError, match="no realistic value"):
        L.placeholder_value("SomethingNew")


# --- third-party validators --------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_statelint_finds_nothing(name: str) -> None:
    problems = L.statelint(TARGETS[name])
    assert problems == [], "statelint:\n" + "\n".join(problems)


def test_statelint_reports_a_broken_definition() -> None:
    problems = L.statelint(BROKEN)
    assert any("Missing" in p for p in problems), problems
    assert any("BackoffRate" in p for p in problems), problems


@needs_node
def test_npm_validators_find_nothing() -> None:
    results = L.node_validators(TARGETS)
    assert set(results) == set(TARGETS)
    findings = {f"{name} ({tool})": items for name, tools in results.items() for tool, items in tools.items()}
    assert all(tools.keys() == {"asl-validator", "amazon-states-language-service"} for tools in results.values())
    assert not any(findings.values()), "\n" + _report(findings)


@needs_node
def test_npm_validators_each_report_a_broken_definition() -> None:
    tools = L.node_validators({"broken": BROKEN})["broken"]
    assert any("SCHEMA_VALIDATION_FAILED" in f and "/States/B/Choices" in f for f in tools["asl-validator"]), tools
    assert any("must be the name of an existing state" in f for f in tools["amazon-states-language-service"]), tools


# --- our own rules -----------------------------------------------------------------------


def test_every_retry_and_catch_name_is_an_error_the_task_can_raise() -> None:
    findings = L.rule_retry_names_raisable(WATCH)
    assert findings == [], "\n".join(map(str, findings))


def test_lambda_tasks_retry_every_lambda_service_error() -> None:
    findings = L.rule_lambda_service_errors_retried(WATCH)
    assert findings == [], "\n".join(map(str, findings))


def test_put_events_retries_failed_entries() -> None:
    findings = L.rule_put_events_retries_failed_entry(WATCH)
    assert findings == [], "\n".join(map(str, findings))


def test_put_events_rule_catches_a_missing_failed_entry_retry() -> None:
    task = {"Type": "Task", "Resource": "arn:aws:states:::events:putEvents", "Parameters": {}, "End": True}
    definition = {"StartAt": "E", "States": {"E": dict(task, Retry=[{"ErrorEquals": ["EventBridge.InternalException"]}])}}
    assert [f.state for f in L.rule_put_events_retries_failed_entry(definition)] == ["E"]
    definition["States"]["E"]["Retry"][0]["ErrorEquals"].append("EventBridge.FailedEntry")
    assert L.rule_put_events_retries_failed_entry(definition) == []


def test_every_loop_is_bounded() -> None:
    findings = L.rule_loops_bounded(WATCH)
    assert findings == [], "\n".join(map(str, findings))


def test_every_choice_variable_that_can_be_absent_is_guarded() -> None:
    findings = L.rule_choice_paths_guarded(WATCH)
    assert findings == [], "\n".join(map(str, findings))


def test_the_loop_bounds_name_choice_states_of_the_definition() -> None:
    # A bound that names a state the definition no longer has would silently bound nothing.
    for state in L.LOOP_BOUNDS:
        assert WATCH["States"].get(state, {}).get("Type") == "Choice", state


# Each rule fails where it should (so a passing rule means something).


def _lambda_task(**extra: Any) -> dict[str, Any]:
    return {
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": "${PrepareFunctionArn}", "Payload.$": "$"},
        "End": True,
        **extra,
    }


def test_retry_names_rule_catches_names_no_task_raises() -> None:
    definition = {
        "StartAt": "T",
        "States": {
            "T": _lambda_task(Retry=[{"ErrorEquals": ["NeptuneThrottled", "States.Timeout", "Lambda.Nope"]}]),
            "S": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sns:publish",
                "Parameters": {},
                "Retry": [{"ErrorEquals": ["SNS.InternalErrorException", "SNS.SnsException"]}],
                "End": True,
            },
            "E": {
                "Type": "Task",
                "Resource": "arn:aws:states:::events:putEvents",
                "Parameters": {},
                "Retry": [{"ErrorEquals": ["EventBridge.FailedEntry", "EventBridge.InternalException"]}],
                "End": True,
            },
        },
    }
    found = {(f.state, f.why.split("'")[1]) for f in L.rule_retry_names_raisable(definition)}
    assert found == {("T", "States.Timeout"), ("T", "Lambda.Nope"), ("S", "SNS.SnsException")}


def test_lambda_rule_catches_a_missing_client_execution_timeout() -> None:
    retry = [{"ErrorEquals": list(L.LAMBDA_SERVICE_ERRORS[:3])}]
    definition = {"StartAt": "T", "States": {"T": _lambda_task(Retry=retry)}}
    [finding] = L.rule_lambda_service_errors_retried(definition)
    assert "Lambda.ClientExecutionTimeoutException" in finding.why
    definition["States"]["T"]["Retry"] = [{"ErrorEquals": list(L.LAMBDA_SERVICE_ERRORS)}]
    assert L.rule_lambda_service_errors_retried(definition) == []


def test_loop_rule_tells_bounded_from_unbounded_cycles() -> None:
    definition = {
        "StartAt": "Work",
        "States": {
            "Work": _lambda_task(End=None, Next="Again"),
            "Again": {"Type": "Choice", "Choices": [{"Variable": "$.n", "NumericLessThan": 5, "Next": "Pause"}], "Default": "Done"},
            "Pause": {"Type": "Wait", "Seconds": 1, "Next": "Work"},
            "Done": {"Type": "Succeed"},
        },
    }
    del definition["States"]["Work"]["End"]
    [finding] = L.rule_loops_bounded(definition, bounds={})
    assert set(finding.state.split(" -> ")) == {"Work", "Again", "Pause"}
    assert L.rule_loops_bounded(definition, bounds={"Again": "n < 5, counted by the handler"}) == []


def test_choice_rule_tells_guarded_from_unguarded_paths() -> None:
    definition = {
        "StartAt": "Get",
        "States": {
            "Get": {
                "Type": "Task",
                "Resource": "arn:aws:states:::aws-sdk:sfn:describeExecution",
                "Parameters": {"ExecutionArn.$": "$.arn"},
                "ResultPath": "$.owner",
                "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.err", "Next": "Caught"}],
                "Next": "Check",
            },
            "Check": {
                "Type": "Choice",
                "Choices": [
                    {"Variable": "$.owner.Status", "StringEquals": "FAILED", "Next": "Named"},
                    {"Variable": "$.owner.Error", "StringEquals": "X", "Next": "Done"},
                    {"And": [{"Variable": "$.owner.Cause", "IsPresent": True}, {"Variable": "$.owner.Cause", "StringEquals": "Y"}], "Next": "Done"},
                ],
                "Default": "Done",
            },
            "Named": {"Type": "Choice", "Choices": [{"Variable": "$.a.b", "IsPresent": True, "Next": "Inner"}], "Default": "Done"},
            "Inner": {"Type": "Choice", "Choices": [{"Variable": "$.a.b.c", "StringEquals": "z", "Next": "Done"}], "Default": "Done"},
            "Caught": {"Type": "Choice", "Choices": [{"Variable": "$.err.Error", "StringEquals": "E", "Next": "Done"}, {"Variable": "$.err.x", "StringEquals": "E", "Next": "Done"}], "Default": "Done"},
            "Done": {"Type": "Succeed"},
        },
    }
    found = {(f.state, f.why.split()[0]) for f in L.rule_choice_paths_guarded(definition)}
    # Status is a required member of DescribeExecution's output, Error is not; a Catch's
    # ResultPath holds Error and Cause; an IsPresent branch guards what it leads to.
    assert found == {("Check", "$.owner.Error"), ("Caught", "$.err.x")}
