"""``neptune_watch.cdk``: the NeptuneWatch construct and its properties (install
``neptune-watch[cdk]``). In a checkout this is the ``stacks/`` folder."""

from .config import (
    AnalyticsProps,
    EventBusProps,
    LoaderProps,
    PollPolicy,
    TopicProps,
    WatchConfig,
    WatchDefaults,
    parse_config,
)
from .errors import ConfigError, LayerMismatchError, ReaderEndpointError
from .props import NeptuneWatchProps
from .watch_construct import NeptuneWatch

__all__ = [
    "AnalyticsProps",
    "ConfigError",
    "EventBusProps",
    "LayerMismatchError",
    "LoaderProps",
    "NeptuneWatch",
    "NeptuneWatchProps",
    "PollPolicy",
    "ReaderEndpointError",
    "TopicProps",
    "WatchConfig",
    "WatchDefaults",
    "parse_config",
]
