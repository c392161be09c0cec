"""Properties of the :class:`~neptune_watch.cdk.NeptuneWatch` construct.

Shaped like the AWS Solutions Constructs' props: pass an existing resource (``existing_topic``,
``existing_event_bus``, ``encryption_key``, a loader ``vpc``) or let the construct build one
with secure defaults. Everything that ``cdk.json`` can also say comes from
:class:`~neptune_watch.cdk.config.WatchSettings`, so it is validated the same way.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError, model_validator

from .config import (
    AnalyticsProps,
    EventBusProps,
    LoaderProps,
    PollPolicy,
    TopicProps,
    WatchDefaults,
    WatchSettings,
    explain,
    validating,
)

__all__ = [
    "AnalyticsProps",
    "EventBusProps",
    "LoaderProps",
    "NeptuneWatchProps",
    "PollPolicy",
    "TopicProps",
    "WatchDefaults",
    "props_from",
]


class NeptuneWatchProps(WatchSettings):
    """Every field has a default; see :class:`WatchSettings` for the shared ones."""

    existing_topic: Any = None
    """``sns.ITopic`` the outcomes are published to (default: a topic with a rotating CMK)."""
    encryption_key: Any = None
    """``kms.IKey``: the CMK of ``existing_topic``, or the key of the topic the construct creates."""
    existing_event_bus: Any = None
    """``events.IEventBus`` for outcomes and requests (instead of ``event_bus``)."""
    alarm_topic: Any = None
    """``sns.ITopic`` that receives the alarms' state changes (or ``alarm_topic_arn``)."""
    code_path: str | None = None
    """Folder holding the ``watcher`` package (default: the packaged Lambda code)."""
    definition_path: str | None = None
    """ASL file (default: the packaged ``statemachines/watch.asl.json``)."""

    @model_validator(mode="after")
    def _one_of_each(self) -> NeptuneWatchProps:
        if self.existing_topic is not None and self.topic.arn:
            raise ValueError("give the outcome topic as existing_topic or as topic.arn, not both")
        if self.existing_event_bus is not None and self.event_bus != EventBusProps():
            raise ValueError("give the event bus as existing_event_bus or as event_bus, not both")
        if self.alarm_topic is not None and self.alarm_topic_arn:
            raise ValueError("give the alarm topic as alarm_topic or as alarm_topic_arn, not both")
        if self.alarm_topic is not None and not self.alarms:
            raise ValueError("alarm_topic is set but alarms are off")
        return self


def props_from(props: NeptuneWatchProps | None, overrides: dict[str, Any]) -> NeptuneWatchProps:
    """``props`` with keyword overrides applied, validated; ConfigError (or a subclass) if not."""
    data = {} if props is None else {name: getattr(props, name) for name in NeptuneWatchProps.model_fields}
    data.update(overrides)
    try:
        with validating():
            return NeptuneWatchProps.model_validate(data)
    except ValidationError as exc:
        raise explain(exc, "NeptuneWatchProps") from None
