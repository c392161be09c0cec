"""Polling paced by the job's own age, where the service reports when the job started.

Both APIs report the job's start: the loader's ``overallStatus.startTime`` (epoch seconds,
https://docs.aws.amazon.com/neptune/latest/userguide/load-api-reference-status-response.html),
and Neptune Analytics' ``importTaskDetails.startTime`` / ``exportTaskDetails.startTime``
(``timestamp`` members of ImportTaskDetails / ExportTaskDetails in botocore's neptune-graph
model; https://docs.aws.amazon.com/neptune-analytics/latest/apiref/API_GetImportTask.html).
"""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime

import botocore.session
import pytest
from watcher.clients import lenient_timestamp
from watcher.normalize import start_epoch
from watcher.policy import SERVICE_LAUNCH_EPOCH, PollPolicy, pacing_age, plausible_start
from watcher.settings import Settings, settings
from watcher.watch import new_watch, poll

FLOOR, CAP = Settings().min_wait_seconds, Settings().max_wait_seconds  # the default policy's bounds
EPOCH = 1_800_000_000  # the emulator's virtual 0 and the handlers' clock (tests/conftest.py)
FNS = {k: {"status": "s", "cancel": "c"} for k in ("loader", "import", "export")}
IDS = {"loader": "load-age-1", "import": "t-abcdefghij", "export": "t-0123456789"}
RUNNING = {"loader": "LOAD_IN_PROGRESS", "import": "IMPORTING", "export": "EXPORTING"}


def slo_bound(runtime: float) -> float:
    """The delay bound the policy is built for (bench/polling.py): max(15 s, min(5%, 3 min))."""
    return max(15.0, min(0.05 * runtime, 180.0))


def time_only_wait(age: float) -> int:
    """The longest wait that still meets the bound for every whole-second end after ``age``."""
    return math.floor(slo_bound(age + 1)) + 1


def test_start_times_are_timestamps_in_botocores_model():
    model = botocore.session.get_session().get_service_model("neptune-graph")
    for shape in ("ImportTaskDetails", "ExportTaskDetails"):
        assert model.shape_for(shape).members["startTime"].type_name == "timestamp"


def test_pacing_age_is_the_jobs_own_and_falls_back_safely():
    now = 1_800_000_000.0
    assert pacing_age(30, now - 5 * 3600, now) == 5 * 3600  # a job 5 h old, watched for 30 s
    assert pacing_age(600, now - 60, now) == 60  # queued before it started: its own, shorter age
    assert pacing_age(30, now + 3600, now) == 30  # a start in the future (clock skew): the watch's
    for junk in (None, "soon", float("nan"), float("inf"), [1], {"t": 1}):
        assert pacing_age(30, junk, now) == 30


@pytest.mark.parametrize("seed", range(5))
def test_job_age_waits_are_never_longer_than_the_time_only_wait_nor_past_the_deadline(seed):
    rng = random.Random(seed)
    policy = PollPolicy.from_dict(PollPolicy(Settings().min_wait_seconds, Settings().max_wait_seconds).as_dict())
    for _ in range(2000):
        now = 1_800_000_000.0
        watched = rng.uniform(0, 86400)
        job_age = rng.choice([rng.uniform(0, 48 * 3600), watched + rng.uniform(0, 48 * 3600), rng.uniform(-3600, 0)])
        until_deadline = rng.choice([None, rng.uniform(0, 600), rng.uniform(0, 86400)])
        percent = rng.choice([None, rng.uniform(0, 100)])
        age = pacing_age(watched, now - job_age, now)
        wait = policy.next_wait(age, progress_percent=percent, progress_elapsed=age, until_deadline=until_deadline)
        real_age = job_age if job_age >= 0 else watched  # what the policy can know
        assert 1 <= wait <= time_only_wait(real_age), (watched, job_age, wait)
        landing = until_deadline is not None and wait == max(1, math.ceil(until_deadline))  # lands on the deadline
        # The delay bound: at most max(5% of the age, the floor), at most the cap.
        assert wait <= math.floor(policy.base_wait(real_age)) or landing
        assert wait <= policy.max_wait
        if until_deadline is not None:
            assert wait <= max(1, math.ceil(until_deadline))  # never past the deadline


