"""Every handler against the local Neptune emulator over real HTTP (real botocore clients)."""

from __future__ import annotations

import botocore.session
import pytest
from watcher import errors as E
from watcher.errors import InvalidRequestError, NeptuneNotFound, NeptuneThrottled
from watcher.handlers import (
    export_cancel,
    export_status,
    import_cancel,
    import_status,
    loader_cancel,
    loader_status,
)
from watcher.statuses import EXPORT, IMPORT, LOADER, Phase

LOAD = "4f1c2e0a-1111-4000-8000-000000000001"
IMP = "t-abcdefghij"
EXP = "t-0123456789"

STATUS_HANDLERS = {"loader": loader_status, "import": import_status, "export": export_status}
TABLES = {"loader": LOADER, "import": IMPORT, "export": EXPORT}


def job(kind: str, jid: str, status: str, **entry: object) -> dict:
    return {"kind": kind, "id": jid, "timeline": [{"at": 0, "status": status, **entry}]}


def direct(kind: str, jid: str) -> dict:
    return {"loadId": jid} if kind == "loader" else {"taskIdentifier": jid}


ALL_STATUSES = [(kind, status) for kind, table in TABLES.items() for status in table]


@pytest.mark.parametrize(("kind", "status"), ALL_STATUSES)
def test_every_status_of_every_kind_is_normalised(neptune, lambda_context, kind, status):
    jid = {"loader": LOAD, "import": IMP, "export": EXP}[kind]
    neptune.start(jobs=[job(kind, jid, status)])
    result = STATUS_HANDLERS[kind].handler(direct(kind, jid), lambda_context)
    view = result["job"]
    phase, outcome = TABLES[kind][status]
    assert view["status"] == status
    assert view["phase"] == phase.value
    assert view["outcome"] == (outcome.value if outcome else None)
    assert view["known"] is True
    assert result["payload"]  # the service's own answer comes back too


def test_unknown_status_is_running_but_flagged(neptune, lambda_context):
    neptune.start(jobs=[job("loader", LOAD, "LOAD_SOMETHING_NEW")])
    view = loader_status.handler({"loadId": LOAD}, lambda_context)["job"]
    assert view["phase"] == Phase.RUNNING.value
    assert view["known"] is False and view["outcome"] is None


def test_loader_errors_pages_and_details(neptune, lambda_context):
    errs = [{"code": "PARSING_ERROR", "message": f"row {i}", "file": "s3://b/f.csv", "record": i} for i in range(1, 26)]
    neptune.start(jobs=[job("loader", LOAD, "LOAD_FAILED", errors=errs, counters={"parsingErrors": 25})])
    out = loader_status.handler({"loadId": LOAD, "errors": True, "page": 2, "errorsPerPage": 10}, lambda_context)
    assert [e["record"] for e in out["job"]["errors"]] == list(range(11, 21))
    assert out["job"]["counters"]["parsingErrors"] == 25
    assert neptune.emulator.requests[-1].query == {"errors": "true", "page": "2", "errorsPerPage": "10"}
    detailed = loader_status.handler({"loadId": LOAD, "details": True}, lambda_context)
    assert "feedCount" in detailed["payload"]


def test_partial_payloads_are_normalised_without_key_errors(neptune, lambda_context):
    neptune.start(
        jobs=[
            job("loader", LOAD, "LOAD_IN_QUEUE", raw={"status": "200 OK", "payload": {"overallStatus": {"status": "LOAD_IN_QUEUE"}}}),
            job("import", IMP, "IMPORTING", raw={"taskId": IMP, "status": "IMPORTING", "source": "s3://x", "roleArn": "arn:aws:iam::1:role/r"}),
            job("export", EXP, "EXPORTING", raw={"status": "EXPORTING"}),
        ]
    )
    loader = loader_status.handler({"loadId": LOAD}, lambda_context)["job"]
    assert loader["status"] == "LOAD_IN_QUEUE" and loader["startTime"] is None and loader["feedCount"] is None
    assert loader["counters"] == {}
    imp = import_status.handler({"taskIdentifier": IMP}, lambda_context)["job"]
    assert imp["progress"] == {"percent": None} and imp["counters"] == {}
    exp = export_status.handler({"taskIdentifier": EXP}, lambda_context)["job"]
    assert exp["status"] == "EXPORTING" and exp["id"] is None


