"""A second ASL engine: the deployable definition on LocalStack's Step Functions interpreter.

The local runtime (:mod:`neptune_watch.local.runtime`) runs the definition on moto's
interpreter, a port of an older LocalStack one. This module runs the same definition on the
maintained upstream, ``localstack-core`` (pinned exactly: the names below are private), in
process: no Docker, no LocalStack server. What runs where:

* LocalStack's own Step Functions provider (``StepFunctionsProvider``) behind LocalStack's own
  request parser and response serializer (``Skeleton``) serves every Step Functions API call,
  the runtime's (StartExecution, DescribeExecution, ...) and the interpreter's
  (``startExecution.sync:2``, ``aws-sdk:sfn:sendTaskSuccess`` ...). The calls are real boto3
  calls: botocore serialises the request, a ``before-send`` handler hands the HTTP request to
  the skeleton and botocore parses the HTTP response it answers.
* Lambda ``Invoke`` calls (``lambda:invoke`` and ``.waitForTaskToken``) are real boto3 calls
  answered by our handlers in-process (the same dispatcher as the moto runtime).
* SNS, SQS, EventBridge and DynamoDB calls of the service integrations are real boto3 calls
  against moto's backends under ``mock_aws``, as in the moto runtime.
* Wait states, Retry intervals, ``.sync`` polling and task-token timeouts run on the
  :class:`~neptune_watch.local.clock.VirtualClock`.

No strictness patch is applied here (:mod:`neptune_watch.local.strict` is moto's): the point is
to see what LocalStack's interpreter does natively. docs/LOCAL-RUNTIME.md ("A second engine")
lists where the two engines differ and which one follows the AWS documentation.

LocalStack 2026.3.0 is written for Python 3.13 (its wheel says ``>=3.10``): three modules on
the interpreter's import chain use PEP 695 syntax and two more names need 3.13's
``threading.Lock`` class and ``warnings.deprecated``. On an older Python,
:func:`_import_localstack` loads those modules with a source rewrite listed in
:data:`REWRITTEN_MODULES` (a ``type X = ...`` alias becomes ``X = ...``, a ``class C[T]`` becomes
``class C(Generic[T])``): no behaviour of the interpreter changes. Every private name patched
is in :data:`HOOKS`; :func:`check_hooks` resolves them all before the engine starts.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.abc
import importlib.machinery
import importlib.metadata
import io
import json
import logging
import re
import sys
import threading
import time as _real_time
import uuid
import weakref
from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import Any
from urllib.parse import unquote, urlsplit

import boto3
from botocore.awsrequest import AWSResponse
from botocore.config import Config
from moto import mock_aws

from neptune_watch.local.clock import VirtualClock, participant_thread
from neptune_watch.local.runtime import ACCOUNT, FUNCTIONS, REGION, LocalRuntime

LOCALSTACK_VERSION = "2026.3.0"

# Python-version compatibility ------------------------------------------------------------------
#: LocalStack modules on the interpreter's import chain written in Python 3.12 syntax, loaded
#: through :class:`_RewritingLoader` on an older Python.
REWRITTEN_MODULES: tuple[str, ...] = (
    "localstack.services.events.models",  # type TransformedEvent = ...
    "localstack.services.stores",  # class RegionBundle[BaseStoreType](dict)
    "localstack.services.stepfunctions.asl.component.test_state.state.base_mock",  # class MockedBaseState[T: ...]
)
_TYPE_ALIAS = re.compile(r"^type (\w+) = ", re.MULTILINE)
_GENERIC_CLASS = re.compile(r"^class (\w+)\[([^\]]*)\](?:\((.*)\))?:", re.MULTILINE)


def _rewrite_pep695(text: str) -> str:
    """Python 3.12 type-parameter syntax as 3.11 can compile it (same runtime behaviour)."""

    def generic(match: re.Match[str]) -> str:
        params = [p.split(":")[0].strip() for p in match.group(2).split(",") if p.strip()]
        typevars = "".join(f"{p} = __import__('typing').TypeVar({p!r})\n" for p in params)
        bases = [match.group(3)] if match.group(3) else []
        bases.append(f"__import__('typing').Generic[{', '.join(params)}]")
        return f"{typevars}class {match.group(1)}({', '.join(bases)}):"

    return _GENERIC_CLASS.sub(generic, _TYPE_ALIAS.sub(r"\1 = ", text))


class _RewritingLoader(importlib.machinery.SourceFileLoader):
    def source_to_code(self, data: Any, path: Any, *, _optimize: int = -1) -> Any:  # type: ignore[override]
        text = data.decode("utf-8") if isinstance(data, bytes) else str(data)
        rewritten = _rewrite_pep695(text)
        if rewritten == text:
            raise ImportError(f"{path}: listed in REWRITTEN_MODULES but has no PEP 695 syntax left to rewrite")
        return compile(rewritten, path, "exec", dont_inherit=True)


class _RewritingFinder(importlib.abc.MetaPathFinder):
    def find_spec(self, name: str, path: Any, target: Any = None) -> Any:
        if name not in REWRITTEN_MODULES:
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is not None and spec.origin:
            spec.loader = _RewritingLoader(name, spec.origin)
        return spec


class _LockClass:
    """``threading.Lock`` as a class (as in Python 3.13), only while LocalStack imports:
    ``localstack.packages.api`` evaluates the annotation ``Lock | None``."""

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        return _real_lock()


_real_lock = threading.Lock
_imported = False
_import_error: BaseException | None = None


@contextlib.contextmanager
def _python_compat() -> Iterator[None]:
    if sys.version_info >= (3, 13):
        yield
        return
    import warnings

    import typing_extensions

    if sys.version_info < (3, 12) and not any(isinstance(f, _RewritingFinder) for f in sys.meta_path):
        # Stays installed: it only ever rewrites the modules listed in REWRITTEN_MODULES.
        sys.meta_path.insert(0, _RewritingFinder())
    had_deprecated = hasattr(warnings, "deprecated")
    threading.Lock = _LockClass  # type: ignore[misc,assignment]
    if not had_deprecated:
        warnings.deprecated = typing_extensions.deprecated  # type: ignore[attr-defined]
    try:
        yield
    finally:
        threading.Lock = _real_lock  # type: ignore[misc]
        if not had_deprecated:
            del warnings.deprecated  # type: ignore[attr-defined]


# Every LocalStack module the engine uses: imported once, all together, under the compat shims.
_MODULES = {
    "provider": "localstack.services.stepfunctions.provider",
    "models": "localstack.services.stepfunctions.backend.models",
    "execution": "localstack.services.stepfunctions.backend.execution",
    "execution_worker": "localstack.services.stepfunctions.backend.execution_worker",
    "program": "localstack.services.stepfunctions.asl.component.program.program",
    "execute_state": "localstack.services.stepfunctions.asl.component.state.state_execution.execute_state",
    "wait_function": "localstack.services.stepfunctions.asl.component.state.state_wait.wait_function.wait_function",
    "retrier_decl": "localstack.services.stepfunctions.asl.component.common.retry.retrier_decl",
    "callback_service": "localstack.services.stepfunctions.asl.component.state.state_execution.state_task.service.state_task_service_callback",
    "callback": "localstack.services.stepfunctions.asl.eval.callback.callback",
    "environment": "localstack.services.stepfunctions.asl.eval.environment",
    "lambda_eval_utils": "localstack.services.stepfunctions.asl.component.state.state_execution.state_task.lambda_eval_utils",
    "sfn": "localstack.services.stepfunctions.asl.component.state.state_execution.state_task.service.state_task_service_sfn",
    "sns": "localstack.services.stepfunctions.asl.component.state.state_execution.state_task.service.state_task_service_sns",
    "sqs": "localstack.services.stepfunctions.asl.component.state.state_execution.state_task.service.state_task_service_sqs",
    "events": "localstack.services.stepfunctions.asl.component.state.state_execution.state_task.service.state_task_service_events",
    "dynamodb": "localstack.services.stepfunctions.asl.component.state.state_execution.state_task.service.state_task_service_dynamodb",
    "aws_sdk": "localstack.services.stepfunctions.asl.component.state.state_execution.state_task.service.state_task_service_aws_sdk",
    "skeleton": "localstack.aws.skeleton",
    "spec": "localstack.aws.spec",
    "core": "localstack.aws.api.core",
    "http": "localstack.http",
}
_m = SimpleNamespace()


def _import_localstack() -> None:
    global _imported, _import_error
    if _imported:
        return
    if _import_error is not None:
        raise _import_error
    try:
        with _python_compat():
            for key, name in _MODULES.items():
                setattr(_m, key, importlib.import_module(name))
    except BaseException as exc:
        _import_error = exc
        raise
    _imported = True


#: The modules whose ``boto_client_for`` the engine replaces (one client per service).
_CLIENT_MODULES = ("lambda_eval_utils", "sfn", "sns", "sqs", "events", "dynamodb", "aws_sdk")

#: Every LocalStack name the engine replaces, as ``module:Owner.attribute`` (``module:attribute``
#: for a module-level name); :func:`check_hooks` resolves each one before the engine starts.
HOOKS: tuple[str, ...] = (
    *(f"{_MODULES[key]}:boto_client_for" for key in _CLIENT_MODULES),
    f"{_MODULES['wait_function']}:WaitFunction._wait_interval",
    f"{_MODULES['environment']}:Environment.set_stop",
    f"{_MODULES['retrier_decl']}:time",
    f"{_MODULES['callback_service']}:time",
    f"{_MODULES['callback_service']}:_DELAY_SECONDS_SYNC_CONDITION_CHECK",
    f"{_MODULES['callback']}:CallbackEndpoint.wait",
    f"{_MODULES['callback']}:CallbackEndpoint.notify",
    f"{_MODULES['callback']}:CallbackEndpoint._notify_event",
    f"{_MODULES['execution_worker']}:ExecutionWorker.start",
    f"{_MODULES['execution_worker']}:ExecutionWorker._execution_logic",
    f"{_MODULES['program']}:threading",
    f"{_MODULES['execute_state']}:Thread",
    f"{_MODULES['execution']}:Execution._get_events_client",
    f"{_MODULES['models']}:sfn_stores",
)


class MissingHookError(RuntimeError):
    """The installed localstack-core lacks a name the engine patches (written for 2026.3.0)."""


def _resolve(hook: str) -> None:
    module_name, _, path = hook.partition(":")
    obj: Any = sys.modules.get(module_name) or importlib.import_module(module_name)
    *owners, attribute = path.split(".")
    for owner in owners:
        obj = getattr(obj, owner)
    if attribute.startswith("_") and attribute[1:2].islower() and isinstance(obj, type) and attribute not in vars(obj):
        # an instance attribute (set in __init__): look for it in the source
        import inspect

        if f"self.{attribute}" not in inspect.getsource(obj.__init__):
            raise AttributeError(attribute)
        return
    getattr(obj, attribute)


def missing_hooks() -> list[str]:
    """The entries of :data:`HOOKS` the installed localstack-core does not have."""
    _import_localstack()
    missing = []
    for hook in HOOKS:
        try:
            _resolve(hook)
        except (ImportError, AttributeError, OSError, TypeError):
            missing.append(hook)
    return missing


def check_hooks() -> None:
    """Raise :class:`MissingHookError` naming every patched LocalStack name that is gone."""
    try:
        version = importlib.metadata.version("localstack-core")
    except importlib.metadata.PackageNotFoundError:
        version = "not installed"
    try:
        missing = missing_hooks()
    except ImportError as exc:
        raise MissingHookError(
            f"the LocalStack engine needs localstack-core=={LOCALSTACK_VERSION} (installed: {version}): {exc}"
        ) from exc
    if missing or version != LOCALSTACK_VERSION:
        raise MissingHookError(
            f"the LocalStack engine needs localstack-core=={LOCALSTACK_VERSION} (installed: {version}); "
            f"missing hook(s): {', '.join(missing) or 'none'}"
        )


# In-process services behind real boto3 clients -------------------------------------------------
class _RawBody:
    """What botocore reads an HTTP response body from (``stream`` and ``read``)."""

    def __init__(self, body: bytes) -> None:
        self._buffer = io.BytesIO(body)

    def stream(self, *args: Any, **kwargs: Any) -> Iterator[bytes]:
        chunk = self._buffer.read()
        if chunk:
            yield chunk

    def read(self, amt: int | None = None, *args: Any, **kwargs: Any) -> bytes:
        return self._buffer.read() if amt is None else self._buffer.read(amt)

    def close(self) -> None:
        pass


def _body_bytes(request: Any) -> bytes:
    body = request.body
    if body is None:
        return b""
    if isinstance(body, str):
        return body.encode("utf-8")
    if hasattr(body, "read"):
        data = body.read()
        return data.encode("utf-8") if isinstance(data, str) else data
    return bytes(body)


_ENGINE_CLIENT_CONFIG = Config(parameter_validation=False, retries={"total_max_attempts": 1})


# The engine's state while a runtime is up -----------------------------------------------------
_lock = threading.Lock()
_active: dict[str, Any] = {}
_saved: list[tuple[Any, str, Any]] = []

_ended = threading.Condition()
_ended_count = [0]
_seen = threading.local()
SYNC_WAIT_CAP_SECONDS = 0.5


class _ModuleShim(SimpleNamespace):
    """A stand-in for a module with some names replaced; everything else is the real module."""

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


def _clock() -> VirtualClock:
    return _active["clock"]


def _engine_client(service: str, region: str, state_credentials: Any) -> Any:
    return _active["client"](service)


def _start_worker(self: Any) -> None:
    """ExecutionWorker.start: the execution counts as busy on the virtual clock from its start;
    the program's evaluation thread (``threading`` in ``program``) is the participant."""
    clock = _clock()
    clock.enter()

    def run() -> None:
        try:
            self._execution_logic()
        finally:
            clock.leave()
            with _ended:
                _ended_count[0] += 1
                _ended.notify_all()

    threading.Thread(target=run, daemon=True, name="localstack-sfn-execution").start()


