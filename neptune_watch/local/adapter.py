"""What moto lacks for neptune-watch, added in one place (moto 5.2.5, pinned).

Each patch replaces one named hook and is undone by :func:`uninstall`; tests/test_adapter.py
has a test per patch. The patches:

1. ``LambdaSimpleBackend.invoke`` runs our real handlers in-process (moto's Docker-less
   Lambda only echoes the payload back).
2. ``WaitFunction._wait_interval`` (Wait states) sleeps on the virtual clock, and
   ``Environment.set_stop`` wakes it at once (StopExecution ends a Wait without letting time
   pass, as moto's own Wait does on the environment's state change).
3. The Retry interval (``time.sleep`` in ``retrier_decl``) sleeps on the virtual clock.
4. A parent blocked on a child (``.sync`` polling loop, ``time.sleep`` in the callback service
   module) or on a task token (``CallbackEndpoint.wait``) is *idle* for the clock, and the
   ``.sync`` polling delay drops from 0.5 s to 10 ms of real time. A ``.waitForTaskToken``
   task's ``TimeoutSeconds`` counts virtual time.
5. ``ExecutionWorker.start`` counts every execution as a clock participant from the moment
   it is started, and the thread that evaluates its states (``threading`` in ``program``) is
   the one whose sleeps and waits the clock sees; so is the worker thread a state with a
   timeout runs in (``Thread`` in ``execute_state``), when a participant starts it.
6. ``boto_client_for`` (``boto3`` in ``asl.utils.boto_client``) reuses one client per
   service and region instead of building a new one for every task (a speed-up only).
7. The ``states`` optimized integration (``startExecution``, ``.sync:2``) and the ``aws-sdk``
   integrations pass the PascalCase parameter names Step Functions uses straight to boto3,
   whose Step Functions members are camelCase, and hand back camelCase responses: parameters
   are matched to the operation's members and responses get Step Functions' PascalCase keys;
   a failed child's empty ``output`` is not parsed as JSON (``_sync2_api_output_of``).
8. ``StepFunctionsParserBackend.start_execution`` names an execution started without a name
   with a UUID, as Step Functions does (moto names it ``None``, so a second unnamed start of
   the same state machine, e.g. a second continuation or a second child of a parent, fails
   with ExecutionAlreadyExists).
9. ``StepFunctionResponse.send_task_failure`` passes the ``cause`` on (moto drops it, so a
   parent waiting for a task token saw its task fail with no Cause).
10. ``ExecutionWorker._get_evaluation_environment``: ``$$.Execution.StartTime`` is an ISO-8601
   string, as in Step Functions (moto leaves a datetime there, which breaks any state that
   copies it into its output).
11. ``copy`` in the interpreter's state, path and task modules: it deep-copies the state for
   every JSONPath read and every state's input; a copier for JSON values (falling back to ``copy.deepcopy`` for anything else) does
   the same several times faster (a speed-up only).
12. Strictness (:mod:`neptune_watch.local.strict`, table in docs/LOCAL-RUNTIME.md): where moto
   is more lenient than AWS Step Functions, the runtime fails as AWS does (Choice on a missing
   path, payload and history limits, ``States.ALL`` vs States.Runtime/DataLimitExceeded, Fail
   state and SendTask* limits, execution names).
13. ``parse`` in the interpreter's JSONPath module, in ``result_path`` and in ``jsonpath_ng.ext``
   (moto's EventBridge input template), and ``ExecutionWorker._get_evaluation_entrypoint``:
   each JSONPath and each definition is parsed once, not on every read / every execution
   (a speed-up only).
14. ``lambda_eval_utils._invoke_lambda_function``: a ``lambda:invoke`` task of one of our
   functions calls the dispatcher directly instead of going through boto3 and moto's Lambda
   API (a speed-up only: the same payload, status code and FunctionError).
15. ``DynamoDBBackend.put_item`` / ``update_item`` / ``delete_item`` / ``get_item`` run one at a
   time: moto checks a ConditionExpression and then writes without a lock, so two threads could
   both pass ``attribute_not_exists(pk)``; DynamoDB applies a conditional write atomically
   (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Expressions.ConditionExpressions.html).
   ``DynamoHandler.call_action`` holds the same lock for a whole request, since UpdateItem's
   response layer deep-copies the stored item outside the backend calls.

:data:`HOOKS` lists every replaced name; :func:`install` checks them first and names any that
the installed moto lacks.
"""

from __future__ import annotations

import copy as _real_copy
import functools
import importlib
import importlib.metadata
import io
import threading
import time as _real_time
import uuid
import weakref
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

