"""Start requests (docs/CONTRACT.md section 4): validation from the botocore models, the start
handlers against the emulator over real HTTP, and no double start after a start that timed out.
(``start_watch`` is prepare's part for a start request; the lock it then takes is tested end to
end in test_start_paths.py.)
"""

from __future__ import annotations

import copy
from typing import Any

import botocore.session
import pytest
from watcher import start as S
from watcher.errors import ConfigurationError, InvalidRequestError, NeptuneThrottled, NeptuneTimeout
from watcher.handlers import export_start, import_start, loader_start
from watcher.settings import Settings

ROLE = "arn:aws:iam::123456789012:role/NeptuneLoadFromS3"
KMS = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
GRAPH = "g-0123456789"
LOADER = {"kind": "loader", "source": "s3://bucket/prefix/", "format": "csv", "iamRoleArn": ROLE,
          "s3BucketRegion": "us-east-1", "failOnError": True, "parallelism": "MEDIUM", "queueRequest": True}
IMPORT = {"kind": "import", "graphIdentifier": GRAPH, "source": "s3://bucket/graph/", "roleArn": ROLE, "format": "CSV"}
EXPORT = {"kind": "export", "graphIdentifier": GRAPH, "destination": "s3://bucket/out/", "roleArn": ROLE,
          "format": "PARQUET", "kmsKeyIdentifier": KMS}
REQUESTS = {"loader": LOADER, "import": IMPORT, "export": EXPORT}
HANDLERS = {"loader": loader_start, "import": import_start, "export": export_start}
START_OPS = {"loader": "StartLoaderJob", "import": "StartImportTask", "export": "StartExportTask"}
FUNCTIONS = {k: {"status": f"{k}-status", "cancel": f"{k}-cancel", "start": f"{k}-start"} for k in REQUESTS}
CFG = Settings()


def make_watch(start: dict[str, Any], **request: Any) -> dict[str, Any]:
    event = {"request": {"start": copy.deepcopy(start), **request}, "functions": FUNCTIONS, "executionId": "arn:exec:1"}
    return S.start_watch(event, execution_id="arn:exec:1", cfg=CFG, request=event["request"])


def invalid(start: dict[str, Any], cfg: Settings = CFG) -> str:
    with pytest.raises(InvalidRequestError) as info:
        S.validate(start, cfg)
    return info.value.message


# --- validation ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(S.OPERATIONS))
def test_accepted_fields_are_the_models_members_minus_the_deliberate_exclusions(kind):
    service, operation = S.OPERATIONS[kind]
    members = set(botocore.session.get_session().get_service_model(service).operation_model(operation).input_shape.members)
    assert S.EXCLUDED[kind] <= members
    assert S.accepted_fields(kind) == members - S.EXCLUDED[kind]


@pytest.mark.parametrize("kind", sorted(S.OPERATIONS))
def test_a_valid_start_request_makes_a_start_watch(kind):
    w = make_watch(REQUESTS[kind], correlationId="nightly", timeoutSeconds=3600)
    params = {k: v for k, v in REQUESTS[kind].items() if k != "kind"}
    assert w["job"] == {"kind": kind, "id": None}
    assert w["start"] == params
    assert w["next"] == "START"
    assert w["fn"]["start"] == f"{kind}-start"
    assert w["lock"]["key"] == S.lock_key(kind, params)
    assert w["lock"]["key"].startswith(f"start#{kind}#")
    assert w["correlationId"] == "nightly" and w["timeoutSeconds"] == 3600


@pytest.mark.parametrize(("kind", "field"), [(k, f) for k in S.OPERATIONS for f in S.input_shape(k).required_members])
def test_every_required_member_is_required(kind, field):
    start = {k: v for k, v in REQUESTS[kind].items() if k != field}
    assert field in invalid(start)