def _participant_thread(*args: Any, target: Any = None, inherit: bool = False, **kwargs: Any) -> threading.Thread:
    return participant_thread(_clock(), *args, target=target, inherit=inherit, **kwargs)


def _inheriting_thread(*args: Any, **kwargs: Any) -> threading.Thread:
    return _participant_thread(*args, inherit=True, **kwargs)


# Wait states sleeping now, per Environment: a stop wakes them at once (LocalStack's own Wait
# waits on the environment's program_state_event, which set_stop sets).
_stop_events: weakref.WeakKeyDictionary[Any, set[threading.Event]] = weakref.WeakKeyDictionary()
_stop_lock = threading.Lock()


def _wait_interval(self: Any, env: Any, wait_seconds: int) -> None:
    if wait_seconds <= 0 or not env.is_running():
        return
    woken = threading.Event()
    with _stop_lock:
        _stop_events.setdefault(env, set()).add(woken)
    try:
        if env.is_running():
            _clock().wait_for(woken, float(wait_seconds))
    finally:
        with _stop_lock:
            _stop_events.get(env, set()).discard(woken)


def _set_stop(saved: Callable[..., Any]) -> Callable[..., Any]:
    def run(self: Any, *args: Any, **kwargs: Any) -> None:
        saved(self, *args, **kwargs)
        with _stop_lock:
            sleeping = list(_stop_events.get(self, ()))
        clock = _clock()
        for event in sleeping:
            clock.claim(event)
            event.set()

    return run


