"""Scenario files: parsing, defaults and the messages of invalid ones."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from neptune_watch.scenario import (
    DEFAULT_GRAPH_ID,
    FaultSpec,
    JobSpec,
    Scenario,
    ScenarioError,
    load_scenario,
    service_errors,
)

CONTRACT_EXAMPLE: dict[str, Any] = {
    "request": {"job": {"kind": "loader", "id": "4f1c2e0a"}, "timeoutSeconds": 7200},
    "job": {
        "kind": "loader",
        "id": "4f1c2e0a",
        "timeline": [
            {"at": 0, "status": "LOAD_IN_QUEUE"},
            {"at": 120, "status": "LOAD_IN_PROGRESS", "counters": {"totalRecords": 5000}},
            {
                "at": 5400,
                "status": "LOAD_FAILED",
                "counters": {"totalRecords": 90000, "parsingErrors": 2},
                "errors": [
                    {
                        "code": "PARSING_ERROR",
                        "message": "bad row",
                        "file": "s3://b/v.csv",
                        "record": 7,
                    }
                ],
            },
        ],
    },
    "faults": [
        {"operation": "GetLoaderJobStatus", "calls": [2, 3], "error": "TooManyRequestsException"}
    ],
}


def example(**changes: Any) -> dict[str, Any]:
    """A deep copy of the contract's example with top-level keys replaced."""
    data = copy.deepcopy(CONTRACT_EXAMPLE)
    data.update(changes)
    return data


def loader_job(**changes: Any) -> dict[str, Any]:
    job = {"kind": "loader", "id": "L1", "timeline": [{"at": 0, "status": "LOAD_IN_QUEUE"}]}
    job.update(changes)
    return job


def error_of(data: Any) -> str:
    with pytest.raises(ScenarioError) as caught:
        load_scenario(data)
    return str(caught.value)


# --- valid scenarios ------------------------------------------------------------------------


def test_contract_example_loads() -> None:
    scenario = load_scenario(example())

    assert isinstance(scenario, Scenario)
    assert scenario.job is not None
    assert scenario.job.kind == "loader"
    assert [entry.status for entry in scenario.job.timeline] == [
        "LOAD_IN_QUEUE",
        "LOAD_IN_PROGRESS",
        "LOAD_FAILED",
    ]
    last = scenario.job.timeline[-1]
    assert last.counters == {"totalRecords": 90000, "parsingErrors": 2}
    assert last.errors[0].file == "s3://b/v.csv"
    assert last.errors[0].record == 7
    assert scenario.faults == [
        FaultSpec(operation="GetLoaderJobStatus", calls=[2, 3], error="TooManyRequestsException")
    ]


def test_load_from_a_file_path_str_and_pathlike(tmp_path: Path) -> None:
    path = tmp_path / "scenario.json"
    path.write_text(json.dumps(example()), encoding="utf-8")

    assert load_scenario(str(path)) == load_scenario(path) == load_scenario(example())


def test_defaults() -> None:
    scenario = load_scenario({"request": {}, "job": loader_job()})

    job = scenario.job
    assert job is not None
    assert job.graphId == DEFAULT_GRAPH_ID
    assert job.cancelDelaySeconds == 0
    entry = job.timeline[0]
    assert (entry.counters, entry.errors, entry.statusReason, entry.raw) == ({}, [], None, None)
    assert (scenario.jobs, scenario.faults, scenario.settings) == ([], [], {})


def test_no_job_means_the_service_knows_nothing() -> None:
    scenario = load_scenario({"request": {"job": {"kind": "loader", "id": "x"}}})

    assert scenario.job is None
    assert scenario.all_jobs() == []


def test_request_and_settings_are_passed_through_untouched() -> None:
    request = {"job": {"kind": "bogus", "id": 42}, "timeoutSeconds": "soon", "extra": [None]}
    settings = {"pollSeconds": [1, 2], "anything": {"nested": True}}

    scenario = load_scenario({"request": request, "settings": settings})

    assert scenario.request == request
    assert scenario.settings == settings


