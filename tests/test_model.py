"""The typed watch (lambdas/watcher/model.py) is the one definition of what the state machine
carries: every ``$.watch...`` path the definition reads is a field of it, and what prepare and
a poll produce has exactly its fields."""

from __future__ import annotations

import json
import re
from dataclasses import fields
from pathlib import Path

from watcher import clock
from watcher.model import Watch, paths
from watcher.settings import Settings
from watcher.watch import new_watch, resume

DEFINITION = Path(__file__).resolve().parents[1] / "statemachines" / "watch.asl.json"
FNS = {k: {"status": f"{k}-s", "cancel": f"{k}-c"} for k in ("loader", "import", "export")}
WATCH_PATH = re.compile(r"\$\.watch(?:\.[A-Za-z_][A-Za-z0-9_]*)+")


def _strings(node):
    if isinstance(node, dict):
        for key, value in node.items():
            yield key
            yield from _strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from _strings(value)
    elif isinstance(node, str):
        yield node


def test_every_watch_path_of_the_definition_is_a_field_of_the_model():
    used = {m for s in _strings(json.loads(DEFINITION.read_text())) for m in WATCH_PATH.findall(s)}
    assert len(used) >= 8  # the test reads the paths it means to check
    assert used - paths() == set()


def test_the_model_catches_a_path_that_is_not_a_field():
    assert "$.watch.fn.status" in paths() and "$.watch.fn.statsu" not in paths()
    assert "$.watch.nextt" not in paths()


def test_prepare_and_resume_produce_exactly_the_models_fields():
    clock.use(lambda: 1_800_000_000.0)
    try:
        w = new_watch({"request": {"job": {"kind": "loader", "id": "abc"}}, "functions": FNS}, execution_id="arn:x", cfg=Settings())
    finally:
        clock.use(None)
    names = {f.name for f in fields(Watch)}
    assert set(w) == names
    assert set(resume(w, FNS["loader"] | {"start": None})) == names
    assert w["next"] == "POLL" and w["role"] == "OWNER" and w["base"] is None
