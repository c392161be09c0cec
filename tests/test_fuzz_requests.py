"""A seeded fuzz of malformed watch requests.

A hand-rolled generator (``random.Random(seed)``: the same seed gives the same requests) takes
a valid request and breaks it one to three ways: not an object, wrong types, unknown fields,
bad kinds, ids with newlines / look-alike unicode / too many characters, oversized fields up to
~250 KB in all (Step Functions' execution input is at most 256 KiB, "as a UTF-8 encoded
string": https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html), nested
junk, and the continuation key ``neptuneWatchResume`` carrying junk.

Every one of them must be refused the same way:
(a) directly, ``prepare`` raises InvalidRequestError with a short message, and the outcome built
    from it is INVALID_REQUEST and small (its Fail cause well under 32,768 characters);
(b) through the deployable definition on the local runtime (a bounded sample): the execution
    ends FAILED with ``NeptuneWatch.INVALID_REQUEST`` within a real-time bound (no hang),
    exactly one SNS message and one EventBridge event carry that outcome, no Neptune call is
    made (the emulator knows the job, so any call would be counted), and no state's input or
    output reaches 256 KiB.

The checks use only what the runtime reports (execution status, error, cause, published
messages, emulator calls, history), not the definition's internals.
"""

from __future__ import annotations

import json
import os
import random
import string
import time
from typing import Any

import pytest
from watcher import clock
from watcher.errors import InvalidRequestError
from watcher.limits import MAX_MESSAGE, json_bytes
from watcher.outcome import finalize
from watcher.settings import Settings
from watcher.watch import prepare

SEED = int(os.environ.get("NEPTUNE_WATCH_FUZZ_SEED", "20261206"))
DIRECT_CASES = int(os.environ.get("NEPTUNE_WATCH_FUZZ_CASES", "400"))
RUNTIME_SAMPLE = 30
MAX_REQUEST_BYTES = 250_000
STATE_LIMIT = 256 * 1024
CAUSE_LIMIT = 32_768

IDS = {"loader": "4f1c2e0a-6b5d-4c3e-9a8f-1d2e3f4a5b6c", "import": "t-a1b2c3d4e5", "export": "t-e5d4c3b2a1"}
FNS = {k: {"status": f"{k}-s", "cancel": f"{k}-c"} for k in IDS}
OPTIONAL = ("timeoutSeconds", "cancelOnTimeout", "maxErrors", "correlationId", "taskToken", "context")
LOOKALIKES = ["\u043e", "\u0430", "\u00e9", "\u200b", "\u2212", "\uff10", "\U0001f600", "\u0131"]  # Cyrillic o and a, e acute, ...


