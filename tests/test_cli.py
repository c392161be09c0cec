"""The neptune-watch command, as a user runs it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.runtime
EXE = [sys.executable, "-m", "neptune_watch.cli"]


def run(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*EXE, *args], capture_output=True, text=True, timeout=timeout, check=False)


def test_run_scenario_prints_exactly_one_json_object(tmp_path: Path):
    scenario = {
        "request": {"job": {"kind": "loader", "id": "cli-load-1"}, "correlationId": "cli"},
        "job": {"kind": "loader", "id": "cli-load-1", "timeline": [{"at": 0, "status": "LOAD_IN_QUEUE"}, {"at": 900, "status": "LOAD_COMPLETED"}]},
    }
    path = tmp_path / "s.json"
    path.write_text(json.dumps(scenario))
    proc = run("run-scenario", str(path))
    assert proc.returncode == 0, proc.stderr
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


def test_demo_runs_four_watches_to_their_outcomes():
    proc = run("demo", "--no-live", timeout=180)
    assert proc.returncode == 0, proc.stderr[-2000:]
    for text in ("Neptune Job Succeeded", "Neptune Job Failed", "Neptune Job Timed Out", "4 SNS messages, 4 events"):
        assert text in proc.stdout
