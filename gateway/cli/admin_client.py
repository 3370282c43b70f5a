"""How the CLI reaches a running gateway's admin API.

The URL is ``--admin URL``, else ``$FIXGW_ADMIN_URL``, else http://127.0.0.1:<gateway.admin.port>
from the configuration; the token is the configured environment variable, else the token file.
Every failure is one line on stderr and a non-zero exit (click.ClickException).
"""

from __future__ import annotations

import getpass
import json
import os
import urllib.error
import urllib.request
from typing import Any

import click

from gateway.admin.token import admin_token
from gateway.cli.common import load

ADMIN_HELP = "Admin API URL (default: $FIXGW_ADMIN_URL, else 127.0.0.1 and gateway.admin.port)."


class GatewayDown(click.ClickException):
    """No gateway answers at the admin URL (commands that can work offline catch this)."""


def call(config_path: str | None, admin_url: str | None, method: str, path: str, body: Any = None) -> Any:
    cfg = load(config_path)
    url = admin_url or os.environ.get("FIXGW_ADMIN_URL")
    if url is None:
        if cfg.admin.port is None:
            raise click.ClickException(
                f"{cfg.source}: gateway.admin.port is not set: no admin API to reach (or pass --admin)"
            )
        url = f"http://127.0.0.1:{cfg.admin.port}"
    token = admin_token(cfg.admin)
    if token is None:
        raise click.ClickException(
            f"no admin token: set ${cfg.admin.token_env}, or read {cfg.admin.token_file} "
            "(the gateway writes it on its first start)"
        )
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url.rstrip("/") + path, data=data, method=method)
    request.add_header("Authorization", f"Bearer {token}")
    request.add_header("X-Fixgw-Actor", _actor())
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=15) as response:
            payload = response.read()
            kind = response.headers.get("Content-Type", "")
    except urllib.error.HTTPError as exc:
        try:
            message = json.loads(exc.read()).get("error", exc.reason)
        except ValueError:
            message = exc.reason
        raise click.ClickException(f"{method} {path}: {message} (HTTP {exc.code})") from None
    except (TimeoutError, urllib.error.URLError, ConnectionError) as exc:
        reason = getattr(exc, "reason", exc)
        raise GatewayDown(f"no gateway answering at {url} ({reason})") from None
    return json.loads(payload) if kind.startswith("application/json") else payload.decode()


def _actor() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no user name in this environment
        return "unknown"


def table(rows: list[dict], columns: list[tuple[str, str]]) -> str:
    """A plain text table: ``columns`` are (key, heading); None shows as '-'."""
    cells = [[("-" if r.get(k) is None else str(r.get(k))) for k, _ in columns] for r in rows]
    widths = [max([len(h), *(len(c[i]) for c in cells)]) for i, (_, h) in enumerate(columns)]
    lines = ["  ".join(h.ljust(w) for (_, h), w in zip(columns, widths, strict=True)).rstrip()]
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells]
    return "\n".join(lines)
