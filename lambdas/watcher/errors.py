"""Named errors, and the table from every documented Neptune error to one of them.

A handler raises one of these classes; Lambda reports the class name as the error type,
so the state machine can ``Retry`` / ``Catch`` on it by name. Each class says whether it
is worth retrying. 4xx errors never are; throttling, timeouts and 5xx are.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import botocore.exceptions


class WatchError(Exception):
    """Base of every error a neptune-watch handler raises on purpose."""

    retryable: bool = False

    def __init__(self, message: str, *, code: str | None = None, http_status: int | None = None):
        super().__init__(message)
        self.message = message
        self.code = code or type(self).__name__
        self.http_status = http_status

    def as_dict(self) -> dict[str, Any]:
        return {
            "error": type(self).__name__,
            "code": self.code,
            "httpStatus": self.http_status,
            "message": self.message,
            "retryable": self.retryable,
        }


class InvalidRequestError(WatchError):
    """The request is malformed; no Neptune call was made."""


class NeptuneNotFound(WatchError):
    """The service does not know the id (404)."""


class NeptuneBadRequest(WatchError):
    """The service rejected the request (400, 402, 422)."""


class NeptuneAccessDenied(WatchError):
    """Not allowed (403), or no usable credentials."""


class NeptuneConflict(WatchError):
    """The request conflicts with the job's state (409), e.g. cancelling a finished task."""


class NeptuneMethodNotAllowed(WatchError):
    """405: the loader answers this on a read replica; point the client at the writer endpoint."""


class NeptuneMalformedResponse(WatchError):
    """The service answered 2xx with a body that does not fit its own model (e.g. a number
    where the model has a structure). A poll counts it like an unknown status (watch.py)."""


class GraphNotAllowed(WatchError):
    """The task belongs to a graph this deployment is not configured to watch."""


class NeptuneThrottled(WatchError):
    """Throttled (429, or neptunedata's ThrottlingException)."""

    retryable = True


class NeptuneServerError(WatchError):
    """The service failed (5xx)."""

    retryable = True


class NeptuneTimeout(WatchError):
    """No answer in time (408 or a client-side read/connect timeout)."""

    retryable = True


class NeptuneUnavailable(WatchError):
    """The endpoint could not be reached (DNS, connection refused or reset)."""

    retryable = True


@dataclass(frozen=True)
class ErrorRule:
    http_status: int
    error: type[WatchError]


# Every error shape the two services document for the operations we call, and the other
# errors NEPTUNE.md lists. tests/test_handlers.py checks this table covers the botocore models.
LOADER_ERRORS: dict[str, ErrorRule] = {
    "BadRequestException": ErrorRule(400, NeptuneBadRequest),
    "ConstraintViolationException": ErrorRule(400, NeptuneBadRequest),
    "IllegalArgumentException": ErrorRule(400, NeptuneBadRequest),
    "InvalidArgumentException": ErrorRule(400, NeptuneBadRequest),
    "InvalidParameterException": ErrorRule(400, NeptuneBadRequest),
    "LoadUrlAccessDeniedException": ErrorRule(400, NeptuneBadRequest),
    "MissingParameterException": ErrorRule(400, NeptuneBadRequest),
    "PreconditionsFailedException": ErrorRule(400, NeptuneBadRequest),
    "UnsupportedOperationException": ErrorRule(400, NeptuneBadRequest),
    "S3Exception": ErrorRule(400, NeptuneBadRequest),
    "AccessDeniedException": ErrorRule(403, NeptuneAccessDenied),
    "BulkLoadIdNotFoundException": ErrorRule(404, NeptuneNotFound),
    "MethodNotAllowedException": ErrorRule(405, NeptuneMethodNotAllowed),
    "ClientTimeoutException": ErrorRule(408, NeptuneTimeout),
    "TooManyRequestsException": ErrorRule(429, NeptuneThrottled),
    "InternalFailureException": ErrorRule(500, NeptuneServerError),
    "ThrottlingException": ErrorRule(500, NeptuneThrottled),
}

ANALYTICS_ERRORS: dict[str, ErrorRule] = {
    "ValidationException": ErrorRule(400, NeptuneBadRequest),
    "ServiceQuotaExceededException": ErrorRule(402, NeptuneBadRequest),
    "AccessDeniedException": ErrorRule(403, NeptuneAccessDenied),
    "ResourceNotFoundException": ErrorRule(404, NeptuneNotFound),
    "ConflictException": ErrorRule(409, NeptuneConflict),
    "UnprocessableException": ErrorRule(422, NeptuneBadRequest),
    "ThrottlingException": ErrorRule(429, NeptuneThrottled),
    "InternalServerException": ErrorRule(500, NeptuneServerError),
}

SERVICE_ERRORS = {"neptunedata": LOADER_ERRORS, "neptune-graph": ANALYTICS_ERRORS}


