"""``neptune-watch start-watch --state-machine ARN JOB``: start a watch on a deployed state machine.

Prints the execution ARN and its console link; with ``--follow``, shows the watch's progress (read
from the execution history: the last watch state a status task returned) and its outcome, and
exits by it like ``watch``.
"""

from __future__ import annotations

import argparse
import json
from typing import Any
from urllib.parse import quote

from neptune_watch.cli.common import (
    EXIT_CODES_HELP,
    CliError,
    Exit,
    Io,
    aws_arguments,
    exit_for,
    fail,
    parse_job,
    positive_int,
    session,
)
from neptune_watch.cli.progress import Progress
from neptune_watch.cli.starting import check, start_arguments, start_from, start_request
from neptune_watch.cli.summary import outcome_lines
from neptune_watch.cli.watch import request_arguments, request_from

ERROR_PREFIX = "NeptuneWatch."
CONSOLE_HOSTS = {"aws": "{region}.console.aws.amazon.com", "aws-cn": "console.amazonaws.cn", "aws-us-gov": "console.amazonaws-us-gov.com"}


def console_link(execution_arn: str) -> str:
    """The Step Functions console page of an execution."""
    parts = execution_arn.split(":")
    partition, region = (parts[1], parts[3]) if len(parts) > 3 else ("aws", "us-east-1")
    host = CONSOLE_HOSTS.get(partition, CONSOLE_HOSTS["aws"]).format(region=region)
    return f"https://{host}/states/home?region={region}#/v2/executions/details/{quote(execution_arn, safe=':')}"


def build_request(args: argparse.Namespace) -> dict[str, Any]:
    """The watch request (docs/CONTRACT.md section 1) from the arguments, validated as prepare would."""
    from watcher.errors import InvalidRequestError
    from watcher.request import WatchRequest, parse

    start = start_from(args)  # a start request: --load / --import-source / --export-destination
    if (start is None) == (args.job is None):
        raise CliError("give either a job (kind:id) to watch, or --load, --import-source or --export-destination "
                       "to start one", Exit.INVALID_REQUEST)
    request = request_from(args, parse_job(args.job)) if start is None else start_request(args, start)
    if args.correlation_id is not None:
        request["correlationId"] = args.correlation_id
    if args.context is not None:
        try:
            request["context"] = json.loads(args.context)
        except ValueError as err:
            raise CliError(f"--context is not valid JSON: {err}", Exit.INVALID_REQUEST) from None
    if start is not None:
        check(request)  # the start parameters against the API's model, the rest as prepare does
        return request
    try:
        parse(WatchRequest, request)
    except InvalidRequestError as err:
        raise CliError(err.message, Exit.INVALID_REQUEST) from None
    return request


def _sfn_error(err: Exception) -> CliError:
    import botocore.exceptions

    if isinstance(err, botocore.exceptions.ClientError):
        code = err.response.get("Error", {}).get("Code", "")
        message = err.response.get("Error", {}).get("Message") or code
        if code in ("StateMachineDoesNotExist", "ExecutionDoesNotExist"):
            return CliError(f"not found: {message}", Exit.NOT_FOUND)
        if code in ("InvalidArn", "InvalidName", "InvalidExecutionInput", "ValidationException"):
            return CliError(f"{code}: {message}", Exit.INVALID_REQUEST)
        if code in ("AccessDeniedException", "AccessDenied", "UnrecognizedClientException"):
            return CliError(f"access denied: {message}")
        return CliError(f"{code or 'error'}: {message}")
    if isinstance(err, botocore.exceptions.BotoCoreError):
        return CliError(str(err))
    raise err


def _find_watch(value: Any, depth: int = 0) -> dict[str, Any] | None:
    """The watch state inside a task's output (``{"watch": ...}`` or ``{"Payload": {"watch": ...}}``)."""
    if not isinstance(value, dict) or depth > 3:
        return None
    inner = value.get("watch")
    if isinstance(inner, dict) and isinstance(inner.get("job"), dict):
        return inner
    for child in value.values():
        found = _find_watch(child, depth + 1)
        if found is not None:
            return found
    return None


def latest_watch(sfn: Any, execution_arn: str) -> dict[str, Any] | None:
    """The newest watch state in the execution's history (None before the first poll)."""
    events = sfn.get_execution_history(executionArn=execution_arn, reverseOrder=True, maxResults=40)["events"]
    if len(events) > 1 and events[0].get("id", 0) < events[-1].get("id", 0):
        events = events[::-1]  # moto ignores reverseOrder (and maxResults): newest first all the same
    for event in events:
        for key, details in event.items():
            if key.endswith("EventDetails") and isinstance(details, dict) and '"watch"' in str(details.get("output")):
                try:
                    found = _find_watch(json.loads(details["output"]))
                except ValueError:
                    found = None
                if found is not None:
                    return found
    return None


