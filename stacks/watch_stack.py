"""``NeptuneWatchStack``: one deployable neptune-watch, configured from ``cdk.json``."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, RemovalPolicy, Stack
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from .config import CONTEXT_KEY, WatchConfig, parse_config
from .watch_construct import NeptuneWatch, NeptuneWatchProps, retention_days


def props_from_config(config: WatchConfig) -> NeptuneWatchProps:
    """The construct's properties for a parsed ``neptune-watch`` context object."""
    return NeptuneWatchProps(
        loader=config.loader,
        analytics=config.analytics,
        defaults=config.defaults,
        poll_policy=config.poll_policy,
        event_bus=config.event_bus,
        topic=config.topic,
        state_machine_name=config.effective_state_machine_name,
        request_source=config.request_source,
        outcome_source=config.outcome_source,
        powertools_layer_version=config.powertools_layer_version,
        powertools_layer_arn=config.powertools_layer_arn,
        log_level=config.log_level,
        log_retention=retention_days(config.log_retention_days),
        log_removal_policy=RemovalPolicy.DESTROY
        if config.log_removal_policy == "destroy"
        else RemovalPolicy.RETAIN,
        state_machine_log_level=sfn.LogLevel.ERROR
        if config.state_machine_log_level == "ERROR"
        else sfn.LogLevel.ALL,
        lock_table_removal_policy=(
            RemovalPolicy.RETAIN
            if config.lock_table_removal_policy == "retain"
            else RemovalPolicy.DESTROY
        ),
        alarm_topic_arn=config.alarm_topic_arn,
    )


class NeptuneWatchStack(Stack):
    """The watcher and its outputs. ``config`` defaults to the ``neptune-watch`` context."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: WatchConfig | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        if config is None:
            config = parse_config(self.node.try_get_context(CONTEXT_KEY))
        self.config = config
        self.watch = NeptuneWatch(self, "Watch", props=props_from_config(config))
        w = self.watch

        CfnOutput(self, "StateMachineArn", value=w.state_machine.state_machine_arn,
                  description="Start a watch: StartExecution with a watch request as input")  # fmt: skip
        CfnOutput(self, "StateMachineName", value=w.state_machine_name)
        CfnOutput(self, "TopicArn", value=w.topic.topic_arn, description="Outcomes (SNS)")
        CfnOutput(self, "EventBusName", value=w.event_bus.event_bus_name,
                  description="Outcomes are published here; watch requests are read from here")  # fmt: skip
        CfnOutput(self, "RequestEventSource", value=w.request_source,
                  description="'source' of a watch-request event")  # fmt: skip
        CfnOutput(self, "RequestDetailType", value=w.request_detail_type,
                  description="'detail-type' of a watch-request event (its detail is the watch request)")  # fmt: skip
        CfnOutput(self, "OutcomeEventSource", value=config.outcome_source,
                  description="'source' of the outcome events")  # fmt: skip
        CfnOutput(self, "LockTableName", value=w.lock_table.table_name)
        CfnOutput(self, "RequestDeadLetterQueueUrl", value=w.dead_letter_queue.queue_url)
