"""The one typed configuration model: ``cdk.json``'s ``neptune-watch`` context, the construct's
properties and the Lambda settings share it.

- Defaults of the Lambda settings come from :class:`watcher.settings.Settings` (one place), the
  environment variable names from ``watcher.settings.ENV``.
- :class:`NeptuneWatchProps` (``props.py``) extends :class:`WatchSettings` with the CDK objects a
  CDK user passes (``IVpc``, ``ITopic``, ``IEventBus``, ``IKey``, ...);
  :class:`WatchConfig` extends it with what only ``cdk.json`` says (stack name, examples).
- JSON keys are the camelCase of the field names; keys starting with ``//`` are comments; any
  other unknown key is an error, so a typo never silently falls back to a default.

Nothing here imports the CDK: ``cdk.json`` is validated without starting jsii.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator

from neptune_watch import resources

from ._model import Model as _Model
from ._model import explain, validating
from .channel_config import TOPIC_ARN as _TOPIC_ARN
from .channel_config import EventBusProps, TopicProps
from .errors import ConfigError, ReaderEndpointError
from .powertools import DEFAULT_LAYER_VERSION, check_layer_arn

resources.require_watcher()
from watcher.names import DEFAULT_OUTCOME_SOURCE, DEFAULT_REQUEST_SOURCE  # noqa: E402
from watcher.settings import Settings  # noqa: E402

CONTEXT_KEY = "neptune-watch"
DEFAULT_STACK_NAME = "NeptuneWatch"
# CloudWatch Logs accepts exactly these retention periods.
RETENTION_DAYS = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557,
    2922, 3288, 3653,
)  # fmt: skip
# A poll costs ~9 history events; continue-as-new must come well before 25,000.
MAX_POLLS_PER_EXECUTION = 2500
_LAMBDA = Settings()

_HOST = r"^[A-Za-z0-9]([A-Za-z0-9-]{0,62})(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}))*$"
_SOURCE = r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,255}$"


class WatchDefaults(_Model):
    """Defaults of a watch request's optional fields (prepare function)."""

    timeout_seconds: int = Field(_LAMBDA.default_timeout_seconds, ge=1, le=_LAMBDA.max_timeout_seconds)
    cancel_on_timeout: bool = Field(_LAMBDA.default_cancel_on_timeout, strict=True)
    max_errors: int = Field(_LAMBDA.default_max_errors, ge=0, le=_LAMBDA.max_max_errors)

    def lambda_settings(self) -> dict[str, Any]:
        return {"default_timeout_seconds": self.timeout_seconds,
                "default_cancel_on_timeout": self.cancel_on_timeout, "default_max_errors": self.max_errors}  # fmt: skip


class PollPolicy(_Model):
    """Bounds of the poll policy and the continue-as-new thresholds (prepare function)."""

    min_wait_seconds: int = Field(_LAMBDA.min_wait_seconds, ge=1, le=3600)
    max_wait_seconds: int = Field(_LAMBDA.max_wait_seconds, ge=1, le=86400)
    wait_fraction: float = Field(_LAMBDA.wait_fraction, gt=0.0, le=1.0)
    max_polls_per_execution: int = Field(_LAMBDA.max_polls_per_execution, ge=1, le=MAX_POLLS_PER_EXECUTION)
    max_seconds_per_execution: int = Field(_LAMBDA.max_seconds_per_execution, ge=60, le=300 * 86400)

    @model_validator(mode="after")
    def _bounds(self) -> PollPolicy:
        if self.min_wait_seconds > self.max_wait_seconds:
            raise ValueError(f"minWaitSeconds ({self.min_wait_seconds}) exceeds maxWaitSeconds ({self.max_wait_seconds})")
        return self

    def lambda_settings(self) -> dict[str, Any]:
        return self.model_dump()