@pytest.mark.parametrize(
    ("start", "named"),
    [
        ({**LOADER, "format": "xml"}, "start.format"),
        ({**LOADER, "parallelism": "FAST"}, "start.parallelism"),
        ({**LOADER, "s3BucketRegion": "moon-1"}, "start.s3BucketRegion"),
        ({**LOADER, "failOnError": "yes"}, "failOnError"),
        ({**LOADER, "dependencies": "one"}, "dependencies"),
        ({**LOADER, "source": "https://bucket/x"}, "start.source"),
        ({**LOADER, "loadId": "x"}, "start.loadId"),
        ({**IMPORT, "graphIdentifier": "g-0123456789x"}, "start.graphIdentifier"),
        ({**IMPORT, "roleArn": "arn:aws:iam::1234:role/x"}, "start.roleArn"),
        ({**IMPORT, "format": "csv"}, "start.format"),
        ({**IMPORT, "importOptions": {"neptune": {"s3ExportPath": "s3://x/" + "a" * 1030, "s3ExportKmsKeyId": KMS}}},
         "start.importOptions.neptune.s3ExportPath"),
        ({**EXPORT, "kmsKeyIdentifier": "alias/mine"}, "start.kmsKeyIdentifier"),
        ({**EXPORT, "destination": "s3://" + "d" * 1024}, "start.destination"),
        ({**EXPORT, "tags": {"team": "graph"}}, "start.tags"),
        ({**EXPORT, "exportFilter": {"vertexFilter": "all"}}, "vertexFilter"),
    ],
)
def test_a_bad_parameter_is_an_invalid_request_naming_it(start, named):
    assert named in invalid(start)


def test_unknown_kind_both_job_and_start_and_oversized_parameters_are_invalid():
    assert "start.kind" in invalid({"kind": "query", "source": "s3://b/"})
    assert "JSON object" in invalid("loader")  # type: ignore[arg-type]
    with pytest.raises(InvalidRequestError, match="either job or start"):
        make_watch(LOADER, job={"kind": "loader", "id": "abc"})
    big = {**LOADER, "parserConfiguration": {f"k{i}": "v" * 100 for i in range(200)}}
    assert "bytes" in invalid(big)
    with pytest.raises(InvalidRequestError, match="timeoutSeconds"):
        make_watch(LOADER, timeoutSeconds=0)


def test_a_graph_the_deployment_does_not_allow_is_refused_before_any_call():
    cfg = Settings(allowed_graph_ids=("g-aaaaaaaaaa",))
    assert "not a graph this deployment may use" in invalid(IMPORT, cfg)
    assert S.validate(LOADER, cfg).kind == "loader"  # the loader has no graph


def test_a_deployment_without_a_start_function_is_a_configuration_error():
    event = {"request": {"start": LOADER}, "functions": {"loader": {"status": "s", "cancel": "c"}}}
    with pytest.raises(ConfigurationError):
        S.start_watch(event, execution_id="arn:exec:1", cfg=CFG, request=event["request"])


def test_the_lock_key_is_the_canonical_parameters():
    params = {k: v for k, v in LOADER.items() if k != "kind"}
    reordered = dict(reversed(list(params.items())))
    assert S.lock_key("loader", params) == S.lock_key("loader", reordered)
    assert S.lock_key("loader", params) != S.lock_key("loader", {**params, "parallelism": "HIGH"})
    assert S.lock_key("loader", params) != S.lock_key("import", params)


# --- the start handlers against the emulator ----------------------------------------------


def started_job(kind: str, *statuses: str) -> dict[str, Any]:
    return {"kind": kind, "start": True, "timeline": [{"at": 10 * i, "status": s} for i, s in enumerate(statuses)]}


