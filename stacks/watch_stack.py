"""``NeptuneWatchStack``: one deployable neptune-watch, configured from ``cdk.json``."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from .config import CONTEXT_KEY, WatchConfig, WatchSettings, parse_config
from .props import NeptuneWatchProps
from .watch_construct import NeptuneWatch


def props_from_config(config: WatchConfig) -> NeptuneWatchProps:
    """The construct's properties for a parsed ``neptune-watch`` context object."""
    shared = {name: getattr(config, name) for name in WatchSettings.model_fields}
    return NeptuneWatchProps(**{**shared, "state_machine_name": config.effective_state_machine_name})


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
