"""The lock protocol's calls under retries and outages.

botocore retries DynamoDB calls on its own (throttling, 5xx, dropped connections), and the
state machine retries the Prepare and AwaitOwner tasks: a write can land while its answer is
lost, and the same call then runs again. Every lock write must find its own earlier write and
keep its role, or one request publishes nothing (it takes itself for a repeat) or a waiter is
never answered. Failures of the lock table are raised by name (LockStoreUnavailable, retried
by the definition; LockStoreError, not) and end in a published ERROR outcome, never a bare
botocore exception.
"""

from __future__ import annotations

import json
import time
from typing import Any

import boto3
import botocore.exceptions
import botocore.session
import pytest
from botocore.stub import Stubber
from moto import mock_aws
from watcher import errors, lock

from neptune_watch.local.runtime import LocalRuntime
from neptune_watch.scenario import JobSpec

TABLE = "locks"
KEY = "loader#job-1"
MACHINE = "arn:aws:states:us-east-1:123456789012:stateMachine:neptune-watch"
OWNER = MACHINE.replace(":stateMachine:", ":execution:") + ":owner"
DUP = MACHINE.replace(":stateMachine:", ":execution:") + ":dup"
OTHER = MACHINE.replace(":stateMachine:", ":execution:") + ":other"


@pytest.fixture
def ddb(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    with mock_aws():
        lock.reset()
        client = boto3.client("dynamodb")
        client.create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        yield client
        lock.reset()


def take(me: str, corr: str | None) -> dict[str, Any]:
    return lock.acquire(TABLE, KEY, me=me, corr=corr, request={"job": {"kind": "loader", "id": "job-1"}}, expires=2_000_000_000)


# --- a retried call keeps its role ------------------------------------------------------------


def test_a_retried_acquire_of_the_owner_stays_the_owner(ddb):
    assert take(OWNER, "a")["role"] == "OWNER"
    assert take(OWNER, "a")["role"] == "OWNER"  # the first answer was lost: the same call again
    assert take(OTHER, "a")["role"] == "REPEAT"  # another execution with the owner's id is a repeat


def test_a_retried_acquire_of_a_duplicate_stays_a_duplicate(ddb):
    take(OWNER, "a")
    assert take(DUP, "b")["role"] == "DUPLICATE"
    again = take(DUP, "b")  # before: REPEAT, so request "b" would have published nothing
    assert again["role"] == "DUPLICATE" and again["owner"] == OWNER
    assert take(OTHER, "b")["role"] == "REPEAT"
    item = ddb.get_item(TableName=TABLE, Key={"pk": {"S": KEY}})["Item"]
    assert sorted(item["corrs"]["SS"]) == ["c:a", "c:b"]


def test_a_retried_end_answers_the_waiters_from_the_record(ddb, monkeypatch):
    take(OWNER, "a")
    take(DUP, "b")
    assert lock.register(TABLE, KEY, name="dup", token="token-of-dup") is None
    sent: list[tuple[str, str]] = []
    monkeypatch.setattr(lock, "_answer", lambda token, text: sent.append((token, text)) or True)
    assert lock.end(TABLE, KEY, me=OWNER, outcome={"outcome": "FAILED"}, window=900) == 1
    # The update landed but its answer was lost: the retry finds the record its own and answers
    # the waiter again, with the outcome as recorded (a second answer to a closed token is refused).
    assert lock.end(TABLE, KEY, me=OWNER, outcome={"outcome": "FAILED", "later": 1}, window=900) == 1
    assert sent == [("token-of-dup", '{"outcome":"FAILED"}')] * 2
    assert lock.end(TABLE, KEY, me=OTHER, outcome={"outcome": "FAILED"}, window=900) == 0  # not its lock


@pytest.mark.parametrize("code", ["TaskTimedOut", "InvalidToken", "TaskDoesNotExist"])
def test_an_answer_to_a_closed_token_is_not_an_error(ddb, code):
    """SendTaskSuccess answers TaskTimedOut for a token "expired or ... already closed" (the
    Step Functions API reference), which is what a second answer meets. botocore's Stubber
    checks the call against the model."""
    sfn = lock.client("stepfunctions")
    with Stubber(sfn) as stub:
        stub.add_client_error("send_task_success", service_error_code=code, http_status_code=400)
        assert lock._answer("token", "{}") is False
        stub.add_client_error("send_task_success", service_error_code="KmsThrottlingException", http_status_code=400)
        with pytest.raises(errors.LockStoreUnavailable):
            lock.answer("token", {})


def _machine() -> tuple[Any, str]:
    """moto's Step Functions client and a state machine named like the watch (its executions
    wait, so that they can be stopped)."""
    sfn = boto3.client("stepfunctions")
    role = boto3.client("iam").create_role(RoleName="r", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    definition = json.dumps({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 600, "End": True}}})
    return sfn, sfn.create_state_machine(name="neptune-watch", definition=definition, roleArn=role)["stateMachineArn"]