@pytest.mark.parametrize("kind", sorted(S.OPERATIONS))
def test_the_start_handler_starts_the_job_and_hands_over_to_the_polls(neptune, lambda_context, kind):
    first = {"loader": "LOAD_IN_QUEUE", "import": "INITIALIZING", "export": "INITIALIZING"}[kind]
    neptune.start(jobs=[started_job(kind, first)])
    neptune.now = 42.0
    w = HANDLERS[kind].handler({"watch": make_watch(REQUESTS[kind]), "retryCount": 0}, lambda_context)["watch"]
    created = neptune.emulator.started_jobs()
    assert len(created) == 1 and created[0]["id"] == w["job"]["id"]
    assert created[0]["params"] == {k: v for k, v in REQUESTS[kind].items() if k != "kind"}
    assert w["next"] == "POLL"
    assert w["started"] == {"at": "2027-01-15T08:00:42Z"}
    assert neptune.calls == {START_OPS[kind]: 1}
    state = neptune.emulator.job_state(kind, w["job"]["id"])
    assert state["status"] == first and state["startsAt"] == 42.0  # the timeline counts from the call


@pytest.mark.parametrize(
    ("kind", "code", "status"),
    [("loader", "BadRequestException", 400), ("loader", "LoadUrlAccessDeniedException", 400),
     ("import", "ValidationException", 400), ("import", "ConflictException", 409),
     ("export", "ResourceNotFoundException", 404)],
)
def test_a_refused_start_finishes_failed_with_the_services_error(neptune, lambda_context, kind, code, status):
    neptune.start(faults=[{"operation": START_OPS[kind], "calls": [1], "error": code}])
    w = HANDLERS[kind].handler({"watch": make_watch(REQUESTS[kind]), "retryCount": 0}, lambda_context)["watch"]
    assert w["next"] == "FINISH"
    assert w["result"]["outcome"] == "FAILED"
    assert code in w["result"]["reason"] and START_OPS[kind] in w["result"]["reason"]
    assert w["job"]["id"] is None and w.get("started") is None and w["last"] is None
    assert w["startError"] == {"code": code, "httpStatus": status}
    assert neptune.emulator.started_jobs() == []


def test_the_emulator_refuses_what_the_service_refuses(neptune, lambda_context):
    """A load while another runs without queueRequest: 400 from the emulated loader."""
    neptune.start(jobs=[{"kind": "loader", "id": "other-load", "timeline": [{"at": 0, "status": "LOAD_IN_PROGRESS"}]}])
    w = loader_start.handler({"watch": make_watch({**LOADER, "queueRequest": False})}, lambda_context)["watch"]
    assert w["result"]["outcome"] == "FAILED" and "Max concurrent load limit breached" in w["result"]["reason"]


@pytest.mark.parametrize(("kind", "code"), [("loader", "TooManyRequestsException"), ("import", "ThrottlingException")])
def test_throttling_raises_the_retryable_named_error(neptune, lambda_context, kind, code):
    neptune.start(faults=[{"operation": START_OPS[kind], "calls": [1], "error": code}])
    with pytest.raises(NeptuneThrottled):
        HANDLERS[kind].handler({"watch": make_watch(REQUESTS[kind]), "retryCount": 0}, lambda_context)
    assert neptune.emulator.started_jobs() == []


@pytest.mark.parametrize("kind", sorted(S.OPERATIONS))
def test_a_retry_after_a_timed_out_start_adopts_the_job_instead_of_starting_again(neptune, lambda_context, kind):
    neptune.start(jobs=[started_job(kind, "LOAD_IN_PROGRESS" if kind == "loader" else "INITIALIZING")],
                  faults=[{"operation": START_OPS[kind], "calls": [1], "error": "Timeout"}])
    watch = make_watch(REQUESTS[kind])
    neptune.now = 5.0
    with pytest.raises(NeptuneTimeout):
        HANDLERS[kind].handler({"watch": watch, "retryCount": 0}, lambda_context)
    created = neptune.emulator.started_jobs()
    assert len(created) == 1  # the lost answer did start it
    neptune.now = 9.0
    w = HANDLERS[kind].handler({"watch": watch, "retryCount": 1}, lambda_context)["watch"]
    assert w["job"]["id"] == created[0]["id"]
    assert w["started"] == {"at": "2027-01-15T08:00:05Z", "recovered": True}
    assert w["next"] == "POLL"
    assert len(neptune.emulator.started_jobs()) == 1
    assert neptune.calls[START_OPS[kind]] == 1


