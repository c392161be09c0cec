"""``neptune-watch watch`` as a process: under a pseudo-terminal, through pipes, and on Ctrl-C.

The emulator runs in this process on real time; the CLI runs as a subprocess against it
(``--endpoint-url``) with ``--min-wait 1`` so that a job of a few seconds is watched to its end.
"""

from __future__ import annotations

import os
import pty
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from neptune_watch.emulator import NeptuneEmulator
from neptune_watch.scenario import load_scenario

IMP = "t-ptyimp0001"
LOAD = "pty-load-1"


@pytest.fixture
def url() -> Iterator[str]:
    jobs = load_scenario({"request": {}, "jobs": [
        {"kind": "import", "id": IMP, "timeline": [
            {"at": 0, "status": "IMPORTING", "counters": {"progressPercentage": 20, "timeElapsedSeconds": 30}},
            {"at": 2.5, "status": "SUCCEEDED", "counters": {"progressPercentage": 100}}]},
        {"kind": "loader", "id": LOAD, "timeline": [{"at": 0, "status": "LOAD_IN_PROGRESS"}]},
    ]}).all_jobs()
    with NeptuneEmulator(jobs=jobs) as emulator:
        yield emulator.url


def env(tmp_path: Path) -> dict[str, str]:
    # FORCE_COLOR / TTY_COMPATIBLE would tell rich to draw on a pipe too (as users may want).
    inherited = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "TTY_COMPATIBLE", "NO_COLOR")}
    return {
        **inherited,
        "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x", "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": str(tmp_path / "none"), "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
        "TERM": "xterm-256color", "COLUMNS": "120",
    }


def command(url: str, job: str) -> list[str]:
    return [sys.executable, "-m", "neptune_watch.cli", "watch", job, "--endpoint-url", url, "--min-wait", "1"]


def test_on_a_terminal_the_watch_draws_a_live_bar(url: str, tmp_path: Path) -> None:
    main_fd, child_fd = pty.openpty()
    proc = subprocess.Popen(command(url, f"import:{IMP}"), stdin=child_fd, stdout=child_fd, stderr=child_fd,
                            env=env(tmp_path), close_fds=True)
    os.close(child_fd)
    chunks: list[bytes] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([main_fd], [], [], 0.2)
        if ready:
            try:
                data = os.read(main_fd, 4096)
            except OSError:  # the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
        elif proc.poll() is not None:
            break
    os.close(main_fd)
    assert proc.wait(timeout=10) == 0
    screen = b"".join(chunks).decode("utf-8", "replace")
    assert "━" in screen and "\x1b[" in screen  # rich's bar, redrawn in place
    assert "20%" in screen and f"import:{IMP}  SUCCEEDED" in screen


def test_through_pipes_the_watch_prints_plain_lines(url: str, tmp_path: Path) -> None:
    proc = subprocess.run(command(url, f"import:{IMP}"), capture_output=True, text=True, env=env(tmp_path),
                          timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) >= 2 and all(f"import:{IMP} " in line for line in lines)
    assert f"import:{IMP} IMPORTING 20%;" in lines[0] and "SUCCEEDED 100%" in lines[-1]
    assert "\x1b[" not in proc.stderr and "━" not in proc.stderr
    assert proc.stdout.startswith(f"import:{IMP}  SUCCEEDED  (status SUCCEEDED)")


def test_ctrl_c_ends_the_process_cleanly_with_130(url: str, tmp_path: Path) -> None:
    proc = subprocess.Popen(command(url, f"loader:{LOAD}"), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env(tmp_path))
    assert proc.stderr is not None
    first = proc.stderr.readline()  # the first poll's line: it is watching
    assert f"loader:{LOAD} LOAD_IN_PROGRESS" in first
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130 and out == ""
    assert err.strip().splitlines()[-1].startswith("neptune-watch: interrupted after ")
    assert "keeps running" in err and "Traceback" not in err
