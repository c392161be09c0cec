"""The ``neptune-watch`` command."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from typing import Any

EXIT_BAD_INPUT = 2
EXIT_ENGINE = 1


def _fail(message: str, code: int) -> int:
    print(f"neptune-watch: {message}", file=sys.stderr)
    return code


def _run_scenario(args: argparse.Namespace) -> int:
    from neptune_watch.local.runtime import RuntimeError_, definition_from_template
    from neptune_watch.runner import run_scenario
    from neptune_watch.scenario import ScenarioError, load_scenario

    try:
        scenario = load_scenario(args.scenario)
        definition = definition_from_template(args.template) if args.template else None
    except (ScenarioError, RuntimeError_) as exc:
        return _fail(str(exc), EXIT_BAD_INPUT)
    out = sys.stdout
    try:
        # Whatever the in-process handlers print stays off stdout, which carries one JSON object.
        with contextlib.redirect_stdout(sys.stderr):
            report = run_scenario(scenario, definition=definition, timeout=args.timeout)
    except RuntimeError_ as exc:
        return _fail(str(exc), EXIT_ENGINE)
    except Exception as exc:
        return _fail(f"the local runtime failed: {type(exc).__name__}: {exc}", EXIT_ENGINE)
    json.dump(report, out, indent=2 if args.pretty else None, default=str)
    out.write("\n")
    return 0


def _demo(args: argparse.Namespace) -> int:
    from neptune_watch.demo import run_demo

    try:
        return run_demo(live=not args.no_live)
    except Exception as exc:
        return _fail(f"the demo failed: {type(exc).__name__}: {exc}", EXIT_ENGINE)


def _emulator(args: argparse.Namespace) -> int:
    from neptune_watch.emulator.__main__ import main as emulator_main

    return emulator_main([args.scenario, *(["--port", str(args.port)] if args.port else [])])


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="neptune-watch",
        description="Watch Amazon Neptune bulk loads and Neptune Analytics tasks; run the workflow locally.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run-scenario", help="run a scenario through the state machine on the local runtime")
    run.add_argument("scenario", help="scenario JSON file (see scenarios/)")
    run.add_argument("--template", help="take the definition from a synthesized CloudFormation template")
    run.add_argument("--timeout", type=float, default=300.0, help="real seconds to allow (default 300)")
    run.add_argument("--pretty", action="store_true", help="indent the JSON output")
    run.set_defaults(func=_run_scenario)
    demo = sub.add_parser("demo", help="watch a handful of jobs at once on the local runtime")
    demo.add_argument("--no-live", action="store_true", help="print the summary only, no live view")
    demo.set_defaults(func=_demo)
    emu = sub.add_parser("emulator", help="serve a scenario's jobs on a local Neptune emulator (real time)")
    emu.add_argument("scenario")
    emu.add_argument("--port", type=int, default=0)
    emu.set_defaults(func=_emulator)
    return parser


def main(argv: list[str] | None = None) -> Any:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
