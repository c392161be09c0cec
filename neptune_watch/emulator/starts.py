"""The emulator's start and list calls (StartLoaderJob / ListLoaderJobs, Start/ListImportTasks,
Start/ListExportTasks): bodies checked against the botocore model as the services check them,
jobs created from a scenario's ``"start": true`` entries, and the list answers a retried start
searches for the job it may have started.
"""

from __future__ import annotations

import json
import re
import uuid
from functools import cache
from typing import Any

from neptune_watch.emulator import render
from neptune_watch.emulator.replies import (
    NEPTUNE_GRAPH,
    NEPTUNEDATA,
    Reply,
    json_reply,
    service_error,
)
from neptune_watch.emulator.state import JobState
from neptune_watch.scenario import OPERATION_SERVICE, JobSpec, TimelineEntry

#: What a start call creates when the scenario scripted no ``"start": true`` job of its kind:
#: a job that succeeds a minute later.
DEFAULT_TIMELINES: dict[str, list[tuple[float, str]]] = {
    "loader": [(0, "LOAD_IN_PROGRESS"), (60, "LOAD_COMPLETED")],
    "import": [(0, "IMPORTING"), (60, "SUCCEEDED")],
    "export": [(0, "EXPORTING"), (60, "SUCCEEDED")],
}


class StartRefused(Exception):
    """A start call the service answers with a 4xx (the reply is ready to send)."""

    def __init__(self, reply: Reply) -> None:
        super().__init__(reply.status)
        self.reply = reply


def default_spec(kind: str) -> JobSpec:
    timeline = [TimelineEntry(at=at, status=status) for at, status in DEFAULT_TIMELINES[kind]]
    return JobSpec(kind=kind, start=True, timeline=timeline)  # type: ignore[arg-type]


def new_id(kind: str) -> str:
    """A fresh id of the service's form: a UUID loadId, or ``t-`` and ten [a-z0-9]."""
    return str(uuid.uuid4()) if kind == "loader" else f"t-{uuid.uuid4().hex[:10]}"


@cache
def _input_shape(operation: str) -> Any:
    import botocore.session

    model = botocore.session.get_session().get_service_model(OPERATION_SERVICE[operation])
    return model.operation_model(operation).input_shape


def _type_ok(value: Any, type_name: str, service: str) -> bool:
    if type_name == "string":
        return isinstance(value, str)
    if type_name == "boolean":  # the loader also takes "TRUE" / "FALSE" (its HTTP API documents them)
        return isinstance(value, bool) or (service == NEPTUNEDATA and str(value).upper() in ("TRUE", "FALSE"))
    if type_name in ("integer", "long"):
        return isinstance(value, int) and not isinstance(value, bool)
    if type_name == "list":
        return isinstance(value, list)
    return isinstance(value, dict)  # structure, map


def _refuse(service: str, wire: str, value: Any, constraint: str) -> StartRefused:
    if service == NEPTUNEDATA:
        if value is None:
            return StartRefused(service_error(service, "MissingParameterException", f"Missing required parameter '{wire}'"))
        message = f"Invalid value {json.dumps(value)[:200]} for parameter '{wire}': {constraint}"
        return StartRefused(service_error(service, "InvalidParameterException", message))
    shown = "null" if value is None else json.dumps(value)[:200]
    message = f"1 validation error detected: Value {shown} at '{wire}' failed to satisfy constraint: {constraint}"
    return StartRefused(service_error(service, "ValidationException", message))


