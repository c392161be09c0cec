"""A loopback HTTP server that answers like the Neptune bulk loader and Neptune Analytics.

The routes, query names, output members and error shapes are those of the botocore models
(``neptunedata`` and ``neptune-graph``), so a real botocore client pointed at
:attr:`NeptuneEmulator.url` with ``endpoint_url`` parses every answer as it would the service's.
"""

from __future__ import annotations

import collections
import contextlib
import re
import select
import socket
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from socketserver import TCPServer
from typing import Any, NamedTuple
from urllib.parse import parse_qs, unquote, urlsplit

from neptune_watch.emulator import render, starts
from neptune_watch.emulator.replies import (
    HOLD,
    NEPTUNE_GRAPH,
    NEPTUNEDATA,
    Reply,
    json_reply,
    service_error,
    unknown_operation,
)
from neptune_watch.emulator.state import JobState
from neptune_watch.scenario import (
    OPERATION_SERVICE,
    TIMEOUT_FAULT,
    FaultSpec,
    JobSpec,
    Scenario,
    TimelineEntry,
)

__all__ = ["UNROUTED", "NeptuneEmulator", "RecordedRequest"]

#: ``RecordedRequest.operation`` of a request that matched no emulated operation.
UNROUTED = "Unrouted"

_MAX_DRAINED_BODY = 1 << 20
_SERVE_POLL_SECONDS = 0.05


class RecordedRequest(NamedTuple):
    """One request the emulator received, in arrival order."""

    operation: str
    method: str
    path: str
    query: dict[str, str]
    at: float
    """Virtual time (seconds since the start of the watch) at arrival."""


@dataclass(frozen=True)
class _Route:
    operation: str
    kind: str
    resource_id: str

    @property
    def service(self) -> str:
        return OPERATION_SERVICE[self.operation]


class _BadParameter(Exception):
    """A query parameter the service would refuse (400 InvalidParameterException)."""


_TASK_ID = re.compile(r"t-[a-z0-9]{10}")
_RESOURCE_PATH = re.compile(r"^/(loader|importtasks|exporttasks)/([^/]+)$")
_KINDS = {"loader": "loader", "importtasks": "import", "exporttasks": "export"}
_OPERATIONS = {
    ("loader", "GET"): "GetLoaderJobStatus",
    ("loader", "DELETE"): "CancelLoaderJob",
    ("import", "GET"): "GetImportTask",
    ("import", "DELETE"): "CancelImportTask",
    ("export", "GET"): "GetExportTask",
    ("export", "DELETE"): "CancelExportTask",
}
_NOUNS = {"loader": "load", "import": "import task", "export": "export task"}


# Start and list calls: collection routes of the botocore models.
_COLLECTIONS = {
    ("POST", "/loader"): ("StartLoaderJob", "loader"),
    ("GET", "/importtasks"): ("ListImportTasks", "import"),
    ("POST", "/exporttasks"): ("StartExportTask", "export"),
    ("GET", "/exporttasks"): ("ListExportTasks", "export"),
}
_START_IMPORT_PATH = re.compile(r"^/graphs/([^/]+)/importtasks$")


def _match_route(method: str, path: str, query: dict[str, str] | None = None) -> _Route | None:
    if path.rstrip("/") == "/loader" and method in ("GET", "DELETE"):
        # The loader's query forms: GET|DELETE /loader?loadId=..., and GET /loader lists load ids.
        load_id = (query or {}).get("loadId")
        if load_id:
            return _Route(operation=_OPERATIONS[("loader", method)], kind="loader", resource_id=load_id)
        if method == "GET":
            return _Route(operation="ListLoaderJobs", kind="loader", resource_id="")
        return None
    if (method, path) in _COLLECTIONS:
        operation, kind = _COLLECTIONS[(method, path)]
        return _Route(operation=operation, kind=kind, resource_id="")
    start_import = _START_IMPORT_PATH.match(path)
    if start_import is not None and method == "POST":
        return _Route(operation="StartImportTask", kind="import", resource_id=unquote(start_import.group(1)))
    found = _RESOURCE_PATH.match(path)
    if found is None:
        return None
    kind = _KINDS[found.group(1)]
    operation = _OPERATIONS.get((kind, method))
    if operation is None:
        return None
    return _Route(operation=operation, kind=kind, resource_id=unquote(found.group(2)))


