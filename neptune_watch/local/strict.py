"""Where moto 5.2.5's ASL interpreter is more lenient than AWS Step Functions, fail as AWS does.

Each rule here follows a documented AWS behaviour or limit; docs/LOCAL-RUNTIME.md has the
table (what moto does, what AWS does, the AWS page, the test). The rules are installed and
removed with the rest of :mod:`neptune_watch.local.adapter`; :data:`HOOKS` names the moto
attributes they replace, and :func:`neptune_watch.local.adapter.missing_hooks` checks them.
"""

from __future__ import annotations

import json
import re
from typing import Any

from moto.stepfunctions.exceptions import InvalidName, ValidationException
from moto.stepfunctions.parser.api import HistoryEventType, TaskFailedEventDetails
from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
    FailureEvent,
    FailureEventException,
)
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import (
    StatesErrorName,
)
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import (
    StatesErrorNameType,
)
from moto.stepfunctions.parser.asl.component.state.choice.comparison.comparison_operator_type import (
    ComparisonOperatorType,
)
from moto.stepfunctions.parser.asl.component.state.choice.comparison.variable import (
    NoSuchVariable,
)
from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails
from moto.stepfunctions.parser.asl.eval.program_state import ProgramStopped
from moto.stepfunctions.parser.asl.utils.json_path import NoSuchJsonPathError

# https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html
PAYLOAD_LIMIT_BYTES = 262_144  # input/output of a state, task or execution, UTF-8 bytes
HISTORY_EVENT_LIMIT = 25_000  # events in one execution's history
NAME_MAX = 80  # execution names
# https://docs.aws.amazon.com/step-functions/latest/apireference/API_SendTaskFailure.html
ERROR_MAX = 256
CAUSE_MAX = 32_768
# botocore stepfunctions model, shape TaskToken: min 1, max 2048
TASK_TOKEN_MAX = 2_048

RUNTIME = StatesErrorNameType.StatesRuntime
DATA_LIMIT = StatesErrorNameType.StatesStatesDataLimitExceeded
UNCATCHABLE_BY_ALL = frozenset({RUNTIME.to_name(), DATA_LIMIT.to_name()})

# Characters an execution name must not contain (API_StartExecution, "name").
_BAD_NAME = re.compile(
    r"[\s<>{}\[\]?*\"#%\\^|~`$&,;:/\u0000-\u001f\u007f-\u009f\ufffe\uffff\ud800-\udfff]"
)


def _fail(env: Any, error: StatesErrorNameType, cause: str) -> FailureEventException:
    return FailureEventException(
        failure_event=FailureEvent(
            env=env,
            error_name=StatesErrorName(typ=error),
            event_type=HistoryEventType.TaskFailed,
            event_details=EventDetails(
                taskFailedEventDetails=TaskFailedEventDetails(error=error.to_name(), cause=cause)
            ),
        )
    )


def payload_bytes(value: Any) -> int:
    """The payload's size as AWS counts it: UTF-8 bytes of its JSON text.

    moto counts ``json.dumps`` with its defaults: every non-ASCII character escaped to six
    bytes and a space after each separator, so 100 KB of emoji "weighs" 600 KB there.
    """
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
    return len(text.encode("utf-8"))


def state_within_payload_limit(value: Any) -> bool:
    """A state's input or output is a JSON value: a string counts with its quotes."""
    return payload_bytes(json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)) <= PAYLOAD_LIMIT_BYTES


def within_payload_limit(value: Any) -> bool:
    """AWS allows exactly 262,144 bytes (moto refuses that size too: it tests ``<``)."""
    return payload_bytes(value) <= PAYLOAD_LIMIT_BYTES


# Interpreter rules -------------------------------------------------------------------------
def comparison_variable_eval(self: Any, env: Any) -> None:
    """A Choice rule whose ``Variable`` does not resolve fails with States.Runtime.

    moto evaluates the rule to false; only ``IsPresent`` may test a missing path.
    """
    self.variable.eval(env)
    value = env.stack[-1]
    if isinstance(value, NoSuchVariable) and self.comparison_function.operator_type != ComparisonOperatorType.IsPresent:
        path = self.variable.string_sampler.literal_value
        raise _fail(env, RUNTIME, f"Invalid path '{path}': The choice state's condition path references an invalid value.")
    self.comparison_function.eval(env)


def error_equals_eval(saved: Any) -> Any:
    """``States.ALL`` matches neither States.Runtime nor States.DataLimitExceeded.

    States.Runtime is matched by nothing (it "will always cause the execution to fail");
    States.DataLimitExceeded only by its own name.
    """

    def run(self: Any, env: Any) -> None:
        error_name = env.stack[-1]
        saved(self, env)
        name = getattr(error_name, "error_name", None)
        if name == RUNTIME.to_name() or (
            name in UNCATCHABLE_BY_ALL and name not in {getattr(e, "error_name", None) for e in self.error_names}
        ):
            env.stack[-1] = False

    return run


def parameters_eval(saved: Any) -> Any:
    """A task's input after Parameters over 256 KB fails with States.DataLimitExceeded."""

    def run(self: Any, env: Any) -> dict:
        parameters = saved(self, env)
        if not within_payload_limit(parameters):
            raise _fail(
                env,
                DATA_LIMIT,
                f"The state/task '{env.next_state_name}' has an input with a size exceeding the maximum number "
                f"of bytes service limit ({payload_bytes(parameters)} > {PAYLOAD_LIMIT_BYTES}).",
            )
        return parameters

    return run


