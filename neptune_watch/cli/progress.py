"""The live view of a watch: a rich progress bar on a terminal, one plain line per poll otherwise.

It goes to stderr, so that stdout carries only the outcome (``--json`` stays parseable).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from neptune_watch.cli.common import Io
from neptune_watch.cli.summary import counters_text


def _short_counters(counters: dict[str, Any] | None) -> str:
    shown = {k: v for k, v in (counters or {}).items() if k not in ("progressPercentage", "timeElapsedSeconds")}
    return counters_text(dict(list(shown.items())[:3]))


class Progress:
    """``with Progress(io, "loader:x") as p: p.update(watch_state)``."""

    def __init__(self, io: Io, label: str) -> None:
        self.io = io
        self.label = label
        self.console = io.console(stderr=True)
        self.live = bool(self.console.is_terminal)
        self.last: dict[str, Any] = {}
        self._bar: Any = None
        self._task: Any = None

    def __enter__(self) -> Progress:
        if self.live:
            from rich.progress import BarColumn, SpinnerColumn, TextColumn, TimeElapsedColumn
            from rich.progress import Progress as Bar
            from rich.table import Column

            self._bar = Bar(
                SpinnerColumn(),
                TextColumn("[bold]{task.fields[job]}", table_column=Column(no_wrap=True, max_width=40)),
                BarColumn(bar_width=24),
                TextColumn("{task.fields[percent]:>5}", table_column=Column(no_wrap=True, min_width=5)),
                TimeElapsedColumn(),
                TextColumn("{task.description}", table_column=Column(no_wrap=True, overflow="ellipsis", ratio=1)),
                console=self.console,
                refresh_per_second=4,
                expand=True,
            )
            self._bar.start()
            self._task = self._bar.add_task("starting", total=None, job=self.label, percent="")
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None

    def update(self, watch: dict[str, Any]) -> None:
        """Show a watch state (as ``watcher.watch.poll`` returns it)."""
        self.last = watch
        last = watch.get("last") or {}
        status = last.get("status") or "(no status yet)"
        percent = (last.get("progress") or {}).get("percent")
        parts = [status]
        counters = _short_counters(last.get("counters"))
        if counters:
            parts.append(counters)
        polls = int(watch.get("polls") or 0)
        parts.append(f"poll {polls}")
        if watch.get("next") == "WAIT":
            parts.append(f"next in {watch.get('waitSeconds')} s")
        elif watch.get("next") == "CANCEL":
            parts.append("timed out: cancelling")
        text = " · ".join(parts)
        if self._bar is not None:
            total = 100 if percent is not None else None
            self._bar.update(
                self._task,
                description=text,
                total=total,
                completed=float(percent) if percent is not None else 0,
                percent=f"{percent:g}%" if isinstance(percent, int | float) else "",
            )
        else:
            pct = f" {percent:g}%" if isinstance(percent, int | float) else ""
            self.line(f"{self.label} {status}{pct}" + "".join(f"; {p}" for p in parts[1:]))

    def line(self, text: str) -> None:
        """A note above the bar, or a plain timestamped line."""
        if self._bar is not None:
            self._bar.console.print(text, highlight=False)
            return
        stamp = datetime.now(UTC).strftime("%H:%M:%SZ")
        self.io.stderr.write(f"{stamp} {text}\n")
        self.io.stderr.flush()