def _virtual_sleep(seconds: float) -> None:
    _clock().sleep(float(seconds))


def _idle_sleep(seconds: float) -> None:
    """A ``.sync`` parent between two looks at its child: idle on the clock until some
    execution has ended since its last look (or ``SYNC_WAIT_CAP_SECONDS`` of real time)."""
    with _clock().idle(), _ended:
        if getattr(_seen, "count", None) == _ended_count[0]:
            _ended.wait_for(lambda: _ended_count[0] != _seen.count, timeout=SYNC_WAIT_CAP_SECONDS)
        _seen.count = _ended_count[0]


_NO_TIMEOUT = 99_999_999  # LocalStack's TimeoutSeconds.DEFAULT_TIMEOUT_SECONDS


def _callback_wait(saved: Callable[..., Any]) -> Callable[..., Any]:
    def run(self: Any, timeout: float | None = None) -> Any:
        clock = _clock()
        if timeout is None or timeout >= _NO_TIMEOUT or clock._depth() == 0:
            with clock.idle():
                return saved(self, timeout)
        # A .waitForTaskToken task's TimeoutSeconds counts virtual time.
        clock.wait_for(self._notify_event, float(timeout))
        return self.get_outcome()

    return run


def _callback_notify(saved: Callable[..., Any]) -> Callable[..., Any]:
    """CallbackEndpoint.notify (SendTaskSuccess/Failure): the waiting task is counted busy again
    before the answer lands, so its virtual TimeoutSeconds cannot pass in between."""

    def run(self: Any, outcome: Any) -> Any:
        _clock().claim(self._notify_event)
        return saved(self, outcome)

    return run


