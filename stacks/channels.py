"""Where outcomes go (the SNS topic and the EventBridge bus) and the lock table of watches.

Each is taken as given (``existing_topic`` + ``encryption_key``, ``existing_event_bus``, or by
ARN/name from ``cdk.json``) or created with secure defaults: a topic encrypted with a rotating
CMK that only accepts TLS, a custom bus, a pay-per-request table with PITR and a TTL.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from constructs import Construct

from .props import NeptuneWatchProps


@dataclass
class Channels:
    topic: sns.ITopic
    topic_key: kms.IKey | None
    event_bus: events.IEventBus
    event_bus_target: str
    """What the definition's ``EventBusName`` receives (a name or an ARN)."""
    lock_table: dynamodb.Table


def build_channels(scope: Construct, props: NeptuneWatchProps) -> Channels:
    topic, key = _topic(scope, props)
    bus, target = _event_bus(scope, props)
    return Channels(topic=topic, topic_key=key, event_bus=bus, event_bus_target=target, lock_table=_lock_table(scope, props))


def _topic(scope: Construct, props: NeptuneWatchProps) -> tuple[sns.ITopic, kms.IKey | None]:
    if props.existing_topic is not None:
        return props.existing_topic, props.encryption_key
    if props.topic.arn:
        key = kms.Key.from_key_arn(scope, "TopicKey", props.topic.kms_key_arn) if props.topic.kms_key_arn else None
        return sns.Topic.from_topic_arn(scope, "Topic", props.topic.arn), key
    key = props.encryption_key or kms.Key(
        scope, "TopicKey", description="neptune-watch: encrypts the outcome topic", enable_key_rotation=True,
        removal_policy=RemovalPolicy.DESTROY, pending_window=Duration.days(30),
    )  # fmt: skip
    topic = sns.Topic(scope, "Topic", display_name="neptune-watch outcomes", master_key=key, enforce_ssl=True)
    return topic, key


def _event_bus(scope: Construct, props: NeptuneWatchProps) -> tuple[events.IEventBus, str]:
    if props.existing_event_bus is not None:
        bus = props.existing_event_bus
        return bus, bus.event_bus_arn
    config = props.event_bus
    if config.mode == "create":
        bus = events.EventBus(scope, "EventBus", event_bus_name=config.name)
        return bus, bus.event_bus_name
    if config.mode == "existing" and config.arn:
        return events.EventBus.from_event_bus_arn(scope, "EventBus", config.arn), config.arn
    name = config.name if config.mode == "existing" else "default"
    assert name is not None  # EventBusProps: "existing" has a name or an arn
    return events.EventBus.from_event_bus_name(scope, "EventBus", name), name


def _lock_table(scope: Construct, props: NeptuneWatchProps) -> dynamodb.Table:
    return dynamodb.Table(
        scope, "LockTable",
        partition_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING),
        billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST, time_to_live_attribute="expiresAt",
        point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
            point_in_time_recovery_enabled=True
        ),
        encryption=dynamodb.TableEncryption.AWS_MANAGED,
        # The table only holds short-lived locks (TTL expiresAt): destroying it loses nothing.
        removal_policy=RemovalPolicy.RETAIN if props.lock_table_removal_policy == "retain" else RemovalPolicy.DESTROY,
    )  # fmt: skip