def test_a_payload_that_is_not_even_an_object_is_survived(neptune, lambda_context):
    neptune.start(jobs=[job("loader", LOAD, "X", raw={"status": "200 OK", "payload": ["not", "an", "object"]})])
    view = loader_status.handler({"loadId": LOAD}, lambda_context)["job"]
    assert view["status"] is None and view["known"] is False


OPERATIONS = {
    "loader": ("GetLoaderJobStatus", E.LOADER_ERRORS),
    "import": ("GetImportTask", E.ANALYTICS_ERRORS),
    "export": ("GetExportTask", E.ANALYTICS_ERRORS),
}
ERROR_CASES = [(kind, code) for kind, (_, table) in OPERATIONS.items() for code in table]


@pytest.mark.parametrize(("kind", "code"), ERROR_CASES)
def test_every_documented_error_becomes_its_named_exception_after_one_call(neptune, lambda_context, kind, code):
    jid = {"loader": LOAD, "import": IMP, "export": EXP}[kind]
    operation, table = OPERATIONS[kind]
    neptune.start(jobs=[job(kind, jid, "LOAD_IN_PROGRESS" if kind == "loader" else "EXPORTING")],
                  faults=[{"operation": operation, "calls": [1], "error": code}])
    with pytest.raises(table[code].error) as info:
        STATUS_HANDLERS[kind].handler(direct(kind, jid), lambda_context)
    err = info.value
    assert err.code == code
    assert err.http_status == table[code].http_status
    assert err.retryable == (table[code].http_status in (429,) or table[code].http_status >= 500 or table[code].http_status == 408)
    assert neptune.calls[operation] == 1  # never retried inside the client: 4xx, 404 and 429 alike


def test_error_table_covers_every_error_of_the_operations_we_call():
    session = botocore.session.get_session()
    for service, ops, table in (
        ("neptunedata", ("GetLoaderJobStatus", "CancelLoaderJob"), E.LOADER_ERRORS),
        ("neptune-graph", ("GetImportTask", "CancelImportTask", "GetExportTask", "CancelExportTask"), E.ANALYTICS_ERRORS),
    ):
        model = session.get_service_model(service)
        for op in ops:
            for shape in model.operation_model(op).error_shapes:
                assert shape.name in table, f"{service} {op} {shape.name} has no rule"
                assert table[shape.name].http_status == shape.metadata["error"]["httpStatusCode"]


def test_not_found_is_sent_once_and_named(neptune, lambda_context):
    neptune.start()
    with pytest.raises(NeptuneNotFound):
        loader_status.handler({"loadId": LOAD}, lambda_context)
    with pytest.raises(NeptuneNotFound):
        import_status.handler({"taskIdentifier": IMP}, lambda_context)
    assert neptune.calls == {"GetLoaderJobStatus": 1, "GetImportTask": 1}


def test_timeout_is_a_named_retryable_error(neptune, lambda_context):
    neptune.start(jobs=[job("loader", LOAD, "LOAD_IN_PROGRESS")],
                  faults=[{"operation": "GetLoaderJobStatus", "calls": [1], "error": "Timeout"}])
    with pytest.raises(E.NeptuneTimeout) as info:
        loader_status.handler({"loadId": LOAD}, lambda_context)
    assert info.value.retryable


def test_unreachable_endpoint_is_named(neptune, lambda_context, monkeypatch):
    neptune.start()
    neptune.emulator.stop()
    with pytest.raises(E.NeptuneUnavailable):
        loader_status.handler({"loadId": LOAD}, lambda_context)


