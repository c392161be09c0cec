"""Start requests (docs/CONTRACT.md section 4): start the job, then watch it.

A request may carry ``start`` instead of ``job``: ``{"start": {"kind": "loader", ...}}`` where
the other fields are the parameters of StartLoaderJob (``neptunedata``), StartImportTask or
StartExportTask (``neptune-graph``) under the APIs' own names. They are validated against the
installed botocore model of that operation before any call is made (botocore's own
``ParamValidator`` for required members and types, then the model's enums, patterns and
length/size bounds), so what we accept is exactly what the API accepts.

The watch a start request makes carries ``start`` (the validated parameters), ``job`` =
``{"kind": K, "id": None}`` and ``next = "START"``; the kind's start handler makes the one start
call (:func:`start_job`), records ``job.id`` and ``started = {"at": ISO}`` and hands over to the
polls. The lock key of a start request is derived from its canonical parameters, so that an
identical request made while the first is watched joins it instead of starting a second job.

No double start. A start call that timed out (or failed with a 5xx, or whose Lambda died) may
or may not have started the job. Before any *retry* of the start (``$$.State.RetryCount`` > 0),
:func:`find_started` looks for a job that the earlier attempt started: a job with the same
parameters (as far as the service reports them) that started after this watch was prepared.
Found: the watch adopts it (``started.recovered = true``). Not found: starting again is safe.
A recovery execution that takes over the lock of a dead start request's owner looks the same
way, from the dead owner's own start time (``startSince``), before it starts anything.
A match whose start time the service does not report cannot be told apart from an older job:
the watch then ends in ERROR naming it, and does not start a second job.

botocore is imported only when a start request is validated or started: a plain watch request
does not pay for it in ``prepare``.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from dataclasses import dataclass
from functools import cache
from typing import Any

from . import clock
from .errors import ConfigurationError, InvalidRequestError, NeptuneNotFound, WatchError
from .record import finish, new_watch
from .settings import Settings
from .statuses import Outcome

#: Start kind -> (botocore service, operation).
OPERATIONS: dict[str, tuple[str, str]] = {
    "loader": ("neptunedata", "StartLoaderJob"),
    "import": ("neptune-graph", "StartImportTask"),
    "export": ("neptune-graph", "StartExportTask"),
}
#: Members of the operations' inputs we deliberately do not accept.
EXCLUDED: dict[str, frozenset[str]] = {
    "loader": frozenset(),
    "import": frozenset(),
    # Tagging the export task needs neptune-graph:TagResource, which a deployment does not grant.
    "export": frozenset({"tags"}),
}
#: A watch carries its start parameters in every state's payload (256 KB at most).
MAX_START_BYTES = 16_384
#: A job that started this long before the watch was prepared is not ours (clock skew margin).
CLOCK_SKEW_SECONDS = 30
#: How many of the most recent loads / tasks a retried start inspects.
RECENT_LOADS = 20
MAX_LIST_PAGES = 5
# Stand-in ids so that the rest of a start request is validated as a watch request.
_STAND_IN = {"loader": "start-pending", "import": "t-0000000000", "export": "t-0000000000"}


@dataclass(frozen=True)
class StartSpec:
    kind: str
    params: dict[str, Any]

    @property
    def lock_key(self) -> str:
        return lock_key(self.kind, self.params)


def canonical(kind: str, params: dict[str, Any]) -> str:
    """The canonical JSON of a start request (sorted keys, no spaces)."""
    return json.dumps({"kind": kind, **params}, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def lock_key(kind: str, params: dict[str, Any]) -> str:
    """``start#<kind>#<sha256 of the canonical parameters>``: identical requests share one lock."""
    return f"start#{kind}#{hashlib.sha256(canonical(kind, params).encode()).hexdigest()}"


# --- validation -------------------------------------------------------------------------------


@cache
def input_shape(kind: str) -> Any:
    """The botocore input shape of the kind's start operation (model loaded once)."""
    import botocore.session

    service, operation = OPERATIONS[kind]
    return botocore.session.get_session().get_service_model(service).operation_model(operation).input_shape


def accepted_fields(kind: str) -> set[str]:
    """The parameter names a start request of ``kind`` may carry (besides ``kind``)."""
    return set(input_shape(kind).members) - EXCLUDED[kind]


