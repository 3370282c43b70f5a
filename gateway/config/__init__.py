"""Gateway configuration: ``load_config()`` returns a validated, frozen :class:`GatewayConfig`.

Every mistake raises :class:`ConfigError` naming the file, key path and problem. Only
``loader.py`` knows the files are YAML; everything else sees the dataclasses re-exported here.
"""

from .loader import load_config
from .model import (
    AcceptorConfig,
    ClientConfig,
    ConfigError,
    EngineConfig,
    GatewayConfig,
    GatewaySchedule,
    Instrument,
    Schedule,
    SessionConfig,
    SimulatorConfig,
    StoreConfig,
    VenueConfig,
)

__all__ = [
    "AcceptorConfig",
    "ClientConfig",
    "ConfigError",
    "EngineConfig",
    "GatewayConfig",
    "GatewaySchedule",
    "Instrument",
    "Schedule",
    "SessionConfig",
    "SimulatorConfig",
    "StoreConfig",
    "VenueConfig",
    "load_config",
]
