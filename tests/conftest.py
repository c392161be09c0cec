"""Shared fixtures: a Lambda context, and the handlers pointed at a local Neptune emulator."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "neptune-watch")
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "NeptuneWatch")
os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")

from neptune_watch.toolchain import use_packaged_node

use_packaged_node()  # jsii and the npm validators run on the Node 22 LTS make setup installs


@dataclass
class LambdaContext:
    function_name: str = "test-fn"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:test-fn"
    aws_request_id: str = "00000000-0000-0000-0000-000000000000"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


@pytest.fixture
def lambda_context() -> LambdaContext:
    return LambdaContext()


class Neptune:
    """An emulator plus the environment that points the handlers at it."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        from neptune_watch.emulator import NeptuneEmulator

        self.now = 0.0
        self.emulator = NeptuneEmulator(clock=lambda: self.now, timeout_hold_seconds=0.4)
        self.monkeypatch = monkeypatch

    def start(self, jobs: list[dict[str, Any]] = (), faults: list[dict[str, Any]] = ()) -> Neptune:  # type: ignore[assignment]
        from watcher import clients, clock
        from watcher.settings import settings

        from neptune_watch.emulator import NeptuneEmulator
        from neptune_watch.scenario import load_scenario

        sc = load_scenario({"request": {}, "jobs": list(jobs), "faults": list(faults)})
        self.emulator = NeptuneEmulator(
            jobs=sc.all_jobs(), faults=sc.faults, clock=lambda: self.now, timeout_hold_seconds=2.5, epoch=1_800_000_000
        )
        url = self.emulator.start()
        for key, value in {
            "NEPTUNE_ENDPOINT": url,
            "NEPTUNE_GRAPH_ENDPOINT": url,
            "NEPTUNE_READ_TIMEOUT": "2.0",
            "AWS_ACCESS_KEY_ID": "x",
            "AWS_SECRET_ACCESS_KEY": "x",
            "AWS_DEFAULT_REGION": "us-east-1",
        }.items():
            self.monkeypatch.setenv(key, value)
        settings.cache_clear()
        clients.reset()
        clock.use(lambda: 1_800_000_000 + self.now)
        return self

    def stop(self) -> None:
        from watcher import clients, clock
        from watcher.settings import settings

        self.emulator.stop()
        clock.use(None)
        clients.reset()
        settings.cache_clear()

    @property
    def calls(self) -> dict[str, int]:
        return dict(self.emulator.calls)


@pytest.fixture
def neptune(monkeypatch: pytest.MonkeyPatch) -> Iterator[Neptune]:
    n = Neptune(monkeypatch)
    yield n
    n.stop()
