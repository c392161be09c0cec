"""``neptune-watch status JOB``: one call, a readable summary (``--json``: the service's answer)."""

from __future__ import annotations

import argparse
import json
from typing import Any

from neptune_watch.cli.common import (
    Io,
    aws_arguments,
    job_argument,
    parse_job,
    retry_note,
    retrying,
    using_clients,
)
from neptune_watch.cli.summary import status_lines

MAX_ERRORS_PER_PAGE = 100  # the loader's errorsPerPage we ask for at most (watcher.watch does the same)


def fetch(job: Any, errors: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the service's answer, its normalised view) of exactly one status call."""
    from watcher import neptune, normalize

    if job.kind == "loader":
        params: dict[str, Any] = {"loadId": job.id, "details": True}
        if errors > 0:
            params.update(errors=True, page=1, errorsPerPage=min(errors, MAX_ERRORS_PER_PAGE))
        raw = neptune.get_loader_job_status(**params)
        return raw, normalize.loader_status(job.id, raw)
    if job.kind == "import":
        raw = neptune.get_import_task(job.id)
        return raw, normalize.import_status(raw)
    raw = neptune.get_export_task(job.id)
    return raw, normalize.export_status(raw)


def run(args: argparse.Namespace, io: Io) -> int:
    job = parse_job(args.job)
    with using_clients(args, job.kind):
        raw, view = retrying(lambda: fetch(job, args.errors), sleep=io.sleep, on_retry=retry_note(io))
    if args.json:
        io.out(json.dumps(raw, indent=2, default=str))
    else:
        io.out("\n".join(status_lines(str(job), view, max_errors=args.errors)))
    return 0


def register(sub: Any) -> None:
    p = sub.add_parser(
        "status",
        help="show a job's status once: status, counters, progress, first errors",
        description="Ask Neptune once for a job's status and print a summary. Exits 0 when Neptune answered "
        "(whatever the job's status), 6 when it does not know the id, 1 on access denied or other errors.",
    )
    job_argument(p)
    p.add_argument("--json", action="store_true", help="print the service's answer as JSON instead of a summary")
    p.add_argument(
        "--errors",
        type=int,
        default=5,
        metavar="N",
        help="how many error details to ask for and show (loader error log, Analytics errorDetails; default 5)",
    )
    aws_arguments(p)
    p.set_defaults(func=run)
