"""The deployment configuration: the ``neptune-watch`` context object of ``cdk.json``.

Everything is optional except what a loader watch needs to reach the cluster (the ``loader``
block; leave it out for a deployment that only watches Neptune Analytics tasks). Keys starting
with ``//`` are comments and are ignored; any other unknown key is an error, so a typo never
silently falls back to a default. Schema (JSON, camelCase; defaults in brackets):

``stackName``               CloudFormation stack name ["NeptuneWatch"]
``stateMachineName``        explicit state machine name ["<stackName>-watch"]
``powertoolsLayerVersion``  version N of the public Powertools layer
                            ``AWSLambdaPowertoolsPythonV3-python314-arm64:N`` [37]
``powertoolsLayerArn``      full layer ARN instead (other partitions, a private copy) [null]
``logLevel``                POWERTOOLS_LOG_LEVEL of the functions ["INFO"]
``logRetentionDays``        retention of every log group, one of CloudWatch's values [30]
``logRemovalPolicy``        "retain" | "destroy": log groups on stack deletion ["retain"]
``stateMachineLogLevel``    "ALL" | "ERROR" (execution data is always included) ["ALL"]
``requestSource``           ``source`` of "watch this job" events ["com.neptunewatch.requests"]
``outcomeSource``           ``source`` of the outcome events the watcher publishes
                            ["com.neptunewatch"]
``eventBus``                {"mode": "create" | "existing" | "default", "name", "arn"}
                            [{"mode": "create"}]; "existing" needs a name or an ARN of a bus in
                            this account and region
``topic``                   {"arn": existing topic ARN, "kmsKeyArn": its CMK, if any}
                            [null: create a topic encrypted with a new rotating CMK]
``alarmTopicArn``           SNS topic for alarm actions [null: alarms without actions]
``lockTableRemovalPolicy``  "destroy" | "retain" ["destroy"; the table holds only
                            short-lived locks]
``loader``                  {"clusterEndpoint", "clusterResourceId", "port" [8182], "vpcId",
                            "availabilityZones", "privateSubnetIds",
                            "privateSubnetRouteTableIds" [optional], "securityGroupId"}
``analytics``               {"graphEndpoint" [null], "allowedGraphIds" [[] = any graph],
                            "passRoleArns" [[]: IAM role ARNs start requests may pass to
                            StartImportTask / StartExportTask; none = no Analytics starts]}
``defaults``                {"timeoutSeconds" [86400], "cancelOnTimeout" [false],
                            "maxErrors" [10]}: request defaults
``pollPolicy``              {"minWaitSeconds" [12], "maxWaitSeconds" [175],
                            "waitFraction" [0.05], "maxPollsPerExecution" [1000],
                            "maxSecondsPerExecution" [86400]}
``examples``                deploy the two example parent state machines [false]
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .props import AnalyticsProps, EventBusProps, LoaderProps, PollPolicy, TopicProps, WatchDefaults

CONTEXT_KEY = "neptune-watch"

DEFAULT_STACK_NAME = "NeptuneWatch"
DEFAULT_REQUEST_SOURCE = "com.neptunewatch.requests"
DEFAULT_OUTCOME_SOURCE = "com.neptunewatch"
REQUEST_DETAIL_TYPE = "Neptune Watch Requested"
# The newest python314-arm64 layer version the Powertools install page listed when this
# was written ("Lambda Layer" section of docs.powertools.aws.dev/lambda/python, getting
# started / install). Override with ``powertoolsLayerVersion``.
DEFAULT_POWERTOOLS_LAYER_VERSION = 37

# CloudWatch Logs accepts exactly these retention periods.
RETENTION_DAYS = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557,
    2922, 3288, 3653,
)  # fmt: skip
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
MAX_TIMEOUT_SECONDS = 360 * 86400  # watcher.settings.Settings.max_timeout_seconds
MAX_MAX_ERRORS = 1000  # watcher.settings.Settings.max_max_errors
# A poll costs ~9 history events; continue-as-new must come well before 25,000.
MAX_POLLS_PER_EXECUTION = 2500

_STACK_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9-]{0,127}$")
_SM_NAME = re.compile(r"^[A-Za-z0-9_-]{1,80}$")
_SOURCE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,255}$")
_BUS_NAME = re.compile(r"^[A-Za-z0-9._/-]{1,256}$")
_HOST = re.compile(
    r"^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,62})(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}))*$"
)
_CLUSTER_RESOURCE_ID = re.compile(r"^cluster-[A-Z0-9]{10,40}$")
_VPC = re.compile(r"^vpc-[0-9a-f]{8,17}$")
_SUBNET = re.compile(r"^subnet-[0-9a-f]{8,17}$")
_RTB = re.compile(r"^rtb-[0-9a-f]{8,17}$")
_SG = re.compile(r"^sg-[0-9a-f]{8,17}$")
_AZ = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d[a-z]$")
_GRAPH_ID = re.compile(r"^g-[a-z0-9]{10}$")
_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}$")  # no wildcards
_ARN = r"^arn:aws[a-z-]*:{service}:[a-z0-9-]+:\d{{12}}:{resource}$"
_TOPIC_ARN = re.compile(_ARN.format(service="sns", resource=r"[A-Za-z0-9_-]{1,256}(\.fifo)?"))
_BUS_ARN = re.compile(_ARN.format(service="events", resource=r"event-bus/[A-Za-z0-9._/-]{1,256}"))
_KEY_ARN = re.compile(_ARN.format(service="kms", resource=r"key/[A-Za-z0-9-]{1,128}"))
_LAYER_ARN = re.compile(_ARN.format(service="lambda", resource=r"layer:[A-Za-z0-9_-]{1,140}:\d+"))


class ConfigError(ValueError):
    """The ``neptune-watch`` context is invalid; the message names the key and the fix."""


# --- typed configuration --------------------------------------------------------------


@dataclass(frozen=True)
class WatchConfig:
    stack_name: str = DEFAULT_STACK_NAME
    state_machine_name: str | None = None
    powertools_layer_version: int = DEFAULT_POWERTOOLS_LAYER_VERSION
    powertools_layer_arn: str | None = None
    log_level: str = "INFO"
    log_retention_days: int = 30
    log_removal_policy: str = "retain"
    state_machine_log_level: str = "ALL"
    request_source: str = DEFAULT_REQUEST_SOURCE
    outcome_source: str = DEFAULT_OUTCOME_SOURCE
    event_bus: EventBusProps = field(default_factory=EventBusProps)
    topic: TopicProps = field(default_factory=TopicProps)
    alarm_topic_arn: str | None = None
    lock_table_removal_policy: str = "destroy"
    loader: LoaderProps | None = None
    analytics: AnalyticsProps = field(default_factory=AnalyticsProps)
    defaults: WatchDefaults = field(default_factory=WatchDefaults)
    poll_policy: PollPolicy = field(default_factory=PollPolicy)
    examples: bool = False

    @property
    def effective_state_machine_name(self) -> str:
        return self.state_machine_name or default_state_machine_name(self.stack_name)


def default_state_machine_name(stack_name: str) -> str:
    """``<stack name>-watch``, cut to the 80 characters Step Functions allows."""
    suffix = "-watch"
    return stack_name[: 80 - len(suffix)] + suffix


# --- parsing --------------------------------------------------------------------------


class _Reader:
    """Reads one JSON object, tracking the path for messages and rejecting unknown keys."""

    def __init__(self, data: Any, path: str):
        if data is None:
            data = {}
        if not isinstance(data, Mapping):
            raise ConfigError(f"{path} must be a JSON object, got {type(data).__name__}")
        self.data = data
        self.path = path
        self.seen: set[str] = set()

    def where(self, key: str) -> str:
        return f"{self.path}.{key}"

    def raw(self, key: str) -> Any:
        self.seen.add(key)
        return self.data.get(key)

    def string(
        self, key: str, default: str | None, pattern: re.Pattern[str] | None = None, hint: str = ""
    ) -> Any:
        value = self.raw(key)
        if value is None:
            return default
        if not isinstance(value, str) or not value:
            raise ConfigError(f"{self.where(key)} must be a non-empty string, got {value!r}")
        if pattern is not None and not pattern.match(value):
            raise ConfigError(
                f"{self.where(key)} = {value!r} is not valid{': ' + hint if hint else ''}"
            )
        return value

    def choice(
        self, key: str, default: str, choices: tuple[str, ...], *, fold: bool = False
    ) -> str:
        value = self.raw(key)
        if value is None:
            return default
        text = value.upper() if fold and isinstance(value, str) else value
        if text not in choices:
            raise ConfigError(
                f"{self.where(key)} = {value!r}: expected one of {', '.join(choices)}"
            )
        return text

    def integer(self, key: str, default: int, lo: int, hi: int) -> int:
        value = self.raw(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{self.where(key)} must be an integer, got {value!r}")
        if not lo <= value <= hi:
            raise ConfigError(f"{self.where(key)} = {value} is out of range [{lo}, {hi}]")
        return value

    def number(self, key: str, default: float, lo: float, hi: float) -> float:
        value = self.raw(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{self.where(key)} must be a number, got {value!r}")
        if not lo < value <= hi:
            raise ConfigError(f"{self.where(key)} = {value} must be in ({lo}, {hi}]")
        return float(value)

    def boolean(self, key: str, default: bool) -> bool:
        value = self.raw(key)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise ConfigError(f"{self.where(key)} must be true or false, got {value!r}")
        return value

    def strings(
        self, key: str, pattern: re.Pattern[str], hint: str, *, required: bool = False
    ) -> tuple[str, ...]:
        value = self.raw(key)
        if value is None:
            value = []
        if not isinstance(value, list):
            raise ConfigError(f"{self.where(key)} must be a list of strings, got {value!r}")
        for i, item in enumerate(value):
            if not isinstance(item, str) or not pattern.match(item):
                raise ConfigError(f"{self.where(key)}[{i}] = {item!r} is not valid: {hint}")
        if required and not value:
            raise ConfigError(f"{self.where(key)} must list at least one value ({hint})")
        if len(set(value)) != len(value):
            raise ConfigError(f"{self.where(key)} lists a value twice")
        return tuple(value)

    def required(self, key: str) -> None:
        if self.data.get(key) is None:
            raise ConfigError(f"{self.where(key)} is required")

    def done(self) -> None:
        unknown = sorted(k for k in self.data if k not in self.seen and not str(k).startswith("//"))
        if unknown:
            raise ConfigError(f"{self.path}: unknown key(s) {', '.join(map(repr, unknown))}")


def _loader(data: Any, path: str) -> LoaderProps | None:
    if data is None:
        return None
    r = _Reader(data, path)
    for key in (
        "clusterEndpoint",
        "clusterResourceId",
        "vpcId",
        "privateSubnetIds",
        "securityGroupId",
    ):
        r.required(key)
    endpoint = r.string(
        "clusterEndpoint", None, _HOST,
        "the cluster (writer) endpoint host name, without https:// and port, "
        "e.g. my-cluster.cluster-abc.us-east-1.neptune.amazonaws.com",
    )  # fmt: skip
    resource_id = r.string(
        "clusterResourceId", None, _CLUSTER_RESOURCE_ID,
        "the cluster resource id (DbClusterResourceId, e.g. cluster-ABCDEFGHIJKLMNOPQRSTUVWXYZ), not its name",
    )  # fmt: skip
    vpc_id = r.string("vpcId", None, _VPC, "expected vpc-<hex>")
    subnets = r.strings("privateSubnetIds", _SUBNET, "expected subnet-<hex>", required=True)
    azs = r.strings(
        "availabilityZones",
        _AZ,
        "expected an availability zone name such as us-east-1a",
        required=True,
    )
    if len(azs) != len(subnets):
        raise ConfigError(
            f"{path}.availabilityZones must name the zone of each private subnet, in the same order "
            f"({len(subnets)} subnets, {len(azs)} zones)"
        )
    route_tables = r.strings("privateSubnetRouteTableIds", _RTB, "expected rtb-<hex>")
    if route_tables and len(route_tables) != len(subnets):
        raise ConfigError(
            f"{path}.privateSubnetRouteTableIds must have one entry per private subnet, or be left out"
        )
    sg = r.string("securityGroupId", None, _SG, "expected sg-<hex>")
    port = r.integer("port", 8182, 1, 65535)
    r.done()
    return LoaderProps(
        cluster_endpoint=endpoint,
        cluster_resource_id=resource_id,
        vpc_id=vpc_id,
        availability_zones=azs,
        private_subnet_ids=subnets,
        private_subnet_route_table_ids=route_tables,
        security_group_id=sg,
        port=port,
    )


def _analytics(data: Any, path: str) -> AnalyticsProps:
    r = _Reader(data, path)
    endpoint = r.string(
        "graphEndpoint", None, re.compile(r"^https://\S+$"), "expected an https:// URL"
    )
    allowed = r.raw("allowedGraphIds")
    if allowed == ["*"]:
        graphs: tuple[str, ...] = ()
    else:
        graphs = r.strings(
            "allowedGraphIds", _GRAPH_ID, 'expected g-[a-z0-9]{10} (or ["*"] for any graph)'
        )
    pass_roles = r.strings("passRoleArns", _ROLE_ARN, "expected IAM role ARNs arn:aws:iam::<account>:role/<name>")
    r.done()
    return AnalyticsProps(graph_endpoint=endpoint, allowed_graph_ids=graphs, pass_role_arns=pass_roles)


def _defaults(data: Any, path: str) -> WatchDefaults:
    r = _Reader(data, path)
    d = WatchDefaults()
    out = WatchDefaults(
        timeout_seconds=r.integer("timeoutSeconds", d.timeout_seconds, 1, MAX_TIMEOUT_SECONDS),
        cancel_on_timeout=r.boolean("cancelOnTimeout", d.cancel_on_timeout),
        max_errors=r.integer("maxErrors", d.max_errors, 0, MAX_MAX_ERRORS),
    )
    r.done()
    return out


def _poll_policy(data: Any, path: str) -> PollPolicy:
    r = _Reader(data, path)
    d = PollPolicy()
    out = PollPolicy(
        min_wait_seconds=r.integer("minWaitSeconds", d.min_wait_seconds, 1, 3600),
        max_wait_seconds=r.integer("maxWaitSeconds", d.max_wait_seconds, 1, 86400),
        wait_fraction=r.number("waitFraction", d.wait_fraction, 0.0, 1.0),
        max_polls_per_execution=r.integer(
            "maxPollsPerExecution", d.max_polls_per_execution, 1, MAX_POLLS_PER_EXECUTION
        ),
        max_seconds_per_execution=r.integer(
            "maxSecondsPerExecution", d.max_seconds_per_execution, 60, 300 * 86400
        ),
    )
    r.done()
    if out.min_wait_seconds > out.max_wait_seconds:
        raise ConfigError(
            f"{path}.minWaitSeconds ({out.min_wait_seconds}) exceeds maxWaitSeconds ({out.max_wait_seconds})"
        )
    return out


def _event_bus(data: Any, path: str) -> EventBusProps:
    r = _Reader(data, path)
    mode = r.choice("mode", "create", ("create", "existing", "default"))
    name = r.string("name", None, _BUS_NAME, "letters, digits, . _ / - (at most 256)")
    arn = r.string(
        "arn", None, _BUS_ARN, "expected arn:aws:events:<region>:<account>:event-bus/<name>"
    )
    r.done()
    if mode == "existing" and not (name or arn):
        raise ConfigError(f"{path}: mode 'existing' needs the bus 'name' or 'arn'")
    if mode == "existing" and name and arn:
        raise ConfigError(f"{path}: give the existing bus by 'name' or by 'arn', not both")
    if mode == "create" and arn:
        raise ConfigError(f"{path}.arn only applies to mode 'existing'")
    if mode == "default" and (name or arn):
        raise ConfigError(
            f"{path}: mode 'default' uses the account's default bus; remove 'name'/'arn'"
        )
    if name == "default" and mode != "default":
        raise ConfigError(f"{path}.name 'default' is the default bus: use mode 'default'")
    return EventBusProps(mode=mode, name=name, arn=arn)


def _topic(data: Any, path: str) -> TopicProps:
    r = _Reader(data, path)
    arn = r.string("arn", None, _TOPIC_ARN, "expected arn:aws:sns:<region>:<account>:<name>")
    key = r.string("kmsKeyArn", None, _KEY_ARN, "expected arn:aws:kms:<region>:<account>:key/<id>")
    r.done()
    if key and not arn:
        raise ConfigError(f"{path}.kmsKeyArn only applies to an existing topic ('arn')")
    return TopicProps(arn=arn, kms_key_arn=key)


def _source(r: _Reader, key: str, default: str) -> str:
    value = r.string(
        key,
        default,
        _SOURCE,
        "letters, digits and . _ / - (reverse-DNS form, e.g. com.example.jobs)",
    )
    if value.lower().startswith("aws."):
        raise ConfigError(
            f"{r.where(key)} = {value!r}: EventBridge reserves sources starting with 'aws.'"
        )
    return value


def parse_config(data: Any, path: str = CONTEXT_KEY) -> WatchConfig:
    """A validated :class:`WatchConfig` from the context object; ConfigError otherwise."""
    r = _Reader(data, path)
    stack_name = r.string(
        "stackName",
        DEFAULT_STACK_NAME,
        _STACK_NAME,
        "a letter, then letters, digits and '-' (at most 128)",
    )
    sm_name = r.string(
        "stateMachineName", None, _SM_NAME, "letters, digits, '-' and '_' (at most 80)"
    )
    layer_version = r.integer("powertoolsLayerVersion", DEFAULT_POWERTOOLS_LAYER_VERSION, 1, 100000)
    layer_arn = r.string(
        "powertoolsLayerArn",
        None,
        _LAYER_ARN,
        "expected arn:<partition>:lambda:<region>:<account>:layer:<name>:<version>",
    )
    log_level = r.choice("logLevel", "INFO", LOG_LEVELS, fold=True)
    retention = r.raw("logRetentionDays")
    if retention is None:
        retention = 30
    if isinstance(retention, bool) or retention not in RETENTION_DAYS:
        raise ConfigError(
            f"{path}.logRetentionDays = {retention!r}: CloudWatch Logs accepts {', '.join(map(str, RETENTION_DAYS))}"
        )
    log_removal = r.choice("logRemovalPolicy", "retain", ("retain", "destroy"))
    sm_log_level = r.choice("stateMachineLogLevel", "ALL", ("ALL", "ERROR"), fold=True)
    request_source = _source(r, "requestSource", DEFAULT_REQUEST_SOURCE)
    outcome_source = _source(r, "outcomeSource", DEFAULT_OUTCOME_SOURCE)
    if request_source == outcome_source:
        raise ConfigError(
            f"{path}.requestSource and outcomeSource are both {request_source!r}: they must differ, "
            "or the request rule would match the watcher's own outcome events"
        )
    event_bus = _event_bus(r.raw("eventBus"), f"{path}.eventBus")
    topic = _topic(r.raw("topic"), f"{path}.topic")
    alarm_topic = r.string(
        "alarmTopicArn", None, _TOPIC_ARN, "expected arn:aws:sns:<region>:<account>:<name>"
    )
    lock_removal = r.choice("lockTableRemovalPolicy", "destroy", ("destroy", "retain"))
    loader = _loader(r.raw("loader"), f"{path}.loader")
    analytics = _analytics(r.raw("analytics"), f"{path}.analytics")
    defaults = _defaults(r.raw("defaults"), f"{path}.defaults")
    poll_policy = _poll_policy(r.raw("pollPolicy"), f"{path}.pollPolicy")
    examples = r.boolean("examples", False)
    r.done()
    return WatchConfig(
        stack_name=stack_name,
        state_machine_name=sm_name,
        powertools_layer_version=layer_version,
        powertools_layer_arn=layer_arn,
        log_level=log_level,
        log_retention_days=retention,
        log_removal_policy=log_removal,
        state_machine_log_level=sm_log_level,
        request_source=request_source,
        outcome_source=outcome_source,
        event_bus=event_bus,
        topic=topic,
        alarm_topic_arn=alarm_topic,
        lock_table_removal_policy=lock_removal,
        loader=loader,
        analytics=analytics,
        defaults=defaults,
        poll_policy=poll_policy,
        examples=examples,
    )
