"""Cold-start benchmark: import time of each Lambda handler module next to ``import boto3``.

    .venv/bin/python bench/coldstart.py [--rounds 15]

Every measurement is a fresh interpreter (``PYTHONPATH=lambdas``, the Powertools variables
the stack sets) that times one ``import`` with ``time.perf_counter``; the process total
(spawn to exit, as seen from here) is recorded too. Rounds are interleaved (every module
once per round, in a shuffled order) so that drift of the machine hits all modules alike.
Medians over the rounds; ratio = handler median / ``boto3`` median.

Then the traced first invocation: a fresh interpreter with tracing on (``LAMBDA_TASK_ROOT``
set, as in Lambda, so Powertools builds its Tracer and loads the X-Ray SDK on the first call)
imports the handler and invokes it once. The status and cancel handlers get a watch event
whose Neptune endpoint refuses the connection at once (127.0.0.1:9), so the invocation pays
what a real first call does before the network (the Tracer, the botocore client and its
service model) and no network wait. Prepare's first call takes the job's lock in DynamoDB, whose
endpoint refuses likewise; finalize makes no call.

After the timing rounds, one ``-X importtime`` run of a status handler says where the time
goes, by the package that pulls each module in (self times, so the parts add up; the
standard-library modules a package imports count for it; -X importtime inflates them all).

The last line is ``worst_ratio=<x> worst_first_call_ms=<ms>``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

from _common import code_version

REPO = Path(__file__).resolve().parents[1]
PYTHON = REPO / ".venv" / "bin" / "python"
sys.path.insert(0, str(REPO / "lambdas"))
from watcher.names import FUNCTIONS  # noqa: E402  (the one table of handlers)

HANDLERS = tuple(f.key for f in FUNCTIONS)
BASELINE = "boto3"
SNIPPET = "import time; t=time.perf_counter(); import {mod}; print(time.perf_counter()-t)"
#: Top-level packages reported as one group in the attribution.
GROUPS = {
    "boto3": "AWS SDK (boto3, botocore, s3transfer, urllib3, jmespath, dateutil, six)",
    "botocore": "AWS SDK (boto3, botocore, s3transfer, urllib3, jmespath, dateutil, six)",
    "s3transfer": "AWS SDK (boto3, botocore, s3transfer, urllib3, jmespath, dateutil, six)",
    "urllib3": "AWS SDK (boto3, botocore, s3transfer, urllib3, jmespath, dateutil, six)",
    "jmespath": "AWS SDK (boto3, botocore, s3transfer, urllib3, jmespath, dateutil, six)",
    "dateutil": "AWS SDK (boto3, botocore, s3transfer, urllib3, jmespath, dateutil, six)",
    "six": "AWS SDK (boto3, botocore, s3transfer, urllib3, jmespath, dateutil, six)",
    "aws_xray_sdk": "aws_xray_sdk (Powertools Tracer), wrapt",
    "wrapt": "aws_xray_sdk (Powertools Tracer), wrapt",
    "aws_lambda_powertools": "aws_lambda_powertools",
    "pydantic": "pydantic, pydantic_core, typing_extensions, annotated_types",
    "pydantic_core": "pydantic, pydantic_core, typing_extensions, annotated_types",
    "typing_extensions": "pydantic, pydantic_core, typing_extensions, annotated_types",
    "annotated_types": "pydantic, pydantic_core, typing_extensions, annotated_types",
    "typing_inspection": "pydantic, pydantic_core, typing_extensions, annotated_types",
    "watcher": "watcher (our code)",
}


def env() -> dict[str, str]:
    e = dict(os.environ)
    e.update(
        PYTHONPATH=str(REPO / "lambdas"),
        POWERTOOLS_SERVICE_NAME="neptune-watch",
        POWERTOOLS_METRICS_NAMESPACE="NeptuneWatch",
    )
    e.pop("PYTHONDONTWRITEBYTECODE", None)  # use .pyc files, as a deployed package does
    return e


def measure(mod: str, environ: dict[str, str]) -> tuple[float, float]:
    """(import seconds inside the process, process total seconds) of one fresh interpreter."""
    started = time.perf_counter()
    out = subprocess.run(
        [str(PYTHON), "-c", SNIPPET.format(mod=mod)],
        env=environ,
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    total = time.perf_counter() - started
    return float(out.stdout.strip().splitlines()[-1]), total


def attribution(mod: str, environ: dict[str, str]) -> tuple[float, list[tuple[str, float]]]:
    """Self time of every module the import of ``mod`` loads, by the package that pulled it
    in: a third-party module counts for its own package, a standard-library module for the
    nearest third-party package above it in the import tree (or for our code). Interpreter
    start-up imports (site, encodings, .pth finders) are outside the tree and not counted."""
    out = subprocess.run(
        [str(PYTHON), "-X", "importtime", "-c", f"import {mod}"],
        env=environ,
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    # -X importtime prints each module when it finishes, children (one level deeper) first.
    pending: dict[int, list[dict]] = defaultdict(list)
    for line in out.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        fields = line[len("import time:") :].split("|")
        raw = fields[2].rstrip()
        name = raw.lstrip()
        depth = (len(raw) - len(name) - 1) // 2
        node = {"name": name, "self": int(fields[0]) / 1e6, "children": pending.pop(depth + 1, [])}
        pending[depth].append(node)
    roots = [n for n in pending.get(0, []) if n["name"].split(".")[0] == mod.split(".")[0]]
    groups: dict[str, float] = defaultdict(float)

    def walk(node: dict, group: str) -> None:
        top = node["name"].split(".")[0]
        if top == "watcher":
            group = GROUPS["watcher"]
        elif top not in sys.stdlib_module_names and not top.startswith("_"):
            group = GROUPS.get(top, top)
        groups[group] += node["self"]
        for child in node["children"]:
            walk(child, group)

    for root in roots:
        walk(root, GROUPS["watcher"])
    return sum(groups.values()), sorted(groups.items(), key=lambda kv: -kv[1])




FIRST_CALL = """
import json, time
t0 = time.perf_counter()
import watcher.handlers.{name} as h
t1 = time.perf_counter()
class Ctx:
    function_name = "nw-{name}"; memory_limit_in_mb = 256; aws_request_id = "r"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:nw-{name}"
    def get_remaining_time_in_millis(self): return 30000
