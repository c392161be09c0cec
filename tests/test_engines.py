"""Two ASL engines, one definition: every scenario on moto's interpreter (the local runtime) and
on LocalStack's (neptune_watch.local.localstack_engine), compared.

Where they disagree, the scenario must be in DOCUMENTED_DIFFERENCES (mirroring the table in
docs/LOCAL-RUNTIME.md, "A second engine"), and the test then asserts that exact difference, so
it fails when the difference goes away as well as when a new one appears.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import json
import random
import re
import time
import zlib
from pathlib import Path
from typing import Any

import pytest

from neptune_watch.local import localstack_engine
from neptune_watch.local.localstack_engine import LocalStackRuntime, run_scenario_localstack
from neptune_watch.runner import check, run_scenario
from neptune_watch.scenario import load_scenario

pytestmark = pytest.mark.runtime

REPO = Path(__file__).resolve().parents[1]
SCENARIO_FILES = sorted((REPO / "scenarios").glob("*.json"))

#: scenario stem -> {"moto": {...}, "localstack": {...}}: the fields of :func:`_compared` that
#: differ, as each engine reports them (a row of docs/LOCAL-RUNTIME.md, "A second engine").
DOCUMENTED_DIFFERENCES: dict[str, dict[str, dict[str, Any]]] = {}


def _compared(result: dict[str, Any]) -> dict[str, Any]:
    """What the two engines must agree on: outcome, execution status and error, the Neptune calls
    per operation, what was published (how many messages, with which outcome) and the state
    transitions. Not the virtual time of the outcome: a handler answer slower than the local read
    timeout under load is retried (runtime.LOCAL_READ_TIMEOUT_SECONDS), which moves it by a
    second on one engine and not the other (seen once in a loaded run of server-errors-burst)."""
    outcome = result.get("outcome")
    return {
        "outcome": outcome.get("outcome") if isinstance(outcome, dict) else None,
        "status": result["execution"]["status"],
        "error": result["execution"]["error"],
        "calls": dict(sorted(result["calls"].items())),
        "sns": [m["message"].get("outcome") if isinstance(m["message"], dict) else m["message"] for m in result["sns"]],
        "events": [(e["detailType"], (e["detail"] or {}).get("outcome")) for e in result["events"]],
        "transitions": result["transitions"],
    }


#: The module each engine draws a ``"JitterStrategy": "FULL"`` retry interval from
#: (``random.uniform(0, interval)``, the same code in both).
JITTER_MODULES = {
    "moto": "moto.stepfunctions.parser.asl.component.common.retry.jitter_strategy_decl",
    "localstack": "localstack.services.stepfunctions.asl.component.common.retry.jitter_strategy_decl",
}


def _same_jitter(monkeypatch: pytest.MonkeyPatch, engine: str, seed: int) -> None:
    """Give the engine's jitter draws a generator seeded with ``seed``: both engines then draw the
    same intervals in the same order, so a scenario with jittered retries has one right answer
    for the calls, transitions and virtual time (unseeded, it varies from run to run on either
    engine alone). The draws themselves are the engines' own code."""
    module = importlib.import_module(JITTER_MODULES[engine])
    assert module.random.uniform  # the engine still draws from a module-level ``random``
    monkeypatch.setattr(module, "random", random.Random(seed))