# --- plausible start times ---------------------------------------------------------------
# Neptune (and its bulk loader) has been generally available since 2018-05-30; the Neptune
# Analytics API's version is 2023-11-29 (botocore's neptune-graph model, checked below).


def test_the_launch_bounds_are_the_services_own_dates():
    graph = botocore.session.get_session().get_service_model("neptune-graph")
    assert graph.api_version == "2023-11-29"
    day = datetime.fromtimestamp(SERVICE_LAUNCH_EPOCH["import"], UTC)
    assert day.strftime("%Y-%m-%d") == graph.api_version == datetime.fromtimestamp(SERVICE_LAUNCH_EPOCH["export"], UTC).strftime("%Y-%m-%d")
    assert datetime.fromtimestamp(SERVICE_LAUNCH_EPOCH["loader"], UTC).strftime("%Y-%m-%d") == "2018-05-30"


@pytest.mark.parametrize(("start", "kind", "why"), [
    (0, "loader", "zero"),
    (-5, "loader", "negative"),
    (1_000, "loader", "a few seconds after 1970"),
    (1_262_304_000, "loader", "2010, before Neptune"),
    (1_527_638_399, "loader", "a second before Neptune's launch"),
    (1_600_000_000, "import", "2020, before Neptune Analytics"),
    (1_600_000_000, "export", "2020, before Neptune Analytics"),
    (1_800_000_001, "loader", "a second after now"),
    (1.8e12, "loader", "milliseconds read as seconds: far ahead"),
    (float("nan"), "loader", "not a number"),
    (True, "loader", "a boolean"),
])  # fmt: skip
def test_an_implausible_start_is_not_the_jobs_start(start, kind, why):
    now = 1_800_000_000.0
    assert plausible_start(start, now, kind) is None, why
    assert pacing_age(30, start, now, kind) == 30, why  # the watch's own age


def test_a_plausible_start_is_used_at_the_bounds():
    now = 1_800_000_000.0
    assert plausible_start(SERVICE_LAUNCH_EPOCH["loader"], now, "loader") == SERVICE_LAUNCH_EPOCH["loader"]
    assert plausible_start(1_600_000_000, now, "loader") == 1_600_000_000  # 2020: the loader existed
    assert plausible_start(now, now, "import") == now  # started this very second
    assert pacing_age(30, now - 3600, now, "export") == 3600
    assert plausible_start(1_600_000_000, now) == 1_600_000_000  # no kind: the oldest launch bounds it


@pytest.mark.parametrize(("raw", "expected"), [
    (1_800_000_000, 1_800_000_000.0),  # epoch seconds, as the loader reports them
    (1_800_000_000_123, 1_800_000_000.123),  # epoch milliseconds
    (1_800_000_000.5, 1_800_000_000.5),  # half a second: whole milliseconds
    ("2027-01-15T08:00:00.250000+00:00", datetime(2027, 1, 15, 8, 0, 0, 250000, UTC).timestamp()),
    (datetime(2027, 1, 15, 8, 0, 0, tzinfo=UTC), datetime(2027, 1, 15, 8, 0, 0, tzinfo=UTC).timestamp()),
    (1_800_000_000.7846217, None),  # a fraction of a millisecond: no unit either service uses
    (1_800_000_000_123.5, None),  # milliseconds with a fraction
    (datetime(2027, 1, 15, 8, 0, 0, 123456, UTC), None),
    ("2027-01-15T08:00:00.123456+00:00", None),
    ("soon", None),
    (None, None),
])  # fmt: skip
def test_a_start_is_read_only_in_whole_milliseconds(raw, expected):
    got = start_epoch(raw)
    assert got == pytest.approx(expected) if expected is not None else got is None


def test_a_timestamp_no_calendar_holds_is_kept_as_sent():
    assert lenient_timestamp(1_800_000_000) == datetime.fromtimestamp(1_800_000_000, UTC)
    assert lenient_timestamp(1_764_000_000_000_000) == 1_764_000_000_000_000  # microseconds: year 55 million


