"""The watch state machine: the ASL file with its ``${...}`` placeholders substituted, and the
role permissions its tasks need (invoke, publish, lock, restart itself, ``.sync`` children,
task tokens)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from .functions import log_group_with_retention
from .props import NeptuneWatchProps

SYNC_RULE_NAME = "StepFunctionsGetEventsForStepFunctionsExecutionRule"
"""The managed rule Step Functions uses to learn that a ``.sync`` child ended."""
_PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9_]+)\}")
_SM_NAME = re.compile(r"[^A-Za-z0-9_-]")


def placeholders(text: str) -> set[str]:
    """The ``${Name}`` placeholders of an ASL definition."""
    return set(_PLACEHOLDER.findall(text))


def default_state_machine_name(stack_name: str, construct_id: str) -> str:
    """``<stack name>-<construct id>``, cleaned and cut to Step Functions' 80 characters."""
    return _SM_NAME.sub("-", f"{stack_name}-{construct_id}")[:80]


@dataclass
class Arns:
    state_machine: str
    """The state machine's ARN built from its name (no reference to the resource: no cycle)."""
    executions: str
    """``execution:<name>:*``: every execution of this state machine."""
    sync_rule: str
    """The managed rule of ``startExecution.sync``."""


def arns(scope: Construct, name: str) -> Arns:
    stack = Stack.of(scope)

    def states(resource: str, resource_name: str) -> str:
        return stack.format_arn(service="states", resource=resource, resource_name=resource_name,
                                arn_format=ArnFormat.COLON_RESOURCE_NAME)  # fmt: skip

    return Arns(
        state_machine=states("stateMachine", name),
        executions=states("execution", f"{name}:*"),
        sync_rule=stack.format_arn(service="events", resource="rule", resource_name=SYNC_RULE_NAME),
    )


def build_state_machine(
    scope: Construct, props: NeptuneWatchProps, name: str, definition: str, substitutions: dict[str, str]
) -> tuple[sfn.StateMachine, logs.LogGroup]:
    missing = placeholders(definition) - set(substitutions)
    extra = set(substitutions) - placeholders(definition)
    if missing or extra:
        raise ValueError(
            f"definition placeholders and substitutions differ: missing {sorted(missing)}, unused {sorted(extra)}"
        )
    log_group = log_group_with_retention(scope, "StateMachineLogs", props, log_group_name=f"/aws/vendedlogs/states/{name}")
    machine = sfn.StateMachine(
        scope, "StateMachine", state_machine_name=name, state_machine_type=sfn.StateMachineType.STANDARD,
        definition_body=sfn.DefinitionBody.from_string(definition), definition_substitutions=substitutions,
        logs=sfn.LogOptions(destination=log_group, level=sfn.LogLevel[props.state_machine_log_level],
                            include_execution_data=True),
        tracing_enabled=True,
    )  # fmt: skip
    return machine, log_group


def grant_start(grantee: iam.IGrantable, target: Arns, *, sync: bool) -> iam.Grant:
    """Let ``grantee`` start executions of the target; with ``sync``, also what a
    ``startExecution.sync`` / ``.sync:2`` parent needs: describe and stop the executions and
    manage the rule through which Step Functions learns that a child ended.

    https://docs.aws.amazon.com/step-functions/latest/dg/stepfunctions-iam.html ("IAM policies
    for starting a new AWS Step Functions state machine execution", synchronous): StartExecution
    on the state machine; DescribeExecution, StopExecution on its executions; events:PutTargets,
    PutRule, DescribeRule on rule/StepFunctionsGetEventsForStepFunctionsExecutionRule.
    """
    grant = iam.Grant.add_to_principal(grantee=grantee, actions=["states:StartExecution"],
                                       resource_arns=[target.state_machine])  # fmt: skip
    if sync:
        grant = grant.combine(iam.Grant.add_to_principal(
            grantee=grantee, actions=["states:DescribeExecution", "states:StopExecution"],
            resource_arns=[target.executions],
        )).combine(iam.Grant.add_to_principal(
            grantee=grantee, actions=["events:PutTargets", "events:PutRule", "events:DescribeRule"],
            resource_arns=[target.sync_rule],
        ))  # fmt: skip
    return grant


def grant_own_tasks(machine: sfn.StateMachine, own: Arns) -> None:
    """What the definition does with itself: continue as a new execution (a ``.sync`` child of
    itself), look up and stop executions that own a lock, answer a parent's task token."""
    grant_start(machine, own, sync=True)
    # SendTaskSuccess / SendTaskFailure take a task token, not a resource: IAM only accepts "*".
    machine.add_to_role_policy(
        iam.PolicyStatement(actions=["states:SendTaskSuccess", "states:SendTaskFailure"], resources=["*"])
    )
