"""Static checks of a state machine definition (imported by tests/test_definition_lint.py).

Two kinds: third-party validators (statelint from PyPI; asl-validator and AWS's
amazon-states-language-service from npm, run by ``tools/validate_asl.js``), and our own rules
that no validator knows. Each rule is a function ``definition -> list[Finding]`` so a test can
show both that today's definition passes it and that a broken one does not.

AWS documentation each rule follows (cited again where used):
- Error names: https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html
  ("States.Timeout: a Task state ran longer than the TimeoutSeconds value, or failed to send a
  heartbeat for a period longer than the HeartbeatSeconds value").
- Lambda service errors: https://docs.aws.amazon.com/step-functions/latest/dg/bp-lambda-serviceexception.html
  (retry Lambda.ClientExecutionTimeoutException, Lambda.ServiceException,
  Lambda.AWSLambdaException, Lambda.SdkClientException; unhandled errors, including function
  timeouts, are reported as Lambda.Unknown; throttling is Lambda.TooManyRequestsException).
- SDK integrations: https://docs.aws.amazon.com/step-functions/latest/dg/supported-services-awssdk.html
  (the error is ``ServiceName.ErrorName`` from the API reference, always with the ``Exception``
  suffix even where the service's own name lacks it).
- DynamoDB optimized integration: https://docs.aws.amazon.com/step-functions/latest/dg/connect-ddb.html
  (the prefix is ``DynamoDB``; the SDK integration's is ``DynamoDb``).
- EventBridge optimized integration: https://docs.aws.amazon.com/step-functions/latest/dg/connect-eventbridge.html
  (a non-zero FailedEntryCount fails the task with ``EventBridge.FailedEntry``).
- Errors every AWS API may answer: https://docs.aws.amazon.com/general/latest/gr/api-retries.html
  and the CommonErrors page of each API reference (ThrottlingException, AccessDeniedException, ...).
- Choice on a missing path: https://docs.aws.amazon.com/step-functions/latest/dg/state-choice.html
  (``IsPresent`` tests whether a field exists; comparing a path that is absent fails the
  execution with States.Runtime: see concepts-error-handling, States.Runtime).
"""

from __future__ import annotations

import inspect
import json
import re
import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
ASL_PATH = REPO / "statemachines" / "watch.asl.json"
EXAMPLES = sorted((REPO / "examples").glob("*.asl.json"))
VALIDATE_JS = REPO / "tools" / "validate_asl.js"
PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9_]+)\}")

REGION, ACCOUNT = "eu-west-1", "123456789012"

