"""``neptune-watch load S3_URI --format csv --iam-role-arn ARN [--watch]``: start a bulk load from here.

No state machine: the start is ``watcher.start.start_job`` (one StartLoaderJob, retried like the
state machine's StartJob, and never twice: a retry first looks for the load an unanswered
attempt started), made with your credentials against the cluster's endpoint. Prints the
loadId; with ``--watch``, follows the load to its end like ``neptune-watch watch`` and exits by
its outcome.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from neptune_watch.cli.common import (
    EXIT_CODES_HELP,
    Exit,
    Io,
    aws_arguments,
    exit_for,
    fail,
    positive_int,
    retry_note,
    retrying,
    settings_for,
    using_clients,
)
from neptune_watch.cli.progress import Progress
from neptune_watch.cli.starting import check, start_arguments, start_from, start_request
from neptune_watch.cli.summary import outcome_lines
from neptune_watch.cli.watch import follow, request_arguments


def start_load(watch: dict[str, Any], io: Io) -> dict[str, Any]:
    """The load started (or found again after an unanswered attempt); the watch advanced by it."""
    from watcher.start import start_job

    attempts = [0]

    def once() -> dict[str, Any]:
        retry, attempts[0] = attempts[0], attempts[0] + 1
        return start_job(watch, retry_count=retry)

    return retrying(once, sleep=io.sleep, on_retry=retry_note(io))


def _print(io: Io, outcome: dict[str, Any], as_json: bool) -> None:
    io.out(json.dumps(outcome, indent=2, default=str) if as_json else "\n".join(outcome_lines(outcome)))


def run(args: argparse.Namespace, io: Io) -> int:
    from watcher.outcome import finalize

    request = start_request(args, start_from(args, kind="loader", source=args.source))
    options = {k: v for k, v in request.items() if k != "start"}
    watch = check(request)
    with using_clients(args, "loader"):
        watch = start_load(watch, io)
        if watch["next"] == "FINISH":  # refused by the loader, or an unanswered start it cannot tell apart
            outcome = finalize({"state": {"watch": watch}})["outcome"]
            _print(io, outcome, args.json)
            return fail(io, outcome.get("statusReason") or outcome["outcome"], exit_for(outcome["outcome"]))
        load_id = watch["job"]["id"]
        if not args.watch:
            io.out(load_id)
            return Exit.SUCCEEDED
        io.stderr.write(f"started loader:{load_id}\n")
        progress = Progress(io, f"loader:{load_id}")
        try:
            with progress:
                outcome = follow({"job": {"kind": "loader", "id": load_id}, **options}, settings_for(args),
                                 sleep=io.sleep, on_poll=progress.update, on_note=progress.line)  # fmt: skip
        except KeyboardInterrupt:
            return fail(io, f"interrupted; loader:{load_id} keeps running", Exit.INTERRUPTED)
    outcome["started"] = watch["started"]
    _print(io, outcome, args.json)
    return exit_for(outcome.get("outcome"))


def register(sub: Any) -> None:
    p = sub.add_parser(
        "load",
        help="start a Neptune bulk load (StartLoaderJob) from here; with --watch, follow it to its end",
        description="Start a bulk load with your credentials against the cluster's endpoint (the parameters are "
        "checked against the API's model first; a start that gets no answer is looked for before it is retried, "
        "so the load is never started twice) and print its loadId; with --watch, follow it like "
        "'neptune-watch watch' and exit by its outcome.",
        epilog=EXIT_CODES_HELP,
    )
    p.add_argument("source", metavar="S3_URI", help="what to load: s3://bucket/prefix/")
    start_arguments(p, loader_only=True)
    p.add_argument("--watch", action="store_true", help="follow the load to its end; exit code by outcome")
    request_arguments(p)
    p.add_argument("--json", action="store_true", help="print the outcome as JSON")
    p.add_argument("--min-wait", type=positive_int, metavar="SECONDS", help="shortest wait between polls (default 14)")
    p.add_argument("--max-wait", type=positive_int, metavar="SECONDS", help="longest wait between polls (default 179)")
    aws_arguments(p)
    p.set_defaults(func=run)