def test_all_jobs_is_job_then_jobs() -> None:
    first = loader_job(id="A")
    others = [loader_job(id="B"), {**loader_job(id="A"), "kind": "import"}]

    scenario = load_scenario({"request": {}, "job": first, "jobs": others})

    assert [(job.kind, job.id) for job in scenario.all_jobs()] == [
        ("loader", "A"),
        ("loader", "B"),
        ("import", "A"),
    ]


def test_unknown_statuses_equal_ats_and_raw_are_allowed() -> None:
    timeline = [
        {"at": 0, "status": "INITIALIZING"},
        {"at": 0, "status": "RE_PROVISIONING", "statusReason": "old docs"},
        {"at": 2.5, "status": "", "raw": {"status": "200 OK", "payload": {}}},
    ]

    job = JobSpec.model_validate({"kind": "import", "id": "t-0", "timeline": timeline})

    assert [entry.status for entry in job.timeline] == ["INITIALIZING", "RE_PROVISIONING", ""]
    assert job.timeline[2].raw == {"status": "200 OK", "payload": {}}


@pytest.mark.parametrize(
    ("operation", "given", "expected"),
    [
        ("GetLoaderJobStatus", "TooManyRequests", "TooManyRequestsException"),
        ("CancelLoaderJob", "TooManyRequestsException", "TooManyRequestsException"),
        ("GetLoaderJobStatus", "BulkLoadIdNotFound", "BulkLoadIdNotFoundException"),
        ("GetImportTask", "Throttling", "ThrottlingException"),
        ("CancelExportTask", "ConflictException", "ConflictException"),
        ("GetExportTask", "Timeout", "Timeout"),
    ],
)
def test_fault_error_names_are_normalised(operation: str, given: str, expected: str) -> None:
    fault = {"operation": operation, "calls": [1], "error": given}

    scenario = load_scenario({"request": {}, "faults": [fault]})

    assert scenario.faults[0].error == expected


@pytest.mark.parametrize("service", ["neptunedata", "neptune-graph"])
def test_every_modeled_error_of_the_service_is_a_valid_fault(service: str) -> None:
    operation = "CancelLoaderJob" if service == "neptunedata" else "CancelImportTask"
    faults = [
        {"operation": operation, "calls": [1], "error": name} for name in service_errors(service)
    ]

    scenario = load_scenario({"request": {}, "faults": faults})

    assert [fault.error for fault in scenario.faults] == list(service_errors(service))


# --- invalid scenarios ----------------------------------------------------------------------


def test_scenario_error_is_a_value_error() -> None:
    assert issubclass(ScenarioError, ValueError)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({**example(), "jbo": {}}, "scenario: unknown field 'jbo' (allowed: request, job, jobs,"),
        (example(job=loader_job(timline=[])), "scenario: job: unknown field 'timline'"),
        (
            example(job=loader_job(timeline=[{"at": 0, "status": "X", "count": {}}])),
            "scenario: job.timeline[0]: unknown field 'count' (allowed: at, status, counters,",
        ),
        (
            example(faults=[{"operation": "GetLoaderJobStatus", "call": [1], "error": "Timeout"}]),
            "scenario: faults[0]: unknown field 'call'",
        ),
        (
            example(
                job=loader_job(
                    timeline=[
                        {
                            "at": 0,
                            "status": "X",
                            "errors": [{"code": "C", "message": "m", "line": 3}],
                        }
                    ]
                )
            ),
            "scenario: job.timeline[0].errors[0]: unknown field 'line'",
        ),
    ],
)
def test_unknown_fields_are_named_with_their_place(data: dict[str, Any], expected: str) -> None:
    assert error_of(data).startswith(expected)


def test_bad_fault_operation() -> None:
    fault = {"operation": "GetLoaderJob", "calls": [1], "error": "Timeout"}

    message = error_of(example(faults=[fault]))

    assert message.startswith("scenario: faults[0].operation: must be 'GetLoaderJobStatus', ")
    assert '(got "GetLoaderJob")' in message