# A realistic value for a placeholder, by the suffix of its name: an ARN of the right service
# where an ARN goes, a name where a name goes. A placeholder no suffix fits is an error, so a
# new kind of placeholder is noticed here rather than validated as a bare string.
_SUFFIX_VALUES: list[tuple[str, Callable[[str], str]]] = [
    ("FunctionArn", lambda n: f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:neptune-watch-{n}"),
    ("TopicArn", lambda n: f"arn:aws:sns:{REGION}:{ACCOUNT}:neptune-watch-{n}"),
    ("QueueArn", lambda n: f"arn:aws:sqs:{REGION}:{ACCOUNT}:neptune-watch-{n}"),
    ("QueueUrl", lambda n: f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/neptune-watch-{n}"),
    ("StateMachineArn", lambda n: f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:neptune-watch-{n}"),
    ("BusArn", lambda n: f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/neptune-watch-{n}"),
    ("TableArn", lambda n: f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/neptune-watch-{n}"),
    ("KeyArn", lambda n: f"arn:aws:kms:{REGION}:{ACCOUNT}:key/0b7ec1d2-3f4a-4b5c-8d9e-0f1a2b3c4d5e"),
    ("Name", lambda n: f"neptune-watch-{n}"),
    ("Source", lambda n: "com.neptunewatch"),
]


def placeholder_value(name: str) -> str:
    for suffix, make in _SUFFIX_VALUES:
        if name.endswith(suffix):
            return make(name[: -len(suffix)].lower() or name.lower())
    raise KeyError(f"placeholder ${{{name}}}: no realistic value for this suffix; add it to _SUFFIX_VALUES")


def substitute_file(text: str) -> str:
    """The definition file with every ``${Name}`` replaced as DefinitionSubstitutions would."""
    return PLACEHOLDER.sub(lambda m: placeholder_value(m.group(1)), text)


def _resolve_cfn(value: Any, template: dict[str, Any]) -> str:
    """A DefinitionSubstitutions value (Ref / Fn::GetAtt / literal) as the string CloudFormation
    would put there: the ARN or name of the right service for the referenced resource."""
    if isinstance(value, str):
        return value
    resources = template["Resources"]
    if "Fn::GetAtt" in value:
        rid, attr = value["Fn::GetAtt"]
        rtype = resources[rid]["Type"]
        arns = {
            ("AWS::Lambda::Function", "Arn"): f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{rid}",
            ("AWS::SQS::Queue", "Arn"): f"arn:aws:sqs:{REGION}:{ACCOUNT}:{rid}",
            ("AWS::DynamoDB::Table", "Arn"): f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{rid}",
            ("AWS::Events::EventBus", "Arn"): f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/{rid}",
            ("AWS::SNS::Topic", "TopicArn"): f"arn:aws:sns:{REGION}:{ACCOUNT}:{rid}",
            ("AWS::SQS::Queue", "QueueUrl"): f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{rid}",
            ("AWS::KMS::Key", "Arn"): f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{rid}",
        }
        return arns[(rtype, attr)]
    if "Ref" in value:
        rid = value["Ref"]
        if rid not in resources:  # a parameter or pseudo parameter
            return {"AWS::Region": REGION, "AWS::AccountId": ACCOUNT}.get(rid, rid)
        rtype = resources[rid]["Type"]
        # What Ref returns, per each resource type's CloudFormation page.
        refs = {
            "AWS::SNS::Topic": f"arn:aws:sns:{REGION}:{ACCOUNT}:{rid}",
            "AWS::SQS::Queue": f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{rid}",
            "AWS::DynamoDB::Table": rid,
            "AWS::Events::EventBus": rid,
            "AWS::Lambda::Function": rid,
            "AWS::StepFunctions::StateMachine": f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{rid}",
        }
        return refs[rtype]
    if "Fn::Join" in value:
        sep, parts = value["Fn::Join"]
        return sep.join(_resolve_cfn(p, template) for p in parts)
    raise ValueError(f"cannot resolve {value!r}")


def substitute_template(template: dict[str, Any]) -> str:
    """The watcher definition a synthesized template carries, its substitutions resolved."""
    machines = [
        r["Properties"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::StepFunctions::StateMachine"
        and "neptuneWatchContinue" in str(r["Properties"].get("DefinitionString", ""))
    ]
    assert len(machines) == 1, "expected one neptune-watch state machine in the template"
    props = machines[0]
    values = {k: _resolve_cfn(v, template) for k, v in props.get("DefinitionSubstitutions", {}).items()}
    return PLACEHOLDER.sub(lambda m: values[m.group(1)], props["DefinitionString"])


# --- third-party validators -------------------------------------------------------------


def statelint(text: str) -> list[str]:
    """statelint's problems (a list of sentences) for one definition."""
    from statelint.config import Config
    from statelint.linter import Linter

    return list(Linter.validate(text, Config()))


def node_validators(definitions: dict[str, str], node: str | None = None) -> dict[str, dict[str, list[str]]]:
    """asl-validator's and amazon-states-language-service's findings for each definition."""
    node = node or shutil.which("node") or "node"
    proc = subprocess.run(
        [node, str(VALIDATE_JS)],
        input=json.dumps(definitions),
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=300,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{VALIDATE_JS.name} exited {proc.returncode}: {proc.stderr}")
    return json.loads(proc.stdout)


# --- the state graph ----------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    state: str
    rule: str
    why: str

    def __str__(self) -> str:
        return f"{self.state}: [{self.rule}] {self.why}"


def walk_states(definition: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every state, including those inside Parallel branches and Map processors."""
    for name, state in definition["States"].items():
        yield name, state
        for branch in state.get("Branches", []):
            yield from walk_states(branch)
        for key in ("ItemProcessor", "Iterator"):
            if key in state:
                yield from walk_states(state[key])


def edges(definition: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(from, to, how) for every transition of the top-level graph: ``how`` is
    {"kind": "next"}, {"kind": "choice", "rule": rule} or {"kind": "catch", "catcher": c}."""
    for name, state in definition["States"].items():
        if "Next" in state:
            yield name, state["Next"], {"kind": "next"}
        if "Default" in state:
            yield name, state["Default"], {"kind": "default"}
        for rule in state.get("Choices", []):
            yield name, rule["Next"], {"kind": "choice", "rule": rule}
        for catcher in state.get("Catch", []):
            yield name, catcher["Next"], {"kind": "catch", "catcher": catcher}


def graph(definition: dict[str, Any]) -> Any:
    import networkx as nx

    g = nx.DiGraph()
    g.add_nodes_from(definition["States"])
    g.add_edges_from((a, b) for a, b, _ in edges(definition))
    return g


def is_lambda_task(state: dict[str, Any]) -> bool:
    resource = state.get("Resource", "")
    return state.get("Type") == "Task" and (
        resource.startswith("arn:aws:states:::lambda:invoke") or ":lambda:" in resource
    )


# --- rule 1: every Retry name is an error the task can raise --------------------------------

# Lambda's service errors as Step Functions names them (bp-lambda-serviceexception).
LAMBDA_SERVICE_ERRORS = (
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.ClientExecutionTimeoutException",
)
LAMBDA_OTHER_ERRORS = ("Lambda.TooManyRequestsException", "Lambda.Unknown")

# Errors of the AWS query/JSON protocols every API may answer (the API references' CommonErrors).
COMMON_ERRORS = (
    "AccessDeniedException", "ExpiredTokenException", "IncompleteSignatureException",
    "InternalFailureException", "NotAuthorizedException", "RequestExpiredException",
    "ServiceUnavailableException", "ThrottlingException", "UnrecognizedClientException",
    "ValidationErrorException",
)  # fmt: skip

# Optimized integration resource -> (Step Functions' prefix, botocore service, operation).
OPTIMIZED = {
    "sns:publish": ("SNS", "sns", "Publish"),
    "events:putEvents": ("EventBridge", "events", "PutEvents"),
    "dynamodb:putItem": ("DynamoDB", "dynamodb", "PutItem"),
    "dynamodb:getItem": ("DynamoDB", "dynamodb", "GetItem"),
    "dynamodb:deleteItem": ("DynamoDB", "dynamodb", "DeleteItem"),
    "dynamodb:updateItem": ("DynamoDB", "dynamodb", "UpdateItem"),
    "sqs:sendMessage": ("SQS", "sqs", "SendMessage"),
    "states:startExecution": ("StepFunctions", "stepfunctions", "StartExecution"),
}
# Errors an optimized integration raises beyond its API's (connect-eventbridge).
INTEGRATION_EXTRA = {"events:putEvents": ("EventBridge.FailedEntry",)}
# botocore's service names of the SDK integrations' service names (arn:aws:states:::aws-sdk:<x>:...).
SDK_SERVICES = {"sfn": ("Sfn", "stepfunctions"), "dynamodb": ("DynamoDb", "dynamodb"),
                "sns": ("Sns", "sns"), "eventbridge": ("EventBridge", "events"), "sqs": ("Sqs", "sqs"),
                "cloudwatch": ("CloudWatch", "cloudwatch")}  # fmt: skip


def _with_suffix(name: str) -> str:
    return name if name.endswith("Exception") else name + "Exception"


@cache
def _operation_errors(service: str, operation: str) -> frozenset[str]:
    import botocore.session

    model = botocore.session.get_session().get_service_model(service).operation_model(operation)
    return frozenset(_with_suffix(shape.name) for shape in model.error_shapes)


@cache
def handler_errors() -> frozenset[str]:
    """The exception classes our handlers raise on purpose (Lambda reports the class name)."""
    from watcher import errors

    return frozenset(
        name for name, cls in inspect.getmembers(errors, inspect.isclass)
        if issubclass(cls, errors.WatchError)
    )  # fmt: skip


def _states_errors(state: dict[str, Any]) -> set[str]:
    names = {"States.ALL", "States.TaskFailed", "States.Permissions"}
    if any(k in state for k in ("TimeoutSeconds", "TimeoutSecondsPath", "HeartbeatSeconds", "HeartbeatSecondsPath")):
        names.add("States.Timeout")
    if any(k in state for k in ("HeartbeatSeconds", "HeartbeatSecondsPath")):
        names.add("States.HeartbeatTimeout")
    return names


def raisable_errors(state: dict[str, Any]) -> set[str] | None:
    """The error names a Task state can fail with, or None for a resource we do not model."""
    names = _states_errors(state)
    resource = state["Resource"]
    if is_lambda_task(state):
        lam = {f"Lambda.{e}" for e in _operation_errors("lambda", "Invoke")}
        return names | set(LAMBDA_SERVICE_ERRORS) | set(LAMBDA_OTHER_ERRORS) | lam | set(handler_errors())
    if resource.startswith("arn:aws:states:::aws-sdk:"):
        service, action = resource.split(":")[6:8]
        if service not in SDK_SERVICES:
            return None
        prefix, botocore_name = SDK_SERVICES[service]
        operation = action.split(".")[0]
        operation = operation[0].upper() + operation[1:]
        api = _operation_errors(botocore_name, operation) | set(COMMON_ERRORS)
        return names | {f"{prefix}.{e}" for e in api}
    key = resource.removeprefix("arn:aws:states:::").split(".")[0]
    if key in OPTIMIZED:
        prefix, service, operation = OPTIMIZED[key]
        api = _operation_errors(service, operation) | set(COMMON_ERRORS)
        return names | {f"{prefix}.{e}" for e in api} | set(INTEGRATION_EXTRA.get(key, ()))
    return None


def rule_retry_names_raisable(definition: dict[str, Any]) -> list[Finding]:
    out = []
    for name, state in walk_states(definition):
        if state.get("Type") != "Task":
            continue
        allowed = raisable_errors(state)
        if allowed is None:
            out.append(Finding(name, "retry-names", f"resource {state['Resource']} is not modelled by this rule"))
            continue
        for field in ("Retry", "Catch"):
            for entry in state.get(field, []):
                for error in entry["ErrorEquals"]:
                    if error not in allowed:
                        note = " (no TimeoutSeconds/HeartbeatSeconds)" if error == "States.Timeout" else ""
                        why = f"{field} on {error!r}, which {state['Resource']} never raises{note}"
                        out.append(Finding(name, "retry-names", why))
    return out


# --- rule 2: Lambda tasks retry every Lambda service error, ClientExecutionTimeout included ---


def rule_lambda_service_errors_retried(definition: dict[str, Any]) -> list[Finding]:
    out = []
    for name, state in walk_states(definition):
        if not is_lambda_task(state):
            continue
        retried: set[str] = set()
        for retrier in state.get("Retry", []):
            retried |= set(retrier["ErrorEquals"])
        if "States.ALL" in retried:
            continue
        missing = [e for e in LAMBDA_SERVICE_ERRORS if e not in retried]
        if missing:
            out.append(Finding(name, "lambda-service-errors", f"no Retry on {', '.join(missing)}"))
    return out


def rule_put_events_retries_failed_entry(definition: dict[str, Any]) -> list[Finding]:
    """An events:putEvents task retries EventBridge.FailedEntry: the optimized integration
    fails the task with it when PutEvents answers a non-zero FailedEntryCount (e.g. a
    per-entry throttle), which no other name matches but States.ALL / States.TaskFailed."""
    out = []
    for name, state in walk_states(definition):
        if not state.get("Resource", "").startswith("arn:aws:states:::events:putEvents"):
            continue
        retried = {e for r in state.get("Retry", []) for e in r["ErrorEquals"]}
        if not retried & {"EventBridge.FailedEntry", "States.ALL", "States.TaskFailed"}:
            out.append(Finding(name, "put-events-failed-entry", "no Retry on EventBridge.FailedEntry"))
    return out


# --- rule 3: a Lambda task's TimeoutSeconds exceeds its function's timeout -------------------


def _function_targets(state: dict[str, Any], definition_text: str) -> list[str]:
    """The placeholders of the functions a Lambda task may invoke: its literal FunctionName, or,
    when the name comes from a path, every function the definition names (it could be any)."""
    params = state.get("Parameters", {})
    literal = params.get("FunctionName") or state.get("Resource", "")
    found = PLACEHOLDER.findall(literal) if isinstance(literal, str) else []
    if found:
        return found
    return sorted({p for p in PLACEHOLDER.findall(definition_text) if p.endswith("FunctionArn")})


def function_timeouts(template: dict[str, Any]) -> dict[str, int]:
    """Placeholder name -> the timeout (seconds) CloudFormation gives that function
    (AWS::Lambda::Function Timeout; 3 s when absent, per its CloudFormation page)."""
    machines = [
        r["Properties"] for r in template["Resources"].values()
        if r["Type"] == "AWS::StepFunctions::StateMachine" and "DefinitionSubstitutions" in r["Properties"]
    ]  # fmt: skip
    out = {}
    for props in machines:
        for name, value in props["DefinitionSubstitutions"].items():
            if isinstance(value, dict) and "Fn::GetAtt" in value:
                res = template["Resources"][value["Fn::GetAtt"][0]]
                if res["Type"] == "AWS::Lambda::Function":
                    out[name] = int(res["Properties"].get("Timeout", 3))
    return out


def rule_task_timeout_exceeds_function(definition_text: str, timeouts: dict[str, int]) -> list[Finding]:
    definition = json.loads(definition_text)
    out = []
    for name, state in walk_states(definition):
        if not is_lambda_task(state):
            continue
        task_timeout = state.get("TimeoutSeconds")
        if task_timeout is None and "TimeoutSecondsPath" in state and state["Resource"].endswith(".waitForTaskToken"):
            # A callback task's timeout bounds the whole wait for the token, not the function's
            # run; AwaitOwner's path value is at least 60 s (watch.py sets awaitSeconds >= 60).
            continue
        for fn in _function_targets(state, definition_text):
            fn_timeout = timeouts.get(fn)
            if fn_timeout is None:
                out.append(Finding(name, "task-timeout", f"no function timeout known for ${{{fn}}}"))
            elif task_timeout is None or task_timeout <= fn_timeout:
                out.append(Finding(name, "task-timeout", f"TimeoutSeconds {task_timeout} does not exceed ${{{fn}}}'s timeout {fn_timeout} s"))  # fmt: skip
    return out


# --- rule 4: every loop is bounded in events ------------------------------------------------

# A cycle of the state graph is bounded when it passes through one of these states. Each is a
# Choice that leaves the cycle on a counter or deadline our handlers enforce; the value says
# which bound and where it is enforced (and tested). A cycle through none of them is unbounded.
LOOP_BOUNDS: dict[str, str] = {
    "Route": (
        "leaves the Poll/Wait/Cancel cycle unless the status or cancel handler sets watch.next to "
        "WAIT/POLL/COLLECT_ERRORS/CANCEL; lambdas/watcher/watch.py returns CONTINUE after "
        "maxPollsPerExecution polls or maxExecutionSeconds (defaults 1000 polls / 24 h) and a "
        "terminal next at the deadline (timeoutSeconds); CONTINUE ends the execution"
    ),
}


def rule_loops_bounded(definition: dict[str, Any], bounds: dict[str, str] = LOOP_BOUNDS) -> list[Finding]:
    import networkx as nx

    out = []
    for cycle in nx.simple_cycles(graph(definition)):
        anchors = [s for s in cycle if s in bounds and definition["States"][s].get("Type") == "Choice"]
        if not anchors:
            out.append(Finding(" -> ".join(cycle), "bounded-loops",
                               "cycle passes through no Choice with a documented bound (LOOP_BOUNDS)"))  # fmt: skip
    return out


# --- rule 5: every Choice Variable that can be absent is guarded by IsPresent ---------------

# Paths that every transition into the Choice that reads them has set: the producer and why.
ALWAYS_PRESENT: dict[str, str] = {
    "$.watch.generation": "the prepare handler's watch always carries generation (0 for a first execution)",
    "$.watch.next": "the prepare, status and cancel handlers always return watch.next",
    "$.final.succeeded": "every writer of $.final (Finalize's result, FallbackOutcome, FallbackCause, AdoptSucceeded/AdoptFailed, ContinueAsNewExecution's ResultSelector) sets succeeded",
    "$.final.taskToken": "every writer of $.final sets taskToken (null when there is none)",
}


def _conditions(rule: dict[str, Any]) -> Iterator[tuple[dict[str, Any], frozenset[str]]]:
    """A Choice rule's leaf conditions, each with the paths an earlier operand of an enclosing
    And has tested with ``IsPresent: true``. This counts ``And: [IsPresent, comparison]`` as a
    guard, i.e. assumes And stops at its first false operand; the ASL spec and the Choice
    state page do not say so. A guard in an earlier Choice state needs no such assumption."""
    yield from _leaves(rule, frozenset())


def _leaves(rule: dict[str, Any], guards: frozenset[str]) -> Iterator[tuple[dict[str, Any], frozenset[str]]]:
    if "And" in rule:
        seen = set(guards)
        for sub in rule["And"]:
            yield from _leaves(sub, frozenset(seen))
            if sub.get("IsPresent") is True and "Variable" in sub:
                seen.add(sub["Variable"])
        return
    for sub in rule.get("Or", []):
        yield from _leaves(sub, guards)
    if "Not" in rule:
        yield from _leaves(rule["Not"], guards)
    if "Variable" in rule:
        yield rule, guards


def _covers(guard: str, path: str) -> bool:
    return path == guard or path.startswith(guard + ".")


def _asserts_present(rule: dict[str, Any], path: str) -> bool:
    """Whether a Choice rule matching implies ``path`` exists (IsPresent true on it or a parent,
    alone or as an operand of And)."""
    operands = rule.get("And", [rule])
    return any(
        op.get("IsPresent") is True and "Variable" in op and _covers(op["Variable"], path) for op in operands
    )


def _edge_guarantees(definition: dict[str, Any], how: dict[str, Any], src: str, path: str) -> bool:
    if how["kind"] == "choice":
        return _asserts_present(how["rule"], path)
    if how["kind"] == "catch":
        result_path = how["catcher"].get("ResultPath", "$")
        return path in (f"{result_path}.Error", f"{result_path}.Cause")
    state = definition["States"][src]
    resource = state.get("Resource", "")
    if how["kind"] == "next" and resource.startswith("arn:aws:states:::aws-sdk:"):
        # A member the API's output shape marks required is always in the result.
        result_path = state.get("ResultPath", "$")
        member = path.removeprefix(result_path + ".").split(".")[0]
        if not path.startswith(result_path + ".") or "ResultSelector" in state:
            return False
        service, action = resource.split(":")[6:8]
        if service not in SDK_SERVICES:
            return False
        return member in _required_output(SDK_SERVICES[service][1], action[0].upper() + action[1:])
    return False


@cache
def _required_output(service: str, operation: str) -> frozenset[str]:
    import botocore.session

    shape = botocore.session.get_session().get_service_model(service).operation_model(operation).output_shape
    # Step Functions' SDK integrations give output members in PascalCase.
    return frozenset(m[0].upper() + m[1:] for m in (shape.required_members if shape else []))


def rule_choice_paths_guarded(definition: dict[str, Any], always: dict[str, str] = ALWAYS_PRESENT) -> list[Finding]:
    incoming: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for src, dst, how in edges(definition):
        incoming.setdefault(dst, []).append((src, how))
    out = []
    for name, state in definition["States"].items():
        if state.get("Type") != "Choice":
            continue
        # Rules are tried in order: after a rule ``IsPresent: false`` on a path, that path exists.
        earlier: set[str] = set()
        for rule in state["Choices"]:
            for leaf, guards in _conditions(rule):
                path = leaf["Variable"]
                if leaf.get("IsPresent") is not None or path.startswith("$$."):
                    continue
                if any(_covers(g, path) for g in guards | earlier) or path in always:
                    continue
                into = incoming.get(name, [])
                if into and all(_edge_guarantees(definition, how, src, path) for src, how in into):
                    continue
                out.append(Finding(name, "choice-guarded", f"{path} may be absent and is not guarded by IsPresent (States.Runtime on AWS)"))  # fmt: skip
            if rule.get("IsPresent") is False:
                earlier.add(rule["Variable"])
    return out
