"""``neptune-watch cancel JOB``: ask Neptune to cancel a load or an Analytics task."""

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


def run(args: argparse.Namespace, io: Io) -> int:
    from watcher import neptune

    job = parse_job(args.job)
    call = {
        "loader": neptune.cancel_loader_job,
        "import": neptune.cancel_import_task,
        "export": neptune.cancel_export_task,
    }[job.kind]
    with using_clients(args, job.kind):
        answer = retrying(lambda: call(job.id), sleep=io.sleep, on_retry=retry_note(io))
    if args.json:
        io.out(json.dumps(answer, indent=2, default=str))
    else:
        io.out(f"{job}  cancel requested (the service answered {answer.get('status') or 'OK'})")
    return 0


def register(sub: Any) -> None:
    p = sub.add_parser(
        "cancel",
        help="cancel a running load or Analytics task",
        description="Ask Neptune to cancel a job. Exits 0 when the service accepted the cancel, 6 when it does "
        "not know the id (a load that is no longer active answers the same), 1 when it refused "
        "(e.g. an Analytics task that already ended: ConflictException) or on access denied.",
    )
    job_argument(p)
    p.add_argument("--json", action="store_true", help="print the service's answer as JSON")
    aws_arguments(p)
    p.set_defaults(func=run)