def _unrouted_reply(method: str, path: str) -> Reply:
    """A request no emulated operation answers: 400 under a known prefix, else 404."""
    message = f"neptune-watch emulator does not implement {method} {path}"
    if path == "/loader" or path.startswith("/loader/"):
        return service_error(NEPTUNEDATA, "UnsupportedOperationException", message)
    if path.lstrip("/").split("/")[0] in ("importtasks", "exporttasks", "graphs"):
        return service_error(NEPTUNE_GRAPH, "ValidationException", message)
    return unknown_operation(method, path)


def _peer_closed(connection: socket.socket) -> bool:
    """Whether the client closed its end (readable with nothing to read, or reset)."""
    try:
        readable, _, _ = select.select([connection], [], [], 0)
        return bool(readable) and connection.recv(1, socket.MSG_PEEK) == b""
    except (OSError, ValueError):
        return True


def _parse_query(query: str) -> dict[str, str]:
    return {name: values[-1] for name, values in parse_qs(query, keep_blank_values=True).items()}


def _flag(query: dict[str, str], name: str) -> bool:
    value = query.get(name)
    if value is None:
        return False
    if value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise _BadParameter(f"{name} must be true or false, not {value!r}")


def _positive_int(query: dict[str, str], name: str, default: int) -> int:
    value = query.get(name)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise _BadParameter(f"{name} must be an integer >= 1, not {value!r}")
    return number


