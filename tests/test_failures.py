"""What happens when our own code fails: a crashing handler, a crashing engine."""

from __future__ import annotations

import pytest

from neptune_watch import cli
from neptune_watch.runner import run_scenario
from neptune_watch.scenario import load_scenario

pytestmark = pytest.mark.runtime

SCENARIO = {
    "request": {"job": {"kind": "loader", "id": "crash-1"}, "correlationId": "crash"},
    "job": {"kind": "loader", "id": "crash-1", "timeline": [{"at": 0, "status": "LOAD_IN_PROGRESS"}]},
}


def test_a_crashing_handler_ends_the_watch_with_one_error_outcome(monkeypatch):
    import watcher.handlers._status as status

    def broken(watch, *, cfg):
        raise ZeroDivisionError("a bug in the poll step")

    monkeypatch.setattr(status, "poll", broken)
    report = run_scenario(load_scenario(SCENARIO))
    assert report["execution"]["status"] == "FAILED" and report["execution"]["error"] == "NeptuneWatch.ERROR"
    outcome = report["outcome"]
    assert outcome["outcome"] == "ERROR" and "ZeroDivisionError" in outcome["statusReason"]
    assert outcome["correlationId"] == "crash"
    assert len(report["sns"]) == 1 and len(report["events"]) == 1
    assert report["calls"] == {}  # it crashed before calling Neptune, and was not retried


def test_a_crashing_finalize_still_publishes_a_minimal_error_outcome(monkeypatch):
    import watcher.handlers.finalize as finalize

    def broken(event):
        raise KeyError("outcome")

    monkeypatch.setattr(finalize, "finalize", broken)
    report = run_scenario(load_scenario({**SCENARIO, "job": {**SCENARIO["job"], "timeline": [{"at": 0, "status": "LOAD_COMPLETED"}]}}))
    assert report["execution"]["error"] == "NeptuneWatch.ERROR"
    assert len(report["sns"]) == 1 and report["sns"][0]["message"]["outcome"] == "ERROR"
    assert report["sns"][0]["attributes"]["outcome"] == "ERROR"


def test_an_engine_failure_is_one_line_and_exit_1(monkeypatch, tmp_path, capsys):
    import neptune_watch.runner as runner

    def explode(*a, **kw):
        raise OSError("no more file descriptors")

    monkeypatch.setattr(runner, "run_scenario", explode)
    path = tmp_path / "s.json"
    path.write_text('{"request": {}}')
    assert cli.main(["run-scenario", str(path)]) == 1
    err = capsys.readouterr().err
    assert "no more file descriptors" in err and "Traceback" not in err
