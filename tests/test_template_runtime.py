"""The local runtime executes the definition the synthesized CloudFormation template carries."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import conftest_cdk as h  # first: sets the jsii environment before aws_cdk is imported
import pytest
from neptune_watch.cdk.config import CONTEXT_KEY, parse_config
from neptune_watch.cdk.watch_stack import NeptuneWatchStack

from neptune_watch.local.runtime import DEFAULT_DEFINITION, definition_from_template, placeholders
from neptune_watch.runner import run_scenario
from neptune_watch.scenario import load_scenario

pytestmark = [pytest.mark.cdk, pytest.mark.runtime]


@pytest.fixture(scope="module")
def template_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    ctx = h.context()
    out = tmp_path_factory.mktemp("cdk-out")
    app = cdk.App(context=ctx, outdir=str(out), analytics_reporting=False)
    config = parse_config(ctx[CONTEXT_KEY])
    stack = NeptuneWatchStack(app, config.stack_name, config=config)
    assembly = app.synth()
    path = out / "watch.template.json"
    path.write_text(json.dumps(assembly.get_stack_artifact(stack.artifact_id).template))
    return path


def _state_machine(template: dict[str, Any]) -> dict[str, Any]:
    machines = [r for r in template["Resources"].values() if r["Type"] == "AWS::StepFunctions::StateMachine"]
    assert len(machines) == 1
    return machines[0]["Properties"]


def test_template_carries_the_file_verbatim_with_every_placeholder_substituted(template_path: Path) -> None:
    text = definition_from_template(template_path)
    assert text == DEFAULT_DEFINITION.read_text()
    props = _state_machine(json.loads(template_path.read_text()))
    assert set(props["DefinitionSubstitutions"]) == placeholders(text)


LOAD = "tmpl-load-1"


def _scenario(final: str) -> dict[str, Any]:
    return {
        "request": {"job": {"kind": "loader", "id": LOAD}, "correlationId": "from-template"},
        "job": {"kind": "loader", "id": LOAD, "timeline": [{"at": 0, "status": "LOAD_IN_QUEUE"}, {"at": 3600, "status": final}]},
    }


@pytest.mark.parametrize(("final", "status", "outcome"), [("LOAD_COMPLETED", "SUCCEEDED", "SUCCEEDED"), ("LOAD_FAILED", "FAILED", "FAILED")])
def test_synthesized_definition_runs_on_the_local_runtime(template_path: Path, final: str, status: str, outcome: str) -> None:
    report = run_scenario(load_scenario(_scenario(final)), definition=definition_from_template(template_path))
    assert report["execution"]["status"] == status
    assert report["outcome"]["outcome"] == outcome and report["outcome"]["status"] == final
    assert len(report["sns"]) == 1 and len(report["events"]) == 1
    assert report["sns"][0]["message"] == report["events"][0]["detail"] == report["outcome"]


def test_cli_runs_the_template(template_path: Path, tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    path.write_text(json.dumps(_scenario("LOAD_COMPLETED")))
    proc = subprocess.run(
        [sys.executable, "-m", "neptune_watch.cli", "run-scenario", str(path), "--template", str(template_path)],
        capture_output=True, text=True, timeout=180, check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads(proc.stdout)["outcome"]["outcome"] == "SUCCEEDED"