class NeptuneEmulator:
    """Plays scenario jobs and faults behind a loopback HTTP endpoint.

    ``clock()`` gives the virtual seconds since the start of the watch (default: real seconds
    since :meth:`start`); ``epoch`` is the unix time of virtual 0, used for ``startTime``.
    """

    def __init__(
        self,
        jobs: Iterable[JobSpec] = (),
        faults: Iterable[FaultSpec] = (),
        clock: Callable[[], float] | None = None,
        timeout_hold_seconds: float = 60.0,
        epoch: float | None = None,
        *,
        port: int = 0,
    ) -> None:
        self.calls: collections.Counter[str] = collections.Counter()
        self.requests: list[RecordedRequest] = []
        self.timeout_hold_seconds = timeout_hold_seconds
        #: Timeout-faulted requests being held right now.
        self.held = 0
        #: TCP connections accepted so far (a client that keeps its connections alive makes
        #: one per connection of its pool, not one per request).
        self.connections = 0
        self.epoch = time.time() if epoch is None else epoch
        self._clock = clock or self._real_clock
        self._faults = list(faults)
        self._jobs: dict[tuple[str, str], JobState] = {}
        self._to_start: list[JobSpec] = []  # "start": true jobs, created by the start calls
        self._lock = threading.Lock()
        self._port = port
        self._started_at: float | None = None
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        for job in jobs:
            self.add_job(job)

    @classmethod
    def from_scenario(cls, scenario: Scenario, **kw: Any) -> NeptuneEmulator:
        """An emulator knowing the scenario's jobs and injecting its faults."""
        return cls(jobs=scenario.all_jobs(), faults=scenario.faults, **kw)

    # --- lifecycle ------------------------------------------------------------------------

    def start(self) -> str:
        """Serve on 127.0.0.1 from a daemon thread; returns the base URL. Idempotent."""
        if self._server is not None:
            return self.url
        self._stopping.clear()
        self._server = _Server(("127.0.0.1", self._port), self)
        if self._started_at is None:  # a restart does not rewind the default clock
            self._started_at = time.monotonic()
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": _SERVE_POLL_SECONDS},
            name=f"neptune-emulator-{self._server.server_port}",
            daemon=True,
        )
        self._thread.start()
        return self.url

    def stop(self) -> None:
        """Stop serving and release held (Timeout) requests. Idempotent."""
        server, thread = self._server, self._thread
        if server is None:
            return
        self._stopping.set()
        server.shutdown()
        server.server_close()
        server.close_open_connections()
        if thread is not None:
            thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> NeptuneEmulator:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:54321`` (only once started)."""
        if self._server is None:
            raise RuntimeError("the emulator is not started")
        return f"http://127.0.0.1:{self._server.server_port}"

    # --- jobs -----------------------------------------------------------------------------

    def add_job(self, job: JobSpec) -> None:
        """Make the service know one more job (ids are unique per kind)."""
        if job.start:
            with self._lock:
                self._to_start.append(job)
            return
        key = (job.kind, job.id)
        with self._lock:
            if key in self._jobs:
                raise ValueError(f"the emulator already has a {job.kind} job {job.id!r}")
            self._jobs[key] = JobState.from_spec(job)

    def job_state(self, kind: str, id: str) -> dict[str, Any] | None:
        """A summary of a job at the current virtual time (None if the emulator has no such job).

        ``status`` is None while the job is not visible yet (its first ``at`` is ahead).
        """
        now = self._clock()
        with self._lock:
            job = self._jobs.get((kind, id))
            return job.describe(now) if job is not None else None

    # --- request handling -----------------------------------------------------------------

    def handle(self, method: str, target: str, body: bytes = b"") -> Reply:
        """Answer one HTTP request (``target`` is the path with its query string)."""
        now = self._clock()
        split = urlsplit(target)
        query = _parse_query(split.query)
        route = _match_route(method, split.path, query)
        with self._lock:
            operation = route.operation if route else UNROUTED
            self.requests.append(RecordedRequest(operation, method, split.path, query, now))
            if route is None:
                return _unrouted_reply(method, split.path)
            self.calls[operation] += 1
            fault = self._fault_for(operation, self.calls[operation])
            if fault is not None:
                if fault.error == TIMEOUT_FAULT and route.operation.startswith("Start"):
                    # The start went through, but its answer is lost: did it start? (it did)
                    self._answer(route, query, render.Clock(now, self.epoch), body)
                return self._fault_reply(fault, self.calls[operation])
            return self._answer(route, query, render.Clock(now, self.epoch), body)

    def crash_reply(self, method: str, target: str) -> Reply:
        """What to answer when answering failed unexpectedly: a 500 of the right service."""
        split = urlsplit(target)
        route = _match_route(method, split.path, _parse_query(split.query))
        message = "neptune-watch emulator: unexpected error while answering"
        if route is not None and route.service == NEPTUNE_GRAPH:
            return service_error(NEPTUNE_GRAPH, "InternalServerException", message)
        return service_error(NEPTUNEDATA, "InternalFailureException", message)

    def hold(self, connection: socket.socket | None = None) -> None:
        """Answer a Timeout-faulted request with silence: keep the connection open until the
        client gives up (it closes the connection at its read timeout), the emulator stops, or
        ``timeout_hold_seconds`` pass (a bound, so that nothing can hang on it)."""
        deadline = time.monotonic() + self.timeout_hold_seconds
        with self._lock:
            self.held += 1
        try:
            while not self._stopping.is_set():
                left = deadline - time.monotonic()
                if left <= 0 or (connection is not None and _peer_closed(connection)):
                    return
                self._stopping.wait(min(left, _SERVE_POLL_SECONDS))
        finally:
            with self._lock:
                self.held -= 1

    def _real_clock(self) -> float:
        return 0.0 if self._started_at is None else time.monotonic() - self._started_at

    def _fault_for(self, operation: str, call: int) -> FaultSpec | None:
        for fault in self._faults:
            if fault.operation == operation and call in fault.calls:
                return fault
        return None

    @staticmethod
    def _fault_reply(fault: FaultSpec, call: int) -> Reply:
        if fault.error == TIMEOUT_FAULT:
            return HOLD
        message = f"injected fault: {fault.error} on call {call} of {fault.operation}"
        return service_error(OPERATION_SERVICE[fault.operation], fault.error, message)

    def _answer(self, route: _Route, query: dict[str, str], clock: render.Clock, body: bytes = b"") -> Reply:
        if route.operation.startswith("Start"):
            return self._start(route, clock, body)
        if route.operation in ("ListImportTasks", "ListExportTasks"):
            return starts.list_tasks(route.kind, list(self._jobs.values()), query, clock)
        if route.kind != "loader" and not _TASK_ID.fullmatch(route.resource_id):
            # The service checks botocore's model pattern for taskIdentifier (t-[a-z0-9]{10}).
            message = f"1 validation error detected: Value '{route.resource_id}' at 'taskIdentifier' failed to satisfy constraint: Member must satisfy regular expression pattern: t-[a-z0-9]{{10}}"
            return service_error(NEPTUNE_GRAPH, "ValidationException", message)
        if route.operation == "ListLoaderJobs":
            return self._list_loads(query, clock)
        if route.operation == "GetLoaderJobStatus":
            return self._get_load(route, query, clock)
        if route.operation == "CancelLoaderJob":
            return self._cancel_load(route, clock)
        if route.operation.startswith("Get"):
            return self._get_task(route, clock)
        return self._cancel_task(route, clock)

    def _start(self, route: _Route, clock: render.Clock, body: bytes) -> Reply:
        """A start call: the first scripted ``"start": true`` job of the kind begins now."""
        try:
            params = starts.parse_start(route.operation, body, {"graphIdentifier": route.resource_id})
            if route.kind == "loader":
                starts.refuse_concurrent_load(list(self._jobs.values()), params, clock.now)
        except starts.StartRefused as refused:
            return refused.reply
        index = next((i for i, spec in enumerate(self._to_start) if spec.kind == route.kind), None)
        spec = self._to_start.pop(index) if index is not None else starts.default_spec(route.kind)
        if "graphIdentifier" in params:
            spec = spec.model_copy(update={"graphId": params["graphIdentifier"]})
        job = JobState.started(spec, starts.new_id(route.kind), clock.now, params)
        self._jobs[(job.kind, job.spec.id)] = job
        entry = job.current(clock.now)
        if entry is None:  # the timeline starts later: report its first status from now on
            entry = job.entries[0]
        return starts.start_answer(job, entry, clock)

    def started_jobs(self) -> list[dict[str, Any]]:
        """The jobs start calls created, in order (kind, id, parameters)."""
        with self._lock:
            return [{"kind": j.kind, "id": j.spec.id, "params": dict(j.params)} for j in self._jobs.values() if j.spec.start]

    def _visible(self, route: _Route, now: float) -> tuple[JobState, TimelineEntry] | None:
        job = self._jobs.get((route.kind, route.resource_id))
        entry = job.current(now) if job is not None else None
        return (job, entry) if job is not None and entry is not None else None

    def _get_load(self, route: _Route, query: dict[str, str], clock: render.Clock) -> Reply:
        try:
            details, with_errors = _flag(query, "details"), _flag(query, "errors")
            page = _positive_int(query, "page", 1)
            per_page = _positive_int(query, "errorsPerPage", 10)
        except _BadParameter as exc:
            return service_error(NEPTUNEDATA, "InvalidParameterException", str(exc))
        found = self._visible(route, clock.now)
        if found is None:
            message = f"The load with id {route.resource_id} does not exist"
            return service_error(NEPTUNEDATA, "BulkLoadIdNotFoundException", message)
        job, entry = found
        if entry.raw is not None:
            return json_reply(entry.raw)
        errors_page = (page, per_page) if with_errors else None
        payload = render.loader_payload(job, entry, clock, details=details, errors_page=errors_page)
        return json_reply({"status": "200 OK", "payload": payload})

    def _list_loads(self, query: dict[str, str], clock: render.Clock) -> Reply:
        """GET /loader: load ids, queued ones first (most recently queued first), then the rest."""
        try:
            limit = _positive_int(query, "limit", 100)
            if limit > 100:
                raise _BadParameter(f"limit must be between 1 and 100, not {limit}")
            include_queued = _flag(query, "includeQueuedLoads") if "includeQueuedLoads" in query else True
        except _BadParameter as exc:
            return service_error(NEPTUNEDATA, "InvalidParameterException", str(exc))
        queued: list[tuple[float, str]] = []
        others: list[tuple[float, str]] = []
        for (kind, load_id), job in self._jobs.items():
            entry = job.current(clock.now) if kind == "loader" else None
            if entry is None:
                continue
            if entry.status == "LOAD_IN_QUEUE":
                if include_queued:
                    queued.append((job.started_at, load_id))
            else:
                others.append((job.started_at, load_id))
        ordered = [i for _, i in sorted(queued, reverse=True)] + [i for _, i in sorted(others, reverse=True)]
        return json_reply({"status": "200 OK", "payload": {"loadIds": ordered[:limit]}})

    def _cancel_load(self, route: _Route, clock: render.Clock) -> Reply:
        found = self._visible(route, clock.now)
        if found is None or found[0].cancel(clock.now) is None:
            message = f"The load with id {route.resource_id} does not exist or is not active"
            return service_error(NEPTUNEDATA, "BulkLoadIdNotFoundException", message)
        return json_reply({"status": "200 OK"})

    def _get_task(self, route: _Route, clock: render.Clock) -> Reply:
        found = self._visible(route, clock.now)
        if found is None:
            return self._task_not_found(route)
        job, entry = found
        if entry.raw is not None:
            return json_reply(entry.raw)
        return json_reply(self._render_task(job, entry, clock))

    def _cancel_task(self, route: _Route, clock: render.Clock) -> Reply:
        found = self._visible(route, clock.now)
        if found is None:
            return self._task_not_found(route)
        job, current = found
        entry = job.cancel(clock.now)
        if entry is None:
            noun = _NOUNS[route.kind].capitalize()
            message = f"{noun} {route.resource_id} cannot be cancelled: it is {current.status}"
            return service_error(NEPTUNE_GRAPH, "ConflictException", message)
        fields = (
            render.CANCEL_IMPORT_FIELDS if job.kind == "import" else render.CANCEL_EXPORT_FIELDS
        )
        return json_reply(render.cancel_output(self._render_task(job, entry, clock), fields))

    @staticmethod
    def _render_task(job: JobState, entry: TimelineEntry, clock: render.Clock) -> dict[str, Any]:
        if job.kind == "import":
            return render.import_task(job, entry, clock)
        return render.export_task(job, entry, clock)

    @staticmethod
    def _task_not_found(route: _Route) -> Reply:
        message = f"{_NOUNS[route.kind].capitalize()} {route.resource_id} not found"
        return service_error(NEPTUNE_GRAPH, "ResourceNotFoundException", message)


class _Server(ThreadingHTTPServer):
    """The HTTP server; silent, and never resolves its own host name."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], emulator: NeptuneEmulator) -> None:
        self.emulator = emulator
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            self._open.add(request)
        with self.emulator._lock:
            self.emulator.connections += 1
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def close_open_connections(self) -> None:
        """End every kept-alive connection (its thread is waiting for a next request)."""
        with self._open_lock:
            sockets = list(self._open)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def server_bind(self) -> None:
        TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A broken connection must not print a traceback."""


class _Handler(BaseHTTPRequestHandler):
    """Hands every request to the emulator and writes its reply; a connection stays open for
    the next request (HTTP/1.1 keep-alive) until the client closes it, asks for ``Connection:
    close``, a Timeout fault drops it, or the emulator stops."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # answers go out at once (TCP_NODELAY), as botocore's requests do
    server: _Server

    def do_GET(self) -> None:
        self._serve()

    do_DELETE = do_POST = do_PUT = do_PATCH = do_HEAD = do_OPTIONS = do_GET

    def log_message(self, format: str, *args: Any) -> None:
        """No per-request logging."""

    def _serve(self) -> None:
        body = self._drain_body()
        emulator = self.server.emulator
        try:
            reply = emulator.handle(self.command, self.path, body)
        except Exception:
            reply = emulator.crash_reply(self.command, self.path)
        if reply.hold:
            # Silence, then the connection is dropped: nothing more is read from it or written.
            self.close_connection = True
            emulator.hold(self.connection)
            return
        self._write(reply)

    def _drain_body(self) -> bytes:
        """The request's body. Where the end of the body is not known for sure (no valid
        Content-Length, a chunked body, a body longer than the drain bound) the connection
        is closed after the answer: what is left could not be told from a next request."""
        if self.headers.get("Transfer-Encoding"):
            self.close_connection = True
            return b""
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            self.close_connection = True
            return b""
        if length < 0 or length > _MAX_DRAINED_BODY:
            self.close_connection = True
        if length > 0:
            return self.rfile.read(min(length, _MAX_DRAINED_BODY))
        return b""

    def _write(self, reply: Reply) -> None:
        try:
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            # Every answer says how long it is (HEAD's too: the length of the body a GET would
            # get), so the connection stays open for the client's next request (HTTP/1.1).
            self.send_header("Content-Length", str(len(reply.body)))
            if self.close_connection:  # the request asked for it, or its body was not drained
                self.send_header("Connection", "close")
            # Head and body leave in one write: on a kept-alive connection, a second small
            # write would wait for the client's delayed ACK of the first (Nagle).
            self._headers_buffer.append(b"\r\n")
            if self.command != "HEAD":
                self._headers_buffer.append(reply.body)
            self.flush_headers()
        except OSError:
            pass  # the client went away
