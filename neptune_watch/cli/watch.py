"""``neptune-watch watch JOB``: follow a job to its end from the terminal, exit by its outcome.

The steps are the state machine's own: ``watcher.watch.new_watch`` makes the watch (no lock: the CLI is its own poller),
``watcher.watch.poll`` makes one call and says what comes next (the same poll policy),
``watcher.watch.cancel`` cancels on timeout, and ``watcher.outcome.finalize`` builds the outcome.
Retries are those of the state machine's Retry (see ``common.retrying``).
"""

from __future__ import annotations

import argparse
import functools
import json
from collections.abc import Callable
from typing import Any

from neptune_watch.cli.common import (
    EXIT_CODES_HELP,
    KINDS,
    CliError,
    Exit,
    Io,
    aws_arguments,
    exit_for,
    fail,
    job_argument,
    parse_job,
    positive_int,
    retrying,
    settings_for,
    using_clients,
)
from neptune_watch.cli.progress import Progress
from neptune_watch.cli.summary import outcome_lines

# new_watch() wants the functions a deployment would call; here the CLI makes the calls itself.
CLI_FUNCTIONS = {kind: {"status": "neptune-watch-cli", "cancel": "neptune-watch-cli"} for kind in KINDS}


def request_arguments(p: argparse.ArgumentParser) -> None:
    """The watch request's options (shared with start-watch)."""
    p.add_argument(
        "--timeout",
        type=positive_int,
        metavar="SECONDS",
        help="give up after this long (the outcome is TIMED_OUT; default: the deployment default, 86400)",
    )
    p.add_argument(
        "--cancel-on-timeout", action="store_true", help="cancel the job when the timeout passes (outcome TIMED_OUT)"
    )
    p.add_argument(
        "--max-errors", type=int, metavar="N", help="error details the outcome carries when the job fails (default 10)"
    )


def request_from(args: argparse.Namespace, job: Any) -> dict[str, Any]:
    request: dict[str, Any] = {"job": job.as_dict()}
    if args.timeout is not None:
        request["timeoutSeconds"] = args.timeout
    if args.cancel_on_timeout:
        request["cancelOnTimeout"] = True
    if args.max_errors is not None:
        request["maxErrors"] = args.max_errors
    return request


def _error_state(err: Exception) -> dict[str, str]:
    """A failure as the state machine's Catch hands it to Finalize."""
    name = type(err).__name__
    message = getattr(err, "message", None) or str(err)
    return {"Error": name, "Cause": json.dumps({"errorType": name, "errorMessage": message})}


def follow(
    request: dict[str, Any],
    cfg: Any,
    *,
    sleep: Callable[[float], None],
    on_poll: Callable[[dict[str, Any]], None] = lambda w: None,
    on_note: Callable[[str], None] = lambda text: None,
) -> dict[str, Any]:
    """Watch the request's job to its end; the outcome (docs/CONTRACT.md section 2)."""
    from watcher import watch as steps
    from watcher.errors import WatchError
    from watcher.outcome import finalize

    def retried(fn: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        return retrying(fn, sleep=sleep, on_retry=lambda err, wait: on_note(f"{err.code}: retrying in {wait:.1f} s"))

    watch = steps.new_watch({"request": request, "functions": CLI_FUNCTIONS}, execution_id=None, cfg=cfg)
    error = None
    try:
        while watch["next"] != "FINISH":
            step = watch["next"]
            if step == "WAIT":
                sleep(float(watch["waitSeconds"]))
            if step == "CANCEL":
                on_note("timeout passed: cancelling the job")
                watch = retried(functools.partial(steps.cancel, watch))
                continue
            if step == "CONTINUE":  # a state machine starts a new execution; here nothing limits history
                watch = steps.resume(watch, None)
            watch = retried(functools.partial(steps.poll, watch, cfg=cfg))
            on_poll(watch)
    except WatchError as err:
        error = _error_state(err)
    return finalize({"state": {"watch": watch, "error": error}})["outcome"]


def run(args: argparse.Namespace, io: Io) -> int:
    from watcher.errors import InvalidRequestError

    job = parse_job(args.job)
    cfg = settings_for(args)
    request = request_from(args, job)
    progress = Progress(io, str(job))
    try:
        with using_clients(args, job.kind), progress:
            outcome = follow(request, cfg, sleep=io.sleep, on_poll=progress.update, on_note=progress.line)
    except InvalidRequestError as err:
        raise CliError(err.message, Exit.INVALID_REQUEST) from None
    except KeyboardInterrupt:
        last = (progress.last.get("last") or {}).get("status") or "unknown"
        polls = progress.last.get("polls", 0)
        return fail(io, f"interrupted after {polls} polls; {job} keeps running (last status {last})", Exit.INTERRUPTED)
    if args.json:
        io.out(json.dumps(outcome, indent=2, default=str))
    else:
        io.out("\n".join(outcome_lines(outcome)))
    code = exit_for(outcome.get("outcome"))
    if outcome.get("outcome") in ("NOT_FOUND", "ERROR"):
        fail(io, f"{job}: {outcome.get('statusReason') or outcome.get('outcome')}", code)
    return code


def register(sub: Any) -> None:
    p = sub.add_parser(
        "watch",
        help="follow a job to its end with a live view; exit code by outcome",
        description="Follow a job to its end with the state machine's poll policy (the first poll at once, "
        "then 5% of the time watched, 14 s to 179 s) and its retries, show its progress "
        "(a live bar on a terminal, one line per poll otherwise, on stderr) and print the outcome on stdout. "
        "Ctrl-C stops watching; the job keeps running.",
        epilog=EXIT_CODES_HELP,
    )
    job_argument(p)
    request_arguments(p)
    p.add_argument("--json", action="store_true", help="print the outcome as JSON (the contract's outcome object)")
    p.add_argument("--min-wait", type=positive_int, metavar="SECONDS", help="shortest wait between polls (default 14)")
    p.add_argument("--max-wait", type=positive_int, metavar="SECONDS", help="longest wait between polls (default 179)")
    aws_arguments(p)
    p.set_defaults(func=run)
