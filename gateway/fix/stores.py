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
WATERMARK_KEY = "inbound_seq/"  # journal meta + session name: group commit's inbound watermark


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


def order_and_md_stores(cfg: GatewayConfig) -> dict[str, tuple[StoredSession, bool]]:
    """Every configured session's store by the name the gateway journals it under (a venue's
    separate market-data session is ``VENUE#md``), with its ``reset_on_logon``."""
    out: dict[str, tuple[StoredSession, bool]] = {}
    for name, c in cfg.clients.items():
        out[name] = (stored_session(cfg, name), c.reset_on_logon)
    for name, v in cfg.venues.items():
        out[name] = (stored_session(cfg, name), v.reset_on_logon)
        md_comp_id = v.market_data.session_comp_id()
        if md_comp_id:
            prefix = (
                cfg.sessions_dir / "store" / "venues" / f"{v.begin_string}-{v.gateway_comp_id}-{md_comp_id}"
            )
            out[name + "#md"] = (StoredSession(name + "#md", "venue", prefix), v.reset_on_logon)
    return out


def rewind_inbound(store: StoredSession, watermark: int) -> int | None:
    """Group commit's restart step (docs/durability.md): QuickFIX counted inbound messages up to
    its next-target seqnum, the journal committed the effects of those up to ``watermark``. When
    the store is ahead, set its next target back to ``watermark + 1`` so the counterparty resends
    the rest (PossDupFlag=Y). Returns the next target it had when it rewound, else None."""
    seqs = store.read()
    if seqs is None or seqs[1] <= watermark + 1:
        return None
    store.write(seqs[0], watermark + 1)
    return seqs[1]


def set_watermark_offline(cfg: GatewayConfig, name: str, next_in: int) -> None:
    """An operator set a stopped gateway's next inbound number (``sessions set-seq``/``reset``):
    the journal's watermark follows, or the next start would rewind the store back to it."""
    from gateway.journal import Journal

    with Journal(cfg.store.url, cfg.store.synchronous) as journal:
        journal.set_meta(WATERMARK_KEY + name, str(next_in - 1))
