"""The construct's API as a CDK user meets it: existing IVpc / ITopic / IEventBus / IKey,
connections, grants, metrics, the optional dashboard, alarms off, and the named rejections."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import conftest_cdk as h  # first: sets the jsii environment before aws_cdk is imported

# isort: split
import aws_cdk as cdk
import pytest
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk.assertions import Annotations, Match, Template
from cdk_nag import AwsSolutionsChecks, ServerlessChecks
from neptune_watch.cdk import (
    ConfigError,
    LayerMismatchError,
    LoaderProps,
    NeptuneWatch,
    NeptuneWatchProps,
    ReaderEndpointError,
    parse_config,
)
from neptune_watch.cdk.powertools import LAYER_VERSIONS, POWERTOOLS_RELEASE, check_layer_arn

pytestmark = pytest.mark.cdk

WRITER = "db.cluster-abc123.us-east-1.neptune.amazonaws.com"
READER = "db.cluster-ro-abc123.us-east-1.neptune.amazonaws.com"
RESOURCE_ID = "cluster-ABCDEFGHIJKL"
SYNC_RULE = "rule/StepFunctionsGetEventsForStepFunctionsExecutionRule"


class Built:
    def __init__(self, stack: cdk.Stack, watch: NeptuneWatch, **extra: Any) -> None:
        self.stack, self.watch, self.extra = stack, watch, extra
        self._json: dict[str, Any] | None = None

    @property
    def json(self) -> dict[str, Any]:
        if self._json is None:
            self._json = Template.from_stack(self.stack).to_json()
        return self._json

    def logical_id(self, construct: Any) -> str:
        return self.stack.get_logical_id(construct.node.default_child)


@pytest.fixture(scope="module")
def users(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Built]:
    """Stacks the way a CDK user writes them, all in one app, checked by cdk-nag."""
    app = cdk.App(outdir=str(tmp_path_factory.mktemp("cdk-api")))
    out = {}

    stack = cdk.Stack(app, "Owned")
    isolated = ec2.SubnetConfiguration(name="db", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)
    vpc = ec2.Vpc(stack, "Vpc", max_azs=2, subnet_configuration=[isolated])
    cluster_sg = ec2.SecurityGroup(stack, "ClusterSg", vpc=vpc, allow_all_outbound=False)
    key = kms.Key(stack, "Key", enable_key_rotation=True)
    topic = sns.Topic(stack, "Outcomes", master_key=key, enforce_ssl=True)
    bus = events.EventBus(stack, "Bus")
    parent = iam.Role(stack, "Parent", assumed_by=iam.ServicePrincipal("states.amazonaws.com"))
    starter = iam.Role(stack, "Starter", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    watch = NeptuneWatch(
        stack, "Watch", existing_topic=topic, encryption_key=key, existing_event_bus=bus, dashboard=True,
        loader=LoaderProps(cluster_endpoint=WRITER, cluster_resource_id=RESOURCE_ID, vpc=vpc,
                           vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)),
    )  # fmt: skip
    watch.connections.allow_to(cluster_sg, ec2.Port.tcp(8182), "neptune-watch loader functions")
    watch.grant_start_sync(parent)
    watch.grant_start_execution(starter)
    out["owned"] = Built(stack, watch, vpc=vpc, cluster_sg=cluster_sg, key=key, topic=topic, bus=bus,
                         parent=parent, starter=starter)  # fmt: skip

    stack = cdk.Stack(app, "Quiet")
    out["quiet"] = Built(stack, NeptuneWatch(stack, "Watch", alarms=False))

    cdk.Aspects.of(app).add(AwsSolutionsChecks())
    cdk.Aspects.of(app).add(ServerlessChecks())
    app.synth()
    return out


def _role_grants(built: Built, role: Any) -> set[tuple[str, str]]:
    return h.grants(h.statements_of_role(built.json, built.logical_id(role)))


def test_the_users_own_vpc_topic_bus_and_key_are_used(users: dict[str, Built]) -> None:
    b = users["owned"]
    types = [r["Type"] for r in b.json["Resources"].values()]
    assert types.count("AWS::SNS::Topic") == 1 and types.count("AWS::Events::EventBus") == 1
    assert types.count("AWS::KMS::Key") == 1 and types.count("AWS::EC2::VPC") == 1
    assert b.watch.topic is b.extra["topic"] and b.watch.event_bus is b.extra["bus"]
    sm = h.resources(b.json, "AWS::StepFunctions::StateMachine")
    (definition,) = (r["Properties"]["DefinitionSubstitutions"] for r in sm.values())
    assert definition["TopicArn"] == {"Ref": b.logical_id(b.extra["topic"])}
    sm_role = next(iter(sm.values()))["Properties"]["RoleArn"]["Fn::GetAtt"][0]
    granted = h.grants(h.statements_of_role(b.json, sm_role))
    assert ("kms:GenerateDataKey", f"<{b.logical_id(b.extra['key'])}.Arn>") in granted
    assert ("events:PutEvents", f"<{b.logical_id(b.extra['bus'])}.Arn>") in granted


def test_loader_functions_run_in_the_users_subnets_with_their_own_group(users: dict[str, Built]) -> None:
    b = users["owned"]
    isolated = {b.stack.get_logical_id(s.node.default_child) for s in b.extra["vpc"].isolated_subnets}
    for handler, (_, fn) in h.functions_by_handler(b.json).items():
        vpc = fn["Properties"].get("VpcConfig")
        if ".loader_" in handler:
            assert {s["Ref"] for s in vpc["SubnetIds"]} == isolated
            assert len(vpc["SecurityGroupIds"]) == 1
        else:
            assert vpc is None


def test_connections_open_the_cluster_port_to_the_loader_functions(users: dict[str, Built]) -> None:
    b = users["owned"]
    cluster_sg = b.logical_id(b.extra["cluster_sg"])
    (own_sg,) = b.watch.connections.security_groups
    ingress = [r["Properties"] for r in h.resources(b.json, "AWS::EC2::SecurityGroupIngress").values()]
    assert {
        "GroupId": {"Fn::GetAtt": [cluster_sg, "GroupId"]}, "IpProtocol": "tcp", "FromPort": 8182, "ToPort": 8182,
        "SourceSecurityGroupId": {"Fn::GetAtt": [b.logical_id(own_sg), "GroupId"]},
        "Description": "neptune-watch loader functions",
    } in ingress  # fmt: skip


def test_grant_start_sync_gives_what_a_sync_parent_needs(users: dict[str, Built]) -> None:
    """https://docs.aws.amazon.com/step-functions/latest/dg/stepfunctions-iam.html: a parent
    running a child with ``startExecution.sync`` needs StartExecution on the state machine,
    DescribeExecution and StopExecution on its executions, and events:PutTargets, PutRule,
    DescribeRule on the managed rule StepFunctionsGetEventsForStepFunctionsExecutionRule."""
    b = users["owned"]
    name = b.watch.state_machine_name
    arn = "arn:<AWS::Partition>:{}:<AWS::Region>:<AWS::AccountId>:{}"
    assert _role_grants(b, b.extra["parent"]) == {
        ("states:StartExecution", arn.format("states", f"stateMachine:{name}")),
        ("states:DescribeExecution", arn.format("states", f"execution:{name}:*")),
        ("states:StopExecution", arn.format("states", f"execution:{name}:*")),
        ("events:PutTargets", arn.format("events", SYNC_RULE)),
        ("events:PutRule", arn.format("events", SYNC_RULE)),
        ("events:DescribeRule", arn.format("events", SYNC_RULE)),
    }
    assert _role_grants(b, b.extra["starter"]) == {
        ("states:StartExecution", arn.format("states", f"stateMachine:{name}"))
    }


def test_dashboard_shows_outcomes_polls_errors_and_publication_failures(users: dict[str, Built]) -> None:
    b = users["owned"]
    (dashboard,) = h.resources(b.json, "AWS::CloudWatch::Dashboard").values()
    body = str(h.render(dashboard["Properties"]["DashboardBody"]))
    for title in ("Outcomes", "Polls by kind", "Errors", "Publication failures"):
        assert f'"title":"{title}"' in body, title
    for needed in ('"NeptuneWatch","Outcomes","outcome","ERROR"', '"NeptuneWatch","Polls"',
                   "ServiceIntegrationsFailed", "arn:aws:states:::sns:publish", "ExecutionsFailed"):  # fmt: skip
        assert needed in body.replace(", ", ","), needed
    assert users["quiet"].watch.dashboard is None
    assert not h.resources(users["quiet"].json, "AWS::CloudWatch::Dashboard")


def test_alarms_can_be_turned_off(users: dict[str, Built]) -> None:
    assert users["quiet"].watch.alarms == {}
    assert not h.resources(users["quiet"].json, "AWS::CloudWatch::Alarm")
    assert len(h.resources(users["owned"].json, "AWS::CloudWatch::Alarm")) == 7  # 6 + OutcomesUnpublished (flow.py)


def test_metric_outcomes(users: dict[str, Built]) -> None:
    watch = users["owned"].watch
    one = watch.metric_outcomes(outcome="FAILED")
    assert isinstance(one, cloudwatch.Metric)
    assert (one.namespace, one.metric_name, one.dimensions) == (
        "NeptuneWatch", "Outcomes", {"service": "neptune-watch", "outcome": "FAILED"},
    )  # fmt: skip
    assert isinstance(watch.metric_outcomes(), cloudwatch.MathExpression)
    with pytest.raises(ConfigError, match="expected one of SUCCEEDED"):
        watch.metric_outcomes(outcome="BROKEN")


def test_no_unacknowledged_cdk_nag_findings(users: dict[str, Built]) -> None:
    for built in users.values():
        annotations = Annotations.from_stack(built.stack)
        pattern = Match.string_like_regexp("(AwsSolutions|Serverless)-.*")
        # Findings on the user's own resources (their VPC flow logs, the parent roles) are theirs.
        ours = [m.entry.data for m in annotations.find_error("*", pattern) if "/Watch/" in m.id]
        assert ours == []


def test_connections_without_a_loader_is_a_named_error(users: dict[str, Built]) -> None:
    with pytest.raises(ConfigError, match="no loader network"):
        _ = users["quiet"].watch.connections


def test_a_reader_endpoint_is_rejected() -> None:
    with pytest.raises(ReaderEndpointError, match="reader endpoint"):
        LoaderProps(cluster_endpoint=READER, cluster_resource_id=RESOURCE_ID, vpc_id="vpc-0123456789abcdef0",
                    availability_zones=("us-east-1a",), private_subnet_ids=("subnet-0123456789abcdef0",),
                    security_group_id="sg-0123456789abcdef0")  # fmt: skip
    context = {"loader": {"clusterEndpoint": READER, "clusterResourceId": RESOURCE_ID, "vpcId": "vpc-0123456789abcdef0",
                          "availabilityZones": ["us-east-1a"], "privateSubnetIds": ["subnet-0123456789abcdef0"],
                          "securityGroupId": "sg-0123456789abcdef0"}}  # fmt: skip
    with pytest.raises(ReaderEndpointError, match=r"neptune-watch\.loader\.clusterEndpoint"):
        parse_config(context)


def test_a_reader_endpoint_in_the_construct_is_rejected(tmp_path: Path) -> None:
    stack = cdk.Stack(cdk.App(outdir=str(tmp_path)), "Reader")
    with pytest.raises(ReaderEndpointError, match=r"NeptuneWatchProps\.loader\.clusterEndpoint"):
        NeptuneWatch(stack, "Watch", loader={"cluster_endpoint": READER, "cluster_resource_id": RESOURCE_ID,
                                             "vpc": ec2.Vpc(stack, "Vpc")})  # fmt: skip


@pytest.mark.parametrize(
    "arn",
    [
        "arn:aws:lambda:us-east-1:017000801446:layer:AWSLambdaPowertoolsPythonV3-python314-x86_64:37",
        "arn:aws:lambda:us-east-1:017000801446:layer:AWSLambdaPowertoolsPythonV3-python312-arm64:37",
    ],
)
def test_a_layer_for_another_runtime_or_architecture_is_rejected(arn: str, tmp_path: Path) -> None:
    with pytest.raises(LayerMismatchError, match=r"python3\.14 on arm64"):
        check_layer_arn(arn)
    with pytest.raises(LayerMismatchError, match=r"neptune-watch\.powertoolsLayerArn"):
        parse_config({"powertoolsLayerArn": arn})
    stack = cdk.Stack(cdk.App(outdir=str(tmp_path)), "Layer")
    with pytest.raises(LayerMismatchError):
        NeptuneWatch(stack, "Watch", powertools_layer_arn=arn)


def test_a_matching_or_private_layer_is_accepted() -> None:
    ok = "arn:aws-cn:lambda:cn-north-1:498634801083:layer:AWSLambdaPowertoolsPythonV3-python314-arm64:40"
    private = "arn:aws:lambda:us-east-1:123456789012:layer:our-powertools:3"
    assert check_layer_arn(ok) == ok and check_layer_arn(private) == private
    with pytest.raises(ValueError, match="not a layer version ARN"):
        check_layer_arn("arn:aws:lambda:us-east-1:123456789012:function:f")


def test_the_layer_carries_the_powertools_release_the_tests_run() -> None:
    from importlib.metadata import version

    assert version("aws-lambda-powertools") == POWERTOOLS_RELEASE
    pins = (h.REPO / "lambdas" / "requirements.txt").read_text()
    assert f"aws-lambda-powertools=={POWERTOOLS_RELEASE}" in pins
    assert f"aws_lambda_powertools=={POWERTOOLS_RELEASE}" in (h.REPO / "requirements.txt").read_text()
    assert POWERTOOLS_RELEASE in LAYER_VERSIONS
    assert parse_config(None).powertools_layer_version == LAYER_VERSIONS[POWERTOOLS_RELEASE]
    assert h.context()["neptune-watch"]["powertoolsLayerVersion"] == LAYER_VERSIONS[POWERTOOLS_RELEASE]


def test_props_reject_two_ways_of_giving_one_resource() -> None:
    with pytest.raises(ConfigError, match=r"existing_topic or as topic\.arn"):
        NeptuneWatchProps(existing_topic=object(), topic={"arn": "arn:aws:sns:us-east-1:123456789012:t"})
    with pytest.raises(ConfigError, match="either as vpc"):
        LoaderProps(cluster_endpoint=WRITER, cluster_resource_id=RESOURCE_ID)


def test_app_builds_the_examples_when_the_context_flag_asks(tmp_path: Path) -> None:
    """``npx cdk synth -c neptune-watch:examples=true`` (app.py's build, with the typed config)."""
    import app

    context = {"neptune-watch": h.context()["neptune-watch"], "neptune-watch:examples": "true"}
    stacks = app.build(cdk.App(outdir=str(tmp_path), context=context))
    assert [s.stack_name for s in stacks] == ["NeptuneWatch", "NeptuneWatch-Examples"]


def test_the_construct_is_also_reachable_from_the_top_package() -> None:
    import neptune_watch

    assert neptune_watch.NeptuneWatch is NeptuneWatch
    with pytest.raises(AttributeError):
        _ = neptune_watch.Nothing
