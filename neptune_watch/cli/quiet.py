"""Keep the in-process handlers' output (EMF metric JSON, Powertools logs) off the terminal.

``run-scenario`` and ``demo`` run the real Lambda handlers in this process. What they print
(metrics on stdout, logs on the Powertools logger's stream) goes to a log file; ``--verbose``
shows it on stderr as well and names the file.
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
        help="where the in-process handlers' logs and EMF metrics go (default: a new temporary file)",
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
    try:
        with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
            for handler in handlers:
                handler.setStream(sink)
            yield path
    finally:
        for handler, original in zip(handlers, saved, strict=True):
            handler.setStream(original)
        stream.close()
        if args.verbose:
            io.stderr.write(f"{PROG}: the handlers' logs and metrics are in {path}\n")