def _constraints(value: Any, shape: Any, where: str, problems: list[str]) -> None:
    """The model's enums, patterns and size bounds (botocore's ParamValidator checks only ``min``)."""
    meta = shape.metadata
    kind = shape.type_name
    if kind == "string" and isinstance(value, str):
        enum = getattr(shape, "enum", None) or []
        if enum and value not in enum:
            problems.append(f"{where}: {value!r} is not one of {', '.join(enum)}")
        if "max" in meta and len(value) > meta["max"]:
            problems.append(f"{where}: at most {meta['max']} characters, got {len(value)}")
        if "pattern" in meta and not re.fullmatch(meta["pattern"], value):
            problems.append(f"{where}: {value!r} does not match {meta['pattern']}")
    elif kind in ("integer", "long") and isinstance(value, int) and not isinstance(value, bool):
        if "max" in meta and value > meta["max"]:
            problems.append(f"{where}: at most {meta['max']}, got {value}")
    elif kind == "structure" and isinstance(value, dict):
        for name, member in shape.members.items():
            if name in value:
                _constraints(value[name], member, f"{where}.{name}", problems)
    elif kind == "list" and isinstance(value, list | tuple):
        if "max" in meta and len(value) > meta["max"]:
            problems.append(f"{where}: at most {meta['max']} entries, got {len(value)}")
        for index, item in enumerate(value):
            _constraints(item, shape.member, f"{where}[{index}]", problems)
    elif kind == "map" and isinstance(value, dict):
        if "max" in meta and len(value) > meta["max"]:
            problems.append(f"{where}: at most {meta['max']} entries, got {len(value)}")
        for key, item in value.items():
            _constraints(key, shape.key, f"{where} key", problems)
            _constraints(item, shape.value, f"{where}.{key}", problems)


_MISSING = re.compile(r'Missing required parameter in (?:input|([\w.\[\]]+)): "(\w+)"')
_TYPE = re.compile(r"Invalid type for parameter ([\w.\[\]]+), value: .*, type: <class '(\w+)'>, valid types: (.*)")
_LENGTH = re.compile(r"Invalid (?:length|range) for parameter ([\w.\[\]]+), value: (.*), valid min (?:length|value): (\d+)")


def _readable(report: str) -> str:
    """botocore's validation report, one clause per problem, each naming ``start.<field>``."""
    out = []
    for line in (part.strip() for part in report.splitlines()):
        if not line:
            continue
        if found := _MISSING.fullmatch(line):
            out.append(f"start.{found.group(1) + '.' if found.group(1) else ''}{found.group(2)}: required")
        elif found := _TYPE.fullmatch(line):
            wanted = ", ".join(re.findall(r"<class '(\w+)'>", found.group(3))) or found.group(3)
            out.append(f"start.{found.group(1)}: must be {wanted}, got {found.group(2)}")
        elif found := _LENGTH.fullmatch(line):
            out.append(f"start.{found.group(1)}: at least {found.group(3)}, got {found.group(2)}")
        else:
            out.append(line)
    return "; ".join(out)


def validate(start: Any, cfg: Settings) -> StartSpec:
    """The start request's kind and API parameters; InvalidRequestError naming each bad field."""
    if not isinstance(start, dict):
        raise InvalidRequestError(f"start must be a JSON object, got {type(start).__name__}")
    kind = start.get("kind")
    if kind not in OPERATIONS:
        raise InvalidRequestError(f"start.kind must be one of {', '.join(OPERATIONS)}, got {kind!r}")
    from botocore.validate import ParamValidator

    operation = OPERATIONS[kind][1]
    params = {k: v for k, v in start.items() if k != "kind"}
    unknown = sorted(set(params) - accepted_fields(kind))
    if unknown:
        names = ", ".join(f"start.{name}" for name in unknown)
        raise InvalidRequestError(
            f"{names}: not a parameter of {operation} that neptune-watch accepts "
            f"(accepted: {', '.join(sorted(accepted_fields(kind)))})"
        )
    shape = input_shape(kind)
    report = ParamValidator().validate(params, shape)
    if report.has_errors():
        raise InvalidRequestError(f"start ({operation}): {_readable(report.generate_report())}")
    problems: list[str] = []
    _constraints(params, shape, "start", problems)
    if kind == "loader" and not params["source"].startswith("s3://"):
        problems.append(f"start.source: {params['source']!r} is not an Amazon S3 URI (s3://bucket/key)")
    if kind == "export" and not params["destination"].startswith("s3://"):
        problems.append(f"start.destination: {params['destination']!r} is not an Amazon S3 URI")
    if problems:
        raise InvalidRequestError(f"start ({operation}): " + "; ".join(problems))
    size = len(canonical(kind, params).encode())
    if size > MAX_START_BYTES:
        raise InvalidRequestError(f"start is {size} bytes; at most {MAX_START_BYTES} are accepted")
    role = params.get("roleArn")
    if role is not None and cfg.check_pass_roles and role not in cfg.pass_role_arns:
        raise InvalidRequestError(
            f"start.roleArn {role} is not a role this deployment may pass to Neptune Analytics "
            "(analytics.passRoleArns in cdk.json)"
        )
    graph = params.get("graphIdentifier")
    if graph is not None and not cfg.graph_allowed(graph):
        raise InvalidRequestError(f"start.graphIdentifier {graph} is not a graph this deployment may use")
    return StartSpec(kind=kind, params=params)


