"""Many watches at once on one local runtime (a bounded version of bench/local.py's 1,000).

Invariant of docs/CONTRACT.md section 2, per distinct request (job + correlationId): exactly one
outcome on SNS and one on EventBridge, the expected one; an identical repeat adds none.
"""

from __future__ import annotations

import pytest

from neptune_watch.local import many

pytestmark = pytest.mark.runtime


def test_workload_mixes_kinds_outcomes_and_both_kinds_of_duplicates():
    work = many.workload(40)
    assert len(work.requests) == 40
    assert work.identical_duplicates == 2 and work.new_correlation_duplicates == 2
    assert len(work.expected) == 40 - work.identical_duplicates
    assert {r["job"]["kind"] for r in work.requests} == set(many.KINDS)
    assert {"SUCCEEDED", "FAILED", "NOT_FOUND", "INVALID_REQUEST"} <= set(work.expected.values())


def test_count_finds_lost_doubled_wrong_and_unasked_outcomes():
    expected = {("loader", "a", "c1"): "SUCCEEDED", ("loader", "a", "c2"): "SUCCEEDED", ("import", "t-1", "c3"): "FAILED"}

    def outcome(kind, job_id, correlation, result):
        return {"job": {"kind": kind, "id": job_id}, "correlationId": correlation, "outcome": result}

    published = [
        outcome("loader", "a", "c1", "SUCCEEDED"),
        outcome("loader", "a", "c1", "SUCCEEDED"),  # doubled
        outcome("import", "t-1", "c3", "SUCCEEDED"),  # wrong
        outcome("export", "t-2", "c9", "FAILED"),  # nobody asked
    ]  # c2 lost
    sns = [{"message": o} for o in published]
    events = [{"detail": o} for o in published]
    lost, doubled, wrong = many.count(expected, sns, events)
    assert lost == [("loader", "a", "c2")] * 2
    assert sorted(doubled) == sorted([("loader", "a", "c1"), ("export", "t-2", "c9")] * 2)
    assert wrong == [(("import", "t-1", "c3"), "FAILED", "SUCCEEDED")] * 2


@pytest.fixture(scope="module")
def forty():
    work = many.workload(40, seed=5)
    return work, many.run(work, timeout=600)


def test_forty_watches_end_and_none_is_doubled_or_wrong(forty):
    work, result = forty
    assert result.statuses["RUNNING"] == 0 and sum(result.statuses.values()) == len(work.requests)
    assert result.doubled == [] and result.wrong == []


def test_forty_watches_lose_no_outcome(forty):
    work, result = forty
    assert result.lost == []
    assert result.sns == result.events == len(work.expected)


def test_the_run_reports_the_cpu_it_used_within_its_wall(forty):
    """bench/local.py gives the 120 s target's measured reason from this figure: the CPU of the
    whole process (runtime, handlers, emulator) over the run's wall time."""
    import os

    _, result = forty
    cpu = result.extra["cpuSeconds"]
    assert 0 < cpu <= result.wall_seconds * (os.cpu_count() or 1) + 0.5
