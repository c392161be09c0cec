"""The watch flow's guarantees on the local runtime (the real definition, handlers and moto):
one poller per job whatever the timing of its requests, one published outcome per distinct
request (job + correlationId) with its own correlationId, context and task-token answer,
continuations that cannot be forged, and publications that land or are kept.
"""

from __future__ import annotations

import json
import random
import time
from collections import Counter
from typing import Any

import pytest

from neptune_watch.local.runtime import LocalRuntime
from neptune_watch.scenario import FaultSpec, JobSpec

pytestmark = pytest.mark.runtime

LOAD = "4f1c2e0a-6b5d-4c3e-9a8f-1d2e3f4a5b6c"
GET = "GetLoaderJobStatus"


def loader_job(end: str = "LOAD_FAILED", at: float = 300, job_id: str = LOAD) -> JobSpec:
    return JobSpec(kind="loader", id=job_id, timeline=[{"at": 0, "status": "LOAD_IN_PROGRESS"}, {"at": at, "status": end}])


def req(corr: str | None, **extra: Any) -> dict[str, Any]:
    r: dict[str, Any] = {"job": {"kind": "loader", "id": LOAD}, "context": {"me": corr}, **extra}
    if corr is not None:
        r["correlationId"] = corr
    return r


def ends(rt: LocalRuntime, arns: list[str]) -> list[dict[str, Any]]:
    return [rt.wait(a, timeout=90) for a in arns]


def outcome_of(desc: dict[str, Any]) -> dict[str, Any]:
    return json.loads(desc["output"] if desc["status"] == "SUCCEEDED" else desc["cause"])


def pollers(rt: LocalRuntime, arns: list[str]) -> list[str]:
    """The executions that entered Poll."""
    return [a for a in arns if any(e.get("stateEnteredEventDetails", {}).get("name") == "Poll" for e in rt.history(a))]


def by_corr(messages: list[dict[str, Any]]) -> Counter[str | None]:
    return Counter(m["correlationId"] for m in messages)


def check_distinct(rt: LocalRuntime, arns: list[str], corrs: list[str | None], expected: str) -> list[dict[str, Any]]:
    """One outcome per distinct correlationId on each channel, each its own; every execution
    ends as the outcome says; one execution polled."""
    done = ends(rt, arns)
    sns = [m["message"] for m in rt.sns_messages()]
    events = [e["detail"] for e in rt.events()]
    distinct = set(corrs)
    assert by_corr(sns) == Counter(distinct) == by_corr(events)
    for m in sns:
        assert m["outcome"] == expected and m["context"] == {"me": m["correlationId"]}
    for desc, corr in zip(done, corrs, strict=True):
        assert (desc["status"], desc.get("error")) == (
            ("SUCCEEDED", None) if expected == "SUCCEEDED" else ("FAILED", f"NeptuneWatch.{expected}")
        )
        o = outcome_of(desc)
        assert o["outcome"] == expected and o["correlationId"] == corr and o["context"] == {"me": corr}
    assert len(pollers(rt, arns)) == 1
    assert len({m["eventId"] for m in sns}) == len(sns)
    return sns


# --- duplicates in each timing ------------------------------------------------------------


def test_requests_together_one_poller_one_outcome_per_distinct_request():
    with LocalRuntime(jobs=[loader_job()]) as rt:
        corrs = ["a", "b", "a", None, "c"]
        with rt.together():
            arns = [rt.start(req(c)) for c in corrs]
        sns = check_distinct(rt, arns, corrs, "FAILED")
        polls = {m["polls"] for m in sns}
        assert polls == {rt.emulator.calls[GET]}  # one watch polled; every copy reports its polls
        assert rt.unpublished() == []


def test_request_racing_the_owners_end():
    """The second request arrives while the owner reads the terminal status: it registers
    before the owner ends (answered by the owner) or reads the ended record; either way."""
    with LocalRuntime(jobs=[loader_job("LOAD_COMPLETED", at=0)]) as rt:
        first = rt.start(req("first"))
        deadline = time.monotonic() + 30
        while rt.emulator.calls[GET] < 1:
            assert time.monotonic() < deadline
            time.sleep(0.001)
        second = rt.start(req("second"))
        check_distinct(rt, [first, second], ["first", "second"], "SUCCEEDED")
        assert rt.emulator.calls[GET] == 1


