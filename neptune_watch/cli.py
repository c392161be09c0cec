"""The ``neptune-watch`` command."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from typing import Any

EXIT_BAD_INPUT = 2
EXIT_ENGINE = 1
EXIT_CHECK = 3


def _fail(message: str, code: int) -> int:
    print(f"neptune-watch: {message}", file=sys.stderr)
    return code


def _run_scenario(args: argparse.Namespace) -> int:
    from neptune_watch.local.runtime import RuntimeError_, definition_from_template
    from neptune_watch.runner import check, load_all, run_many
    from neptune_watch.scenario import ScenarioError

    try:
        items = load_all(args.scenario)
        definition = definition_from_template(args.template) if args.template else None
    except (ScenarioError, RuntimeError_) as exc:
        return _fail(str(exc), EXIT_BAD_INPUT)
    scenarios = dict(items)
    out = sys.stdout
    failed = []
    try:
        # Whatever the in-process handlers print stays off stdout, which carries one JSON object
        # per scenario, one per line.
        with contextlib.redirect_stdout(sys.stderr):
            for label, report in run_many(items, definition=definition, timeout=args.timeout):
                line = {"file": label, **report}
                if args.check:
                    differences = check(scenarios[label], report)
                    line["check"] = {"ok": not differences, "differences": differences}
                    if differences:
                        failed.append(f"{label}: {'; '.join(differences)}")
                json.dump(line, out, indent=2 if args.pretty else None, default=str)
                out.write("\n")
                out.flush()
    except RuntimeError_ as exc:
        return _fail(str(exc), EXIT_ENGINE)
    except Exception as exc:
        return _fail(f"the local runtime failed: {type(exc).__name__}: {exc}", EXIT_ENGINE)
    for problem in failed:
        print(f"neptune-watch: check failed: {problem}", file=sys.stderr)
    return EXIT_CHECK if failed else 0


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
    run.add_argument("scenario", nargs="+", help="scenario JSON files or directories of them (see scenarios/)")
    run.add_argument("--template", help="take the definition from a synthesized CloudFormation template")
    run.add_argument("--timeout", type=float, default=300.0, help="real seconds to allow (default 300)")
    run.add_argument("--pretty", action="store_true", help="indent the JSON output")
    run.add_argument(
        "--check", action="store_true", help="exit 3 when a scenario's expect block (outcome, status, calls) does not hold"
    )
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
