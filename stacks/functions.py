"""The Lambda functions: one per row of ``watcher.names.FUNCTIONS``.

Each has its own role (its log group, X-Ray, and at most the one Neptune action it calls), its
own log group, the Powertools layer, and the environment of the settings it reads. Loader
functions run in the cluster's VPC; ``connections`` is what the cluster's security group allows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aws_cdk import Annotations, ArnFormat, Duration, RemovalPolicy, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from neptune_watch import resources

from .config import LoaderProps
from .powertools import check_layer_arn, public_layer_arn
from .props import NeptuneWatchProps

resources.require_watcher()
from watcher.names import FUNCTIONS, METRICS_NAMESPACE, SERVICE_NAME, Function  # noqa: E402
from watcher.settings import ENV, env_value  # noqa: E402

RUNTIME = lambda_.Runtime.PYTHON_3_14
ARCHITECTURE = lambda_.Architecture.ARM_64
MEMORY_MB = 256
FUNCTION_TIMEOUT = Duration.seconds(30)

# Asset contents: the ``watcher`` package only; no caches, no tests. Later patterns win, so
# "!watcher/**" re-includes the package.
CODE_EXCLUDES = [
    "*", "!watcher", "!watcher/**", "**/__pycache__", "**/__pycache__/**", "**/*.pyc", "**/tests",
    "**/tests/**", "**/test_*.py", "**/.pytest_cache", "**/.mypy_cache", "**/.ruff_cache",
]  # fmt: skip


@dataclass
class Functions:
    functions: dict[str, lambda_.Function] = field(default_factory=dict)
    roles: dict[str, iam.Role] = field(default_factory=dict)
    log_groups: dict[str, logs.LogGroup] = field(default_factory=dict)
    neptune_resources: dict[str, str] = field(default_factory=dict)
    layer: lambda_.ILayerVersion | None = None
    connections: ec2.Connections | None = None
    """The loader functions' security groups (None without a loader)."""


def settings_environment(props: NeptuneWatchProps, fn: Function) -> dict[str, str]:
    """The ``watcher.settings`` variables of one function (only what differs from nothing)."""
    by_key: dict[str, dict[str, Any]] = {
        "prepare": {**props.defaults.lambda_settings(), **props.poll_policy.lambda_settings()},
        "loader": {"neptune_endpoint": props.loader.endpoint_url} if props.loader else {},
        "analytics": props.analytics.lambda_settings(),
    }
    values = by_key.get(fn.key, by_key.get(fn.group, {}))
    return {ENV[name]: env_value(value) for name, value in values.items()}


def layer_arn(scope: Construct, props: NeptuneWatchProps) -> str:
    stack = Stack.of(scope)
    if props.powertools_layer_arn:
        return check_layer_arn(props.powertools_layer_arn)
    return public_layer_arn(stack.region, props.powertools_layer_version)


def build_functions(scope: Construct, props: NeptuneWatchProps) -> Functions:
    code_path = Path(props.code_path) if props.code_path else resources.lambdas_dir()
    if not (code_path / "watcher" / "handlers").is_dir():
        raise ValueError(f"code_path {code_path} does not contain the watcher package (watcher/handlers)")
    code = lambda_.Code.from_asset(str(code_path), exclude=CODE_EXCLUDES)
    out = Functions()
    out.layer = lambda_.LayerVersion.from_layer_version_arn(scope, "PowertoolsLayer", layer_arn(scope, props))
    network = _network(scope, props.loader) if props.loader is not None else {}
    if network:
        out.connections = ec2.Connections(security_groups=network["security_groups"])
    common = {
        "POWERTOOLS_SERVICE_NAME": SERVICE_NAME,
        "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
        "POWERTOOLS_LOG_LEVEL": props.log_level,
    }
    for spec in FUNCTIONS:
        in_vpc = spec.group == "loader" and bool(network)
        log_group = log_group_with_retention(scope, f"{spec.construct_id}Logs", props)
        role = iam.Role(
            scope, f"{spec.construct_id}Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"neptune-watch: {spec.description} (execution role)",
        )  # fmt: skip
        # Written to explicitly, so the role needs no AWSLambdaBasicExecutionRole.
        log_group.grant_write(role)
        if in_vpc:
            role.add_managed_policy(
                iam.ManagedPolicy.from_aws_managed_policy_name("service-role/AWSLambdaVPCAccessExecutionRole")
            )
        out.functions[spec.key] = lambda_.Function(
            scope, spec.construct_id, description=f"neptune-watch: {spec.description}",
            runtime=RUNTIME, architecture=ARCHITECTURE, handler=spec.handler, code=code,
            layers=[out.layer], memory_size=MEMORY_MB, timeout=FUNCTION_TIMEOUT,
            tracing=lambda_.Tracing.ACTIVE, log_group=log_group, role=role,
            environment={**common, **settings_environment(props, spec)},
            **(network if in_vpc else {}),
        )  # fmt: skip
        out.roles[spec.key] = role
        out.log_groups[spec.key] = log_group
    _grant_neptune(scope, props, out)
    return out


