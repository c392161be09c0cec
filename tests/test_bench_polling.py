"""bench/polling.py's publication latency and margin search, small and bounded.

The bench measures, on the local runtime, how long after the detecting poll both outcomes are
published, and picks the cheapest floor/cap that leaves that margin. These tests check the
measurement on a real run of the deployable definition, and that the deployment's defaults
leave the margin the bench asked for when they were chosen (docs/BENCHMARKS.md).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest
from watcher.settings import Settings

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))
import polling  # noqa: E402

pytestmark = pytest.mark.runtime


def test_publication_latency_is_read_from_a_real_history() -> None:
    from neptune_watch.local.runtime import LocalRuntime
    from neptune_watch.scenario import load_scenario

    sc = load_scenario(json.loads((REPO / "scenarios" / "loader-fails-with-parsing-errors.json").read_text()))
    with LocalRuntime(jobs=sc.all_jobs()) as rt:
        began = time.time()
        arn = rt.start(sc.request)
        rt.wait(arn, timeout=60)
        took = time.time() - began
        history = rt.history(arn)
    latency = polling.publication_latency(history)
    assert latency is not None and 0 < latency <= took + 0.002  # history stamps are whole milliseconds
    names = [(e.get("stateEnteredEventDetails") or {}).get("name") for e in history]
    assert names.count("Poll") > 1  # the detecting poll is the last one after a Wait, not the first
    unpublished = [e for e in history if (e.get("stateExitedEventDetails") or {}).get("name") != "PublishToEventBridge"]
    assert polling.publication_latency(unpublished) is None


def test_the_defaults_leave_the_margin_the_bench_chose_them_for() -> None:
    cfg = Settings()
    traces = polling.make_traces(300, 20261124, polling.LATE_SHARE)  # the bench's own trace set
    opt = sum(polling.simulate(tr, polling.TimeOnlyOptimum(), cfg).polls for tr in traces)
    rows = {(r["floor"], r["cap"]): r for r in polling.margin_search(traces, opt, needed=1.55)}
    ours = rows[(cfg.min_wait_seconds, cfg.max_wait_seconds)]
    assert ours["ok"] and ours["vs_opt"] <= 1.03
    cheaper = [r for r in rows.values() if r["vs_opt"] < ours["vs_opt"]]
    assert cheaper and not any(r["ok"] for r in cheaper)  # each cheaper pair leaves less than 1.55 s