def test_requests_after_the_end_within_the_window_are_answered_from_the_record():
    with LocalRuntime(jobs=[loader_job()]) as rt:
        first = rt.start(req("first"))
        rt.wait(first, timeout=60)
        calls = rt.emulator.calls[GET]
        late, repeat = rt.start(req("late")), rt.start(req("first"))
        done = ends(rt, [late, repeat])
        assert rt.emulator.calls[GET] == calls  # nobody polled again
        sns = [m["message"] for m in rt.sns_messages()]
        assert by_corr(sns) == Counter(["first", "late"])  # the repeat published nothing new
        assert [d["error"] for d in done] == ["NeptuneWatch.FAILED"] * 2
        assert outcome_of(done[1])["correlationId"] == "first"
        assert outcome_of(done[0])["watch"]["duplicateOf"] == first


def test_a_request_after_the_window_starts_a_new_watch():
    with LocalRuntime(jobs=[loader_job()], settings={"endedWindowSeconds": 600}) as rt:
        first = rt.start(req("first"))
        rt.wait(first, timeout=60)
        calls = rt.emulator.calls[GET]
        rt.clock.sleep(601)  # virtual time passes; DynamoDB TTL deletes lazily, so the expiry decides
        second = rt.start(req("first"))  # even the same correlationId: the old watch is gone
        desc = rt.wait(second, timeout=60)
        assert desc["error"] == "NeptuneWatch.FAILED"
        assert rt.emulator.calls[GET] > calls
        assert by_corr([m["message"] for m in rt.sns_messages()]) == Counter(["first", "first"])


def _token_parent() -> str:
    return json.dumps({
        "StartAt": "Watch",
        "States": {
            "Watch": {
                "Type": "Task",
                "Resource": "arn:aws:states:::states:startExecution.waitForTaskToken",
                "Parameters": {
                    "StateMachineArn": "${WatchStateMachineArn}",
                    "Input": {"job.$": "$.job", "correlationId.$": "$.corr", "context.$": "$.context",
                              "taskToken.$": "$$.Task.Token"},
                },
                "End": True,
            }
        },
    })  # fmt: skip


def test_each_task_token_caller_gets_its_own_answer():
    with LocalRuntime(jobs=[loader_job("LOAD_COMPLETED", at=100)]) as rt:
        parent = rt.create_state_machine("parent", _token_parent(), {"WatchStateMachineArn": rt.state_machine_arn})
        with rt.together():
            arns = [
                rt.start({"job": {"kind": "loader", "id": LOAD}, "corr": c, "context": {"me": c}}, state_machine_arn=parent)
                for c in ("x", "y", "x")
            ]
        answers = [json.loads(d["output"]) for d in ends(rt, arns)]
        assert [a["correlationId"] for a in answers] == ["x", "y", "x"]
        assert all(a["outcome"] == "SUCCEEDED" and a["context"] == {"me": a["correlationId"]} for a in answers)
        assert by_corr([m["message"] for m in rt.sns_messages()]) == Counter(["x", "y"])


def test_sync_parent_of_a_duplicate_sees_the_jobs_outcome():
    sync = json.dumps({"StartAt": "W", "States": {"W": {
        "Type": "Task", "Resource": "arn:aws:states:::states:startExecution.sync:2",
        "Parameters": {"StateMachineArn": "${WatchStateMachineArn}", "Input": {"job.$": "$.job", "correlationId.$": "$.corr"}},
        "End": True}}})  # fmt: skip
    with LocalRuntime(jobs=[loader_job("LOAD_FAILED", at=100)]) as rt:
        parent = rt.create_state_machine("parent", sync, {"WatchStateMachineArn": rt.state_machine_arn})
        with rt.together():
            arns = [rt.start({"job": {"kind": "loader", "id": LOAD}, "corr": c}, state_machine_arn=parent) for c in ("p", "q")]
        for desc in ends(rt, arns):
            assert desc["status"] == "FAILED" and desc["error"] == "States.TaskFailed"
            assert json.loads(desc["cause"])["Error"] == "NeptuneWatch.FAILED"