class AnalyticsProps(_Model):
    """Settings of the Neptune Analytics (import / export task) functions."""

    graph_endpoint: str | None = Field(None, pattern=r"^https://\S+$")
    """Override of the regional ``neptune-graph`` endpoint (an https:// URL)."""
    allowed_graph_ids: tuple[str, ...] = ()
    """Graphs whose tasks may be watched; empty (or ``["*"]``) means any graph."""
    pass_role_arns: tuple[str, ...] = ()
    """IAM roles a start request may hand to Neptune Analytics (``roleArn`` of StartImportTask /
    StartExportTask): ``iam:PassRole`` is granted for these only; empty means Analytics start
    requests are refused."""

    @field_validator("pass_role_arns", mode="before")
    @classmethod
    def _pass_roles(cls, value: Any) -> Any:
        for i, arn in enumerate(value or ()):
            if not isinstance(arn, str) or not re.fullmatch(r"arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}", arn):
                raise ValueError(f"passRoleArns[{i}] = {arn!r}: expected an IAM role ARN arn:aws:iam::<account>:role/<name> (no wildcards)")
        return value

    def start_settings(self) -> dict[str, Any]:
        """What prepare checks start requests against: the allowed graphs and pass roles."""
        out: dict[str, Any] = {"check_pass_roles": True, "pass_role_arns": self.pass_role_arns}
        if self.allowed_graph_ids:
            out["allowed_graph_ids"] = self.allowed_graph_ids
        return out

    @field_validator("allowed_graph_ids", mode="before")
    @classmethod
    def _graphs(cls, value: Any) -> Any:
        if value == ["*"] or value == ("*",):
            return ()
        for i, graph in enumerate(value or ()):
            if not isinstance(graph, str) or not graph.startswith("g-") or len(graph) != 12:
                raise ValueError(f"allowedGraphIds[{i}] = {graph!r}: expected g-[a-z0-9]{{10}} (or [\"*\"] for any graph)")
        return value

    def lambda_settings(self) -> dict[str, Any]:
        out: dict[str, Any] = {"allowed_graph_ids": self.allowed_graph_ids} if self.allowed_graph_ids else {}
        if self.graph_endpoint:
            out["graph_endpoint"] = self.graph_endpoint
        return out


class LoaderProps(_Model):
    """The Neptune Database cluster and the network the loader functions run in.

    Give the network as CDK objects (``vpc``, optional ``vpc_subnets`` and
    ``security_groups``) or, as ``cdk.json`` does, by attributes (``vpc_id``,
    ``availability_zones``, ``private_subnet_ids``, ``security_group_id``): they are imported,
    never looked up, so synth needs no AWS credentials. Without security groups the construct
    creates one; allow it into the cluster with ``watch.connections.allow_to(...)``.
    """

    cluster_endpoint: str
    """Writer (cluster) endpoint host name, without https:// and port."""
    cluster_resource_id: str
    """``DbClusterResourceId`` (``cluster-...``), not the cluster's name."""
    port: int = Field(8182, ge=1, le=65535)
    vpc: Any = None
    """``ec2.IVpc`` of the cluster."""
    vpc_subnets: Any = None
    """``ec2.SubnetSelection`` for the loader functions (default: the VPC's private subnets)."""
    security_groups: tuple[Any, ...] = ()
    """``ec2.ISecurityGroup`` of the loader functions (default: one created by the construct)."""
    vpc_id: str | None = Field(None, pattern=r"^vpc-[0-9a-f]{8,17}$")
    availability_zones: tuple[str, ...] = ()
    private_subnet_ids: tuple[str, ...] = ()
    private_subnet_route_table_ids: tuple[str, ...] = ()
    security_group_id: str | None = Field(None, pattern=r"^sg-[0-9a-f]{8,17}$")

    @field_validator("cluster_resource_id")
    @classmethod
    def _resource_id(cls, value: str) -> str:
        if not re.fullmatch(r"cluster-[A-Z0-9]{10,40}", value):
            raise ValueError(f"{value!r} is not a cluster resource id (DbClusterResourceId, cluster-ABC...), not its name")
        return value

    @field_validator("cluster_endpoint")
    @classmethod
    def _writer(cls, value: str) -> str:
        if len(value) > 253 or not re.fullmatch(_HOST, value):
            raise ValueError(
                f"{value!r}: expected the cluster (writer) endpoint host name, without https:// and port, "
                "e.g. my-cluster.cluster-abc.us-east-1.neptune.amazonaws.com"
            )
        if ".cluster-ro-" in value:
            raise ReaderEndpointError(
                f"clusterEndpoint {value!r} is the reader endpoint: the loader API answers only on the "
                "writer (cluster) endpoint, <name>.cluster-<id>.<region>.neptune.amazonaws.com"
            )
        return value

    @model_validator(mode="after")
    def _network(self) -> LoaderProps:
        by_id = self.vpc_id is not None
        if by_id == (self.vpc is not None):
            raise ValueError("give the loader network either as vpc (an IVpc) or as vpcId + privateSubnetIds, exactly one")
        if by_id:
            if not self.private_subnet_ids:
                raise ValueError("privateSubnetIds must list at least one subnet-<hex>")
            if len(self.availability_zones) != len(self.private_subnet_ids):
                raise ValueError("availabilityZones must name the zone of each private subnet, in the same order")
            if self.private_subnet_route_table_ids and len(self.private_subnet_route_table_ids) != len(self.private_subnet_ids):
                raise ValueError("privateSubnetRouteTableIds must have one entry per private subnet, or be left out")
            if self.security_group_id is None:
                raise ValueError("securityGroupId is required with vpcId")
        return self

    @property
    def endpoint_url(self) -> str:
        return f"https://{self.cluster_endpoint}:{self.port}"


