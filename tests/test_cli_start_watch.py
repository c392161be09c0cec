"""``neptune-watch start-watch`` against moto's Step Functions running the real definition.

The local runtime (moto in-process, the real handlers, the emulator, virtual time) plays the
deployed state machine; the CLI runs in-process, so moto's mock serves its boto3 calls.
"""

from __future__ import annotations

import io as stdio
import json
import time
from collections.abc import Iterator

import pytest

from neptune_watch.cli import main
from neptune_watch.cli.common import Io
from neptune_watch.cli.start_watch import console_link
from neptune_watch.local.runtime import LocalRuntime
from neptune_watch.scenario import load_scenario

pytestmark = pytest.mark.runtime
LOAD_OK, LOAD_BAD = "sw-load-ok", "sw-load-bad"


@pytest.fixture
def rt() -> Iterator[LocalRuntime]:
    jobs = load_scenario({"request": {}, "jobs": [
        {"kind": "loader", "id": LOAD_OK, "timeline": [{"at": 0, "status": "LOAD_IN_PROGRESS"}, {"at": 1800, "status": "LOAD_COMPLETED"}]},
        {"kind": "loader", "id": LOAD_BAD, "timeline": [{"at": 0, "status": "LOAD_IN_PROGRESS"}, {"at": 600, "status": "LOAD_FAILED"}]},
    ]}).all_jobs()
    with LocalRuntime(jobs=jobs) as runtime:
        yield runtime


def cli(*argv: str, tty: bool = False) -> tuple[int, str, str]:
    out, err = stdio.StringIO(), stdio.StringIO()
    code = main(list(argv), Io(stdout=out, stderr=err, sleep=lambda s: time.sleep(0.05), force_terminal=tty))
    return code, out.getvalue(), err.getvalue()


def test_start_watch_prints_the_execution_and_its_console_link(rt: LocalRuntime) -> None:
    code, out, err = cli("start-watch", "--state-machine", rt.state_machine_arn, f"loader:{LOAD_OK}",
                         "--correlation-id", "nightly", "--context", '{"run": 7}', "--timeout", "7200", "--name", "by-cli")
    assert code == 0, err
    arn, link = out.splitlines()
    assert arn.startswith("arn:aws:states:us-east-1:") and arn.endswith(":by-cli")
    assert link == console_link(arn) and link.startswith("https://us-east-1.console.aws.amazon.com/states/home?region=us-east-1#/v2/executions/details/arn:aws:states:")
    desc = rt.client("stepfunctions").describe_execution(executionArn=arn)
    assert json.loads(desc["input"]) == {"job": {"kind": "loader", "id": LOAD_OK}, "timeoutSeconds": 7200,
                                         "correlationId": "nightly", "context": {"run": 7}}


@pytest.mark.parametrize(
    ("job", "outcome", "status", "code"), [(LOAD_OK, "SUCCEEDED", "LOAD_COMPLETED", 0), (LOAD_BAD, "FAILED", "LOAD_FAILED", 3)]
)
def test_follow_shows_progress_and_exits_by_outcome(rt: LocalRuntime, job: str, outcome: str, status: str, code: int) -> None:
    got, out, err = cli("start-watch", "--state-machine", rt.state_machine_arn, f"loader:{job}", "--follow", "--json", "--interval", "1")
    lines = out.splitlines()
    assert lines[0].startswith("arn:aws:states:") and lines[1].startswith("https://")
    result = json.loads("\n".join(lines[2:]))
    assert got == code and result["outcome"] == outcome and result["job"]["id"] == job
    # progress read from the execution history: the watch state of the last poll
    last = err.splitlines()[-1]
    assert f"loader:{job} {status};" in last and last.endswith(f"; poll {result['polls']}")


def test_follow_on_a_terminal_draws_the_bar(rt: LocalRuntime) -> None:
    code, out, err = cli("start-watch", "--state-machine", rt.state_machine_arn, f"loader:{LOAD_OK}", "--follow", tty=True)
    assert code == 0 and f"loader:{LOAD_OK}  SUCCEEDED" in out
    assert "━" in err and "\x1b[" in err


@pytest.mark.parametrize(
    ("args", "code", "needle"),
    [(["--context", "{nope"], 2, "--context is not valid JSON"),
     (["--context", json.dumps({"x": "y" * 9000})], 2, "8192"),
     (["--correlation-id", ""], 2, "correlationId")],
)
def test_bad_requests_start_nothing(rt: LocalRuntime, args: list[str], code: int, needle: str) -> None:
    got, out, err = cli("start-watch", "--state-machine", rt.state_machine_arn, f"loader:{LOAD_OK}", *args)
    assert got == code and out == "" and needle in err and err.count("\n") == 1
    assert rt.executions() == []


def test_an_unknown_state_machine_is_not_found(rt: LocalRuntime) -> None:
    arn = rt.state_machine_arn.replace("neptune-watch", "no-such-machine")
    code, out, err = cli("start-watch", "--state-machine", arn, f"loader:{LOAD_OK}")
    assert code == 6 and out == "" and err.startswith("neptune-watch: not found") and err.count("\n") == 1


def test_console_links_by_partition() -> None:
    assert console_link("arn:aws-cn:states:cn-north-1:1:execution:m:e").startswith(
        "https://console.amazonaws.cn/states/home?region=cn-north-1#/v2/executions/details/"
    )
    assert console_link("arn:aws-us-gov:states:us-gov-west-1:1:execution:m:e").startswith(
        "https://console.amazonaws-us-gov.com/states/home?region=us-gov-west-1#"
    )
