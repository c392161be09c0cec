"""Many watches at once on one local runtime, and the contract's count of their outcomes.

Used by ``bench/local.py`` (1,000 watches) and by the tests (a bounded run). A *distinct
request* is a job plus a ``correlationId`` (docs/CONTRACT.md section 2): each must get exactly one
outcome on SNS and one on EventBridge, carrying its own ``correlationId``; a repeated identical
request (same job, same ``correlationId``) publishes nothing new.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from neptune_watch.local.runtime import LocalRuntime
from neptune_watch.scenario import JobSpec

KINDS = ("loader", "import", "export")
# kind -> (running statuses, terminal status per outcome)
STATUSES: dict[str, tuple[tuple[str, ...], dict[str, str]]] = {
    "loader": (
        ("LOAD_IN_QUEUE", "LOAD_IN_PROGRESS"),
        {"SUCCEEDED": "LOAD_COMPLETED", "FAILED": "LOAD_FAILED", "CANCELLED": "LOAD_CANCELLED_BY_USER"},
    ),
    "import": (("INITIALIZING", "IMPORTING"), {"SUCCEEDED": "SUCCEEDED", "FAILED": "FAILED", "CANCELLED": "CANCELLED"}),
    "export": (("INITIALIZING", "EXPORTING"), {"SUCCEEDED": "SUCCEEDED", "FAILED": "FAILED", "CANCELLED": "CANCELLED"}),
}
FATES = ("SUCCEEDED",) * 4 + ("FAILED", "FAILED", "CANCELLED", "NOT_FOUND", "INVALID_REQUEST", "TIMED_OUT")


@dataclass
class Workload:
    requests: list[dict[str, Any]]
    jobs: list[JobSpec]
    expected: dict[tuple[str, str, str], str]  # distinct request -> expected outcome
    identical_duplicates: int = 0
    new_correlation_duplicates: int = 0


def _job_id(kind: str, i: int) -> str:
    return f"load-{i:06d}" if kind == "loader" else f"t-{i:010d}"


def workload(n: int, *, seed: int = 11, duplicate_share: float = 0.1, max_seconds: int = 900) -> Workload:
    """``n`` watch requests: mixed kinds and outcomes, ``duplicate_share`` of them duplicates
    (half repeat a request exactly, half name the same job with a new ``correlationId``)."""
    rng = random.Random(seed)
    duplicates = round(n * duplicate_share)
    requests: list[dict[str, Any]] = []
    jobs: list[JobSpec] = []
    expected: dict[tuple[str, str, str], str] = {}
    for i in range(n - duplicates):
        kind = KINDS[i % 3]
        fate = rng.choice(FATES)
        job_id = _job_id(kind, i)
        request: dict[str, Any] = {"job": {"kind": kind, "id": job_id}, "correlationId": f"c-{i}", "context": {"i": i}}
        running, terminal = STATUSES[kind]
        ends = rng.randint(60, max_seconds)
        timeline: list[dict[str, Any]] = [{"at": 0, "status": running[0]}, {"at": min(30, ends - 1), "status": running[1]}]
        if fate == "INVALID_REQUEST":
            request["job"]["id"] = job_id = f"{job_id} not an id"
        elif fate == "TIMED_OUT":
            request["timeoutSeconds"] = max(60, ends // 2)
        elif fate in terminal:
            timeline.append({"at": ends, "status": terminal[fate]})
        if fate not in ("NOT_FOUND", "INVALID_REQUEST"):
            jobs.append(JobSpec.model_validate({"kind": kind, "id": job_id, "timeline": timeline}))
        requests.append(request)
        expected[(kind, job_id, request["correlationId"])] = fate
    originals = [r for r in requests if expected[(r["job"]["kind"], r["job"]["id"], r["correlationId"])] != "INVALID_REQUEST"]
    identical = new_correlation = 0
    for d in range(duplicates):
        original = rng.choice(originals)
        duplicate = {**original, "context": {**original["context"], "duplicate": d}}
        if d % 2:
            duplicate["correlationId"] = f"{original['correlationId']}-again-{d}"
            key = (original["job"]["kind"], original["job"]["id"], duplicate["correlationId"])
            expected[key] = expected[(original["job"]["kind"], original["job"]["id"], original["correlationId"])]
            new_correlation += 1
        else:
            duplicate["context"] = original["context"]  # identical: an event delivered twice
            identical += 1
        requests.insert(rng.randint(1, len(requests)), duplicate)
    return Workload(requests, jobs, expected, identical, new_correlation)


@dataclass
class Result:
    wall_seconds: float
    executions: int
    statuses: Counter[str]
    lost: list[tuple[str, str, str]]
    doubled: list[tuple[str, str, str]]
    wrong: list[tuple[tuple[str, str, str], str, str]]  # (request, expected, published)
    sns: int
    events: int
    peak_threads: int
    transitions: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _key(outcome: Any) -> tuple[str, str, str] | None:
    if not isinstance(outcome, dict):
        return None
    job = outcome.get("job") or {}
    return (str(job.get("kind")), str(job.get("id")), str(outcome.get("correlationId")))


def count(expected: dict[tuple[str, str, str], str], sns: list[dict[str, Any]], events: list[dict[str, Any]]):
    """Lost, doubled and wrong outcomes per distinct request, over SNS and EventBridge."""
    lost, doubled, wrong = [], [], []
    for channel in ([m["message"] for m in sns], [e["detail"] for e in events]):
        seen = Counter(_key(o) for o in channel)
        outcome_of = {_key(o): o.get("outcome") for o in channel if isinstance(o, dict)}
        for key, fate in expected.items():
            if seen[key] == 0:
                lost.append(key)
            elif seen[key] > 1:
                doubled.append(key)
            elif outcome_of[key] != fate:
                wrong.append((key, fate, outcome_of[key]))
        doubled += [k for k in seen if k not in expected]  # an outcome nobody asked for
    return lost, doubled, wrong


def run(work: Workload, *, timeout: float = 600.0, settings: dict[str, Any] | None = None, transitions: bool = False) -> Result:
    """Start every request together on one runtime, wait for all, count what was published."""
    peak = [threading.active_count()]
    with LocalRuntime(jobs=work.jobs, settings=settings) as rt:
        started = time.perf_counter()
        cpu_started = time.process_time()  # every thread of this process: runtime, handlers, emulator
        with rt.together():
            arns = [rt.start(r) for r in work.requests]
        deadline = time.monotonic() + timeout
        pending = set(arns)
        statuses: Counter[str] = Counter()
        while pending and time.monotonic() < deadline:
            peak[0] = max(peak[0], threading.active_count())
            now = rt.statuses()
            for arn in list(pending):
                status = now.get(arn) or rt.status(arn)
                if status != "RUNNING":
                    pending.discard(arn)
                    statuses[status] += 1
            time.sleep(0.2)
        statuses["RUNNING"] += len(pending)
        wall = time.perf_counter() - started
        cpu = time.process_time() - cpu_started
        sns, events = rt.sns_messages(), rt.events()
        lost, doubled, wrong = count(work.expected, sns, events)
        return Result(
            wall_seconds=wall,
            executions=len(rt.all_executions()),
            statuses=statuses,
            lost=lost,
            doubled=doubled,
            wrong=wrong,
            sns=len(sns),
            events=len(events),
            peak_threads=peak[0],
            transitions=rt.transitions() if transitions else None,
            extra={"cpuSeconds": cpu},
        )
