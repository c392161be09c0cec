"""Watch requests as events: a rule on the bus starts an execution for each "Neptune Watch
Requested" event; what cannot be started lands in an encrypted dead-letter queue."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from neptune_watch import resources

from .props import NeptuneWatchProps

resources.require_watcher()
from watcher.names import REQUEST_DETAIL_TYPE  # noqa: E402

# The rule retries StartExecution this long; a late watch is still useful (a job that already
# ended is reported on the first poll).
REQUEST_MAX_EVENT_AGE = Duration.hours(24)
REQUEST_RETRY_ATTEMPTS = 185


@dataclass
class Intake:
    rule: events.Rule
    dead_letter_queue: sqs.Queue
    source: str
    detail_type: str


def build_intake(
    scope: Construct, props: NeptuneWatchProps, bus: events.IEventBus, machine: sfn.IStateMachine
) -> Intake:
    queue = sqs.Queue(
        scope, "RequestDeadLetterQueue", encryption=sqs.QueueEncryption.SQS_MANAGED, enforce_ssl=True,
        retention_period=Duration.days(14),
    )  # fmt: skip
    rule = events.Rule(
        scope, "RequestRule", event_bus=bus,
        description=f"neptune-watch: start a watch for each '{REQUEST_DETAIL_TYPE}' event",
        event_pattern=events.EventPattern(source=[props.request_source], detail_type=[REQUEST_DETAIL_TYPE]),
    )  # fmt: skip
    rule.add_target(
        targets.SfnStateMachine(
            machine, input=events.RuleTargetInput.from_event_path("$.detail"), dead_letter_queue=queue,
            retry_attempts=REQUEST_RETRY_ATTEMPTS, max_event_age=REQUEST_MAX_EVENT_AGE,
        )
    )
    return Intake(rule=rule, dead_letter_queue=queue, source=props.request_source, detail_type=REQUEST_DETAIL_TYPE)