try:
    import jsonpath_ng.ext as jsonpath_ng_ext
    from moto.awslambda_simple.models import LambdaSimpleBackend
    from moto.core.responses import EmptyResult
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.responses import DynamoHandler
    from moto.stepfunctions.parser.asl.component.common.error_name.error_equals_decl import (
        ErrorEqualsDecl,
    )
    from moto.stepfunctions.parser.asl.component.common.path import (
        result_path as result_path_module,
    )
    from moto.stepfunctions.parser.asl.component.common.result_selector import ResultSelector
    from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
    from moto.stepfunctions.parser.asl.component.common.string import (
        string_expression as string_expression_module,
    )
    from moto.stepfunctions.parser.asl.component.program import program as program_module
    from moto.stepfunctions.parser.asl.component.state import state as state_module
    from moto.stepfunctions.parser.asl.component.state.choice.comparison.comparison_variable import (
        ComparisonVariable,
    )
    from moto.stepfunctions.parser.asl.component.state.exec import (
        execute_state as execute_state_module,
    )
    from moto.stepfunctions.parser.asl.component.state.exec.state_task import (
        lambda_eval_utils,
    )
    from moto.stepfunctions.parser.asl.component.state.exec.state_task import (
        state_task_lambda as state_task_lambda_module,
    )
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
        state_task_service as state_task_service_module,
    )
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
        state_task_service_callback as callback_service,
    )
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_aws_sdk import (
        StateTaskServiceAwsSdk,
    )
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_sfn import (
        StateTaskServiceSfn,
    )
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.state_task import StateTask
    from moto.stepfunctions.parser.asl.component.state.fail.state_fail import StateFail
    from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import (
        WaitFunction,
    )
    from moto.stepfunctions.parser.asl.eval import states as states_module
    from moto.stepfunctions.parser.asl.eval.callback.callback import CallbackEndpoint
    from moto.stepfunctions.parser.asl.eval.environment import Environment
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser
    from moto.stepfunctions.parser.asl.utils import boto_client as boto_client_module
    from moto.stepfunctions.parser.asl.utils import json_path as json_path_module
    from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker
    from moto.stepfunctions.parser.models import StepFunctionsParserBackend
    from moto.stepfunctions.responses import StepFunctionResponse

    from neptune_watch.local import strict

    _IMPORT_ERROR: ImportError | None = None
except ImportError as _exc:  # a moto that is not 5.2.5: install() names what is missing
    _IMPORT_ERROR = _exc

from neptune_watch.local.clock import VirtualClock, participant_thread

# (function name, payload bytes, response headers) -> response body bytes
Dispatcher = Callable[[str, bytes, dict[str, str]], bytes]

SYNC_POLL_SECONDS = 0.01

_lock = threading.Lock()
_active: dict[str, Any] = {}
_saved: dict[str, Any] = {}


class _ModuleShim(SimpleNamespace):
    """A stand-in for a module with some names replaced; everything else is the real module."""

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


def _adopting_thread(*args: Any, target: Any = None, inherit: bool = False, **kwargs: Any) -> threading.Thread:
    """A thread that evaluates an execution's states as its clock participant.

    With ``inherit`` it is one only if the thread creating it is one.
    """
    # The runtime that creates the thread: it may start after that runtime closed.
    return participant_thread(_clock(), *args, target=target, inherit=inherit, **kwargs)


def _inheriting_thread(*args: Any, **kwargs: Any) -> threading.Thread:
    return _adopting_thread(*args, inherit=True, **kwargs)


_clients: dict[tuple[Any, ...], Any] = {}


def _cached_client(*args: Any, **kwargs: Any) -> Any:
    key = (args, kwargs.get("service_name"), kwargs.get("region_name"), kwargs.get("endpoint_url"))
    with _lock:
        if key not in _clients:
            _clients[key] = _saved["boto3"].client(*args, **kwargs)
        return _clients[key]


def _pascal(value: Any) -> Any:
    if isinstance(value, dict):
        for key in list(value):
            if key and key[0].islower():
                value[key[0].upper() + key[1:]] = value.pop(key)
    return value


def _match_members(task: Any, parameters: dict[str, Any]) -> dict[str, Any]:
    """``parameters`` with each top-level name spelled as the boto3 operation's member."""
    members = _members(task._get_boto_service_name(), task._get_boto_service_action())
    return {members.get(k.lower(), k): v for k, v in parameters.items()}


