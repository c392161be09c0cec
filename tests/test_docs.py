"""The docs say what the code does: the README's diagram is the definition's, the contract's
examples validate against the schemas and the code's names, every IAM policy is well formed,
every subscription filter and rule pattern matches the outcomes it claims to (checked with
moto's SNS filter-policy and EventBridge pattern matchers on real runs), and no doc or
docstring points at a file outside the repository."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import asl_lint as L
import jsonschema
import pytest

from neptune_watch import diagram

REPO = Path(__file__).resolve().parent.parent
README = REPO / "README.md"
DOCS = REPO / "docs"
WATCH = json.loads(L.ASL_PATH.read_text())


def _json_blocks(path: Path) -> list[Any]:
    return [json.loads(b) for b in re.findall(r"```json\n(.*?)```", path.read_text(), flags=re.S)]


# --- the diagram ------------------------------------------------------------------------


def test_readme_diagram_is_generated_from_the_current_definition() -> None:
    block = diagram.readme_block(README.read_text())
    assert block is not None, "README.md has no diagram markers"
    assert block == diagram.block(WATCH), "stale: run python -m neptune_watch.diagram --write README.md"


def test_the_diagram_has_every_state_and_every_transition() -> None:
    text = diagram.mermaid(WATCH)
    for name in WATCH["States"]:
        assert re.search(rf"^    s_{name}[\[\({{]", text, flags=re.M), name
    arrows = [line for line in text.splitlines() if "-->" in line or "-.->" in line]
    assert len(arrows) == 1 + len(list(L.edges(WATCH)))  # + the start arrow
    catches = sum(len(s.get("Catch", [])) for s in WATCH["States"].values())
    assert sum("-.->" in a for a in arrows) == catches


def test_diagram_check_fails_on_a_stale_readme_and_write_fixes_it(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(f"# x\n\n{diagram.BEGIN}\nold\n{diagram.END}\n\nafter\n")
    assert diagram.main(["--check", str(readme)]) == 1
    assert diagram.main(["--write", str(readme)]) == 0
    assert diagram.main(["--check", str(readme)]) == 0
    assert readme.read_text().endswith("\n\nafter\n") and "flowchart TD" in readme.read_text()
    changed = dict(WATCH, States={**WATCH["States"], "Extra": {"Type": "Succeed"}})
    assert diagram.block(changed) != diagram.block(WATCH)


# --- no reference outside the repository --------------------------------------------------

TEXT_FILES = [p for p in REPO.rglob("*") if p.suffix in (".md", ".py", ".json", ".toml") and p.is_file()
              and not {".venv", "node_modules", "cdk.out", ".git", "build", "dist"} & set(p.relative_to(REPO).parts)]  # fmt: skip


def test_no_file_points_outside_the_repository() -> None:
    bad = []
    for path in TEXT_FILES:
        text = path.read_text(errors="replace")
        if path == Path(__file__):
            continue
        for m in re.finditer(r"\.\./shared|/work/|\bshared/CONTRACT", text):
            bad.append(f"{path.relative_to(REPO)}: {m.group(0)!r}")
        # The contract is docs/CONTRACT.md: a bare name would send readers looking elsewhere.
        if path.parent != DOCS and re.search(r"(?<![/\w])CONTRACT\.md", text):
            bad.append(f"{path.relative_to(REPO)}: bare CONTRACT.md (write docs/CONTRACT.md)")
    assert bad == []


@pytest.mark.parametrize("doc", [README, *sorted(DOCS.glob("*.md")), REPO / "scenarios" / "README.md"], ids=lambda p: p.name)
def test_relative_links_resolve_inside_the_repository(doc: Path) -> None:
    for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", doc.read_text()):
        if re.match(r"[a-z]+:", target):
            continue
        resolved = (doc.parent / target).resolve()
        assert resolved.is_relative_to(REPO), f"{doc.name}: {target} leaves the repository"
        assert resolved.exists(), f"{doc.name}: {target} does not exist"


# --- docs/CONTRACT.md --------------------------------------------------------------------------

CONTRACT = DOCS / "CONTRACT.md"


def _schema(name: str) -> dict[str, Any]:
    return json.loads((REPO / "schemas" / name).read_text())


def test_contract_examples_validate_against_the_schemas() -> None:
    request, outcome, *_ = _json_blocks(CONTRACT)
    jsonschema.validate(request, _schema("watch-request.schema.json"))
    jsonschema.validate(outcome, _schema("outcome.schema.json"))
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(dict(request, unknown=1), _schema("watch-request.schema.json"))


def test_contract_names_match_the_code() -> None:
    from watcher.outcome import DETAIL_TYPES

    text = CONTRACT.read_text()
    for outcome, detail_type in DETAIL_TYPES.items():
        assert f"| `{outcome.value}` | `{detail_type}` |" in text
    attributes = WATCH["States"]["PublishToSns"]["Parameters"]["MessageAttributes"]
    assert all(f"| `{name}` |" in text for name in attributes), sorted(attributes)
    request_event = next(b for b in _json_blocks(CONTRACT) if "DetailType" in b)
    jsonschema.validate(json.loads(request_event["Detail"]), _schema("watch-request.schema.json"))


def test_contract_scenario_example_loads() -> None:
    from neptune_watch.scenario import load_scenario

    scenario = next(b for b in _json_blocks(CONTRACT) if "timeline" in json.dumps(b) and "request" in b)
    assert load_scenario(scenario).job.timeline[-1].status == "LOAD_FAILED"


# --- IAM.md -------------------------------------------------------------------------------


def test_every_iam_policy_is_well_formed() -> None:
    policies = _json_blocks(DOCS / "IAM.md")
    assert len(policies) >= 4
    for policy in policies:
        assert policy["Version"] == "2012-10-17"
        for st in policy["Statement"]:
            assert st["Effect"] == "Allow" and st["Resource"]
            for action in _as_list(st["Action"]):
                assert re.fullmatch(r"(states|events|sqs|sns|kms):[A-Z][A-Za-z]+", action), action
    sync = next(p for p in policies if any("PutRule" in str(s["Action"]) for s in p["Statement"]))
    actions = {a for s in sync["Statement"] for a in _as_list(s["Action"])}
    # https://docs.aws.amazon.com/step-functions/latest/dg/stepfunctions-iam.html (synchronous)
    assert actions == {"states:StartExecution", "states:DescribeExecution", "states:StopExecution",
                       "events:PutTargets", "events:PutRule", "events:DescribeRule"}  # fmt: skip
    assert any(s["Resource"].endswith(":rule/StepFunctionsGetEventsForStepFunctionsExecutionRule") for s in sync["Statement"])


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


# --- SUBSCRIBE.md, against real runs -----------------------------------------------------


@pytest.fixture(scope="module")
def runs() -> dict[str, dict[str, Any]]:
    from neptune_watch.runner import run_scenario
    from neptune_watch.scenario import load_scenario

    names = ["loader-fails-with-parsing-errors", "import-fails", "import-progress-succeeds"]
    return {n: run_scenario(load_scenario(REPO / "scenarios" / f"{n}.json")) for n in names}


def _sns_matches(policy: dict[str, Any], report: dict[str, Any]) -> bool:
    from moto.sns.utils import FilterPolicyMatcher

    [message] = report["sns"]
    attributes = {k: {"Type": "String", "Value": v} for k, v in message["attributes"].items()}
    return FilterPolicyMatcher(policy, None).matches(attributes, json.dumps(message["message"]))


def _event_matches(pattern: dict[str, Any], report: dict[str, Any]) -> bool:
    from moto.events.models import EventPattern

    [event] = report["events"]
    full = {"version": "0", "id": "1", "account": "123456789012", "region": "eu-west-1", "time": "2026-11-24T02:31:10Z",
            "resources": [], "source": event["source"], "detail-type": event["detailType"], "detail": event["detail"]}  # fmt: skip
    return EventPattern.load(json.dumps(pattern)).matches_event(full)


@pytest.mark.runtime
def test_subscription_filters_and_patterns_match_what_they_say(runs: dict[str, dict[str, Any]]) -> None:
    queue_policy, failed_loads, not_success, by_type, by_fields, by_correlation = _json_blocks(DOCS / "SUBSCRIBE.md")
    assert queue_policy["Statement"][0]["Principal"] == {"Service": "sns.amazonaws.com"}
    load_failed, import_failed, import_ok = (runs[n] for n in ("loader-fails-with-parsing-errors", "import-fails", "import-progress-succeeds"))
    assert [r["outcome"]["outcome"] for r in (load_failed, import_failed, import_ok)] == ["FAILED", "FAILED", "SUCCEEDED"]

    assert [_sns_matches(failed_loads, r) for r in (load_failed, import_failed, import_ok)] == [True, False, False]
    assert [_sns_matches(not_success, r) for r in (load_failed, import_failed, import_ok)] == [True, True, False]
    assert [_event_matches(by_type, r) for r in (load_failed, import_failed, import_ok)] == [True, True, False]
    assert [_event_matches(by_fields, r) for r in (load_failed, import_failed, import_ok)] == [False, True, False]
    assert [_event_matches(by_correlation, r) for r in (load_failed, import_failed, import_ok)] == [True, False, False]