def test_bad_fault_error_name_lists_the_valid_ones() -> None:
    fault = {"operation": "GetImportTask", "calls": [1], "error": "TooManyRequestsException"}

    message = error_of(example(faults=[fault]))

    assert message.startswith(
        "scenario: faults[0].error: unknown error 'TooManyRequestsException' for GetImportTask "
        "(neptune-graph); valid: AccessDeniedException, ConflictException, "
    )
    assert "ThrottlingException" in message
    assert message.endswith(", Timeout")


def test_fault_call_numbers_start_at_one() -> None:
    fault = {"operation": "CancelLoaderJob", "calls": [1, 0], "error": "Timeout"}

    assert error_of(example(faults=[fault])) == "scenario: faults[0].calls[1]: must be >= 1"


def test_decreasing_at_is_rejected_at_the_offending_entry() -> None:
    timeline = [{"at": 0, "status": "A"}, {"at": 120, "status": "B"}, {"at": 60, "status": "C"}]

    message = error_of(example(job=loader_job(timeline=timeline)))

    assert message.startswith("scenario: job.timeline[2].at: must be >= 120")


def test_negative_at() -> None:
    timeline = [{"at": 0, "status": "A"}, {"at": 1, "status": "B"}, {"at": -5, "status": "C"}]

    message = error_of(example(job=loader_job(timeline=timeline)))

    assert message == "scenario: job.timeline[2].at: must be >= 0"


@pytest.mark.parametrize(
    ("job", "expected"),
    [
        (loader_job(timeline=[]), "scenario: job.timeline: must have at least 1 entry"),
        (loader_job(id=""), "scenario: job.id: must not be empty"),
        (loader_job(kind="bulk"), "scenario: job.kind: must be 'loader', 'import' or 'export'"),
        (loader_job(cancelDelaySeconds=-1), "scenario: job.cancelDelaySeconds: must be >= 0"),
        ({"kind": "loader", "timeline": []}, "scenario: job.id: required field is missing"),
        (
            loader_job(timeline=[{"at": "5", "status": "X"}]),
            'scenario: job.timeline[0].at: must be a valid number (got "5")',
        ),
        ("loader", "scenario: job: must be a JSON object, not a string"),
    ],
)
def test_job_problems(job: Any, expected: str) -> None:
    assert error_of(example(job=job)).startswith(expected)


def test_duplicate_job_ids_of_one_kind_are_rejected() -> None:
    message = error_of(example(job=loader_job(id="A"), jobs=[loader_job(id="A")]))

    assert message == "scenario: two jobs are loader 'A': ids must be unique per kind"


def test_request_is_required_and_must_be_an_object() -> None:
    assert error_of({"job": loader_job()}) == "scenario: request: required field is missing"
    assert error_of({"request": []}) == "scenario: request: must be a JSON object, not an array"


def test_several_problems_are_reported_together_and_capped() -> None:
    message = error_of({"request": 1, "job": 2, "jobs": 3, "faults": 4, "settings": 5})

    assert message.count(";") == 3
    assert message.endswith("; and 2 more problems")


def test_top_level_must_be_an_object(tmp_path: Path) -> None:
    path = tmp_path / "list.json"
    path.write_text("[1, 2]", encoding="utf-8")

    assert error_of(path) == f"{path}: must be a JSON object, not an array"


def test_non_json_file_names_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "scenario.json"
    path.write_text('{\n  "request": {},\n  "job": nope\n}\n', encoding="utf-8")

    message = error_of(path)

    assert message.startswith(f"{path} is not valid JSON: line 3 column 10: ")
    assert "\n" not in message


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "absent.json"

    assert error_of(path) == f"{path}: no such file"


def test_errors_carry_no_traceback_context() -> None:
    with pytest.raises(ScenarioError) as caught:
        load_scenario(example(job=loader_job(kind="bulk")))

    assert caught.value.__suppress_context__
    assert caught.value.__cause__ is None