def parse_start(operation: str, body: bytes, uri: dict[str, str]) -> dict[str, Any]:
    """The start call's parameters under the model's member names; StartRefused if the service would refuse them."""
    service = OPERATION_SERVICE[operation]
    try:
        data = json.loads(body or b"{}")
    except ValueError:
        data = None
    if not isinstance(data, dict):
        code = "BadRequestException" if service == NEPTUNEDATA else "ValidationException"
        raise StartRefused(service_error(service, code, "The request body is not a JSON object"))
    shape = _input_shape(operation)
    params: dict[str, Any] = {}
    for name, member in shape.members.items():
        wire = member.serialization.get("name", name)
        value = uri.get(wire) if member.serialization.get("location") == "uri" else data.get(wire)
        if value is None:
            if name in shape.required_members:
                raise _refuse(service, wire, None, "Member must not be null")
            continue
        if not _type_ok(value, member.type_name, service):
            raise _refuse(service, wire, value, f"Member must be of type {member.type_name}")
        enum = getattr(member, "enum", None) or []
        if enum and value not in enum:
            raise _refuse(service, wire, value, f"Member must satisfy enum value set: [{', '.join(enum)}]")
        pattern = member.metadata.get("pattern")
        if pattern and isinstance(value, str) and not re.fullmatch(pattern, value):
            raise _refuse(service, wire, value, f"Member must satisfy regular expression pattern: {pattern}")
        params[name] = value
    if operation == "StartLoaderJob" and not str(params["source"]).startswith("s3://"):
        raise _refuse(service, "source", params["source"], "must be an Amazon S3 URI")
    return params


def start_answer(job: JobState, entry: TimelineEntry, clock: render.Clock) -> Reply:
    """The answer of the start call that created ``job``."""
    if job.kind == "loader":
        return json_reply({"status": "200 OK", "payload": {"loadId": job.spec.id}})
    if job.kind == "import":
        task = render.import_task(job, entry, clock)
        fields = ("graphId", "taskId", "source", "format", "parquetType", "roleArn", "status", "importOptions")
    else:
        task = render.export_task(job, entry, clock)
        fields = (*render.CANCEL_EXPORT_FIELDS, "exportFilter")
    return json_reply({k: task[k] for k in fields if k in task}, status=201)


def refuse_concurrent_load(jobs: list[JobState], params: dict[str, Any], now: float) -> None:
    """Without queueRequest the loader refuses a load while another one runs."""
    if str(params.get("queueRequest", False)).upper() == "TRUE":
        return
    for job in jobs:
        entry = job.current(now)
        if job.kind == "loader" and entry is not None and not job.is_terminal(entry.status):
            message = f"Failed to start new load for the source {params['source']}. Max concurrent load limit breached. Limit is 1"
            raise StartRefused(service_error(NEPTUNEDATA, "BadRequestException", message))


def _bad_query(service: str, message: str) -> Reply:
    code = "InvalidParameterException" if service == NEPTUNEDATA else "ValidationException"
    return service_error(service, code, message)


def _bounded(query: dict[str, str], name: str, default: int) -> int | None:
    raw = query.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        return None
    return value if 1 <= value <= 100 else None


def list_tasks(kind: str, jobs: list[JobState], query: dict[str, str], clock: render.Clock) -> Reply:
    """ListImportTasks / ListExportTasks: the task summaries, most recent first, one page."""
    limit = _bounded(query, "maxResults", 100)
    if limit is None:
        return _bad_query(NEPTUNE_GRAPH, "maxResults must be 1 to 100")
    graph = query.get("graphIdentifier")
    summaries = []
    for job in sorted((j for j in jobs if j.kind == kind), key=lambda j: j.started_at, reverse=True):
        entry = job.current(clock.now)
        if entry is None or (graph is not None and job.spec.graphId != graph):
            continue
        if kind == "import":
            task = render.import_task(job, entry, clock)
            fields = ("graphId", "taskId", "source", "format", "parquetType", "roleArn", "status")
        else:
            task = render.export_task(job, entry, clock)
            fields = ("graphId", "roleArn", "taskId", "status", "format", "destination", "kmsKeyIdentifier", "parquetType", "statusReason")
        summaries.append({k: task[k] for k in fields if k in task})
    return json_reply({"tasks": summaries[:limit]})
