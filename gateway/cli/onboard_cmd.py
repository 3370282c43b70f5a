"""``fixgw venues add`` and ``fixgw clients add``: a new session's YAML from the commented template.

The file gets the given keys, then the template's commented lines for everything else, so the
operator sees every option in place. The whole configuration is loaded with the new file
before the command succeeds; a file that would not load is not left behind.
"""

from __future__ import annotations

from pathlib import Path

import click
import yaml

from gateway.cli.admin_cmds import venues
from gateway.config import ConfigError, load_config
from gateway.fix.dictionary import SPEC_DIR

SHIPPED_TEMPLATES = SPEC_DIR.parent / "config" / "templates"
CONFIG_HELP = "gateway.yaml to add to (default: $FIXGW_CONFIG, else config/gateway.yaml)."
FIX_VERSIONS = click.Choice(["4.2", "4.4", "FIXT1.1"])


def _write(config_path: str | None, kind: str, name: str, keys: dict, force: bool) -> Path:
    try:
        cfg = load_config(config_path)
    except ConfigError as exc:
        raise click.ClickException(f"the configuration does not load as it is: {exc}") from None
    folder = cfg.source.parent / f"{kind}s"
    target = folder / f"{name}.yaml"
    if target.exists() and not force:
        raise click.ClickException(f"{target} exists (--force replaces it)")
    template = cfg.source.parent / "templates" / f"{kind}.yaml"
    if not template.exists():  # a config folder of its own: the shipped template
        template = SHIPPED_TEMPLATES / f"{kind}.yaml"
    body = yaml.safe_dump(
        {k: v for k, v in keys.items() if v is not None}, sort_keys=False, default_flow_style=None
    )
    text = f"# Written by `fixgw {kind}s add`; the commented lines below are the other options.\n{body}\n"
    if template.exists():
        text += template.read_text()
    previous = target.read_text() if target.exists() else None
    folder.mkdir(parents=True, exist_ok=True)
    target.write_text(text)
    try:
        load_config(cfg.source)
    except ConfigError as exc:
        if previous is None:
            target.unlink()
        else:
            target.write_text(previous)
        raise click.ClickException(str(exc)) from None
    return target


@venues.command("add")
@click.argument("name")
@click.option("--host", required=True, help="Where the gateway connects.")
@click.option("--port", required=True, type=click.IntRange(1, 65535))
@click.option("--fix-version", required=True, type=FIX_VERSIONS)
@click.option("--target-comp-id", help="The venue's CompID (our TargetCompID; default: NAME).")
@click.option("--sender-comp-id", help="Our SenderCompID on this session (default: gateway.comp_id).")
@click.option("--heartbeat", "heartbeat_s", type=click.IntRange(1), help="HeartBtInt, seconds (default 30).")
@click.option(
    "--reconnect", "reconnect_s", type=click.IntRange(1), help="Seconds between connects (default 5)."
)
@click.option("--simulated", is_flag=True, help="`fixgw run` starts a simulated venue for it.")
@click.option("--force", is_flag=True, help="Replace an existing file.")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help=CONFIG_HELP)
def venues_add(name, host, port, fix_version, target_comp_id, sender_comp_id, heartbeat_s, reconnect_s,
               simulated, force, config_path) -> None:  # fmt: skip
    """Write venues/NAME.yaml from the template; route instruments to it in gateway.yaml, then
    `fixgw reload` starts its session in a running gateway."""
    keys = {
        "name": name, "host": host, "port": port, "fix_version": fix_version, "comp_id": target_comp_id,
        "gateway_comp_id": sender_comp_id, "heartbeat_s": heartbeat_s, "reconnect_s": reconnect_s,
        "simulator": {"enabled": True} if simulated else None,
    }  # fmt: skip
    click.echo(f"wrote {_write(config_path, 'venue', name, keys, force)}")


@click.group("clients")
def clients() -> None:
    """Client sessions of the gateway."""


@clients.command("add")
@click.argument("name")
@click.option("--fix-version", required=True, type=FIX_VERSIONS)
@click.option("--comp-id", help="The client's SenderCompID (our TargetCompID; default: NAME).")
@click.option("--gateway-comp-id", help="Our SenderCompID on this session (default: gateway.comp_id).")
@click.option("--heartbeat", "heartbeat_s", type=click.IntRange(1), help="HeartBtInt, seconds (default 30).")
@click.option(
    "--accept-port",
    type=click.IntRange(1, 65535),
    help="Its own listening port: needed to add it to a running gateway with `fixgw reload`.",
)
@click.option("--force", is_flag=True, help="Replace an existing file.")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help=CONFIG_HELP)
def clients_add(
    name, fix_version, comp_id, gateway_comp_id, heartbeat_s, accept_port, force, config_path
) -> None:
    """Write clients/NAME.yaml from the template."""
    keys = {
        "name": name, "comp_id": comp_id, "gateway_comp_id": gateway_comp_id, "fix_version": fix_version,
        "heartbeat_s": heartbeat_s, "accept_port": accept_port,
    }  # fmt: skip
    click.echo(f"wrote {_write(config_path, 'client', name, keys, force)}")
