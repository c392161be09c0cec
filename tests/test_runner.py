"""``run-scenario`` over many files: one process, one runtime per batch, ``--check``."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import pytest

from neptune_watch.cli import main
from neptune_watch.cli.common import Exit
from neptune_watch.runner import load_all, plan
from neptune_watch.scenario import load_scenario

pytestmark = pytest.mark.runtime

REPO = Path(__file__).resolve().parents[1]
SCENARIOS = REPO / "scenarios"


def cli(*argv: str) -> tuple[int, list[dict], str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, [json.loads(line) for line in out.getvalue().splitlines() if line.strip()], err.getvalue()


def test_every_example_scenario_has_an_expect_block_that_holds():
    files = sorted(SCENARIOS.glob("*.json"))
    assert all(load_scenario(f).expect is not None for f in files)
    code, lines, err = cli("run-scenario", "--check", "--timeout", "300", str(SCENARIOS))
    failed = [(line["file"], line["check"]["differences"]) for line in lines if not line["check"]["ok"]]
    assert (code, failed) == (0, []), err[-2000:]
    assert sorted(line["file"] for line in lines) == sorted(str(f) for f in files)
    for line in lines:  # each report is its own scenario's share of a shared runtime
        request = load_scenario(line["file"]).request
        assert len(line["sns"]) == 1 and len(line["events"]) == 1, line["file"]
        job_id = request["job"]["id"] if "job" in request else line["outcome"]["job"]["id"]  # started: the service's id
        assert line["outcome"]["job"]["id"] == job_id == line["sns"][0]["message"]["job"]["id"]


def test_check_names_what_differs_and_exits_non_zero(tmp_path: Path):
    scenario = json.loads((SCENARIOS / "export-fails.json").read_text())
    scenario["expect"] = {"outcome": "SUCCEEDED", "status": "FAILED", "calls": {"GetExportTask": 2, "CancelExportTask": 1}}
    path = tmp_path / "wrong.json"
    path.write_text(json.dumps(scenario))
    good = tmp_path / "good.json"
    good.write_text((SCENARIOS / "not-found.json").read_text())
    code, lines, err = cli("run-scenario", "--check", str(path), str(good))
    assert code == Exit.FAILED
    by_file = {line["file"]: line["check"] for line in lines}
    assert by_file[str(good)] == {"ok": True, "differences": []}
    differences = by_file[str(path)]["differences"]
    assert differences[0] == "outcome: expected SUCCEEDED, got FAILED"
    assert "calls.CancelExportTask: expected 1, got 0" in differences
    assert any(d.startswith("calls.GetExportTask: expected 2, got ") for d in differences)
    assert "wrong.json" in err and "outcome: expected SUCCEEDED" in err


def test_a_missing_path_or_bad_expect_is_bad_input(tmp_path: Path):
    code, lines, err = cli("run-scenario", str(tmp_path / "nope.json"))
    assert (code, lines) == (Exit.INVALID_REQUEST, []) and "no such file" in err
    bad = json.loads((SCENARIOS / "not-found.json").read_text())
    bad["expect"] = {"outcome": "FAILED", "statuss": "FAILED"}
    (tmp_path / "bad.json").write_text(json.dumps(bad))
    code, lines, err = cli("run-scenario", str(tmp_path))
    assert (code, lines) == (Exit.INVALID_REQUEST, []) and "statuss" in err


def test_plan_shares_a_runtime_only_where_faults_settings_and_ids_allow():
    items = load_all([str(SCENARIOS)])
    batches = plan(items)
    assert sorted(label for batch in batches for label, _ in batch) == sorted(label for label, _ in items)
    assert len(batches) < len(items)
    for batch in batches:
        if any("job" not in s.request for _, s in batch):  # a start request has no id yet: alone
            assert len(batch) == 1
            continue
        assert len({json.dumps(s.settings, sort_keys=True) for _, s in batch}) == 1
        ids = [s.request["job"]["id"] for _, s in batch]
        assert len(ids) == len(set(ids))
        faulted = {f.operation for _, s in batch for f in s.faults}
        for _, s in batch:
            if not s.faults:
                kind = s.request["job"]["kind"]
                assert not any(op.lower().startswith(("get" + kind, "cancel" + kind)) for op in map(str.lower, faulted))