@pytest.mark.parametrize("kind", sorted(S.OPERATIONS))
def test_a_retry_that_finds_only_older_jobs_starts_once(neptune, lambda_context, kind):
    """A job with the same parameters that started before this watch was prepared is not the one we lost."""
    neptune.start()
    params = {k: v for k, v in REQUESTS[kind].items() if k != "kind"}
    older = HANDLERS[kind].handler(params, lambda_context)["job"]  # an identical job, started directly at 0
    neptune.now = 600.0
    w = HANDLERS[kind].handler({"watch": make_watch(REQUESTS[kind]), "retryCount": 1}, lambda_context)["watch"]
    assert w["job"]["id"] not in (None, older["id"])
    assert w["started"] == {"at": "2027-01-15T08:10:00Z"}
    assert [j["id"] for j in neptune.emulator.started_jobs()] == [older["id"], w["job"]["id"]]
    assert neptune.calls[START_OPS[kind]] == 2


def test_a_match_the_service_gives_no_start_time_for_ends_in_error_without_a_second_start(neptune, lambda_context):
    """A load with our source whose status omits startTime: it may be ours, or not. Do not guess."""
    raw = {"status": "200 OK", "payload": {"overallStatus": {"fullUri": LOADER["source"], "status": "LOAD_IN_QUEUE"}}}
    neptune.start(jobs=[{"kind": "loader", "id": "queued-load", "timeline": [{"at": 0, "status": "LOAD_IN_QUEUE", "raw": raw}]}])
    w = loader_start.handler({"watch": make_watch(LOADER), "retryCount": 2}, lambda_context)["watch"]
    assert w["next"] == "FINISH" and w["result"]["outcome"] == "ERROR"
    assert "queued-load" in w["result"]["reason"] and "does not start another" in w["result"]["reason"]
    assert "StartLoaderJob" not in neptune.calls


def test_a_direct_start_event_starts_one_job_and_returns_its_id(neptune, lambda_context):
    neptune.start()
    out = import_start.handler({k: v for k, v in IMPORT.items() if k != "kind"}, lambda_context)
    assert out["job"]["kind"] == "import" and out["job"]["id"].startswith("t-")
    with pytest.raises(InvalidRequestError, match=r"start\.format"):
        import_start.handler({**{k: v for k, v in IMPORT.items() if k != "kind"}, "format": "XML"}, lambda_context)
    assert neptune.calls == {"StartImportTask": 1}


# --- the JSON Schemas ---------------------------------------------------------------------

SCHEMAS = __import__("pathlib").Path(__file__).resolve().parents[1] / "schemas"


def _schema(name: str) -> Any:
    import json

    import jsonschema

    schema = json.loads((SCHEMAS / name).read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return schema, jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())


def _from_model(shape: Any) -> dict[str, Any]:
    """The JSON Schema of a botocore shape (what schemas/watch-request.schema.json must say)."""
    t, meta, out = shape.type_name, shape.metadata, {}
    if t == "string":
        out["type"] = "string"
        if getattr(shape, "enum", None):
            out["enum"] = list(shape.enum)
        out.update({k2: meta[k1] for k1, k2 in (("min", "minLength"), ("max", "maxLength")) if k1 in meta})
        if "pattern" in meta:
            out["pattern"] = f"^(?:{meta['pattern']})$"
    elif t == "boolean":
        out["type"] = "boolean"
    elif t in ("integer", "long"):
        out["type"] = "integer"
        out.update({k2: meta[k1] for k1, k2 in (("min", "minimum"), ("max", "maximum")) if k1 in meta})
    elif t == "list":
        out.update(type="array", items=_from_model(shape.member))
    elif t == "map":
        out.update(type="object", additionalProperties=_from_model(shape.value))
    else:
        out.update(type="object", additionalProperties=False,
                   properties={n: _from_model(s) for n, s in shape.members.items()})
        if shape.required_members:
            out["required"] = list(shape.required_members)
    return out


