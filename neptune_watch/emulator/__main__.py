"""Run the Neptune emulator in the foreground on real time.

    python -m neptune_watch.emulator SCENARIO.json [--port N]

Prints the base URL, then serves until interrupted (Ctrl-C or SIGTERM). Virtual second 0 is
the moment the server starts.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence

from neptune_watch.emulator.server import NeptuneEmulator
from neptune_watch.scenario import ScenarioError, load_scenario


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m neptune_watch.emulator",
        description="Serve a scenario's Neptune jobs on 127.0.0.1 (real time).",
    )
    parser.add_argument("scenario", help="scenario JSON file")
    parser.add_argument("--port", type=int, default=0, help="port to listen on (default: any)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    args = _parse_args(argv)
    try:
        scenario = load_scenario(args.scenario)
    except ScenarioError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    try:
        emulator = NeptuneEmulator.from_scenario(scenario, port=args.port)
        url = emulator.start()
    except OSError as exc:
        print(f"error: cannot listen on port {args.port}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    print(url, flush=True)
    try:
        while not done.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        emulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
