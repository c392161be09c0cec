"""Helpers shared by the CDK tests (imported by them; not a pytest conftest).

Importing this module points jsii at the Node 22 LTS that make setup installs: it must be
imported before ``aws_cdk`` (jsii starts its Node process when ``aws_cdk`` is first imported).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from neptune_watch.toolchain import use_packaged_node

use_packaged_node()

REPO = Path(__file__).resolve().parent.parent
ASL_PATH = REPO / "statemachines" / "watch.asl.json"
EXAMPLES = REPO / "examples"

NEPTUNE_PREFIXES = ("neptune-db:", "neptune-graph:")


def cdk_json() -> dict[str, Any]:
    return json.loads((REPO / "cdk.json").read_text())


def context() -> dict[str, Any]:
    """The ``context`` block of cdk.json (a fresh copy)."""
    return cdk_json()["context"]


def render(value: Any) -> Any:
    """A CloudFormation value as a readable string: Ref -> <Name>, GetAtt -> <Name.Attr>,
    Fn::Join concatenated, Fn::Sub kept as its template; lists rendered item by item."""
    if isinstance(value, list):
        return [render(v) for v in value]
    if isinstance(value, dict):
        if "Ref" in value:
            return f"<{value['Ref']}>"
        if "Fn::GetAtt" in value:
            return "<{}.{}>".format(*value["Fn::GetAtt"])
        if "Fn::Join" in value:
            sep, parts = value["Fn::Join"]
            return sep.join(str(render(p)) for p in parts)
        if "Fn::Sub" in value:
            sub = value["Fn::Sub"]
            return sub if isinstance(sub, str) else sub[0]
        return {k: render(v) for k, v in value.items()}
    return value


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def resources(template: dict[str, Any], type_: str | None = None) -> dict[str, dict[str, Any]]:
    items = template["Resources"].items()
    return {k: v for k, v in items if type_ is None or v["Type"] == type_}


def statements_of_role(template: dict[str, Any], role_id: str) -> list[dict[str, Any]]:
    """Every statement granted to a role: its inline policies and the AWS::IAM::Policy
    resources attached to it."""
    out: list[dict[str, Any]] = []
    role = template["Resources"][role_id]
    for policy in role["Properties"].get("Policies", []):
        out.extend(policy["PolicyDocument"]["Statement"])
    for res in resources(template, "AWS::IAM::Policy").values():
        if {"Ref": role_id} in res["Properties"].get("Roles", []):
            out.extend(res["Properties"]["PolicyDocument"]["Statement"])
    return out


def all_statements(template: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for rid, res in template["Resources"].items():
        if res["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            for st in res["Properties"]["PolicyDocument"]["Statement"]:
                yield rid, st
        if res["Type"] == "AWS::IAM::Role":
            for policy in res["Properties"].get("Policies", []):
                for st in policy["PolicyDocument"]["Statement"]:
                    yield rid, st


def grants(statements: list[dict[str, Any]]) -> set[tuple[str, str]]:
    """(action, rendered resource) pairs of the Allow statements."""
    out = set()
    for st in statements:
        if st.get("Effect") != "Allow":
            continue
        for action in as_list(st["Action"]):
            for resource in as_list(st["Resource"]):
                out.add((action, str(render(resource))))
    return out


def function_role_id(function: dict[str, Any]) -> str:
    return function["Properties"]["Role"]["Fn::GetAtt"][0]


def functions_by_handler(template: dict[str, Any]) -> dict[str, tuple[str, dict[str, Any]]]:
    return {
        fn["Properties"]["Handler"]: (fid, fn)
        for fid, fn in resources(template, "AWS::Lambda::Function").items()
    }