# --- continuations -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "forged",
    [
        {"neptuneWatchResume": {"job": {"kind": "loader", "id": LOAD}, "fn": {"status": "arn:aws:lambda:us-east-1:1:function:evil"}}},
        {"neptuneWatchContinue": {"from": "arn:aws:states:us-east-1:123456789012:execution:neptune-watch:x"},
         "AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID": "arn:aws:states:us-east-1:123456789012:execution:neptune-watch:x"},
        {"neptuneWatchContinue": {"from": "arn:aws:states:us-east-1:123456789012:execution:other:x"}},
        {"neptuneWatchContinue": "nonsense", "job": {"kind": "loader", "id": LOAD}},
    ],
)  # fmt: skip
def test_a_forged_continuation_is_an_invalid_request(forged):
    with LocalRuntime(jobs=[loader_job()]) as rt:
        desc = rt.wait(rt.start(forged), timeout=60)
        assert desc["error"] == "NeptuneWatch.INVALID_REQUEST"
        assert rt.emulator.calls[GET] == 0
        sns, events = rt.sns_messages(), rt.events()
        assert len(sns) == len(events) == 1 and sns[0]["message"]["outcome"] == "INVALID_REQUEST"


def test_a_continuation_naming_a_running_watch_is_refused():
    """Even the ARN of a real running execution of this state machine is not enough: the
    record must exist, be that execution's, and name the new execution."""
    with LocalRuntime(jobs=[loader_job(at=3000)]) as rt:
        owner = rt.start(req("owner"))
        deadline = time.monotonic() + 30
        while rt.emulator.calls[GET] < 1:
            assert time.monotonic() < deadline
            time.sleep(0.001)
        forged = rt.start({"neptuneWatchContinue": {"from": owner}, "AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID": owner})
        desc = rt.wait(forged, timeout=60)
        assert desc["error"] == "NeptuneWatch.INVALID_REQUEST"
        assert pollers(rt, [owner, forged]) == [owner]
        assert rt.wait(owner, timeout=90)["error"] == "NeptuneWatch.FAILED"


def test_continuations_by_reference_keep_one_outcome():
    with LocalRuntime(jobs=[loader_job("LOAD_COMPLETED", at=2000)], settings={"maxPollsPerExecution": 3}) as rt:
        arn = rt.start(req("long"))
        desc = rt.wait(arn, timeout=90)
        assert desc["status"] == "SUCCEEDED"
        o = json.loads(desc["output"])
        assert o["watch"]["generations"] >= 3
        assert len(rt.sns_messages()) == 1 and len(rt.events()) == 1
        inputs = [json.loads(rt.client("stepfunctions").describe_execution(executionArn=e["executionArn"])["input"])
                  for e in rt.executions()]  # fmt: skip
        carried = [i for i in inputs if "neptuneWatchContinue" in i]
        assert carried and all(set(i) == {"neptuneWatchContinue", "AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID"} for i in carried)
        assert all("job" not in json.dumps(i) for i in carried)  # a reference, not the watch


# --- stale locks --------------------------------------------------------------------------


def _registered(rt: LocalRuntime, n: int) -> None:
    ddb = rt.client("dynamodb")
    deadline = time.monotonic() + 30
    while True:
        item = ddb.get_item(TableName="neptune-watch-locks", Key={"pk": {"S": f"loader#{LOAD}"}}).get("Item") or {}
        if len(item.get("regs", {}).get("M", {})) >= n:
            return
        assert time.monotonic() < deadline, item
        time.sleep(0.005)