def _by_status(status: int) -> type[WatchError]:
    if status == 404:
        return NeptuneNotFound
    if status == 403:
        return NeptuneAccessDenied
    if status == 405:
        return NeptuneMethodNotAllowed
    if status == 408:
        return NeptuneTimeout
    if status == 409:
        return NeptuneConflict
    if status == 429:
        return NeptuneThrottled
    if status >= 500:
        return NeptuneServerError
    return NeptuneBadRequest


def from_client_error(service: str, err: botocore.exceptions.ClientError) -> WatchError:
    """The named error for a service's error response."""
    response = err.response
    error = response.get("Error", {})
    code = error.get("Code") or ""
    status = int(response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
    # neptunedata puts the text in detailedMessage; botocore's Error.Message is empty there.
    message = response.get("detailedMessage") or error.get("Message") or response.get("message")
    message = message or f"{code or 'HTTP ' + str(status)} from {service}"
    rule = SERVICE_ERRORS.get(service, {}).get(code)
    cls = rule.error if rule else _by_status(status)
    return cls(message, code=code or None, http_status=status or (rule.http_status if rule else None))


def translate(service: str, exc: Exception) -> WatchError:
    """Any exception raised by a botocore call, as a named error."""
    import botocore.exceptions  # here, so that code that never calls AWS does not load botocore
    from botocore.parsers import ResponseParserError

    if isinstance(exc, WatchError):
        return exc
    if isinstance(exc, botocore.exceptions.ClientError):
        return from_client_error(service, exc)
    if isinstance(exc, botocore.exceptions.ReadTimeoutError | botocore.exceptions.ConnectTimeoutError):
        return NeptuneTimeout(f"{service}: {exc}", code="Timeout")
    if isinstance(
        exc,
        botocore.exceptions.EndpointConnectionError
        | botocore.exceptions.ConnectionClosedError
        | botocore.exceptions.ProxyConnectionError,
    ):
        return NeptuneUnavailable(f"{service}: {exc}", code="EndpointUnavailable")
    if isinstance(exc, botocore.exceptions.NoCredentialsError):
        return NeptuneAccessDenied(f"{service}: {exc}", code="NoCredentials")
    if isinstance(exc, botocore.exceptions.ParamValidationError):
        return InvalidRequestError(f"{service}: {exc}", code="ParamValidation")
    if isinstance(exc, ResponseParserError | ValueError | TypeError | AttributeError | KeyError):
        # botocore's parser meeting a body that does not fit the model raises these plain
        # errors (a bad timestamp: ValueError; a string where a structure belongs: AttributeError).
        return NeptuneMalformedResponse(f"{service}: unreadable answer: {type(exc).__name__}: {str(exc)[:300]}")
    raise exc


class ConfigurationError(WatchError):
    """The deployment is missing a setting it needs (e.g. the loader's cluster endpoint)."""


class LockStoreUnavailable(WatchError):
    """The lock table (DynamoDB) or the Step Functions calls of the lock protocol failed in a
    way worth retrying: throttled, 5xx, a timeout or no connection, after botocore's own
    retries. The state machine retries it with backoff; past that, an ERROR outcome."""

    retryable = True


class LockStoreError(WatchError):
    """The lock table refused the call for good (4xx: the table does not exist, access denied,
    no credentials): a deployment problem, never retried."""


# Error codes of the lock protocol's calls (botocore's models for DynamoDB PutItem, UpdateItem,
# GetItem and Step Functions SendTaskSuccess, DescribeExecution, plus the common ones) that mean
# "try again later"; every other 4xx is for good.
_TRANSIENT_STORE_CODES = frozenset({
    "ProvisionedThroughputExceededException", "RequestLimitExceeded", "ThrottlingException",
    "InternalServerError", "TransactionConflictException", "ReplicatedWriteConflictException",
    "KmsThrottlingException", "InternalFailure", "ServiceUnavailable", "RequestTimeout",
})  # fmt: skip


def store_error(service: str, exc: Exception) -> Exception:
    """A botocore failure of the lock protocol's own calls as a named error; anything else as is."""
    import botocore.exceptions

    if isinstance(exc, WatchError):
        return exc
    if isinstance(exc, botocore.exceptions.ClientError):
        error = exc.response.get("Error", {})
        code = error.get("Code") or ""
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
        text = f"{service}: {code or 'HTTP ' + str(status)}: {error.get('Message') or ''}".rstrip(": ")
        if code in _TRANSIENT_STORE_CODES or status >= 500 or status == 429:
            return LockStoreUnavailable(text, code=code or None, http_status=status or None)
        return LockStoreError(text, code=code or None, http_status=status or None)
    if isinstance(exc, botocore.exceptions.NoCredentialsError | botocore.exceptions.PartialCredentialsError):
        return LockStoreError(f"{service}: {exc}", code="NoCredentials")
    if isinstance(exc, botocore.exceptions.BotoCoreError):  # connection, timeout, DNS
        return LockStoreUnavailable(f"{service}: {exc}", code=type(exc).__name__)
    return exc
