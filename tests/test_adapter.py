"""The local runtime's clock and one test per moto patch in neptune_watch.local.adapter."""

from __future__ import annotations

import json
import threading
import time

import pytest

from neptune_watch.local import adapter
from neptune_watch.local.clock import VirtualClock
from neptune_watch.local.runtime import (
    EVENT_SOURCE,
    LocalRuntime,
    RuntimeError_,
    definition_from_template,
    placeholders,
    substitute,
)

pytestmark = pytest.mark.runtime


def test_clock_jumps_to_the_earliest_wakeup_when_nobody_is_busy():
    clock = VirtualClock(start_epoch=0)
    woke: list[tuple[str, float]] = []

    def sleeper(name: str, seconds: float) -> None:
        clock.adopt()
        clock.sleep(seconds)
        woke.append((name, clock.now()))
        clock.disown()
        clock.leave()

    threads = [threading.Thread(target=sleeper, args=(n, s)) for n, s in (("a", 300), ("b", 100))]
    for _ in threads:
        clock.enter()  # both are participants before either runs
    for t in threads:
        t.start()
    for t in threads:
        t.join(5)
    assert sorted(woke, key=lambda x: x[1]) == [("b", 100.0), ("a", 300.0)]


def test_clock_does_not_advance_while_a_participant_is_busy():
    clock = VirtualClock(start_epoch=0)
    clock.enter()  # someone is working
    done = threading.Event()
    threading.Thread(target=lambda: (clock.sleep(60), done.set()), daemon=True).start()
    assert not done.wait(0.2) and clock.now() == 0
    clock.leave()
    assert done.wait(2) and clock.now() == 60


def _run(rt: LocalRuntime, definition: dict, name: str = "probe") -> dict:
    arn = rt.create_state_machine(name, json.dumps(definition))
    desc = rt.wait(rt.start({}, state_machine_arn=arn), timeout=30)
    return desc


def test_wait_states_and_retry_intervals_use_virtual_time():
    with LocalRuntime() as rt:
        started = time.perf_counter()
        desc = _run(rt, {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 86400, "End": True}}})
        assert desc["status"] == "SUCCEEDED" and rt.clock.now() >= 86400
        # Retry: a Lambda task that fails with a retryable error, retried after an hour each time.
        before = rt.clock.now()
        definition = {
            "StartAt": "T",
            "States": {
                "T": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::lambda:invoke",
                    "Parameters": {"FunctionName": rt.substitutions["LoaderStatusFunctionArn"], "Payload": {"loadId": "nope-404"}},
                    "Retry": [{"ErrorEquals": ["NeptuneNotFound"], "IntervalSeconds": 3600, "MaxAttempts": 2, "BackoffRate": 1.0}],
                    "End": True,
                }
            },
        }
        desc = _run(rt, definition, "retry-probe")
        assert desc["status"] == "FAILED" and desc["error"] == "NeptuneNotFound"
        assert rt.clock.now() - before >= 7200
        assert rt.emulator.calls["GetLoaderJobStatus"] == 3
        assert time.perf_counter() - started < 20


def test_lambda_tasks_run_the_real_handlers_and_report_their_errors():
    with LocalRuntime() as rt:
        lam = rt.client("lambda")
        out = lam.invoke(FunctionName="nw-prepare", Payload=json.dumps({"request": {"job": {"kind": "zip", "id": "1"}}}))
        assert out["FunctionError"] == "Unhandled"
        body = json.loads(out["Payload"].read())
        assert body["errorType"] == "InvalidRequestError" and "job.kind" in body["errorMessage"]
        assert rt.invocations["nw-prepare"] == 1


def test_parent_waiting_on_a_child_does_not_hold_time_still():
    with LocalRuntime() as rt:
        child = rt.create_state_machine("child", json.dumps({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 5000, "End": True}}}))
        parent = {
            "StartAt": "Run",
            "States": {"Run": {"Type": "Task", "Resource": "arn:aws:states:::states:startExecution.sync:2",
                               "Parameters": {"StateMachineArn": child, "Input": {}}, "End": True}},
        }
        desc = _run(rt, parent, "parent")
        assert desc["status"] == "SUCCEEDED" and rt.clock.now() >= 5000