@functools.cache
def _members(service: str, action: str) -> dict[str, str]:
    """Lower-cased member name -> member name, for the input of ``service.action``."""
    import botocore.session
    from botocore.exceptions import UnknownServiceError

    try:
        model = botocore.session.get_session().get_service_model(service)
        name = next(n for n in model.operation_names if _snake(n) == action)
    except (UnknownServiceError, StopIteration):
        return {}
    shape = model.operation_model(name).input_shape
    return {m.lower(): m for m in shape.members} if shape else {}


def _snake(name: str) -> str:
    out = []
    for i, ch in enumerate(name):
        if ch.isupper() and i and not name[i - 1].isupper():
            out.append("_")
        out.append(ch.lower())
    return "".join(out)


def _service_task(key: str) -> Callable[..., Any]:
    def run(self: Any, env: Any, resource_runtime_part: Any, normalised_parameters: dict[str, Any], state_credentials: Any) -> Any:
        result = _saved[key](self, env, resource_runtime_part, _match_members(self, normalised_parameters), state_credentials)
        if env.stack:
            _pascal(env.stack[-1])
        return result

    return run


def _sfn_normalise_response(self: Any, response: Any, boto_service_name: Any = None, service_action_name: Any = None) -> None:
    _saved["sfn._normalise_response"](self, response, boto_service_name=boto_service_name, service_action_name=service_action_name)
    _pascal(response)
    for key, value in list(response.items()) if isinstance(response, dict) else []:
        if hasattr(value, "isoformat"):
            response[key] = value.isoformat()


def _sync2_output_of(typ: Any, value: Any) -> None:
    if isinstance(value, dict):
        for key in ("input", "output"):
            if value.get(key) in ("", None):
                value.pop(key, None)
    _saved["sfn._sync2_api_output_of"](typ, value)


def _start_execution(self: Any, state_machine_arn: str, name: Any = None, *args: Any, **kwargs: Any) -> Any:
    strict.check_start_execution(name, args[0] if args else kwargs.get("execution_input"))
    return _saved["parser.start_execution"](self, state_machine_arn, name or str(uuid.uuid4()), *args, **kwargs)


def _send_task_failure(self: Any) -> Any:
    strict.check_send_task_failure(self._get_param("taskToken"), self._get_param("error"), self._get_param("cause"))
    self.stepfunction_backend.send_task_failure(
        self._get_param("taskToken"), error=self._get_param("error"), cause=self._get_param("cause")
    )
    return EmptyResult()


def _evaluation_environment(self: Any) -> Any:
    env = _saved["ExecutionWorker._get_evaluation_environment"](self)
    execution = env.states.context_object.context_object_data["Execution"]
    if hasattr(execution.get("StartTime"), "isoformat"):
        execution["StartTime"] = execution["StartTime"].isoformat()
    return env


_ATOMS = (str, int, float, bool, type(None))
_COPYING_MODULES = (
    states_module,
    string_expression_module,
    result_path_module,
    execute_state_module,
    state_task_service_module,
)


def _json_copy(value: Any, memo: Any = None) -> Any:
    """A deep copy of a JSON value; anything else goes to ``copy.deepcopy``."""
    cls = type(value)
    if cls in _ATOMS:
        return value
    if cls is dict:
        return {k: _json_copy(v) for k, v in value.items()}
    if cls is list:
        return [_json_copy(v) for v in value]
    return _real_copy.deepcopy(value)


def _clock() -> VirtualClock:
    return _active["clock"]


def _invoke(self: Any, function_name: str, qualifier: Any, body: Any, headers: Any, response_headers: Any) -> bytes:
    name = function_name.split(":function:")[-1].split(":")[0]
    payload = body if isinstance(body, bytes) else (body or "").encode()
    return _active["dispatch"](name, payload, response_headers)


# The Wait states sleeping right now, per Environment: StopExecution ends them at once (moto's
# own Wait wakes on the environment's state change; a virtual sleep must be woken the same way).
_stop_events: weakref.WeakKeyDictionary[Any, set[threading.Event]] = weakref.WeakKeyDictionary()
_stop_lock = threading.Lock()


def _wait_interval(self: Any, env: Any, wait_seconds: int) -> None:
    if not env.is_running():
        return
    woken = threading.Event()
    with _stop_lock:
        _stop_events.setdefault(env, set()).add(woken)
    try:
        if env.is_running():  # a stop between the first look and the registration
            _clock().wait_for(woken, float(wait_seconds))
    finally:
        with _stop_lock:
            _stop_events.get(env, set()).discard(woken)


