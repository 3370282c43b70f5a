"""What every ``fixgw`` command shares: the ``--config`` option's help and loading it."""

from __future__ import annotations

import click

from gateway.config import ConfigError, GatewayConfig, load_config

CONFIG_HELP = "Gateway config file (default: $FIXGW_CONFIG or config/gateway.yaml)."


def load(config_path: str | None) -> GatewayConfig:
    """The configuration, or a one-line error naming the file, key and problem."""
    try:
        return load_config(config_path)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
