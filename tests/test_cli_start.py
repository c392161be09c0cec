"""``neptune-watch load`` and ``start-watch`` with a start request (docs/CONTRACT.md section 4).

``load`` runs in-process against the Neptune emulator over HTTP (real botocore clients, the
emulator's virtual clock advanced by the CLI's sleeps); ``start-watch --load`` against moto's
Step Functions running the real definition (the local runtime).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from test_cli_aws import World, one_line_error
from test_cli_start_watch import cli as sfn_cli

from neptune_watch.local.runtime import LocalRuntime
from neptune_watch.scenario import load_scenario

ROLE = "arn:aws:iam::123456789012:role/NeptuneLoadFromS3"
SOURCE = "s3://example-bucket/nightly/"
LOAD_ARGS = ("load", SOURCE, "--format", "csv", "--iam-role-arn", ROLE, "--parallelism", "HIGH", "--queue-request")


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> Iterator[World]:
    w = World(monkeypatch, tmp_path)
    yield w
    w.stop()


def started(*statuses: tuple[float, str]) -> dict[str, Any]:
    return {"kind": "loader", "start": True, "timeline": [{"at": at, "status": s} for at, s in statuses]}


def test_load_starts_one_load_and_prints_its_id(world: World) -> None:
    world.start(started((0, "LOAD_IN_QUEUE")))
    code, out, err = world.cli(*LOAD_ARGS)
    assert code == 0, err
    (job,) = world.emulator.started_jobs()
    assert out.strip() == job["id"]
    assert job["params"] == {"source": SOURCE, "format": "csv", "iamRoleArn": ROLE, "s3BucketRegion": "us-east-1",
                             "parallelism": "HIGH", "queueRequest": True}  # region from AWS_DEFAULT_REGION
    assert world.calls == {"StartLoaderJob": 1}


@pytest.mark.parametrize(("last", "outcome", "code"), [("LOAD_COMPLETED", "SUCCEEDED", 0), ("LOAD_FAILED", "FAILED", 3)])
def test_load_watch_follows_the_load_to_its_outcome(world: World, last: str, outcome: str, code: int) -> None:
    world.start(started((0, "LOAD_IN_PROGRESS"), (3600, last)))
    got, out, err = world.cli(*LOAD_ARGS, "--watch", "--json")
    assert got == code, err
    result = json.loads(out)
    (job,) = world.emulator.started_jobs()
    assert result["outcome"] == outcome and result["job"] == {"kind": "loader", "id": job["id"]}
    assert result["started"] == {"at": "2027-01-15T08:00:00Z"}
    assert f"started loader:{job['id']}" in err
    assert world.calls["StartLoaderJob"] == 1 and world.calls["GetLoaderJobStatus"] == result["polls"]
    assert world.now >= 3600  # the CLI's sleeps are the poll policy's waits, on the virtual clock


def test_load_retries_an_unanswered_start_without_starting_twice(world: World) -> None:
    world.start(started((0, "LOAD_IN_PROGRESS"), (60, "LOAD_COMPLETED")),
                faults=[{"operation": "StartLoaderJob", "calls": [1], "error": "Timeout"}])
    world.emulator.timeout_hold_seconds = 0.2
    code, out, err = world.cli(*LOAD_ARGS, "--watch", "--json")
    assert code == 0, err
    assert len(world.emulator.started_jobs()) == 1 and world.calls["StartLoaderJob"] == 1
    assert json.loads(out)["started"]["recovered"] is True
    assert "retrying" in err


def test_a_refused_load_exits_failed_with_the_loaders_error(world: World) -> None:
    world.start(faults=[{"operation": "StartLoaderJob", "calls": [1], "error": "LoadUrlAccessDeniedException"}])
    code, _, err = world.cli(*LOAD_ARGS)
    assert code == 3
    assert "LoadUrlAccessDeniedException" in one_line_error(err)
    assert world.emulator.started_jobs() == [] and world.calls == {"StartLoaderJob": 1}


@pytest.mark.parametrize(
    ("args", "needle"),
    [(("load", SOURCE, "--format", "xml", "--iam-role-arn", ROLE), "start.format"),
     (("load", "https://x/y", "--format", "csv", "--iam-role-arn", ROLE), "start.source"),
     (("load", SOURCE, "--format", "csv"), "start.iamRoleArn: required"),
     (("load", SOURCE, "--format", "csv", "--iam-role-arn", ROLE, "--parser-configuration", "{x"), "not valid JSON")],
)
def test_a_bad_load_exits_2_and_sends_nothing(world: World, args: tuple[str, ...], needle: str) -> None:
    world.start()
    code, out, err = world.cli(*args)
    assert code == 2 and out == ""
    assert needle in one_line_error(err)
    assert world.calls == {}


# --- start-watch with a start request, on the local runtime -----------------------------------


@pytest.fixture
def rt() -> Iterator[LocalRuntime]:
    jobs = load_scenario({"request": {}, "jobs": [started((0, "LOAD_IN_PROGRESS"), (1200, "LOAD_COMPLETED"))]}).all_jobs()
    with LocalRuntime(jobs=jobs) as runtime:
        yield runtime


def test_start_watch_sends_a_start_request_and_follows_it(rt: LocalRuntime) -> None:
    code, out, err = sfn_cli("start-watch", "--state-machine", rt.state_machine_arn, "--load", SOURCE, "--format", "csv",
                             "--iam-role-arn", ROLE, "--s3-bucket-region", "eu-west-1", "--timeout", "7200",
                             "--follow", "--json", "--interval", "1")
    assert code == 0, err
    arn = out.splitlines()[0]
    outcome = json.loads("\n".join(out.splitlines()[2:]))
    desc = rt.client("stepfunctions").describe_execution(executionArn=arn)
    assert json.loads(desc["input"]) == {"start": {"kind": "loader", "source": SOURCE, "format": "csv", "iamRoleArn": ROLE,
                                                   "s3BucketRegion": "eu-west-1"}, "timeoutSeconds": 7200}
    (job,) = rt.emulator.started_jobs()
    assert outcome["outcome"] == "SUCCEEDED" and outcome["job"]["id"] == job["id"] and "at" in outcome["started"]


@pytest.mark.parametrize(
    ("args", "needle"),
    [(("--load", SOURCE, "--graph-id", "g-0123456789"), "--graph-id does not apply to a loader start"),
     (("loader:abc", "--load", SOURCE), "either a job"),
     ((), "either a job"),
     (("--import-source", "s3://b/g/", "--graph-id", "g-0123456789"), "start.roleArn: required"),
     (("--export-destination", "s3://b/x/", "--load", SOURCE), "one of --load"),
     (("loader:abc", "--format", "csv"), "only with --load")],
)
def test_start_watch_refuses_bad_start_requests_before_starting_anything(rt: LocalRuntime, args: tuple[str, ...], needle: str) -> None:
    code, out, err = sfn_cli("start-watch", "--state-machine", rt.state_machine_arn, *args)
    assert code == 2 and out == "", err
    assert needle in err
    assert rt.executions() == []
