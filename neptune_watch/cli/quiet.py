"""Keep the in-process handlers' output (Powertools logs, any EMF metric JSON) off the terminal.

``run-scenario`` and ``demo`` run the real Lambda handlers in this process. What they print
(logs on the Powertools logger's stream, anything on stdout or stderr) goes to a log file;
``--verbose`` logs at INFO, shows it on stderr as well and names the file. (The local runtime
runs with Powertools metrics disabled: nothing would read them.)
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import tempfile
from collections.abc import Iterator
from typing import Any, TextIO

from neptune_watch.cli.common import PROG, Io

LOG_LEVEL_ENV = "NEPTUNE_WATCH_LOG_LEVEL"  # read by the local runtime for the handlers' logger


class _Tee:
    """A text stream writing to several."""

    def __init__(self, *streams: TextIO) -> None:
        self.streams = streams

    def write(self, text: str) -> int:
        for stream in self.streams:
            stream.write(text)
        return len(text)

    def flush(self) -> None:
        for stream in self.streams:
            stream.flush()

    def isatty(self) -> bool:
        return False


def log_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--log-file",
        metavar="PATH",
        help="where the in-process handlers' logs and EMF metrics go (default: a new temporary file, "
        "removed again when nothing was written to it)",
    )
    parser.add_argument(
        "--verbose", action="store_true", help="also show the handlers' logs and metrics on stderr, and name the log file"
    )


def _powertools_handlers() -> list[logging.StreamHandler[Any]]:
    from watcher.observability import logger

    return [h for h in logging.getLogger(logger.name).handlers if isinstance(h, logging.StreamHandler)]


@contextlib.contextmanager
def handler_output(args: argparse.Namespace, io: Io) -> Iterator[str]:
    """Send stdout, stderr and the handlers' log stream to the log file while the body runs."""
    if args.log_file:
        path = os.path.abspath(args.log_file)
        stream = open(path, "a", encoding="utf-8")  # noqa: SIM115 (closed below)
    else:
        fd, path = tempfile.mkstemp(prefix="neptune-watch-", suffix=".log")
        stream = os.fdopen(fd, "w", encoding="utf-8")
    sink: Any = _Tee(stream, io.stderr) if args.verbose else stream
    handlers = _powertools_handlers()
    saved = [h.stream for h in handlers]
    saved_level = os.environ.get(LOG_LEVEL_ENV)
    if args.verbose:
        os.environ[LOG_LEVEL_ENV] = "INFO"
    try:
        with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
            for handler in handlers:
                handler.setStream(sink)
            yield path
    finally:
        for handler, original in zip(handlers, saved, strict=True):
            handler.setStream(original)
        if saved_level is None:
            os.environ.pop(LOG_LEVEL_ENV, None)
        else:
            os.environ[LOG_LEVEL_ENV] = saved_level
        stream.close()
        if not args.log_file and not args.verbose and os.path.getsize(path) == 0:
            os.remove(path)  # a default log file with nothing in it is not worth leaving behind
        if args.verbose:
            io.stderr.write(f"{PROG}: the handlers' logs and metrics are in {path}\n")