class Gen:
    """Malformed requests from one seed."""

    def __init__(self, seed: int) -> None:
        self.r = random.Random(seed)

    # building blocks -----------------------------------------------------------------------
    def text(self, n: int | None = None) -> str:
        n = self.r.randint(0, 40) if n is None else n
        alphabet = string.ascii_letters + string.digits + " -_/\n\t" + "".join(LOOKALIKES)
        return "".join(self.r.choice(alphabet) for _ in range(n))

    def big(self, low: int = 9_000, high: int = 120_000) -> str:
        return self.r.choice(["x", "é", "\U0001f600", "ab\n"]) * (self.r.randint(low, high) // 3)

    def junk(self, depth: int = 0) -> Any:
        pick = self.r.randrange(8 if depth < 4 else 5)
        if pick == 0:
            return None
        if pick == 1:
            return self.r.choice([True, False])
        if pick == 2:
            return self.r.choice([0, -1, 1.5, 2**63, -(2**70), 10**30])
        if pick in (3, 4):
            return self.text()
        if pick == 5:
            return [self.junk(depth + 1) for _ in range(self.r.randint(0, 4))]
        if pick == 6:
            return {self.text(8): self.junk(depth + 1) for _ in range(self.r.randint(0, 4))}
        return self.deep(self.r.randint(10, 150))

    def deep(self, n: int) -> Any:
        value: Any = self.text(3)
        for _ in range(n):
            value = [value] if self.r.random() < 0.5 else {"k": value}
        return value

    def not_type(self, *allowed: type) -> Any:
        """Junk that is neither null nor of the ``allowed`` types."""
        while True:
            value = self.junk()
            if value is not None and not isinstance(value, allowed):
                return value

    def valid(self) -> dict[str, Any]:
        kind = self.r.choice(list(IDS))
        req: dict[str, Any] = {"job": {"kind": kind, "id": IDS[kind]}}
        good = {"timeoutSeconds": 3600, "cancelOnTimeout": True, "maxErrors": 5, "correlationId": "c-fuzz",
                "taskToken": "token-" + self.text(10).replace("\n", ""), "context": {"run": self.r.randint(0, 99)}}  # fmt: skip
        for name in self.r.sample(OPTIONAL, self.r.randint(0, len(OPTIONAL))):
            req[name] = good[name]
        if self.r.random() < 0.1:
            req["AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID"] = "arn:aws:states:us-east-1:1:execution:p:x"
        return req

    # breaking mutations: each makes the request invalid on its own ------------------------
    def bad_id(self, kind: str) -> Any:
        good = IDS.get(kind, IDS["loader"])
        choices = [
            good + "\n", "\n" + good, good + "\r\n", good + " ", " " + good, "",
            good[:3] + self.r.choice(LOOKALIKES) + good[4:], good + self.r.choice(LOOKALIKES),
            "a" * self.r.randint(129, 4000), "t-" + "a" * self.r.randint(11, 200_000),
            "has/slash", "-starts-with-dash", self.not_type(str), self.big(),
        ]  # fmt: skip
        if kind in ("import", "export"):
            choices += [IDS["loader"], "t-ABCDEFGHIJ", "g-a1b2c3d4e5"]
        return self.r.choice(choices)

    def break_job(self, req: dict[str, Any]) -> None:
        job = req.get("job") if isinstance(req.get("job"), dict) else {"kind": "loader", "id": IDS["loader"]}
        job = dict(job)
        how = self.r.randrange(6)
        if how == 0:
            req.pop("job", None)
            return
        if how == 1:
            req["job"] = self.not_type(dict)
            return
        if how == 2:
            job["kind"] = self.r.choice(["bulk-load", "Loader", " import", "EXPORT", "", self.text(), self.big(1000, 50_000),
                                         self.not_type(str)])  # fmt: skip
        elif how == 3:
            job["id"] = self.bad_id(str(job.get("kind")))
        elif how == 4:
            job.pop(self.r.choice(["kind", "id"]), None)
        else:
            job[self.r.choice(["graphId", "loadId", "Id", self.text(6) + "x"])] = self.junk()
        req["job"] = job

    def break_field(self, req: dict[str, Any]) -> None:
        name = self.r.choice(OPTIONAL)
        if name == "timeoutSeconds":
            value = self.r.choice([0, -5, 400 * 86400, 10**40, 1.5, True, "60", [60], {"s": 1}])
        elif name == "cancelOnTimeout":
            value = self.r.choice(["yes", "true", 1, 0, [True], {"v": True}, self.text()])
        elif name == "maxErrors":
            value = self.r.choice([-1, 1001, 10**12, 2.5, False, "10", [1]])
        elif name == "correlationId":
            value = self.r.choice(["", "c" * self.r.randint(257, 200_000), 42, ["c"], {"id": "c"}, self.big()])
        elif name == "taskToken":
            value = self.r.choice(["", "t" * self.r.randint(2049, 200_000), 7, ["t"], self.big()])
        else:  # context over 8,192 bytes of compact UTF-8 JSON
            value = self.r.choice([
                {"blob": "y" * self.r.randint(8200, 200_000)},
                {"emoji": "\U0001f600" * self.r.randint(2100, 50_000)},
                [self.text(50) for _ in range(self.r.randint(200, 3000))],
                {"deep": self.deep(self.r.randint(10, 150)), "pad": "p" * 9000},
                "é" * self.r.randint(4200, 100_000),
            ])  # fmt: skip
        req[name] = value

    def unknown_field(self, req: dict[str, Any]) -> None:
        name = self.r.choice(["timeout", "Job", "jobId", "cancel_on_timeout", "taskTokens", "detail", self.text(12) + "?",
                              "n" * self.r.randint(100, 100_000), "context\n"])  # fmt: skip
        req[name] = self.junk()

    def resume_key(self, req: dict[str, Any]) -> None:
        req["neptuneWatchResume"] = self.r.choice([
            None, True, 0, "arn:aws:states:us-east-1:123456789012:execution:x:y", [], [{"job": {}}],
            {}, {"jobs": {"kind": "loader"}}, {"watch": {"job": {"kind": "loader", "id": IDS["loader"]}}},
            self.text(), self.big(1000, 100_000),
        ])  # fmt: skip

    def oversize(self, req: dict[str, Any]) -> None:
        """One field of 100..245 KB: near the 256 KiB input limit, far over its own limit."""
        n = self.r.randint(100_000, 245_000)
        where = self.r.choice(["correlationId", "taskToken", "context", "job.id", "job.kind", "unknown"])
        if where.startswith("job."):
            job = dict(req["job"]) if isinstance(req.get("job"), dict) else {"kind": "import"}
            job[where[4:]] = ("t-" if where == "job.id" else "") + "a" * n
            req["job"] = job
        elif where == "unknown":
            req["payload"] = {"blob": "u" * n}
        elif where == "context":
            req["context"] = self.r.choice([{"blob": "y" * n}, "é" * (n // 2), ["\U0001f600" * 100] * (n // 400)])
        else:
            req[where] = "v" * n

    def request(self) -> Any:
        if self.r.random() < 0.07:  # not an object at all
            value = self.r.choice([[], [self.valid()], "watch this", 42, None, True, self.big(1000, 200_000)])
            while input_bytes(value) > MAX_REQUEST_BYTES:
                value = value[: len(value) // 2]
            return value
        req = self.valid()
        mutations = [self.break_job, self.break_field, self.unknown_field, self.resume_key, self.oversize]
        for mutate in self.r.choices(mutations, weights=[4, 4, 2, 1, 3], k=self.r.randint(1, 3)):
            mutate(req)
        return self.fit(req)

    def fit(self, req: dict[str, Any]) -> dict[str, Any]:
        """Shrink the largest field until the request is within the execution input limit."""
        while input_bytes(req) > MAX_REQUEST_BYTES:
            name = max(req, key=lambda k: input_bytes(req[k]) + len(k))
            if len(name) > 1000:
                req[name[:1000]] = req.pop(name)
                continue
            value = req[name]
            req[name] = value[: len(value) // 2] if isinstance(value, str | list) else {"cut": "z" * 9000}
        return req


def input_bytes(value: Any) -> int:
    """The request's size as an execution input, measured the stricter of two ways.

    AWS counts the input string's UTF-8 bytes. A caller that writes it with Python's default
    ``json.dumps`` sends non-ASCII characters as ``\\u`` escapes (up to 12 bytes for one emoji),
    and moto's interpreter measures each state that way too (``json.dumps`` with its default
    separators, moto/stepfunctions/parser/quotas.py). The sample stays within both.
    """
    return max(json_bytes(value), len(json.dumps(value).encode()))


def requests(n: int, seed: int = SEED) -> list[Any]:
    g = Gen(seed)
    return [g.request() for _ in range(n)]


# --- the generator itself ------------------------------------------------------------------


def test_the_generator_is_seeded_and_covers_every_kind_of_break():
    first, again = requests(200), requests(200)
    assert json.dumps(first) == json.dumps(again)
    assert json.dumps(first) != json.dumps(requests(200, SEED + 1))
    text = [json.dumps(r, ensure_ascii=False) for r in first]
    sizes = [input_bytes(r) for r in first]
    assert max(sizes) <= MAX_REQUEST_BYTES and sum(size > 100_000 for size in sizes) >= 20
    assert sum(not isinstance(r, dict) for r in first) >= 3
    assert any("neptuneWatchResume" in r for r in first if isinstance(r, dict))
    assert any(t for t in text if '\\n"' in t)  # an id (or field) ending in a newline
    assert any(isinstance(r, dict) and "job" not in r and "neptuneWatchResume" not in r for r in first)


# --- (a) directly against prepare ----------------------------------------------------------


@pytest.fixture
def fixed_clock():
    clock.use(lambda: 1_800_000_000.0)
    yield
    clock.use(None)


def _lambda_error(message: str) -> dict[str, str]:
    """Prepare's error as a Lambda task's Catch puts it in the state."""
    cause = {"errorMessage": message, "errorType": "InvalidRequestError", "requestId": "r", "stackTrace": []}
    return {"Error": "InvalidRequestError", "Cause": json.dumps(cause)}


@pytest.mark.usefixtures("fixed_clock")
def test_every_malformed_request_is_refused_by_prepare_with_a_small_outcome():
    for i, request in enumerate(requests(DIRECT_CASES)):
        where = f"case {i} (seed {SEED})"
        with pytest.raises(InvalidRequestError) as info:
            prepare({"request": request, "functions": FNS, "executionId": "arn:x"}, execution_id="arn:x", cfg=Settings())
        assert 0 < len(info.value.message) <= MAX_MESSAGE, where


@pytest.mark.usefixtures("fixed_clock")
def test_the_outcome_of_every_malformed_request_is_small():
    """The outcome Finalize builds from Prepare's error (the Lambda-level view of (b))."""
    for i, request in enumerate(requests(DIRECT_CASES)):
        where = f"case {i} (seed {SEED})"
        with pytest.raises(InvalidRequestError) as info:
            prepare({"request": request, "functions": FNS, "executionId": "arn:x"}, execution_id="arn:x", cfg=Settings())
        error = _lambda_error(info.value.message)
        final = finalize({"state": {"request": request, "error": error}, "executionId": f"arn:x:{i}"})
        outcome = final["outcome"]
        assert outcome["outcome"] == "INVALID_REQUEST" and final["error"] == "NeptuneWatch.INVALID_REQUEST", where
        assert (outcome["polls"], outcome["status"], outcome["errors"]) == (0, None, []), where
        assert json_bytes(outcome) < 8 * 1024, where
        assert len(final["cause"]) < CAUSE_LIMIT and json.loads(final["cause"]) == outcome, where
        # The state after Finalize (request, error, Finalize's result) stays under 256 KiB.
        state = {"request": request, "error": error, "finalized": {"final": final}}
        assert json_bytes(state) < STATE_LIMIT, where


# --- (b) a sample through the definition on the local runtime ------------------------------


@pytest.mark.runtime
def test_a_sample_of_malformed_requests_through_the_state_machine():
    from neptune_watch.local.runtime import LocalRuntime
    from neptune_watch.scenario import load_scenario

    sample = requests(RUNTIME_SAMPLE, SEED + 7)
    known = [{"kind": k, "id": v, "timeline": [{"at": 0, "status": "LOAD_IN_PROGRESS" if k == "loader" else "EXPORTING"}]}
             for k, v in IDS.items()]  # fmt: skip
    sc = load_scenario({"request": {}, "jobs": known})
    with LocalRuntime(jobs=sc.all_jobs()) as rt:
        arns = [rt.start(request) for request in sample]
        deadline = time.monotonic() + 240
        ends = [rt.wait(arn, timeout=max(1.0, deadline - time.monotonic())) for arn in arns]  # no hang
        histories = {arn: rt.history(arn) for arn in arns}
        sns, events, calls = rt.sns_messages(), rt.events(), dict(rt.emulator.calls)

    assert sum(calls.values()) == 0, calls  # not one Neptune call for any of them
    assert len(sns) == len(events) == len(sample), (len(sns), len(events))
    outcomes = []
    for i, (arn, desc) in enumerate(zip(arns, ends, strict=True)):
        where = f"sample {i} (seed {SEED + 7}): {json.dumps(sample[i])[:200]}"
        # The cause names what went wrong when it is not the outcome (a States.Runtime under load).
        assert (desc["status"], desc.get("error")) == ("FAILED", "NeptuneWatch.INVALID_REQUEST"), (
            f"{where}; cause: {str(desc.get('cause'))[:1500]}"
        )
        outcome = json.loads(desc["cause"])
        assert outcome["outcome"] == "INVALID_REQUEST" and outcome["polls"] == 0, where
        outcomes.append(outcome)
        for event in histories[arn]:
            for details in (v for k, v in event.items() if k.endswith("Details") and isinstance(v, dict)):
                for value in details.values():
                    if isinstance(value, str):
                        assert len(value.encode()) < STATE_LIMIT, (where, event["type"])
    # Exactly one SNS message and one event per execution, each carrying that execution's outcome.
    for i, outcome in enumerate(outcomes):
        same = outcomes.count(outcome)
        assert sum(m["message"] == outcome for m in sns) == same, f"sample {i}"
        assert sum(e["detail"] == outcome for e in events) == same, f"sample {i}"
    assert all(m["attributes"]["outcome"] == "INVALID_REQUEST" for m in sns)
    assert all(e["detailType"] == "Neptune Watch Request Invalid" for e in events)
