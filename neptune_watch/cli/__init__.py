"""The ``neptune-watch`` command.

One module per command (or small group); each has ``register(subparsers)`` and sets ``func``
(``func(args, io) -> exit code``). Add a command by adding its module to ``COMMANDS``.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata
from typing import Any

from neptune_watch.cli.common import EXIT_CODES_HELP, PROG, CliError, Io, describe_error, fail

COMMANDS = (
    "neptune_watch.cli.status",
    "neptune_watch.cli.watch",
    "neptune_watch.cli.cancel",
    "neptune_watch.cli.start_watch",
    "neptune_watch.cli.run_scenario",
    "neptune_watch.cli.local",
)

__all__ = ["COMMANDS", "build_parser", "main"]


def _version() -> str:
    try:
        return importlib.metadata.version("neptune-watch")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Watch Amazon Neptune bulk loads and Neptune Analytics tasks from the terminal, start "
        "watches on a deployed state machine, and run the workflow locally.",
        epilog=EXIT_CODES_HELP,
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None, io: Io | None = None) -> Any:
    from neptune_watch import resources

    io = io or Io()
    args = build_parser().parse_args(argv)
    try:
        resources.require_watcher()  # the Lambda code the commands reuse (a wheel carries it inside)
        return args.func(args, io)
    except CliError as err:
        return fail(io, err.message, err.code)
    except KeyboardInterrupt:
        return fail(io, "interrupted", 130)
    except Exception as err:
        from watcher.errors import WatchError

        if isinstance(err, WatchError):
            message, code = describe_error(err)
            return fail(io, message, code)
        return fail(io, f"unexpected error: {type(err).__name__}: {err}", 1)
