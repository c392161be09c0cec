"""What every ``neptune-watch`` command shares: exit codes, errors, I/O, job specs, AWS clients.

A command module registers its subcommand with ``register(subparsers)`` and sets ``func``; the
function takes the parsed arguments and returns the exit code. Errors a user can act on are
raised as :class:`CliError` and printed as one ``neptune-watch: ...`` line by ``main``.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any, TextIO, TypeVar
from urllib.parse import urlsplit, urlunsplit

PROG = "neptune-watch"
KINDS = ("loader", "import", "export")


class Exit(IntEnum):
    """Exit codes. A watch exits by its outcome, so shell scripts and CI can branch on it."""

    SUCCEEDED = 0
    ERROR = 1  # the watch or the command could not go on (access denied, no credentials, retries exhausted)
    INVALID_REQUEST = 2  # bad arguments or job spec; nothing was sent
    FAILED = 3
    CANCELLED = 4
    TIMED_OUT = 5
    NOT_FOUND = 6
    INTERRUPTED = 130  # Ctrl-C


def exit_for(outcome: str | None) -> int:
    """The exit code of an outcome name (anything unknown is ERROR)."""
    try:
        return int(Exit[outcome or "ERROR"])
    except KeyError:
        return int(Exit.ERROR)


EXIT_CODES_HELP = (
    "exit codes: 0 SUCCEEDED, 3 FAILED, 4 CANCELLED, 5 TIMED_OUT, 6 NOT_FOUND, "
    "1 ERROR (access denied, no credentials, retries exhausted), 2 bad arguments, 130 interrupted"
)


class CliError(Exception):
    """An error the user can act on: printed as one line, exits with ``code``."""

    def __init__(self, message: str, code: int = Exit.ERROR) -> None:
        super().__init__(message)
        self.message = message
        self.code = int(code)


@dataclass
class Io:
    """The streams and clock a command uses (tests swap them)."""

    stdout: TextIO = field(default_factory=lambda: sys.stdout)
    stderr: TextIO = field(default_factory=lambda: sys.stderr)
    sleep: Callable[[float], None] = time.sleep
    force_terminal: bool | None = None  # None: ask the stream

    def console(self, *, stderr: bool = True) -> Any:
        from rich.console import Console

        stream = self.stderr if stderr else self.stdout
        return Console(file=stream, force_terminal=self.force_terminal, highlight=False, soft_wrap=True)

    def out(self, text: str = "") -> None:
        self.stdout.write(text + "\n")
        self.stdout.flush()


def fail(io: Io, message: str, code: int) -> int:
    io.stderr.write(f"{PROG}: {message}\n")
    io.stderr.flush()
    return int(code)


# --- jobs -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Job:
    kind: str
    id: str

    def __str__(self) -> str:
        return f"{self.kind}:{self.id}"

    def as_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "id": self.id}


def parse_job(text: str) -> Job:
    """``loader:<loadId>``, ``import:<taskId>`` or ``export:<taskId>``, checked as the watch checks it."""
    from watcher.errors import InvalidRequestError
    from watcher.request import check_id

    kind, sep, job_id = text.partition(":")
    if not sep or kind not in KINDS:
        raise CliError(
            f"bad job {text!r}: write loader:<loadId>, import:<taskId> or export:<taskId>", Exit.INVALID_REQUEST
        )
    try:
        check_id(kind, job_id)
    except InvalidRequestError as err:
        raise CliError(f"bad job {text!r}: {err.message}", Exit.INVALID_REQUEST) from None
    return Job(kind, job_id)


def job_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "job",
        help="the job: loader:<loadId> (Neptune Database bulk load), import:<taskId> or export:<taskId> "
        "(Neptune Analytics task, t-xxxxxxxxxx)",
    )


# --- AWS ------------------------------------------------------------------------------------


def aws_arguments(parser: argparse.ArgumentParser, *, neptune: bool = True) -> None:
    group = parser.add_argument_group("AWS")
    group.add_argument("--region", help="AWS region (default: AWS_REGION / AWS_DEFAULT_REGION or the profile's)")
    group.add_argument("--profile", help="named profile of the AWS config and credentials files")
    if neptune:
        group.add_argument(
            "--endpoint",
            default=os.environ.get("NEPTUNE_ENDPOINT") or None,
            help="the Neptune cluster's writer endpoint, for loader jobs: host, host:port or URL "
            "(https and port 8182 assumed; default: NEPTUNE_ENDPOINT)",
        )
    group.add_argument(
        "--endpoint-url",
        metavar="URL",
        help="send every AWS call to this URL instead (a local emulator, a VPC endpoint)",
    )


def cluster_url(endpoint: str) -> str:
    """A cluster endpoint as the URL the neptunedata client needs (https, port 8182 by default)."""
    text = endpoint.strip()
    if "://" not in text:
        text = f"https://{text}"
    parts = urlsplit(text)
    if not parts.hostname:
        raise CliError(f"bad --endpoint {endpoint!r}: expected a host name, host:port or URL", Exit.INVALID_REQUEST)
    netloc = parts.netloc if parts.port else f"{parts.netloc}:8182"
    return urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))


def session(args: argparse.Namespace) -> Any:
    """A boto3 session with the user's profile and region; CliError when either is unusable."""
    import boto3
    import botocore.exceptions
    import botocore.session
    from watcher.clients import lenient_timestamp

    core = botocore.session.Session()
    # As the handlers' clients: an impossible timestamp does not make the whole answer unreadable.
    core.get_component("response_parser_factory").set_parser_defaults(timestamp_parser=lenient_timestamp)
    try:
        sess = boto3.session.Session(botocore_session=core, profile_name=args.profile, region_name=args.region)
    except botocore.exceptions.ProfileNotFound:
        raise CliError(f"the AWS profile {args.profile!r} is not in your AWS config") from None
    if not sess.region_name:
        raise CliError("no AWS region: pass --region, set AWS_REGION, or use a profile that has one")
    if sess.get_credentials() is None:
        raise CliError("no AWS credentials: configure a profile (aws configure), pass --profile, or set AWS_ACCESS_KEY_ID")
    return sess


