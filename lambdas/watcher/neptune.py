"""The Neptune calls neptune-watch makes. Each function is exactly one HTTP request.

Every failure comes out as a named :class:`~watcher.errors.WatchError`.
"""

from __future__ import annotations

from typing import Any

from . import clients
from .errors import translate
from .normalize import jsonable


def _call(service: str, client_fn: Any, operation: str, **params: Any) -> dict[str, Any]:
    client = client_fn()
    try:
        response = getattr(client, operation)(**params)
    except Exception as exc:
        raise translate(service, exc) from exc
    return jsonable(response)


def get_loader_job_status(**params: Any) -> dict[str, Any]:
    return _call("neptunedata", clients.loader_client, "get_loader_job_status", **params)


def cancel_loader_job(load_id: str) -> dict[str, Any]:
    return _call("neptunedata", clients.loader_client, "cancel_loader_job", loadId=load_id)


def get_import_task(task_id: str) -> dict[str, Any]:
    return _call("neptune-graph", clients.graph_client, "get_import_task", taskIdentifier=task_id)


def cancel_import_task(task_id: str) -> dict[str, Any]:
    return _call("neptune-graph", clients.graph_client, "cancel_import_task", taskIdentifier=task_id)


def get_export_task(task_id: str) -> dict[str, Any]:
    return _call("neptune-graph", clients.graph_client, "get_export_task", taskIdentifier=task_id)


def cancel_export_task(task_id: str) -> dict[str, Any]:
    return _call("neptune-graph", clients.graph_client, "cancel_export_task", taskIdentifier=task_id)


# --- start requests: the three start calls and the list calls that keep a
# retried start from starting a second job (watcher/start.py) ---------------------------------


def start_loader_job(**params: Any) -> dict[str, Any]:
    return _call("neptunedata", clients.loader_client, "start_loader_job", **params)


def list_loader_jobs(**params: Any) -> dict[str, Any]:
    return _call("neptunedata", clients.loader_client, "list_loader_jobs", **params)


def start_import_task(**params: Any) -> dict[str, Any]:
    return _call("neptune-graph", clients.graph_client, "start_import_task", **params)


def list_import_tasks(**params: Any) -> dict[str, Any]:
    return _call("neptune-graph", clients.graph_client, "list_import_tasks", **params)


def start_export_task(**params: Any) -> dict[str, Any]:
    return _call("neptune-graph", clients.graph_client, "start_export_task", **params)


def list_export_tasks(**params: Any) -> dict[str, Any]:
    return _call("neptune-graph", clients.graph_client, "list_export_tasks", **params)
