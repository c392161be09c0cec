"""Named errors of the construct's configuration (``cdk.json`` and the construct's properties)."""

from __future__ import annotations


class ConfigError(ValueError):
    """The configuration is invalid; the message names the key and the fix."""


class ReaderEndpointError(ConfigError):
    """The loader endpoint is a reader endpoint: Neptune's loader answers only on the writer."""


class LayerMismatchError(ConfigError):
    """The Powertools layer is built for another runtime or architecture than the functions."""
