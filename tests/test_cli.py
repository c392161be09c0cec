"""The neptune-watch command, as a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.runtime
EXE = [sys.executable, "-m", "neptune_watch.cli"]


def run(*args: str, timeout: float = 120, tmp: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TMPDIR": str(tmp)} if tmp else None  # default log files land in tmp
    return subprocess.run([*EXE, *args], capture_output=True, text=True, timeout=timeout, check=False, env=env)


def assert_quiet(*texts: str) -> None:
    """No EMF metric JSON and no Python warning in what the user sees (or in the log)."""
    for text in texts:
        assert '"_aws"' not in text and "CloudWatchMetrics" not in text
        assert "Warning" not in text and "warnings.warn" not in text


def test_run_scenario_prints_exactly_one_json_object(tmp_path: Path):
    scenario = {
        "request": {"job": {"kind": "loader", "id": "cli-load-1"}, "correlationId": "cli"},
        "job": {"kind": "loader", "id": "cli-load-1", "timeline": [{"at": 0, "status": "LOAD_IN_QUEUE"}, {"at": 900, "status": "LOAD_COMPLETED"}]},
    }
    path = tmp_path / "s.json"
    path.write_text(json.dumps(scenario))
    log = tmp_path / "handlers.log"
    proc = run("run-scenario", str(path), "--log-file", str(log), tmp=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""  # quiet: the handlers' output went to the log file
    assert_quiet(proc.stdout, log.read_text())
    report = json.loads(proc.stdout)  # the whole of stdout is one JSON object
    assert report["execution"]["status"] == "SUCCEEDED"
    assert report["outcome"]["outcome"] == "SUCCEEDED" and report["outcome"]["correlationId"] == "cli"
    assert len(report["sns"]) == 1 and len(report["events"]) == 1
    assert report["virtualSeconds"] >= 900 and report["calls"]["GetLoaderJobStatus"] == report["outcome"]["polls"]


@pytest.mark.parametrize(
    ("content", "needle"),
    [("{not json", "not valid JSON"), ('{"request": {}, "bogus": 1}', "bogus"), ('{"request": {}, "faults": [{"operation": "Nope", "calls": [1], "error": "X"}]}', "operation")],
)
def test_bad_scenarios_exit_2_with_one_clear_line(tmp_path: Path, content: str, needle: str):
    path = tmp_path / "bad.json"
    path.write_text(content)
    proc = run("run-scenario", str(path), timeout=60)
    assert proc.returncode == 2
    assert needle in proc.stderr and "Traceback" not in proc.stderr and proc.stdout == ""


def test_missing_file_exits_2():
    proc = run("run-scenario", "/nonexistent/scenario.json", timeout=60)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr


def test_demo_runs_four_watches_to_their_outcomes(tmp_path: Path):
    proc = run("demo", "--no-live", timeout=180, tmp=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stderr == ""
    # the default log file is a temporary one, removed again when nothing was written to it
    logs = list(tmp_path.glob("neptune-watch-*.log"))
    assert all(log.stat().st_size > 0 for log in logs)
    assert_quiet(proc.stdout, *(log.read_text() for log in logs))
    for text in ("Neptune Job Succeeded", "Neptune Job Failed", "Neptune Job Timed Out", "4 SNS messages, 4 events"):
        assert text in proc.stdout


def test_verbose_shows_the_handlers_logs_and_names_the_log_file(tmp_path: Path):
    scenario = {
        "request": {"job": {"kind": "import", "id": "t-verbose001"}},
        "job": {"kind": "import", "id": "t-verbose001", "timeline": [{"at": 0, "status": "IMPORTING"}, {"at": 100, "status": "FAILED"}]},
    }
    path = tmp_path / "s.json"
    path.write_text(json.dumps(scenario))
    proc = run("run-scenario", str(path), "--verbose", tmp=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["outcome"]["outcome"] == "FAILED"
    *logs, last = proc.stderr.strip().splitlines()
    assert last.startswith("neptune-watch: the handlers' logs and metrics are in ")
    log_file = Path(last.rsplit(" ", 1)[1])
    assert log_file.parent == tmp_path and log_file.read_text().strip().splitlines() == logs
    messages = [json.loads(line)["message"] for line in logs]  # Powertools' JSON log lines, at INFO
    assert "watch prepared" in messages and "polled" in messages and "outcome" in messages
    assert_quiet(proc.stderr)
