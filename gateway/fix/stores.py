"""QuickFIX FileStore files of a stopped gateway: read and change sequence numbers offline.

QuickFIX keeps each session in ``sessions/store/{clients,venues}/<BeginString>-<Sender>-<Target>``
plus ``.seqnums`` (``next sender : next target``, zero-padded), ``.body`` and ``.header`` (the
messages kept for resends) and ``.session`` (the creation time). Editing them while a gateway
runs would be undone by it, so the CLI only does this when no gateway answers.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from gateway.config import GatewayConfig

_WIDTH = 20  # QuickFIX 1.16 writes "%020d : %020d"


@dataclass(frozen=True)
class StoredSession:
    name: str
    side: str  # client | venue
    prefix: Path  # the files' common path, without extension

    @property
    def seqnums(self) -> Path:
        return self.prefix.with_name(self.prefix.name + ".seqnums")

    def read(self) -> tuple[int, int] | None:
        """(next outgoing, next incoming), None when the session has no store yet."""
        try:
            out, _, incoming = self.seqnums.read_text().partition(":")
            return int(out), int(incoming)
        except (FileNotFoundError, ValueError):
            return None

    def write(self, next_out: int, next_in: int) -> None:
        self.prefix.parent.mkdir(parents=True, exist_ok=True)
        self.seqnums.write_text(f"{next_out:0{_WIDTH}d} : {next_in:0{_WIDTH}d}")

    def reset(self) -> None:
        """Sequence numbers back to 1 and no stored messages, as QuickFIX's own reset leaves it."""
        for ext in (".body", ".header"):
            path = self.prefix.with_name(self.prefix.name + ext)
            if path.exists():
                path.write_bytes(b"")
        self.write(1, 1)


def stored_session(cfg: GatewayConfig, name: str) -> StoredSession:
    """The store of a configured client or venue order session; KeyError names the choices."""
    if name in cfg.clients:
        c = cfg.clients[name]
        folder, side, sender, target = "clients", "client", c.gateway_comp_id, c.comp_id
        begin = c.begin_string
    elif name in cfg.venues:
        v = cfg.venues[name]
        folder, side, sender, target = "venues", "venue", v.gateway_comp_id, v.comp_id
        begin = v.begin_string
    else:
        known = ", ".join([*cfg.clients, *cfg.venues])
        raise KeyError(f"unknown session {name!r} (sessions: {known})")
    return StoredSession(name, side, cfg.sessions_dir / "store" / folder / f"{begin}-{sender}-{target}")
