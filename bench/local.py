"""Local-runtime benchmark: wall time to watch a 6-hour, a 2-day, a 7-day and a 10-day bulk load
end to end, and 1,000 concurrent watches on one runtime.

    .venv/bin/python bench/local.py

Each load (queued, then in progress with growing counters, then LOAD_COMPLETED) runs through
``run_scenario``: the deployed state machine definition on moto's ASL interpreter, the real
handlers, the Neptune emulator, virtual time. Each run gets a fresh interpreter (a clean moto
and a cold import). Reported: the runtime's own wall seconds (set-up to
report, as ``run_scenario`` measures it), the process wall seconds (interpreter start to
exit), polls, billed transitions, virtual seconds and executions (the deployment's defaults
continue as a new execution after 24 h or 1,000 polls).

The 6-hour load runs three times, each time alone (its wall time has a target). To stay
within 3 minutes on a 2-CPU machine, the 2-day and 7-day loads then run side by side;
``--sequential`` runs them one after the other instead.

Then ``--concurrent`` watches (default 1,000) start together on ONE runtime, in a fresh
interpreter: mixed kinds (loader, import, export) and outcomes (succeeded, failed, cancelled,
not found, invalid request, timed out; jobs of 1 to 15 minutes), 10% duplicates (half an
identical repeat, half the same job with a new ``correlationId``). Reported: wall time (start to
the last execution's end), peak RSS, peak threads, transitions, and the outcomes lost and
doubled per distinct request (job + ``correlationId``, docs/CONTRACT.md section 2) on SNS and on
EventBridge (a request with no outcome on a channel counts once per channel).

The last line holds the figures as ``key=value``: ``six_hour_wall=`` (median of the 6-hour
runs' runtime wall seconds), ``ten_day_wall=``, ``concurrent_1000_wall_s=``, ``lost=``,
``doubled=``, ``peak_rss_mb=``, ``peak_threads=``, and for 1,000 watches ``target_120s=met`` or
``missed`` (at most 120 s, 0 lost, 0 doubled), ``cpu_per_wall=`` (the process's CPU seconds over
the run's wall seconds: 1.0 is one core kept busy) and, when the time alone is missed,
``missed_because=one_core_busy`` (CPU at least 0.9 of the wall: one process under the
interpreter lock runs Python on one core at a time) or ``waiting``. ``--only`` with no load
names runs the concurrent watches alone.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import statistics
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path
from typing import Any

from _common import code_version

REPO = Path(__file__).resolve().parents[1]
PYTHON = REPO / ".venv" / "bin" / "python"
HOUR = 3600
LOADS = {
    "6h": 6 * HOUR,
    "2d": 48 * HOUR,
    "7d": 168 * HOUR,
    "10d": 240 * HOUR,
}
BUDGET = 400.0  # real seconds for the loads: the last batch's runs get what is left
CONCURRENT_TIMEOUT = 900.0


def scenario(name: str, seconds: int) -> dict[str, Any]:
    load_id = f"bench-local-{name}"
    queued = min(1800, seconds // 20)
    records_per_second = 2000
    timeline: list[dict[str, Any]] = [{"at": 0, "status": "LOAD_IN_QUEUE"}]
    steps = 12
    for i in range(steps):
        at = queued + (seconds - queued) * i // steps
        timeline.append(
            {
                "at": at,
                "status": "LOAD_IN_PROGRESS",
                "counters": {"totalRecords": records_per_second * (at - queued)},
            }
        )
    timeline.append(
        {
            "at": seconds,
            "status": "LOAD_COMPLETED",
            "counters": {"totalRecords": records_per_second * (seconds - queued)},
        }
    )
    return {
        "request": {"job": {"kind": "loader", "id": load_id}, "timeoutSeconds": seconds + 86400},
        "job": {"kind": "loader", "id": load_id, "timeline": timeline},
    }


def run_one(name: str, timeout: float) -> dict[str, Any]:
    """In the child process: one load through the local runtime."""
    for p in (str(REPO / "lambdas"), str(REPO)):
        if p not in sys.path:
            sys.path.insert(0, p)
    from neptune_watch.runner import run_scenario
    from neptune_watch.scenario import load_scenario

    sc = load_scenario(scenario(name, LOADS[name]))
    with (
        contextlib.redirect_stdout(io.StringIO()),
        contextlib.redirect_stderr(io.StringIO()),
        warnings.catch_warnings(),
    ):
        warnings.simplefilter("ignore")
        rep = run_scenario(sc, timeout=timeout)
    out = rep.get("outcome") or {}
    return {
        "name": name,
        "jobSeconds": LOADS[name],
        "outcome": out.get("outcome"),
        "statusReason": out.get("statusReason"),
        "executionStatus": rep["execution"]["status"],
        "polls": out.get("polls"),
        "calls": sum(rep["calls"].values()),
        "executions": (out.get("watch") or {}).get("generations"),
        "transitions": rep["transitions"],
        "virtualSeconds": rep["virtualSeconds"],
        "wallSeconds": rep["wallSeconds"],
        "published": {"sns": len(rep["sns"]), "events": len(rep["events"])},
    }


def run_concurrent(n: int, timeout: float) -> dict[str, Any]:
    """In the child process: ``n`` watches together on one runtime."""
    import resource

    for p in (str(REPO / "lambdas"), str(REPO)):
        if p not in sys.path:
            sys.path.insert(0, p)
    from neptune_watch.local import many

    work = many.workload(n)
    with (
        contextlib.redirect_stdout(io.StringIO()),
        contextlib.redirect_stderr(io.StringIO()),
        warnings.catch_warnings(),
    ):
        warnings.simplefilter("ignore")
        result = many.run(work, timeout=timeout, transitions=True)
    return {
        "watches": n,
        "distinct": len(work.expected),
        "identicalDuplicates": work.identical_duplicates,
        "newCorrelationDuplicates": work.new_correlation_duplicates,
        "wallSeconds": round(result.wall_seconds, 2),
        "executions": result.executions,
        "statuses": dict(result.statuses),
        "lost": len(result.lost),
        "doubled": len(result.doubled),
        "wrong": len(result.wrong),
        "lostSample": [list(k) for k in result.lost[:5]],
        "sns": result.sns,
        "events": result.events,
        "transitions": result.transitions,
        "peakThreads": result.peak_threads,
        "peakRssMb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "cpuSeconds": round(result.extra["cpuSeconds"], 1),
    }


def _row(
    name: str, stdout: str, stderr: str, process_wall: float, alongside: int
) -> dict[str, Any]:
    try:
        row = json.loads(stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        tail = (stderr.strip().splitlines() or ["no output"])[-1]
        row = {"name": name, "jobSeconds": LOADS[name], "error": tail[:200]}
    row["processWall"] = process_wall
    row["alongside"] = alongside
    return row


def fmt_hms(seconds: float) -> str:
    h, rest = divmod(round(seconds), 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--one", choices=sorted(LOADS), help=argparse.SUPPRESS)  # child mode
    ap.add_argument("--one-concurrent", type=int, help=argparse.SUPPRESS)  # child mode
    ap.add_argument(
        "--concurrent", type=int, default=1000, help="watches to run together (0: none)"
    )
    ap.add_argument("--timeout", type=float, default=BUDGET, help=argparse.SUPPRESS)
    ap.add_argument("--only", nargs="*", choices=sorted(LOADS), default=list(LOADS))
    ap.add_argument(
        "--sequential", action="store_true", help="run the loads one at a time (about 3 minutes)"
    )
    ap.add_argument(
        "--six-hour-runs", type=int, default=3, help="how many times to run the 6 h load (median)"
    )
    args = ap.parse_args(argv)
    if args.one:
        print(json.dumps(run_one(args.one, args.timeout)))
        return 0
    if args.one_concurrent:
        print(json.dumps(run_concurrent(args.one_concurrent, args.timeout)))
        return 0

    started = time.perf_counter()
    load_at_start = os.getloadavg()[0]
    six_runs = [["6h"]] * args.six_hour_runs if "6h" in args.only else []
    others = [n for n in args.only if n != "6h"]
    batches = six_runs + ([[n] for n in others] if args.sequential else [others])
    rows: list[dict[str, Any]] = []
    for batch in (b for b in batches if b):
        done: dict[str, tuple[str, str, float]] = {}

        # What is left of the budget, less the interpreter start and set-up (~5 s).
        timeout = max(30.0, BUDGET - (time.perf_counter() - started) - 5.0)

        def wait(
            name: str, timeout: float = timeout, done: dict[str, tuple[str, str, float]] = done
        ) -> None:
            t0 = time.perf_counter()
            proc = subprocess.Popen(
                [
                    str(PYTHON),
                    str(Path(__file__).resolve()),
                    "--one",
                    name,
                    "--timeout",
                    f"{timeout:.0f}",
                ],
                cwd=REPO,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            stdout, stderr = proc.communicate()
            done[name] = (stdout, stderr, time.perf_counter() - t0)

        threads = [threading.Thread(target=wait, args=(name,)) for name in batch]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        rows += [_row(name, *done[name], len(batch)) for name in batch]
    rows.sort(key=lambda r: LOADS[r["name"]])

    print(
        f"local runtime (moto ASL interpreter, real handlers, Neptune emulator, virtual time); {sys.version.split()[0]}"
    )
    print(f"code: {code_version()}")
    print()
    header = (
        f"{'load':<8}{'job runs':>10}{'outcome':>11}{'runtime wall':>14}{'process wall':>14}{'polls':>7}"
        f"{'transitions':>13}{'virtual time':>14}{'executions':>12}{'ms/poll':>9}{'vs real time':>14}{'published':>13}"
    )
    print(header)
    print("-" * len(header))
    seen: dict[str, int] = {}
    for r in rows:
        seen[r["name"]] = seen.get(r["name"], 0) + 1
        label = r["name"] + (
            f" #{seen[r['name']]}" if r["name"] == "6h" and args.six_hour_runs > 1 else ""
        )
        if "error" in r:
            print(f"{label:<8}{fmt_hms(r['jobSeconds']):>10}   run failed: {r['error']}")
            continue
        print(
            f"{label:<8}{fmt_hms(r['jobSeconds']):>10}{r['outcome']!s:>11}{r['wallSeconds']:>12.2f} s"
            f"{r['processWall']:>12.2f} s{r['polls']!s:>7}{r['transitions']:>13}{fmt_hms(r['virtualSeconds']):>14}"
            f"{r['executions']!s:>12}{1000 * r['wallSeconds'] / max(r['polls'] or 1, 1):>9.1f}"
            f"{r['virtualSeconds'] / max(r['wallSeconds'], 1e-9):>13,.0f}x"
            f"{r['published']['sns']:>5} SNS, {r['published']['events']} EB"
        )
        if r["outcome"] != "SUCCEEDED":
            print(
                f"        not the expected SUCCEEDED: {r['executionStatus']}, {r['statusReason']}"
            )
    print(
        "runtime wall: run_scenario's own clock (moto set-up, every state, report); "
        "process wall adds the interpreter start and imports"
    )
    together = [r["name"] for r in rows if r.get("alongside", 1) > 1]
    if together:
        print(f"{' and '.join(together)} ran side by side (2 CPUs); each 6 h run ran alone")
    six = [r["wallSeconds"] for r in rows if r["name"] == "6h" and "wallSeconds" in r]
    if six:
        print(
            f"6 h load, runtime wall over {len(six)} runs: median {statistics.median(six):.2f} s (min {min(six):.2f}, max {max(six):.2f})"
        )
    ten = [r["wallSeconds"] for r in rows if r["name"] == "10d" and "wallSeconds" in r]
    conc: dict[str, Any] = {}
    if args.concurrent:
        proc = subprocess.run(
            [
                str(PYTHON),
                str(Path(__file__).resolve()),
                "--one-concurrent",
                str(args.concurrent),
                "--timeout",
                str(CONCURRENT_TIMEOUT),
            ],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=False,
        )
        try:
            conc = json.loads(proc.stdout.strip().splitlines()[-1])
        except (IndexError, ValueError):
            print(
                f"concurrent run failed: {(proc.stderr.strip().splitlines() or ['no output'])[-1][:300]}"
            )
    if conc:
        print()
        print(
            f"{conc['watches']} concurrent watches on one runtime ({conc['distinct']} distinct requests; duplicates: "
            f"{conc['identicalDuplicates']} identical, {conc['newCorrelationDuplicates']} with a new correlationId)"
        )
        print(
            f"  wall {conc['wallSeconds']:.1f} s, {conc['executions']} executions {conc['statuses']}, "
            f"{conc['transitions']} transitions ({1000 * conc['wallSeconds'] / max(conc['transitions'] or 1, 1):.2f} ms each)"
        )
        print(f"  peak RSS {conc['peakRssMb']:.0f} MB, peak threads {conc['peakThreads']}")
        print(
            f"  CPU {conc['cpuSeconds']:.1f} s over the wall's {conc['wallSeconds']:.1f} s: "
            f"{conc['cpuSeconds'] / max(conc['wallSeconds'], 1e-9):.2f} of one core busy, of {os.cpu_count()} "
            "(one process: the interpreter's lock lets one thread run Python at a time)"
        )
        print(
            f"  published: {conc['sns']} SNS, {conc['events']} EventBridge; per distinct request and channel: "
            f"lost {conc['lost']}, doubled {conc['doubled']}, wrong outcome {conc['wrong']}"
        )
        if conc["lostSample"]:
            print(f"  lost, e.g.: {conc['lostSample']}")
    print(f"bench time {time.perf_counter() - started:.1f} s")
    print(
        f"load average (1 min) at start {load_at_start:.2f}, at end {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs"
    )
    figures = {
        "six_hour_wall": f"{statistics.median(six):.2f}" if six else "nan",
        "ten_day_wall": f"{ten[0]:.2f}" if ten else "nan",
        "concurrent_1000_wall_s": f"{conc['wallSeconds']:.1f}"
        if conc and conc["watches"] == 1000
        else "nan",
        "lost": conc.get("lost", "nan"),
        "doubled": conc.get("doubled", "nan"),
        "peak_rss_mb": conc.get("peakRssMb", "nan"),
        "peak_threads": conc.get("peakThreads", "nan"),
        "cpu_per_wall": f"{conc['cpuSeconds'] / max(conc['wallSeconds'], 1e-9):.2f}" if conc else "nan",
    }
    if conc and conc["watches"] == 1000:
        # issue 11/14: 1,000 concurrent watches within 120 s, none lost, none doubled
        met = conc["wallSeconds"] <= 120 and conc["lost"] == 0 and conc["doubled"] == 0
        figures["target_120s"] = "met" if met else "missed"
        if not met and conc["lost"] == 0 and conc["doubled"] == 0:
            # The measured reason: the run keeps one core busy (cpu_per_wall near 1.0) while the
            # other idles, so it is bound by the CPU one process can use, not by waiting.
            figures["missed_because"] = (
                "one_core_busy" if conc["cpuSeconds"] >= 0.9 * conc["wallSeconds"] else "waiting"
            )
    print(" ".join(f"{k}={v}" for k, v in figures.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