def test_a_retried_recovery_keeps_the_lock_it_took_over(ddb):
    sfn, machine = _machine()
    dead = sfn.start_execution(stateMachineArn=machine, name="owner", input=json.dumps({"job": {"kind": "loader", "id": "job-1"}}))["executionArn"]
    assert take(dead, "a")["role"] == "OWNER"
    sfn.stop_execution(executionArn=dead)
    me = machine.replace(":stateMachine:", ":execution:") + ":recovery"
    request = {"job": {"kind": "loader", "id": "job-1"}}
    assert lock.recover(TABLE, dead, me=me) == request
    assert lock.recover(TABLE, dead, me=me) == request  # before: None, and nobody published
    assert lock.recover(TABLE, dead, me=me.replace("recovery", "redelivered")) is None


def test_a_recovery_chain_leads_back_to_the_owner_for_the_lock_and_the_start_time(ddb):
    """A recovery of a recovery finds the owner's lock key and start time through the chain of
    recovery inputs (a start request's job must be looked for from the owner's own start)."""
    sfn, machine = _machine()
    owner = sfn.start_execution(stateMachineArn=machine, name="owner", input=json.dumps({"job": {"kind": "loader", "id": "job-1"}}))["executionArn"]
    time.sleep(0.01)
    first = sfn.start_execution(stateMachineArn=machine, name="first", input=json.dumps({"neptuneWatchRecover": {"executionArn": owner}}))["executionArn"]
    assert take(owner, "a")["role"] == "OWNER"
    for arn in (owner, first):
        sfn.stop_execution(executionArn=arn)
    me = machine.replace(":stateMachine:", ":execution:") + ":"
    assert lock.recover(TABLE, owner, me=first) == {"job": {"kind": "loader", "id": "job-1"}}  # first takes over
    assert lock.recover(TABLE, first, me=me + "second") == {"job": {"kind": "loader", "id": "job-1"}}  # and second from it
    owner_start = sfn.describe_execution(executionArn=owner)["startDate"].timestamp()
    assert lock.started_epoch(first) == owner_start != sfn.describe_execution(executionArn=first)["startDate"].timestamp()
    loop = sfn.start_execution(stateMachineArn=machine, name="loop", input=json.dumps({"neptuneWatchRecover": {"executionArn": "x"}}))
    assert lock._origin(sfn.describe_execution(executionArn=loop["executionArn"])) is None  # a broken link


# --- failures by name ---------------------------------------------------------------------------


def _client_error(code: str, status: int) -> botocore.exceptions.ClientError:
    return botocore.exceptions.ClientError({"Error": {"Code": code, "Message": "m"}, "ResponseMetadata": {"HTTPStatusCode": status}}, "PutItem")


@pytest.mark.parametrize(
    ("exc", "named"),
    [
        (_client_error("ProvisionedThroughputExceededException", 400), errors.LockStoreUnavailable),
        (_client_error("ThrottlingException", 400), errors.LockStoreUnavailable),
        (_client_error("InternalServerError", 500), errors.LockStoreUnavailable),
        (_client_error("TransactionConflictException", 400), errors.LockStoreUnavailable),
        (_client_error("SomethingNew", 503), errors.LockStoreUnavailable),
        (_client_error("ResourceNotFoundException", 400), errors.LockStoreError),
        (_client_error("AccessDeniedException", 400), errors.LockStoreError),
        (botocore.exceptions.EndpointConnectionError(endpoint_url="https://dynamodb"), errors.LockStoreUnavailable),
        (botocore.exceptions.ReadTimeoutError(endpoint_url="https://dynamodb"), errors.LockStoreUnavailable),
        (botocore.exceptions.NoCredentialsError(), errors.LockStoreError),
    ],
)
def test_store_failures_are_named(exc, named):
    got = errors.store_error("lock.acquire", exc)
    assert type(got) is named and got.retryable is (named is errors.LockStoreUnavailable)
    assert "lock.acquire" in got.message


