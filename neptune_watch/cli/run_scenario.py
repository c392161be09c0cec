"""``neptune-watch run-scenario SCENARIO...``: scenarios through the state machine, locally.

Files and directories (their ``*.json``) run in one process, concurrently where they can share a
runtime (:func:`neptune_watch.runner.run_many`); stdout carries one JSON object per scenario, one
per line, each tagged with its ``file``. ``--check`` compares each with its ``expect`` block.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from neptune_watch.cli.common import Exit, Io, fail
from neptune_watch.cli.quiet import handler_output, log_arguments


def run(args: argparse.Namespace, io: Io) -> int:
    from neptune_watch.local.runtime import RuntimeError_, definition_from_template
    from neptune_watch.runner import check, load_all, run_many
    from neptune_watch.scenario import ScenarioError

    try:
        items = load_all(args.scenario)
        definition = definition_from_template(args.template) if args.template else None
    except (ScenarioError, RuntimeError_) as exc:
        return fail(io, str(exc), Exit.INVALID_REQUEST)
    scenarios = dict(items)
    failed: list[str] = []
    try:
        # stdout carries the JSON lines: whatever the in-process handlers print goes to the log.
        with handler_output(args, io):
            for label, report in run_many(items, definition=definition, timeout=args.timeout):
                line: dict[str, Any] = {"file": label, **report}
                if args.check:
                    differences = check(scenarios[label], report)
                    line["check"] = {"ok": not differences, "differences": differences}
                    if differences:
                        failed.append(f"{label}: {'; '.join(differences)}")
                io.out(json.dumps(line, indent=2 if args.pretty else None, default=str))
    except RuntimeError_ as exc:
        return fail(io, str(exc), Exit.ERROR)
    except Exception as exc:
        return fail(io, f"the local runtime failed: {type(exc).__name__}: {exc}", Exit.ERROR)
    if failed:
        return fail(io, "check failed: " + " | ".join(failed), Exit.FAILED)
    return 0


def register(sub: Any) -> None:
    p = sub.add_parser(
        "run-scenario",
        help="run scenarios through the state machine on the local runtime",
        description="Run scenarios' watch requests through the state machine definition on the local runtime "
        "(moto's ASL interpreter, the real handlers, the Neptune emulator, virtual time), all in one process, "
        "and print one JSON report per scenario, one per line. Exits 2 for a scenario that is not valid, 1 when "
        "the runtime fails, 3 with --check when a scenario's expect block does not hold.",
    )
    p.add_argument("scenario", nargs="+", help="scenario JSON files, or directories of them (see scenarios/)")
    p.add_argument("--template", help="take the definition from a synthesized CloudFormation template")
    p.add_argument("--timeout", type=float, default=300.0, help="real seconds to allow per batch (default 300)")
    p.add_argument("--pretty", action="store_true", help="indent the JSON output")
    p.add_argument(
        "--check", action="store_true", help="exit 3 when a scenario's expect block (outcome, status, calls) does not hold"
    )
    log_arguments(p)
    p.set_defaults(func=run)
