"""The local runtime: the deployable state machine on moto's ASL interpreter, the real
handlers in-process, the local Neptune emulator, and virtual time."""

from neptune_watch.local.clock import VirtualClock
from neptune_watch.local.runtime import LocalRuntime, RuntimeError_

__all__ = ["LocalRuntime", "RuntimeError_", "VirtualClock"]
