"""Polling benchmark: our adaptive poll policy against fixed-interval loops, on one trace set.

    .venv/bin/python bench/polling.py [--jobs 300] [--seed 20261124] [--late-share 0.3] [--no-runtime]

1. A seeded, reproducible trace set: jobs of all three kinds in equal thirds, outcomes drawn
   85% success / 10% failure / 5% cancelled, the time to the terminal status log-uniform
   from 1 minute to 48 hours, Neptune Analytics jobs reporting ``progressPercentage`` (roughly
   linear in the job's *planned* duration, with noise; a failing or cancelled job stops
   progressing when it stops). Each trace is an emulator timeline (docs/CONTRACT.md section 3), so
   the very same trace can be played back on the local runtime.
   For a share of the jobs (``--late-share``) the watch starts late: at a moment drawn
   uniformly over the job's life (an EventBridge-triggered watch, a retry, a user who
   remembers late). Those watches see the job's own start time, as both APIs report it.
2. Every policy is simulated in virtual time over every trace. Our policy is the real
   ``PollPolicy.next_wait`` called as ``watcher/watch.py`` calls it (paced by the job's age,
   ``pacing_age``); "watch-age" is the same policy paced by the watch's age, as before the job's
   start time was used; the fixed loops poll at 0, k, 2k, ... from the watch's start; the
   time-only optimum knows the job's age. All policies follow the watch's continue-as-new rule
   (after 1,000 polls or 24 h in one execution, the next execution polls at once).
3. The billing model is measured on the local runtime (the deployed ASL on moto), not kept by
   hand: a watch whose job is terminal at its first poll, one that polls 10 times, and one
   continue-as-new give the fixed transitions per watch, the transitions per poll and per
   continuation. Unless ``--no-runtime``, a sample of traces is replayed there too and its
   polls, detection delay and transitions are compared with the simulation.

4. The publication latency is measured there as well (unless ``--no-runtime``): the wall time
   from the detecting poll to both publications done, for 8 scenarios, 3 rounds, each alone on a
   fresh runtime, plus a cold Finalize (bench/coldstart.py's first traced call). With an
   allowance for what only AWS adds, that is the margin the policy must leave after the detecting
   poll; every floor/cap pair is simulated, and the cheapest pair that leaves it is named.

The last line is ``polls_vs_fixed30=<ratio> slo_met=<percent> vs_optimum=<ratio>
late_start_polls_ratio=<ratio> fixed_transitions=<n> per_poll_transitions=<n>
margin_needed_s=<s> chosen=<floor>/<cap> defaults=<floor>/<cap> target_1_03=met|missed``.
"""

from __future__ import annotations

import argparse
import bisect
import contextlib
import io
import math
import os
import random
import statistics
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
for _p in (str(REPO / "lambdas"), str(REPO)):
    if _p not in sys.path:
        sys.path.insert(0, _p)

from _common import code_version  # noqa: E402 - bench/ is on sys.path when run as a script
from watcher.policy import PollPolicy, pacing_age  # noqa: E402
from watcher.settings import Settings  # noqa: E402

PRICE_PER_TRANSITION = 0.025 / 1000  # Step Functions Standard, USD (NEPTUNE.md)
MIN_DURATION = 60.0
MAX_DURATION = 48 * 3600.0
OUTCOME_WEIGHTS = (("success", 0.85), ("failure", 0.10), ("cancelled", 0.05))
KINDS = ("loader", "import", "export")
FIXED_INTERVALS = (2, 30, 60, 300)
LOADER_FAILURES = (
    "LOAD_FAILED",
    "LOAD_CANCELLED_DUE_TO_ERRORS",
    "LOAD_UNEXPECTED_ERROR",
    "LOAD_S3_READ_ERROR",
    "LOAD_DATA_DEADLOCK",
)
LATE_SHARE = 0.3
JOB_EPOCH = 1_800_000_000.0  # unix seconds at which every simulated job starts (2027)
PNG = REPO / "docs" / "polling.png"


# --- SLO ------------------------------------------------------------------------------------


def slo_bound(runtime: float) -> float:
    """Seconds within which the outcome must be published: max(15 s, min(5%, 3 min))."""
    return max(15.0, min(0.05 * runtime, 180.0))


# --- Traces ---------------------------------------------------------------------------------


@dataclass
class Trace:
    index: int
    kind: str
    id: str
    outcome: str  # success | failure | cancelled
    end: int  # virtual second of the terminal status (the job starts with the watch, at 0)
    planned: float  # planned duration (Analytics pace); == end for a successful job
    timeline: list[dict[str, Any]]
    offset: int = 0  # the job's second at which the watch starts (0: with the job)
    ats: list[float] = field(default_factory=list)
    percents: list[float | None] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.ats = [e["at"] for e in self.timeline]
        if self.kind == "loader":
            self.percents = [None] * len(self.timeline)
        else:
            # The emulator reports progressPercentage 0 unless the entry says otherwise.
            self.percents = [
                e.get("counters", {}).get("progressPercentage", 0) for e in self.timeline
            ]

    def at(self, t: float) -> int:
        """Index of the entry the service reports at virtual second ``t``."""
        return bisect.bisect_right(self.ats, t) - 1

    def scenario(self) -> dict[str, Any]:
        return {
            "request": {"job": {"kind": self.kind, "id": self.id}, "timeoutSeconds": 7 * 86400},
            "job": {"kind": self.kind, "id": self.id, "timeline": self.timeline},
        }


def _task_id(rng: random.Random) -> str:
    return "t-" + "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(10))


def _outcome(rng: random.Random) -> str:
    x = rng.random()
    for name, weight in OUTCOME_WEIGHTS:
        if x < weight:
            return name
        x -= weight
    return OUTCOME_WEIGHTS[-1][0]


