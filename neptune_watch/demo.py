"""``neptune-watch demo``: four watches at once on the local runtime, with a live view.

A load that succeeds after a long queue, a load that fails with parsing errors, an import
that reports progress, and an export that times out and is cancelled. Hours of Neptune time
pass in seconds of virtual time; what is shown at the end is what arrived on SNS and
EventBridge.
"""

from __future__ import annotations

import contextlib
import sys
import time
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.table import Table

from neptune_watch.local.runtime import LocalRuntime
from neptune_watch.scenario import load_scenario

H = 3600


def demo_scenario() -> dict[str, Any]:
    """The demo's jobs and requests, as one multi-job scenario."""
    loader_ok = "d3m0-load-queued-then-ok"
    loader_bad = "d3m0-load-parsing-errors"
    imp, exp = "t-demoimp001", "t-demoexp001"
    bad_rows = [
        {"code": "PARSING_ERROR", "message": f"Expected 4 columns, found {3 + (i % 2)}", "file": "s3://demo/vertices.csv", "record": 17 + i * 311}
        for i in range(12)
    ]
    return {
        "request": {},
        "jobs": [
            {"kind": "loader", "id": loader_ok, "timeline": [
                {"at": 0, "status": "LOAD_IN_QUEUE"},
                {"at": 1 * H, "status": "LOAD_IN_PROGRESS", "counters": {"totalRecords": 1_000}},
                {"at": 1.5 * H, "status": "LOAD_IN_PROGRESS", "counters": {"totalRecords": 2_400_000}},
                {"at": 2.5 * H, "status": "LOAD_COMPLETED", "counters": {"totalRecords": 4_800_000}},
            ]},
            {"kind": "loader", "id": loader_bad, "timeline": [
                {"at": 0, "status": "LOAD_IN_PROGRESS", "counters": {"totalRecords": 0}},
                {"at": 900, "status": "LOAD_IN_PROGRESS", "counters": {"totalRecords": 310_000, "parsingErrors": 4}},
                {"at": 2400, "status": "LOAD_FAILED", "counters": {"totalRecords": 820_000, "parsingErrors": 12}, "errors": bad_rows},
            ]},
            {"kind": "import", "id": imp, "timeline": [
                {"at": 0, "status": "INITIALIZING"},
                {"at": 300, "status": "ANALYZING_DATA", "counters": {"progressPercentage": 0}},
                *[{"at": 600 + i * 480, "status": "IMPORTING", "counters": {"progressPercentage": 10 * i, "timeElapsedSeconds": 600 + i * 480}} for i in range(10)],
                {"at": 5_400, "status": "SUCCEEDED", "counters": {"progressPercentage": 100, "statementCount": 91_000_000}},
            ]},
            {"kind": "export", "id": exp, "timeline": [
                {"at": 0, "status": "INITIALIZING"},
                *[{"at": 120 + i * 900, "status": "EXPORTING", "counters": {"progressPercentage": 3 * i}} for i in range(20)],
                {"at": 8 * H, "status": "SUCCEEDED", "counters": {"progressPercentage": 100}},
            ]},
        ],
        "_requests": [
            {"job": {"kind": "loader", "id": loader_ok}, "correlationId": "demo-queued-load"},
            {"job": {"kind": "loader", "id": loader_bad}, "correlationId": "demo-bad-rows", "maxErrors": 5},
            {"job": {"kind": "import", "id": imp}, "correlationId": "demo-import"},
            {"job": {"kind": "export", "id": exp}, "correlationId": "demo-export", "timeoutSeconds": 1 * H, "cancelOnTimeout": True},
        ],
    }


def _hms(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 3600}h{(s % 3600) // 60:02d}m{s % 60:02d}s"


def _table(rt: LocalRuntime, requests: list[dict[str, Any]], ended: dict[str, str]) -> Table:
    table = Table(title=f"neptune-watch demo  -  virtual time {_hms(rt.clock.now())}", expand=False)
    for col in ("job", "status", "progress", "polls", "next wait", "execution"):
        table.add_column(col)
    for req in requests:
        key = f"{req['job']['kind']}:{req['job']['id']}"
        w = rt.watches.get(key) or {}
        last = w.get("last") or {}
        pct = (last.get("progress") or {}).get("percent")
        records = (last.get("counters") or {}).get("totalRecords")
        progress = f"{pct}%" if pct is not None else (f"{records:,} records" if records else "-")
        nxt = w.get("next")
        wait = f"{w.get('waitSeconds')} s" if nxt == "WAIT" else (nxt or "-").lower()
        table.add_row(key, str(last.get("status") or "-"), progress, str(w.get("polls", 0)), wait, ended.get(key, "RUNNING"))
    return table


def run_demo(*, live: bool = True, console: Console | None = None) -> int:
    console = console or Console(width=None if sys.stdout.isatty() else 150)
    data = demo_scenario()
    requests = data.pop("_requests")
    scenario = load_scenario(data)
    started = time.perf_counter()
    interactive = live and console.is_terminal
    ended: dict[str, str] = {}
    with contextlib.redirect_stdout(sys.stderr), LocalRuntime(jobs=scenario.all_jobs()) as rt:
        with rt.together():
            arns = {f"{r['job']['kind']}:{r['job']['id']}": rt.start(r) for r in requests}
        sfn = rt.client("stepfunctions")
        ctx = Live(_table(rt, requests, ended), console=console, refresh_per_second=12) if interactive else contextlib.nullcontext()
        with ctx as view:
            while len(ended) < len(arns):
                for key, arn in arns.items():
                    if key not in ended:
                        status = sfn.describe_execution(executionArn=arn)["status"]
                        if status != "RUNNING":
                            ended[key] = status
                if view is not None:
                    view.update(_table(rt, requests, ended))
                if time.perf_counter() - started > 120:
                    raise RuntimeError("the demo did not finish within 120 s")
                time.sleep(0.05)
        if not interactive:
            console.print(_table(rt, requests, ended))
        sns = rt.sns_messages()
        events = rt.events()
        virtual = rt.clock.now()
        transitions = rt.transitions()
    wall = time.perf_counter() - started

    out = Table(title="Outcomes, as they arrived on SNS")
    for col in ("job", "outcome", "status", "polls", "ended at", "errors", "SNS attributes"):
        out.add_column(col)
    for msg in sns:
        o = msg["message"]
        out.add_row(
            f"{o['job']['kind']}:{o['job']['id']}",
            o["outcome"],
            str(o["status"]),
            str(o["polls"]),
            o["endedAt"][11:19],
            str(len(o.get("errors") or [])),
            ", ".join(f"{k}={v}" for k, v in sorted(msg["attributes"].items())),
        )
    console.print(out)
    ev = Table(title="... and on EventBridge")
    for col in ("source", "detail-type", "job", "correlationId"):
        ev.add_column(col)
    for e in events:
        d = e["detail"]
        ev.add_row(e["source"], e["detailType"], f"{d['job']['kind']}:{d['job']['id']}", str(d.get("correlationId")))
    console.print(ev)
    console.print(
        f"{len(arns)} watches, {len(sns)} SNS messages, {len(events)} events, {transitions} state transitions; "
        f"{_hms(virtual)} of virtual time in {wall:.1f} s of wall time."
    )
    ok = len(sns) == len(arns) and len(events) == len(arns)
    return 0 if ok else 1
