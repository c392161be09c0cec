"""Metrics, alarms (on by default) and an optional CloudWatch dashboard of a watch deployment.

Metric sources:
- the functions' Powertools metrics (namespace ``NeptuneWatch``, dimension ``service``):
  ``Outcomes`` (finalize, plus dimension ``outcome``), ``Polls``, ``Cancels``;
- Step Functions' execution metrics of the state machine, and its service integration metric
  ``ServiceIntegrationsFailed`` by ``ServiceIntegrationResourceArn`` for the publish tasks
  (https://docs.aws.amazon.com/step-functions/latest/dg/procedure-cw-metrics.html, "Service
  integration metrics": dimension ServiceIntegrationResourceArn);
- Lambda's ``Invocations`` / ``Errors`` of each function (polls by kind are the invocations of
  that kind's status function).
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from neptune_watch import resources

resources.require_watcher()
from watcher.names import (  # noqa: E402
    METRIC_OUTCOMES,
    METRIC_POLLS,
    METRICS_NAMESPACE,
    OUTCOME_DIMENSION,
    SERVICE_NAME,
)
from watcher.statuses import Outcome  # noqa: E402

PERIOD = Duration.minutes(5)
PUBLISH_INTEGRATIONS = ("arn:aws:states:::sns:publish", "arn:aws:states:::events:putEvents")
OUTCOMES = tuple(o.value for o in Outcome)


def outcome_metric(outcome: str | None = None, *, period: Duration = PERIOD, statistic: str = "Sum") -> cloudwatch.IMetric:
    """Outcomes published: one outcome's count, or the sum over every outcome."""
    if outcome is not None:
        return cloudwatch.Metric(
            namespace=METRICS_NAMESPACE, metric_name=METRIC_OUTCOMES, period=period, statistic=statistic,
            dimensions_map={"service": SERVICE_NAME, OUTCOME_DIMENSION: outcome},
        )  # fmt: skip
    parts = {f"o{i}": outcome_metric(o, period=period, statistic=statistic) for i, o in enumerate(OUTCOMES)}
    return cloudwatch.MathExpression(expression=" + ".join(parts), using_metrics=parts, label="all outcomes", period=period)


def polls_metric(period: Duration = PERIOD) -> cloudwatch.Metric:
    return cloudwatch.Metric(namespace=METRICS_NAMESPACE, metric_name=METRIC_POLLS, period=period,
                             statistic="Sum", dimensions_map={"service": SERVICE_NAME})  # fmt: skip


def publication_failures(period: Duration = PERIOD) -> list[cloudwatch.Metric]:
    return [
        cloudwatch.Metric(
            namespace="AWS/States", metric_name="ServiceIntegrationsFailed", period=period, statistic="Sum",
            dimensions_map={"ServiceIntegrationResourceArn": arn}, label=arn.rsplit(":", 1)[-1],
        )
        for arn in PUBLISH_INTEGRATIONS
    ]


def build_alarms(
    scope: Construct, machine: sfn.StateMachine, dlq: sqs.IQueue, name: str, alarm_topic: sns.ITopic | None
) -> dict[str, cloudwatch.Alarm]:
    metrics = {
        "ExecutionsFailed": (machine.metric_failed(period=PERIOD, statistic="Sum"),
            "Watch executions failed. Every outcome but SUCCEEDED ends its execution in Fail "
            "(NeptuneWatch.<OUTCOME>), so this includes watched jobs that failed."),
        "ExecutionsTimedOut": (machine.metric_timed_out(period=PERIOD, statistic="Sum"), "Watch executions timed out."),
        "ExecutionsAborted": (machine.metric_aborted(period=PERIOD, statistic="Sum"),
            "Watch executions were stopped: no outcome was published for them."),
        "ExecutionThrottled": (machine.metric_throttled(period=PERIOD, statistic="Sum"),
            "Step Functions throttled the watcher's state transitions."),
        "RequestsDeadLettered": (dlq.metric_approximate_number_of_messages_visible(period=PERIOD, statistic="Maximum"),
            "Watch requests could not start an execution and are in the dead-letter queue."),
        # The watcher's own health, apart from the jobs' fate.
        "WatchErrors": (outcome_metric("ERROR"),
            "Watches ended with an ERROR outcome: the watch itself could not go on "
            "(access denied, retries exhausted, unreachable endpoint)."),
    }  # fmt: skip
    alarms = {}
    for metric_name, (metric, description) in metrics.items():
        alarm = cloudwatch.Alarm(
            scope, f"{metric_name}Alarm", metric=metric, threshold=1, evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            alarm_description=f"neptune-watch {name}: {description}",
        )  # fmt: skip
        if alarm_topic is not None:
            alarm.add_alarm_action(cw_actions.SnsAction(alarm_topic))
        alarms[metric_name] = alarm
    return alarms


def build_dashboard(
    scope: Construct, name: str, machine: sfn.StateMachine, functions: dict[str, lambda_.Function]
) -> cloudwatch.Dashboard:
    """Outcomes (by outcome), polls (by kind), errors, publication failures."""
    status = {key.split("_")[0]: fn for key, fn in functions.items() if key.endswith("_status")}
    polls_by_kind = [fn.metric_invocations(period=PERIOD, statistic="Sum", label=kind) for kind, fn in status.items()]
    errors = [fn.metric_errors(period=PERIOD, statistic="Sum", label=key) for key, fn in functions.items()]
    dashboard = cloudwatch.Dashboard(scope, "Dashboard", dashboard_name=f"{name}-dashboard"[:255])
    dashboard.add_widgets(
        cloudwatch.GraphWidget(title="Outcomes", left=[outcome_metric(o).with_(label=o) for o in OUTCOMES], stacked=True, width=12),
        cloudwatch.GraphWidget(title="Polls by kind", left=polls_by_kind, right=[polls_metric()], width=12),
    )
    dashboard.add_widgets(
        cloudwatch.GraphWidget(
            title="Errors", left=errors,
            right=[machine.metric_failed(period=PERIOD, statistic="Sum"), outcome_metric("ERROR")], width=12,
        ),
        cloudwatch.GraphWidget(title="Publication failures", left=publication_failures(), width=12),
    )
    return dashboard
