"""``neptune-watch run-scenario``: one scenario through the deployed definition, locally."""

from __future__ import annotations

import contextlib
import time
from typing import Any

from neptune_watch.local.runtime import LocalRuntime
from neptune_watch.scenario import Scenario


def run_scenario(scenario: Scenario, *, definition: str | None = None, timeout: float = 120.0) -> dict[str, Any]:
    """Run the scenario's watch request to its end; the report of docs/CONTRACT.md section 3."""
    started = time.perf_counter()
    with LocalRuntime(
        settings=scenario.settings, definition=definition, jobs=scenario.all_jobs(), faults=scenario.faults
    ) as rt:
        arn = rt.start(scenario.request)
        desc = rt.wait(arn, timeout=timeout)
        return report(rt, desc, started)


def execution_summary(desc: dict[str, Any]) -> dict[str, Any]:
    import json

    output = desc.get("output")
    with contextlib.suppress(ValueError):
        output = json.loads(output) if output is not None else None
    return {
        "status": desc["status"],
        "error": desc.get("error"),
        "cause": desc.get("cause"),
        "output": output,
        "executionArn": desc["executionArn"],
    }


def report(rt: LocalRuntime, desc: dict[str, Any], started: float) -> dict[str, Any]:
    import json

    sns = rt.sns_messages()
    events = rt.events()
    execution = execution_summary(desc)
    outcome = execution["output"] if desc["status"] == "SUCCEEDED" else None
    if outcome is None and execution.get("cause"):
        try:
            outcome = json.loads(execution["cause"])
        except ValueError:
            outcome = None
    if outcome is None and sns:
        outcome = sns[-1]["message"]
    return {
        "execution": execution,
        "outcome": outcome,
        "sns": sns,
        "events": events,
        "calls": dict(rt.emulator.calls),
        "transitions": rt.transitions(),
        "virtualSeconds": round(rt.finalized_at[-1] if rt.finalized_at else rt.clock.now(), 3),
        "wallSeconds": round(time.perf_counter() - started, 3),
    }
