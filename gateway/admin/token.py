"""The admin API's token: from an environment variable, else a file under the sessions folder.

The gateway creates the file (random, mode 0600) on first start when neither is set, so a
local operator who can read the sessions folder can administer with no setup, and nobody
else can; a deployment sets the variable from its secret store instead.
"""

from __future__ import annotations

import os
import secrets

from gateway.config.model import AdminConfig


def admin_token(cfg: AdminConfig, create: bool = False) -> str | None:
    """The token, or None when there is none (and ``create`` is False)."""
    value = os.environ.get(cfg.token_env, "").strip()
    if value:
        return value
    path = cfg.token_file
    if path is None:
        return None
    if path.exists():
        return path.read_text().strip() or None
    if not create:
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    token = secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(token + "\n")
    return token