class WatchSettings(_Model):
    """What ``cdk.json`` and the construct both configure."""

    loader: LoaderProps | None = None
    analytics: AnalyticsProps = AnalyticsProps()
    defaults: WatchDefaults = WatchDefaults()
    poll_policy: PollPolicy = PollPolicy()
    event_bus: EventBusProps = EventBusProps()
    topic: TopicProps = TopicProps()
    state_machine_name: str | None = Field(None, pattern=r"^[A-Za-z0-9_-]{1,80}$")
    request_source: str = Field(DEFAULT_REQUEST_SOURCE, pattern=_SOURCE)
    outcome_source: str = Field(DEFAULT_OUTCOME_SOURCE, pattern=_SOURCE)
    powertools_layer_version: int = Field(DEFAULT_LAYER_VERSION, ge=1, le=100000, strict=True)
    powertools_layer_arn: str | None = None
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    log_retention_days: int = 30
    log_removal_policy: Literal["retain", "destroy"] = "retain"
    state_machine_log_level: Literal["ALL", "ERROR"] = "ALL"
    lock_table_removal_policy: Literal["destroy", "retain"] = "destroy"
    alarm_topic_arn: str | None = Field(None, pattern=_TOPIC_ARN)
    alarms: bool = Field(True, strict=True)
    """CloudWatch alarms on failed, timed-out, aborted, throttled executions and ERROR outcomes."""
    dashboard: bool = Field(False, strict=True)
    """A CloudWatch dashboard: outcomes by kind, polls, errors, publication failures."""

    @field_validator("log_level", "state_machine_log_level", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @field_validator("log_retention_days")
    @classmethod
    def _retention(cls, value: int) -> int:
        if value not in RETENTION_DAYS:
            raise ValueError(f"{value}: CloudWatch Logs accepts {', '.join(map(str, RETENTION_DAYS))}")
        return value

    @field_validator("request_source", "outcome_source")
    @classmethod
    def _not_aws(cls, value: str) -> str:
        if value.lower().startswith("aws."):
            raise ValueError(f"{value!r}: EventBridge reserves sources starting with 'aws.'")
        return value

    @field_validator("powertools_layer_arn")
    @classmethod
    def _layer(cls, value: str | None) -> str | None:
        return None if value is None else check_layer_arn(value)

    @model_validator(mode="after")
    def _sources(self) -> WatchSettings:
        if self.request_source == self.outcome_source:
            raise ValueError(
                f"requestSource and outcomeSource are both {self.request_source!r}: they must differ, "
                "or the request rule would match the watcher's own outcome events"
            )
        return self


class WatchConfig(WatchSettings):
    """The ``neptune-watch`` context object of ``cdk.json``."""

    stack_name: str = Field(DEFAULT_STACK_NAME, pattern=r"^[A-Za-z][A-Za-z0-9-]{0,127}$")
    examples: bool = Field(False, strict=True)

    @model_validator(mode="before")
    @classmethod
    def _json_only(cls, data: Any) -> Any:
        loader = data.get("loader") if isinstance(data, dict) else None
        if isinstance(loader, dict):
            objects = sorted({"vpc", "vpcSubnets", "securityGroups"} & set(loader))
            if objects:
                raise ValueError(f"loader: {objects} take CDK objects; in cdk.json give vpcId, privateSubnetIds, ...")
        return data

    @property
    def effective_state_machine_name(self) -> str:
        return self.state_machine_name or default_state_machine_name(self.stack_name)


def default_state_machine_name(stack_name: str) -> str:
    """``<stack name>-watch``, cut to the 80 characters Step Functions allows."""
    suffix = "-watch"
    return stack_name[: 80 - len(suffix)] + suffix


def parse_config(data: Any, where: str = CONTEXT_KEY) -> WatchConfig:
    """A validated :class:`WatchConfig` from the context object; ConfigError otherwise."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{where} must be a JSON object, got {type(data).__name__}")
    try:
        with validating():
            return WatchConfig.model_validate(data)
    except ValidationError as exc:
        raise explain(exc, where) from None