def _set_stop(self: Any, *args: Any, **kwargs: Any) -> None:
    """Environment.set_stop, which also wakes this environment's Wait states at once."""
    _saved["Environment.set_stop"](self, *args, **kwargs)
    with _stop_lock:
        sleeping = list(_stop_events.get(self, ()))
    for woken in sleeping:
        woken.set()


def _virtual_sleep(seconds: float) -> None:
    _clock().sleep(float(seconds))


_ended = threading.Condition()
_ended_count = [0]
_seen = threading.local()
SYNC_WAIT_CAP_SECONDS = 0.5


def _execution_ended() -> None:
    with _ended:
        _ended_count[0] += 1
        _ended.notify_all()


def _idle_sleep(seconds: float) -> None:
    """A ``.sync`` parent between two looks at its child: wait until some execution ends.

    moto looks every 0.5 s of real time; looking every 10 ms made each waiting parent cost CPU
    in proportion to the wall time of everything else, so a watch slowed with every
    continuation. Now a parent sleeps until an execution has ended since its last look (or
    ``SYNC_WAIT_CAP_SECONDS``, for a child stopped from outside).
    """
    with _clock().idle(), _ended:
        if getattr(_seen, "count", None) == _ended_count[0]:
            _ended.wait_for(lambda: _ended_count[0] != _seen.count, timeout=SYNC_WAIT_CAP_SECONDS)
        _seen.count = _ended_count[0]


_NO_TIMEOUT = 99_999_999  # moto's TimeoutSeconds when a task has none


def _callback_wait(self: Any, timeout: float | None = None) -> Any:
    """A task-token wait, idle on the virtual clock.

    moto pops the task's timeout off the evaluation stack right after pushing it, but pushes
    nothing once the execution has been stopped; a stop that lands between the two makes it pop
    the state's input instead and hand a dict here as the timeout. The execution is over then,
    so the wait ends at once with whatever outcome the endpoint holds (none, as for an
    interrupted wait).
    """
    if timeout is not None and not isinstance(timeout, int | float):
        return self.get_outcome()
    clock = _clock()
    if timeout is None or timeout >= _NO_TIMEOUT or clock._depth() == 0:
        # No TimeoutSeconds (moto's default), or moto's helper thread of a .sync task (not a
        # participant: the child's end is seen by polling, which virtual time must not outrun).
        with clock.idle():
            return _saved["CallbackEndpoint.wait"](self, timeout)
    # A .waitForTaskToken task's TimeoutSeconds counts virtual time, like every other wait
    # here: an AwaitOwner bounded by a lock's expiry hours away times out as soon as nothing
    # else runs. Whoever answers from outside the executions holds time still meanwhile
    # (LocalRuntime.together), as the runtime's own executions do while they run.
    clock.wait_for(self._notify_event, float(timeout))
    return self.get_outcome()


def _start(self: Any) -> None:
    clock = _clock()
    clock.enter()
    logic = self._execution_logic
    execution = getattr(self._execution_communication, "execution", None)
    on_end = _active.get("on_end")

    def run() -> None:
        try:
            logic()
        finally:
            try:
                if on_end is not None and execution is not None:
                    on_end(execution)
            finally:
                clock.leave()
                _execution_ended()

    thread = threading.Thread(target=run, daemon=True, name="sfn-execution")
    thread.start()

MOTO_VERSION = "5.2.5"