def start_watch(event: dict[str, Any], *, execution_id: str | None, cfg: Settings, request: dict[str, Any]) -> dict[str, Any]:
    """The watch of a start request: the watch request's options, plus what to start, under the
    lock of its canonical parameters (an identical request joins it instead of starting again)."""
    if "job" in request:
        raise InvalidRequestError("a request carries either job or start, not both")
    spec = validate(request["start"], cfg)
    rest = {k: v for k, v in request.items() if k != "start"}
    rest["job"] = {"kind": spec.kind, "id": _STAND_IN[spec.kind]}
    w = new_watch(event, execution_id=execution_id, cfg=cfg, request=rest)
    if not w["fn"].get("start"):
        raise ConfigurationError(f"no start function is configured for {spec.kind} jobs")
    w["job"]["id"] = None
    w["start"] = spec.params
    w["lock"]["key"] = spec.lock_key
    w["next"] = "START"
    return w


# --- the start call ---------------------------------------------------------------------------


def call_start(kind: str, params: dict[str, Any]) -> str:
    """Exactly one start call; the id the service assigned."""
    from . import neptune

    if kind == "loader":
        payload = neptune.start_loader_job(**params).get("payload") or {}
        job_id = payload.get("loadId")
    elif kind == "import":
        job_id = neptune.start_import_task(**params).get("taskId")
    else:
        job_id = neptune.start_export_task(**params).get("taskId")
    if not isinstance(job_id, str) or not job_id:
        raise WatchError(f"the {OPERATIONS[kind][1]} answer carries no job id", code="NoJobId")
    return job_id


def start_job(watch: dict[str, Any], *, retry_count: int = 0) -> dict[str, Any]:
    """Start the watch's job (or adopt the one an earlier attempt started); the watch advanced."""
    w = copy.deepcopy(watch)
    kind, params = w["job"]["kind"], w.get("start")
    if w["job"].get("id"):  # already started (a replayed event): go on watching it
        w["next"], w["waitSeconds"] = "POLL", 0
        return w
    if not isinstance(params, dict):
        raise ConfigurationError("a watch in START carries no start parameters")
    # An earlier attempt may have started it (a retry, or the dead owner a recovery stands in
    # for, from its own start on): look for the job first.
    if retry_count > 0 or w.get("startSince") is not None:
        since = float(w.get("startSince") or w["startedEpoch"])
        found = find_started(kind, params, since=since - CLOCK_SKEW_SECONDS)
        if found.ambiguous:
            return finish(w, Outcome.ERROR, found.reason)
        if found.job_id:
            w["job"]["id"] = found.job_id
            w["started"] = {"at": found.started_at or clock.iso(), "recovered": True}
            w["next"], w["waitSeconds"] = "POLL", 0
            return w
    now = clock.epoch()
    try:
        job_id = call_start(kind, params)
    except WatchError as err:
        if err.retryable or err.http_status is None or not 400 <= err.http_status < 500:
            raise  # throttling, 5xx, timeouts: the state machine retries them (after find_started)
        # The service refused to start it (a 4xx): FAILED, status null, the service's error as reason.
        w["startError"] = {"code": err.code, "httpStatus": err.http_status}
        return finish(w, Outcome.FAILED, f"{OPERATIONS[kind][1]} refused: {err.code}: {err.message}")
    w["job"]["id"] = job_id
    w["started"] = {"at": clock.iso(now)}
    w["next"], w["waitSeconds"] = "POLL", 0
    return w


