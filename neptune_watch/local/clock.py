"""Virtual time shared by every state machine execution, the handlers and the emulator.

A discrete-event clock. Threads that run executions are *participants*. A participant is
busy, sleeping (a Wait state or a Retry interval: it wakes at a virtual time), or idle
(blocked on another participant: a parent waiting for a child or for a task token). When
no participant is busy and someone sleeps, time jumps to the earliest wake-up. So a day-long
Wait costs nothing, and concurrent executions still see one coherent timeline.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import threading
import time
from collections.abc import Iterator
from typing import Any


class _Sleeper:
    __slots__ = ("claimed", "event", "wake", "woken")

    def __init__(self, wake: float) -> None:
        self.wake = wake
        self.woken = False
        self.claimed = False  # taken off the timeline by claim(): already counted busy again
        # Each sleeper waits on its own event: waking a few of hundreds of sleepers must not
        # wake them all (a shared Condition's notify_all did, at every step of time).
        self.event = threading.Event()


class VirtualClock:
    def __init__(self, start_epoch: float | None = None) -> None:
        self.start_epoch = time.time() if start_epoch is None else start_epoch
        self._now = 0.0
        self._busy = 0
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, _Sleeper]] = []
        self._seq = itertools.count()
        self._local = threading.local()
        self._closed = False

    # Reading -------------------------------------------------------------------------
    def now(self) -> float:
        """Virtual seconds since the clock started."""
        with self._cond:
            return self._now

    def epoch(self) -> float:
        """Virtual time as unix seconds."""
        return self.start_epoch + self.now()

    @property
    def busy(self) -> int:
        with self._cond:
            return self._busy

    # Participants ----------------------------------------------------------------------
    def _depth(self) -> int:
        return getattr(self._local, "depth", 0)

    def enter(self) -> None:
        """Count one more busy participant (call before its thread starts)."""
        with self._cond:
            self._busy += 1

    def leave(self) -> None:
        """A participant is done for good."""
        with self._cond:
            self._busy -= 1
            self._advance()

    def adopt(self) -> None:
        """Mark the current thread as a participant already counted by ``enter``."""
        self._local.depth = self._depth() + 1

    def disown(self) -> None:
        self._local.depth = max(0, self._depth() - 1)

    # Time passing ------------------------------------------------------------------------
    def sleep(self, seconds: float) -> None:
        """Sleep ``seconds`` of virtual time."""
        if seconds <= 0 or self._closed:
            return
        participant = self._depth() > 0
        with self._cond:
            if not participant:
                self._busy += 1
            sleeper = _Sleeper(self._now + seconds)
            heapq.heappush(self._heap, (sleeper.wake, next(self._seq), sleeper))
            self._busy -= 1
            self._advance()
            if self._closed:
                sleeper.event.set()
        sleeper.event.wait()  # set by _advance (which counts us busy again) or by close
        if not participant:
            with self._cond:
                self._busy -= 1
                self._advance()

    def wait_for(self, event: threading.Event, seconds: float) -> bool:
        """Block until ``event`` is set or ``seconds`` of virtual time pass, idle meanwhile (a
        task-token wait with a timeout); True if the event was set first.

        The timeout is a sleeper whose event *is* ``event``: time reaching it sets ``event``
        (the waiter then finds nothing set the outcome: a timeout). An event set by someone
        else first takes the sleeper out again, so it holds no virtual time in the future.
        """
        if self._closed:
            return event.is_set()
        participant = self._depth() > 0
        with self._cond:
            if not participant:
                self._busy += 1
            sleeper = _Sleeper(self._now + max(0.0, seconds))
            sleeper.event = event
            entry = (sleeper.wake, next(self._seq), sleeper)
            heapq.heappush(self._heap, entry)
            self._busy -= 1
            self._advance()
        event.wait()
        with self._cond:
            timed_out = sleeper.woken  # _advance counted us busy again when it woke us
            if not timed_out and not sleeper.claimed:
                with contextlib.suppress(ValueError):
                    self._heap.remove(entry)
                    heapq.heapify(self._heap)
                self._busy += 1
            if not participant:
                self._busy -= 1
                self._advance()
        return not timed_out

    def claim(self, event: threading.Event) -> None:
        """``event`` is about to be set from outside (a stop, a task token's answer): take the
        ``wait_for`` blocked on it off the timeline now and count it busy again, so virtual
        time cannot jump to its timeout between the set and the waiter waking up. The caller
        then sets the event. No waiter on it: nothing to do."""
        with self._cond:
            for index, (_, _, sleeper) in enumerate(self._heap):
                if sleeper.event is event and not sleeper.woken:
                    self._heap.pop(index)
                    heapq.heapify(self._heap)
                    sleeper.claimed = True
                    self._busy += 1
                    return

    @contextlib.contextmanager
    def idle(self) -> Iterator[None]:
        """Block on other participants without holding virtual time still."""
        if self._depth() == 0:
            yield
            return
        with self._cond:
            self._busy -= 1
            self._advance()
        try:
            yield
        finally:
            with self._cond:
                self._busy += 1

    def close(self) -> None:
        """Wake every sleeper for good (the runtime is going away); later sleeps return at once."""
        with self._cond:
            self._closed = True
            for _, _, sleeper in self._heap:
                sleeper.event.set()
            self._cond.notify_all()

    def _advance(self) -> None:
        # Caller holds the lock.
        if self._busy > 0 or not self._heap:
            return
        wake = self._heap[0][0]
        if wake > self._now:
            self._now = wake
        while self._heap and self._heap[0][0] <= self._now:
            _, _, sleeper = heapq.heappop(self._heap)
            sleeper.woken = True
            self._busy += 1
            sleeper.event.set()


def participant_thread(
    clock: VirtualClock, *args: Any, target: Any = None, inherit: bool = False, **kwargs: Any
) -> threading.Thread:
    """A thread that runs ``target`` as a participant of ``clock`` (virtual time waits for it
    while it runs). With ``inherit`` it is one only if the thread creating it is one: the
    interpreters make a thread per task, and a task of an execution counts, a stray one not."""
    adopt = not inherit or clock._depth() > 0

    def run(*a: Any, **kw: Any) -> None:
        if adopt:
            clock.adopt()
        try:
            target(*a, **kw)
        finally:
            if adopt:
                clock.disown()

    return threading.Thread(*args, target=run, **kwargs)