def _patches() -> list[tuple[Any, str, Any]]:
    """(owner, attribute, replacement) of every hook."""
    sleep_shim = _ModuleShim(_real=_real_time, sleep=_virtual_sleep)
    idle_shim = _ModuleShim(_real=_real_time, sleep=_idle_sleep)
    patches: list[tuple[Any, str, Any]] = [(getattr(_m, key), "boto_client_for", _engine_client) for key in _CLIENT_MODULES]
    patches += [
        (_m.wait_function.WaitFunction, "_wait_interval", _wait_interval),
        (_m.environment.Environment, "set_stop", _set_stop(_m.environment.Environment.set_stop)),
        (_m.retrier_decl, "time", sleep_shim),
        (_m.callback_service, "time", idle_shim),
        (_m.callback_service, "_DELAY_SECONDS_SYNC_CONDITION_CHECK", 0.01),
        (_m.callback.CallbackEndpoint, "wait", _callback_wait(_m.callback.CallbackEndpoint.wait)),
        (_m.callback.CallbackEndpoint, "notify", _callback_notify(_m.callback.CallbackEndpoint.notify)),
        (_m.execution_worker.ExecutionWorker, "start", _start_worker),
        (_m.program, "threading", _ModuleShim(_real=threading, Thread=_participant_thread)),
        (_m.execute_state, "Thread", _inheriting_thread),
        (_m.execution.Execution, "_get_events_client", lambda self: _active["client"]("events")),
    ]
    return patches