#: Every moto name the adapter replaces, as ``module:Owner.attribute`` (``module:attribute`` for a
#: module-level name). :func:`missing_hooks` resolves each one; :func:`install` refuses to start
#: if any is gone, naming it.
HOOKS: tuple[str, ...] = (
    "moto.awslambda_simple.models:LambdaSimpleBackend.invoke",
    "moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function:WaitFunction._wait_interval",
    "moto.stepfunctions.parser.asl.eval.environment:Environment.set_stop",
    "moto.stepfunctions.parser.asl.component.common.retry.retrier_decl:time",
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_callback:time",
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_callback:_DELAY_SECONDS_SYNC_CONDITION_CHECK",
    "moto.stepfunctions.parser.asl.eval.callback.callback:CallbackEndpoint.wait",
    "moto.stepfunctions.parser.backend.execution_worker:ExecutionWorker.start",
    "moto.stepfunctions.parser.backend.execution_worker:ExecutionWorker._execution_logic",
    "moto.stepfunctions.parser.backend.execution_worker:ExecutionWorker._get_evaluation_environment",
    "moto.stepfunctions.parser.asl.component.program.program:threading",
    "moto.stepfunctions.parser.asl.utils.boto_client:boto3",
    "moto.stepfunctions.parser.asl.component.state.exec.execute_state:Thread",
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_sfn:StateTaskServiceSfn._eval_service_task",
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_sfn:StateTaskServiceSfn._normalise_response",
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_sfn:StateTaskServiceSfn._sync2_api_output_of",
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_aws_sdk:StateTaskServiceAwsSdk._eval_service_task",
    "moto.stepfunctions.parser.models:StepFunctionsParserBackend.start_execution",
    "moto.stepfunctions.responses:StepFunctionResponse.send_task_failure",
    "moto.stepfunctions.responses:StepFunctionResponse.send_task_success",
    "moto.stepfunctions.responses:StepFunctionResponse.send_task_heartbeat",
    "moto.stepfunctions.parser.asl.eval.states:copy",
    "moto.stepfunctions.parser.asl.component.common.string.string_expression:copy",
    "moto.stepfunctions.parser.asl.component.common.path.result_path:copy",
    "moto.stepfunctions.parser.asl.component.state.exec.execute_state:copy",
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service:copy",
    # strict rules (neptune_watch.local.strict)
    "moto.stepfunctions.parser.asl.component.state.choice.comparison.comparison_variable:ComparisonVariable._eval_body",
    "moto.stepfunctions.parser.asl.component.state.choice.comparison.variable:NoSuchVariable",
    "moto.stepfunctions.parser.asl.component.common.error_name.error_equals_decl:ErrorEqualsDecl._eval_body",
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.state_task:StateTask._eval_parameters",
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.state_task_lambda:StateTaskLambda._eval_parameters",
    "moto.stepfunctions.parser.asl.component.state.fail.state_fail:StateFail._eval_state",
    "moto.stepfunctions.parser.asl.component.state.state:CommonStateField._eval_body",
    "moto.stepfunctions.parser.asl.component.state.state:is_within_size_quota",
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.state_task_lambda:is_within_size_quota",
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service:is_within_size_quota",
    "moto.stepfunctions.parser.asl.eval.event.event_manager:EventManager._history_event_list",
    "moto.stepfunctions.parser.asl.component.common.result_selector:ResultSelector._eval_body",
    "moto.stepfunctions.parser.asl.component.common.path.result_path:ResultPath._eval_body",
    "moto.stepfunctions.parser.asl.eval.environment:Environment.set_error",
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.state_task:StateTask._from_error",
    "moto.stepfunctions.parser.asl.component.common.error_name.custom_error_name:CustomErrorName",
    "moto.stepfunctions.parser.asl.eval.environment:Environment._program_state",
    "moto.dynamodb.models:DynamoDBBackend.put_item",
    "moto.dynamodb.models:DynamoDBBackend.update_item",
    "moto.dynamodb.models:DynamoDBBackend.delete_item",
    "moto.dynamodb.models:DynamoDBBackend.get_item",
    "moto.dynamodb.responses:DynamoHandler.call_action",
    # speed-ups
    "moto.stepfunctions.parser.asl.utils.json_path:parse",
    "moto.stepfunctions.parser.asl.component.common.path.result_path:parse",
    "jsonpath_ng.ext:parse",
    "moto.stepfunctions.parser.backend.execution_worker:ExecutionWorker._get_evaluation_entrypoint",
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.lambda_eval_utils:_invoke_lambda_function",
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.lambda_eval_utils:_from_payload",
)


class MissingHookError(RuntimeError):
    """The installed moto lacks a name the adapter patches (the adapter is written for moto 5.2.5)."""


def missing_hooks() -> list[str]:
    """The entries of :data:`HOOKS` that the installed moto does not have."""
    missing = []
    for hook in HOOKS:
        module_name, _, path = hook.partition(":")
        try:
            obj: Any = importlib.import_module(module_name)
            *owners, attribute = path.split(".")
            for owner in owners:
                obj = getattr(obj, owner)
            if attribute in ("_history_event_list", "_program_state"):  # instance attributes
                if f"self.{attribute}" not in _source(obj.__init__):
                    raise AttributeError(attribute)
            else:
                getattr(obj, attribute)
        except (ImportError, AttributeError):
            missing.append(hook)
    return missing


def _source(func: Any) -> str:
    import inspect

    try:
        return inspect.getsource(func)
    except (OSError, TypeError):
        return ""


