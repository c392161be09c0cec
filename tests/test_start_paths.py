"""Start requests end to end (docs/CONTRACT.md section 4): the deployable definition on the local
runtime, the real start, status and finalize handlers, and the emulator on a virtual clock.

Every start scenario of ``scenarios/`` publishes exactly one outcome whose ``job.id`` is the id
the emulated service assigned; a timed-out start never leaves two jobs behind; a duplicate
start request joins the first instead of starting a second job.
"""

from __future__ import annotations

import copy
import json
import time
from typing import Any

import pytest
from test_paths import SCENARIOS, published, run, states_entered

from neptune_watch.local.runtime import LocalRuntime
from neptune_watch.scenario import FaultSpec, load_scenario

pytestmark = pytest.mark.runtime

START_OP = {"loader": "StartLoaderJob", "import": "StartImportTask", "export": "StartExportTask"}
GET_OP = {"loader": "GetLoaderJobStatus", "import": "GetImportTask", "export": "GetExportTask"}
LIST_OP = {"loader": "ListLoaderJobs", "import": "ListImportTasks", "export": "ListExportTasks"}


def scenario(name: str) -> dict[str, Any]:
    return json.loads((SCENARIOS / f"{name}.json").read_text())


def started(r: dict[str, Any], expected: str, kind: str) -> dict[str, Any]:
    """The contract checks, plus: the outcome names the job the start call created."""
    o = published(r, expected, kind)
    assert o["job"]["kind"] == kind
    assert o["polls"] == r["calls"].get(GET_OP[kind], 0) - (1 if o.get("started", {}).get("recovered") else 0)
    if expected == "SUCCEEDED":
        assert isinstance(o["job"]["id"], str) and o["job"]["id"]
        assert o["startedAt"] <= o["started"]["at"] <= o["endedAt"]
    return o


@pytest.mark.parametrize(
    ("name", "kind", "status"),
    [("loader-start-succeeds", "loader", "LOAD_COMPLETED"), ("import-start-succeeds", "import", "SUCCEEDED")],
)
def test_a_start_request_starts_the_job_and_watches_it_to_its_outcome(name, kind, status):
    r = run(scenario(name))
    o = started(r, "SUCCEEDED", kind)
    assert o["status"] == status and set(o["started"]) == {"at"}  # started at once (no recovery)
    assert o["startedAt"] <= o["started"]["at"] < o["endedAt"]
    assert r["calls"][START_OP[kind]] == 1 and LIST_OP[kind] not in r["calls"]
    assert o["correlationId"].startswith("nightly") and o["context"] == {"pipeline": "nightly"}
    # the scripted timeline counts from the start call: the job ends ~600 / 900 s after it
    assert r["virtualSeconds"] >= {"loader": 600, "import": 900}[kind]


@pytest.mark.parametrize(
    ("name", "kind", "code"),
    [("loader-start-refused", "loader", "LoadUrlAccessDeniedException"), ("export-start-refused", "export", "ConflictException")],
)
def test_a_refused_start_is_failed_with_a_null_status_and_the_services_error(name, kind, code):
    r = run(scenario(name))
    o = started(r, "FAILED", kind)
    assert o["job"] == {"kind": kind, "id": None}
    assert o["status"] is None and code in o["statusReason"] and START_OP[kind] in o["statusReason"]
    assert "started" not in o and o["polls"] == 0
    assert r["calls"] == {START_OP[kind]: 1}  # a 4xx is never retried


@pytest.mark.parametrize(
    ("name", "kind", "throttled"),
    [("loader-start-throttled-then-accepted", "loader", 3), ("export-start-throttled-then-accepted", "export", 2)],
)
def test_a_throttled_start_is_retried_with_backoff_and_starts_once(name, kind, throttled):
    r = run(scenario(name))
    o = started(r, "SUCCEEDED", kind)
    assert r["calls"][START_OP[kind]] == throttled + 1
    # every retry first checks that no earlier attempt started the job (none did: 429s)
    assert r["calls"][LIST_OP[kind]] == throttled
    assert "recovered" not in o["started"]


