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

from aws_cdk import CfnOutput, RemovalPolicy, Stack
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from cdk_nag import NagPackSuppression, NagSuppressions
from constructs import Construct

from neptune_watch import resources

from .state_machine import arns, grant_start, placeholders


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
        folder = Path(examples_dir) if examples_dir else resources.examples_dir()
        watch = arns(self, watch_state_machine_name)
        watch_arn = watch.state_machine
        self.substitutions = {"WatchStateMachineArn": watch_arn}

        self.sync_parent = self._parent(
            folder / "parent_sync.asl.json", "SyncParent", log_retention
        )
        grant_start(self.sync_parent, watch, sync=True)

        self.token_parent = self._parent(
            folder / "parent_token.asl.json", "TokenParent", log_retention
        )
        grant_start(self.token_parent, watch, sync=False)

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
