"""Where the files that are not Python modules of ``neptune_watch`` are.

The Lambda code (``lambdas/``, whose package imports as ``watcher``), the state machine
definition (``statemachines/``), the JSON schemas, the example scenarios and the example parent
definitions keep their folders at the top of the repository; a wheel carries them inside the
package (``neptune_watch/_lambdas``, ``neptune_watch/statemachines``, ...: see the package-dir
table of ``pyproject.toml``). Each function below answers the installed copy when there is one
and the checkout's folder otherwise, so the same code works from a clone and from a wheel.
"""

from __future__ import annotations

import importlib.resources
import sys
from pathlib import Path

__all__ = [
    "ResourceNotFound",
    "definition_path",
    "examples_dir",
    "lambdas_dir",
    "require_watcher",
    "scenarios_dir",
    "schemas_dir",
]

# name inside the installed package -> folder of the checkout
_FOLDERS = {
    "_lambdas": "lambdas",
    "statemachines": "statemachines",
    "schemas": "schemas",
    "scenarios": "scenarios",
    "examples": "examples",
}


class ResourceNotFound(FileNotFoundError):
    """A data folder of neptune-watch is neither in the installed package nor in a checkout."""


def _folder(packaged: str) -> Path:
    inside = importlib.resources.files("neptune_watch") / packaged
    if inside.is_dir():
        # Wheels install as plain files, so the Traversable is a real directory.
        return Path(str(inside))
    checkout = Path(__file__).resolve().parent.parent / _FOLDERS[packaged]
    if checkout.is_dir():
        return checkout
    raise ResourceNotFound(
        f"neptune-watch data folder {packaged!r} is missing: neither {inside} (installed package) "
        f"nor {checkout} (checkout) exists; reinstall the neptune-watch wheel"
    )


def lambdas_dir() -> Path:
    """The folder holding the ``watcher`` package (the Lambda asset's root)."""
    return _folder("_lambdas")


def definition_path(name: str = "watch.asl.json") -> Path:
    """An ASL definition of ``statemachines/`` (default: the watch state machine)."""
    return _folder("statemachines") / name


def schemas_dir() -> Path:
    """The JSON schemas of the watch request and the outcome."""
    return _folder("schemas")


def scenarios_dir() -> Path:
    """The example scenarios ``neptune-watch run-scenario`` accepts."""
    return _folder("scenarios")


def examples_dir() -> Path:
    """The example parent state machine definitions."""
    return _folder("examples")


def require_watcher() -> None:
    """Make the Lambda package importable in-process as ``watcher`` (as Lambda imports it).

    A checkout's tests already have ``lambdas/`` on the path; an installed wheel has it at
    ``neptune_watch/_lambdas``, which is added here. Nothing is added when ``watcher`` already
    resolves to that folder, and a different ``watcher`` already imported is an error rather
    than a silent mix of two code bases.
    """
    folder = str(lambdas_dir())
    loaded = sys.modules.get("watcher")
    if loaded is not None:
        origin = Path(getattr(loaded, "__file__", "") or "").resolve().parent.parent
        if origin != Path(folder).resolve():
            raise ImportError(
                f"a different 'watcher' package is already imported from {origin}; "
                f"neptune-watch runs its handlers from {folder}"
            )
        return
    if folder not in sys.path:
        sys.path.insert(0, folder)