def check_hooks() -> None:
    """Raise :class:`MissingHookError` naming every patched moto name that is gone."""
    missing = missing_hooks()
    if missing or _IMPORT_ERROR is not None:
        try:
            version = importlib.metadata.version("moto")
        except importlib.metadata.PackageNotFoundError:
            version = "not installed"
        raise MissingHookError(
            f"the local runtime needs moto=={MOTO_VERSION} (installed: {version}); "
            f"missing hook(s): {', '.join(missing) or _IMPORT_ERROR}"
        )


def _strict_patches() -> list[tuple[Any, str, Any]]:
    """(owner, attribute, replacement) of each strict rule."""
    return [
        (ComparisonVariable, "_eval_body", strict.comparison_variable_eval),
        (ErrorEqualsDecl, "_eval_body", strict.error_equals_eval(ErrorEqualsDecl._eval_body)),
        (StateTask, "_eval_parameters", strict.parameters_eval(StateTask._eval_parameters)),
        (
            state_task_lambda_module.StateTaskLambda,
            "_eval_parameters",
            strict.parameters_eval(state_task_lambda_module.StateTaskLambda._eval_parameters),
        ),
        (StateFail, "_eval_state", strict.fail_state_eval(StateFail._eval_state)),
        (state_module.CommonStateField, "_eval_body", strict.state_eval_body(state_module.CommonStateField._eval_body)),
        (ResultSelector, "_eval_body", strict.result_selector_eval(ResultSelector._eval_body)),
        (Environment, "set_error", strict.set_error(Environment.set_error)),
        (StateTask, "_from_error", strict.task_from_error(StateTask._from_error)),
        (result_path_module.ResultPath, "_eval_body", strict.result_path_eval(result_path_module.ResultPath._eval_body)),
        (state_module, "is_within_size_quota", strict.state_within_payload_limit),
        (state_task_lambda_module, "is_within_size_quota", strict.within_payload_limit),
        (state_task_service_module, "is_within_size_quota", strict.within_payload_limit),
        (StepFunctionResponse, "send_task_success", strict.send_task_success(StepFunctionResponse.send_task_success)),
        (StepFunctionResponse, "send_task_heartbeat", strict.send_task_heartbeat(StepFunctionResponse.send_task_heartbeat)),
        (DynamoHandler, "call_action", _serialised_request(DynamoHandler.call_action)),
    ]


_strict_saved: list[tuple[Any, str, Any]] = []


_parse_lock = threading.Lock()


@functools.lru_cache(maxsize=4096)
def _parsed_json_path_once(path: str) -> Any:
    return _saved_parse(path)


def _parsed_json_path(path: str) -> Any:
    """jsonpath_ng builds a new parser (lexer and LALR tables) for every path it parses; moto
    parses the path again on every read. A parsed path is immutable: parse each one once
    (under a lock, so that executions starting together do not all parse it at once)."""
    with _parse_lock:
        return _parsed_json_path_once(path)


_saved_parse: Any = None


@functools.lru_cache(maxsize=64)
def _parsed_program(definition: str) -> Any:
    """moto parses the whole definition (ANTLR) for every execution. The parsed program holds no
    per-execution state (that lives in the Environment), so executions of one definition share it."""
    return AmazonStateLanguageParser.parse(definition)[0]


def _evaluation_entrypoint(self: Any) -> Any:
    with _parse_lock:
        return _parsed_program(self._evaluation_details.state_machine_details.definition)


def _direct_invoke(saved: Any) -> Any:
    """A ``lambda:invoke`` task of one of our functions calls the handler directly, as
    :func:`_invoke` would behind boto3 and moto's Lambda API, without the HTTP-shaped round
    trip (serialise, route, parse) per call. Anything else takes moto's way."""

    def run(parameters: dict, region: str, state_credentials: Any) -> Any:
        name = str(parameters.get("FunctionName", "")).split(":function:")[-1].split(":")[0]
        if name not in _active.get("functions", ()) or parameters.get("InvocationType", "RequestResponse") != "RequestResponse":
            return saved(parameters, region, state_credentials)
        payload = parameters.get("Payload") or b"{}"
        headers: dict[str, str] = {}
        body = _active["dispatch"](name, payload if isinstance(payload, bytes) else str(payload).encode(), headers)
        response = {"StatusCode": 200, "ExecutedVersion": "$LATEST", "Payload": lambda_eval_utils._from_payload(io.BytesIO(body))}
        if "x-amz-function-error" in headers:
            response["FunctionError"] = headers["x-amz-function-error"]
        return response

    return run


def _parsed_once(parse: Callable[[str], Any]) -> Callable[[str], Any]:
    """``parse``, each path parsed once (see :func:`_parsed_json_path`)."""
    cached = functools.lru_cache(maxsize=4096)(parse)
    _path_caches.append(cached)

    def run(path: str) -> Any:
        with _parse_lock:
            return cached(path)

    return run