def make_traces(n: int, seed: int, late_share: float = 0.0) -> list[Trace]:
    traces = _make_traces(n, seed)
    late = random.Random(seed + 1)  # a separate stream: the jobs themselves do not change
    for tr in late.sample(traces, round(late_share * n)):
        tr.offset = min(round(late.uniform(0, tr.end)), tr.end)
    return traces


def _make_traces(n: int, seed: int) -> list[Trace]:
    rng = random.Random(seed)
    kinds = [KINDS[i % 3] for i in range(n)]
    rng.shuffle(kinds)
    traces = []
    for i, kind in enumerate(kinds):
        # Time to the terminal status, log-uniform; the services report whole seconds.
        end = round(math.exp(rng.uniform(math.log(MIN_DURATION), math.log(MAX_DURATION))))
        outcome = _outcome(rng)
        if kind == "loader":
            traces.append(_loader_trace(rng, i, end, outcome))
        else:
            traces.append(_analytics_trace(rng, i, kind, end, outcome))
    return traces


def _loader_trace(rng: random.Random, i: int, end: int, outcome: str) -> Trace:
    load_id = "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}".format(
        *tuple(rng.getrandbits(b) for b in (32, 16, 16, 16, 48))
    )
    queued = round(end * rng.uniform(0.0, 0.15))
    rate = rng.uniform(200, 5000)  # records per second
    timeline: list[dict[str, Any]] = [{"at": 0, "status": "LOAD_IN_QUEUE"}]
    steps = 10
    for s in range(steps):
        at = queued + round((end - queued) * s / steps)
        if at >= end or (timeline and at <= timeline[-1]["at"]):
            continue
        timeline.append(
            {
                "at": at,
                "status": "LOAD_IN_PROGRESS",
                "counters": {"totalRecords": int(rate * (at - queued))},
            }
        )
    final: dict[str, Any] = {"at": end, "counters": {"totalRecords": int(rate * (end - queued))}}
    if outcome == "success":
        final["status"] = "LOAD_COMPLETED"
    elif outcome == "cancelled":
        final["status"] = "LOAD_CANCELLED_BY_USER"
    else:
        final["status"] = rng.choice(LOADER_FAILURES)
        final["counters"]["parsingErrors"] = rng.randint(1, 5)
        final["errors"] = [
            {
                "code": "PARSING_ERROR",
                "message": f"bad row {r}",
                "file": "s3://bucket/v.csv",
                "record": r,
            }
            for r in sorted(rng.sample(range(1, 100000), final["counters"]["parsingErrors"]))
        ]
    timeline.append(final)
    return Trace(i, "loader", load_id, outcome, end, float(end), timeline)


def _analytics_trace(rng: random.Random, i: int, kind: str, end: int, outcome: str) -> Trace:
    # A failing / cancelled job stops part-way through the duration it would have taken.
    planned = float(end) if outcome == "success" else end / rng.uniform(0.05, 0.95)
    stop = end
    if outcome == "cancelled":
        stop = end - round(min(rng.uniform(5, 60), 0.5 * end))  # CANCELLING until `end`
    work = "EXPORTING" if kind == "export" else "IMPORTING"
    init = round(planned * rng.uniform(0.02, 0.10))
    phases = [(0, "INITIALIZING")]
    if kind == "import":
        phases.append((init, "ANALYZING_DATA"))
        init += round(planned * rng.uniform(0.02, 0.08))
    phases.append((init, work))
    shape = rng.uniform(0.8, 1.25)  # pace: <1 fast start, >1 slow start
    noise = 2.0  # percentage points of jitter per report
    report_every = max(10.0, (planned - init) / 100.0)
    timeline: list[dict[str, Any]] = []
    for at, status in phases:
        if at < stop and (not timeline or at > timeline[-1]["at"]):
            timeline.append({"at": at, "status": status, "counters": {"progressPercentage": 0}})
    percent = 0
    t = float(init) + report_every
    while t < stop:
        frac = (t - init) / max(planned - init, 1.0)
        value = int(min(99, max(0, 100 * frac**shape + rng.gauss(0, noise))))
        at = round(t)
        if value > percent and at > timeline[-1]["at"]:
            percent = value
            timeline.append({"at": at, "status": work, "counters": {"progressPercentage": percent}})
        t += report_every
    if outcome == "success":
        timeline.append({"at": end, "status": "SUCCEEDED", "counters": {"progressPercentage": 100}})
    elif outcome == "cancelled":
        if stop > timeline[-1]["at"]:
            timeline.append(
                {"at": stop, "status": "CANCELLING", "counters": {"progressPercentage": percent}}
            )
        timeline.append(
            {"at": end, "status": "CANCELLED", "counters": {"progressPercentage": percent}}
        )
    else:
        timeline.append(
            {
                "at": end,
                "status": "FAILED",
                "statusReason": "task failed",
                "counters": {"progressPercentage": percent},
                "errors": [
                    {
                        "code": "IMPORT_ERROR" if kind == "import" else "EXPORT_ERROR",
                        "message": "worker lost",
                    }
                ],
            }
        )
    return Trace(i, kind, _task_id(rng), outcome, end, planned, timeline)


# --- Policies and the simulation ------------------------------------------------------------


