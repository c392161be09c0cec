"""``NeptuneWatch``: the reusable construct that deploys the neptune-watch state machine.

Embed it in any CDK app::

    from neptune_watch.cdk import LoaderProps, NeptuneWatch

    watch = NeptuneWatch(self, "Watch", existing_topic=topic, loader=LoaderProps(
        cluster_endpoint=cluster.cluster_endpoint.hostname, cluster_resource_id=..., vpc=vpc))
    watch.connections.allow_to(cluster_security_group, ec2.Port.tcp(8182))
    watch.grant_start_sync(parent_state_machine)

Properties are keyword arguments (or ``props=NeptuneWatchProps(...)`` plus overrides). What it
builds, one file each: ``functions.py``, ``channels.py`` (topic, bus, lock table),
``state_machine.py``, ``intake.py`` (request rule + DLQ), ``monitoring.py`` (alarms,
dashboard, metrics), ``nag.py``. Nothing looks anything up in AWS: synth needs no credentials.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from aws_cdk import Stack, Token
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sns as sns
from constructs import Construct

from neptune_watch import resources

from . import flow, monitoring
from .channels import build_channels
from .errors import ConfigError
from .functions import build_functions
from .intake import build_intake
from .nag import acknowledge
from .props import NeptuneWatchProps, props_from
from .state_machine import (
    arns,
    build_state_machine,
    default_state_machine_name,
    grant_own_tasks,
    grant_start,
)

resources.require_watcher()
from watcher.names import FUNCTIONS  # noqa: E402


class NeptuneWatch(Construct):
    """The watch state machine with its functions, outcome topic and bus, lock table, request
    rule (with DLQ), alarms and (optionally) a dashboard.

    Attributes: ``state_machine``, ``state_machine_name``, ``topic``, ``topic_key``,
    ``event_bus``, ``lock_table``, ``functions`` (by key of ``watcher.names.FUNCTIONS``),
    ``function_roles``, ``request_rule``, ``dead_letter_queue``, ``alarms``, ``dashboard``,
    ``substitutions``; ``connections`` for the cluster's security group.
    """

    def __init__(self, scope: Construct, construct_id: str, *, props: NeptuneWatchProps | None = None,
                 **overrides: Any) -> None:  # fmt: skip
        super().__init__(scope, construct_id)
        self.props = props = props_from(props, overrides)
        stack = Stack.of(self)
        self.state_machine_name = props.state_machine_name or default_state_machine_name(stack.stack_name, construct_id)
        if not Token.is_unresolved(self.state_machine_name) and not re.fullmatch(r"[A-Za-z0-9_-]{1,80}", self.state_machine_name):
            raise ConfigError(f"state_machine_name {self.state_machine_name!r}: letters, digits, - and _ (at most 80)")
        definition = Path(props.definition_path) if props.definition_path else resources.definition_path()
        self.definition_text = definition.read_text(encoding="utf-8")

        made = build_functions(self, props)
        self.functions, self.function_roles, self.function_log_groups = made.functions, made.roles, made.log_groups
        self.powertools_layer, self.neptune_resources = made.layer, made.neptune_resources
        self._connections = made.connections

        channels = build_channels(self, props)
        self.topic, self.topic_key = channels.topic, channels.topic_key
        self.event_bus, self.event_bus_target, self.lock_table = channels.event_bus, channels.event_bus_target, channels.lock_table

        self.own_arns = arns(self, self.state_machine_name)
        self.state_machine_arn_from_name, self.executions_arn = self.own_arns.state_machine, self.own_arns.executions
        self.substitutions = {spec.placeholder: self.functions[spec.key].function_arn for spec in FUNCTIONS}
        self.substitutions.update(TopicArn=self.topic.topic_arn, EventBusName=self.event_bus_target,
                                  EventSource=props.outcome_source, LockTableName=self.lock_table.table_name)  # fmt: skip
        # A new piece the definition names (a queue, a table) is built in its own module above
        # this line and adds its ${Placeholder} here; its role grants go in _grant_state_machine.
        self.substitutions.update(flow.make_unpublished_queue(self))
        self.state_machine, self.state_machine_log_group = build_state_machine(
            self, props, self.state_machine_name, self.definition_text, self.substitutions
        )
        self._grant_state_machine()

        intake = build_intake(self, props, self.event_bus, self.state_machine)
        self.request_rule, self.dead_letter_queue = intake.rule, intake.dead_letter_queue
        self.request_source, self.request_detail_type = intake.source, intake.detail_type
        flow.wire_flow(self)

        alarm_topic = props.alarm_topic or (
            sns.Topic.from_topic_arn(self, "AlarmTopic", props.alarm_topic_arn) if props.alarm_topic_arn else None
        )
        self.alarms: dict[str, cloudwatch.Alarm] = (
            monitoring.build_alarms(self, self.state_machine, self.dead_letter_queue, self.state_machine_name, alarm_topic)
            if props.alarms else {}
        )  # fmt: skip
        if props.alarms:
            self.alarms.update(flow.build_alarms(self, alarm_topic))
        self.dashboard = (
            monitoring.build_dashboard(self, self.state_machine_name, self.state_machine, self.functions)
            if props.dashboard else None
        )  # fmt: skip
        acknowledge(self.function_roles, self.functions, set(self.neptune_resources), self._connections is not None,
                    self.state_machine, props.state_machine_log_level == "ALL", self.dead_letter_queue)  # fmt: skip

    def _grant_state_machine(self) -> None:
        sm = self.state_machine
        for fn in self.functions.values():
            fn.grant_invoke(sm)
        sm.add_to_role_policy(iam.PolicyStatement(actions=["sns:Publish"], resources=[self.topic.topic_arn]))
        if self.topic_key is not None:
            sm.add_to_role_policy(iam.PolicyStatement(actions=["kms:GenerateDataKey", "kms:Decrypt"],
                                                      resources=[self.topic_key.key_arn]))  # fmt: skip
        self.event_bus.grant_put_events_to(sm)
        sm.add_to_role_policy(iam.PolicyStatement(
            actions=["dynamodb:PutItem"], resources=[self.lock_table.table_arn]  # SaveContinuation; locks: flow.py
        ))  # fmt: skip
        grant_own_tasks(sm, self.own_arns)

    # --- what a CDK user works with ---------------------------------------------------

    @property
    def event_bus_name(self) -> str:
        return self.event_bus.event_bus_name

    @property
    def connections(self) -> ec2.Connections:
        """The loader functions' security groups: ``watch.connections.allow_to(cluster_sg,
        ec2.Port.tcp(8182))`` lets them reach the cluster."""
        if self._connections is None:
            raise ConfigError("this NeptuneWatch has no loader network (loader=LoaderProps(...)): nothing to connect")
        return self._connections

    def grant_start_execution(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` start watches (StartExecution)."""
        return grant_start(grantee, self.own_arns, sync=False)

    def grant_start_sync(self, grantee: iam.IGrantable) -> iam.Grant:
        """Everything a ``startExecution.sync:2`` parent needs to run a watch as a child."""
        return grant_start(grantee, self.own_arns, sync=True)

    def metric_outcomes(self, outcome: str | None = None, **kwargs: Any) -> cloudwatch.IMetric:
        """Outcomes published (``outcome``: SUCCEEDED, FAILED, ... ERROR; None: all of them)."""
        if outcome is not None and outcome not in monitoring.OUTCOMES:
            raise ConfigError(f"outcome {outcome!r}: expected one of {', '.join(monitoring.OUTCOMES)}")
        return monitoring.outcome_metric(outcome, **kwargs)