def fail_state_eval(saved: Any) -> Any:
    """A Fail state whose Error or Cause is longer than the API carries fails with States.Runtime."""

    def run(self: Any, env: Any) -> None:
        try:
            saved(self, env)
        except FailureEventException as exc:
            error, cause = exc.extract_error_cause_pair() or (None, None)
            if error is not None and len(error) > ERROR_MAX:
                raise _fail(env, RUNTIME, f"The Fail state's Error is {len(error)} characters; the maximum is {ERROR_MAX}.") from None
            if cause is not None and len(cause) > CAUSE_MAX:
                raise _fail(env, RUNTIME, f"The Fail state's Cause is {len(cause)} characters; the maximum is {CAUSE_MAX}.") from None
            raise

    return run


class HistoryLimitExceeded(Exception):
    """The execution's history reached 25,000 events; it fails, and nothing in it can catch that."""


def state_eval_body(saved: Any) -> Any:
    def run(self: Any, env: Any) -> None:
        events = len(env.event_manager._history_event_list)
        if events >= HISTORY_EVENT_LIMIT:
            # Not a FailureEventException: no Catch sees it; the program loop fails the
            # execution with States.Runtime and this message as the cause.
            raise HistoryLimitExceeded(
                f"the execution history reached {events} events (the limit is {HISTORY_EVENT_LIMIT}) "
                f"before state '{self.name}'"
            )
        saved(self, env)

    return run


# API rules -----------------------------------------------------------------------------------
def _length(field: str, value: Any, maximum: int, minimum: int = 1) -> None:
    if value is None:
        return
    if not minimum <= len(value) <= maximum:
        raise ValidationException(
            f"1 validation error detected: Value at '{field}' failed to satisfy constraint: "
            f"Member must have length {'less than or equal to ' + str(maximum) if len(value) > maximum else 'greater than or equal to ' + str(minimum)}"
        )


def _payload(field: str, value: Any) -> None:
    if value is not None and not within_payload_limit(value):
        raise ValidationException(
            f"1 validation error detected: Value at '{field}' failed to satisfy constraint: "
            f"Member must have length less than or equal to {PAYLOAD_LIMIT_BYTES}"
        )


def check_start_execution(name: Any, execution_input: Any) -> None:
    if name is not None:
        _length("name", name, NAME_MAX)
        bad = _BAD_NAME.search(name)
        if bad:
            raise InvalidName(f"Invalid Name: '{name}' (character {bad.group()!r} is not allowed)")
    _payload("input", execution_input)


def check_task_token(token: Any) -> None:
    _length("taskToken", token, TASK_TOKEN_MAX)


def send_task_success(saved: Any) -> Any:
    def run(self: Any) -> Any:
        check_task_token(self._get_param("taskToken"))
        _payload("output", self._get_param("output"))
        return saved(self)

    return run


def send_task_heartbeat(saved: Any) -> Any:
    def run(self: Any) -> Any:
        check_task_token(self._get_param("taskToken"))
        return saved(self)

    return run


def check_send_task_failure(token: Any, error: Any, cause: Any) -> None:
    check_task_token(token)
    _length("error", error, ERROR_MAX, minimum=0)
    _length("cause", cause, CAUSE_MAX, minimum=0)


def result_selector_eval(saved: Any) -> Any:
    """A ResultSelector path that does not resolve fails with States.Runtime (moto raises an
    ordinary task error that ``States.ALL`` catches)."""

    def run(self: Any, env: Any) -> None:
        try:
            saved(self, env)
        except FailureEventException:
            raise
        except NoSuchJsonPathError as exc:
            raise _fail(
                env, RUNTIME, f"The JSONPath '{exc.json_path}' specified for the field ResultSelector could not be found in the result"
            ) from None

    return run


def result_path_eval(saved: Any) -> Any:
    """A ResultPath that cannot be applied to the state's input fails with
    States.ResultPathMatchFailure (moto: a Python error turned into States.Runtime)."""

    def run(self: Any, env: Any) -> None:
        try:
            saved(self, env)
        except FailureEventException:
            raise
        except (TypeError, AttributeError, KeyError, IndexError, ValueError) as exc:
            raise _fail(
                env,
                StatesErrorNameType.StatesResultPathMatchFailure,
                f"Unable to apply ResultPath '{self.result_path_src}' to the state's input: {exc}",
            ) from None

    return run


def set_error(saved: Any) -> Any:
    """An execution stopped by StopExecution stays ABORTED (moto lets an error raised by the
    state that was running when it stopped turn it FAILED)."""

    def run(self: Any, error: Any) -> None:
        if isinstance(self._program_state, ProgramStopped):
            return
        saved(self, error)

    return run


# Service prefix of the error names of optimized integrations moto does not map.
_SERVICE_PREFIX = {"events": "EventBridge", "sqs": "SQS", "states": "StepFunctions"}


def task_from_error(saved: Any) -> Any:
    """A service error moto's integration does not map (e.g. EventBridge PutEvents'
    ResourceNotFoundException) is a task failure named ``<Service>.<Code>`` that ``States.ALL``
    catches, as in AWS, not States.Runtime (which, strict, nothing may catch)."""

    def run(self: Any, env: Any, ex: Exception) -> Any:
        from botocore.exceptions import ClientError
        from moto.stepfunctions.parser.asl.component.common.error_name.custom_error_name import (
            CustomErrorName,
        )

        if not isinstance(ex, ClientError):
            return saved(self, env, ex)
        service = getattr(self, "_get_boto_service_name", lambda: "task")()
        code = ex.response.get("Error", {}).get("Code") or type(ex).__name__
        name = f"{_SERVICE_PREFIX.get(service, service.capitalize())}.{code}"
        return FailureEvent(
            env=env,
            error_name=CustomErrorName(error_name=name),
            event_type=HistoryEventType.TaskFailed,
            event_details=EventDetails(
                taskFailedEventDetails=TaskFailedEventDetails(error=name, cause=str(ex.response.get("Error", {}).get("Message") or ex))
            ),
        )

    return run