@pytest.mark.parametrize("kind", sorted(S.OPERATIONS))
def test_the_request_schema_says_what_the_botocore_model_says(kind):
    schema, _ = _schema("watch-request.schema.json")
    shape = S.input_shape(kind)
    defined = schema["$defs"][f"start_{kind}"]
    assert set(defined["properties"]) - {"kind"} == S.accepted_fields(kind)
    assert defined["required"] == ["kind", *shape.required_members]
    for name in S.accepted_fields(kind):
        assert defined["properties"][name] == _from_model(shape.members[name]), name


@pytest.mark.parametrize(
    ("request_body", "valid"),
    [({"start": LOADER}, True), ({"start": IMPORT, "correlationId": "x"}, True), ({"start": EXPORT}, True),
     ({"start": {**LOADER, "format": "xml"}}, False), ({"start": {**EXPORT, "tags": {"a": "b"}}}, False),
     ({"start": {k: v for k, v in IMPORT.items() if k != "roleArn"}}, False),
     ({"start": {**IMPORT, "graphIdentifier": "g-x"}}, False),
     ({"start": LOADER, "job": {"kind": "loader", "id": "abc"}}, False), ({"start": {**LOADER, "kind": "query"}}, False)],
)
def test_the_request_schema_agrees_with_prepare_on_start_requests(request_body, valid):
    _, validator = _schema("watch-request.schema.json")
    assert validator.is_valid(request_body) is valid
    event = {"request": copy.deepcopy(request_body), "functions": FUNCTIONS}
    try:
        S.start_watch(event, execution_id="arn:exec:1", cfg=CFG, request=event["request"])
        prepared = True
    except InvalidRequestError:
        prepared = False
    assert prepared is valid


def test_outcomes_of_start_requests_match_the_outcome_schema(neptune, lambda_context):
    from watcher.outcome import finalize

    _, validator = _schema("outcome.schema.json")
    neptune.start(faults=[{"operation": "StartExportTask", "calls": [1], "error": "ConflictException"}])
    refused = export_start.handler({"watch": make_watch(EXPORT)}, lambda_context)["watch"]
    started_w = loader_start.handler({"watch": make_watch(LOADER)}, lambda_context)["watch"]
    started_w["result"] = {"outcome": "SUCCEEDED", "reason": None}
    invalid_request = {"request": {"start": {**LOADER, "format": "xml"}},
                       "error": {"Error": "InvalidRequestError", "Cause": "start.format: bad"}}
    for state in ({"watch": refused}, {"watch": started_w}, invalid_request):
        outcome = finalize({"state": state, "executionId": "arn:exec:1"})["outcome"]
        errors = [e.message for e in validator.iter_errors(outcome)]
        assert errors == [], errors
    assert finalize({"state": {"watch": refused}})["outcome"]["job"] == {"kind": "export", "id": None}
    assert finalize({"state": invalid_request})["outcome"]["job"] == {"kind": "loader", "id": None}


def test_the_contracts_start_request_is_valid_and_prepares():
    import json
    import re

    text = (SCHEMAS.parent / "docs/CONTRACT.md").read_text()
    section = text[text.index("## 4."): text.index("## 5.")]
    (block,) = re.findall(r"```json\n(.*?)```", section, re.S)
    request_body = json.loads(block)
    _, validator = _schema("watch-request.schema.json")
    assert validator.is_valid(request_body)
    w = S.start_watch({"request": request_body, "functions": FUNCTIONS}, execution_id="arn:exec:1", cfg=CFG,
                      request=request_body)
    assert w["next"] == "START" and w["start"]["source"] == "s3://bucket/prefix/"
