"""Run the deployable watch state machine locally: no AWS account, no Docker.

moto provides Step Functions (its ASL interpreter really executes the definition), Lambda,
SNS, SQS, EventBridge, DynamoDB and IAM in-process; :mod:`~neptune_watch.local.adapter`
routes Lambda tasks to our real handlers and puts Wait states and Retry intervals on a
virtual clock; the Neptune emulator serves the handlers over loopback HTTP on that clock.
SNS and EventBridge deliver into SQS queues that the runtime reads, so what it reports is
what was really published.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import json
import logging
import os
import re
import sys
import threading
import time
import traceback
import uuid
import zipfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import boto3
from moto import mock_aws

from neptune_watch import resources
from neptune_watch.emulator import NeptuneEmulator
from neptune_watch.local import adapter
from neptune_watch.local.clock import VirtualClock
from neptune_watch.scenario import FaultSpec, JobSpec

DEFAULT_DEFINITION = resources.definition_path()
REGION = "us-east-1"
ACCOUNT = "123456789012"
STATE_MACHINE_NAME = "neptune-watch"

# The handlers run in-process under their Lambda import name, "watcher".
resources.require_watcher()
from watcher import names  # noqa: E402
from watcher.settings import ENV, env_value  # noqa: E402

EVENT_SOURCE = names.DEFAULT_OUTCOME_SOURCE

# Local function name -> (handler module, the definition's placeholder for its ARN)
FUNCTIONS: dict[str, tuple[str, str]] = {f.local_name: (f.module, f.placeholder) for f in names.FUNCTIONS}


def _lower_camel(field: str) -> str:
    head, *rest = field.split("_")
    return head + "".join(part.capitalize() for part in rest)


# Scenario "settings" (camelCase of the Settings field) -> its environment variable. The
# endpoints and client timeouts are the runtime's own (they point at the emulator).
_RUNTIME_OWNED = {"neptune_endpoint", "graph_endpoint", "connect_timeout", "read_timeout"}
SETTING_ENV = {_lower_camel(f): env for f, env in ENV.items() if f not in _RUNTIME_OWNED}

PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9_]+)\}")


# The handlers' read timeout against the emulator, in real seconds. A Timeout fault costs this
# much wall time; an answer slower than this is retried as if it were one. At 1 s, a machine
# running several suites at once (load average 4 on 2 cores) saw ordinary answers time out and
# polls counted twice; 3 s leaves room for that load.
LOCAL_READ_TIMEOUT_SECONDS = 3.0


# Connections each handler client keeps for reuse. Every execution's handler calls may be in
# flight at one instant of virtual time; beyond the pool, a connection is closed after its call.
LOCAL_POOL_CONNECTIONS = 1024


class RuntimeError_(Exception):
    """The local runtime itself could not do what was asked (not a watch outcome)."""


@dataclass
class _Context:
    """The parts of a Lambda context that Powertools reads."""

    function_name: str
    aws_request_id: str
    memory_limit_in_mb: int = 256
    function_version: str = "$LATEST"

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def placeholders(text: str) -> set[str]:
    """The ``${Name}`` placeholders of a definition."""
    return set(PLACEHOLDER.findall(text))


def substitute(text: str, values: dict[str, str]) -> str:
    """Resolve the placeholders as CloudFormation's DefinitionSubstitutions does."""
    missing = placeholders(text) - set(values)
    if missing:
        raise RuntimeError_(f"no value for placeholder(s) {sorted(missing)} of the definition")
    return PLACEHOLDER.sub(lambda m: values[m.group(1)], text)


def definition_from_template(path: str | os.PathLike[str]) -> str:
    """The watch definition a synthesized CloudFormation template carries."""
    try:
        template = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise RuntimeError_(f"cannot read template {path}: {exc}") from exc
    for resource in (template.get("Resources") or {}).values():
        if resource.get("Type") != "AWS::StepFunctions::StateMachine":
            continue
        text = resource.get("Properties", {}).get("DefinitionString")
        if isinstance(text, str) and "neptuneWatchContinue" in text:
            return text
    raise RuntimeError_(f"{path} has no neptune-watch state machine with a literal DefinitionString")


