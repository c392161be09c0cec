"""The live state of an emulated job: its timeline, played against the virtual clock."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from neptune_watch.scenario import JobSpec, TimelineEntry

#: Loader statuses while the load can still change (and can be cancelled).
LOADER_RUNNING = frozenset({"LOAD_NOT_STARTED", "LOAD_IN_QUEUE", "LOAD_IN_PROGRESS"})
LOADER_CANCELLED = "LOAD_CANCELLED_BY_USER"
LOADER_COMPLETED = "LOAD_COMPLETED"
#: Terminal loader statuses that are failures (a failed feed is reported with details=true).
LOADER_FAILED = frozenset(
    {
        "LOAD_CANCELLED_DUE_TO_ERRORS",
        "LOAD_UNEXPECTED_ERROR",
        "LOAD_FAILED",
        "LOAD_S3_READ_ERROR",
        "LOAD_S3_ACCESS_DENIED_ERROR",
        "LOAD_COMMITTED_W_WRITE_CONFLICTS",
        "LOAD_DATA_DEADLOCK",
        "LOAD_DATA_FAILED_DUE_TO_FEED_MODIFIED_OR_DELETED",
        "LOAD_FAILED_BECAUSE_DEPENDENCY_NOT_SATISFIED",
        "LOAD_FAILED_INVALID_REQUEST",
    }
)
LOADER_TERMINAL = LOADER_FAILED | {LOADER_COMPLETED, LOADER_CANCELLED}
#: Loader statuses under which the real service reports no feedCount yet.
LOADER_WITHOUT_FEEDS = frozenset({"LOAD_NOT_STARTED", "LOAD_IN_QUEUE"})

TASK_CANCELLING = "CANCELLING"
TASK_CANCELLED = "CANCELLED"
#: Analytics task statuses that can no longer change.
TASK_TERMINAL = frozenset({"SUCCEEDED", "FAILED", TASK_CANCELLED, "DELETED"})
#: Analytics task statuses a cancel request is refused for (409).
TASK_NOT_CANCELLABLE = TASK_TERMINAL | {TASK_CANCELLING}


@dataclass
class JobState:
    """A job's timeline as the service plays it; a cancel rewrites the future."""

    spec: JobSpec
    entries: list[TimelineEntry] = field(default_factory=list)
    cancelled_at: float | None = None
    #: The parameters of the start call that created the job (empty for a scripted job).
    params: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_spec(cls, spec: JobSpec) -> JobState:
        return cls(spec=spec, entries=list(spec.timeline))

    @classmethod
    def started(cls, spec: JobSpec, job_id: str, now: float, params: dict[str, Any]) -> JobState:
        """A job a start call created at ``now``: its timeline counts from the call."""
        timeline = [entry.model_copy(update={"at": entry.at + now}) for entry in spec.timeline]
        return cls(spec=spec.model_copy(update={"id": job_id}), entries=timeline, params=dict(params))

    @property
    def kind(self) -> str:
        return self.spec.kind

    @property
    def started_at(self) -> float:
        """Virtual second at which the job first became visible."""
        return self.entries[0].at

    def current(self, now: float) -> TimelineEntry | None:
        """The latest entry whose ``at`` has passed, or None if the job does not exist yet."""
        visible = None
        for entry in self.entries:
            if entry.at > now:
                break
            visible = entry
        return visible

    def is_terminal(self, status: str) -> bool:
        """Whether ``status`` is one the job can no longer leave (known statuses only)."""
        if self.kind == "loader":
            return status in LOADER_TERMINAL
        return status in TASK_TERMINAL

    def reached_at(self, entry: TimelineEntry, now: float) -> float:
        """Virtual second up to which time is counted: frozen once the job has ended."""
        return entry.at if self.is_terminal(entry.status) else now

    def can_cancel(self, status: str) -> bool:
        """Whether the service accepts a cancel request while the job is in ``status``."""
        if self.kind == "loader":
            return status in LOADER_RUNNING
        return status not in TASK_NOT_CANCELLABLE

    def cancel(self, now: float) -> TimelineEntry | None:
        """Cancel at ``now``; the entry now current, or None if the job cannot be cancelled."""
        current = self.current(now)
        if current is None or not self.can_cancel(current.status):
            return None
        if self.kind == "loader":
            steps = [(now, LOADER_CANCELLED)]
        elif self.spec.cancelDelaySeconds <= 0:
            steps = [(now, TASK_CANCELLED)]
        else:
            steps = [(now, TASK_CANCELLING), (now + self.spec.cancelDelaySeconds, TASK_CANCELLED)]
        return self._rewrite_future(current, now, steps)

    def _rewrite_future(
        self, current: TimelineEntry, now: float, steps: list[tuple[float, str]]
    ) -> TimelineEntry:
        """Drop what has not happened yet and append ``steps`` (counters and errors carried)."""
        past = [entry for entry in self.entries if entry.at <= now]
        added = [
            TimelineEntry(
                at=at, status=status, counters=dict(current.counters), errors=list(current.errors)
            )
            for at, status in steps
        ]
        self.entries = past + added
        self.cancelled_at = now
        return added[0]

    def describe(self, now: float) -> dict[str, object]:
        """A small summary for a live view."""
        entry = self.current(now)
        return {
            "kind": self.kind,
            "id": self.spec.id,
            "status": entry.status if entry else None,
            "since": entry.at if entry else None,
            "counters": dict(entry.counters) if entry else {},
            "statusReason": entry.statusReason if entry else None,
            "errors": len(entry.errors) if entry else 0,
            "cancelledAt": self.cancelled_at,
            "startsAt": self.started_at,
        }
