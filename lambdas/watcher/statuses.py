"""Every status the Neptune services report, and what it means for a watch.

One table per job kind. A status is either still running or terminal; a terminal status
maps to exactly one outcome of the public contract (docs/CONTRACT.md section 2). Statuses that
are not in the tables are handled on purpose (see :func:`classify`), never looped on forever.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

JobKind = Literal["loader", "import", "export"]
KINDS: tuple[JobKind, ...] = ("loader", "import", "export")


class Outcome(StrEnum):
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"
    TIMED_OUT = "TIMED_OUT"
    NOT_FOUND = "NOT_FOUND"
    INVALID_REQUEST = "INVALID_REQUEST"
    ERROR = "ERROR"


class Phase(StrEnum):
    RUNNING = "RUNNING"
    CANCELLING = "CANCELLING"  # a cancel is under way; the job will end as cancelled
    TERMINAL = "TERMINAL"


RUN = (Phase.RUNNING, None)
S = Outcome.SUCCEEDED
F = Outcome.FAILED
C = Outcome.CANCELLED

# Neptune Database bulk loader: 15 statuses.
LOADER: dict[str, tuple[Phase, Outcome | None]] = {
    "LOAD_NOT_STARTED": RUN,
    "LOAD_IN_QUEUE": RUN,
    "LOAD_IN_PROGRESS": RUN,
    "LOAD_COMPLETED": (Phase.TERMINAL, S),
    "LOAD_CANCELLED_BY_USER": (Phase.TERMINAL, C),
    "LOAD_CANCELLED_DUE_TO_ERRORS": (Phase.TERMINAL, F),
    "LOAD_UNEXPECTED_ERROR": (Phase.TERMINAL, F),
    "LOAD_FAILED": (Phase.TERMINAL, F),
    "LOAD_S3_READ_ERROR": (Phase.TERMINAL, F),
    "LOAD_S3_ACCESS_DENIED_ERROR": (Phase.TERMINAL, F),
    "LOAD_COMMITTED_W_WRITE_CONFLICTS": (Phase.TERMINAL, F),
    "LOAD_DATA_DEADLOCK": (Phase.TERMINAL, F),
    "LOAD_DATA_FAILED_DUE_TO_FEED_MODIFIED_OR_DELETED": (Phase.TERMINAL, F),
    "LOAD_FAILED_BECAUSE_DEPENDENCY_NOT_SATISFIED": (Phase.TERMINAL, F),
    "LOAD_FAILED_INVALID_REQUEST": (Phase.TERMINAL, F),
}

# Neptune Analytics import task: 11 statuses (ROLLING_BACK ends as FAILED, but is still moving).
IMPORT: dict[str, tuple[Phase, Outcome | None]] = {
    "INITIALIZING": RUN,
    "EXPORTING": RUN,
    "ANALYZING_DATA": RUN,
    "IMPORTING": RUN,
    "REPROVISIONING": RUN,
    "ROLLING_BACK": RUN,
    "CANCELLING": (Phase.CANCELLING, None),
    "SUCCEEDED": (Phase.TERMINAL, S),
    "FAILED": (Phase.TERMINAL, F),
    "CANCELLED": (Phase.TERMINAL, C),
    "DELETED": (Phase.TERMINAL, F),
}

# Neptune Analytics export task: 7 statuses.
EXPORT: dict[str, tuple[Phase, Outcome | None]] = {
    "INITIALIZING": RUN,
    "EXPORTING": RUN,
    "CANCELLING": (Phase.CANCELLING, None),
    "SUCCEEDED": (Phase.TERMINAL, S),
    "FAILED": (Phase.TERMINAL, F),
    "CANCELLED": (Phase.TERMINAL, C),
    "DELETED": (Phase.TERMINAL, F),
}

TABLES: dict[str, dict[str, tuple[Phase, Outcome | None]]] = {
    "loader": LOADER,
    "import": IMPORT,
    "export": EXPORT,
}

# Older Analytics documentation names these; they behave like their modern spellings.
# ERROR_ENCOUNTERED is "an error has been encountered while trying to create the graph and
# import the data" and ERROR_ENCOUNTERED_ROLLING_BACK "because of the error ..., the graph is
# being rolled back" (GetImportTask's status in the AWS SDK references): an error was met and a
# rollback follows, like ROLLING_BACK ("will be rolled back and eventually marked as FAILED",
# Neptune Analytics user guide, bulk-import-checking-details). None of them is the end: the
# watch keeps polling to report the service's final status, for at most the rollback bound
# (settings.rollback_max_seconds, see watch.py).
ALIASES: dict[str, dict[str, str]] = {
    "import": {
        "RE_PROVISIONING": "REPROVISIONING",
        "ERROR_ENCOUNTERED_ROLLING_BACK": "ROLLING_BACK",
        "ERROR_ENCOUNTERED": "ROLLING_BACK",
    },
    "export": {},
    "loader": {},
}

# Running statuses that mean the job already met an error and is being undone: it will end
# as FAILED. The watch bounds how long it waits for that end.
ROLLING_BACK = {"import": frozenset({"ROLLING_BACK"}), "export": frozenset(), "loader": frozenset()}

# The status a cancel we make leads to, per kind.
CANCELLED_STATUS = {"loader": "LOAD_CANCELLED_BY_USER", "import": "CANCELLED", "export": "CANCELLED"}


@dataclass(frozen=True)
class Classification:
    """What a raw status means. ``known`` is False for a status outside the tables."""

    status: str | None
    phase: Phase
    outcome: Outcome | None
    known: bool
    rolling_back: bool = False


def classify(kind: str, status: str | None) -> Classification:
    """Classify a raw status of a job of ``kind``.

    An unknown status is treated as *running* (the services add statuses over time and a
    new one is more often an intermediate step than an end) but is flagged ``known=False``
    so that the watch can bound how long it tolerates it; see ``watch.py``. A missing status
    is unknown too.
    """
    table = TABLES[kind]
    if status is not None:
        canonical = ALIASES[kind].get(status, status)
        if canonical in table:
            phase, outcome = table[canonical]
            return Classification(status, phase, outcome, True, canonical in ROLLING_BACK[kind])
    return Classification(status, Phase.RUNNING, None, False)
