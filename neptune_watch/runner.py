"""``neptune-watch run-scenario``: scenarios through the deployed definition, locally.

One scenario: :func:`run_scenario`. Many (``run-scenario a.json b.json dir/``): :func:`run_many`
runs them in one process, concurrently on one runtime where they can share it (same settings, no
job id in common, no scenario calling an operation another one's faults apply to: faults count an
operation's calls across the whole emulator, and settings are the handlers' environment), the
batches one after the other. Every report is filtered to its scenario's job: its outcome, publications, calls,
transitions and virtual time. :func:`check` compares a report with the scenario's ``expect``.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from neptune_watch.local.runtime import LocalRuntime
from neptune_watch.scenario import Scenario, ScenarioError, load_scenario


def run_scenario(
    scenario: Scenario,
    *,
    definition: str | None = None,
    timeout: float = 120.0,
    runtime: type[LocalRuntime] = LocalRuntime,
) -> dict[str, Any]:
    """Run the scenario's watch request to its end; the report of docs/CONTRACT.md section 3.
    ``runtime`` is the engine (a :class:`LocalRuntime`, or a subclass such as LocalStack's)."""
    started = time.perf_counter()
    with runtime(
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


def report(
    rt: LocalRuntime,
    desc: dict[str, Any],
    started: float,
    *,
    sns: list[dict[str, Any]] | None = None,
    events: list[dict[str, Any]] | None = None,
    calls: dict[str, int] | None = None,
    transitions: int | None = None,
    virtual_seconds: float | None = None,
    wall_seconds: float | None = None,
) -> dict[str, Any]:
    """The report of docs/CONTRACT.md section 3 (the keyword arguments: a share of a runtime that
    ran other scenarios too; by default everything the runtime saw)."""
    sns = rt.sns_messages() if sns is None else sns
    events = rt.events() if events is None else events
    execution = execution_summary(desc)
    outcome = execution["output"] if desc["status"] == "SUCCEEDED" else None
    if outcome is None and execution.get("cause"):
        try:
            outcome = json.loads(execution["cause"])
        except ValueError:
            outcome = None
    if outcome is None and sns:
        outcome = sns[-1]["message"]
    if virtual_seconds is None:
        virtual_seconds = rt.finalized_at[-1] if rt.finalized_at else rt.clock.now()
    return {
        "execution": execution,
        "outcome": outcome,
        "sns": sns,
        "events": events,
        "calls": dict(rt.emulator.calls) if calls is None else calls,
        "transitions": rt.transitions() if transitions is None else transitions,
        "virtualSeconds": round(virtual_seconds, 3),
        "wallSeconds": round(time.perf_counter() - started if wall_seconds is None else wall_seconds, 3),
    }


# Many scenarios ------------------------------------------------------------------------------
def scenario_files(paths: list[str]) -> list[Path]:
    """The files named, a directory standing for its ``*.json`` files (sorted)."""
    out: list[Path] = []
    for name in paths:
        path = Path(name)
        if path.is_dir():
            found = sorted(path.glob("*.json"))
            if not found:
                raise ScenarioError(f"{name}: no *.json scenario files in this directory")
            out.extend(found)
        elif path.exists():
            out.append(path)
        else:
            raise ScenarioError(f"{name}: no such file or directory")
    return out


def _job_id(scenario: Scenario) -> str | None:
    job = scenario.request.get("job")
    job_id = job.get("id") if isinstance(job, dict) else None
    return job_id if isinstance(job_id, str) and job_id else None


_KIND_OPERATIONS = {
    "loader": {"GetLoaderJobStatus", "CancelLoaderJob"},
    "import": {"GetImportTask", "CancelImportTask"},
    "export": {"GetExportTask", "CancelExportTask"},
}


def _operations(scenario: Scenario) -> set[str]:
    """The emulator operations the scenario's watch can call."""
    job = scenario.request.get("job")
    kinds = {j.kind for j in scenario.all_jobs()} | ({job.get("kind")} if isinstance(job, dict) else set())
    return set().union(*(_KIND_OPERATIONS.get(k, set()) for k in kinds))


class _Batch:
    def __init__(self, settings: str) -> None:
        self.settings = settings
        self.ids: set[str] = set()
        self.operations: set[str] = set()  # called by some scenario of the batch
        self.faulted: set[str] = set()  # with faults from some scenario of the batch
        self.items: list[tuple[str, Scenario]] = []

    def admits(self, scenario: Scenario, settings: str, ids: set[str]) -> bool:
        faulted = {f.operation for f in scenario.faults}
        operations = _operations(scenario)
        return (
            settings == self.settings
            and not ids & self.ids
            and not faulted & self.operations
            and not operations & self.faulted
        )

    def add(self, label: str, scenario: Scenario, ids: set[str]) -> None:
        self.ids |= ids
        self.operations |= _operations(scenario)
        self.faulted |= {f.operation for f in scenario.faults}
        self.items.append((label, scenario))


def plan(items: list[tuple[str, Scenario]]) -> list[list[tuple[str, Scenario]]]:
    """Batches that can share one runtime: the same settings, no job id in common, and no
    scenario calling an operation another one's faults apply to (faults count an operation's
    calls across the emulator). A request without a job id runs alone."""
    batches: list[_Batch] = []
    for label, scenario in items:
        job_id = _job_id(scenario)
        ids = {j.id for j in scenario.all_jobs()} | ({job_id} if job_id else set())
        settings = json.dumps(scenario.settings, sort_keys=True)
        batch = next((b for b in batches if job_id is not None and b.admits(scenario, settings, ids)), None)
        if batch is None:
            batch = _Batch(settings if job_id is not None else f"alone:{label}")
            batches.append(batch)
        batch.add(label, scenario, ids)
    return [b.items for b in batches]


def run_many(
    items: list[tuple[str, Scenario]], *, definition: str | None = None, timeout: float = 300.0
) -> Iterator[tuple[str, dict[str, Any]]]:
    """Run every scenario; yield ``(label, report)`` as each batch ends, in the given order
    within a batch."""
    for batch in plan(items):
        yield from _run_batch(batch, definition, timeout)


def _about(outcome: Any, job_id: str) -> bool:
    return isinstance(outcome, dict) and isinstance(outcome.get("job"), dict) and outcome["job"].get("id") == job_id


def _mentions(text: Any, job_id: str) -> bool:
    return isinstance(text, str) and json.dumps(job_id) in text


def _run_batch(batch: list[tuple[str, Scenario]], definition: str | None, timeout: float) -> Iterator[tuple[str, dict[str, Any]]]:
    if len(batch) == 1:
        yield batch[0][0], run_scenario(batch[0][1], definition=definition, timeout=timeout)
        return
    first = batch[0][1]
    jobs = [job for _, scenario in batch for job in scenario.all_jobs()]
    faults = [fault for _, scenario in batch for fault in scenario.faults]
    with LocalRuntime(settings=first.settings, definition=definition, jobs=jobs, faults=faults) as rt:
        started = time.perf_counter()
        with rt.together():
            arns = [rt.start(scenario.request) for _, scenario in batch]
        ended: dict[str, float] = {}
        deadline = time.monotonic() + timeout
        while len(ended) < len(arns):
            for arn in arns:
                if arn not in ended and rt.status(arn) != "RUNNING":
                    ended[arn] = time.perf_counter() - started
            if time.monotonic() > deadline:
                break
            time.sleep(0.02)
        sfn = rt.client("stepfunctions")
        sns, events = rt.sns_messages(), rt.events()
        backend = rt._backend()
        inputs = {e["executionArn"]: backend.describe_execution(e["executionArn"]).execution_input for e in rt.all_executions()}
        for (label, scenario), arn in zip(batch, arns, strict=True):
            if arn not in ended:
                yield label, {"error": f"still running after {timeout:.0f} s of real time"}
                continue
            job_id = _job_id(scenario) or ""
            calls = Counter(r.operation for r in rt.emulator.requests if job_id in r.path or job_id in json.dumps(r.query))
            yield label, report(
                rt,
                sfn.describe_execution(executionArn=arn),
                started,
                sns=[m for m in sns if _about(m["message"], job_id)],
                events=[e for e in events if _about(e["detail"], job_id)],
                calls=dict(calls),
                transitions=rt.transitions([a for a, text in inputs.items() if _mentions(text, job_id)]),
                virtual_seconds=rt.finalized_by_job.get(job_id, rt.clock.now()),
                wall_seconds=ended[arn],
            )


def check(scenario: Scenario, result: dict[str, Any]) -> list[str]:
    """What differs from the scenario's ``expect`` block (empty: it holds, or there is none)."""
    expect = scenario.expect
    if expect is None:
        return []
    if "error" in result:
        return [result["error"]]
    differences = []
    outcome = (result.get("outcome") or {}).get("outcome") if isinstance(result.get("outcome"), dict) else None
    if expect.outcome is not None and outcome != expect.outcome:
        differences.append(f"outcome: expected {expect.outcome}, got {outcome}")
    status = result["execution"]["status"]
    if expect.status is not None and status != expect.status:
        differences.append(f"status: expected {expect.status}, got {status}")
    for operation, n in sorted(expect.calls.items()):
        got = result["calls"].get(operation, 0)
        if got != n:
            differences.append(f"calls.{operation}: expected {n}, got {got}")
    return differences


def load_all(paths: list[str]) -> list[tuple[str, Scenario]]:
    """Every scenario the paths name, validated (a :class:`ScenarioError` names the first bad one)."""
    return [(str(path), load_scenario(path)) for path in scenario_files(paths)]