_path_caches: list[Any] = []


def _speed_patches() -> list[tuple[Any, str, Any]]:
    global _saved_parse
    _saved_parse = json_path_module.parse
    return [
        (json_path_module, "parse", _parsed_json_path),
        # ResultPath parses its path with jsonpath_ng on every state; moto's EventBridge parses
        # the eight paths of its default input template on every event it delivers.
        (result_path_module, "parse", _parsed_once(result_path_module.parse)),
        (jsonpath_ng_ext, "parse", _parsed_once(jsonpath_ng_ext.parse)),
        (ExecutionWorker, "_get_evaluation_entrypoint", _evaluation_entrypoint),
        (lambda_eval_utils, "_invoke_lambda_function", _direct_invoke(lambda_eval_utils._invoke_lambda_function)),
    ]


_DYNAMODB_ITEM_OPS = ("put_item", "update_item", "delete_item", "get_item")
_dynamodb_lock = threading.RLock()


def _serialised(name: str) -> Callable[..., Any]:
    def run(self: Any, *args: Any, **kwargs: Any) -> Any:
        with _dynamodb_lock:
            return _saved[f"DynamoDBBackend.{name}"](self, *args, **kwargs)

    return run


def _serialised_request(call_action: Callable[..., Any]) -> Callable[..., Any]:
    """A whole DynamoDB request under the item lock: moto's UpdateItem deep-copies the stored
    item before it calls the backend, and another thread's write to that item meanwhile made
    the copy fail ("dictionary changed size during iteration", seen under load in
    tests/test_flow.py). DynamoDB serves each request on an item as one atomic step."""

    def run(self: Any) -> Any:
        with _dynamodb_lock:
            return call_action(self)

    return run


def install(
    clock: VirtualClock,
    dispatch: Dispatcher,
    functions: frozenset[str] = frozenset(),
    on_end: Callable[[Any], None] | None = None,
) -> None:
    """Install every patch, bound to ``clock`` and ``dispatch`` (which serves ``functions``);
    ``on_end(execution)`` is called as each execution ends, while it still counts as busy (so
    what it starts begins at the same virtual time). One runtime at a time."""
    check_hooks()
    with _lock:
        if _active:
            raise RuntimeError("a local runtime is already running in this process")
        _active.update(clock=clock, dispatch=dispatch, functions=functions, on_end=on_end)
        _saved.update(
            {
                "LambdaSimpleBackend.invoke": LambdaSimpleBackend.invoke,
                "WaitFunction._wait_interval": WaitFunction._wait_interval,
                "Environment.set_stop": Environment.set_stop,
                "retrier_decl.time": retrier_decl.time,
                "callback_service.time": callback_service.time,
                "callback_service.delay": callback_service._DELAY_SECONDS_SYNC_CONDITION_CHECK,
                "CallbackEndpoint.wait": CallbackEndpoint.wait,
                "ExecutionWorker.start": ExecutionWorker.start,
                "ExecutionWorker._get_evaluation_environment": ExecutionWorker._get_evaluation_environment,
                "program.threading": program_module.threading,
                "boto3": boto_client_module.boto3,
                "execute_state.Thread": execute_state_module.Thread,
                "sfn._eval_service_task": StateTaskServiceSfn._eval_service_task,
                "sfn._normalise_response": StateTaskServiceSfn._normalise_response,
                "awssdk._eval_service_task": StateTaskServiceAwsSdk._eval_service_task,
                "sfn._sync2_api_output_of": StateTaskServiceSfn._sync2_api_output_of,
                "parser.start_execution": StepFunctionsParserBackend.start_execution,
                "responses.send_task_failure": StepFunctionResponse.send_task_failure,
            }
        )
        LambdaSimpleBackend.invoke = _invoke  # type: ignore[method-assign]
        WaitFunction._wait_interval = _wait_interval  # type: ignore[method-assign]
        Environment.set_stop = _set_stop  # type: ignore[method-assign]
        retrier_decl.time = _ModuleShim(_real=_real_time, sleep=_virtual_sleep)  # type: ignore[assignment]
        callback_service.time = _ModuleShim(_real=_real_time, sleep=_idle_sleep)  # type: ignore[assignment]
        callback_service._DELAY_SECONDS_SYNC_CONDITION_CHECK = SYNC_POLL_SECONDS  # type: ignore[misc]
        CallbackEndpoint.wait = _callback_wait  # type: ignore[method-assign]
        ExecutionWorker.start = _start  # type: ignore[method-assign]
        ExecutionWorker._get_evaluation_environment = _evaluation_environment  # type: ignore[method-assign]
        program_module.threading = _ModuleShim(_real=threading, Thread=_adopting_thread)  # type: ignore[assignment]
        boto_client_module.boto3 = _ModuleShim(_real=_saved["boto3"], client=_cached_client)  # type: ignore[assignment]
        for module in _COPYING_MODULES:
            module.copy = _ModuleShim(_real=_real_copy, deepcopy=_json_copy)
        execute_state_module.Thread = _inheriting_thread  # type: ignore[assignment,misc]
        StateTaskServiceSfn._eval_service_task = _service_task("sfn._eval_service_task")  # type: ignore[method-assign]
        StateTaskServiceSfn._normalise_response = _sfn_normalise_response  # type: ignore[method-assign]
        StateTaskServiceAwsSdk._eval_service_task = _service_task("awssdk._eval_service_task")  # type: ignore[method-assign]
        StateTaskServiceSfn._sync2_api_output_of = staticmethod(_sync2_output_of)  # type: ignore[method-assign,assignment]
        StepFunctionsParserBackend.start_execution = _start_execution  # type: ignore[method-assign]
        StepFunctionResponse.send_task_failure = _send_task_failure  # type: ignore[method-assign]
        for op in _DYNAMODB_ITEM_OPS:
            _saved[f"DynamoDBBackend.{op}"] = getattr(DynamoDBBackend, op)
            setattr(DynamoDBBackend, op, _serialised(op))
        for owner, attribute, replacement in _strict_patches() + _speed_patches():
            _strict_saved.append((owner, attribute, owner.__dict__[attribute] if isinstance(owner, type) else getattr(owner, attribute)))
            setattr(owner, attribute, replacement)