def test_concurrent_executions_share_one_timeline():
    with LocalRuntime() as rt:
        machines = [
            rt.create_state_machine(f"w{s}", json.dumps({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": s, "End": True}}}))
            for s in (100, 300)
        ]
        with rt.together():
            arns = [rt.start({}, state_machine_arn=sm) for sm in machines]
        for arn in arns:
            assert rt.wait(arn, timeout=20)["status"] == "SUCCEEDED"
        assert 300 <= rt.clock.now() < 400  # not 400: the waits overlapped


def test_task_clients_are_reused():
    from moto.stepfunctions.parser.asl.utils import boto_client as module

    with LocalRuntime():
        a = module.boto3.client(service_name="sqs", region_name="us-east-1")
        b = module.boto3.client(service_name="sqs", region_name="us-east-1")
        assert a is b


def test_uninstall_restores_moto():
    from moto.awslambda_simple.models import LambdaSimpleBackend
    from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker

    original = (LambdaSimpleBackend.invoke, ExecutionWorker.start)
    with LocalRuntime():
        assert adapter.installed() and LambdaSimpleBackend.invoke is not original[0]
        with pytest.raises(RuntimeError):
            adapter.install(VirtualClock(), lambda *a: b"")
    assert not adapter.installed()
    assert (LambdaSimpleBackend.invoke, ExecutionWorker.start) == original


def test_placeholders_and_substitution():
    assert placeholders('{"a": "${X}", "b": "${Y_1}"}') == {"X", "Y_1"}
    assert substitute('"${X}"', {"X": "v"}) == '"v"'
    with pytest.raises(RuntimeError_):
        substitute('"${X}"', {})


def test_definition_from_template(tmp_path):
    path = tmp_path / "t.json"
    path.write_text(json.dumps({"Resources": {"SM": {"Type": "AWS::StepFunctions::StateMachine",
                                                     "Properties": {"DefinitionString": '{"neptuneWatchContinue": 1}'}}}}))
    assert "neptuneWatchContinue" in definition_from_template(path)
    path.write_text("{}")
    with pytest.raises(RuntimeError_):
        definition_from_template(path)


def test_unnamed_executions_get_unique_names():
    with LocalRuntime() as rt:
        sm = rt.create_state_machine("unnamed", json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}))
        sfn = rt.client("stepfunctions")
        a = sfn.start_execution(stateMachineArn=sm)["executionArn"]
        b = sfn.start_execution(stateMachineArn=sm)["executionArn"]
        assert a != b and not a.endswith(":None")


def test_send_task_failure_keeps_its_cause():
    with LocalRuntime() as rt:
        child = rt.create_state_machine("answer", json.dumps({
            "StartAt": "Fail", "States": {"Fail": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:sfn:sendTaskFailure",
                                                 "Parameters": {"TaskToken.$": "$.token", "Error": "NeptuneWatch.FAILED", "Cause": "the outcome"}, "End": True}}}))
        parent = {"StartAt": "Wait", "States": {"Wait": {
            "Type": "Task", "Resource": "arn:aws:states:::states:startExecution.waitForTaskToken",
            "Parameters": {"StateMachineArn": child, "Input": {"token.$": "$$.Task.Token"}}, "End": True}}}
        desc = _run(rt, parent, "token-parent")
        assert (desc["status"], desc["error"], desc["cause"]) == ("FAILED", "NeptuneWatch.FAILED", "the outcome")


def test_closing_the_runtime_stops_what_still_runs():
    with LocalRuntime() as rt:
        sm = rt.create_state_machine("forever", json.dumps({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 10, "Next": "W"}}}))
        rt.start({}, state_machine_arn=sm)
        time.sleep(0.2)
        clock = rt.clock
    assert clock.now() > 0
    before = clock.now()
    time.sleep(0.2)
    assert clock.now() == before  # nothing advances it any more


def test_execution_start_time_is_an_iso_string():
    with LocalRuntime() as rt:
        desc = _run(rt, {"StartAt": "P", "States": {"P": {"Type": "Pass", "Parameters": {"t.$": "$$.Execution.StartTime"}, "End": True}}}, "start-time")
        assert desc["status"] == "SUCCEEDED"
        assert json.loads(desc["output"])["t"][:4].isdigit() and "T" in json.loads(desc["output"])["t"]


