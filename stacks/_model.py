r"""The base of the configuration models: camelCase JSON keys, ``//`` comments, no unknown
keys, frozen; and the translation of pydantic's errors into named :class:`ConfigError`\ s."""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator
from pydantic.alias_generators import to_camel

from .errors import ConfigError

_VALIDATING: contextvars.ContextVar[bool] = contextvars.ContextVar("neptune_watch_validating", default=False)


@contextlib.contextmanager
def validating() -> Iterator[None]:
    token = _VALIDATING.set(True)
    try:
        yield
    finally:
        _VALIDATING.reset(token)


class Model(BaseModel):
    model_config = ConfigDict(
        frozen=True, extra="forbid", alias_generator=to_camel, populate_by_name=True,
        arbitrary_types_allowed=True,
    )  # fmt: skip

    def __init__(self, **data: Any) -> None:
        # Built directly (LoaderProps(...)): the same named errors as from cdk.json. Inside a
        # validation already under way, errors stay pydantic's, for the outer one to name.
        if _VALIDATING.get():
            super().__init__(**data)
            return
        with validating():
            try:
                super().__init__(**data)
            except ValidationError as exc:
                raise explain(exc, type(self).__name__) from None

    @model_validator(mode="before")
    @classmethod
    def _drop_comments(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return {k: v for k, v in data.items() if not str(k).startswith("//")}
        return data


def explain(exc: ValidationError, where: str) -> ConfigError:
    """One ConfigError (of the most specific class raised inside) naming every problem."""
    problems = []
    error_class: type[ConfigError] = ConfigError
    for err in exc.errors():
        loc = ".".join([where, *(to_camel(str(p)) if isinstance(p, str) else f"[{p}]" for p in err["loc"])])
        loc = loc.replace(".[", "[")
        original = (err.get("ctx") or {}).get("error")
        if isinstance(original, ConfigError):
            error_class = type(original)  # e.g. ReaderEndpointError, LayerMismatchError
        message = str(original) if original is not None else err["msg"]
        if err["type"] == "missing":
            message = "is required"
        elif err["type"] == "extra_forbidden":
            message = "unknown key"
        problems.append(f"{loc}: {message}" if message != "is required" else f"{loc} is required")
    return error_class("; ".join(problems))
