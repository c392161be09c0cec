"""Plain (CDK-free) property types shared by the construct and the ``cdk.json`` parser.

All are frozen dataclasses with keyword-only fields; defaults match
``lambdas/watcher/settings.py``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True)
class LoaderProps:
    """Where the Neptune Database cluster is, for the loader status / cancel functions.

    The VPC, subnets and security group are imported by their ids (never looked up), so
    synth needs no AWS credentials.
    """

    cluster_endpoint: str
    """Writer (cluster) endpoint host name, without scheme and port; the loader answers 405
    on a reader endpoint. The functions get ``NEPTUNE_ENDPOINT=https://<host>:<port>``."""
    cluster_resource_id: str
    """``DbClusterResourceId`` (``cluster-...``), used in the ``neptune-db`` IAM resource."""
    vpc_id: str
    """The cluster's VPC."""
    availability_zones: tuple[str, ...]
    """Availability zone of each private subnet, in the same order."""
    private_subnet_ids: tuple[str, ...]
    """Private subnets the loader functions run in (they need no internet access)."""
    security_group_id: str
    """Security group of the loader functions; the cluster's security group must allow it
    in on ``port``. Imported as immutable: this construct adds no rules to it."""
    private_subnet_route_table_ids: tuple[str, ...] = ()
    """Optional route table of each private subnet (only informative for CDK)."""
    port: int = 8182
    """Neptune's HTTPS port."""

    @property
    def endpoint_url(self) -> str:
        return f"https://{self.cluster_endpoint}:{self.port}"


@dataclass(frozen=True, kw_only=True)
class AnalyticsProps:
    """Settings of the Neptune Analytics (import / export task) functions."""

    graph_endpoint: str | None = None
    """Override of the regional ``neptune-graph`` endpoint (``NEPTUNE_GRAPH_ENDPOINT``)."""
    allowed_graph_ids: tuple[str, ...] = ()
    """Graphs whose tasks may be watched (``ALLOWED_GRAPH_IDS``); empty means any graph."""
    pass_role_arns: tuple[str, ...] = ()
    """IAM roles a start request may hand to Neptune Analytics (``roleArn`` of StartImportTask /
    StartExportTask; ``iam:PassRole`` is granted for these only, ``PASS_ROLE_ARNS``); empty means
    Analytics start requests are refused."""


@dataclass(frozen=True, kw_only=True)
class WatchDefaults:
    """Defaults of a watch request's optional fields (prepare function)."""

    timeout_seconds: int = 86400
    """``DEFAULT_TIMEOUT_SECONDS``: how long a watch lasts when the request does not say."""
    cancel_on_timeout: bool = False
    """``DEFAULT_CANCEL_ON_TIMEOUT``: cancel a job still running at the deadline."""
    max_errors: int = 10
    """``DEFAULT_MAX_ERRORS``: error details carried by an outcome."""


@dataclass(frozen=True, kw_only=True)
class PollPolicy:
    """Bounds of the poll policy and the continue-as-new thresholds (prepare function)."""

    min_wait_seconds: int = 12
    """``MIN_WAIT_SECONDS``: shortest wait between two polls."""
    max_wait_seconds: int = 175
    """``MAX_WAIT_SECONDS``: longest wait between two polls."""
    wait_fraction: float = 0.05
    """``WAIT_FRACTION``: wait as a fraction of the job's age, between the two bounds."""
    max_polls_per_execution: int = 1000
    """``MAX_POLLS_PER_EXECUTION``: polls before the watch continues as a new execution."""
    max_seconds_per_execution: int = 86400
    """``MAX_SECONDS_PER_EXECUTION``: seconds before it continues as a new execution."""


@dataclass(frozen=True, kw_only=True)
class EventBusProps:
    """The EventBridge bus outcomes are published to and requests are read from."""

    mode: str = "create"
    """``create`` (a custom bus), ``existing`` (by ``name`` or ``arn``) or ``default``."""
    name: str | None = None
    """Name of the bus to create (default: generated) or of the existing bus."""
    arn: str | None = None
    """ARN of an existing bus (same account and region: the request rule lives on it)."""


@dataclass(frozen=True, kw_only=True)
class TopicProps:
    """The SNS topic outcomes are published to."""

    arn: str | None = None
    """An existing topic; when ``None`` a topic encrypted with a new rotating CMK is created."""
    kms_key_arn: str | None = None
    """The customer managed key of the existing topic, if it has one (publish needs it)."""