def test_state_copies_are_deep_and_independent():
    from datetime import datetime

    value = {"a": [1, {"b": "c"}], "when": datetime(2026, 1, 1)}
    copied = adapter._json_copy(value)
    assert copied == value
    copied["a"][1]["b"] = "changed"
    assert value["a"][1]["b"] == "c"
    assert copied["when"] == value["when"]  # non-JSON values still copy (via copy.deepcopy)
    from moto.stepfunctions.parser.asl.eval import states

    with LocalRuntime():
        assert states.copy.deepcopy is adapter._json_copy
    assert states.copy.deepcopy is not adapter._json_copy


def test_a_task_token_wait_handed_a_non_number_timeout_ends_at_once():
    """moto pops a task's timeout right after pushing it, but pushes nothing once the execution
    is stopped; a stop between the two hands the wait the state's input as its timeout. The
    patched wait returns the endpoint's outcome at once instead of raising TypeError in moto's
    background thread."""
    from moto.stepfunctions.parser.asl.eval.callback.callback import (
        CallbackEndpoint,
        CallbackOutcomeSuccess,
    )

    with LocalRuntime():
        endpoint = CallbackEndpoint(callback_id="token")
        started = time.monotonic()
        assert endpoint.wait({"job": {"kind": "loader"}}) is None
        done = CallbackOutcomeSuccess(callback_id="token", output="{}")
        endpoint.notify(done)
        assert endpoint.wait({"job": {"kind": "loader"}}) is done
        assert endpoint.wait(5) is done  # a number still waits as before (already notified)
        assert time.monotonic() - started < 1


def _token_task(rt: LocalRuntime, timeout: int) -> str:
    """A state machine whose one task publishes its task token to SNS and waits for an answer."""
    definition = {
        "StartAt": "T",
        "States": {
            "T": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sns:publish.waitForTaskToken",
                "Parameters": {"TopicArn": rt.arns["topic"], "Message": {"token.$": "$$.Task.Token"}},
                "TimeoutSeconds": timeout,
                "End": True,
            }
        },
    }
    return rt.create_state_machine(f"token-{timeout}", json.dumps(definition))


def test_a_task_token_wait_times_out_in_virtual_time():
    """TimeoutSeconds of a .waitForTaskToken task counts virtual time like a Wait state: two hours
    that nobody answers end in States.Timeout at once (moto waits them in real time). AWS: "The
    Timeout of a task ... is its maximum allowed duration"
    (https://docs.aws.amazon.com/step-functions/latest/apireference/API_SendTaskHeartbeat.html)."""
    with LocalRuntime() as rt:
        started = time.monotonic()
        desc = rt.wait(rt.start({}, state_machine_arn=_token_task(rt, 7200)), timeout=30)
        assert (desc["status"], desc["error"]) == ("FAILED", "States.Timeout")
        assert rt.clock.now() >= 7200
        assert time.monotonic() - started < 20


def test_a_task_token_answered_in_time_leaves_no_timeout_behind():
    """An answer before the timeout ends the wait, and the timeout holds no virtual time: the
    clock does not jump to it when nothing else runs."""
    with LocalRuntime() as rt:
        with rt.together():  # the test answers from outside the executions: it holds time still
            arn = rt.start({}, state_machine_arn=_token_task(rt, 7200))
            deadline = time.monotonic() + 20
            messages = rt.sns_messages()  # drains the queue
            while not messages:
                assert time.monotonic() < deadline
                time.sleep(0.01)
                messages = rt.sns_messages()
            token = messages[0]["message"]["token"]
            rt.client("stepfunctions").send_task_success(taskToken=token, output='{"ok": true}')
            time.sleep(0.1)
            assert rt.clock.now() == 0
        desc = rt.wait(arn, timeout=20)
        assert desc["status"] == "SUCCEEDED" and json.loads(desc["output"]) == {"ok": True}
        time.sleep(0.2)
        assert rt.clock.now() < 7200 and rt.clock.busy == 0


def test_stop_execution_ends_a_wait_without_letting_time_pass():
    """StopExecution ends an execution that sleeps in a Wait state at once, even while virtual
    time stands still (moto's own Wait wakes on the environment's state change)."""
    with LocalRuntime() as rt:
        machine = rt.create_state_machine("sleeper", json.dumps({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 86400, "End": True}}}))
        with rt.together():
            arn = rt.start({}, state_machine_arn=machine)
            deadline = time.monotonic() + 10
            while not any(e["type"] == "WaitStateEntered" for e in rt.history(arn)):
                assert time.monotonic() < deadline
                time.sleep(0.005)
            rt.client("stepfunctions").stop_execution(executionArn=arn, error="Operator")
            assert rt.wait(arn, timeout=10)["status"] == "ABORTED"
            assert rt.clock.now() == 0