class Ours:
    name = "ours (adaptive)"
    label = "ours"

    def __init__(self, cfg: Settings) -> None:
        # As prepare() stores it in the watch and poll() reads it back.
        self.policy = PollPolicy.from_dict(
            PollPolicy(cfg.min_wait_seconds, cfg.max_wait_seconds, cfg.wait_fraction).as_dict()
        )

    def age(self, trace: Trace, t: float) -> float:
        # watch.poll(): pacing_age(watch elapsed, the job's start epoch, now, kind). Job time t
        # is the job's age; the job started at JOB_EPOCH (a plausible start, as the services
        # report one), the watch at trace.offset.
        return pacing_age(t - trace.offset, JOB_EPOCH, JOB_EPOCH + t, trace.kind)

    def wait(self, trace: Trace, t: float, entry: int) -> int:
        # watch.poll(): progress_percent = view["progress"]["percent"] (None for the loader);
        # progress_elapsed = view["counters"].get("timeElapsedSeconds"): the emulator (like the
        # service) reports whole seconds the task has run, the loader has no such counter.
        # until_deadline: the requests carry a 7-day timeout, longer than every trace, so the
        # deadline never binds (None).
        analytics = trace.kind != "loader"
        return self.policy.next_wait(
            self.age(trace, t),
            progress_percent=trace.percents[entry],
            progress_elapsed=int(t) if analytics else None,
            until_deadline=None,
        )


class OursWatchAge(Ours):
    """The same policy paced by the watch's own age: what a late watch did before job-age pacing."""

    name = "watch-age (before)"
    label = "watch-age"

    def age(self, trace: Trace, t: float) -> float:
        return t - trace.offset


class Fixed:
    def __init__(self, seconds: int) -> None:
        self.seconds = seconds
        self.name = f"fixed {seconds} s"
        self.label = f"fixed {seconds}s"

    def wait(self, trace: Trace, t: float, entry: int) -> int:
        return self.seconds


class TimeOnlyOptimum:
    """Reference, not a contender: the fewest polls any policy that knows only the elapsed
    time can make while meeting the bound for every whole-second end time."""

    name = "time-only optimum (bound)"
    label = "time-only optimum"

    def wait(self, trace: Trace, t: float, entry: int) -> int:
        # An end at t+1 (the earliest unseen) is detected after w-1 s; the bound grows with
        # the runtime, so w = floor(bound(t+1)) + 1 is the longest safe wait (t: the job's age).
        return math.floor(slo_bound(t + 1)) + 1


@dataclass
class Result:
    polls: int
    delay: float
    continuations: int


def simulate(trace: Trace, policy: Any, cfg: Settings) -> Result:
    t = float(trace.offset)  # job time; the watch's first poll is at once
    polls = gen_polls = continuations = 0
    gen_started = t
    end = trace.end
    fixed = policy.seconds if isinstance(policy, Fixed) else None
    while True:
        polls += 1
        gen_polls += 1
        if t >= end:
            return Result(polls, t - end, continuations)
        if (
            gen_polls >= cfg.max_polls_per_execution
            or t - gen_started >= cfg.max_seconds_per_execution
        ):
            continuations += 1  # a new execution polls at once
            gen_polls, gen_started = 0, t
            continue
        t += fixed if fixed is not None else policy.wait(trace, t, trace.at(t))


# --- Local runtime: billing calibration and the ASL check ----------------------------------


def _quiet_run(scenario: dict[str, Any], timeout: float = 120) -> dict[str, Any]:
    """One scenario on the local runtime (in a worker process); the figures we compare."""
    from neptune_watch.runner import run_scenario
    from neptune_watch.scenario import load_scenario

    try:
        with (
            contextlib.redirect_stdout(io.StringIO()),
            contextlib.redirect_stderr(io.StringIO()),
            warnings.catch_warnings(),
        ):
            warnings.simplefilter("ignore")
            rep = run_scenario(load_scenario(scenario), timeout=timeout)
    except Exception as exc:  # the runtime is shared, moving code: report it, do not crash
        return {"error": f"{type(exc).__name__}: {str(exc)[:160]}"}
    out = rep.get("outcome") or {}
    return {
        "outcome": out.get("outcome"),
        "statusReason": out.get("statusReason"),
        "polls": out.get("polls"),
        "generations": (out.get("watch") or {}).get("generations", 1),
        "transitions": rep["transitions"],
        "virtualSeconds": rep["virtualSeconds"],
        "wallSeconds": rep["wallSeconds"],
    }


def pick_sample(traces: list[Trace]) -> list[Trace]:
    """Two traces per kind nearest to fixed target lengths, plus a failed and a cancelled
    Analytics job (chosen by length and kind, never by how a policy does on them)."""
    targets = [
        ("loader", None, 180),
        ("loader", None, 3 * 3600),
        ("import", None, 1200),
        ("import", None, 5400),
        ("export", None, 480),
        ("export", None, 9000),
        ("analytics", "failure", 3600),
        ("analytics", "cancelled", 1800),
    ]
    chosen: list[Trace] = []
    for kind, outcome, length in targets:
        pool = [
            tr
            for tr in traces
            if (tr.kind == kind or (kind == "analytics" and tr.kind != "loader"))
            and (outcome is None or tr.outcome == outcome)
            and tr.offset == 0  # the emulator's timeline starts with the watch
            and tr not in chosen
        ]
        chosen.append(min(pool, key=lambda tr: abs(math.log(tr.end / length))))
    return chosen


def _loader_scenario(name: str, end: int, **extra: Any) -> dict[str, Any]:
    return {
        "request": {"job": {"kind": "loader", "id": name}, "timeoutSeconds": 86400},
        "job": {
            "kind": "loader",
            "id": name,
            "timeline": [{"at": 0, "status": "LOAD_IN_QUEUE"}, {"at": end, "status": "LOAD_COMPLETED"}],
        },
        **extra,
    }


#: The billing model, measured: a watch whose job is terminal at its first poll, one that
#: polls 10 times (0, 12, ..., 108 s), and one continue-as-new (a 25-minute loader watch with
#: a 10-minute execution limit).
BILLING_SCENARIOS = {
    "first_poll": _loader_scenario("calibrate-first-poll", 0),
    "ten_polls": _loader_scenario("calibrate-ten-polls", 100),
    "continuation": _loader_scenario(
        "calibrate-continuation", 1500, settings={"maxSecondsPerExecution": 600}
    ),
}


