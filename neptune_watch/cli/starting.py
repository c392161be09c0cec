"""Start requests from the command line (docs/CONTRACT.md section 4), for ``start-watch`` and ``load``.

``--load s3://...`` (StartLoaderJob), ``--import-source ...`` (StartImportTask) or
``--export-destination s3://...`` (StartExportTask), with the API's parameters as options; the
start request is checked by ``watcher.start`` (botocore's model) before anything is sent.
"""

from __future__ import annotations

import argparse
import json
import os
from typing import Any

from neptune_watch.cli.common import CliError, Exit

# Option -> (start kinds it applies to, the API parameter, how to read it)
_OPTIONS: dict[str, tuple[tuple[str, ...], str, Any]] = {
    "format": (("loader", "import", "export"), "format", str),
    "iam_role_arn": (("loader",), "iamRoleArn", str),
    "s3_bucket_region": (("loader",), "s3BucketRegion", str),
    "mode": (("loader",), "mode", str),
    "parallelism": (("loader",), "parallelism", str),
    "queue_request": (("loader",), "queueRequest", bool),
    "fail_on_error": (("loader", "import"), "failOnError", bool),
    "dependencies": (("loader",), "dependencies", list),
    "parser_configuration": (("loader",), "parserConfiguration", dict),
    "graph_id": (("import", "export"), "graphIdentifier", str),
    "role_arn": (("import", "export"), "roleArn", str),
    "kms_key_identifier": (("export",), "kmsKeyIdentifier", str),
    "parquet_type": (("import", "export"), "parquetType", str),
}


def start_arguments(p: argparse.ArgumentParser, *, loader_only: bool = False) -> None:
    """The start request's options (every value is checked against the API's model later)."""
    g = p.add_argument_group("start the job (a start request)")
    if not loader_only:
        g.add_argument("--load", metavar="S3_URI", help="start a bulk load of this source (StartLoaderJob)")
        g.add_argument("--import-source", metavar="SOURCE", help="start a Neptune Analytics import (StartImportTask)")
        g.add_argument("--export-destination", metavar="S3_URI", help="start a Neptune Analytics export (StartExportTask)")
    g.add_argument("--format", help="data format: csv, opencypher, ntriples, ... (loader); CSV, PARQUET, ... (Analytics)")
    g.add_argument("--iam-role-arn", metavar="ARN", help="loader: the IAM role attached to the cluster, to read S3")
    g.add_argument(
        "--s3-bucket-region", metavar="REGION",
        help="loader: the bucket's region (default: --region, AWS_REGION or AWS_DEFAULT_REGION)",
    )  # fmt: skip
    g.add_argument("--mode", help="loader: NEW, RESUME or AUTO")
    g.add_argument("--parallelism", help="loader: LOW, MEDIUM, HIGH or OVERSUBSCRIBE")
    g.add_argument(
        "--queue-request", action=argparse.BooleanOptionalAction, default=None,
        help="loader: queue the load behind running ones instead of being refused",
    )  # fmt: skip
    g.add_argument("--fail-on-error", action=argparse.BooleanOptionalAction, default=None, help="stop at the first error")
    g.add_argument("--dependencies", nargs="+", metavar="LOAD_ID", help="loader: loads that must succeed first")
    g.add_argument("--parser-configuration", metavar="JSON", help='loader: e.g. \'{"namedGraphUri": "..."}\'')
    if not loader_only:
        g.add_argument("--graph-id", metavar="GRAPH", help="Analytics: the graph (g-xxxxxxxxxx)")
        g.add_argument("--role-arn", metavar="ARN", help="Analytics: the role Neptune Analytics assumes")
        g.add_argument("--kms-key-identifier", metavar="ARN", help="export: the KMS key that encrypts the export")
        g.add_argument("--parquet-type", help="Analytics: COLUMNAR")


def start_from(args: argparse.Namespace, *, kind: str | None = None, source: str | None = None) -> dict[str, Any] | None:
    """The ``start`` object the options describe (None when they describe no start)."""
    if kind is None:
        given = [(k, v) for k, v in (("loader", getattr(args, "load", None)), ("import", getattr(args, "import_source", None)),
                                     ("export", getattr(args, "export_destination", None))) if v]  # fmt: skip
        if len(given) > 1:
            raise CliError("give one of --load, --import-source and --export-destination", Exit.INVALID_REQUEST)
        if not given:
            stray = [f"--{name.replace('_', '-')}" for name in _OPTIONS if getattr(args, name, None) is not None]
            if stray:
                raise CliError(f"{', '.join(stray)}: only with --load, --import-source or --export-destination", Exit.INVALID_REQUEST)
            return None
        kind, source = given[0]
    start: dict[str, Any] = {"kind": kind, "destination" if kind == "export" else "source": source}
    for name, (kinds, param, read) in _OPTIONS.items():
        value = getattr(args, name, None)
        if value is None:
            continue
        if kind not in kinds:
            raise CliError(f"--{name.replace('_', '-')} does not apply to a {kind} start", Exit.INVALID_REQUEST)
        if read is dict:
            try:
                value = json.loads(value)
            except ValueError as err:
                raise CliError(f"--{name.replace('_', '-')} is not valid JSON: {err}", Exit.INVALID_REQUEST) from None
        start[param] = value
    if kind == "loader" and "s3BucketRegion" not in start:
        region = getattr(args, "region", None) or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
        if region:
            start["s3BucketRegion"] = region
    return start


class _NoJob:
    """A start request names no job yet."""

    def as_dict(self) -> None:
        return None


def start_request(args: argparse.Namespace, start: dict[str, Any]) -> dict[str, Any]:
    """The start request: ``start`` and the watch request's options (--timeout, ...)."""
    from neptune_watch.cli.watch import request_from

    return {"start": start, **{k: v for k, v in request_from(args, _NoJob()).items() if k != "job"}}


def check(request: dict[str, Any]) -> dict[str, Any]:
    """The watch ``prepare`` makes of a start request, without a lock (CliError when it is
    invalid): nothing is sent."""
    from watcher.errors import InvalidRequestError
    from watcher.settings import Settings
    from watcher.start import start_watch

    functions = {k: {"status": "cli", "cancel": "cli", "start": "cli"} for k in ("loader", "import", "export")}
    try:
        event = {"request": request, "functions": functions}
        return start_watch(event, execution_id=None, cfg=Settings(), request=request)
    except InvalidRequestError as err:
        raise CliError(err.message, Exit.INVALID_REQUEST) from None
