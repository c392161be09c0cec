"""What the watch flow needs beyond the state machine itself (statemachines/watch.asl.json):

- the queue of unpublished outcomes (``UnpublishedQueueUrl``): a publication that still fails
  after its retries is kept there by the state machine (``sqs:sendMessage``), with an alarm on
  its depth;
- the lock table's use by the prepare and finalize functions (conditional GetItem / PutItem /
  UpdateItem), DescribeExecution on this state machine's executions (continuations and
  recovery are checked against it), and answering the task tokens of waiting duplicates;
- the recovery rule: an execution of this state machine that is ABORTED or TIMED_OUT may leave
  its job's lock RUNNING; the rule starts a recovery execution
  (``{"neptuneWatchRecover": {"executionArn": ...}}``) that takes the lock over, finishes the
  watch and answers every waiting duplicate. The recovery is checked against the service
  (DescribeExecution and the lock item), so a forged one can only do what the rule would.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sqs as sqs
from cdk_nag import NagPackSuppression, NagSuppressions, RegexAppliesTo

from neptune_watch import resources

resources.require_watcher()
from watcher.names import RECOVERY_STATUSES  # noqa: E402

ENDED_WINDOW_SECONDS = 900  # how long an ended watch answers later requests from its record


def make_unpublished_queue(c: Any) -> dict[str, str]:
    """Create the queue of unpublished outcomes; the definition substitutions it provides."""
    c.unpublished_queue = sqs.Queue(
        c,
        "UnpublishedOutcomes",
        encryption=sqs.QueueEncryption.SQS_MANAGED,
        enforce_ssl=True,
        retention_period=Duration.days(14),
    )
    NagSuppressions.add_resource_suppressions(
        c.unpublished_queue,
        [
            NagPackSuppression(
                id="AwsSolutions-SQS3",
                reason="This queue is itself the dead-letter store of outcomes that could not be published.",
            ),
            NagPackSuppression(
                id="Serverless-SQSRedrivePolicy",
                reason="This queue is itself the dead-letter store of outcomes that could not be published.",
            ),
        ],
    )
    return {"UnpublishedQueueUrl": c.unpublished_queue.queue_url}


def wire_flow(c: Any) -> None:
    """Grants and the recovery rule, once the state machine exists."""
    sm = c.state_machine
    c.unpublished_queue.grant_send_messages(sm)
    for key in ("prepare", "finalize"):
        fn = c.functions[key]
        fn.add_to_role_policy(
            iam.PolicyStatement(
                actions=["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"],
                resources=[c.lock_table.table_arn],
            )
        )
        fn.add_to_role_policy(iam.PolicyStatement(actions=["states:DescribeExecution"], resources=[c.executions_arn]))
        # SendTaskSuccess takes a task token, not a resource: IAM only accepts "*" for it.
        fn.add_to_role_policy(iam.PolicyStatement(actions=["states:SendTaskSuccess"], resources=["*"]))
        NagSuppressions.add_resource_suppressions(
            c.function_roles[key],
            [
                NagPackSuppression(
                    id="AwsSolutions-IAM5",
                    reason="Continuations and recoveries are checked with DescribeExecution on this state "
                    "machine's executions (execution:<name>:*); SendTaskSuccess takes a task token, not a "
                    "resource, so IAM only accepts '*' for it.",
                    applies_to=[
                        "Resource::*",
                        RegexAppliesTo(
                            regex=r"/^Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:.*:\*$/g"
                        ),
                    ],
                )
            ],
            apply_to_children=True,
        )
    c.functions["finalize"].add_environment("ENDED_WINDOW_SECONDS", str(ENDED_WINDOW_SECONDS))

    c.recovery_rule = events.Rule(
        c,
        "RecoveryRule",
        description="neptune-watch: recover the job lock of an execution that was aborted or timed out",
        event_pattern=events.EventPattern(
            source=["aws.states"],
            detail_type=["Step Functions Execution Status Change"],
            detail={"status": list(RECOVERY_STATUSES), "stateMachineArn": [c.state_machine_arn_from_name]},
        ),
    )
    c.recovery_rule.add_target(
        targets.SfnStateMachine(
            sm,
            input=events.RuleTargetInput.from_object(
                {"neptuneWatchRecover": {"executionArn": events.EventField.from_path("$.detail.executionArn")}}
            ),
            dead_letter_queue=c.dead_letter_queue,
            retry_attempts=8,
        )
    )


def build_alarms(c: Any, alarm_topic: Any) -> dict[str, cloudwatch.Alarm]:
    """An alarm on the depth of the queue of unpublished outcomes."""
    alarm = cloudwatch.Alarm(
        c,
        "OutcomesUnpublishedAlarm",
        metric=c.unpublished_queue.metric_approximate_number_of_messages_visible(
            period=Duration.minutes(5), statistic="Maximum"
        ),
        threshold=1,
        evaluation_periods=1,
        comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        alarm_description=f"neptune-watch {c.state_machine_name}: outcomes could not be published to SNS or "
        "EventBridge after their retries and are kept in the queue of unpublished outcomes.",
    )
    if alarm_topic is not None:
        alarm.add_alarm_action(cw_actions.SnsAction(alarm_topic))
    return {"OutcomesUnpublished": alarm}