def test_an_aborted_owner_is_recovered_and_its_waiters_answered():
    """The deployment's rule starts a recovery execution on the owner's ABORTED status event;
    the local runtime plays that rule (moto emits no such events). A recovery while the owner
    still runs is refused; a redelivered event races the rule's recovery and one of them wins."""
    with LocalRuntime(jobs=[loader_job(at=600)]) as rt:
        owner = rt.start(req("owner"))
        deadline = time.monotonic() + 30
        while rt.emulator.calls[GET] < 1:
            assert time.monotonic() < deadline
            time.sleep(0.001)
        with rt.together():  # virtual time stands still: the owner stays in its Wait
            dup = rt.start(req("dup"))
            _registered(rt, 1)
            early = rt.start({"neptuneWatchRecover": {"executionArn": owner}})  # the owner still runs: refused
            assert rt.wait(early, timeout=60)["status"] == "SUCCEEDED"
            rt.client("stepfunctions").stop_execution(executionArn=owner, error="Operator", cause="stopped")
        assert rt.wait(owner, timeout=60)["status"] == "ABORTED"
        again = rt.start({"neptuneWatchRecover": {"executionArn": owner}})  # a redelivered event
        recovery = rt.recovery_of(owner)  # the rule's, started as the owner ended
        assert list(rt.recoveries) == [owner]
        first, second, waiter = ends(rt, [recovery, again, dup])
        # The two recovery executions race for the stale lock: whichever takes it over publishes
        # the owner's outcome; the other finds it taken (or ended) and ends without publishing.
        took_over = [d for d in (first, second) if d["status"] == "FAILED"]
        refused = [d for d in (first, second) if d["status"] == "SUCCEEDED"]
        assert len(took_over) == 1 and len(refused) == 1, [first["status"], second["status"]]
        assert outcome_of(took_over[0])["correlationId"] == "owner"
        assert waiter["status"] == "FAILED" and outcome_of(waiter)["correlationId"] == "dup"
        sns = [m["message"] for m in rt.sns_messages()]
        assert by_corr(sns) == Counter(["owner", "dup"]) and {m["outcome"] for m in sns} == {"FAILED"}
        assert len(rt.events()) == 2
        assert pollers(rt, [dup, early, refused[0]["executionArn"]]) == []


def _lock_owner(rt: LocalRuntime) -> str | None:
    item = rt.client("dynamodb").get_item(TableName="neptune-watch-locks", Key={"pk": {"S": f"loader#{LOAD}"}}).get("Item") or {}
    return item.get("owner", {}).get("S")