@pytest.mark.parametrize("path", SCENARIO_FILES, ids=[p.stem for p in SCENARIO_FILES])
def test_both_engines_agree_on_every_scenario(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    scenario = load_scenario(path)
    localstack_engine.check_hooks()  # imports LocalStack's modules
    seed = zlib.crc32(path.stem.encode())
    _same_jitter(monkeypatch, "moto", seed)
    on_moto = run_scenario(scenario, timeout=300)
    _same_jitter(monkeypatch, "localstack", seed)
    on_localstack = run_scenario_localstack(scenario, timeout=300)
    # each engine on its own meets the scenario's expect block
    assert check(scenario, on_moto) == [], ("moto", _compared(on_moto))
    assert check(scenario, on_localstack) == [], ("localstack", _compared(on_localstack))
    moto, localstack = _compared(on_moto), _compared(on_localstack)
    documented = DOCUMENTED_DIFFERENCES.get(path.stem)
    if documented is None:
        assert localstack == moto
    else:
        differing = {k for k in moto if moto[k] != localstack[k]}
        assert differing == set(documented["moto"]) == set(documented["localstack"])
        assert {k: moto[k] for k in differing} == documented["moto"]
        assert {k: localstack[k] for k in differing} == documented["localstack"]
    # A failed execution's cause is the outcome on both (the fields that vary per run aside).
    if moto["status"] == "FAILED":
        moto_cause, localstack_cause = (json.loads(r["execution"]["cause"]) for r in (on_moto, on_localstack))
        assert moto_cause["outcome"] == moto["outcome"]
        same = ("outcome", "status", "statusReason", "polls", "errors", "counters")
        assert {k: localstack_cause.get(k) for k in same} == {k: moto_cause.get(k) for k in same}


def test_documented_differences_name_real_scenarios_and_docs_rows() -> None:
    stems = {p.stem for p in SCENARIO_FILES}
    assert set(DOCUMENTED_DIFFERENCES) <= stems
    docs = (REPO / "docs" / "LOCAL-RUNTIME.md").read_text()
    assert "## A second engine: LocalStack's interpreter" in docs
    for stem in DOCUMENTED_DIFFERENCES:
        assert f"`{stem}`" in docs


# The LocalStack engine really interprets --------------------------------------------------------
def _run(rt: LocalStackRuntime, definition: dict[str, Any], payload: Any = None) -> dict[str, Any]:
    arn = rt.create_state_machine(f"probe-{time.monotonic_ns()}", json.dumps(definition))
    execution = rt.start(payload if payload is not None else {}, state_machine_arn=arn)
    return rt.wait(execution, timeout=60)


_LIST = "arn:aws:states:::aws-sdk:sfn:listStateMachines"  # a task that succeeds: LocalStack's own provider answers it
_CATCH_ALL = [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.err", "Next": "Done"}]
_DONE = {"Type": "Pass", "End": True}

#: name -> (definition, input, (status, error, Error caught into $.err or None)): what LocalStack
#: 2026.3.0's interpreter does natively where AWS fails the execution with States.Runtime (rows
#: 1, 2, 7 of docs/LOCAL-RUNTIME.md) or raises States.ResultPathMatchFailure (row 8). The rows of
#: "A second engine" list them: LocalStack is as lenient there as moto, so only
#: neptune_watch.local.strict (moto runtime) catches a definition that relies on it.
LOCALSTACK_LENIENCIES: dict[str, tuple[dict[str, Any], dict[str, Any], tuple[str, str | None, str | None]]] = {
    "choice-on-a-missing-path-takes-the-default": (
        {"StartAt": "Route", "States": {"Route": {"Type": "Choice", "Choices": [{"Variable": "$.missing", "StringEquals": "x", "Next": "Done"}], "Default": "Done"}, "Done": _DONE}},
        {"present": 1},
        ("SUCCEEDED", None, None),
    ),
    "states-all-catches-a-parameters-path-error": (
        {"StartAt": "Call", "States": {"Call": {"Type": "Task", "Resource": _LIST, "Parameters": {"MaxResults.$": "$.missing"}, "Catch": _CATCH_ALL, "End": True}, "Done": _DONE}},
        {"present": 1},
        ("SUCCEEDED", None, "States.Runtime"),
    ),
    "states-all-catches-a-result-selector-path-error": (
        {"StartAt": "Call", "States": {"Call": {"Type": "Task", "Resource": _LIST, "ResultSelector": {"x.$": "$.NoSuchField"}, "Catch": _CATCH_ALL, "End": True}, "Done": _DONE}},
        {"present": 1},
        ("SUCCEEDED", None, "States.Runtime"),
    ),
    "a-result-path-that-cannot-apply-is-states-runtime": (
        {"StartAt": "Call", "States": {"Call": {"Type": "Task", "Resource": _LIST, "ResultPath": "$.a.b", "Catch": [{"ErrorEquals": ["States.ResultPathMatchFailure"], "ResultPath": "$.err", "Next": "Done"}], "End": True}, "Done": _DONE}},
        {"a": "not-an-object"},
        ("FAILED", "States.Runtime", None),
    ),
}


@pytest.mark.parametrize("name", sorted(LOCALSTACK_LENIENCIES))
def test_localstack_natively_is_as_lenient_as_moto_where_aws_is_strict(name: str) -> None:
    """A tool we did not write, run as it comes: LocalStack's interpreter on the definitions of
    rows 1, 2, 7 and 8 of the strictness table. It follows moto, not AWS, on each (the test fails
    the day LocalStack turns strict there: then docs/LOCAL-RUNTIME.md changes with it)."""
    definition, payload, (status, error, caught) = LOCALSTACK_LENIENCIES[name]
    with LocalStackRuntime() as rt:
        desc = _run(rt, definition, payload)
    output = json.loads(desc["output"]) if desc.get("output") else {}
    assert (desc["status"], desc.get("error"), (output.get("err") or {}).get("Error")) == (status, error, caught)


def test_a_wait_of_an_hour_takes_virtual_time_not_wall_time() -> None:
    definition = {"StartAt": "Hour", "States": {"Hour": {"Type": "Wait", "Seconds": 3600, "End": True}}}
    with LocalStackRuntime() as rt:
        before, started = rt.clock.now(), time.perf_counter()
        desc = _run(rt, definition, {"kept": True})
        wall = time.perf_counter() - started
        assert desc["status"] == "SUCCEEDED" and json.loads(desc["output"]) == {"kept": True}
        assert rt.clock.now() - before >= 3600
        assert wall < 1.0


def test_a_retry_is_honoured_with_its_backoff_and_then_caught() -> None:
    """A Lambda task of a function that does not exist: LocalStack maps the error to
    Lambda.ResourceNotFoundException, retries it twice (10 s, then 20 s of virtual time) and the
    Catch takes it."""
    definition = {
        "StartAt": "Call",
        "States": {
            "Call": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": "arn:aws:lambda:us-east-1:123456789012:function:no-such-function", "Payload": {}},
                "Retry": [{"ErrorEquals": ["Lambda.ResourceNotFoundException"], "IntervalSeconds": 10, "MaxAttempts": 2, "BackoffRate": 2.0}],
                "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Caught"}],
                "End": True,
            },
            "Caught": {"Type": "Pass", "End": True},
        },
    }
    with LocalStackRuntime() as rt:
        before = rt.clock.now()
        desc = _run(rt, definition)
        assert desc["status"] == "SUCCEEDED", desc
        assert json.loads(desc["output"])["error"]["Error"] == "Lambda.ResourceNotFoundException"
        types = [e["type"] for e in rt.history(desc["executionArn"])]
        assert types.count("TaskScheduled") == 3 and types.count("TaskFailed") == 3
        assert 30 <= rt.clock.now() - before < 31