def test_concurrent_updates_of_one_item_are_each_applied_once() -> None:
    """Each DynamoDB request on an item is one atomic step (the lock table's writes rely on it).
    Without the request lock, moto's UpdateItem deep-copied the stored item while another
    thread wrote to it: 12 of 900 such updates failed with "dictionary changed size during
    iteration" here, and test_flow's duplicate requests once ended in ERROR."""
    from neptune_watch.local.runtime import LocalRuntime

    threads, per_thread = 6, 150
    errors: list[str] = []
    with LocalRuntime() as rt:
        ddb = rt.client("dynamodb")
        table, key = "neptune-watch-locks", {"pk": {"S": "race"}}
        ddb.put_item(TableName=table, Item={**key, "n": {"N": "0"}, "m": {"M": {}}})

        def work(t: int) -> None:
            for i in range(per_thread):
                try:
                    ddb.update_item(
                        TableName=table, Key=key, UpdateExpression="ADD n :one SET m.#k = :v",
                        ExpressionAttributeNames={"#k": f"t{t}i{i}"},
                        ExpressionAttributeValues={":one": {"N": "1"}, ":v": {"S": "x"}},
                    )  # fmt: skip
                except Exception as exc:
                    errors.append(repr(exc)[:200])

        workers = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        item = ddb.get_item(TableName=table, Key=key)["Item"]
    assert errors == []
    assert int(item["n"]["N"]) == len(item["m"]["M"]) == threads * per_thread


def test_outcomes_are_taken_off_the_capture_queues_as_they_arrive() -> None:
    """moto's SQS scans every message a queue holds on each SendMessage and ReceiveMessage: the
    runtime empties its capture queues while executions run (1,000 outcomes left in them made
    the 1,000-watch run 178 s instead of 126 s), and a drain still returns each outcome once."""
    from neptune_watch.local.runtime import LocalRuntime

    with LocalRuntime() as rt:
        sns, events = rt.client("sns"), rt.client("events")
        for i in range(30):
            sns.publish(TopicArn=rt.arns["topic"], Message=json.dumps({"n": i}))
            events.put_events(Entries=[{"Source": EVENT_SOURCE, "DetailType": "t", "Detail": json.dumps({"n": i}), "EventBusName": rt.arns["bus"]}])
        deadline = time.monotonic() + 10
        held = None
        while time.monotonic() < deadline:
            held = [
                int(rt.client("sqs").get_queue_attributes(QueueUrl=q, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"]["ApproximateNumberOfMessages"])
                for q in (rt.sns_queue, rt.events_queue)
            ]
            if held == [0, 0]:
                break
            time.sleep(0.1)
        assert held == [0, 0]  # taken off while the runtime runs, before anybody drains
        got_sns, got_events = rt.sns_messages(), rt.events()
        assert sorted(m["message"]["n"] for m in got_sns) == list(range(30))
        assert sorted(e["detail"]["n"] for e in got_events) == list(range(30))
        assert rt.sns_messages() == [] and rt.events() == []  # each outcome once


def test_result_path_and_event_template_paths_are_parsed_once() -> None:
    """jsonpath_ng builds a new LALR parser for every parse; ResultPath parsed its path on every
    state and moto's EventBridge its template's eight paths on every event."""
    import jsonpath_ng.ext
    from moto.stepfunctions.parser.asl.component.common.path import result_path

    from neptune_watch.local.runtime import LocalRuntime

    assert result_path.parse("$.watch") is not result_path.parse("$.watch")
    with LocalRuntime():
        assert result_path.parse("$.watch") is result_path.parse("$.watch")
        assert jsonpath_ng.ext.parse("$.detail") is jsonpath_ng.ext.parse("$.detail")
        assert result_path.parse("$.a") is not result_path.parse("$.b")
    assert jsonpath_ng.ext.parse("$.detail") is not jsonpath_ng.ext.parse("$.detail")