@pytest.mark.parametrize(("name", "kind"), [("loader-start-timed-out", "loader"), ("import-start-timed-out", "import")])
def test_a_timed_out_start_is_adopted_on_retry_never_started_twice(name, kind):
    sc = load_scenario(copy.deepcopy(scenario(name)))
    with LocalRuntime(settings=sc.settings, jobs=sc.all_jobs(), faults=sc.faults) as rt:
        desc = rt.wait(rt.start(sc.request), timeout=60)
        jobs = rt.emulator.started_jobs()
        sns = rt.sns_messages()
    assert desc["status"] == "SUCCEEDED"
    assert len(jobs) == 1, jobs  # the emulator created exactly one job
    assert len(sns) == 1
    o = sns[0]["message"]
    assert o["job"] == {"kind": kind, "id": jobs[0]["id"]}
    assert o["started"]["recovered"] is True
    assert rt.emulator.calls[START_OP[kind]] == 1 and rt.emulator.calls[LIST_OP[kind]] == 1


def test_an_invalid_start_request_makes_no_call_and_names_the_field():
    data = scenario("loader-start-succeeds")
    data["request"]["start"]["format"] = "xml"
    r = run(data)
    o = published(r, "INVALID_REQUEST", "loader")
    assert o["job"] == {"kind": "loader", "id": None}
    assert "start.format" in o["statusReason"]
    assert r["calls"] == {}


def test_a_repeated_start_request_starts_one_job_and_publishes_once():
    sc = load_scenario(copy.deepcopy(scenario("loader-start-succeeds")))
    with LocalRuntime(jobs=sc.all_jobs()) as rt:
        with rt.together():
            first = rt.start(sc.request)
            second = rt.start(copy.deepcopy(sc.request))
        ends = [rt.wait(first, timeout=60), rt.wait(second, timeout=60)]
        entered = [states_entered(rt, first), states_entered(rt, second)]
        jobs = rt.emulator.started_jobs()
        sns, events = rt.sns_messages(), rt.events()
    assert len(jobs) == 1
    assert len(sns) == 1 and len(events) == 1
    outcome = sns[0]["message"]
    assert outcome["job"]["id"] == jobs[0]["id"] and outcome["outcome"] == "SUCCEEDED"
    outputs = [json.loads(e["output"]) for e in ends]
    assert [o["outcome"] for o in outputs] == ["SUCCEEDED", "SUCCEEDED"]
    assert [o["job"]["id"] for o in outputs] == [jobs[0]["id"]] * 2  # the repeat ends with the started job
    starters = [n for n, e in enumerate(entered) if "StartJob" in e]
    assert len(starters) == 1
    assert entered[1 - starters[0]]["AwaitOwner"] == 1  # the same request again: waits for the first


@pytest.mark.parametrize(
    ("name", "parent_status", "parent_error"),
    [("loader-start-succeeds", "SUCCEEDED", None), ("loader-start-refused", "FAILED", "Example.StartRefused")],
)
def test_the_nightly_load_example_parent_starts_the_load_and_branches_on_the_outcome(name, parent_status, parent_error):
    definition = (SCENARIOS.parent / "examples" / "parent_nightly_load.asl.json").read_text()
    start = scenario(name)["request"]["start"]
    sc = load_scenario(copy.deepcopy(scenario(name)))
    with LocalRuntime(jobs=sc.all_jobs(), faults=sc.faults) as rt:
        parent = rt.create_state_machine("nightly", definition, {"WatchStateMachineArn": rt.state_machine_arn})
        arn = rt.start({k: start[k] for k in ("source", "iamRoleArn", "s3BucketRegion")}, state_machine_arn=parent)
        desc = rt.wait(arn, timeout=60)
        jobs, sns = rt.emulator.started_jobs(), rt.sns_messages()
    assert (desc["status"], desc.get("error")) == (parent_status, parent_error)
    assert len(sns) == 1
    outcome = sns[0]["message"]
    if parent_status == "SUCCEEDED":
        assert json.loads(desc["output"]) == outcome
        assert [j["id"] for j in jobs] == [outcome["job"]["id"]]
        assert jobs[0]["params"]["source"] == start["source"] and jobs[0]["params"]["parallelism"] == "MEDIUM"
    else:
        assert jobs == [] and outcome["status"] is None
        assert json.loads(desc["cause"]) == outcome



