"""cdk-nag acknowledgements: the findings that are by design, each on the resource concerned and
with its reason."""

from __future__ import annotations

from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from cdk_nag import NagPackSuppression, NagSuppressions, RegexAppliesTo

from neptune_watch import resources

resources.require_watcher()
from watcher.names import FUNCTIONS  # noqa: E402

_XRAY = NagPackSuppression(
    id="AwsSolutions-IAM5",
    reason="Active X-Ray tracing: xray:PutTraceSegments and xray:PutTelemetryRecords support no "
    "resource-level permissions, so IAM requires Resource '*'.",
    applies_to=["Resource::*"],
)
_NEPTUNE = NagPackSuppression(
    id="AwsSolutions-IAM5",
    reason="Jobs and tasks are created at run time by other tools, so their ids are unknown at deploy "
    "time: the one Neptune action this function needs is scoped to this cluster's / this account's "
    "tasks, never to all of Neptune.",
    applies_to=[RegexAppliesTo(regex=r"/^Resource::arn:<AWS::Partition>:neptune-(db|graph):.*\/\*$/g")],
)
_VPC_ROLE = NagPackSuppression(
    id="AwsSolutions-IAM4",
    reason="AWSLambdaVPCAccessExecutionRole is the AWS-maintained minimum for a function in a VPC "
    "(create / describe / delete its network interfaces).",
    applies_to=["Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"],
)
_SYNC_DLQ = NagPackSuppression(
    id="Serverless-LambdaDLQ",
    reason="Invoked synchronously by Step Functions only (lambda:invoke), which retries and catches every "
    "error; an asynchronous-invocation DLQ would never receive anything.",
)
_STATE_MACHINE = NagPackSuppression(
    id="AwsSolutions-IAM5",
    reason="Scoped wildcards by design: Lambda version ARNs (<fn>:*) of the functions; this state "
    "machine's own executions (execution:<name>:*) for the continue-as-new child and the lock owner "
    "lookup; X-Ray and CloudWatch Logs delivery actions, which support no resource-level permissions; "
    "states:SendTaskSuccess/SendTaskFailure, which act on a task token and accept no resource other "
    "than '*'.",
    applies_to=[
        "Resource::*",
        RegexAppliesTo(regex=r"/^Resource::<.*Function[0-9A-F]{8}\.Arn>:\*$/g"),
        RegexAppliesTo(regex=r"/^Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:.*:\*$/g"),
    ],
)
_DLQ_REASON = "This queue is itself the dead-letter queue of the request rule's target."
_LOG_LEVEL_REASON = (
    "The deployment chose a state machine log level below ALL (stateMachineLogLevel) to cut log volume: "
    "failed states are still logged with their execution data, and every outcome is published to SNS "
    "and EventBridge."
)


def acknowledge(
    roles: dict[str, iam.Role],
    functions: dict[str, lambda_.Function],
    neptune_kinds: set[str],
    in_vpc: bool,
    machine: sfn.StateMachine,
    full_logging: bool,
    dead_letter_queue: sqs.Queue,
) -> None:
    for spec in FUNCTIONS:
        role = roles[spec.key]
        found = [_XRAY]
        if spec.neptune_action and spec.key.split("_", 1)[0] in neptune_kinds:
            found.append(_NEPTUNE)
        if spec.group == "loader" and in_vpc:
            found.append(_VPC_ROLE)
        NagSuppressions.add_resource_suppressions(role, found, apply_to_children=True)
        NagSuppressions.add_resource_suppressions(functions[spec.key], [_SYNC_DLQ])
    NagSuppressions.add_resource_suppressions(machine, [_STATE_MACHINE], apply_to_children=True)
    if not full_logging:
        NagSuppressions.add_resource_suppressions(
            machine,
            [
                NagPackSuppression(id="AwsSolutions-SF1", reason=_LOG_LEVEL_REASON),
                NagPackSuppression(id="Serverless-StepFunctionStateMachineAllLogLevel", reason=_LOG_LEVEL_REASON),
            ],
        )
    NagSuppressions.add_resource_suppressions(
        dead_letter_queue,
        [NagPackSuppression(id="AwsSolutions-SQS3", reason=_DLQ_REASON),
         NagPackSuppression(id="Serverless-SQSRedrivePolicy", reason=_DLQ_REASON)],
    )  # fmt: skip