BAD_EVENTS = [
    (loader_status, {}),
    (loader_status, {"loadId": ""}),
    (loader_status, {"loadId": "a/b"}),
    (loader_status, {"loadId": LOAD, "page": 2}),
    (loader_status, {"loadId": LOAD, "errors": True, "page": 0}),
    (loader_status, {"loadId": LOAD, "errors": True, "errorsPerPage": -1}),
    (loader_status, {"loadId": LOAD, "errors": "yes"}),
    (loader_status, {"loadId": LOAD, "bogus": 1}),
    (loader_status, ["not", "an", "object"]),
    (loader_cancel, {"loadId": 7}),
    (import_status, {"taskIdentifier": "t-UPPERCASE1"}),
    (import_cancel, {"taskIdentifier": "g-abcdefghij"}),
    (export_status, {}),
    (export_cancel, {"taskIdentifier": "t-short"}),
]


@pytest.mark.parametrize(("module", "event"), BAD_EVENTS)
def test_bad_input_is_a_named_error_before_any_call(neptune, lambda_context, module, event):
    neptune.start(jobs=[job("loader", LOAD, "LOAD_IN_PROGRESS")])
    with pytest.raises(InvalidRequestError):
        module.handler(event, lambda_context)
    assert neptune.calls == {}


@pytest.mark.parametrize(
    ("module", "kind", "jid", "running", "operation", "cancelled"),
    [
        (loader_cancel, "loader", LOAD, "LOAD_IN_PROGRESS", "CancelLoaderJob", "LOAD_CANCELLED_BY_USER"),
        (import_cancel, "import", IMP, "IMPORTING", "CancelImportTask", "CANCELLED"),
        (export_cancel, "export", EXP, "EXPORTING", "CancelExportTask", "CANCELLED"),
    ],
)
def test_cancel_handlers_cancel_then_status_shows_it(neptune, lambda_context, module, kind, jid, running, operation, cancelled):
    neptune.start(jobs=[job(kind, jid, running)])
    out = module.handler(direct(kind, jid), lambda_context)
    assert out["job"]["id"] == jid
    assert neptune.calls[operation] == 1
    assert STATUS_HANDLERS[kind].handler(direct(kind, jid), lambda_context)["job"]["status"] == cancelled


def test_cancel_of_finished_job_is_named(neptune, lambda_context):
    neptune.start(jobs=[job("loader", LOAD, "LOAD_COMPLETED"), job("export", EXP, "SUCCEEDED")])
    with pytest.raises(NeptuneNotFound):
        loader_cancel.handler({"loadId": LOAD}, lambda_context)
    with pytest.raises(E.NeptuneConflict):
        export_cancel.handler({"taskIdentifier": EXP}, lambda_context)


def test_throttling_is_retryable_and_not_retried_in_the_client(neptune, lambda_context):
    neptune.start(jobs=[job("import", IMP, "IMPORTING")],
                  faults=[{"operation": "GetImportTask", "calls": [1], "error": "ThrottlingException"}])
    with pytest.raises(NeptuneThrottled):
        import_status.handler({"taskIdentifier": IMP}, lambda_context)
    assert neptune.calls == {"GetImportTask": 1}
    assert import_status.handler({"taskIdentifier": IMP}, lambda_context)["job"]["status"] == "IMPORTING"
    assert neptune.calls == {"GetImportTask": 2}


def test_loader_client_without_endpoint_is_a_configuration_error(monkeypatch, lambda_context):
    from watcher import clients
    from watcher.settings import settings

    monkeypatch.delenv("NEPTUNE_ENDPOINT", raising=False)
    settings.cache_clear()
    clients.reset()
    try:
        with pytest.raises(E.ConfigurationError):
            loader_status.handler({"loadId": LOAD}, lambda_context)
    finally:
        settings.cache_clear()


def test_graph_outside_the_allowed_list_is_refused(neptune, lambda_context, monkeypatch):
    from watcher.settings import Settings
    from watcher.watch import new_watch

    neptune.start(jobs=[job("import", IMP, "IMPORTING")])
    monkeypatch.setenv("ALLOWED_GRAPH_IDS", "g-aaaaaaaaaa")
    from watcher.settings import settings

    settings.cache_clear()
    fns = {"import": {"status": "s", "cancel": "c"}}
    w = new_watch({"request": {"job": {"kind": "import", "id": IMP}}, "functions": fns}, execution_id="x", cfg=Settings())
    with pytest.raises(E.GraphNotAllowed):
        import_status.handler({"watch": w}, lambda_context)
