"""Names shared by the Lambda code, the CDK construct and the local runtime (one place each).

Standard library only: the functions import it at cold start, and the construct and the local
runtime import it to build what calls the functions. Defaults of the settings live in
:mod:`watcher.settings` with their environment variable names.

``FUNCTIONS`` is the one table of the deployed functions. A new function is one row here (and
its module under ``watcher/handlers``); the construct, the definition's placeholders, the
local runtime and the tests all read this table.
"""

from __future__ import annotations

from dataclasses import dataclass

SERVICE_NAME = "neptune-watch"
"""``POWERTOOLS_SERVICE_NAME`` and the ``service`` dimension of every metric."""
METRICS_NAMESPACE = "NeptuneWatch"
"""``POWERTOOLS_METRICS_NAMESPACE``: CloudWatch namespace of the functions' metrics."""

# Metrics the functions emit (Powertools EMF), read by the construct's alarms and dashboard.
METRIC_OUTCOMES = "Outcomes"  # finalize, dimension "outcome"
METRIC_POLLS = "Polls"  # every status call
METRIC_CANCELS = "Cancels"  # every cancel call
OUTCOME_DIMENSION = "outcome"

DEFAULT_REQUEST_SOURCE = "com.neptunewatch.requests"
"""``source`` of the "watch this job" events the request rule accepts."""
DEFAULT_OUTCOME_SOURCE = "com.neptunewatch"
"""``source`` of the outcome events the state machine publishes."""
REQUEST_DETAIL_TYPE = "Neptune Watch Requested"
RECOVER_KEY = "neptuneWatchRecover"
"""The recovery rule's input: ``{"neptuneWatchRecover": {"executionArn": <the ended execution>}}``."""
RECOVERY_STATUSES = ("ABORTED", "TIMED_OUT")
"""Execution statuses on which the recovery rule starts a recovery execution (the deployment's
EventBridge rule, and the local runtime playing it)."""


def _camel(key: str) -> str:
    return "".join(part.capitalize() for part in key.split("_"))


@dataclass(frozen=True)
class Function:
    """One deployed function: ``key`` is its module under ``watcher/handlers``."""

    key: str
    group: str
    """``core`` (no Neptune call), ``loader`` (Neptune Database, in the VPC) or ``analytics``."""
    description: str
    neptune_action: str | None = None
    """The one IAM action of Neptune the function calls, if any."""

    @property
    def handler(self) -> str:
        """The Lambda handler string."""
        return f"watcher.handlers.{self.key}.handler"

    @property
    def module(self) -> str:
        return f"watcher.handlers.{self.key}"

    @property
    def construct_id(self) -> str:
        return f"{_camel(self.key)}Function"

    @property
    def placeholder(self) -> str:
        """``${...}`` placeholder of the definition that receives the function's ARN."""
        return f"{_camel(self.key)}FunctionArn"

    @property
    def local_name(self) -> str:
        """Function name in the local runtime."""
        return "nw-" + self.key.replace("_", "-")


FUNCTIONS: tuple[Function, ...] = (
    Function("prepare", "core", "validate a watch request and build the watch state"),
    Function("finalize", "core", "build the outcome of a watch"),
    Function("loader_status", "loader", "one GetLoaderJobStatus call", "neptune-db:GetLoaderJobStatus"),
    Function("loader_cancel", "loader", "CancelLoaderJob", "neptune-db:CancelLoaderJob"),
    Function("import_status", "analytics", "one GetImportTask call", "neptune-graph:GetImportTask"),
    Function("import_cancel", "analytics", "CancelImportTask", "neptune-graph:CancelImportTask"),
    Function("export_status", "analytics", "one GetExportTask call", "neptune-graph:GetExportTask"),
    Function("export_cancel", "analytics", "CancelExportTask", "neptune-graph:CancelExportTask"),
    # start requests: the start action here; the list / get calls of the no-double-start check,
    # the graph resource and iam:PassRole are granted by stacks/start_grants.py
    Function("loader_start", "loader", "StartLoaderJob (a start request)", "neptune-db:StartLoaderJob"),
    Function("import_start", "analytics", "StartImportTask (a start request)", "neptune-graph:StartImportTask"),
    Function("export_start", "analytics", "StartExportTask (a start request)", "neptune-graph:StartExportTask"),
)
