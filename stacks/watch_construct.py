"""``NeptuneWatch``: the reusable construct that deploys the neptune-watch state machine.

Embed it in any CDK app::

    from stacks.watch_construct import NeptuneWatch, NeptuneWatchProps
    from stacks.props import LoaderProps

    watch = NeptuneWatch(self, "Watch", props=NeptuneWatchProps(loader=LoaderProps(...)))
    watch.state_machine  # start it, or send it "Neptune Watch Requested" events

Keyword overrides are accepted too: ``NeptuneWatch(self, "Watch", state_machine_name="x")``.
Nothing here looks anything up in AWS: synth needs no credentials and no network.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aws_cdk import (
    Annotations,
    ArnFormat,
    Duration,
    RemovalPolicy,
    Stack,
    Token,
)
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from cdk_nag import NagPackSuppression, NagSuppressions, RegexAppliesTo
from constructs import Construct

from . import flow
from .config import (
    DEFAULT_OUTCOME_SOURCE,
    DEFAULT_POWERTOOLS_LAYER_VERSION,
    DEFAULT_REQUEST_SOURCE,
    REQUEST_DETAIL_TYPE,
)
from .props import AnalyticsProps, EventBusProps, LoaderProps, PollPolicy, TopicProps, WatchDefaults

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CODE_PATH = REPO_ROOT / "lambdas"
DEFAULT_DEFINITION_PATH = REPO_ROOT / "statemachines" / "watch.asl.json"

POWERTOOLS_LAYER_ACCOUNT = "017000801446"
POWERTOOLS_LAYER_NAME = "AWSLambdaPowertoolsPythonV3-python314-arm64"
SERVICE_NAME = "neptune-watch"
METRICS_NAMESPACE = "NeptuneWatch"
MEMORY_MB = 256
FUNCTION_TIMEOUT = Duration.seconds(30)
# The rule delivering "watch this job" events retries StartExecution this long; a late
# watch is still useful (a job that already ended is reported on the first poll).
REQUEST_MAX_EVENT_AGE = Duration.hours(24)
REQUEST_RETRY_ATTEMPTS = 185
SYNC_RULE_NAME = "StepFunctionsGetEventsForStepFunctionsExecutionRule"

# Asset contents: the ``watcher`` package only (nothing else at the top of the directory);
# no caches, no tests. Later patterns win, so "!watcher/**" re-includes the package.
CODE_EXCLUDES = [
    "*",
    "!watcher",
    "!watcher/**",
    "**/__pycache__",
    "**/__pycache__/**",
    "**/*.pyc",
    "**/tests",
    "**/tests/**",
    "**/test_*.py",
    "**/.pytest_cache",
    "**/.mypy_cache",
    "**/.ruff_cache",
]


@dataclass(frozen=True)
class FunctionSpec:
    key: str
    construct_id: str
    handler: str
    placeholder: str
    group: str  # core | loader | analytics
    description: str


FUNCTION_SPECS: tuple[FunctionSpec, ...] = (
    FunctionSpec("prepare", "PrepareFunction", "watcher.handlers.prepare.handler", "PrepareFunctionArn", "core",
                 "neptune-watch: validate a watch request and build the watch state"),
    FunctionSpec("finalize", "FinalizeFunction", "watcher.handlers.finalize.handler", "FinalizeFunctionArn", "core",
                 "neptune-watch: build the outcome of a watch"),
    FunctionSpec("loader_status", "LoaderStatusFunction", "watcher.handlers.loader_status.handler",
                 "LoaderStatusFunctionArn", "loader", "neptune-watch: one GetLoaderJobStatus call"),
    FunctionSpec("loader_cancel", "LoaderCancelFunction", "watcher.handlers.loader_cancel.handler",
                 "LoaderCancelFunctionArn", "loader", "neptune-watch: CancelLoaderJob"),
    FunctionSpec("import_status", "ImportStatusFunction", "watcher.handlers.import_status.handler",
                 "ImportStatusFunctionArn", "analytics", "neptune-watch: one GetImportTask call"),
    FunctionSpec("import_cancel", "ImportCancelFunction", "watcher.handlers.import_cancel.handler",
                 "ImportCancelFunctionArn", "analytics", "neptune-watch: CancelImportTask"),
    FunctionSpec("export_status", "ExportStatusFunction", "watcher.handlers.export_status.handler",
                 "ExportStatusFunctionArn", "analytics", "neptune-watch: one GetExportTask call"),
    FunctionSpec("export_cancel", "ExportCancelFunction", "watcher.handlers.export_cancel.handler",
                 "ExportCancelFunctionArn", "analytics", "neptune-watch: CancelExportTask"),
)  # fmt: skip

# The one Neptune action each Neptune-calling function needs.
NEPTUNE_ACTIONS = {
    "loader_status": "neptune-db:GetLoaderJobStatus",
    "loader_cancel": "neptune-db:CancelLoaderJob",
    "import_status": "neptune-graph:GetImportTask",
    "import_cancel": "neptune-graph:CancelImportTask",
    "export_status": "neptune-graph:GetExportTask",
    "export_cancel": "neptune-graph:CancelExportTask",
}

_PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9_]+)\}")
_SM_NAME = re.compile(r"[^A-Za-z0-9_-]")


def placeholders(text: str) -> set[str]:
    """The ``${Name}`` placeholders of an ASL definition."""
    return set(_PLACEHOLDER.findall(text))


def default_state_machine_name(stack_name: str, construct_id: str) -> str:
    """``<stack name>-<construct id>``, cleaned and cut to Step Functions' 80 characters."""
    return _SM_NAME.sub("-", f"{stack_name}-{construct_id}")[:80]


