"""Two example parent state machines that run a watch (deployed with ``"examples": true``).

- ``examples/parent_sync.asl.json``: ``startExecution.sync:2``; Catch ``States.TaskFailed``,
  read the child's error name and outcome from the Cause, Choice on ``NeptuneWatch.<OUTCOME>``.
- ``examples/parent_token.asl.json``: ``startExecution.waitForTaskToken`` with the token in the
  watch request; Retry / Catch ``NeptuneWatch.<OUTCOME>`` by name.

Their roles can start the watcher (and, for ``.sync``, follow its executions) and nothing else.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aws_cdk import ArnFormat, CfnOutput, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from cdk_nag import NagPackSuppression, NagSuppressions
from constructs import Construct

from .watch_construct import placeholders

EXAMPLES_DIR = Path(__file__).resolve().parent.parent / "examples"
SYNC_RULE_NAME = "StepFunctionsGetEventsForStepFunctionsExecutionRule"


class NeptuneWatchExamples(Construct):
    """The two example parents, given the watcher's (explicit) state machine name.

    Attributes: ``sync_parent``, ``token_parent`` (state machines) and ``substitutions``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        watch_state_machine_name: str,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_MONTH,
        examples_dir: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        folder = Path(examples_dir) if examples_dir else EXAMPLES_DIR
        watch_arn = stack.format_arn(
            service="states",
            resource="stateMachine",
            resource_name=watch_state_machine_name,
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        watch_executions = stack.format_arn(
            service="states",
            resource="execution",
            resource_name=f"{watch_state_machine_name}:*",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        self.substitutions = {"WatchStateMachineArn": watch_arn}

        self.sync_parent = self._parent(
            folder / "parent_sync.asl.json", "SyncParent", log_retention
        )
        self.sync_parent.add_to_role_policy(
            iam.PolicyStatement(actions=["states:StartExecution"], resources=[watch_arn])
        )
        self.sync_parent.add_to_role_policy(
            iam.PolicyStatement(
                actions=["states:DescribeExecution", "states:StopExecution"],
                resources=[watch_executions],
            )
        )
        self.sync_parent.add_to_role_policy(
            iam.PolicyStatement(
                actions=["events:PutTargets", "events:PutRule", "events:DescribeRule"],
                resources=[
                    stack.format_arn(
                        service="events", resource="rule", resource_name=SYNC_RULE_NAME
                    )
                ],
            )
        )

        self.token_parent = self._parent(
            folder / "parent_token.asl.json", "TokenParent", log_retention
        )
        self.token_parent.add_to_role_policy(
            iam.PolicyStatement(actions=["states:StartExecution"], resources=[watch_arn])
        )

        for parent, extra in ((self.sync_parent, "; the watcher's executions (execution:<watcher>:*), which "
                               "startExecution.sync:2 describes and stops"), (self.token_parent, "")):  # fmt: skip
            NagSuppressions.add_resource_suppressions(
                parent,
                [
                    NagPackSuppression(
                        id="AwsSolutions-IAM5",
                        reason="X-Ray and CloudWatch Logs delivery actions support no resource-level "
                        "permissions" + extra + ".",
                        applies_to=[
                            "Resource::*",
                            *(
                                [
                                    "Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:"
                                    f"execution:{watch_state_machine_name}:*"
                                ]
                                if extra
                                else []
                            ),
                        ],
                    )
                ],
                apply_to_children=True,
            )

    def _parent(
        self, path: Path, construct_id: str, log_retention: logs.RetentionDays
    ) -> sfn.StateMachine:
        text = path.read_text(encoding="utf-8")
        found = placeholders(text)
        if found != set(self.substitutions):
            raise ValueError(
                f"{path.name}: placeholders {sorted(found)} != substitutions {sorted(self.substitutions)}"
            )
        log_group = logs.LogGroup(
            self,
            f"{construct_id}Logs",
            retention=log_retention,
            removal_policy=RemovalPolicy.DESTROY,
        )
        return sfn.StateMachine(
            self,
            construct_id,
            state_machine_type=sfn.StateMachineType.STANDARD,
            definition_body=sfn.DefinitionBody.from_string(text),
            definition_substitutions=dict(self.substitutions),
            logs=sfn.LogOptions(
                destination=log_group, level=sfn.LogLevel.ALL, include_execution_data=True
            ),
            tracing_enabled=True,
        )


class NeptuneWatchExamplesStack(Stack):
    """A stack with the two example parents, next to a deployed watcher."""

    def __init__(
        self, scope: Construct, construct_id: str, *, watch_state_machine_name: str, **kwargs: Any
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.examples = NeptuneWatchExamples(
            self, "Examples", watch_state_machine_name=watch_state_machine_name
        )
        CfnOutput(self, "SyncParentArn", value=self.examples.sync_parent.state_machine_arn)
        CfnOutput(self, "TokenParentArn", value=self.examples.token_parent.state_machine_arn)
