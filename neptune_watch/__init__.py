"""neptune-watch: watch Amazon Neptune bulk loads and Neptune Analytics tasks to the end.

``neptune_watch.cdk`` holds the CDK construct (``pip install 'neptune-watch[cdk]'``);
``from neptune_watch import NeptuneWatch`` is a shortcut to it, loaded on first use so that the
CLI and the local runtime never import the CDK.
"""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    if name in ("NeptuneWatch", "NeptuneWatchProps"):
        try:
            from neptune_watch import cdk
        except ImportError as exc:  # the [cdk] extra is not installed
            raise ImportError(
                f"neptune_watch.{name} needs the CDK: pip install 'neptune-watch[cdk]' ({exc})"
            ) from exc
        return getattr(cdk, name)
    raise AttributeError(f"module 'neptune_watch' has no attribute {name!r}")