def _network(scope: Construct, loader: LoaderProps) -> dict[str, Any]:
    """VPC, subnets and security groups of the loader functions: given, or imported by id."""
    if loader.vpc is not None:
        groups = list(loader.security_groups) or [
            ec2.SecurityGroup(
                scope, "LoaderSecurityGroup", vpc=loader.vpc, allow_all_outbound=True,
                description="neptune-watch loader functions (allow it into the Neptune cluster)",
            )
        ]  # fmt: skip
        selection = loader.vpc_subnets or ec2.SubnetSelection(
            subnet_type=_private_type(loader.vpc)
        )
        return {"vpc": loader.vpc, "vpc_subnets": selection, "security_groups": groups}
    vpc = ec2.Vpc.from_vpc_attributes(
        scope, "LoaderVpc", vpc_id=loader.vpc_id, availability_zones=list(loader.availability_zones)
    )
    subnets = []
    for i, subnet_id in enumerate(loader.private_subnet_ids):
        route_table = loader.private_subnet_route_table_ids[i] if loader.private_subnet_route_table_ids else None
        subnet = ec2.Subnet.from_subnet_attributes(
            scope, f"LoaderSubnet{i + 1}", subnet_id=subnet_id,
            availability_zone=loader.availability_zones[i], route_table_id=route_table,
        )  # fmt: skip
        if route_table is None:
            Annotations.of(subnet).acknowledge_warning(
                "@aws-cdk/aws-ec2:noSubnetRouteTableId",
                "The loader functions only place ENIs in this subnet; nothing reads its route table.",
            )
        subnets.append(subnet)
    group = ec2.SecurityGroup.from_security_group_id(
        scope, "LoaderSecurityGroup", loader.security_group_id, mutable=False
    )
    return {"vpc": vpc, "vpc_subnets": ec2.SubnetSelection(subnets=subnets), "security_groups": [group]}


def _private_type(vpc: ec2.IVpc) -> ec2.SubnetType:
    """The VPC's private subnets: with egress if it has some, isolated otherwise."""
    return ec2.SubnetType.PRIVATE_WITH_EGRESS if vpc.private_subnets else ec2.SubnetType.PRIVATE_ISOLATED


def _grant_neptune(scope: Construct, props: NeptuneWatchProps, out: Functions) -> None:
    stack = Stack.of(scope)

    def task_arn(resource: str) -> str:
        return stack.format_arn(service="neptune-graph", resource=resource, resource_name="*",
                                arn_format=ArnFormat.SLASH_RESOURCE_NAME)  # fmt: skip

    out.neptune_resources = {"import": task_arn("import-task"), "export": task_arn("export-task")}
    if props.loader is not None:
        out.neptune_resources["loader"] = stack.format_arn(
            service="neptune-db", resource=props.loader.cluster_resource_id, resource_name="*",
            arn_format=ArnFormat.SLASH_RESOURCE_NAME,
        )  # fmt: skip
    for spec in FUNCTIONS:
        kind = spec.key.split("_", 1)[0]
        if spec.neptune_action and kind in out.neptune_resources:
            out.roles[spec.key].add_to_principal_policy(
                iam.PolicyStatement(actions=[spec.neptune_action], resources=[out.neptune_resources[kind]])
            )


def log_group_with_retention(scope: Construct, construct_id: str, props: NeptuneWatchProps,
                             **kwargs: Any) -> logs.LogGroup:
    """A log group with the configured retention (days, validated by the config) and removal."""
    removal = RemovalPolicy.DESTROY if props.log_removal_policy == "destroy" else RemovalPolicy.RETAIN
    group = logs.LogGroup(scope, construct_id, removal_policy=removal, **kwargs)
    cfn = group.node.default_child
    assert isinstance(cfn, logs.CfnLogGroup)
    cfn.retention_in_days = props.log_retention_days
    return group
