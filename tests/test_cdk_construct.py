"""The NeptuneWatch construct, built inside bare stacks and checked with CDK assertions.

All variants live in one App synthesized once per module (jsii and synth are the slow part).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import conftest_cdk as h  # first: sets the jsii environment before aws_cdk is imported

# isort: split
import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Annotations, Match, Template
from cdk_nag import AwsSolutionsChecks, ServerlessChecks
from neptune_watch.cdk import (
    AnalyticsProps,
    EventBusProps,
    LoaderProps,
    NeptuneWatch,
    NeptuneWatchProps,
    PollPolicy,
    TopicProps,
    WatchDefaults,
)
from neptune_watch.cdk.state_machine import placeholders
from watcher.names import FUNCTIONS as FUNCTION_SPECS
from watcher.settings import ENV, Settings

pytestmark = pytest.mark.cdk

SM_NAME = "nw-test-watch"
ENDPOINT = "my-cluster.cluster-abc.us-east-1.neptune.amazonaws.com"
CLUSTER_ID = "cluster-ABCDEFGHIJKLMNOPQRSTUVWXYZ"
ALARM_TOPIC = "arn:aws:sns:us-east-1:123456789012:ops-alarms"
EXISTING_TOPIC = "arn:aws:sns:us-east-1:123456789012:outcomes"
EXISTING_KEY = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
BUS_ARN = "arn:aws:events:us-east-1:123456789012:event-bus/shared-bus"

LOADER = LoaderProps(
    cluster_endpoint=ENDPOINT,
    cluster_resource_id=CLUSTER_ID,
    vpc_id="vpc-0123456789abcdef0",
    availability_zones=("us-east-1a", "us-east-1b"),
    private_subnet_ids=("subnet-0123456789abcdef0", "subnet-0fedcba9876543210"),
    security_group_id="sg-0123456789abcdef0",
)

HANDLERS = {spec.handler: spec for spec in FUNCTION_SPECS}
LOADER_HANDLERS = {s.handler for s in FUNCTION_SPECS if s.group == "loader"}
ANALYTICS_HANDLERS = {s.handler for s in FUNCTION_SPECS if s.group == "analytics"}
PREPARE = "watcher.handlers.prepare.handler"


class Built:
    """One synthesized variant: the construct and its template (as JSON and as Template)."""

    def __init__(self, stack: Any, watch: NeptuneWatch):
        self.stack = stack
        self.watch = watch
        self._template: Template | None = None

    @property
    def template(self) -> Template:
        if self._template is None:
            self._template = Template.from_stack(self.stack)
        return self._template

    @property
    def json(self) -> dict[str, Any]:
        return self.template.to_json()

    def logical_id(self, construct: Any) -> str:
        return self.stack.get_logical_id(construct.node.default_child)


@pytest.fixture(scope="module")
def variants(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Built]:
    app = cdk.App(outdir=str(tmp_path_factory.mktemp("cdk-construct")))

    def build(name: str, **kwargs: Any) -> Built:
        stack = cdk.Stack(app, name)
        return Built(stack, NeptuneWatch(stack, "Watch", **kwargs))

    built = {
        "full": build(
            "Full",
            props=NeptuneWatchProps(
                loader=LOADER,
                analytics=AnalyticsProps(
                    graph_endpoint="https://graph.local:8443", allowed_graph_ids=("g-abcdefghij",)
                ),
                defaults=WatchDefaults(timeout_seconds=7200, cancel_on_timeout=True, max_errors=25),
                poll_policy=PollPolicy(
                    min_wait_seconds=10,
                    max_wait_seconds=120,
                    wait_fraction=0.1,
                    max_polls_per_execution=900,
                    max_seconds_per_execution=43200,
                ),
                state_machine_name=SM_NAME,
                alarm_topic_arn=ALARM_TOPIC,
                log_level="DEBUG",
                log_retention_days=14,
            ),
        ),
        "minimal": build("Minimal"),
        "bus_name": build("BusName", event_bus=EventBusProps(mode="existing", name="shared-bus")),
        "bus_arn": build("BusArn", event_bus=EventBusProps(mode="existing", arn=BUS_ARN)),
        "bus_default": build("BusDefault", event_bus=EventBusProps(mode="default")),
        "topic": build(
            "ExistingTopic", topic=TopicProps(arn=EXISTING_TOPIC, kms_key_arn=EXISTING_KEY)
        ),
    }
    app.synth()
    return built


@pytest.fixture(scope="module")
def full(variants: dict[str, Built]) -> Built:
    return variants["full"]


def _functions(built: Built) -> dict[str, tuple[str, dict[str, Any]]]:
    return h.functions_by_handler(built.json)


def _env(fn: dict[str, Any]) -> dict[str, str]:
    return fn["Properties"].get("Environment", {}).get("Variables", {})


def _sm(built: Built) -> dict[str, Any]:
    (sm,) = h.resources(built.json, "AWS::StepFunctions::StateMachine").values()
    return sm


def _sm_grants(built: Built) -> set[tuple[str, str]]:
    sm = _sm(built)
    return h.grants(h.statements_of_role(built.json, sm["Properties"]["RoleArn"]["Fn::GetAtt"][0]))


# --- functions ------------------------------------------------------------------------


def test_eight_functions_with_the_expected_handlers(full: Built) -> None:
    full.template.resource_count_is("AWS::Lambda::Function", 8)
    assert set(_functions(full)) == set(HANDLERS)
    assert set(full.watch.functions) == {s.key for s in FUNCTION_SPECS}


def test_function_runtime_architecture_size_tracing_and_layer(full: Built) -> None:
    for handler, (_, fn) in _functions(full).items():
        p = fn["Properties"]
        assert p["Runtime"] == "python3.14", handler
        assert p["Architectures"] == ["arm64"], handler
        assert p["MemorySize"] == 256
        assert p["Timeout"] == 30
        assert p["TracingConfig"] == {"Mode": "Active"}
        assert "ReservedConcurrentExecutions" not in p
        (layer,) = h.render(p["Layers"])
        assert (
            layer
            == "arn:aws:lambda:<AWS::Region>:017000801446:layer:AWSLambdaPowertoolsPythonV3-python314-arm64:37"
        )
        assert "LogGroup" in p["LoggingConfig"], "explicit log group"


def test_layer_version_and_arn_are_configurable(tmp_path: Path) -> None:
    app = cdk.App(outdir=str(tmp_path))
    a = cdk.Stack(app, "A")
    NeptuneWatch(a, "Watch", powertools_layer_version=99)
    b = cdk.Stack(app, "B")
    arn = "arn:aws-cn:lambda:cn-north-1:498634801083:layer:AWSLambdaPowertoolsPythonV3-python314-arm64:40"
    NeptuneWatch(b, "Watch", powertools_layer_arn=arn)
    for stack, expected in ((a, ":99"), (b, arn)):
        for fn in h.resources(
            Template.from_stack(stack).to_json(), "AWS::Lambda::Function"
        ).values():
            assert h.render(fn["Properties"]["Layers"])[0].endswith(expected)


def test_every_log_group_has_retention(full: Built) -> None:
    groups = h.resources(full.json, "AWS::Logs::LogGroup")
    assert len(groups) == 9  # eight functions + the state machine
    for group in groups.values():
        assert group["Properties"]["RetentionInDays"] == 14
    for _, fn in _functions(full).values():
        log_ref = fn["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
        assert log_ref in groups


def test_vpc_config_only_on_loader_functions(full: Built) -> None:
    for handler, (_, fn) in _functions(full).items():
        vpc = fn["Properties"].get("VpcConfig")
        if handler in LOADER_HANDLERS:
            assert vpc == {
                "SecurityGroupIds": ["sg-0123456789abcdef0"],
                "SubnetIds": ["subnet-0123456789abcdef0", "subnet-0fedcba9876543210"],
            }
        else:
            assert vpc is None, handler
    # The imported security group is left alone.
    full.template.resource_count_is("AWS::EC2::SecurityGroup", 0)
    full.template.resource_count_is("AWS::EC2::SecurityGroupIngress", 0)
    full.template.resource_count_is("AWS::EC2::SecurityGroupEgress", 0)


def test_environment_variables(full: Built) -> None:
    for handler, (_, fn) in _functions(full).items():
        env = _env(fn)
        assert env["POWERTOOLS_SERVICE_NAME"] == "neptune-watch"
        assert env["POWERTOOLS_METRICS_NAMESPACE"] == "NeptuneWatch"
        assert env["POWERTOOLS_LOG_LEVEL"] == "DEBUG"
        if handler in LOADER_HANDLERS:
            assert env["NEPTUNE_ENDPOINT"] == f"https://{ENDPOINT}:8182"
        else:
            assert "NEPTUNE_ENDPOINT" not in env
        if handler in ANALYTICS_HANDLERS:
            assert env["ALLOWED_GRAPH_IDS"] == "g-abcdefghij"
            assert env["NEPTUNE_GRAPH_ENDPOINT"] == "https://graph.local:8443"
        else:
            assert "ALLOWED_GRAPH_IDS" not in env and "NEPTUNE_GRAPH_ENDPOINT" not in env
        if handler != PREPARE:
            assert "DEFAULT_TIMEOUT_SECONDS" not in env
    prepare = _env(_functions(full)[PREPARE][1])
    assert {k: prepare[k] for k in prepare if not k.startswith("POWERTOOLS_")} == {
        "DEFAULT_TIMEOUT_SECONDS": "7200",
        "DEFAULT_CANCEL_ON_TIMEOUT": "true",
        "DEFAULT_MAX_ERRORS": "25",
        "MIN_WAIT_SECONDS": "10",
        "MAX_WAIT_SECONDS": "120",
        "WAIT_FRACTION": "0.1",
        "MAX_POLLS_PER_EXECUTION": "900",
        "MAX_SECONDS_PER_EXECUTION": "43200",
    }


def test_every_environment_variable_is_read_back_by_the_settings(full: Built) -> None:
    """The construct writes settings only through ``watcher.settings.ENV``, and what the prepare
    function reads back is what was configured."""
    known = set(ENV.values()) | {"POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE", "POWERTOOLS_LOG_LEVEL"}
    for handler, (_, fn) in _functions(full).items():
        assert set(_env(fn)) <= known, handler
    prepare = _env(_functions(full)[PREPARE][1])
    import os
    from unittest import mock

    with mock.patch.dict(os.environ, {k: v for k, v in prepare.items() if k in ENV.values()}, clear=True):
        read = Settings.from_env()
    assert (read.default_timeout_seconds, read.default_cancel_on_timeout, read.default_max_errors) == (7200, True, 25)
    assert (read.min_wait_seconds, read.max_wait_seconds, read.wait_fraction) == (10, 120, 0.1)
    assert (read.max_polls_per_execution, read.max_seconds_per_execution) == (900, 43200)


def test_minimal_construct_has_no_vpc_and_no_loader_permission(variants: dict[str, Built]) -> None:
    minimal = variants["minimal"]
    assert minimal.watch.state_machine_name == "Minimal-Watch"
    for handler, (_, fn) in _functions(minimal).items():
        assert "VpcConfig" not in fn["Properties"], handler
        assert "NEPTUNE_ENDPOINT" not in _env(fn)
    for _, st in h.all_statements(minimal.json):
        assert not any(str(a).startswith("neptune-db:") for a in h.as_list(st["Action"]))


# --- IAM ------------------------------------------------------------------------------


def test_each_function_role_has_exactly_its_neptune_action(full: Built) -> None:
    partition = "arn:<AWS::Partition>"
    where = "<AWS::Region>:<AWS::AccountId>"
    expected = {
        "watcher.handlers.loader_status.handler": {
            ("neptune-db:GetLoaderJobStatus", f"{partition}:neptune-db:{where}:{CLUSTER_ID}/*")
        },
        "watcher.handlers.loader_cancel.handler": {
            ("neptune-db:CancelLoaderJob", f"{partition}:neptune-db:{where}:{CLUSTER_ID}/*")
        },
        "watcher.handlers.import_status.handler": {
            ("neptune-graph:GetImportTask", f"{partition}:neptune-graph:{where}:import-task/*")
        },
        "watcher.handlers.import_cancel.handler": {
            ("neptune-graph:CancelImportTask", f"{partition}:neptune-graph:{where}:import-task/*")
        },
        "watcher.handlers.export_status.handler": {
            ("neptune-graph:GetExportTask", f"{partition}:neptune-graph:{where}:export-task/*")
        },
        "watcher.handlers.export_cancel.handler": {
            ("neptune-graph:CancelExportTask", f"{partition}:neptune-graph:{where}:export-task/*")
        },
        PREPARE: set(),
        "watcher.handlers.finalize.handler": set(),
    }
    for handler, (_, fn) in _functions(full).items():
        granted = h.grants(h.statements_of_role(full.json, h.function_role_id(fn)))
        neptune = {g for g in granted if g[0].startswith(h.NEPTUNE_PREFIXES)}
        assert neptune == expected[handler], handler
        # Logs go to the function's own log group, nothing broader.
        log_group = fn["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
        assert {g for g in granted if g[0].startswith("logs:")} == {
            ("logs:CreateLogStream", f"<{log_group}.Arn>"),
            ("logs:PutLogEvents", f"<{log_group}.Arn>"),
        }
        managed = h.render(
            full.json["Resources"][h.function_role_id(fn)]["Properties"].get(
                "ManagedPolicyArns", []
            )
        )
        if handler in LOADER_HANDLERS:
            assert managed == [
                "arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"
            ]
        else:
            assert managed == [], (
                "no AWSLambdaBasicExecutionRole: logging is granted on the log group only"
            )


@pytest.mark.parametrize("variant", ["full", "minimal", "bus_default", "topic"])
def test_no_policy_grants_neptune_broadly(variants: dict[str, Built], variant: str) -> None:
    for rid, st in h.all_statements(variants[variant].json):
        actions = [str(a) for a in h.as_list(st["Action"])]
        assert "*" not in actions, rid
        assert not any(
            a in ("neptune-db:*", "neptune-graph:*") or a.endswith(":*") for a in actions
        ), (rid, actions)
        assert not any(re.fullmatch(r"neptune-(db|graph):.*\*.*", a) for a in actions), (
            rid,
            actions,
        )
        if any(a.startswith(h.NEPTUNE_PREFIXES) for a in actions):
            assert "*" not in h.as_list(st["Resource"]), (rid, actions)


def test_state_machine_role_grants(full: Built) -> None:
    t = full.json
    granted = _sm_grants(full)
    ids = {spec.key: full.logical_id(full.watch.functions[spec.key]) for spec in FUNCTION_SPECS}
    for fid in ids.values():
        assert ("lambda:InvokeFunction", f"<{fid}.Arn>") in granted
        assert ("lambda:InvokeFunction", f"<{fid}.Arn>:*") in granted
    topic_id = full.logical_id(full.watch.topic)
    key_id = full.logical_id(full.watch.topic_key)
    bus_id = full.logical_id(full.watch.event_bus)
    table_id = full.logical_id(full.watch.lock_table)
    arn = "arn:<AWS::Partition>:{}:<AWS::Region>:<AWS::AccountId>:{}"
    expected = {
        ("sns:Publish", f"<{topic_id}>"),
        ("kms:GenerateDataKey", f"<{key_id}.Arn>"),
        ("kms:Decrypt", f"<{key_id}.Arn>"),
        ("events:PutEvents", f"<{bus_id}.Arn>"),
        ("dynamodb:PutItem", f"<{table_id}.Arn>"),
        ("sqs:SendMessage", f"<{full.logical_id(full.watch.unpublished_queue)}.Arn>"),
        ("states:StartExecution", arn.format("states", f"stateMachine:{SM_NAME}")),
        ("states:DescribeExecution", arn.format("states", f"execution:{SM_NAME}:*")),
        ("states:StopExecution", arn.format("states", f"execution:{SM_NAME}:*")),
        (
            "events:PutTargets",
            arn.format("events", "rule/StepFunctionsGetEventsForStepFunctionsExecutionRule"),
        ),
        (
            "events:PutRule",
            arn.format("events", "rule/StepFunctionsGetEventsForStepFunctionsExecutionRule"),
        ),
        (
            "events:DescribeRule",
            arn.format("events", "rule/StepFunctionsGetEventsForStepFunctionsExecutionRule"),
        ),
        ("states:SendTaskSuccess", "*"),
        ("states:SendTaskFailure", "*"),
    }
    assert expected <= granted, expected - granted
    # Everything on "*" is one of: task-token calls, X-Ray, CloudWatch Logs delivery.
    star = {a for a, r in granted if r == "*"}
    assert all(a.startswith(("xray:", "logs:")) or a in ("states:SendTaskSuccess", "states:SendTaskFailure")
               for a in star), star  # fmt: skip
    # No other grant on anything but these resources.
    assert not {a for a, _ in granted if a.startswith("dynamodb:")} - {"dynamodb:PutItem"}
    allowed_prefixes = (
        "sqs:",
        "lambda:",
        "sns:",
        "kms:",
        "events:",
        "dynamodb:",
        "states:",
        "xray:",
        "logs:",
    )
    assert all(a.startswith(allowed_prefixes) for a, _ in granted)
    # No circular reference: the role does not point at the state machine resource.
    sm_id = full.logical_id(full.watch.state_machine)
    assert sm_id not in json.dumps(
        h.statements_of_role(t, _sm(full)["Properties"]["RoleArn"]["Fn::GetAtt"][0])
    )


# --- topic, table, state machine -------------------------------------------------------


def test_topic_uses_a_rotating_cmk_and_enforces_ssl(full: Built) -> None:
    key_id = full.logical_id(full.watch.topic_key)
    full.template.has_resource_properties(
        "AWS::SNS::Topic", {"KmsMasterKeyId": {"Fn::GetAtt": [key_id, "Arn"]}}
    )
    full.template.has_resource_properties("AWS::KMS::Key", {"EnableKeyRotation": True})
    full.template.has_resource_properties(
        "AWS::SNS::TopicPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Effect": "Deny",
                                "Action": "sns:Publish",
                                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                            }
                        )
                    ]
                )
            }
        },
    )


def test_existing_topic_is_used_as_given(variants: dict[str, Built]) -> None:
    built = variants["topic"]
    built.template.resource_count_is("AWS::SNS::Topic", 0)
    built.template.resource_count_is("AWS::KMS::Key", 0)
    granted = _sm_grants(built)
    assert ("sns:Publish", EXISTING_TOPIC) in granted
    assert {("kms:GenerateDataKey", EXISTING_KEY), ("kms:Decrypt", EXISTING_KEY)} <= granted
    assert _sm(built)["Properties"]["DefinitionSubstitutions"]["TopicArn"] == EXISTING_TOPIC


def test_lock_table(full: Built) -> None:
    full.template.has_resource(
        "AWS::DynamoDB::Table",
        {
            "Properties": {
                "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
                "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
                "BillingMode": "PAY_PER_REQUEST",
                "TimeToLiveSpecification": {"AttributeName": "expiresAt", "Enabled": True},
                "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
                "SSESpecification": {"SSEEnabled": True},
            },
            "DeletionPolicy": "Delete",
        },
    )
    (table,) = h.resources(full.json, "AWS::DynamoDB::Table").values()
    assert "KMSMasterKeyId" not in table["Properties"]["SSESpecification"], "AWS managed key"


def test_state_machine_type_name_tracing_and_logging(full: Built) -> None:
    sm = _sm(full)["Properties"]
    assert sm["StateMachineType"] == "STANDARD"
    assert sm["StateMachineName"] == SM_NAME
    assert sm["TracingConfiguration"] == {"Enabled": True}
    logging = sm["LoggingConfiguration"]
    assert logging["Level"] == "ALL"
    assert logging["IncludeExecutionData"] is True
    log_group_id = logging["Destinations"][0]["CloudWatchLogsLogGroup"]["LogGroupArn"][
        "Fn::GetAtt"
    ][0]
    name = full.json["Resources"][log_group_id]["Properties"]["LogGroupName"]
    assert name == f"/aws/vendedlogs/states/{SM_NAME}"
    assert name.startswith("/aws/vendedlogs/states/")


def test_definition_is_the_file_and_substitutions_match_its_placeholders(full: Built) -> None:
    text = h.ASL_PATH.read_text()
    json.loads(text)  # the file stays valid JSON with its placeholders
    sm = _sm(full)["Properties"]
    assert h.render(sm["DefinitionString"]) == text
    subs = sm["DefinitionSubstitutions"]
    assert set(subs) == placeholders(text)
    assert placeholders(text) == {
        "PrepareFunctionArn", "FinalizeFunctionArn", "LoaderStatusFunctionArn", "LoaderCancelFunctionArn",
        "ImportStatusFunctionArn", "ImportCancelFunctionArn", "ExportStatusFunctionArn", "ExportCancelFunctionArn",
        "TopicArn", "EventBusName", "EventSource", "LockTableName", "UnpublishedQueueUrl",
    }  # fmt: skip
    for spec in FUNCTION_SPECS:
        assert subs[spec.placeholder] == {
            "Fn::GetAtt": [full.logical_id(full.watch.functions[spec.key]), "Arn"]
        }
    assert subs["TopicArn"] == {"Ref": full.logical_id(full.watch.topic)}
    assert subs["LockTableName"] == {"Ref": full.logical_id(full.watch.lock_table)}
    assert subs["EventBusName"] == {"Ref": full.logical_id(full.watch.event_bus)}
    assert subs["EventSource"] == "com.neptunewatch"


def test_placeholders_helper() -> None:
    assert placeholders(
        '{"a": "${One}", "b": "x${Two_2}y", "c": "$.path", "d": "States.Format(\'{}\')"}'
    ) == {
        "One",
        "Two_2",
    }


def test_definition_with_an_unknown_placeholder_is_rejected(tmp_path: Path) -> None:
    asl = json.loads(h.ASL_PATH.read_text())
    asl["States"]["Prepare"]["Comment"] = "${SomethingElse}"
    path = tmp_path / "bad.asl.json"
    path.write_text(json.dumps(asl))
    stack = cdk.Stack(cdk.App(outdir=str(tmp_path / "out")), "Bad")
    with pytest.raises(Exception, match="SomethingElse"):
        NeptuneWatch(stack, "Watch", definition_path=str(path))


def test_sources_must_differ(tmp_path: Path) -> None:
    stack = cdk.Stack(cdk.App(outdir=str(tmp_path)), "Same")
    with pytest.raises(ValueError, match="must differ"):
        NeptuneWatch(stack, "Watch", request_source="com.x", outcome_source="com.x")


# --- event bus modes ------------------------------------------------------------------


def test_bus_mode_create(full: Built) -> None:
    full.template.resource_count_is("AWS::Events::EventBus", 1)
    bus_id = full.logical_id(full.watch.event_bus)
    full.template.has_resource_properties("AWS::Events::Rule", {"EventBusName": {"Ref": bus_id}})


@pytest.mark.parametrize(
    ("variant", "substitution", "bus_arn"),
    [
        (
            "bus_name",
            "shared-bus",
            "arn:<AWS::Partition>:events:<AWS::Region>:<AWS::AccountId>:event-bus/shared-bus",
        ),
        ("bus_arn", BUS_ARN, BUS_ARN),
        (
            "bus_default",
            "default",
            "arn:<AWS::Partition>:events:<AWS::Region>:<AWS::AccountId>:event-bus/default",
        ),
    ],
)
def test_bus_modes_use_an_existing_bus(
    variants: dict[str, Built], variant: str, substitution: str, bus_arn: str
) -> None:
    built = variants[variant]
    built.template.resource_count_is("AWS::Events::EventBus", 0)
    assert _sm(built)["Properties"]["DefinitionSubstitutions"]["EventBusName"] == substitution
    assert ("events:PutEvents", bus_arn) in _sm_grants(built)
    recovery = built.logical_id(built.watch.recovery_rule)
    (rule,) = [r for k, r in h.resources(built.json, "AWS::Events::Rule").items() if k != recovery]
    expected_rule_bus = {
        "bus_name": "shared-bus",
        "bus_arn": "shared-bus",
        "bus_default": "default",
    }[variant]
    assert rule["Properties"].get("EventBusName", "default") == expected_rule_bus


# --- request rule, DLQ, alarms --------------------------------------------------------


def test_request_rule_targets_the_state_machine_with_a_dlq(full: Built) -> None:
    sm_id = full.logical_id(full.watch.state_machine)
    dlq_id = full.logical_id(full.watch.dead_letter_queue)
    full.template.has_resource_properties(
        "AWS::Events::Rule",
        {
            "EventPattern": {
                "source": ["com.neptunewatch.requests"],
                "detail-type": ["Neptune Watch Requested"],
            },
            "Targets": [
                Match.object_like(
                    {
                        "Arn": {"Ref": sm_id},
                        "InputPath": "$.detail",
                        "DeadLetterConfig": {"Arn": {"Fn::GetAtt": [dlq_id, "Arn"]}},
                        "RetryPolicy": {
                            "MaximumEventAgeInSeconds": 86400,
                            "MaximumRetryAttempts": 185,
                        },
                    }
                )
            ],
        },
    )


def test_dead_letter_queue_is_encrypted_and_ssl_only(full: Built) -> None:
    full.template.has_resource_properties("AWS::SQS::Queue", {"SqsManagedSseEnabled": True})
    full.template.has_resource_properties(
        "AWS::SQS::QueuePolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Effect": "Deny",
                                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                            }
                        ),
                        Match.object_like(
                            {
                                "Effect": "Allow",
                                "Action": "sqs:SendMessage",
                                "Principal": {"Service": "events.amazonaws.com"},
                            }
                        ),
                    ]
                )
            }
        },
    )


def test_alarms_on_the_four_execution_metrics(full: Built) -> None:
    alarms = h.resources(full.json, "AWS::CloudWatch::Alarm").values()
    sm_id = full.logical_id(full.watch.state_machine)
    by_metric = {a["Properties"]["MetricName"]: a["Properties"] for a in alarms}
    for metric in (
        "ExecutionsFailed",
        "ExecutionsTimedOut",
        "ExecutionsAborted",
        "ExecutionThrottled",
    ):
        alarm = by_metric[metric]
        assert alarm["Namespace"] == "AWS/States"
        assert alarm["Dimensions"] == [{"Name": "StateMachineArn", "Value": {"Ref": sm_id}}]
        assert alarm["Threshold"] == 1
        assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
        assert alarm["TreatMissingData"] == "notBreaching"
        assert alarm["AlarmActions"] == [ALARM_TOPIC]
    assert by_metric["ApproximateNumberOfMessagesVisible"]["Namespace"] == "AWS/SQS"
    errors = by_metric["Outcomes"]
    assert errors["Namespace"] == "NeptuneWatch"
    assert sorted(errors["Dimensions"], key=lambda d: d["Name"]) == [
        {"Name": "outcome", "Value": "ERROR"},
        {"Name": "service", "Value": "neptune-watch"},
    ]


def test_alarms_have_no_action_without_an_alarm_topic(variants: dict[str, Built]) -> None:
    for alarm in h.resources(variants["minimal"].json, "AWS::CloudWatch::Alarm").values():
        assert "AlarmActions" not in alarm["Properties"]


# --- public attributes and asset --------------------------------------------------------


def test_public_attributes(full: Built) -> None:
    w = full.watch
    for name in (
        "state_machine",
        "topic",
        "event_bus",
        "lock_table",
        "functions",
        "dead_letter_queue",
    ):
        assert getattr(w, name) is not None, name
    assert len(w.functions) == 8
    assert w.state_machine_name == SM_NAME


def test_asset_holds_the_watcher_package_only(full: Built) -> None:
    out = Path(cdk.Stage.of(full.stack).outdir)
    (asset,) = {p for p in out.glob("asset.*") if p.is_dir()}
    files = {p.relative_to(asset).as_posix() for p in asset.rglob("*") if p.is_file()}
    assert "watcher/handlers/prepare.py" in files
    assert all(f.startswith("watcher/") for f in files), files
    assert not any("__pycache__" in f or f.endswith(".pyc") or "/tests/" in f for f in files)


def test_error_log_level_is_acknowledged_for_cdk_nag(tmp_path: Path) -> None:
    app = cdk.App(outdir=str(tmp_path))
    stack = cdk.Stack(app, "Quiet")
    NeptuneWatch(stack, "Watch", loader=LOADER, state_machine_log_level="ERROR")
    cdk.Aspects.of(app).add(AwsSolutionsChecks())
    cdk.Aspects.of(app).add(ServerlessChecks())
    Template.from_stack(stack).has_resource_properties(
        "AWS::StepFunctions::StateMachine",
        {"LoggingConfiguration": Match.object_like({"Level": "ERROR"})},
    )
    annotations = Annotations.from_stack(stack)
    assert (
        annotations.find_error("*", Match.string_like_regexp("(AwsSolutions|Serverless)-.*")) == []
    )
    assert (
        annotations.find_warning("*", Match.string_like_regexp("(AwsSolutions|Serverless)-.*"))
        == []
    )


# --- the watch flow's resources (stacks/flow.py) -------------------------------------------


def test_unpublished_outcomes_queue_alarm_and_substitution(full: Built) -> None:
    queue_id = full.logical_id(full.watch.unpublished_queue)
    queue = full.json["Resources"][queue_id]["Properties"]
    assert queue["SqsManagedSseEnabled"] is True and queue["MessageRetentionPeriod"] == 14 * 86400
    assert _sm(full)["Properties"]["DefinitionSubstitutions"]["UnpublishedQueueUrl"] == {"Ref": queue_id}
    alarms = [a["Properties"] for a in h.resources(full.json, "AWS::CloudWatch::Alarm").values()]
    depth = [a for a in alarms if a.get("Dimensions") == [{"Name": "QueueName", "Value": {"Fn::GetAtt": [queue_id, "QueueName"]}}]]
    assert len(depth) == 1 and depth[0]["MetricName"] == "ApproximateNumberOfMessagesVisible"
    assert depth[0]["Threshold"] == 1 and depth[0]["AlarmActions"] == [ALARM_TOPIC]


def test_recovery_rule_starts_the_state_machine_on_aborted_and_timed_out(full: Built) -> None:
    rule = full.json["Resources"][full.logical_id(full.watch.recovery_rule)]["Properties"]
    pattern = rule["EventPattern"]
    assert pattern["source"] == ["aws.states"]
    assert pattern["detail-type"] == ["Step Functions Execution Status Change"]
    assert pattern["detail"]["status"] == ["ABORTED", "TIMED_OUT"]
    assert "stateMachine:" + SM_NAME in json.dumps(pattern["detail"]["stateMachineArn"])
    (target,) = rule["Targets"]
    assert target["Arn"] == {"Ref": full.logical_id(full.watch.state_machine)}
    template = target["InputTransformer"]["InputTemplate"]
    assert "neptuneWatchRecover" in template and target["InputTransformer"]["InputPathsMap"] == {
        "detail-executionArn": "$.detail.executionArn"
    }


def test_prepare_and_finalize_may_use_the_lock_and_answer_waiters(full: Built) -> None:
    table_id = full.logical_id(full.watch.lock_table)
    fns = _functions(full)
    for handler in ("watcher.handlers.prepare.handler", "watcher.handlers.finalize.handler"):
        _, fn = fns[handler]
        granted = h.grants(h.statements_of_role(full.json, h.function_role_id(fn)))
        for action in ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"):
            assert (action, f"<{table_id}.Arn>") in granted
        assert ("states:DescribeExecution",
                f"arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:{SM_NAME}:*") in granted  # fmt: skip
        assert ("states:SendTaskSuccess", "*") in granted
    assert _env(fns["watcher.handlers.finalize.handler"][1])["ENDED_WINDOW_SECONDS"] == "900"