def _until(what: Any, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not what():
        assert time.monotonic() < deadline
        time.sleep(0.002)


def test_a_recovery_that_dies_is_recovered_in_turn():
    """The owner is stopped, its recovery takes the lock over and is stopped in turn: the rule's
    recovery of the recovery follows the chain back to the owner's request, takes over, and
    publishes the owner's outcome once; the waiter is answered. Time stands still throughout,
    so every stop lands where the test says (StopExecution ends a Wait at once)."""
    with LocalRuntime(jobs=[loader_job(at=600)]) as rt:
        with rt.together():
            owner = rt.start(req("owner"))
            _until(lambda: rt.emulator.calls[GET] >= 1)
            dup = rt.start(req("dup"))
            _registered(rt, 1)
            rt.client("stepfunctions").stop_execution(executionArn=owner, error="Operator", cause="stopped")
            first = rt.recovery_of(owner)
            _until(lambda: _lock_owner(rt) == first and rt.emulator.calls[GET] >= 2)  # took over, polled
            rt.client("stepfunctions").stop_execution(executionArn=first, error="Operator", cause="stopped")
            second = rt.recovery_of(first)
        dead = ends(rt, [owner, first])
        done, waiter = ends(rt, [second, dup])
        assert [d["status"] for d in dead] == ["ABORTED", "ABORTED"]
        assert done["status"] == "FAILED" and outcome_of(done)["correlationId"] == "owner"
        assert waiter["status"] == "FAILED" and outcome_of(waiter)["correlationId"] == "dup"
        sns = [m["message"] for m in rt.sns_messages()]
        assert by_corr(sns) == Counter(["owner", "dup"]) and len(rt.events()) == 2
        assert second not in rt.recoveries  # it ended as its outcome says, not stopped


# --- publications --------------------------------------------------------------------------


def test_a_failed_sns_publication_is_kept_and_the_execution_ends_as_the_outcome_says():
    with LocalRuntime(jobs=[loader_job(at=0)]) as rt:
        rt.client("sns").delete_topic(TopicArn=rt.arns["topic"])  # Publish: NotFound (4xx, not retried)
        desc = rt.wait(rt.start(req("x")), timeout=60)
        assert desc["error"] == "NeptuneWatch.FAILED"
        kept = rt.unpublished()
        assert [k["channel"] for k in kept] == ["sns"]
        assert kept[0]["outcome"] == json.loads(desc["cause"])
        assert "NotFound" in kept[0]["error"]["Error"]
        assert [e["detail"]["correlationId"] for e in rt.events()] == ["x"]  # the other channel still got it
        depth = rt.client("sqs").get_queue_attributes(QueueUrl=rt.unpublished_queue, AttributeNames=["ApproximateNumberOfMessages"])
        assert depth["Attributes"]["ApproximateNumberOfMessages"] == "0"  # drained by unpublished() above


def test_a_failed_eventbridge_publication_is_kept():
    with LocalRuntime(jobs=[loader_job("LOAD_COMPLETED", at=0)]) as rt:
        rt.client("events").delete_event_bus(Name="neptune-watch")
        desc = rt.wait(rt.start(req("y")), timeout=60)
        assert desc["status"] == "SUCCEEDED"
        kept = rt.unpublished()
        assert [k["channel"] for k in kept] == ["events"]
        assert kept[0]["outcome"]["correlationId"] == "y"
        assert len(rt.sns_messages()) == 1


# --- a seeded random fault schedule -----------------------------------------------------------

STATUSES = ["LOAD_COMPLETED", "LOAD_FAILED", "LOAD_CANCELLED_BY_USER", "LOAD_DATA_FAILED_DUE_TO_FEED_MODIFIED_OR_DELETED"]
FAULTS = ["TooManyRequestsException", "InternalFailureException", "Timeout", "ThrottlingException"]
SCHEDULES, PER_RUNTIME = 200, 25


def _schedule(rng: random.Random, index: int) -> tuple[JobSpec | None, list[dict[str, Any]]]:
    """One job (or none: NOT_FOUND) and the requests for it (some duplicates)."""
    job_id = f"fault-{index:04d}-{rng.randrange(10**6)}"
    timeline: list[dict[str, Any]] = [{"at": 0, "status": rng.choice(["LOAD_IN_QUEUE", "LOAD_IN_PROGRESS"])}]
    at = 0.0
    for _ in range(rng.randrange(0, 3)):
        at += rng.choice([5, 30, 120])
        timeline.append({"at": at, "status": rng.choice(["LOAD_IN_PROGRESS", "LOAD_NOT_STARTED", "LOAD_SOMETHING_NEW"])})
    timeline.append({"at": at + rng.choice([0, 20, 400]), "status": rng.choice(STATUSES)})
    job = None if rng.random() < 0.1 else JobSpec(kind="loader", id=job_id, timeline=timeline)
    n = 1 if rng.random() < 0.7 else rng.randrange(2, 4)
    requests = [
        {"job": {"kind": "loader", "id": job_id}, "correlationId": f"r{rng.randrange(2)}", "timeoutSeconds": rng.choice([60, 3600])}
        for _ in range(n)
    ]
    return job, requests


@pytest.mark.parametrize("batch", range(SCHEDULES // PER_RUNTIME))
def test_seeded_fault_schedules_keep_the_invariants(batch):
    """PER_RUNTIME schedules per runtime, each a random job (timeline, end, or unknown), random
    duplicates and a random global fault schedule on the status calls (throttles, 5xx,
    timeouts). Invariants: one outcome per distinct request on each channel, every execution
    ends as its outcome says, none hangs, one poller per job."""
    rng = random.Random(8_000 + batch)
    schedules = [_schedule(rng, batch * PER_RUNTIME + i) for i in range(PER_RUNTIME)]
    faults = []
    for _ in range(2):
        error = rng.choice(FAULTS)
        count = rng.randrange(0, 6 if error == "Timeout" else 25)  # a timeout costs a second of real time
        faults.append(FaultSpec(operation=GET, calls=sorted(rng.sample(range(1, 200), count)), error=error))
    jobs = [j for j, _ in schedules if j is not None]
    with LocalRuntime(jobs=jobs, faults=faults) as rt:
        started: list[tuple[str, dict[str, Any]]] = []
        with rt.together():
            for _, requests in schedules:
                started += [(rt.start(r), r) for r in requests]
        done = {arn: rt.wait(arn, timeout=240) for arn, _ in started}  # no hang
        sns = [m["message"] for m in rt.sns_messages()]
        events = [e["detail"] for e in rt.events()]
        assert rt.unpublished() == []
        keys = Counter((r["job"]["id"], r["correlationId"]) for _, r in started)
        assert Counter((m["job"]["id"], m["correlationId"]) for m in sns) == Counter(set(keys))
        assert Counter((m["job"]["id"], m["correlationId"]) for m in events) == Counter(set(keys))
        for arn, r in started:
            desc = done[arn]
            o = outcome_of(desc)
            assert o["job"]["id"] == r["job"]["id"] and o["correlationId"] == r["correlationId"]
            if o["outcome"] == "SUCCEEDED":
                assert desc["status"] == "SUCCEEDED"
            else:
                assert (desc["status"], desc["error"]) == ("FAILED", f"NeptuneWatch.{o['outcome']}")
        by_job: dict[str, set[str]] = {}
        for m in sns:
            by_job.setdefault(m["job"]["id"], set()).add(m["outcome"])
        assert all(len(v) == 1 for v in by_job.values())  # every request of a job got the same outcome
        arns_by_job: dict[str, list[str]] = {}
        for arn, r in started:
            arns_by_job.setdefault(r["job"]["id"], []).append(arn)
        assert all(len(pollers(rt, arns)) == 1 for arns in arns_by_job.values())


def test_conditional_writes_are_atomic_on_the_local_runtime():
    """DynamoDB applies a conditional write atomically; the runtime's moto must too, or two
    requests could both become a job's owner (adapter patch 12)."""
    import threading

    with LocalRuntime() as rt:
        ddb = rt.client("dynamodb")
        for round_ in range(30):
            wins: list[int] = []
            barrier = threading.Barrier(8)

            def put(n: int, key: str = f"race#{round_}", barrier: Any = barrier, wins: list[int] = wins) -> None:
                barrier.wait()
                try:
                    ddb.put_item(TableName="neptune-watch-locks", Item={"pk": {"S": key}, "owner": {"S": str(n)}},
                                 ConditionExpression="attribute_not_exists(pk)")  # fmt: skip
                    wins.append(n)
                except ddb.exceptions.ConditionalCheckFailedException:
                    pass

            threads = [threading.Thread(target=put, args=(n,)) for n in range(8)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            assert len(wins) == 1, (round_, wins)


def test_recovery_of_a_stopped_root_whose_continuation_runs_keeps_one_outcome():
    """An owner that continued as new is stopped; the recovery must not add a second poller
    while its continuation runs (it ends the lock in the owner's name), and must take over if
    that continuation was stopped with it. Either way: one outcome."""
    with LocalRuntime(jobs=[loader_job("LOAD_COMPLETED", at=400)], settings={"maxPollsPerExecution": 3}) as rt:
        root = rt.start(req("long"))
        deadline = time.monotonic() + 30
        while len(rt.executions()) < 2:
            assert time.monotonic() < deadline, "no continuation was started"
            time.sleep(0.002)
        with rt.together():
            rt.client("stepfunctions").stop_execution(executionArn=root, error="Operator", cause="stopped")
        assert rt.wait(root, timeout=60)["status"] == "ABORTED"
        recovery = rt.start({"neptuneWatchRecover": {"executionArn": root}})
        rt.wait(recovery, timeout=90)
        for e in rt.executions():
            rt.wait(e["executionArn"], timeout=90)
        sns = [m["message"] for m in rt.sns_messages()]
        assert [m["correlationId"] for m in sns] == ["long"] and len(rt.events()) == 1, sns
        assert sns[0]["outcome"] == "SUCCEEDED"