# --- no double start --------------------------------------------------------------------------


@dataclass(frozen=True)
class Found:
    job_id: str | None = None
    started_at: str | None = None
    ambiguous: bool = False
    reason: str | None = None


def _epoch(value: Any) -> float | None:
    """Epoch seconds of a service time (epoch number or ISO string), or None."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value) / 1000 if value > 1e11 else float(value)
    if isinstance(value, str) and value:
        from datetime import datetime

        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
        except ValueError:
            return None
    return None


def _decide(kind: str, candidates: list[tuple[str, float | None]], since: float) -> Found:
    """Adopt the newest candidate started after ``since``; refuse to guess about undated ones."""
    recent = sorted(((at, job_id) for job_id, at in candidates if at is not None and at >= since), reverse=True)
    if recent:
        at, job_id = recent[0]
        return Found(job_id=job_id, started_at=clock.iso(at))
    undated = [job_id for job_id, at in candidates if at is None]
    if undated:
        return Found(
            ambiguous=True,
            reason=(
                f"a previous attempt to start this {kind} job may have started it, and {kind} job(s) "
                f"{', '.join(undated)} with the same parameters exist whose start time the service does "
                "not report: neptune-watch cannot tell whether one of them is the job it started, so it "
                "does not start another; watch it with a watch request if it is yours"
            ),
        )
    return Found()


def find_started(kind: str, params: dict[str, Any], *, since: float) -> Found:
    """The job an earlier attempt of this start request started, if the service shows one."""
    if kind == "loader":
        return _decide(kind, _loader_candidates(params), since)
    return _decide(kind, _task_candidates(kind, params), since)


def _loader_candidates(params: dict[str, Any]) -> list[tuple[str, float | None]]:
    """Recent loads whose status payload names our source (``overallStatus.fullUri``).

    The loader's status reports the source and the start time of a load, not its format or
    role: the source and the time are what can be matched.
    """
    from . import neptune

    listed = neptune.list_loader_jobs(limit=100, includeQueuedLoads=True)
    ids = [i for i in ((listed.get("payload") or {}).get("loadIds") or []) if isinstance(i, str)]
    out: list[tuple[str, float | None]] = []
    for load_id in ids[:RECENT_LOADS]:
        try:
            status = neptune.get_loader_job_status(loadId=load_id)
        except NeptuneNotFound:
            continue
        overall = (status.get("payload") or {}).get("overallStatus") or {}
        if overall.get("fullUri") == params["source"]:
            out.append((load_id, _epoch(overall.get("startTime"))))
    return out


_TASK_MATCH = {
    "import": ("source", "roleArn", "format"),
    "export": ("destination", "roleArn", "format", "kmsKeyIdentifier"),
}


def _task_candidates(kind: str, params: dict[str, Any]) -> list[tuple[str, float | None]]:
    """Tasks of the graph with the same source/destination, role and format, with their start time."""
    from . import neptune

    lister = neptune.list_import_tasks if kind == "import" else neptune.list_export_tasks
    getter = neptune.get_import_task if kind == "import" else neptune.get_export_task
    graph = params["graphIdentifier"]
    keys = [k for k in _TASK_MATCH[kind] if k in params]
    matches: list[str] = []
    token: str | None = None
    for _ in range(MAX_LIST_PAGES):
        page = lister(graphIdentifier=graph, maxResults=100, **({"nextToken": token} if token else {}))
        for task in page.get("tasks") or []:
            if task.get("graphId") in (None, graph) and all(task.get(k) == params[k] for k in keys) and task.get("taskId"):
                matches.append(str(task["taskId"]))
        token = page.get("nextToken")
        if not token:
            break
    out: list[tuple[str, float | None]] = []
    for task_id in matches[:RECENT_LOADS]:
        try:
            task = getter(task_id)
        except NeptuneNotFound:
            continue
        details = task.get("importTaskDetails" if kind == "import" else "exportTaskDetails") or {}
        out.append((task_id, _epoch(details.get("startTime"))))
    return out
