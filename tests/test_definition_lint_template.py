"""Static checks of the definition the synthesized CloudFormation template carries (its
DefinitionSubstitutions resolved to the ARNs and names CloudFormation would give), and the rule
that needs the template: each Lambda task's TimeoutSeconds exceeds its function's timeout.

Why that rule: when a function's own timeout ends first, Lambda reports the unhandled error
Lambda.Unknown (https://docs.aws.amazon.com/step-functions/latest/dg/bp-lambda-serviceexception.html:
"Unhandled errors in Lambda are reported as Lambda.Unknown ... These include out-of-memory
errors and function timeouts"); the task's own timeout (States.Timeout, concepts-error-handling)
is only meaningful as a guard above the function's timeout, for a lost invocation.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import asl_lint as L
import pytest
from test_template_runtime import template_path  # noqa: F401  (the synthesized template fixture)

pytestmark = pytest.mark.cdk


@pytest.fixture(scope="module")
def template(template_path: Path) -> dict[str, Any]:  # noqa: F811
    return json.loads(template_path.read_text())


def test_template_definition_resolves_every_substitution(template: dict[str, Any]) -> None:
    text = L.substitute_template(template)
    assert "${" not in text
    assert ":lambda:" in text and ":sns:" in text


def test_validators_find_nothing_in_the_template_definition(template: dict[str, Any]) -> None:
    text = L.substitute_template(template)
    problems = L.statelint(text)
    assert problems == [], "statelint:\n" + "\n".join(problems)
    if shutil.which("node") is None or not (L.REPO / "node_modules" / "asl-validator").is_dir():
        pytest.skip("node and `npm ci` (make setup) are needed for the npm validators")
    tools = L.node_validators({"template": text})["template"]
    assert tools == {"asl-validator": [], "amazon-states-language-service": []}, json.dumps(tools, indent=1)


def test_every_lambda_task_timeout_exceeds_its_functions_timeout(template: dict[str, Any]) -> None:
    timeouts = L.function_timeouts(template)
    assert timeouts, "no function found behind the definition's substitutions"
    findings = L.rule_task_timeout_exceeds_function(L.ASL_PATH.read_text(), timeouts)
    assert findings == [], "\n".join(map(str, findings))


def test_task_timeout_rule_catches_a_task_timeout_at_or_below_the_function_timeout(template: dict[str, Any]) -> None:
    timeouts = L.function_timeouts(template)
    longest = max(timeouts.values())
    definition = json.loads(L.ASL_PATH.read_text())
    for state in definition["States"].values():
        if L.is_lambda_task(state):
            state["TimeoutSeconds"] = longest
    findings = L.rule_task_timeout_exceeds_function(json.dumps(definition), timeouts)
    assert findings and all(f.rule == "task-timeout" for f in findings)


def test_iam_doc_sync_policy_is_what_the_construct_grants_its_own_sync_task(template: dict[str, Any]) -> None:
    """docs/IAM.md's `.sync:2` parent policy (from the AWS docs) is the one the construct gives
    the watch itself for its continue-as-new `.sync:2` task (stacks/state_machine.py grant_start,
    also behind grant_start_sync): both say the same six grants."""
    import re

    import conftest_cdk as h

    doc = (L.REPO / "docs" / "IAM.md").read_text()
    policies = [json.loads(b) for b in re.findall(r"```json\n(.*?)```", doc, flags=re.S)]
    sync = next(p for p in policies if any("PutRule" in str(s["Action"]) for s in p["Statement"]))
    documented = {(a, s["Resource"]) for s in sync["Statement"] for a in h.as_list(s["Action"])}
    [machine] = [r for r in template["Resources"].values() if r["Type"] == "AWS::StepFunctions::StateMachine"]
    role = machine["Properties"]["RoleArn"]["Fn::GetAtt"][0]
    granted = {
        (action, resource.replace("arn:<AWS::Partition>", "arn:aws").replace("<AWS::Region>", "REGION").replace("<AWS::AccountId>", "ACCOUNT"))
        for action, resource in h.grants(h.statements_of_role(template, role))
    }
    assert len(documented) == 6
    assert documented <= granted, sorted(documented - granted)