def start_runtime_runs(sample: list[Trace]) -> tuple[Any, list[Any]]:
    """Submit the billing scenarios and the sample to two worker processes (each has its own
    moto); the simulation runs meanwhile in this process."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    pool = ProcessPoolExecutor(max_workers=2, mp_context=multiprocessing.get_context("spawn"))
    futures = [pool.submit(_quiet_run, sc, 90) for sc in BILLING_SCENARIOS.values()]
    futures += [
        pool.submit(_quiet_run, tr.scenario()) for tr in sorted(sample, key=lambda tr: -tr.end)
    ]
    if sample:  # with the replays: the publication latency, measured the same way
        futures.append(pool.submit(_latency_run, LATENCY_SCENARIOS, LATENCY_ROUNDS))
    return pool, futures


#: The watches whose publication latency is measured on the local runtime (files in scenarios/):
#: each job kind, success and failure, loader error pages, a cancel, a timeout with its cancel.
LATENCY_SCENARIOS = (
    "loader-succeeds-after-queue.json",
    "loader-fails-with-parsing-errors.json",
    "loader-max-errors.json",
    "loader-cancelled-by-user.json",
    "loader-timeout-cancelled.json",
    "import-progress-succeeds.json",
    "import-fails.json",
    "export-succeeds.json",
)
LATENCY_ROUNDS = 3
#: What the local runtime cannot show of the publication on AWS, in seconds: Lambda's own start
#: of a cold sandbox, the Standard-workflow transitions between the detecting poll and the last
#: publication (Route, Finalize, MustPublish, PublishToSns, PublishToEventBridge), and the SNS and
#: EventBridge calls over the network. Not measured here: an allowance, about twice what the
#: runtime measures of the whole (here 0.47-0.56 s: the slowest publication 303-390 ms plus a cold
#: Finalize 165-179 ms).
AWS_ALLOWANCE_S = 1.0
#: Floors and caps the margin search tries (seconds).
FLOORS = (12, 13, 14, 15)
CAPS = (175, 176, 177, 178, 179, 180)


def _stamp(event: dict[str, Any]) -> float:
    from datetime import datetime

    value = event["timestamp"]
    return value.timestamp() if hasattr(value, "timestamp") else datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()


def publication_latency(history: list[dict[str, Any]]) -> float | None:
    """Wall seconds from the detecting poll (the first Poll after the last Wait: the moment the
    simulation counts as the poll) to both publications done (PublishToEventBridge exited, after
    PublishToSns): the poll itself, any loader error pages, Route, Finalize, SNS, EventBridge."""
    detecting = published = None
    for event in history:
        kind = str(event["type"]).rsplit(".", 1)[-1]
        name = (event.get("stateEnteredEventDetails") or event.get("stateExitedEventDetails") or {}).get("name")
        if kind.endswith("StateEntered") and name == "WaitBeforePoll":
            detecting = None
        elif kind == "TaskStateEntered" and name == "Poll" and detecting is None:
            detecting = _stamp(event)
        elif kind == "TaskStateExited" and name == "PublishToEventBridge":
            published = _stamp(event)
    return None if detecting is None or published is None else published - detecting


def _latency_run(names: tuple[str, ...], rounds: int) -> dict[str, Any]:
    """Each scenario ``rounds`` times, alone on a fresh runtime (in a worker process)."""
    import json as _json

    from neptune_watch.local.runtime import LocalRuntime
    from neptune_watch.scenario import load_scenario

    samples: dict[str, list[float]] = {}
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for _ in range(rounds):
                for name in names:
                    sc = load_scenario(_json.loads((REPO / "scenarios" / name).read_text()))
                    with LocalRuntime(settings=sc.settings, jobs=sc.all_jobs(), faults=sc.faults) as rt:
                        arn = rt.start(sc.request)
                        rt.wait(arn, timeout=120)
                        latency = publication_latency(rt.history(arn))
                    if latency is not None:
                        samples.setdefault(name, []).append(latency)
    except Exception as exc:  # report it, do not crash the bench
        return {"error": f"{type(exc).__name__}: {str(exc)[:160]}", "samples": samples}
    return {"samples": samples}


def cold_finalize(rounds: int = 5) -> list[float]:
    """Import plus first traced call of the finalize handler, each in a fresh interpreter
    (bench/coldstart.py's measurement): what a cold Finalize adds on top of a warm one."""
    import coldstart

    environ = coldstart.env()
    return [sum(coldstart.first_call("finalize", environ)) for _ in range(rounds)]


def margin_search(traces: list[Trace], opt_polls: int, needed: float) -> list[dict[str, Any]]:
    """Every floor/cap pair: polls against the optimum and the tightest margin left for
    publishing after the detecting poll (SLO bound - detection delay, over every trace)."""
    rows = []
    for lo in FLOORS:
        for hi in CAPS:
            alt = Settings(min_wait_seconds=lo, max_wait_seconds=hi)
            res = [simulate(tr, Ours(alt), alt) for tr in traces]
            slack = min(slo_bound(tr.end) - r.delay for tr, r in zip(traces, res, strict=True))
            rows.append({"floor": lo, "cap": hi, "vs_opt": sum(r.polls for r in res) / opt_polls,
                         "margin": slack, "ok": slack >= needed})  # fmt: skip
    return rows


def measure_billing(results: list[dict[str, Any]]) -> dict[str, Any]:
    """transitions = fixed + per_poll * (polls - 1) + continuation_extra * continuations,
    where ``fixed`` is a watch terminal at its first poll; from the three billing runs."""
    runs = dict(zip(BILLING_SCENARIOS, results, strict=True))
    bad = {k: r.get("error") or r.get("outcome") for k, r in runs.items() if r.get("outcome") != "SUCCEEDED"}
    if bad:
        raise SystemExit(f"the billing runs on the local runtime did not succeed: {bad}")
    one, ten, cont = runs["first_poll"], runs["ten_polls"], runs["continuation"]
    if one["polls"] != 1 or ten["polls"] <= 1 or cont["generations"] < 2:
        raise SystemExit(f"unexpected billing runs: {runs}")
    per_poll = (ten["transitions"] - one["transitions"]) / (ten["polls"] - one["polls"])
    fixed = one["transitions"]
    overhead = fixed - per_poll  # the watch outside the poll loop
    extra = (cont["transitions"] - overhead - per_poll * cont["polls"]) / (cont["generations"] - 1)
    return {
        "fixed": fixed,
        "per_poll": per_poll,
        "overhead": overhead,
        "continuation_extra": extra,
        "residual": float("nan"),
        "source": (
            f"measured on the local runtime: terminal at the first poll {fixed} transitions; "
            f"{ten['polls']} polls {ten['transitions']}; {cont['generations'] - 1} continuation(s), "
            f"{cont['polls']} polls {cont['transitions']}"
        ),
    }


def finish_runtime_runs(
    pool: Any, futures: list[Any], sample: list[Trace], cfg: Settings
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    results = [f.result() for f in futures]
    pool.shutdown()
    latency = results.pop() if sample else None
    billing = measure_billing(results[: len(BILLING_SCENARIOS)])
    billing["latency"] = latency
    by_id = {}
    for tr, rep in zip(sorted(sample, key=lambda tr: -tr.end), results[len(BILLING_SCENARIOS) :], strict=False):
        by_id[tr.index] = rep
    ours = Ours(cfg)
    rows = []
    for tr in sample:
        rep = by_id[tr.index]
        rows.append(
            {
                "trace": tr,
                "sim": simulate(tr, ours, cfg),
                "error": rep.get("error"),
                "polls": rep.get("polls"),
                "outcome": rep.get("outcome") or rep.get("error", "?").split(":")[0],
                "delay": rep["virtualSeconds"] - tr.end
                if "virtualSeconds" in rep
                else float("nan"),
                "transitions": rep.get("transitions"),
                "wall": rep.get("wallSeconds", float("nan")),
            }
        )
    # The model against every sample run that finished: the largest miss, in transitions.
    good = [r for r in rows if r["polls"] is not None and r["transitions"] is not None]
    if good:
        billing["residual"] = max(
            abs(r["transitions"] - (billing["overhead"] + billing["per_poll"] * r["polls"])) for r in good
        )
    return rows, billing


def expected_over_distribution(policy: PollPolicy, points: int = 50_000) -> dict[str, float]:
    """Mean polls per job when the time to the end is exactly log-uniform on [1 min, 48 h]
    (midpoint rule in log time), for the time-only part of our policy, the time-only optimum
    and the fixed 30 s loop: what the trace set's figures converge to."""

    def schedule(wait: Any) -> list[float]:
        ts, t = [0.0], 0.0
        while t < MAX_DURATION:
            t += wait(t)
            ts.append(t)
        return ts

    schedules = {
        "ours": schedule(lambda t: policy.next_wait(t)),
        "opt": schedule(lambda t: math.floor(slo_bound(t + 1)) + 1),
        "f30": schedule(lambda t: 30),
    }
    lo, hi = math.log(MIN_DURATION), math.log(MAX_DURATION)
    totals = dict.fromkeys(schedules, 0.0)
    for i in range(points):
        end = math.exp(lo + (hi - lo) * (i + 0.5) / points)
        for name, ts in schedules.items():
            totals[name] += bisect.bisect_left(ts, end) + 1
    return {name: total / points for name, total in totals.items()}


# --- Report ---------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default)."""
    s = sorted(values)
    pos = (len(s) - 1) * q / 100.0
    lo = math.floor(pos)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


def summarise(
    traces: list[Trace], results: list[Result], billing: dict[str, Any]
) -> dict[str, Any]:
    n = len(traces)
    polls = [r.polls for r in results]
    delays = [r.delay for r in results]
    met = [r.delay <= slo_bound(tr.end) for tr, r in zip(traces, results, strict=False)]
    transitions = [
        billing["overhead"]
        + billing["per_poll"] * r.polls
        + billing["continuation_extra"] * r.continuations
        for r in results
    ]
    mean_tr = statistics.fmean(transitions)
    return {
        "polls_total": sum(polls),
        "polls_mean": sum(polls) / n,
        "polls_median": statistics.median(polls),
        "transitions_mean": mean_tr,
        "cost_per_1000": mean_tr * PRICE_PER_TRANSITION * 1000,
        "delay_p50": percentile(delays, 50),
        "delay_p99": percentile(delays, 99),
        "delay_max": max(delays),
        "slo_met": 100.0 * sum(met) / n,
        "continuations": sum(r.continuations for r in results),
        "misses": [(tr, r) for tr, r, ok in zip(traces, results, met, strict=False) if not ok],
    }


def fmt_s(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def draw(summaries: list[tuple[Any, dict[str, Any]]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.2, 4.6))
    for policy, s in summaries:
        x = s["polls_mean"]
        p50, p99 = max(s["delay_p50"], 0.5), max(s["delay_p99"], 0.5)
        ours = isinstance(policy, Ours)
        bound = isinstance(policy, TimeOnlyOptimum)
        color = "tab:red" if ours else ("tab:gray" if bound else "tab:blue")
        ax.plot([x, x], [p50, p99], color=color, lw=1.5, alpha=0.7)
        ax.scatter([x], [p50], color=color, marker="o", s=36, zorder=3)
        ax.scatter([x], [p99], color=color, marker="^", s=44, zorder=3)
        if ours:  # next to its p50 marker, clear of the time-only optimum beside it
            anchor, offset, ha = (x, p50), (8, -10), "left"
        elif bound:
            anchor, offset, ha = (x, p50), (-8, -12), "right"
        else:
            anchor, offset, ha = (x, p99), (6, 4), "left"
        ax.annotate(
            f"{policy.label}\n{s['slo_met']:.1f}% in SLO",
            anchor,
            textcoords="offset points",
            xytext=offset,
            ha=ha,
            fontsize=8,
            color=color,
            fontweight="bold" if ours else "normal",
        )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("polls per job (mean over the trace set, log)")
    ax.set_ylabel("detection delay, s (log)")
    ax.scatter([], [], color="k", marker="o", s=30, label="p50 delay")
    ax.scatter([], [], color="k", marker="^", s=36, label="p99 delay")
    ax.legend(loc="lower left", fontsize=8, frameon=False)
    ax.set_title("Polls per job against detection delay (jobs 1 min to 48 h)", fontsize=10)
    ax.grid(True, which="major", alpha=0.3)
    x_values = [s["polls_mean"] for _, s in summaries]
    ax.set_xlim(min(x_values) / 1.6, max(x_values) * 2.2)
    ax.set_ylim(0.6, 600)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)




def _band_rows(
    traces: list[Trace], results: dict[str, list[Result]], billing: dict[str, Any], idx: list[int]
) -> dict[str, float]:
    """Figures of our policy over the traces ``idx``, with its ratios to the others."""
    sub = [traces[i] for i in idx]
    ours = summarise(sub, [results["ours"][i] for i in idx], billing)
    row = {"jobs": len(idx), "polls": ours["polls_mean"], "slo": ours["slo_met"],
           "p50": ours["delay_p50"], "p99": ours["delay_p99"], "usd": ours["cost_per_1000"]}  # fmt: skip
    for name in ("f2", "f30", "f60", "f300", "opt"):
        row[name] = ours["polls_total"] / sum(results[name][i].polls for i in idx)
    return row


def print_bands(title: str, traces: list[Trace], results: dict[str, list[Result]], billing: dict[str, Any],
                idx: list[int]) -> dict[str, float]:  # fmt: skip
    bands = [(60, 600), (600, 3600), (3600, 6 * 3600), (6 * 3600, 48 * 3600 + 1)]
    print(title)
    header = (
        f"  {'job length':<19}{'jobs':>5}{'polls/job':>10}{'/fixed 2s':>10}{'/30s':>7}{'/60s':>7}{'/300s':>7}"
        f"{'/optimum':>9}{'on time':>9}{'delay p50':>11}{'p99':>8}{'$/1k watches':>13}"
    )
    print(header)
    overall: dict[str, float] = {}
    for lo, hi in [*bands, (0, math.inf)]:
        sel = [i for i in idx if lo <= traces[i].end < hi]
        if not sel:
            continue
        r = _band_rows(traces, results, billing, sel)
        label = "all" if hi == math.inf else f"{fmt_s(lo)} - {fmt_s(min(hi, 48 * 3600))}"
        print(
            f"  {label:<19}{r['jobs']:>5}{r['polls']:>10.1f}{r['f2']:>10.3f}{r['f30']:>7.3f}{r['f60']:>7.3f}"
            f"{r['f300']:>7.3f}{r['opt']:>9.3f}{r['slo']:>8.1f}%{r['p50']:>9.1f} s{r['p99']:>6.0f} s{r['usd']:>13.2f}"
        )
        overall = r
    return overall


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--jobs", type=int, default=300)
    ap.add_argument("--seed", type=int, default=20261124)
    ap.add_argument("--late-share", type=float, default=LATE_SHARE,
                    help="share of the jobs whose watch starts late (uniform over the job's life)")  # fmt: skip
    ap.add_argument(
        "--no-runtime",
        action="store_true",
        help="skip replaying the sample on the local runtime (the billing runs still run)",
    )
    ap.add_argument("--png", default=str(PNG))
    args = ap.parse_args(argv)
    started = time.perf_counter()
    load_at_start = os.getloadavg()[0]
    cfg = Settings()  # the deployment defaults

    traces = make_traces(args.jobs, args.seed, args.late_share)
    by_kind = {k: sum(tr.kind == k for tr in traces) for k in KINDS}
    by_outcome = {o: sum(tr.outcome == o for tr in traces) for o, _ in OUTCOME_WEIGHTS}
    ends = [tr.end for tr in traces]
    late_idx = [i for i, tr in enumerate(traces) if tr.offset > 0]
    print(f"code: {code_version()}")
    print(
        f"trace set: {len(traces)} jobs, seed {args.seed}; kinds {by_kind}; outcomes {by_outcome}"
    )
    print(
        f"  time to terminal status: min {fmt_s(min(ends))}, median {fmt_s(statistics.median(ends))}, "
        f"mean {fmt_s(statistics.fmean(ends))}, max {fmt_s(max(ends))}; "
        f"Analytics progress reports per job: median "
        f"{statistics.median(len(tr.timeline) for tr in traces if tr.kind != 'loader'):.0f}"
    )
    print(
        f"  late-started watches: {len(late_idx)} ({args.late_share:.0%} of the jobs), the watch starting "
        f"uniformly over the job's life (median {fmt_s(statistics.median([traces[i].offset for i in late_idx]) if late_idx else 0)} "
        f"after the job's start)"
    )
    print(
        f"  policy: {Ours(cfg).policy}, paced by the job's age; continue-as-new after {cfg.max_polls_per_execution} polls "
        f"or {cfg.max_seconds_per_execution} s per execution"
    )

    sample = [] if args.no_runtime else pick_sample(traces)
    pool, futures = start_runtime_runs(sample)

    named = {"ours": Ours(cfg), "watch-age": OursWatchAge(cfg),
             **{f"f{k}": Fixed(k) for k in FIXED_INTERVALS}, "opt": TimeOnlyOptimum()}  # fmt: skip
    results = {name: [simulate(tr, policy, cfg) for tr in traces] for name, policy in named.items()}
    rows, billing = finish_runtime_runs(pool, futures, sample, cfg)
    summaries = [(named[n], summarise(traces, results[n], billing)) for n in ("ours", *(f"f{k}" for k in FIXED_INTERVALS), "opt")]
    fixed30 = summarise(traces, results["f30"], billing)
    ours = summarise(traces, results["ours"], billing)

    print()
    print(
        f"billing model ({billing['source']}): a watch terminal at its first poll {billing['fixed']:.0f} transitions, "
        f"+ {billing['per_poll']:.2f} per further poll (Wait -> Poll task -> Route choice), "
        f"+ {billing['continuation_extra']:.2f} per continue-as-new; sample residual {billing['residual']:.2f}"
    )
    print(
        "  the fixed loops are priced as the same Wait -> Task -> Choice loop with the same figures; "
        "$0.025 per 1,000 transitions"
    )
    print()
    header = (
        f"{'policy':<27}{'polls/job':>10}{'vs 30s':>8}{'transitions/job':>16}{'$ per 1k jobs':>14}"
        f"{'delay p50':>11}{'delay p99':>11}{'max':>9}{'SLO met':>9}"
    )
    print(header)
    print("-" * len(header))
    for policy, sm in summaries:
        print(
            f"{policy.name:<27}{sm['polls_mean']:>10.1f}{sm['polls_total'] / fixed30['polls_total']:>8.3f}"
            f"{sm['transitions_mean']:>16.1f}{sm['cost_per_1000']:>14.2f}"
            f"{sm['delay_p50']:>9.1f} s{sm['delay_p99']:>9.1f} s{sm['delay_max']:>7.0f} s{sm['slo_met']:>8.1f}%"
        )
    print(
        "SLO (on time): outcome published within max(15 s, min(5% of the job's runtime, 3 min)) of the terminal status; "
        "delay = first poll at or after the end - the end; percentiles interpolated linearly"
    )
    print()
    print_bands("ours by job length, every watch (ratios: our polls / theirs on the same traces):",
                traces, results, billing, list(range(len(traces))))  # fmt: skip
    on_time = [i for i, tr in enumerate(traces) if tr.offset == 0]
    print_bands("  watches started with the job:", traces, results, billing, on_time)
    if late_idx:
        print_bands("  late-started watches:", traces, results, billing, late_idx)
        late_ours = sum(results["ours"][i].polls for i in late_idx)
        late_before = sum(results["watch-age"][i].polls for i in late_idx)
        late_opt = sum(results["opt"][i].polls for i in late_idx)
        before = summarise([traces[i] for i in late_idx], [results["watch-age"][i] for i in late_idx], billing)
        print(
            f"late-started watches, job-age pacing against watch-age pacing on the same traces: polls {late_ours} "
            f"vs {late_before} (ratio {late_ours / late_before:.3f}; {late_before / late_ours:.2f}x fewer); "
            f"watch-age on time {before['slo_met']:.1f}%, delay p50 {before['delay_p50']:.1f} s; "
            f"the time-only optimum (knowing the job's age) {late_opt} polls, {late_opt / late_before:.3f} of watch-age"
        )
        for lo, hi in [(60, 3600), (3600, 6 * 3600), (6 * 3600, 48 * 3600 + 1)]:
            sel = [i for i in late_idx if lo <= traces[i].end < hi]
            if sel:
                o = sum(results["ours"][i].polls for i in sel)
                w = sum(results["watch-age"][i].polls for i in sel)
                print(f"  {fmt_s(lo)} - {fmt_s(min(hi, 48 * 3600))}: {len(sel)} watches, ours/watch-age {o / w:.3f}")
    analytics = [i for i, tr in enumerate(traces) if tr.kind != "loader"]
    base = Ours(cfg).policy
    no_progress = [_simulate_base(traces[i], base, cfg) for i in analytics]
    print(
        f"progress on Analytics jobs ({len(analytics)}): with the estimate {statistics.fmean(results['ours'][i].polls for i in analytics):.1f} polls/job, "
        f"delay p50 {percentile([results['ours'][i].delay for i in analytics], 50):.1f} s; time-only part alone "
        f"{statistics.fmean(r.polls for r in no_progress):.1f} polls/job, delay p50 {percentile([r.delay for r in no_progress], 50):.1f} s"
    )
    exp = expected_over_distribution(Ours(cfg).policy)
    print(
        f"expected over the duration distribution itself (quadrature, loader-like jobs, watch with the job, no "
        f"continuations): polls per job ours {exp['ours']:.1f}, time-only optimum {exp['opt']:.1f}, "
        f"fixed 30 s {exp['f30']:.1f}; ratio to fixed 30 s: ours {exp['ours'] / exp['f30']:.3f}, "
        f"time-only optimum {exp['opt'] / exp['f30']:.3f}"
    )
    needed, chosen = publication_margin(billing.get("latency"), traces, results, cfg)
    pair = f" chosen={chosen['floor']}/{chosen['cap']}" if chosen else ""
    if ours["misses"]:
        print(f"our SLO misses ({len(ours['misses'])}):")
        for tr, r in ours["misses"]:
            print(
                f"  #{tr.index} {tr.kind} {tr.outcome} ran {fmt_s(tr.end)}: delay {r.delay:.0f} s > bound {slo_bound(tr.end):.0f} s"
            )

    if rows:
        print()
        print(
            "local runtime check (the deployed ASL on moto, the same traces; two runs at a time):"
        )
        print(
            f"  {'trace':<8}{'kind':<8}{'outcome':<10}{'length':>9}{'sim polls':>10}{'runtime polls':>14}"
            f"{'sim delay':>10}{'runtime delay':>14}{'transitions':>12}{'wall':>7}  verdict"
        )
        mismatches = 0
        for r in rows:
            tr, sim = r["trace"], r["sim"]
            ok = (
                r["polls"] is not None
                and abs(r["polls"] - sim.polls) <= 1
                and abs(r["delay"] - sim.delay) <= 3
            )
            if r["error"]:
                print(f"  #{tr.index} {tr.kind}: the local run failed: {r['error']}")
            mismatches += not ok
            print(
                f"  #{tr.index:<7}{tr.kind:<8}{r['outcome']!s:<10}{fmt_s(tr.end):>9}{sim.polls:>10}{r['polls']!s:>14}"
                f"{sim.delay:>8.0f} s{r['delay']:>12.0f} s{r['transitions']!s:>12}{r['wall']:>6.1f}s  "
                f"{'match' if ok else 'MISMATCH'}"
            )
        print(f"  {len(rows) - mismatches}/{len(rows)} match (tolerance: 1 poll, 3 s)")

    draw(summaries, Path(args.png))
    try:
        shown = Path(args.png).resolve().relative_to(REPO)
    except ValueError:
        shown = Path(args.png)
    print()
    print(f"picture: {shown}; bench time {time.perf_counter() - started:.1f} s")
    print(
        f"load average (1 min) at start {load_at_start:.2f}, at end {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs"
    )
    ratio = ours["polls_total"] / fixed30["polls_total"]
    vs_opt = ours["polls_total"] / sum(r.polls for r in results["opt"])
    late_ratio = (
        sum(results["ours"][i].polls for i in late_idx) / sum(results["watch-age"][i].polls for i in late_idx)
        if late_idx
        else float("nan")
    )
    print(
        f"polls_vs_fixed30={ratio:.3f} slo_met={ours['slo_met']:.1f} vs_optimum={vs_opt:.3f} "
        f"late_start_polls_ratio={late_ratio:.3f} fixed_transitions={billing['fixed']:.0f} "
        f"per_poll_transitions={billing['per_poll']:.2f}"
        + (f" margin_needed_s={needed:.2f}" if needed is not None else "")
        + f"{pair} defaults={cfg.min_wait_seconds}/{cfg.max_wait_seconds}"
        + (f" target_1_03={'met' if vs_opt <= 1.03 else 'missed'}")
    )
    return 0


def publication_margin(
    latency: dict[str, Any] | None, traces: list[Trace], results: dict[str, list[Result]], cfg: Settings
) -> tuple[float | None, dict[str, Any] | None]:
    """Print the publication latency measured on the runtime, the margin it needs, and the
    floor/cap pairs that leave it; the cheapest such pair (None without a measurement)."""
    if not latency or not latency.get("samples"):
        print(f"publication latency: not measured ({(latency or {}).get('error') or '--no-runtime'})")
        return None, None
    samples = latency["samples"]
    every = [x for xs in samples.values() for x in xs]
    print()
    print(
        f"publication latency on the local runtime (detecting poll entered -> PublishToEventBridge exited, wall time; "
        f"{len(every)} watches, {LATENCY_ROUNDS} rounds of {len(samples)} scenarios, each alone on a fresh runtime):"
    )
    for name, xs in samples.items():
        print(f"  {name:<42} median {statistics.median(xs) * 1000:7.1f} ms   max {max(xs) * 1000:7.1f} ms")
    if latency.get("error"):
        print(f"  (stopped early: {latency['error']})")
    cold = cold_finalize()
    worst = max(every)
    # The margin: the slowest publication seen, plus a cold Finalize on top (import and first
    # traced call in a fresh interpreter: Finalize runs once per watch, so on AWS it is often
    # cold), plus an allowance for what the runtime cannot show (AWS_ALLOWANCE_S).
    needed = worst + statistics.median(cold) + AWS_ALLOWANCE_S
    print(
        f"  all: median {statistics.median(every) * 1000:.1f} ms, p90 {percentile(every, 90) * 1000:.1f} ms, "
        f"max {worst * 1000:.1f} ms; cold finalize (import + first traced call, fresh interpreter, "
        f"{len(cold)} runs) median {statistics.median(cold) * 1000:.1f} ms"
    )
    print(f"  margin needed = max + cold finalize + {AWS_ALLOWANCE_S:.1f} s allowance for AWS = {needed:.2f} s")
    opt_polls = sum(r.polls for r in results["opt"])
    rows = margin_search(traces, opt_polls, needed)
    ok = [r for r in rows if r["ok"]]
    chosen = min(ok, key=lambda r: r["vs_opt"]) if ok else None
    print("  floor/cap pairs (polls against the time-only optimum; tightest margin left after the detecting poll):")
    for lo in FLOORS:
        cells = [r for r in rows if r["floor"] == lo]
        print("    " + "  ".join(f"{r['floor']}/{r['cap']}: {r['vs_opt']:.3f} {r['margin']:.1f}s{'' if r['ok'] else '*'}" for r in cells))
    print("    (* leaves less than the margin needed)")
    if chosen:
        current = (cfg.min_wait_seconds, cfg.max_wait_seconds) == (chosen["floor"], chosen["cap"])
        print(
            f"  cheapest pair that leaves the margin: {chosen['floor']}/{chosen['cap']} s ({chosen['vs_opt']:.3f} of the "
            f"optimum, margin {chosen['margin']:.1f} s); the defaults are {cfg.min_wait_seconds}/{cfg.max_wait_seconds} s"
            f"{'' if current else ': NOT the cheapest pair'}"
        )
    return needed, chosen


def _simulate_base(trace: Trace, policy: PollPolicy, cfg: Settings) -> Result:
    """Our policy without the progress estimate (only to show what progress costs or saves)."""

    class _Base:
        def wait(self, tr: Trace, t: float, entry: int) -> int:
            return policy.next_wait(t)

    return simulate(trace, _Base(), cfg)


if __name__ == "__main__":
    os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "neptune-watch")
    sys.exit(main())
