"""Readable text for a job's status and for an outcome (plain strings: they go to logs and CI)."""

from __future__ import annotations

from typing import Any


def _number(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return f"{value:,}" if isinstance(value, int) else str(value)


def counters_text(counters: dict[str, Any] | None) -> str:
    return ", ".join(f"{name}={_number(value)}" for name, value in (counters or {}).items())


def percent_text(progress: dict[str, Any] | None) -> str | None:
    percent = (progress or {}).get("percent")
    return None if percent is None else f"{_number(percent)}%"


def feeds_text(feed_count: Any) -> str | None:
    """A loader's ``feedCount`` ([{STATUS: n}, ...]) as "2 LOAD_COMPLETED, 1 LOAD_IN_PROGRESS"."""
    if not isinstance(feed_count, list):
        return None
    parts = [f"{n} {status}" for item in feed_count if isinstance(item, dict) for status, n in item.items()]
    return ", ".join(parts) or None


def error_text(error: dict[str, Any]) -> str:
    where = error.get("file") or ""
    if error.get("record") is not None:
        where = f"{where} record {error['record']}".strip()
    head = f"{error.get('code') or 'ERROR'}"
    if where:
        head = f"{head} at {where}"
    return f"{head}: {error.get('message') or ''}".rstrip(": ")


def _errors(lines: list[str], errors: list[dict[str, Any]], shown: int) -> None:
    if not errors or shown <= 0:
        return
    lines.append(f"  errors     the first {min(shown, len(errors))}")
    lines.extend(f"    {error_text(e)}" for e in errors[:shown])


def _state(view: dict[str, Any]) -> str:
    if view.get("phase") == "TERMINAL":
        return f"ended: {view.get('outcome')}"
    state = "being cancelled" if view.get("phase") == "CANCELLING" else "running"
    if not view.get("known", True):
        state += "; a status neptune-watch does not know"
    return state


def status_lines(job: str, view: dict[str, Any], *, max_errors: int) -> list[str]:
    """What ``neptune-watch status`` prints for a normalised status (watcher.normalize)."""
    lines = [f"{job}  {view.get('status') or '(no status)'}  ({_state(view)})"]
    for label, value in (
        ("graph", view.get("graphId")),
        ("started", view.get("startTime")),
        ("reason", view.get("statusReason")),
        ("progress", percent_text(view.get("progress"))),
        ("feeds", feeds_text(view.get("feedCount"))),
        ("counters", counters_text(view.get("counters"))),
    ):
        if value:
            lines.append(f"  {label:<10} {value}")
    _errors(lines, view.get("errors") or [], max_errors)
    return lines


def outcome_lines(outcome: dict[str, Any], *, max_errors: int = 10) -> list[str]:
    """What ``watch`` and ``start-watch --follow`` print at the end: the outcome, readably."""
    job = outcome.get("job") or {}
    head = f"{job.get('kind')}:{job.get('id')}  {outcome.get('outcome')}"
    if outcome.get("status"):
        head += f"  (status {outcome['status']})"
    head += f"  after {outcome.get('polls', 0)} poll{'s' if outcome.get('polls') != 1 else ''}"
    lines = [head]
    if outcome.get("startedAt") and outcome.get("endedAt"):
        lines.append(f"  {'watched':<10} {outcome['startedAt']} to {outcome['endedAt']}")
    cancellation = outcome.get("cancellation")
    if cancellation:
        confirmed = "confirmed" if cancellation.get("confirmed") else "not confirmed"
        lines.append(f"  {'cancelled':<10} at the timeout, {confirmed} by the service")
    for label, value in (
        ("reason", outcome.get("statusReason")),
        ("progress", percent_text(outcome.get("progress"))),
        ("counters", counters_text(outcome.get("counters"))),
    ):
        if value:
            lines.append(f"  {label:<10} {value}")
    _errors(lines, outcome.get("errors") or [], max_errors)
    return lines