def retention_days(days: int) -> logs.RetentionDays:
    """The ``RetentionDays`` member for a number of days."""
    by_days = {
        1: logs.RetentionDays.ONE_DAY, 3: logs.RetentionDays.THREE_DAYS, 5: logs.RetentionDays.FIVE_DAYS,
        7: logs.RetentionDays.ONE_WEEK, 14: logs.RetentionDays.TWO_WEEKS, 30: logs.RetentionDays.ONE_MONTH,
        60: logs.RetentionDays.TWO_MONTHS, 90: logs.RetentionDays.THREE_MONTHS,
        120: logs.RetentionDays.FOUR_MONTHS, 150: logs.RetentionDays.FIVE_MONTHS,
        180: logs.RetentionDays.SIX_MONTHS, 365: logs.RetentionDays.ONE_YEAR,
        400: logs.RetentionDays.THIRTEEN_MONTHS, 545: logs.RetentionDays.EIGHTEEN_MONTHS,
        731: logs.RetentionDays.TWO_YEARS, 1096: logs.RetentionDays.THREE_YEARS,
        1827: logs.RetentionDays.FIVE_YEARS, 2192: logs.RetentionDays.SIX_YEARS,
        2557: logs.RetentionDays.SEVEN_YEARS, 2922: logs.RetentionDays.EIGHT_YEARS,
        3288: logs.RetentionDays.NINE_YEARS, 3653: logs.RetentionDays.TEN_YEARS,
    }  # fmt: skip
    if days not in by_days:
        raise ValueError(
            f"log retention {days} days is not a CloudWatch Logs value: {sorted(by_days)}"
        )
    return by_days[days]