class LocalRuntime:
    """A context manager: set everything up on enter, tear it all down on exit."""

    def __init__(
        self,
        *,
        settings: dict[str, Any] | None = None,
        definition: str | None = None,
        start_epoch: float | None = None,
        log_stream: TextIO | None = None,
        log_level: str | None = None,
        jobs: list[JobSpec] | tuple[JobSpec, ...] = (),
        faults: list[FaultSpec] | tuple[FaultSpec, ...] = (),
    ) -> None:
        self.settings = dict(settings or {})
        unknown = set(self.settings) - set(SETTING_ENV)
        if unknown:
            raise RuntimeError_(f"unknown setting(s) {sorted(unknown)}; known: {sorted(SETTING_ENV)}")
        self.definition_text = definition if definition is not None else DEFAULT_DEFINITION.read_text()
        self.clock = VirtualClock(start_epoch)
        self.emulator = NeptuneEmulator(
            jobs=jobs, faults=faults, clock=self.clock.now, epoch=self.clock.start_epoch,
            timeout_hold_seconds=LOCAL_READ_TIMEOUT_SECONDS + 0.5,
        )
        self.log_stream = log_stream or sys.stderr
        # The in-process handlers' log level (NEPTUNE_WATCH_LOG_LEVEL: `neptune-watch --verbose` sets it).
        self.log_level = log_level or os.environ.get("NEPTUNE_WATCH_LOG_LEVEL") or "WARNING"
        self.invocations: Counter[str] = Counter()
        self.finalized_at: list[float] = []
        self.finalized_by_job: dict[str, float] = {}  # job id -> virtual time of its Finalize
        self.watches: dict[str, dict[str, Any]] = {}
        self._saved_env: dict[str, str | None] = {}
        self._mock: Any = None
        self._lock = threading.Lock()
        self.arns: dict[str, str] = {}
        self.recoveries: dict[str, str] = {}  # ended execution -> the recovery the rule started
        self._closing = False
        self._clients: dict[str, Any] = {}
        # Outcomes taken off the capture queues (queue URL -> bodies), and the thread that
        # takes them as they arrive (see _collect).
        self._collected: dict[str, list[dict[str, Any]]] = {}
        self._collect_lock = threading.Lock()
        self._collector_stop = threading.Event()
        self._collector: threading.Thread | None = None

    # Set-up ------------------------------------------------------------------------------
    def __enter__(self) -> LocalRuntime:
        try:
            self._start()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _env(self, values: dict[str, str]) -> None:
        for key, value in values.items():
            self._saved_env.setdefault(key, os.environ.get(key))
            os.environ[key] = value

    def _start(self) -> None:
        url = self.emulator.start()
        env = {
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
            "AWS_SESSION_TOKEN": "local",
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
            "NEPTUNE_ENDPOINT": url,
            "NEPTUNE_GRAPH_ENDPOINT": url,
            "NEPTUNE_READ_TIMEOUT": str(LOCAL_READ_TIMEOUT_SECONDS),
            "NEPTUNE_CONNECT_TIMEOUT": "1",
            # Hundreds of handlers share the two clients: a pool that size keeps their
            # connections to the emulator alive for the next call (botocore keeps 10).
            "NEPTUNE_MAX_POOL_CONNECTIONS": str(LOCAL_POOL_CONNECTIONS),
            "POWERTOOLS_SERVICE_NAME": names.SERVICE_NAME,
            "POWERTOOLS_METRICS_NAMESPACE": names.METRICS_NAMESPACE,
            "POWERTOOLS_METRICS_DISABLED": "true",
            "POWERTOOLS_TRACE_DISABLED": "true",
            "POWERTOOLS_LOG_LEVEL": self.log_level,
        }
        for key, env_name in SETTING_ENV.items():
            if key in self.settings:
                value = self.settings[key]
                env[env_name] = env_value(value)
        self._env(env)
        resources.require_watcher()
        self._handlers = {name: importlib.import_module(module) for name, (module, _) in FUNCTIONS.items()}
        self._reset_watcher()
        self._install_engine()
        self._create_resources()
        self._collector = threading.Thread(target=self._collect_until_stopped, name="outcome-collector", daemon=True)
        self._collector.start()

    def _install_engine(self) -> None:
        """Start the in-process AWS and the ASL engine (moto's interpreter, with the adapter)."""
        self._mock = mock_aws(config={"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}})
        self._mock.start()
        adapter.install(self.clock, self._dispatch, frozenset(FUNCTIONS), on_end=self._recovery_rule)

    def _uninstall_engine(self) -> None:
        adapter.uninstall()

    def _reset_watcher(self) -> None:
        from watcher import clients, clock
        from watcher.observability import logger
        from watcher.settings import settings

        settings.cache_clear()
        clients.reset()
        clock.use(self.clock.epoch)
        logger.setLevel(self.log_level)
        logging.getLogger("moto").setLevel(logging.CRITICAL)
        for handler in logging.getLogger(logger.name).handlers:
            if isinstance(handler, logging.StreamHandler):
                handler.setStream(self.log_stream)

    def client(self, service: str) -> Any:
        """A boto3 client of the in-process AWS (one per service: clients are thread-safe)."""
        with self._lock:
            if service not in self._clients:
                self._clients[service] = boto3.client(service, region_name=REGION)
            return self._clients[service]

    def status(self, execution_arn: str) -> str:
        """The execution's status, read from moto's backend (no API round trip)."""
        return self._backend().describe_execution(execution_arn).status

    def statuses(self) -> dict[str, str]:
        """Every execution's status (execution ARN -> status), read from moto's backend in one
        pass. moto finds one execution by walking its state machine's list of executions:
        asking :meth:`status` of each of 1,000 running executions walked 1,000 lists of 1,000."""
        backend = self._backend()
        return {e.execution_arn: e.status for sm in list(backend.state_machines) for e in list(sm.executions)}

    def _backend(self) -> Any:
        from moto.stepfunctions.parser.models import stepfunctions_parser_backends

        return stepfunctions_parser_backends[ACCOUNT][REGION]

    def _create_resources(self) -> None:
        iam = self.client("iam")
        role = iam.create_role(RoleName="neptune-watch-local", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        self.role_arn = role
        lam = self.client("lambda")
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as zf:
            zf.writestr("index.py", "# the local runtime runs the real handlers in-process\n")
        subs: dict[str, str] = {}
        for name, (module, placeholder) in FUNCTIONS.items():
            arn = lam.create_function(
                FunctionName=name,
                Runtime="python3.12",
                Role=role,
                Handler=f"{module}.handler",
                Code={"ZipFile": buf.getvalue()},
            )["FunctionArn"]
            subs[placeholder] = arn
        sns, sqs, events, ddb = (self.client(s) for s in ("sns", "sqs", "events", "dynamodb"))
        topic = sns.create_topic(Name="neptune-watch-outcomes")["TopicArn"]
        self.sns_queue = sqs.create_queue(QueueName="outcomes-from-sns")["QueueUrl"]
        sns_queue_arn = sqs.get_queue_attributes(QueueUrl=self.sns_queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=sns_queue_arn)
        bus = events.create_event_bus(Name="neptune-watch")["EventBusArn"]
        self.events_queue = sqs.create_queue(QueueName="outcomes-from-eventbridge")["QueueUrl"]
        events_queue_arn = sqs.get_queue_attributes(QueueUrl=self.events_queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events.put_rule(Name="all-outcomes", EventBusName="neptune-watch", EventPattern=json.dumps({"source": [EVENT_SOURCE]}))
        events.put_targets(Rule="all-outcomes", EventBusName="neptune-watch", Targets=[{"Id": "queue", "Arn": events_queue_arn}])
        ddb.create_table(
            TableName="neptune-watch-locks",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        self.unpublished_queue = sqs.create_queue(QueueName="neptune-watch-unpublished")["QueueUrl"]
        subs.update(
            TopicArn=topic,
            EventBusName="neptune-watch",
            EventSource=EVENT_SOURCE,
            LockTableName="neptune-watch-locks",
            UnpublishedQueueUrl=self.unpublished_queue,
        )
        self.substitutions = subs
        self.arns.update(topic=topic, bus=bus)
        self.state_machine_arn = self.create_state_machine(STATE_MACHINE_NAME, self.definition_text, subs)

    def create_state_machine(self, name: str, definition: str, substitutions: dict[str, str] | None = None) -> str:
        text = substitute(definition, substitutions or {})
        try:
            json.loads(text)
        except ValueError as exc:
            raise RuntimeError_(f"the definition of {name} is not valid JSON: {exc}") from exc
        return self.client("stepfunctions").create_state_machine(
            name=name, definition=text, roleArn=self.role_arn, type="STANDARD"
        )["stateMachineArn"]

    # Tear-down ---------------------------------------------------------------------------
    def __exit__(self, *exc: object) -> None:
        self._wait_quiet(2.0)
        self._stop_running()
        self._stop_collector()
        self.clock.close()
        self._uninstall_engine()
        if self._mock is not None:
            self._mock.stop()
            self._mock = None
        self._clients.clear()
        self.emulator.stop()
        from watcher import clients, clock
        from watcher.settings import settings

        clock.use(None)
        clients.reset()
        settings.cache_clear()
        for key, value in self._saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        self._saved_env.clear()

    def _recovery_rule(self, execution: Any) -> None:
        """The deployment's recovery rule (stacks/flow.py): an execution of the watch state
        machine that ends ABORTED or TIMED_OUT starts a recovery execution with
        ``{"neptuneWatchRecover": {"executionArn": ...}}``. moto emits no status-change events,
        so the runtime plays the rule, as the ending execution's last act (virtual time has not
        moved on: on AWS the event arrives seconds later, long before any waiter's timeout)."""
        status = getattr(getattr(execution, "exec_status", None), "value", None)
        if self._closing or status not in names.RECOVERY_STATUSES:
            return
        if getattr(execution, "state_machine_arn", None) != getattr(self, "state_machine_arn", None):
            return
        arn = execution.exec_arn
        started = self.client("stepfunctions").start_execution(
            stateMachineArn=self.state_machine_arn, input=json.dumps({names.RECOVER_KEY: {"executionArn": arn}})
        )["executionArn"]
        with self._lock:
            self.recoveries[arn] = started

    def recovery_of(self, execution_arn: str, timeout: float = 30.0) -> str:
        """The recovery execution the rule started for ``execution_arn`` (which ended ABORTED or
        TIMED_OUT); waits for the rule, which acts just after the status changes."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                found = self.recoveries.get(execution_arn)
            if found is not None:
                return found
            if time.monotonic() > deadline:
                raise RuntimeError_(f"no recovery was started for {execution_arn} within {timeout:.0f} s")
            time.sleep(0.005)

    def _stop_running(self) -> None:
        """Stop what still runs, so nothing of this runtime publishes into the next one."""
        self._closing = True
        if self._mock is None:
            return
        try:
            sfn = self.client("stepfunctions")
            for execution in self.all_executions():
                if execution["status"] == "RUNNING":
                    sfn.stop_execution(executionArn=execution["executionArn"], error="LocalRuntime.Closed")
        except Exception:
            pass

    def _wait_quiet(self, seconds: float) -> None:
        """Give running executions a moment to settle before moto goes away."""
        deadline = time.monotonic() + seconds
        while self.clock.busy > 0 and time.monotonic() < deadline:
            time.sleep(0.01)

    # Lambda ------------------------------------------------------------------------------
    def _dispatch(self, name: str, payload: bytes, response_headers: dict[str, str]) -> bytes:
        handler = self._handlers.get(name)
        if handler is None:
            response_headers["x-amz-function-error"] = "Unhandled"
            return json.dumps({"errorType": "ResourceNotFoundException", "errorMessage": f"no function {name}"}).encode()
        with self._lock:
            self.invocations[name] += 1
            request_id = f"{name}-{self.invocations[name]}"
        try:
            event = json.loads(payload or b"{}")
            result = handler.handler(event, _Context(function_name=name, aws_request_id=request_id))
            body = json.dumps(result, default=str).encode()
        except Exception as exc:
            response_headers["x-amz-function-error"] = "Unhandled"
            return json.dumps(
                {
                    "errorType": type(exc).__name__,
                    "errorMessage": str(exc),
                    "stackTrace": traceback.format_exception(exc)[-5:],
                }
            ).encode()
        if isinstance(result, dict) and isinstance(result.get("watch"), dict) and "job" in result["watch"]:
            w = result["watch"]
            with self._lock:
                self.watches[f"{w['job']['kind']}:{w['job']['id']}"] = w
        if name == "nw-finalize":
            job = ((result.get("outcome") or {}).get("job") if isinstance(result, dict) else None) or {}
            with self._lock:
                self.finalized_at.append(self.clock.now())
                if isinstance(job, dict) and isinstance(job.get("id"), str):
                    self.finalized_by_job[job["id"]] = self.clock.now()
        return body

    # Jobs --------------------------------------------------------------------------------
    def add_job(self, job: JobSpec) -> None:
        self.emulator.add_job(job)

    # Executions --------------------------------------------------------------------------
    @contextlib.contextmanager
    def together(self) -> Iterator[None]:
        """Hold virtual time still while several executions are started, so they start together."""
        self.clock.enter()
        try:
            yield
        finally:
            self.clock.leave()

    def start(self, request: Any, *, state_machine_arn: str | None = None, name: str | None = None) -> str:
        sfn = self.client("stepfunctions")
        kwargs: dict[str, Any] = {
            "stateMachineArn": state_machine_arn or self.state_machine_arn,
            "input": json.dumps(request),
            "name": name or f"watch-{uuid.uuid4()}",
        }
        return sfn.start_execution(**kwargs)["executionArn"]

    def wait(self, execution_arn: str, timeout: float = 120.0) -> dict[str, Any]:
        """Wait (real time) until the execution ends; its DescribeExecution."""
        deadline = time.monotonic() + timeout
        while True:
            if self.status(execution_arn) != "RUNNING":
                return self.client("stepfunctions").describe_execution(executionArn=execution_arn)
            if time.monotonic() > deadline:
                raise RuntimeError_(f"execution {execution_arn} still running after {timeout:.0f} s of real time")
            time.sleep(0.02)

    def executions(self, state_machine_arn: str | None = None) -> list[dict[str, Any]]:
        """Every execution of the state machine (all pages: moto, like AWS, pages at 100)."""
        pages = self.client("stepfunctions").get_paginator("list_executions")
        return [e for page in pages.paginate(stateMachineArn=state_machine_arn or self.state_machine_arn) for e in page["executions"]]

    def history(self, execution_arn: str) -> list[dict[str, Any]]:
        """The execution's history events, read from moto's backend (no API serialisation)."""
        from moto.stepfunctions.parser.models import (
            stepfunctions_parser_backends as stepfunctions_backends,
        )

        backend = stepfunctions_backends[ACCOUNT][REGION]
        return list(backend.get_execution_history(execution_arn)["events"])

    def transitions(self, execution_arns: list[str] | None = None) -> int:
        """State transitions as Step Functions bills them: every state entered, every retry."""
        arns = execution_arns if execution_arns is not None else [e["executionArn"] for e in self.all_executions()]
        total = 0
        for arn in arns:
            types = Counter(e["type"] for e in self.history(arn))
            entered = sum(n for t, n in types.items() if t.endswith("StateEntered"))
            retries = max(0, types["TaskScheduled"] - types["TaskStateEntered"])
            total += entered + retries
        return total

    def all_executions(self) -> list[dict[str, Any]]:
        """Every execution of every state machine of this runtime (all pages)."""
        pages = self.client("stepfunctions").get_paginator("list_state_machines").paginate()
        out: list[dict[str, Any]] = []
        for sm in (sm for page in pages for sm in page["stateMachines"]):
            out.extend(self.executions(sm["stateMachineArn"]))
        return out

    # What was published ------------------------------------------------------------------
    # The capture queues are read as a subscriber would, while the watches run: moto's SQS
    # computes every queue attribute (scanning every message held) on each SendMessage and
    # ReceiveMessage, so a queue left to fill with 1,000 outcomes made each publication slower
    # than the last. Emptied every COLLECT_INTERVAL_SECONDS, a queue holds a few at a time.
    COLLECT_INTERVAL_SECONDS = 0.5

    def _holds_messages(self, queue_url: str) -> bool:
        """Whether moto's queue holds a message (read from the backend: an empty ReceiveMessage
        twice a second per queue cost more than the messages it found)."""
        from moto.sqs.models import sqs_backends

        try:
            return bool(sqs_backends[ACCOUNT][REGION].get_queue(queue_url.rsplit("/", 1)[-1])._messages)
        except Exception:  # a moto without this shape: ask the API instead
            return True

    def _collect(self, queue_url: str) -> None:
        """Move every message of ``queue_url`` into :attr:`_collected` (caller holds the lock)."""
        sqs = self.client("sqs")
        if not self._holds_messages(queue_url):
            self._collected.setdefault(queue_url, [])
            return
        bodies = self._collected.setdefault(queue_url, [])
        while True:
            msgs = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"])
            batch = msgs.get("Messages", [])
            if not batch:
                return
            bodies.extend(json.loads(msg["Body"]) for msg in batch)
            sqs.delete_message_batch(
                QueueUrl=queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": msg["ReceiptHandle"]} for i, msg in enumerate(batch)],
            )

    def _collect_until_stopped(self) -> None:
        while not self._collector_stop.wait(self.COLLECT_INTERVAL_SECONDS):
            with self._collect_lock:
                if self._collector_stop.is_set():
                    return
                for url in (self.sns_queue, self.events_queue):
                    self._collect(url)

    def _stop_collector(self) -> None:
        self._collector_stop.set()
        if self._collector is not None:
            self._collector.join(timeout=10)
            self._collector = None

    def _drain(self, queue_url: str) -> list[dict[str, Any]]:
        """Everything published to ``queue_url`` since the last drain (and taken off it)."""
        with self._collect_lock:
            self._collect(queue_url)
            return self._collected.pop(queue_url, [])

    def sns_messages(self) -> list[dict[str, Any]]:
        out = []
        for envelope in self._drain(self.sns_queue):
            message = envelope.get("Message")
            with contextlib.suppress(TypeError, ValueError):
                message = json.loads(message)
            attributes = {k: v.get("Value") for k, v in (envelope.get("MessageAttributes") or {}).items()}
            out.append({"message": message, "attributes": attributes})
        return out

    def unpublished(self) -> list[dict[str, Any]]:
        """The outcomes kept in the queue of unpublished outcomes (drained)."""
        return self._drain(self.unpublished_queue)

    def events(self) -> list[dict[str, Any]]:
        return [
            {"source": e.get("source"), "detailType": e.get("detail-type"), "detail": e.get("detail")}
            for e in self._drain(self.events_queue)
        ]
