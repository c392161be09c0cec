"""The package as a user gets it: one import name, complete, usable outside this checkout.

The slow test builds the wheel, installs it in a fresh virtualenv in a temporary folder (no
network: the locked requirements' wheels are in ``.venv/wheelhouse``, made by ``make setup``)
and, from a folder that is not the checkout, synthesizes a user's own CDK app that embeds the
construct, runs ``neptune-watch demo`` and ``run-scenario``, and serves the emulator.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
import urllib.request
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement

from neptune_watch import resources

# One worker builds and installs the wheel once (make test runs pytest -n 2 --dist loadgroup).
pytestmark = pytest.mark.xdist_group("wheel")

REPO = Path(__file__).resolve().parent.parent
WHEELHOUSE = REPO / ".venv" / "wheelhouse"
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())
SETUPTOOLS = PYPROJECT["tool"]["setuptools"]


def _checkout_packages() -> set[str]:
    """Every Python package of the checkout, named as the wheel names it."""
    dirs = {name: REPO / folder for name, folder in SETUPTOOLS["package-dir"].items()}
    dirs["neptune_watch"] = REPO / "neptune_watch"
    found = set()
    for name, root in dirs.items():
        if not (root / "__init__.py").is_file():
            continue
        for init in root.rglob("__init__.py"):
            if "__pycache__" in init.parts:
                continue
            rel = init.parent.relative_to(root).parts
            found.add(".".join((name, *rel)))
    return found


def test_every_package_of_the_checkout_is_listed_for_the_wheel() -> None:
    listed = set(SETUPTOOLS["packages"])
    assert _checkout_packages() <= listed, sorted(_checkout_packages() - listed)
    # One import name: nothing at the top level but neptune_watch.
    assert {p.split(".")[0] for p in listed} == {"neptune_watch"}


def test_every_data_folder_is_found_in_the_checkout() -> None:
    assert (resources.lambdas_dir() / "watcher" / "handlers" / "prepare.py").is_file()
    assert resources.definition_path().is_file()
    assert (resources.schemas_dir() / "outcome.schema.json").is_file()
    assert any(resources.scenarios_dir().glob("*.json"))
    assert (resources.examples_dir() / "parent_sync.asl.json").is_file()


def test_a_foreign_watcher_package_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import types

    resources.require_watcher()  # ours (lambdas/ of this checkout): accepted
    foreign = types.ModuleType("watcher")
    foreign.__file__ = str(tmp_path / "watcher" / "__init__.py")
    monkeypatch.setitem(sys.modules, "watcher", foreign)
    with pytest.raises(ImportError, match="a different 'watcher' package"):
        resources.require_watcher()


def test_the_cli_and_the_local_runtime_do_not_import_the_cdk() -> None:
    code = ("import sys, neptune_watch, neptune_watch.cli, neptune_watch.local.runtime; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('aws_cdk', 'jsii', 'constructs')))")  # fmt: skip
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120, check=True)
    assert done.stdout.strip() == "[]"


def test_extras_split_the_dependencies() -> None:
    project = PYPROJECT["project"]
    base = " ".join(project["dependencies"])
    cdk = " ".join(project["optional-dependencies"]["cdk"])
    local = " ".join(project["optional-dependencies"]["local"])
    assert "moto" not in base and "aws-cdk-lib" not in base
    assert "moto" not in cdk and "aws-cdk-lib" in cdk
    assert "aws-cdk-lib" not in local and "moto" in local


def test_requirements_txt_is_the_exact_lock_of_this_environment() -> None:
    pinned = {}
    for line in (REPO / "requirements.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            pinned[_norm(name)] = version
    installed = {_norm(d.metadata["Name"]): d.version for d in importlib.metadata.distributions()}
    installed.pop("pip", None)
    installed.pop("neptune-watch", None)  # this project, installed editable
    assert installed == pinned


# --- the wheel in a fresh virtualenv ------------------------------------------------------

USER_APP = '''\
import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2, aws_sns as sns
from stacks import MARK  # the user's own stacks/ package, not neptune-watch's
from neptune_watch.cdk import LoaderProps, NeptuneWatch

app = cdk.App(outdir="cdk.out")
stack = cdk.Stack(app, "UserStack", env=cdk.Environment(account="123456789012", region="us-east-1"))
isolated = ec2.SubnetConfiguration(name="db", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)
vpc = ec2.Vpc(stack, "Vpc", max_azs=2, subnet_configuration=[isolated])
topic = sns.Topic(stack, "Outcomes")
watch = NeptuneWatch(stack, "Watch", existing_topic=topic, loader=LoaderProps(
    cluster_endpoint="db.cluster-abc.us-east-1.neptune.amazonaws.com",
    cluster_resource_id="cluster-ABCDEFGHIJKL", vpc=vpc,
    vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)))
app.synth()
print(MARK, watch.state_machine_name)
'''


def _run(cmd: list[str], cwd: Path, env: dict[str, str], timeout: float = 240) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    assert done.returncode == 0, f"{cmd} failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


class Installed:
    def __init__(self, root: Path, wheel: Path) -> None:
        self.root = root
        self.wheel = wheel
        self.bin = root / "venv" / "bin"
        self.work = root / "work"
        self.work.mkdir()
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
        self.env["PATH"] = f"{self.bin}{os.pathsep}{self.env.get('PATH', '')}"

    def run(self, *args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
        return _run(list(args), self.work, self.env, timeout)

    def pip(self, *args: str) -> subprocess.CompletedProcess[str]:
        return self.run(str(self.bin / "python"), "-m", "pip", "--disable-pip-version-check", *args,
                        "--no-index", "--find-links", str(WHEELHOUSE), "--find-links", str(self.wheel.parent))

    def resolved(self, extra: str) -> set[str]:
        """Distributions ``neptune-watch[extra]`` requires, transitively, as installed in the venv
        (read from the installed metadata; markers evaluated for this Python)."""
        (site,) = (self.root / "venv" / "lib").glob("python3*/site-packages")
        installed = {_norm(d.metadata["Name"]): d for d in importlib.metadata.distributions(path=[str(site)])}
        seen: set[str] = set()
        todo = [("neptune-watch", extra)]
        while todo:
            name, wanted = todo.pop()
            seen.add(name)
            for text in installed[name].requires or []:
                req = Requirement(text)
                env = {"extra": wanted or ""}
                if req.marker is not None and not req.marker.evaluate(env):
                    continue
                dep = _norm(req.name)
                if dep not in seen:
                    todo.extend((dep, e) for e in (req.extras or {None}))
                    todo.append((dep, None))
        return seen - {"neptune-watch"}


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installed]:
    if not WHEELHOUSE.is_dir():
        pytest.fail(f"{WHEELHOUSE} is missing: run make setup (it collects the locked wheels)")
    root = tmp_path_factory.mktemp("wheel")
    assert REPO not in root.parents
    # setuptools stages the build in build/: start clean, so no file removed since lingers.
    shutil.rmtree(REPO / "build", ignore_errors=True)
    _run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
          "--disable-pip-version-check", "-w", str(root / "dist"), str(REPO)], REPO, dict(os.environ))  # fmt: skip
    shutil.rmtree(REPO / "build", ignore_errors=True)
    (wheel,) = (root / "dist").glob("neptune_watch-*.whl")
    _run([sys.executable, "-m", "venv", str(root / "venv")], root, dict(os.environ))
    inst = Installed(root, wheel)
    yield inst


@pytest.mark.slow
def test_wheel_holds_one_package_with_its_data(installed: Installed) -> None:
    names = zipfile.ZipFile(installed.wheel).namelist()
    tops = {n.split("/")[0] for n in names}
    assert {t for t in tops if not t.endswith(".dist-info")} == {"neptune_watch"}
    for needed in (
        "neptune_watch/cdk/watch_construct.py",
        "neptune_watch/_lambdas/watcher/handlers/prepare.py",
        "neptune_watch/_lambdas/watcher/names.py",
        "neptune_watch/statemachines/watch.asl.json",
        "neptune_watch/schemas/outcome.schema.json",
        "neptune_watch/scenarios/loader-succeeds-after-queue.json",
        "neptune_watch/examples/parent_sync.asl.json",
    ):
        assert needed in names, needed
    # Every module of the Lambda code is in the wheel.
    for path in (REPO / "lambdas" / "watcher").rglob("*.py"):
        assert f"neptune_watch/_lambdas/{path.relative_to(REPO / 'lambdas').as_posix()}" in names, path
    metadata = zipfile.ZipFile(installed.wheel).read(
        next(n for n in names if n.endswith(".dist-info/METADATA"))
    ).decode()
    assert "Provides-Extra: cdk" in metadata and "Provides-Extra: local" in metadata


@pytest.mark.slow
def test_the_cdk_extra_pulls_no_moto_and_the_local_extra_no_cdk(with_extras: Installed) -> None:
    cdk = with_extras.resolved("cdk")
    local = with_extras.resolved("local")
    assert {"aws-cdk-lib", "constructs", "cdk-nag", "boto3", "aws-lambda-powertools"} <= cdk
    assert "moto" not in cdk
    assert "moto" in local
    assert not {n for n in local if n.startswith(("aws-cdk", "jsii", "constructs", "cdk-nag"))}
    assert "aws-xray-sdk" in local  # the in-process handlers trace
    base = with_extras.resolved("")
    assert not {n for n in base if n.startswith(("moto", "aws-cdk", "jsii"))}


@pytest.fixture(scope="module")
def with_extras(installed: Installed) -> Installed:
    installed.pip("install", "--quiet", "--no-compile", f"{installed.wheel}[cdk,local]")
    return installed


@pytest.mark.slow
def test_a_users_cdk_app_embeds_the_construct(with_extras: Installed) -> None:
    app_dir = with_extras.work / "user-app"
    (app_dir / "stacks").mkdir(parents=True)
    (app_dir / "stacks" / "__init__.py").write_text('MARK = "users-own-stacks"\n')
    (app_dir / "app.py").write_text(USER_APP)
    assert len(USER_APP.splitlines()) <= 16
    # with_extras.env carries JSII_NODE (tests/conftest.py): jsii runs on Node 22, no banner.
    done = _run([str(with_extras.bin / "python"), "app.py"], app_dir, with_extras.env)
    assert "users-own-stacks UserStack-Watch" in done.stdout
    template = json.loads((app_dir / "cdk.out" / "UserStack.template.json").read_text())
    types = [r["Type"] for r in template["Resources"].values()]
    assert types.count("AWS::StepFunctions::StateMachine") == 1
    assert types.count("AWS::SNS::Topic") == 1  # the user's topic, no second one
    # The Lambda asset is the packaged watcher code.
    assets = [p for p in (app_dir / "cdk.out").glob("asset.*") if (p / "watcher").is_dir()]
    assert assets and (assets[0] / "watcher" / "handlers" / "prepare.py").is_file()
    assert sorted(p.name for p in assets[0].iterdir()) == ["watcher"]


@pytest.mark.slow
def test_demo_and_run_scenario_run_from_the_wheel(with_extras: Installed) -> None:
    demo = with_extras.run(str(with_extras.bin / "neptune-watch"), "demo", "--no-live")
    assert "SUCCEEDED" in demo.stdout and "FAILED" in demo.stdout
    located = with_extras.run(str(with_extras.bin / "python"), "-c",
                              "from neptune_watch import resources; print(resources.scenarios_dir())")  # fmt: skip
    scenarios = Path(located.stdout.strip())
    assert scenarios.parent.name == "neptune_watch" and "site-packages" in scenarios.parts
    done = with_extras.run(str(with_extras.bin / "neptune-watch"), "run-scenario",
                           str(scenarios / "loader-succeeds-after-queue.json"))  # fmt: skip
    report: dict[str, Any] = json.loads(done.stdout)
    assert report["outcome"]["outcome"] == "SUCCEEDED"
    assert report["sns"] and report["events"]


@pytest.mark.slow
def test_the_emulator_serves_from_the_wheel(with_extras: Installed) -> None:
    job_id = "0a1b2c3d-0000-4000-8000-000000000001"
    scenario = with_extras.work / "emulator.json"
    scenario.write_text(json.dumps({"request": {"job": {"kind": "loader", "id": job_id}},
                                    "job": {"kind": "loader", "id": job_id, "timeline": [
                                        {"at": 0, "status": "LOAD_IN_PROGRESS"}]}}))  # fmt: skip
    proc = subprocess.Popen(
        [str(with_extras.bin / "python"), "-m", "neptune_watch.emulator", str(scenario)],
        cwd=with_extras.work, env=with_extras.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", url), url
        with urllib.request.urlopen(f"{url}/loader/{job_id}", timeout=10) as reply:
            body = json.loads(reply.read())
        assert body["payload"]["overallStatus"]["status"] == "LOAD_IN_PROGRESS"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