def client(args: argparse.Namespace, service: str, endpoint_url: str | None = None) -> Any:
    """A client that sends exactly one request per call (retries are ours: see :func:`retrying`)."""
    from watcher.clients import client_config
    from watcher.settings import Settings

    url = args.endpoint_url or endpoint_url
    kwargs: dict[str, Any] = {"config": client_config(Settings())}
    if url:
        kwargs["endpoint_url"] = url
    return session(args).client(service, **kwargs)


def neptune_clients(args: argparse.Namespace, kind: str) -> dict[str, Any]:
    """The client a job of ``kind`` needs, keyed by service name."""
    if kind == "loader":
        if not (args.endpoint or args.endpoint_url):
            raise CliError(
                "loader jobs need the cluster's endpoint: pass --endpoint <cluster-endpoint> "
                "(or set NEPTUNE_ENDPOINT); the loader API is only reachable inside the cluster's VPC",
                Exit.INVALID_REQUEST,
            )
        url = cluster_url(args.endpoint) if args.endpoint and not args.endpoint_url else None
        return {"neptunedata": client(args, "neptunedata", url)}
    return {"neptune-graph": client(args, "neptune-graph")}


# --- retries (the state machine's Retry on the poll tasks, in code) -------------------------


@dataclass(frozen=True)
class Backoff:
    interval: float
    max_attempts: int
    rate: float
    max_delay: float

    def delay(self, retry: int, rng: Callable[[], float]) -> float:
        """Full jitter: uniform in [0, min(max_delay, interval * rate**retry))."""
        return min(self.max_delay, self.interval * self.rate**retry) * rng()


# The same numbers as the Retry of the status and cancel tasks in statemachines/watch.asl.json
# (tests/test_cli_aws.py checks they agree): throttling, then 5xx / timeouts / unreachable.
THROTTLED = Backoff(interval=2, max_attempts=8, rate=2.0, max_delay=120)
TRANSIENT = Backoff(interval=3, max_attempts=5, rate=2.0, max_delay=120)

T = TypeVar("T")


def retrying(
    fn: Callable[[], T],
    *,
    sleep: Callable[[float], None],
    on_retry: Callable[[Exception, float], None] | None = None,
    rng: Callable[[], float] = random.random,
) -> T:
    """``fn()``, retried like the state machine does: 4xx never, throttling and 5xx with backoff."""
    from watcher.errors import NeptuneThrottled, WatchError

    retries = {THROTTLED: 0, TRANSIENT: 0}
    while True:
        try:
            return fn()
        except WatchError as err:
            if not err.retryable:
                raise
            rule = THROTTLED if isinstance(err, NeptuneThrottled) else TRANSIENT
            if retries[rule] >= rule.max_attempts:
                raise
            wait = rule.delay(retries[rule], rng)
            retries[rule] += 1
            if on_retry is not None:
                on_retry(err, wait)
            sleep(wait)


def retry_note(io: Io) -> Callable[[Exception, float], None]:
    """Say on stderr that a call is being retried (a silent wait would look like a hang)."""

    def note(err: Exception, wait: float) -> None:
        io.stderr.write(f"{PROG}: {getattr(err, 'code', type(err).__name__)}: retrying in {wait:.1f} s\n")
        io.stderr.flush()

    return note


def settings_for(args: argparse.Namespace) -> Any:
    """The deployment defaults (poll policy, timeouts), with the command's overrides."""
    from watcher.settings import Settings

    cfg = Settings()
    changes = {}
    if getattr(args, "min_wait", None) is not None:
        changes["min_wait_seconds"] = args.min_wait
    if getattr(args, "max_wait", None) is not None:
        changes["max_wait_seconds"] = args.max_wait
    return dataclasses.replace(cfg, **changes)


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not positive")
    return value


def describe_error(err: Exception) -> tuple[str, int]:
    """(one-line message, exit code) for an error a Neptune call raised."""
    from watcher.errors import (
        InvalidRequestError,
        NeptuneAccessDenied,
        NeptuneMethodNotAllowed,
        NeptuneNotFound,
        WatchError,
    )

    if isinstance(err, NeptuneNotFound):
        return f"not found: {err.message}", Exit.NOT_FOUND
    if isinstance(err, InvalidRequestError):
        return err.message, Exit.INVALID_REQUEST
    if isinstance(err, NeptuneAccessDenied):
        return f"access denied: {err.message}", Exit.ERROR
    if isinstance(err, NeptuneMethodNotAllowed):
        return f"{err.message} (point --endpoint at the cluster's writer endpoint, not a reader)", Exit.ERROR
    if isinstance(err, WatchError):
        return f"{err.code}: {err.message}", Exit.ERROR
    return f"{type(err).__name__}: {err}", Exit.ERROR


class using_clients:
    """Route watcher.neptune's calls through the user's clients for a job of ``kind``."""

    def __init__(self, args: argparse.Namespace, kind: str) -> None:
        self.given = neptune_clients(args, kind)

    def __enter__(self) -> dict[str, Any]:
        from watcher import clients

        clients.use(self.given)
        return self.given

    def __exit__(self, *exc: object) -> None:
        from watcher import clients

        clients.use({})