def outcome_of(desc: dict[str, Any]) -> tuple[dict[str, Any] | None, str]:
    """(outcome, outcome name) of an ended execution; an execution that ended otherwise is ERROR."""
    status = desc["status"]
    text = desc.get("output") if status == "SUCCEEDED" else desc.get("cause")
    outcome = None
    try:
        outcome = json.loads(text) if text else None
    except ValueError:
        outcome = None
    if status == "SUCCEEDED" and isinstance(outcome, dict):
        return outcome, str(outcome.get("outcome") or "SUCCEEDED")
    error = desc.get("error") or ""
    if error.startswith(ERROR_PREFIX) and isinstance(outcome, dict):
        return outcome, error[len(ERROR_PREFIX):]
    return None, "ERROR"


def follow(sfn: Any, arn: str, io: Io, label: str, interval: float) -> dict[str, Any]:
    progress = Progress(io, label)
    with progress:
        while True:
            desc = sfn.describe_execution(executionArn=arn)
            watch = latest_watch(sfn, arn)  # after the end too: the last state it polled
            if watch is not None and watch != progress.last:
                progress.update(watch)
            if desc["status"] != "RUNNING":
                return desc
            io.sleep(interval)


def run(args: argparse.Namespace, io: Io) -> int:
    request = build_request(args)
    from watcher.clients import client_config
    from watcher.settings import Settings

    kwargs: dict[str, Any] = {"config": client_config(Settings()).merge(_SFN_RETRIES)}
    if args.endpoint_url:
        kwargs["endpoint_url"] = args.endpoint_url
    sfn = session(args).client("stepfunctions", **kwargs)
    start: dict[str, Any] = {"stateMachineArn": args.state_machine, "input": json.dumps(request)}
    if args.name:
        start["name"] = args.name
    try:
        arn = sfn.start_execution(**start)["executionArn"]
    except Exception as err:
        raise _sfn_error(err) from None
    io.out(arn)
    io.out(console_link(arn))
    if not args.follow:
        return 0
    try:
        job = request.get("job") or {"kind": request["start"]["kind"], "id": "(starting)"}
        desc = follow(sfn, arn, io, f"{job['kind']}:{job['id']}", args.interval)
    except KeyboardInterrupt:
        return fail(io, f"interrupted; the execution keeps running: {arn}", Exit.INTERRUPTED)
    except Exception as err:
        raise _sfn_error(err) from None
    outcome, name = outcome_of(desc)
    if outcome is None:
        return fail(io, f"the execution ended {desc['status']}: {desc.get('error')}: {desc.get('cause')}", Exit.ERROR)
    if args.json:
        io.out(json.dumps(outcome, indent=2, default=str))
    else:
        io.out("\n".join(outcome_lines(outcome)))
    return exit_for(name)


def _sfn_retries() -> Any:
    from botocore.config import Config

    # Step Functions' own API: botocore's standard retry mode (throttling and 5xx, backed off).
    return Config(retries={"mode": "standard", "max_attempts": 5})


_SFN_RETRIES = _sfn_retries()


def register(sub: Any) -> None:
    p = sub.add_parser(
        "start-watch",
        help="start a watch on a deployed neptune-watch state machine (optionally follow it)",
        description="Start an execution of a deployed neptune-watch state machine for a job, print its ARN "
        "and console link, and with --follow show its progress and outcome.",
        epilog=EXIT_CODES_HELP + " (with --follow; without it, 0 once the execution started)",
    )
    p.add_argument("--state-machine", required=True, metavar="ARN", help="ARN of the deployed watch state machine")
    p.add_argument(
        "job", nargs="?",
        help="the job to watch: loader:<loadId>, import:<taskId> or export:<taskId> (or start one with --load, "
        "--import-source or --export-destination)",
    )  # fmt: skip
    start_arguments(p)
    request_arguments(p)
    p.add_argument("--correlation-id", help="correlationId echoed in the outcome (also used to spot duplicates)")
    p.add_argument("--context", metavar="JSON", help="any JSON the outcome should carry back (at most 8 KB)")
    p.add_argument("--name", help="execution name (default: one Step Functions makes up)")
    p.add_argument("--follow", action="store_true", help="show the watch's progress and outcome; exit by outcome")
    p.add_argument(
        "--interval", type=positive_int, default=5, metavar="SECONDS", help="seconds between checks with --follow (default 5)"
    )
    p.add_argument("--json", action="store_true", help="with --follow, print the outcome as JSON")
    aws_arguments(p, neptune=False)
    p.set_defaults(func=run)
