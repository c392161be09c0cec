"""``neptune-watch demo`` and ``neptune-watch emulator``: the local runtime and emulator, by hand."""

from __future__ import annotations

import argparse
from typing import Any

from neptune_watch.cli.common import Exit, Io, fail
from neptune_watch.cli.quiet import handler_output, log_arguments


def demo(args: argparse.Namespace, io: Io) -> int:
    from rich.console import Console

    from neptune_watch.demo import run_demo

    tty = io.force_terminal if io.force_terminal is not None else io.stdout.isatty()
    console = Console(file=io.stdout, force_terminal=io.force_terminal, width=None if tty else 150)
    try:
        with handler_output(args, io):
            return run_demo(live=not args.no_live, console=console)
    except Exception as exc:
        return fail(io, f"the demo failed: {type(exc).__name__}: {exc}", Exit.ERROR)


def emulator(args: argparse.Namespace, io: Io) -> int:
    from neptune_watch.emulator.__main__ import main as emulator_main

    return emulator_main([args.scenario, *(["--port", str(args.port)] if args.port else [])])


def register(sub: Any) -> None:
    p = sub.add_parser("demo", help="watch a handful of jobs at once on the local runtime")
    p.add_argument("--no-live", action="store_true", help="print the summary only, no live view")
    log_arguments(p)
    p.set_defaults(func=demo)
    e = sub.add_parser("emulator", help="serve a scenario's jobs on a local Neptune emulator (real time)")
    e.add_argument("scenario", help="scenario JSON file whose jobs the emulator serves")
    e.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: any free port)")
    e.set_defaults(func=emulator)