try:
    h.handler(json.loads({event!r}), Ctx())
except Exception as exc:
    assert type(exc).__name__ in ("NeptuneUnavailable", "NeptuneTimeout", "LockStoreUnavailable"), repr(exc)
t2 = time.perf_counter()
print(t1 - t0, t2 - t1)
"""
FNS = {k: {"status": f"arn:fn:{k}-status", "cancel": f"arn:fn:{k}-cancel"} for k in ("loader", "import", "export")}
JOBS = {"loader": {"kind": "loader", "id": "load-1"}, "import": {"kind": "import", "id": "t-abcdefghij"},
        "export": {"kind": "export", "id": "t-0123456789"}}  # fmt: skip


def first_call_event(name: str) -> dict:
    if name == "prepare":
        return {"request": {"job": JOBS["loader"], "correlationId": "c"}, "functions": FNS, "lockTable": "locks",
                "executionId": "arn:x"}  # fmt: skip
    if name == "finalize":
        error = {"Error": "InvalidRequestError", "Cause": "{\"errorMessage\": \"job.kind: bad\"}"}
        return {"state": {"request": {"job": {"kind": "x"}}, "error": error}, "executionId": "arn:x"}
    kind = name.split("_")[0]
    return {"watch": {"job": JOBS[kind], "maxErrors": 0, "next": "POLL", "polls": 0, "generationPolls": 0}}


def first_call(name: str, environ: dict[str, str]) -> tuple[float, float]:
    """(import seconds, first traced invocation seconds) in one fresh interpreter."""
    code = FIRST_CALL.format(name=name, event=json.dumps(first_call_event(name)))
    traced = dict(environ, LAMBDA_TASK_ROOT=str(REPO / "lambdas"), AWS_XRAY_CONTEXT_MISSING="IGNORE_ERROR",
                  NEPTUNE_ENDPOINT="http://127.0.0.1:9", NEPTUNE_GRAPH_ENDPOINT="http://127.0.0.1:9",
                  AWS_ENDPOINT_URL_DYNAMODB="http://127.0.0.1:9",
                  AWS_DEFAULT_REGION="us-east-1", AWS_ACCESS_KEY_ID="x", AWS_SECRET_ACCESS_KEY="x",
                  AWS_LAMBDA_FUNCTION_NAME=f"nw-{name}")  # fmt: skip
    traced.pop("POWERTOOLS_TRACE_DISABLED", None)
    out = subprocess.run([str(PYTHON), "-c", code], env=traced, cwd=REPO, capture_output=True, text=True, check=True)
    t_import, t_call = (float(x) for x in out.stdout.strip().splitlines()[-1].split())
    return t_import, t_call


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=12)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--first-rounds", type=int, default=5)
    args = ap.parse_args(argv)
    environ = env()
    modules = [BASELINE, "", *(f"watcher.handlers.{h}" for h in HANDLERS)]
    rng = random.Random(args.seed)
    started = time.perf_counter()
    load_at_start = os.getloadavg()[0]

    # Warm the file cache and write any missing .pyc once, outside the measurement.
    for mod in modules:
        measure(mod or "sys", environ)

    imports: dict[str, list[float]] = defaultdict(list)
    totals: dict[str, list[float]] = defaultdict(list)
    for _ in range(args.rounds):
        order = modules[:]
        rng.shuffle(order)
        for mod in order:
            t_import, t_total = measure(mod or "sys", environ)  # "" = an empty interpreter
            imports[mod].append(t_import)
            totals[mod].append(t_total)

    base = statistics.median(imports[BASELINE])
    base_total = statistics.median(totals[BASELINE])
    empty_total = statistics.median(totals[""])
    print(f"code: {code_version()}")
    print(
        f"{args.rounds} interleaved rounds, one fresh interpreter per measurement; {sys.version.split()[0]}, "
        f"PYTHONPATH=lambdas, POWERTOOLS_SERVICE_NAME / POWERTOOLS_METRICS_NAMESPACE set"
    )
    print()
    header = f"{'module':<34}{'import median':>14}{'min':>9}{'max':>9}{'ratio':>8}{'process total':>15}{'ratio':>8}"
    print(header)
    print("-" * len(header))
    print(
        f"{'(empty interpreter)':<34}{'':>14}{'':>9}{'':>9}{'':>8}{empty_total * 1000:>12.0f} ms{'':>8}"
    )
    worst = 0.0
    for mod in modules:
        if not mod:
            continue
        med = statistics.median(imports[mod])
        tot = statistics.median(totals[mod])
        ratio = med / base
        if mod != BASELINE:
            worst = max(worst, ratio)
        print(
            f"{mod:<34}{med * 1000:>11.0f} ms{min(imports[mod]) * 1000:>6.0f} ms{max(imports[mod]) * 1000:>6.0f} ms"
            f"{ratio:>7.2f}x{tot * 1000:>12.0f} ms{tot / base_total:>7.2f}x"
        )
    print(
        "ratio: median import time / median `import boto3` (target <= 1.2x); process total ratio likewise"
    )

    print()
    print(f"traced first invocation (tracing on, {args.first_rounds} interleaved rounds, medians):")
    calls: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for _ in range(args.first_rounds):
        order = list(HANDLERS)
        rng.shuffle(order)
        for name in order:
            calls[name].append(first_call(name, environ))
    print(f"  {'handler':<16}{'import':>10}{'first call':>12}{'together':>11}{'vs import boto3':>17}")
    worst_first = 0.0
    for name in HANDLERS:
        imp = statistics.median(c[0] for c in calls[name])
        call = statistics.median(c[1] for c in calls[name])
        both = statistics.median(c[0] + c[1] for c in calls[name])
        worst_first = max(worst_first, both)
        print(f"  {name:<16}{imp * 1000:>7.0f} ms{call * 1000:>9.0f} ms{both * 1000:>8.0f} ms{both / base:>16.2f}x")
    print(
        "  first call: the Tracer (X-Ray SDK), the botocore client with its service model, the handler's work; "
        "status/cancel calls end at a refused connection"
    )

    worst_module = max(
        (m for m in modules if m.startswith("watcher.")),
        key=lambda m: statistics.median(imports[m]),
    )
    probes = [m for m in ("watcher.handlers.loader_status", worst_module, BASELINE) if m]
    for probe in dict.fromkeys(probes):
        total, groups = attribution(probe, environ)
        print()
        print(
            f"where the import time goes: {probe} (one -X importtime run; a stdlib module counts "
            f"for the package that imports it)"
        )
        for name, seconds in groups:
            if seconds < 0.0005:
                continue
            print(f"  {name:<72}{seconds * 1000:>7.0f} ms {100 * seconds / total:>5.1f}%")
        print(f"  {'total':<72}{total * 1000:>7.0f} ms")
    print(f"bench time {time.perf_counter() - started:.1f} s")
    print(
        f"load average (1 min) at start {load_at_start:.2f}, at end {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs"
    )
    print(f"worst_ratio={worst:.2f} worst_first_call_ms={worst_first * 1000:.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