def _first_wait(neptune, kind: str, **counters) -> int:
    neptune.start(jobs=[{"kind": kind, "id": IDS[kind], "timeline": [{"at": 0, "status": RUNNING[kind], "counters": counters}]}])
    w = new_watch({"request": {"job": {"kind": kind, "id": IDS[kind]}}, "functions": FNS}, execution_id="x", cfg=settings())
    neptune.now = 30.0  # the first poll, 30 s into the watch
    w = poll(w, cfg=settings())
    assert w["next"] == "WAIT"
    return w["waitSeconds"]


@pytest.mark.parametrize("kind", ["loader", "import", "export"])
def test_a_watch_on_an_old_job_polls_at_its_age(neptune, kind):
    assert _first_wait(neptune, kind, startTime=EPOCH - 5 * 3600) == CAP  # the cap, not the floor
    assert _first_wait(neptune, kind, startTime=EPOCH - 40 * 60) == math.floor(0.05 * (40 * 60 + 30))


@pytest.mark.parametrize("kind", ["loader", "import"])
def test_a_start_time_in_the_future_or_missing_falls_back_to_the_watch_age(neptune, kind):
    assert _first_wait(neptune, kind, startTime=EPOCH + 3600) == FLOOR
    assert _first_wait(neptune, kind, startTime="not a time" if kind == "loader" else EPOCH + 10**6) == FLOOR


@pytest.mark.parametrize(("kind", "start"), [
    ("loader", 0), ("loader", -1), ("loader", 1_400_000_000), ("import", 1_600_000_000),
    ("export", 1_764_000_000_000_000), ("import", 1_764_000_000_000_000), ("loader", EPOCH - 7200.0004),
])  # fmt: skip
def test_an_implausible_start_over_the_wire_paces_as_a_new_job(neptune, kind, start):
    """Through botocore and the emulator: the first wait is the floor, not the cap."""
    assert _first_wait(neptune, kind, startTime=start) == FLOOR


@pytest.mark.parametrize("kind", ["import", "export"])
def test_a_start_in_microseconds_still_reads_the_status(neptune, kind):
    """botocore cannot make a datetime of it; the answer is read all the same, not counted as unreadable."""
    micro = 1_764_000_000_000_000
    neptune.start(jobs=[{"kind": kind, "id": IDS[kind], "timeline": [{"at": 0, "status": RUNNING[kind], "counters": {"startTime": micro}}]}])
    w = new_watch({"request": {"job": {"kind": kind, "id": IDS[kind]}}, "functions": FNS}, execution_id="x", cfg=settings())
    w = poll(w, cfg=settings())
    assert w["last"]["status"] == RUNNING[kind] and not w.get("unknownPolls")
    assert w["jobStartEpoch"] is None or plausible_start(w["jobStartEpoch"], EPOCH, kind) is None


@pytest.mark.runtime
def test_a_late_watch_end_to_end_polls_at_the_jobs_age():
    """Through the deployable definition: a watch started on a loader job that has run 5 h."""
    from neptune_watch.local.runtime import LocalRuntime
    from neptune_watch.runner import report
    from neptune_watch.scenario import load_scenario

    epoch = 1_900_000_000.0
    late = {"at": 0, "status": "LOAD_IN_PROGRESS", "counters": {"startTime": int(epoch) - 5 * 3600}}
    sc = load_scenario({"request": {"job": {"kind": "loader", "id": IDS["loader"]}},
                        "job": {"kind": "loader", "id": IDS["loader"], "timeline": [
                            late, {**late, "at": 1000, "status": "LOAD_COMPLETED"}]}})  # fmt: skip
    with LocalRuntime(jobs=sc.all_jobs(), start_epoch=epoch) as rt:
        arn = rt.start(sc.request)
        r = report(rt, rt.wait(arn, timeout=120), 0.0)
    assert r["execution"]["status"] == "SUCCEEDED" and len(r["sns"]) == 1
    # Polls at 0, 179, 358, ..., 1074: the cap from the first wait on (paced by the watch's own
    # age it would have been 14 s waits for the first 4 minutes: 45 polls to reach 1000 s).
    assert r["outcome"]["polls"] == r["calls"]["GetLoaderJobStatus"] == 7
    assert 1000 <= r["virtualSeconds"] <= 1000 + CAP
