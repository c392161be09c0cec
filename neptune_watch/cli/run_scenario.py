"""``neptune-watch run-scenario SCENARIO``: one scenario through the state machine, locally."""

from __future__ import annotations

import argparse
import json
from typing import Any

from neptune_watch.cli.common import Exit, Io, fail
from neptune_watch.cli.quiet import handler_output, log_arguments


def run(args: argparse.Namespace, io: Io) -> int:
    from neptune_watch.local.runtime import RuntimeError_, definition_from_template
    from neptune_watch.runner import run_scenario
    from neptune_watch.scenario import ScenarioError, load_scenario

    try:
        scenario = load_scenario(args.scenario)
        definition = definition_from_template(args.template) if args.template else None
    except (ScenarioError, RuntimeError_) as exc:
        return fail(io, str(exc), Exit.INVALID_REQUEST)
    try:
        # stdout carries one JSON object: whatever the in-process handlers print goes to the log.
        with handler_output(args, io):
            report = run_scenario(scenario, definition=definition, timeout=args.timeout)
    except RuntimeError_ as exc:
        return fail(io, str(exc), Exit.ERROR)
    except Exception as exc:
        return fail(io, f"the local runtime failed: {type(exc).__name__}: {exc}", Exit.ERROR)
    io.out(json.dumps(report, indent=2 if args.pretty else None, default=str))
    return 0


def register(sub: Any) -> None:
    p = sub.add_parser(
        "run-scenario",
        help="run a scenario through the state machine on the local runtime",
        description="Run a scenario's watch request through the state machine definition on the local runtime "
        "(moto's ASL interpreter, the real handlers, the Neptune emulator, virtual time) and print one JSON "
        "report on stdout. Exits 2 for a scenario that is not valid, 1 when the runtime fails.",
    )
    p.add_argument("scenario", help="scenario JSON file (see scenarios/)")
    p.add_argument("--template", help="take the definition from a synthesized CloudFormation template")
    p.add_argument("--timeout", type=float, default=300.0, help="real seconds to allow (default 300)")
    p.add_argument("--pretty", action="store_true", help="indent the JSON output")
    log_arguments(p)
    p.set_defaults(func=run)