@dataclass(frozen=True, kw_only=True)
class NeptuneWatchProps:
    """Properties of :class:`NeptuneWatch`; every field has a default."""

    loader: LoaderProps | None = None
    """The Neptune Database cluster, VPC, subnets and security group for loader watches.
    Without it the loader functions are still deployed (the state machine names them) but
    have no VPC, endpoint or ``neptune-db`` permission: a loader watch ends in ERROR."""
    analytics: AnalyticsProps = field(default_factory=AnalyticsProps)
    """Neptune Analytics settings (endpoint override, allowed graphs)."""
    defaults: WatchDefaults = field(default_factory=WatchDefaults)
    """Defaults of a request's optional fields."""
    poll_policy: PollPolicy = field(default_factory=PollPolicy)
    """Poll policy bounds and continue-as-new thresholds."""
    event_bus: EventBusProps = field(default_factory=EventBusProps)
    """Bus for outcomes and requests: ``create`` (default), ``existing`` or ``default``."""
    topic: TopicProps = field(default_factory=TopicProps)
    """Outcome topic: created (KMS CMK with rotation, SSL enforced) unless ``arn`` is given."""
    state_machine_name: str | None = None
    """Explicit name (the definition restarts itself through its own ARN). Default:
    ``<stack name>-<construct id>``."""
    request_source: str = DEFAULT_REQUEST_SOURCE
    """``source`` of "Neptune Watch Requested" events the request rule accepts."""
    outcome_source: str = DEFAULT_OUTCOME_SOURCE
    """``source`` of the outcome events the state machine publishes (``EventSource``)."""
    powertools_layer_version: int = DEFAULT_POWERTOOLS_LAYER_VERSION
    """Version N of ``arn:aws:lambda:<region>:017000801446:layer:
    AWSLambdaPowertoolsPythonV3-python314-arm64:N``."""
    powertools_layer_arn: str | None = None
    """Full Powertools layer ARN instead (another partition, a private copy)."""
    log_level: str = "INFO"
    """``POWERTOOLS_LOG_LEVEL`` of every function."""
    log_retention: logs.RetentionDays = logs.RetentionDays.ONE_MONTH
    """Retention of the functions' and the state machine's log groups."""
    log_removal_policy: RemovalPolicy = RemovalPolicy.RETAIN
    """What happens to the log groups when the stack is deleted."""
    state_machine_log_level: sfn.LogLevel = sfn.LogLevel.ALL
    """State machine logging level (execution data is always included)."""
    lock_table_removal_policy: RemovalPolicy = RemovalPolicy.DESTROY
    """The lock table only holds short-lived locks (TTL ``expiresAt``); destroying it with
    the stack loses nothing a later deployment needs."""
    alarm_topic_arn: str | None = None
    """SNS topic that receives the alarms' state changes (optional)."""
    code_path: str | None = None
    """Directory holding the ``watcher`` package (default: the repository's ``lambdas/``)."""
    definition_path: str | None = None
    """ASL file (default: the repository's ``statemachines/watch.asl.json``)."""


