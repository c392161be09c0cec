"""When to poll next: the adaptive polling policy.

Users want a 2-minute load reported within seconds and a 2-day load within minutes. The
detection delay (job end to our poll) of a wait ``w`` started at elapsed time ``t`` is at
most ``w``; a job that ends during it ran for more than ``t``. So a wait of
``fraction * t`` keeps the delay under ``fraction`` of the job's runtime, and the bounds
keep it sane: never under ``min_wait`` (early polls are cheap and fast answers matter),
never over ``max_wait`` (long jobs are still reported within minutes).

The time that counts is the *job's* age where the service reports when the job started
(loader ``overallStatus.startTime``; Analytics ``importTaskDetails.startTime`` /
``exportTaskDetails.startTime``): a watch started on a job that has run for hours polls as
for a job of that age, not as for one that has just begun. Only a plausible start counts
(:func:`plausible_start`): one after the service existed and not after now. Without one (none
reported, a zero, negative or pre-launch value, a clock ahead of ours, a value in the wrong unit)
the watch's own age is used (:func:`pacing_age`), so a bad start can never make a job look
decades old and push the first wait to the cap.

Where the service reports progress (Neptune Analytics ``progressPercentage``), the expected
end is estimated from it, and the watch wakes up near that end rather than after it: the
wait is shortened, never lengthened, so a job that fails without warning is still caught
within the same bound.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class PollPolicy:
    min_wait: int = 14
    max_wait: int = 179
    fraction: float = 0.05

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> PollPolicy:
        data = data or {}
        d = cls()
        return cls(
            min_wait=int(data.get("minWaitSeconds", d.min_wait)),
            max_wait=int(data.get("maxWaitSeconds", d.max_wait)),
            fraction=float(data.get("fraction", d.fraction)),
        )

    def as_dict(self) -> dict[str, Any]:
        return {"minWaitSeconds": self.min_wait, "maxWaitSeconds": self.max_wait, "fraction": self.fraction}

    def base_wait(self, elapsed: float) -> float:
        """The time-based wait after ``elapsed`` seconds of watching."""
        return min(max(self.fraction * max(elapsed, 0.0), self.min_wait), self.max_wait)

    def next_wait(
        self,
        elapsed: float,
        *,
        progress_percent: float | None = None,
        progress_elapsed: float | None = None,
        until_deadline: float | None = None,
    ) -> int:
        """Seconds to wait before the next poll (an integer >= 1 for a Wait state).

        ``progress_elapsed`` is how long the job itself has run when it reported
        ``progress_percent`` (defaults to ``elapsed``).
        """
        wait = self.base_wait(elapsed)
        eta = estimate_remaining(progress_percent, progress_elapsed if progress_elapsed is not None else elapsed)
        if eta is not None and eta < wait:
            # Wake up just after the estimated end, but not absurdly often, and never later
            # than the time-based wait would have.
            wait = min(wait, max(eta + 1.0, float(self.min_wait)))
        if until_deadline is not None and until_deadline < wait:
            # Land on (not just before) the deadline, so the next poll can call the timeout.
            return max(1, math.ceil(until_deadline))
        # Whole seconds for the Wait state, rounded down so rounding never lengthens a wait.
        return max(1, math.floor(wait))


#: The earliest start a job of each kind can report, in unix seconds: Amazon Neptune (and its
#: bulk loader) became generally available on 2018-05-30; the Neptune Analytics API's version,
#: in botocore's ``neptune-graph`` model, is 2023-11-29. A start before that is not a real one.
SERVICE_LAUNCH_EPOCH: dict[str, int] = {
    "loader": 1_527_638_400,  # 2018-05-30T00:00:00Z
    "import": 1_701_216_000,  # 2023-11-29T00:00:00Z
    "export": 1_701_216_000,
}


def plausible_start(job_start_epoch: Any, now: float, kind: str | None = None) -> float | None:
    """The job's start in unix seconds if it can be true, else None.

    True means a finite number, not after ``now`` (a start ahead of our clock says the clocks
    disagree, not how old the job is) and not before the service of ``kind`` existed (any kind:
    the oldest launch). Zero, negative and pre-launch values, and a start that was read in the
    wrong unit (microseconds read as milliseconds land tens of thousands of years ahead), fail.
    The unit itself (whole milliseconds at most) is checked where the answer is read
    (:func:`watcher.normalize.start_epoch`).
    """
    if isinstance(job_start_epoch, bool):
        return None
    try:
        start = float(job_start_epoch)
    except (TypeError, ValueError):
        return None
    earliest = SERVICE_LAUNCH_EPOCH.get(kind or "", min(SERVICE_LAUNCH_EPOCH.values()))
    if not math.isfinite(start) or start < earliest or start > now:
        return None
    return start


def pacing_age(watch_elapsed: float, job_start_epoch: Any, now: float, kind: str | None = None) -> float:
    """The age the policy paces polls by: the job's own, where the service reported a
    plausible start (:func:`plausible_start`), else the watch's.

    A job that started after the watch began (it was queued) is paced by its own, shorter age:
    that only shortens waits.
    """
    start = plausible_start(job_start_epoch, now, kind)
    return watch_elapsed if start is None else now - start


def estimate_remaining(percent: float | None, elapsed: float) -> float | None:
    """Seconds left if the job keeps its average pace, or None when progress says nothing."""
    if percent is None or elapsed <= 0:
        return None
    try:
        p = float(percent)
    except (TypeError, ValueError):
        return None
    if not 0 < p < 100:
        return None
    return elapsed * (100.0 - p) / p