def test_a_missing_lock_table_is_a_lock_store_error(ddb):
    ddb.delete_table(TableName=TABLE)
    with pytest.raises(errors.LockStoreError) as caught:
        take(OWNER, "a")
    assert caught.value.code == "ResourceNotFoundException"


def test_every_transient_code_is_one_the_lock_calls_can_meet():
    """The transient codes come from botocore's models of the lock protocol's operations (or are
    the common ones every AWS service may answer)."""
    session = botocore.session.get_session()
    modeled = {
        shape.name
        for service, operations in (("dynamodb", ("PutItem", "UpdateItem", "GetItem")), ("stepfunctions", ("SendTaskSuccess", "DescribeExecution")))
        for operation in operations
        for shape in session.get_service_model(service).operation_model(operation).error_shapes
    }
    common = {"ThrottlingException", "InternalFailure", "ServiceUnavailable", "RequestTimeout"}
    assert modeled | common >= errors._TRANSIENT_STORE_CODES


# --- on the local runtime -----------------------------------------------------------------------



def _job() -> JobSpec:
    return JobSpec(kind="loader", id="job-1", timeline=[{"at": 0, "status": "LOAD_COMPLETED"}])


@pytest.mark.runtime
def test_an_outage_of_the_lock_table_is_retried_by_the_definition(monkeypatch):
    """Two PutItem calls fail with a dropped connection (past botocore's own retries): Prepare
    raises LockStoreUnavailable, the definition retries it, and the watch ends with one outcome."""
    real = lock.client
    failures = {"left": 2}

    class Outage:
        def __init__(self, client: Any):
            self._client = client

        def put_item(self, **kwargs: Any) -> Any:
            if failures["left"] > 0:
                failures["left"] -= 1
                raise botocore.exceptions.EndpointConnectionError(endpoint_url="https://dynamodb.us-east-1.amazonaws.com")
            return self._client.put_item(**kwargs)

        def __getattr__(self, name: str) -> Any:
            return getattr(self._client, name)

    monkeypatch.setattr(lock, "client", lambda service: Outage(real(service)) if service == "dynamodb" else real(service))
    with LocalRuntime(jobs=[_job()]) as rt:
        arn = rt.start({"job": {"kind": "loader", "id": "job-1"}, "correlationId": "x"})
        desc = rt.wait(arn, timeout=60)
        history = rt.history(arn)
        sns = rt.sns_messages()
    assert failures["left"] == 0
    assert desc["status"] == "SUCCEEDED" and json.loads(desc["output"])["outcome"] == "SUCCEEDED"
    failed = [e["lambdaFunctionFailedEventDetails"]["error"] for e in history if e["type"] == "LambdaFunctionFailed"]
    failed += [e["taskFailedEventDetails"]["error"] for e in history if e["type"] == "TaskFailed"]
    assert failed == ["LockStoreUnavailable", "LockStoreUnavailable"]
    assert len(sns) == 1


@pytest.mark.runtime
def test_a_missing_lock_table_ends_in_a_published_error_that_names_it():
    with LocalRuntime(jobs=[_job()]) as rt:
        rt.client("dynamodb").delete_table(TableName="neptune-watch-locks")
        desc = rt.wait(rt.start({"job": {"kind": "loader", "id": "job-1"}, "correlationId": "y"}), timeout=60)
        sns = [m["message"] for m in rt.sns_messages()]
    assert desc["status"] == "FAILED" and desc["error"] == "NeptuneWatch.ERROR"
    assert len(sns) == 1 and sns[0]["outcome"] == "ERROR" and sns[0]["correlationId"] == "y"
    assert sns[0]["statusReason"].startswith("LockStoreError: lock.acquire: ResourceNotFoundException"), sns[0]["statusReason"]