def uninstall() -> None:
    """Undo every patch."""
    with _lock:
        if not _saved:
            _active.clear()
            return
        LambdaSimpleBackend.invoke = _saved["LambdaSimpleBackend.invoke"]  # type: ignore[method-assign]
        WaitFunction._wait_interval = _saved["WaitFunction._wait_interval"]  # type: ignore[method-assign]
        Environment.set_stop = _saved["Environment.set_stop"]  # type: ignore[method-assign]
        retrier_decl.time = _saved["retrier_decl.time"]
        callback_service.time = _saved["callback_service.time"]
        callback_service._DELAY_SECONDS_SYNC_CONDITION_CHECK = _saved["callback_service.delay"]  # type: ignore[misc]
        CallbackEndpoint.wait = _saved["CallbackEndpoint.wait"]  # type: ignore[method-assign]
        ExecutionWorker.start = _saved["ExecutionWorker.start"]  # type: ignore[method-assign]
        ExecutionWorker._get_evaluation_environment = _saved["ExecutionWorker._get_evaluation_environment"]  # type: ignore[method-assign]
        program_module.threading = _saved["program.threading"]
        boto_client_module.boto3 = _saved["boto3"]
        for module in _COPYING_MODULES:
            module.copy = _real_copy
        execute_state_module.Thread = _saved["execute_state.Thread"]  # type: ignore[misc]
        StateTaskServiceSfn._eval_service_task = _saved["sfn._eval_service_task"]  # type: ignore[method-assign]
        StateTaskServiceSfn._normalise_response = _saved["sfn._normalise_response"]  # type: ignore[method-assign]
        StateTaskServiceAwsSdk._eval_service_task = _saved["awssdk._eval_service_task"]  # type: ignore[method-assign]
        StateTaskServiceSfn._sync2_api_output_of = staticmethod(_saved["sfn._sync2_api_output_of"])  # type: ignore[method-assign,assignment]
        StepFunctionsParserBackend.start_execution = _saved["parser.start_execution"]  # type: ignore[method-assign]
        StepFunctionResponse.send_task_failure = _saved["responses.send_task_failure"]  # type: ignore[method-assign]
        for op in _DYNAMODB_ITEM_OPS:
            setattr(DynamoDBBackend, op, _saved[f"DynamoDBBackend.{op}"])
        while _strict_saved:
            owner, attribute, original = _strict_saved.pop()
            setattr(owner, attribute, original)
        _parsed_json_path_once.cache_clear()
        _parsed_program.cache_clear()
        while _path_caches:
            _path_caches.pop().cache_clear()
        _clients.clear()
        _saved.clear()
        _active.clear()


def installed() -> bool:
    return bool(_active)