def test_a_stopped_execution_ends_aborted_and_its_wait_wakes_at_once() -> None:
    definition = {"StartAt": "Day", "States": {"Day": {"Type": "Wait", "Seconds": 86400, "End": True}}}
    with LocalStackRuntime() as rt:
        arn = rt.create_state_machine("stoppable", json.dumps(definition))
        with rt.together():  # hold virtual time while the execution starts and is stopped
            execution = rt.start({}, state_machine_arn=arn)
            deadline = time.monotonic() + 10
            while not any(e["type"] == "WaitStateEntered" for e in rt.history(execution)):
                assert time.monotonic() < deadline
                time.sleep(0.01)
            rt.client("stepfunctions").stop_execution(executionArn=execution, error="Probe.Stop", cause="stopped")
        desc = rt.wait(execution, timeout=10)
        assert desc["status"] == "ABORTED"
        assert [e["type"] for e in rt.history(execution)][-1] == "ExecutionAborted"
        assert rt.clock.now() < 86400


# The pins and the patched names -----------------------------------------------------------------
def test_localstack_is_pinned_exactly_and_every_patched_name_exists() -> None:
    assert importlib.metadata.version("localstack-core") == localstack_engine.LOCALSTACK_VERSION
    pyproject = (REPO / "pyproject.toml").read_text()
    assert f'"localstack-core=={localstack_engine.LOCALSTACK_VERSION}"' in pyproject
    lock = (REPO / "requirements.txt").read_text().splitlines()
    assert f"localstack-core=={localstack_engine.LOCALSTACK_VERSION}" in lock
    assert localstack_engine.missing_hooks() == []
    localstack_engine.check_hooks()


def test_a_missing_hook_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    gone = "localstack.services.stepfunctions.backend.execution_worker:ExecutionWorker.no_such_name"
    monkeypatch.setattr(localstack_engine, "HOOKS", (*localstack_engine.HOOKS, gone))
    with pytest.raises(localstack_engine.MissingHookError, match=re.escape(gone)):
        localstack_engine.check_hooks()


def test_every_rewritten_module_still_needs_its_rewrite() -> None:
    """The Python 3.11 rewrite applies to the listed LocalStack modules only, and each still has
    the 3.12 syntax it rewrites (so the list shrinks when LocalStack's sources change)."""
    import importlib.util

    for name in localstack_engine.REWRITTEN_MODULES:
        origin = importlib.util.find_spec(name).origin
        text = Path(origin).read_text()
        assert localstack_engine._rewrite_pep695(text) != text, name
        compile(localstack_engine._rewrite_pep695(text), origin, "exec", dont_inherit=True)


def test_a_claimed_wait_is_woken_without_time_jumping_to_its_timeout() -> None:
    """VirtualClock.claim: the waiter is counted busy before its event is set, so the holder of
    time letting go right after the set cannot let time run to the waiter's timeout."""
    import threading

    from neptune_watch.local.clock import VirtualClock

    for _ in range(20):
        clock = VirtualClock(0)
        event, answered = threading.Event(), []
        clock.enter()  # someone holds time still (as LocalRuntime.together does)
        waiter = threading.Thread(target=lambda c=clock, e=event, a=answered: a.append(c.wait_for(e, 100.0)))
        waiter.start()
        while not clock._heap:
            time.sleep(0.001)
        clock.claim(event)
        event.set()
        clock.leave()  # the holder lets go at once
        waiter.join(5)
        assert (answered, clock.now(), clock.busy, clock._heap) == ([True], 0.0, 0, [])
