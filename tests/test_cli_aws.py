"""``neptune-watch status | watch | cancel`` against the Neptune emulator over HTTP.

The CLI runs in-process with real botocore clients pointed at the emulator (``--endpoint-url``);
its sleep advances the emulator's virtual clock, so an hours-long watch takes milliseconds.
"""

from __future__ import annotations

import io as stdio
import json
from collections.abc import Iterator
from typing import Any

import pytest

from neptune_watch.cli import build_parser, main
from neptune_watch.cli.common import THROTTLED, TRANSIENT, Io, cluster_url
from neptune_watch.emulator import NeptuneEmulator
from neptune_watch.scenario import load_scenario

EPOCH = 1_800_000_000.0
LOAD = "cli-load-0001"
IMP = "t-cliimp0001"
EXP = "t-cliexp0001"


class World:
    """An emulator on a virtual clock, and the CLI run against it."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []
        self.interrupt_after: int | None = None
        self.emulator: NeptuneEmulator | None = None
        for key, value in {
            "AWS_ACCESS_KEY_ID": "x",
            "AWS_SECRET_ACCESS_KEY": "x",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_CONFIG_FILE": str(tmp_path / "no-config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-credentials"),
        }.items():
            monkeypatch.setenv(key, value)
        for key in ("AWS_PROFILE", "AWS_REGION", "AWS_SESSION_TOKEN", "NEPTUNE_ENDPOINT"):
            monkeypatch.delenv(key, raising=False)

    def start(self, *jobs: dict[str, Any], faults: list[dict[str, Any]] = ()) -> str:  # type: ignore[assignment]
        from watcher import clock

        scenario = load_scenario({"request": {}, "jobs": list(jobs), "faults": list(faults)})
        self.emulator = NeptuneEmulator(
            jobs=scenario.all_jobs(), faults=scenario.faults, clock=lambda: self.now, epoch=EPOCH
        )
        clock.use(lambda: EPOCH + self.now)
        return self.emulator.start()

    def sleep(self, seconds: float) -> None:
        if self.interrupt_after is not None and len(self.sleeps) >= self.interrupt_after:
            raise KeyboardInterrupt
        self.sleeps.append(seconds)
        self.now += seconds

    def cli(self, *argv: str, tty: bool = False, url: bool = True) -> tuple[int, str, str]:
        out, err = stdio.StringIO(), stdio.StringIO()
        extra = ["--endpoint-url", self.emulator.url] if url and self.emulator else []
        code = main([*argv, *extra], Io(stdout=out, stderr=err, sleep=self.sleep, force_terminal=tty))
        return code, out.getvalue(), err.getvalue()

    @property
    def calls(self) -> dict[str, int]:
        return dict(self.emulator.calls) if self.emulator else {}

    def stop(self) -> None:
        from watcher import clients, clock

        if self.emulator:
            self.emulator.stop()
        clock.use(None)
        clients.reset()


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> Iterator[World]:
    w = World(monkeypatch, tmp_path)
    yield w
    w.stop()


def loader(*timeline: tuple[float, str], **entry: Any) -> dict[str, Any]:
    return {"kind": "loader", "id": LOAD, "timeline": [{"at": at, "status": s, **entry} for at, s in timeline]}


def one_line_error(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("neptune-watch: "), err
    assert "Traceback" not in err
    return lines[0]


# --- status ---------------------------------------------------------------------------------


def test_status_of_a_running_load_is_one_call_with_a_summary(world: World) -> None:
    errors = [{"code": "PARSING_ERROR", "message": f"bad row {i}", "file": "s3://b/v.csv", "record": i} for i in range(8)]
    world.start(
        {"kind": "loader", "id": LOAD, "timeline": [
            {"at": 0, "status": "LOAD_IN_PROGRESS", "counters": {"totalRecords": 125000, "parsingErrors": 8}, "errors": errors},
        ]}
    )
    code, out, err = world.cli("status", f"loader:{LOAD}")
    assert code == 0 and err == ""
    assert out.splitlines()[0] == f"loader:{LOAD}  LOAD_IN_PROGRESS  (running)"
    assert "totalRecords=125,000" in out and "parsingErrors=8" in out
    assert "errors     the first 5" in out and "PARSING_ERROR at s3://b/v.csv record 0: bad row 0" in out
    assert "bad row 5" not in out  # --errors defaults to 5
    assert world.calls == {"GetLoaderJobStatus": 1}
    query = world.emulator.requests[0].query
    assert query["details"] == "true" and query["errors"] == "true" and query["errorsPerPage"] == "5"


def test_status_json_is_the_services_answer(world: World) -> None:
    world.start({"kind": "import", "id": IMP, "timeline": [
        {"at": 0, "status": "IMPORTING", "counters": {"progressPercentage": 40, "timeElapsedSeconds": 600}}]})
    code, out, _ = world.cli("status", f"import:{IMP}", "--json")
    raw = json.loads(out)
    assert code == 0 and raw["taskId"] == IMP and raw["status"] == "IMPORTING"
    assert raw["importTaskDetails"]["progressPercentage"] == 40
    code, out, _ = world.cli("status", f"import:{IMP}")
    assert "progress   40%" in out and "graph" in out


@pytest.mark.parametrize(
    ("spec", "needle"),
    [("nothing", "write loader:<loadId>"), ("import:t-BAD", "t-[a-z0-9]{10}"), ("loader:", "non-empty"),
     ("export:t-abc", "t-[a-z0-9]{10}"), ("loader:has space", "loadId")],
)
def test_a_bad_job_spec_is_one_line_exit_2_and_no_call(world: World, spec: str, needle: str) -> None:
    world.start()
    code, out, err = world.cli("status", spec)
    assert code == 2 and out == "" and needle in one_line_error(err)
    assert world.calls == {}


def test_an_unknown_id_is_not_found_exit_6_sent_once(world: World) -> None:
    world.start()
    code, _, err = world.cli("status", f"loader:{LOAD}")
    assert code == 6 and "not found" in one_line_error(err)
    assert world.calls == {"GetLoaderJobStatus": 1}  # a 404 is never retried
    code, _, err = world.cli("cancel", f"export:{EXP}")
    assert code == 6 and "not found" in one_line_error(err)


def test_access_denied_is_exit_1_not_retried(world: World) -> None:
    world.start({"kind": "export", "id": EXP, "timeline": [{"at": 0, "status": "EXPORTING"}]},
                faults=[{"operation": "GetExportTask", "calls": [1], "error": "AccessDeniedException"}])
    code, _, err = world.cli("status", f"export:{EXP}")
    assert code == 1 and "access denied" in one_line_error(err)
    assert world.calls == {"GetExportTask": 1} and world.sleeps == []


def test_throttling_is_retried_with_backoff_then_answers(world: World) -> None:
    world.start({"kind": "export", "id": EXP, "timeline": [{"at": 0, "status": "EXPORTING"}]},
                faults=[{"operation": "GetExportTask", "calls": [1, 2, 3], "error": "ThrottlingException"}])
    code, out, err = world.cli("status", f"export:{EXP}")
    assert code == 0 and "EXPORTING" in out
    assert err.count("neptune-watch: ThrottlingException: retrying in ") == 3
    assert world.calls == {"GetExportTask": 4}
    # full jitter under the state machine's bounds: 2 s, 4 s, 8 s
    assert len(world.sleeps) == 3 and all(0 <= s < 2 * 2**i for i, s in enumerate(world.sleeps))


def test_server_errors_give_up_after_the_bounded_retries(world: World) -> None:
    world.start({"kind": "loader", "id": LOAD, "timeline": [{"at": 0, "status": "LOAD_IN_PROGRESS"}]},
                faults=[{"operation": "GetLoaderJobStatus", "calls": list(range(1, 20)), "error": "InternalFailureException"}])
    code, _, err = world.cli("status", f"loader:{LOAD}")
    *notes, last = err.splitlines()
    assert code == 1 and "InternalFailureException" in one_line_error(last)
    assert len(notes) == TRANSIENT.max_attempts and all("retrying in" in n for n in notes)
    assert world.calls == {"GetLoaderJobStatus": 1 + TRANSIENT.max_attempts}


def test_loader_jobs_need_an_endpoint_and_accept_a_plain_host(world: World) -> None:
    url = world.start(loader((0, "LOAD_IN_QUEUE")))
    code, _, err = world.cli("status", f"loader:{LOAD}", url=False)
    assert code == 2 and "--endpoint" in one_line_error(err)
    code, out, _ = world.cli("status", f"loader:{LOAD}", "--endpoint", url, url=False)
    assert code == 0 and "LOAD_IN_QUEUE" in out
    assert cluster_url("db.cluster-abc.us-east-1.neptune.amazonaws.com") == (
        "https://db.cluster-abc.us-east-1.neptune.amazonaws.com:8182"
    )
    assert cluster_url("https://host:9000/") == "https://host:9000"


def test_no_region_no_credentials_unknown_profile(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    world.start()
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    code, _, err = world.cli("status", f"import:{IMP}")
    assert code == 1 and "no AWS region" in one_line_error(err)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    code, _, err = world.cli("status", f"import:{IMP}")
    assert code == 1 and "no AWS credentials" in one_line_error(err)
    code, _, err = world.cli("status", f"import:{IMP}", "--profile", "nope")
    assert code == 1 and "'nope'" in one_line_error(err)
    assert world.calls == {}


# --- watch ----------------------------------------------------------------------------------


def test_watch_follows_a_load_to_success_with_the_poll_policy(world: World) -> None:
    from watcher.policy import PollPolicy

    world.start(loader((0, "LOAD_IN_QUEUE"), (600, "LOAD_IN_PROGRESS"), (3000, "LOAD_COMPLETED")))
    code, out, err = world.cli("watch", f"loader:{LOAD}")
    assert code == 0
    assert out.splitlines()[0].startswith(f"loader:{LOAD}  SUCCEEDED  (status LOAD_COMPLETED)  after ")
    polls = world.calls["GetLoaderJobStatus"]
    assert f"after {polls} polls" in out
    # The waits are the state machine's: PollPolicy over the time watched so far.
    policy, elapsed = PollPolicy(), 0.0
    for wait in world.sleeps:
        assert wait == policy.next_wait(elapsed)
        elapsed += wait
    assert len(world.sleeps) == polls - 1 and world.sleeps[0] == PollPolicy().min_wait
    # not a terminal: one plain line per poll on stderr, no bar
    assert len([line for line in err.splitlines() if f"loader:{LOAD} LOAD_" in line]) == polls
    assert "━" not in err and "\x1b[" not in err


@pytest.mark.parametrize(
    ("job", "args", "outcome", "code"),
    [
        (loader((0, "LOAD_IN_PROGRESS"), (100, "LOAD_FAILED")), [], "FAILED", 3),
        ({"kind": "import", "id": IMP, "timeline": [{"at": 0, "status": "IMPORTING"}, {"at": 50, "status": "CANCELLED"}]}, [], "CANCELLED", 4),
        ({"kind": "export", "id": EXP, "timeline": [{"at": 0, "status": "EXPORTING"}]}, ["--timeout", "120"], "TIMED_OUT", 5),
        (loader((0, "LOAD_IN_PROGRESS")), ["--timeout", "60", "--cancel-on-timeout"], "TIMED_OUT", 5),
    ],
)
def test_watch_exit_code_by_outcome(world: World, job: dict[str, Any], args: list[str], outcome: str, code: int) -> None:
    world.start(job)
    spec = f"{job['kind']}:{job['id']}"
    got, out, err = world.cli("watch", spec, "--json", *args)
    result = json.loads(out)
    assert got == code and result["outcome"] == outcome
    assert {"schemaVersion", "job", "status", "counters", "polls", "startedAt", "endedAt"} <= set(result)
    if "--cancel-on-timeout" in args:
        assert world.calls["CancelLoaderJob"] == 1
        assert result["status"] == "LOAD_CANCELLED_BY_USER" and result["cancellation"]["confirmed"] is True
        assert "cancelling" in err


def test_watch_of_an_unknown_job_is_not_found_exit_6(world: World) -> None:
    world.start()
    code, out, err = world.cli("watch", f"import:{IMP}")
    assert code == 6 and f"import:{IMP}  NOT_FOUND" in out
    assert "poll 1" in err.splitlines()[0]  # the progress line, then the error
    assert "not found" in one_line_error(err.splitlines()[-1]).lower()
    assert world.calls == {"GetImportTask": 1}


def test_watch_of_a_failed_load_shows_its_errors(world: World) -> None:
    errors = [{"code": "PARSING_ERROR", "message": "Expected 4 columns", "file": "s3://b/e.csv", "record": 17}]
    world.start({"kind": "loader", "id": LOAD, "timeline": [
        {"at": 0, "status": "LOAD_FAILED", "counters": {"parsingErrors": 1}, "errors": errors}]})
    code, out, _ = world.cli("watch", f"loader:{LOAD}")
    assert code == 3 and "PARSING_ERROR at s3://b/e.csv record 17: Expected 4 columns" in out


def test_watch_access_denied_is_an_error_outcome_exit_1(world: World) -> None:
    world.start(loader((0, "LOAD_IN_PROGRESS")),
                faults=[{"operation": "GetLoaderJobStatus", "calls": [2], "error": "AccessDeniedException"}])
    code, out, err = world.cli("watch", f"loader:{LOAD}", "--json")
    outcome = json.loads(out)
    assert code == 1 and outcome["outcome"] == "ERROR" and "NeptuneAccessDenied" in outcome["statusReason"]
    assert outcome["status"] == "LOAD_IN_PROGRESS"  # the last status it read
    assert "NeptuneAccessDenied" in one_line_error(err.splitlines()[-1])


def test_watch_on_a_terminal_draws_a_progress_bar(world: World) -> None:
    world.start({"kind": "import", "id": IMP, "timeline": [
        {"at": 0, "status": "IMPORTING", "counters": {"progressPercentage": 10, "timeElapsedSeconds": 60}},
        {"at": 200, "status": "IMPORTING", "counters": {"progressPercentage": 60, "timeElapsedSeconds": 260}},
        {"at": 400, "status": "SUCCEEDED", "counters": {"progressPercentage": 100}}]})
    code, out, err = world.cli("watch", f"import:{IMP}", tty=True)
    assert code == 0 and "SUCCEEDED" in out
    assert "━" in err and "\x1b[" in err  # rich's bar, drawn with terminal control codes
    assert "100%" in err


def test_ctrl_c_stops_cleanly_and_says_the_job_keeps_running(world: World) -> None:
    world.start(loader((0, "LOAD_IN_PROGRESS")))
    world.interrupt_after = 2
    code, out, err = world.cli("watch", f"loader:{LOAD}")
    assert code == 130 and out == ""
    line = err.strip().splitlines()[-1]
    assert line.startswith("neptune-watch: interrupted after 3 polls") and "keeps running" in line
    assert "Traceback" not in err


# --- cancel ---------------------------------------------------------------------------------


def test_cancel_a_running_load_then_status_shows_it(world: World) -> None:
    world.start(loader((0, "LOAD_IN_PROGRESS")))
    code, out, _ = world.cli("cancel", f"loader:{LOAD}")
    assert code == 0 and "cancel requested" in out
    code, out, _ = world.cli("status", f"loader:{LOAD}")
    assert "LOAD_CANCELLED_BY_USER  (ended: CANCELLED)" in out


def test_cancel_an_ended_task_is_refused_exit_1(world: World) -> None:
    world.start({"kind": "import", "id": IMP, "timeline": [{"at": 0, "status": "SUCCEEDED"}]})
    code, _, err = world.cli("cancel", f"import:{IMP}")
    assert code == 1 and "ConflictException" in one_line_error(err)
    assert world.calls == {"CancelImportTask": 1}


# --- the parser -----------------------------------------------------------------------------


def test_every_argument_has_help_and_version_prints(capsys: pytest.CaptureFixture[str]) -> None:
    import argparse

    parser = build_parser()
    subs = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    assert {"status", "watch", "cancel", "start-watch", "run-scenario", "demo", "emulator"} <= set(subs.choices)
    for name, sub in subs.choices.items():
        for action in sub._actions:
            assert action.help, f"{name} {action.dest} has no help"
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0 and capsys.readouterr().out.startswith("neptune-watch 0.")
    assert "6 NOT_FOUND" in parser.format_help() and "5 TIMED_OUT" in subs.choices["watch"].format_help()


def test_retries_are_the_state_machines(tmp_path: Any) -> None:
    """The CLI's backoff is the Retry of the status tasks in the definition."""
    from neptune_watch import resources

    definition = json.loads(resources.definition_path().read_text())
    rules = {}
    for state in definition["States"].values():
        for retry in state.get("Retry", []):
            for name in retry["ErrorEquals"]:
                rules.setdefault(name, retry)
    for name, backoff in (("NeptuneThrottled", THROTTLED), ("NeptuneServerError", TRANSIENT), ("NeptuneTimeout", TRANSIENT)):
        rule = rules[name]
        assert (rule["IntervalSeconds"], rule["MaxAttempts"], rule["BackoffRate"], rule.get("MaxDelaySeconds")) == (
            backoff.interval, backoff.max_attempts, backoff.rate, backoff.max_delay
        )
        assert rule.get("JitterStrategy") == "FULL"