def install(clock: VirtualClock, client: Callable[[str], Any]) -> None:
    """Install every patch, bound to ``clock`` and ``client(service)`` (the interpreter's clients)."""
    check_hooks()
    with _lock:
        if _active:
            raise RuntimeError("a LocalStack engine is already running in this process")
        _active.update(clock=clock, client=client)
        for owner, attribute, replacement in _patches():
            original = owner.__dict__[attribute] if isinstance(owner, type) else getattr(owner, attribute)
            _saved.append((owner, attribute, original))
            setattr(owner, attribute, replacement)


def uninstall() -> None:
    with _lock:
        while _saved:
            owner, attribute, original = _saved.pop()
            setattr(owner, attribute, original)
        _active.clear()


# The runtime ----------------------------------------------------------------------------------
class LocalStackRuntime(LocalRuntime):
    """:class:`LocalRuntime` with LocalStack's interpreter and Step Functions provider in place
    of moto's (everything else, the handlers, the emulator, SNS/SQS/EventBridge/DynamoDB on
    moto, the virtual clock, is the same)."""

    def _install_engine(self) -> None:
        _import_localstack()
        # LocalStack logs every Fail state and caught error at ERROR/WARNING: the reports say it.
        logging.getLogger("localstack").setLevel(logging.CRITICAL)
        self._mock = mock_aws(config={"lambda": {"use_docker": False}})
        self._mock.start()
        self._provider = _m.provider.StepFunctionsProvider()
        self._sfn_service = _m.spec.load_service("stepfunctions")
        self._skeleton = _m.skeleton.Skeleton(self._sfn_service, self._provider)
        self._engine_clients: dict[str, Any] = {}
        install(self.clock, self._engine_client)

    def _uninstall_engine(self) -> None:
        uninstall()
        if hasattr(self, "_provider"):
            _m.models.sfn_stores.reset()

    # Clients ---------------------------------------------------------------------------------
    def client(self, service: str) -> Any:
        if service == "stepfunctions":
            with self._lock:
                if service not in self._clients:
                    self._clients[service] = self._routed(boto3.client(service, region_name=REGION))
                return self._clients[service]
        return super().client(service)

    def _engine_client(self, service: str) -> Any:
        """The client a service integration of the interpreter gets (LocalStack's own config:
        no parameter validation, one attempt)."""
        name = {"sfn": "stepfunctions", "states": "stepfunctions"}.get(service, service)
        with self._lock:
            if name not in self._engine_clients:
                made = boto3.client(name, region_name=REGION, config=_ENGINE_CLIENT_CONFIG)
                self._engine_clients[name] = self._routed(made) if name in ("stepfunctions", "lambda") else made
            return self._engine_clients[name]

    def _routed(self, client: Any) -> Any:
        service = client.meta.service_model.service_name
        handler = self._send_to_sfn if service == "stepfunctions" else self._send_to_lambda
        client.meta.events.register_first(f"before-send.{client.meta.service_model.service_id.hyphenize()}", handler)
        return client

    def _send_to_sfn(self, request: Any, **kwargs: Any) -> AWSResponse:
        """A Step Functions API request, parsed, run and answered by LocalStack's skeleton and
        provider."""
        url = urlsplit(request.url)
        http_request = _m.http.Request(
            method=request.method,
            path=url.path or "/",
            query_string=url.query,
            headers={k: v.decode("utf-8") if isinstance(v, bytes) else v for k, v in request.headers.items()},
            body=_body_bytes(request),
            server=(url.hostname or "localhost", url.port or 443),
        )
        context = _m.core.RequestContext(http_request)
        context.service = self._sfn_service
        context.protocol = self._sfn_service.protocol
        context.account_id = ACCOUNT
        context.region = REGION
        context.partition = "aws"
        context.request_id = str(uuid.uuid4())
        response = self._skeleton.invoke(context)
        headers = {k: v for k, v in response.headers.items()}
        return AWSResponse(request.url, response.status_code, headers, _RawBody(response.get_data()))

    def _send_to_lambda(self, request: Any, **kwargs: Any) -> AWSResponse:
        """A Lambda Invoke request, answered by our handler in-process."""
        request_id = {"x-amzn-RequestId": str(uuid.uuid4())}  # as Lambda answers every request
        path = unquote(urlsplit(request.url).path)
        match = re.match(r"^/2015-03-31/functions/([^/]+)/invocations$", path)
        if match is None:
            body = json.dumps({"message": f"the LocalStack engine serves Lambda Invoke only, not {request.method} {path}"})
            return AWSResponse(request.url, 400, {**request_id, "x-amzn-ErrorType": "InvalidRequestContentException"}, _RawBody(body.encode()))
        name = match.group(1).split(":function:")[-1].split(":")[0]
        if name not in FUNCTIONS:
            body = json.dumps({"Type": "User", "message": f"Function not found: {name}"})
            return AWSResponse(request.url, 404, {**request_id, "x-amzn-ErrorType": "ResourceNotFoundException"}, _RawBody(body.encode()))
        headers: dict[str, str] = dict(request_id)
        payload = self._dispatch(name, _body_bytes(request), headers)
        headers.update({"X-Amz-Executed-Version": "$LATEST", "Content-Type": "application/json"})
        return AWSResponse(request.url, 200, headers, _RawBody(payload))

    # Executions ------------------------------------------------------------------------------
    def _store(self) -> Any:
        return _m.models.sfn_stores[ACCOUNT][REGION]

    def _execution(self, execution_arn: str) -> Any:
        return self._store().executions[execution_arn]

    def status(self, execution_arn: str) -> str:
        return str(self._execution(execution_arn).exec_status)

    def history(self, execution_arn: str) -> list[dict[str, Any]]:
        return list(self._execution(execution_arn).to_history_output()["events"])

    def _backend(self) -> Any:
        raise NotImplementedError("the LocalStack engine has no moto Step Functions backend")

    def _recovery_rule(self, execution: Any) -> None:
        # Not played on this engine (see docs/LOCAL-RUNTIME.md, "A second engine").
        return None


def run_scenario_localstack(scenario: Any, *, definition: str | None = None, timeout: float = 120.0) -> dict[str, Any]:
    """Run the scenario's watch request on LocalStack's interpreter; the report of
    :func:`neptune_watch.runner.report` (docs/CONTRACT.md section 3)."""
    from neptune_watch.runner import run_scenario

    return run_scenario(scenario, definition=definition, timeout=timeout, runtime=LocalStackRuntime)