# --- a dead start request's owner -----------------------------------------------------------


def _start_lock(rt: LocalRuntime) -> dict[str, Any]:
    items = rt.client("dynamodb").scan(TableName="neptune-watch-locks")["Items"]
    (item,) = [i for i in items if i["pk"]["S"].startswith("start#")]
    return item


def _until(what, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not what():
        assert time.monotonic() < deadline
        time.sleep(0.005)


@pytest.mark.parametrize("stopped", ["after the start", "before the start"])
def test_an_aborted_start_owner_is_recovered_and_the_job_started_once(stopped):
    """The recovery rule's execution (the runtime plays the rule) takes over a dead start request's lock: it looks for the job
    the dead owner may have started (from the dead owner's own start on), adopts it or starts it,
    watches it, publishes the owner's outcome and answers the waiters; one job in every timing.
    Before the start, the owner sits in StartJob's backoff after a throttled start call."""
    sc = load_scenario(copy.deepcopy(scenario("loader-start-succeeds")))
    faults = [FaultSpec(operation="StartLoaderJob", calls=[1], error="TooManyRequestsException")] if stopped == "before the start" else []
    request = {**sc.request, "correlationId": "owner"}
    with LocalRuntime(jobs=sc.all_jobs(), faults=faults) as rt:
        with rt.together():  # virtual time stands still: the owner stops in a Wait or a retry's backoff
            owner = rt.start(request)
            if stopped == "after the start":
                _until(lambda: rt.emulator.calls["GetLoaderJobStatus"] >= 1)  # started, polled once
            else:
                _until(lambda: rt.emulator.calls["StartLoaderJob"] >= 1)  # throttled, backing off
            dup = rt.start({**request, "correlationId": "dup"})
            _until(lambda: len(_start_lock(rt).get("regs", {}).get("M", {})) >= 1)
            rt.client("stepfunctions").stop_execution(executionArn=owner, error="Operator", cause="stopped")
            assert len(rt.emulator.started_jobs()) == (1 if stopped == "after the start" else 0)
        assert rt.wait(owner, timeout=60)["status"] == "ABORTED"
        recovery = rt.recovery_of(owner)  # the runtime plays the deployment's recovery rule
        ends = {name: rt.wait(arn, timeout=90) for name, arn in (("recovery", recovery), ("dup", dup))}
        jobs = rt.emulator.started_jobs()
        sns = [m["message"] for m in rt.sns_messages()]
        calls = dict(rt.emulator.calls)
    assert len(jobs) == 1
    outputs = {name: json.loads(desc["output"]) for name, desc in ends.items()}
    assert {name: o["correlationId"] for name, o in outputs.items()} == {"recovery": "owner", "dup": "dup"}
    assert {o["outcome"] for o in outputs.values()} == {"SUCCEEDED"}
    assert {o["job"]["id"] for o in outputs.values()} == {jobs[0]["id"]}
    assert sorted(m["correlationId"] for m in sns) == ["dup", "owner"]
    if stopped == "after the start":
        assert outputs["recovery"]["started"]["recovered"] is True  # adopted, not started again
        assert calls["StartLoaderJob"] == 1 and calls["ListLoaderJobs"] >= 1
    else:
        assert "recovered" not in outputs["recovery"]["started"]  # nothing to adopt: started now
        assert calls["StartLoaderJob"] == 2