class NeptuneWatch(Construct):
    """The neptune-watch state machine, its eight functions, topic, bus, lock table,
    request rule (with DLQ) and alarms.

    Public attributes: ``state_machine``, ``state_machine_name``, ``topic``, ``topic_key``,
    ``event_bus``, ``event_bus_target`` (what ``EventBusName`` is substituted with),
    ``lock_table``, ``functions`` (by key: prepare, finalize, loader_status, loader_cancel,
    import_status, import_cancel, export_status, export_cancel), ``request_rule``,
    ``dead_letter_queue``, ``alarms`` (by metric name), ``substitutions``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        props: NeptuneWatchProps | None = None,
        **overrides: Any,
    ) -> None:
        super().__init__(scope, construct_id)
        props = dataclasses.replace(props or NeptuneWatchProps(), **overrides)
        self.props = props
        stack = Stack.of(self)

        self.state_machine_name = props.state_machine_name or default_state_machine_name(
            stack.stack_name, construct_id
        )
        if not Token.is_unresolved(self.state_machine_name) and (
            not re.fullmatch(r"[A-Za-z0-9_-]{1,80}", self.state_machine_name)
        ):
            raise ValueError(
                f"state_machine_name {self.state_machine_name!r}: letters, digits, - and _ (at most 80)"
            )
        if props.request_source == props.outcome_source:
            raise ValueError(
                "request_source and outcome_source must differ (the request rule would match outcomes)"
            )

        definition_path = (
            Path(props.definition_path) if props.definition_path else DEFAULT_DEFINITION_PATH
        )
        self.definition_text = definition_path.read_text(encoding="utf-8")

        self._make_functions(props)
        self._make_topic(props)
        self._make_event_bus(props)
        self._make_lock_table(props)
        self._make_state_machine(props)
        self._make_request_rule(props)
        flow.wire_flow(self)
        self._make_alarms(props)
        self._acknowledge()

    # --- functions --------------------------------------------------------------------

    def _make_functions(self, props: NeptuneWatchProps) -> None:
        stack = Stack.of(self)
        code_path = Path(props.code_path) if props.code_path else DEFAULT_CODE_PATH
        if not (code_path / "watcher" / "handlers").is_dir():
            raise ValueError(
                f"code_path {code_path} does not contain the watcher package (watcher/handlers)"
            )
        code = lambda_.Code.from_asset(str(code_path), exclude=CODE_EXCLUDES)
        layer_arn = props.powertools_layer_arn or (
            f"arn:aws:lambda:{stack.region}:{POWERTOOLS_LAYER_ACCOUNT}:layer:"
            f"{POWERTOOLS_LAYER_NAME}:{props.powertools_layer_version}"
        )
        self.powertools_layer = lambda_.LayerVersion.from_layer_version_arn(
            self, "PowertoolsLayer", layer_arn
        )

        common = {
            "POWERTOOLS_SERVICE_NAME": SERVICE_NAME,
            "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
            "POWERTOOLS_LOG_LEVEL": props.log_level,
        }
        prepare_env = {
            "DEFAULT_TIMEOUT_SECONDS": str(props.defaults.timeout_seconds),
            "DEFAULT_CANCEL_ON_TIMEOUT": "true" if props.defaults.cancel_on_timeout else "false",
            "DEFAULT_MAX_ERRORS": str(props.defaults.max_errors),
            "MIN_WAIT_SECONDS": str(props.poll_policy.min_wait_seconds),
            "MAX_WAIT_SECONDS": str(props.poll_policy.max_wait_seconds),
            "WAIT_FRACTION": repr(float(props.poll_policy.wait_fraction)),
            "MAX_POLLS_PER_EXECUTION": str(props.poll_policy.max_polls_per_execution),
            "MAX_SECONDS_PER_EXECUTION": str(props.poll_policy.max_seconds_per_execution),
        }
        analytics_env: dict[str, str] = {}
        if props.analytics.graph_endpoint:
            analytics_env["NEPTUNE_GRAPH_ENDPOINT"] = props.analytics.graph_endpoint
        if props.analytics.allowed_graph_ids:
            analytics_env["ALLOWED_GRAPH_IDS"] = ",".join(props.analytics.allowed_graph_ids)

        loader = props.loader
        loader_env: dict[str, str] = {}
        vpc_kwargs: dict[str, Any] = {}
        if loader is not None:
            loader_env["NEPTUNE_ENDPOINT"] = loader.endpoint_url
            vpc_kwargs = self._import_network(loader)

        self.functions: dict[str, lambda_.Function] = {}
        self.function_log_groups: dict[str, logs.LogGroup] = {}
        self.function_roles: dict[str, iam.Role] = {}
        for spec in FUNCTION_SPECS:
            env = dict(common)
            if spec.key == "prepare":
                env.update(prepare_env)
            if spec.group == "loader":
                env.update(loader_env)
            if spec.group == "analytics":
                env.update(analytics_env)
            in_vpc = spec.group == "loader" and loader is not None

            log_group = logs.LogGroup(
                self,
                f"{spec.construct_id}Logs",
                retention=props.log_retention,
                removal_policy=props.log_removal_policy,
            )
            role = iam.Role(
                self,
                f"{spec.construct_id}Role",
                assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
                description=f"{spec.description} (execution role)",
            )
            # Written to explicitly, so the role needs no AWSLambdaBasicExecutionRole.
            log_group.grant_write(role)
            if in_vpc:
                role.add_managed_policy(
                    iam.ManagedPolicy.from_aws_managed_policy_name(
                        "service-role/AWSLambdaVPCAccessExecutionRole"
                    )
                )
            fn = lambda_.Function(
                self,
                spec.construct_id,
                description=spec.description,
                runtime=lambda_.Runtime.PYTHON_3_14,
                architecture=lambda_.Architecture.ARM_64,
                handler=spec.handler,
                code=code,
                layers=[self.powertools_layer],
                memory_size=MEMORY_MB,
                timeout=FUNCTION_TIMEOUT,
                tracing=lambda_.Tracing.ACTIVE,
                log_group=log_group,
                role=role,
                environment=env,
                **(vpc_kwargs if in_vpc else {}),
            )
            self.functions[spec.key] = fn
            self.function_log_groups[spec.key] = log_group
            self.function_roles[spec.key] = role

        self._grant_neptune(props)

    def _import_network(self, loader: LoaderProps) -> dict[str, Any]:
        vpc = ec2.Vpc.from_vpc_attributes(
            self,
            "LoaderVpc",
            vpc_id=loader.vpc_id,
            availability_zones=list(loader.availability_zones),
        )
        subnets = []
        for i, subnet_id in enumerate(loader.private_subnet_ids):
            route_table = (
                loader.private_subnet_route_table_ids[i]
                if loader.private_subnet_route_table_ids
                else None
            )
            subnet = ec2.Subnet.from_subnet_attributes(
                self,
                f"LoaderSubnet{i + 1}",
                subnet_id=subnet_id,
                availability_zone=loader.availability_zones[i],
                route_table_id=route_table,
            )
            if route_table is None:
                Annotations.of(subnet).acknowledge_warning(
                    "@aws-cdk/aws-ec2:noSubnetRouteTableId",
                    "The loader functions only place ENIs in this subnet; nothing reads its route table.",
                )
            subnets.append(subnet)
        security_group = ec2.SecurityGroup.from_security_group_id(
            self, "LoaderSecurityGroup", loader.security_group_id, mutable=False
        )
        self.loader_vpc = vpc
        self.loader_subnets = subnets
        self.loader_security_group = security_group
        return {
            "vpc": vpc,
            "vpc_subnets": ec2.SubnetSelection(subnets=subnets),
            "security_groups": [security_group],
        }

    def _grant_neptune(self, props: NeptuneWatchProps) -> None:
        stack = Stack.of(self)
        resources = {
            "import": stack.format_arn(
                service="neptune-graph",
                resource="import-task",
                resource_name="*",
                arn_format=ArnFormat.SLASH_RESOURCE_NAME,
            ),
            "export": stack.format_arn(
                service="neptune-graph",
                resource="export-task",
                resource_name="*",
                arn_format=ArnFormat.SLASH_RESOURCE_NAME,
            ),
        }
        if props.loader is not None:
            resources["loader"] = stack.format_arn(
                service="neptune-db",
                resource=props.loader.cluster_resource_id,
                resource_name="*",
                arn_format=ArnFormat.SLASH_RESOURCE_NAME,
            )
        self.neptune_resources = resources
        for key, action in NEPTUNE_ACTIONS.items():
            kind = key.split("_", 1)[0]
            if kind not in resources:
                continue
            self.function_roles[key].add_to_principal_policy(
                iam.PolicyStatement(actions=[action], resources=[resources[kind]])
            )

    # --- topic, bus, table ------------------------------------------------------------

    def _make_topic(self, props: NeptuneWatchProps) -> None:
        self.topic_key: kms.IKey | None
        if props.topic.arn:
            self.topic = sns.Topic.from_topic_arn(self, "Topic", props.topic.arn)
            self.topic_key = (
                kms.Key.from_key_arn(self, "TopicKey", props.topic.kms_key_arn)
                if props.topic.kms_key_arn
                else None
            )
            return
        key = kms.Key(
            self,
            "TopicKey",
            description="neptune-watch: encrypts the outcome topic",
            enable_key_rotation=True,
            removal_policy=RemovalPolicy.DESTROY,
            pending_window=Duration.days(30),
        )
        self.topic_key = key
        self.topic = sns.Topic(
            self,
            "Topic",
            display_name="neptune-watch outcomes",
            master_key=key,
            enforce_ssl=True,
        )

    def _make_event_bus(self, props: NeptuneWatchProps) -> None:
        bus = props.event_bus
        if bus.mode == "create":
            self.event_bus = events.EventBus(self, "EventBus", event_bus_name=bus.name)
            self.event_bus_target = self.event_bus.event_bus_name
        elif bus.mode == "existing":
            if bus.arn:
                self.event_bus = events.EventBus.from_event_bus_arn(self, "EventBus", bus.arn)
                self.event_bus_target = bus.arn
            elif bus.name:
                self.event_bus = events.EventBus.from_event_bus_name(self, "EventBus", bus.name)
                self.event_bus_target = bus.name
            else:
                raise ValueError("event_bus mode 'existing' needs a name or an arn")
        elif bus.mode == "default":
            self.event_bus = events.EventBus.from_event_bus_name(self, "EventBus", "default")
            self.event_bus_target = "default"
        else:
            raise ValueError(f"event_bus mode {bus.mode!r}: expected create, existing or default")

    def _make_lock_table(self, props: NeptuneWatchProps) -> None:
        self.lock_table = dynamodb.Table(
            self,
            "LockTable",
            partition_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            time_to_live_attribute="expiresAt",
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            encryption=dynamodb.TableEncryption.AWS_MANAGED,
            removal_policy=props.lock_table_removal_policy,
        )

    # --- state machine ----------------------------------------------------------------

    def _make_state_machine(self, props: NeptuneWatchProps) -> None:
        stack = Stack.of(self)
        name = self.state_machine_name
        subs = {spec.placeholder: self.functions[spec.key].function_arn for spec in FUNCTION_SPECS}
        subs.update(
            {
                "TopicArn": self.topic.topic_arn,
                "EventBusName": self.event_bus_target,
                "EventSource": props.outcome_source,
                "LockTableName": self.lock_table.table_name,
            }
        )
        subs.update(flow.make_unpublished_queue(self))
        missing = placeholders(self.definition_text) - set(subs)
        extra = set(subs) - placeholders(self.definition_text)
        if missing or extra:
            raise ValueError(
                f"definition placeholders and substitutions differ: missing {sorted(missing)}, unused {sorted(extra)}"
            )
        self.substitutions = subs

        self.state_machine_log_group = logs.LogGroup(
            self,
            "StateMachineLogs",
            log_group_name=f"/aws/vendedlogs/states/{name}",
            retention=props.log_retention,
            removal_policy=props.log_removal_policy,
        )
        self.state_machine = sfn.StateMachine(
            self,
            "StateMachine",
            state_machine_name=name,
            state_machine_type=sfn.StateMachineType.STANDARD,
            definition_body=sfn.DefinitionBody.from_string(self.definition_text),
            definition_substitutions=subs,
            logs=sfn.LogOptions(
                destination=self.state_machine_log_group,
                level=props.state_machine_log_level,
                include_execution_data=True,
            ),
            tracing_enabled=True,
        )
        sm = self.state_machine

        for fn in self.functions.values():
            fn.grant_invoke(sm)

        sm.add_to_role_policy(
            iam.PolicyStatement(actions=["sns:Publish"], resources=[self.topic.topic_arn])
        )
        if self.topic_key is not None:
            sm.add_to_role_policy(
                iam.PolicyStatement(
                    actions=["kms:GenerateDataKey", "kms:Decrypt"],
                    resources=[self.topic_key.key_arn],
                )
            )
        sm.add_to_role_policy(
            iam.PolicyStatement(
                actions=["events:PutEvents"], resources=[self.event_bus.event_bus_arn]
            )
        )
        sm.add_to_role_policy(
            iam.PolicyStatement(
                actions=["dynamodb:PutItem"],  # SaveContinuation; the lock is the functions' (flow.py)
                resources=[self.lock_table.table_arn],
            )
        )
        # Its own ARN and executions, built from the explicit name: referencing the state
        # machine resource here would make its role depend on it (a cycle).
        self.state_machine_arn_from_name = stack.format_arn(
            service="states",
            resource="stateMachine",
            resource_name=name,
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        self.executions_arn = stack.format_arn(
            service="states",
            resource="execution",
            resource_name=f"{name}:*",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        sm.add_to_role_policy(
            iam.PolicyStatement(
                actions=["states:StartExecution"], resources=[self.state_machine_arn_from_name]
            )
        )
        sm.add_to_role_policy(
            iam.PolicyStatement(
                actions=["states:DescribeExecution", "states:StopExecution"],
                resources=[self.executions_arn],
            )
        )
        # What startExecution.sync needs: the managed rule that reports the child's end.
        sm.add_to_role_policy(
            iam.PolicyStatement(
                actions=["events:PutTargets", "events:PutRule", "events:DescribeRule"],
                resources=[
                    stack.format_arn(
                        service="events", resource="rule", resource_name=SYNC_RULE_NAME
                    )
                ],
            )
        )
        # SendTaskSuccess / SendTaskFailure take a task token, not a resource: IAM only
        # accepts "*" for them.
        sm.add_to_role_policy(
            iam.PolicyStatement(
                actions=["states:SendTaskSuccess", "states:SendTaskFailure"], resources=["*"]
            )
        )

    # --- request rule -----------------------------------------------------------------

    def _make_request_rule(self, props: NeptuneWatchProps) -> None:
        self.dead_letter_queue = sqs.Queue(
            self,
            "RequestDeadLetterQueue",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=Duration.days(14),
        )
        self.request_source = props.request_source
        self.request_detail_type = REQUEST_DETAIL_TYPE
        self.request_rule = events.Rule(
            self,
            "RequestRule",
            description="neptune-watch: start a watch for each 'Neptune Watch Requested' event",
            event_bus=self.event_bus,
            event_pattern=events.EventPattern(
                source=[props.request_source], detail_type=[REQUEST_DETAIL_TYPE]
            ),
        )
        self.request_rule.add_target(
            targets.SfnStateMachine(
                self.state_machine,
                input=events.RuleTargetInput.from_event_path("$.detail"),
                dead_letter_queue=self.dead_letter_queue,
                retry_attempts=REQUEST_RETRY_ATTEMPTS,
                max_event_age=REQUEST_MAX_EVENT_AGE,
            )
        )

    # --- alarms -----------------------------------------------------------------------

    def _make_alarms(self, props: NeptuneWatchProps) -> None:
        sm = self.state_machine
        period = Duration.minutes(5)
        metrics = {
            "ExecutionsFailed": (
                sm.metric_failed(period=period, statistic="Sum"),
                "Watch executions failed. Every outcome but SUCCEEDED ends its execution in Fail "
                "(NeptuneWatch.<OUTCOME>), so this includes watched jobs that failed.",
            ),
            "ExecutionsTimedOut": (
                sm.metric_timed_out(period=period, statistic="Sum"),
                "Watch executions timed out.",
            ),
            "ExecutionsAborted": (
                sm.metric_aborted(period=period, statistic="Sum"),
                "Watch executions were stopped: no outcome was published for them.",
            ),
            "ExecutionThrottled": (
                sm.metric_throttled(period=period, statistic="Sum"),
                "Step Functions throttled the watcher's state transitions.",
            ),
            "RequestsDeadLettered": (
                self.dead_letter_queue.metric_approximate_number_of_messages_visible(
                    period=period, statistic="Maximum"
                ),
                "Watch requests could not start an execution and are in the dead-letter queue.",
            ),
            # The watcher's own health, apart from the jobs' fate: the finalize function's
            # Powertools metric (dimensions service + outcome) for ERROR outcomes.
            "WatchErrors": (
                cloudwatch.Metric(
                    namespace=METRICS_NAMESPACE,
                    metric_name="Outcomes",
                    dimensions_map={"service": SERVICE_NAME, "outcome": "ERROR"},
                    period=period,
                    statistic="Sum",
                ),
                "Watches ended with an ERROR outcome: the watch itself could not go on "
                "(access denied, retries exhausted, unreachable endpoint).",
            ),
        }
        metrics.update(flow.alarm_metrics(self, period))
        alarm_topic = (
            sns.Topic.from_topic_arn(self, "AlarmTopic", props.alarm_topic_arn)
            if props.alarm_topic_arn
            else None
        )
        self.alarms: dict[str, cloudwatch.Alarm] = {}
        for metric_name, (metric, description) in metrics.items():
            alarm = cloudwatch.Alarm(
                self,
                f"{metric_name}Alarm",
                metric=metric,
                threshold=1,
                evaluation_periods=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
                alarm_description=f"neptune-watch {self.state_machine_name}: {description}",
            )
            if alarm_topic is not None:
                alarm.add_alarm_action(cw_actions.SnsAction(alarm_topic))
            self.alarms[metric_name] = alarm

    # --- cdk-nag acknowledgements -----------------------------------------------------

    def _acknowledge(self) -> None:
        """Acknowledge, on the resources concerned, the findings that are by design."""
        for key, role in self.function_roles.items():
            suppressions = [
                NagPackSuppression(
                    id="AwsSolutions-IAM5",
                    reason="Active X-Ray tracing: xray:PutTraceSegments and xray:PutTelemetryRecords "
                    "support no resource-level permissions, so IAM requires Resource '*'.",
                    applies_to=["Resource::*"],
                ),
            ]
            if key in NEPTUNE_ACTIONS:
                kind = key.split("_", 1)[0]
                if kind in self.neptune_resources:
                    suppressions.append(
                        NagPackSuppression(
                            id="AwsSolutions-IAM5",
                            reason="Jobs and tasks are created at run time by other tools, so their ids are "
                            "unknown at deploy time: the one Neptune action this function needs is scoped to "
                            "this cluster's / this account's tasks, never to all of Neptune.",
                            applies_to=[
                                RegexAppliesTo(
                                    regex=r"/^Resource::arn:<AWS::Partition>:neptune-(db|graph):.*\/\*$/g"
                                )
                            ],
                        )
                    )
            if key.startswith("loader") and self.props.loader is not None:
                suppressions.append(
                    NagPackSuppression(
                        id="AwsSolutions-IAM4",
                        reason="AWSLambdaVPCAccessExecutionRole is the AWS-maintained minimum for a "
                        "function in a VPC (create / describe / delete its network interfaces).",
                        applies_to=[
                            "Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"
                        ],
                    )
                )
            NagSuppressions.add_resource_suppressions(role, suppressions, apply_to_children=True)

        for fn in self.functions.values():
            NagSuppressions.add_resource_suppressions(
                fn,
                [
                    NagPackSuppression(
                        id="Serverless-LambdaDLQ",
                        reason="Invoked synchronously by Step Functions only (lambda:invoke), which "
                        "retries and catches every error; an asynchronous-invocation DLQ would never "
                        "receive anything.",
                    ),
                ],
            )

        NagSuppressions.add_resource_suppressions(
            self.state_machine,
            [
                NagPackSuppression(
                    id="AwsSolutions-IAM5",
                    reason="Scoped wildcards by design: Lambda version ARNs (<fn>:*) of the eight "
                    "functions; this state machine's own executions (execution:<name>:*) for the "
                    "continue-as-new child and the lock owner lookup; X-Ray and CloudWatch Logs "
                    "delivery actions, which support no resource-level permissions; "
                    "states:SendTaskSuccess/SendTaskFailure, which act on a task token and accept "
                    "no resource other than '*'.",
                    applies_to=[
                        "Resource::*",
                        RegexAppliesTo(regex=r"/^Resource::<.*Function[0-9A-F]{8}\.Arn>:\*$/g"),
                        RegexAppliesTo(
                            regex=r"/^Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:.*:\*$/g"
                        ),
                    ],
                ),
            ],
            apply_to_children=True,
        )
        if self.props.state_machine_log_level != sfn.LogLevel.ALL:
            reason = (
                "The deployment chose a state machine log level below ALL (stateMachineLogLevel) "
                "to cut log volume: failed states are still logged with their execution data, "
                "and every outcome is published to SNS and EventBridge."
            )
            NagSuppressions.add_resource_suppressions(
                self.state_machine,
                [
                    NagPackSuppression(id="AwsSolutions-SF1", reason=reason),
                    NagPackSuppression(
                        id="Serverless-StepFunctionStateMachineAllLogLevel", reason=reason
                    ),
                ],
            )
        NagSuppressions.add_resource_suppressions(
            self.dead_letter_queue,
            [
                NagPackSuppression(
                    id="AwsSolutions-SQS3",
                    reason="This queue is itself the dead-letter queue of the request rule's target.",
                ),
                NagPackSuppression(
                    id="Serverless-SQSRedrivePolicy",
                    reason="This queue is itself the dead-letter queue of the request rule's target.",
                ),
            ],
        )
