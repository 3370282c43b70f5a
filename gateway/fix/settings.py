"""QuickFIX ``SessionSettings`` built in code from the validated configuration.

No hand-kept ``.cfg`` file: the YAML is the one source, and each engine gets the
sessions it owns (the client acceptor, the venue initiator, a simulator's acceptor).
A venue with a ``dictionary_overlay`` gets its base dictionary merged with the overlay,
written under ``<sessions_dir>/dictionaries`` (both sides of the session use that file).
Schedules become StartTime/EndTime (StartDay/EndDay when weekly) as ``gateway.schedule``
explains, in local time when the session's zone is the process's.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from pathlib import Path

import quickfix as fix

from gateway.config import ClientConfig, GatewayConfig, SessionConfig, VenueConfig
from gateway.fix.overlay import merged_dictionary
from gateway.schedule import process_zone, quickfix_schedule, use_process_zone

log = logging.getLogger("gateway.fix")


def session_id(begin_string: str, sender: str, target: str) -> fix.SessionID:
    return fix.SessionID(begin_string, sender, target)


def _zone(cfg: GatewayConfig) -> str | None:
    """The process's time zone for QuickFIX's local-time schedules (set here, before any engine
    reads the clock); see :mod:`gateway.schedule`."""
    zone = process_zone(cfg)
    use_process_zone(zone)
    return zone


def _schedule(s: SessionConfig, zone: str | None) -> dict[str, str]:
    settings, exact = quickfix_schedule(s.schedule, zone, dt.datetime.now(dt.UTC))
    if not exact:
        log.warning(
            "session %s: schedule in %s given to QuickFIX as UTC %s-%s with today's offset; "
            "restart the gateway after that zone's next daylight-saving change",
            s.name, s.schedule.timezone, settings["StartTime"], settings["EndTime"],
        )  # fmt: skip
    return settings


def dictionaries_dir(cfg: GatewayConfig) -> Path:
    """Where merged venue dictionaries are written."""
    return cfg.sessions_dir / "dictionaries"


def session_dictionary(cfg: GatewayConfig, s: SessionConfig) -> Path:
    """The (application) data dictionary the session loads: the venue's merged one when it has an
    overlay (written now; the loader has already checked that it merges), else ``s.dictionary``."""
    overlay = s.dictionary_overlay if isinstance(s, VenueConfig) else None
    if overlay is None:
        return s.dictionary
    return merged_dictionary(s.dictionary, overlay, dictionaries_dir(cfg))


def _session_dict(
    s: SessionConfig, dictionary: Path | None = None, zone: str | None = None
) -> fix.Dictionary:
    """``dictionary`` replaces ``s.dictionary`` (a merged venue dictionary); ``zone`` is the
    process's time zone (:func:`_zone`)."""
    dictionary = s.dictionary if dictionary is None else dictionary
    d = fix.Dictionary()
    for key, value in _schedule(s, zone).items():
        d.setString(key, value)
    d.setString("UseDataDictionary", "Y")
    if s.transport_dictionary is not None:
        d.setString("TransportDataDictionary", str(s.transport_dictionary))
        d.setString("AppDataDictionary", str(dictionary))
        d.setString("DefaultApplVerID", s.default_appl_ver_id or "FIX.5.0SP2")
    else:
        d.setString("DataDictionary", str(dictionary))
    d.setString("ResetOnLogon", "Y" if s.reset_on_logon else "N")
    d.setString("CheckLatency", "Y" if s.check_latency else "N")
    d.setString("MaxLatency", str(s.max_latency_s))
    d.setString("HeartBtInt", str(s.heartbeat_s))
    d.setString("TimeStampPrecision", "3")
    d.setString("SocketNodelay", "Y")
    return d


def _settings(
    defaults: dict[str, str],
    sessions_dir: Path,
    role: str,
    sessions: Iterable[tuple[fix.SessionID, fix.Dictionary]],
) -> fix.SessionSettings:
    """``role`` names the folder under sessions/store and sessions/log for this engine's files."""
    settings = fix.SessionSettings()
    base = fix.Dictionary()
    defaults = {
        **defaults,
        "FileStorePath": str(sessions_dir / "store" / role),
        "FileLogPath": str(sessions_dir / "log" / role),
    }
    for k, v in defaults.items():
        base.setString(k, v)
    settings.set(base)
    for sid, d in sessions:
        settings.set(sid, d)
    return settings


def acceptor_settings(cfg: GatewayConfig, clients: Iterable[ClientConfig]) -> fix.SessionSettings:
    defaults = {"ConnectionType": "acceptor", "SocketAcceptPort": str(cfg.acceptor.port)}
    if cfg.acceptor.bind_address:
        defaults["SocketAcceptHost"] = cfg.acceptor.bind_address
    zone = _zone(cfg)
    return _settings(
        defaults,
        cfg.sessions_dir,
        "clients",
        ((session_id(c.begin_string, c.gateway_comp_id, c.comp_id), _client_dict(c, zone)) for c in clients),
    )


def _client_dict(c: ClientConfig, zone: str | None) -> fix.Dictionary:
    d = _session_dict(c, zone=zone)
    if c.accept_port is not None:  # QuickFIX listens on every distinct port of its sessions
        d.setString("SocketAcceptPort", str(c.accept_port))
    return d


def market_data_session_id(v: VenueConfig) -> fix.SessionID | None:
    """The venue's separate market-data session, when it has one (our side)."""
    comp_id = v.market_data.session_comp_id()
    return session_id(v.begin_string, v.gateway_comp_id, comp_id) if comp_id else None


def initiator_settings(cfg: GatewayConfig, venues: Iterable[VenueConfig]) -> fix.SessionSettings:
    zone = _zone(cfg)

    def sessions(v: VenueConfig) -> list[tuple[fix.SessionID, fix.Dictionary]]:
        out = []
        for sid in (session_id(v.begin_string, v.gateway_comp_id, v.comp_id), market_data_session_id(v)):
            if sid is None:
                continue
            d = _session_dict(v, session_dictionary(cfg, v), zone)
            d.setString("SocketConnectHost", v.host)
            d.setString("SocketConnectPort", str(v.port))
            d.setString("ReconnectInterval", str(v.reconnect_s))
            out.append((sid, d))
        return out

    return _settings(
        {"ConnectionType": "initiator"}, cfg.sessions_dir, "venues", (s for v in venues for s in sessions(v))
    )


def simulator_settings(cfg: GatewayConfig, venue: VenueConfig, bind_address: str | None = None):
    """The venue's own side of the session: it accepts the gateway on ``venue.port``."""
    defaults = {"ConnectionType": "acceptor", "SocketAcceptPort": str(venue.port)}
    if bind_address:
        defaults["SocketAcceptHost"] = bind_address
    sids = [session_id(venue.begin_string, venue.comp_id, venue.gateway_comp_id)]
    md_comp_id = venue.market_data.session_comp_id()
    if md_comp_id:  # the venue's market-data session, on the same port
        sids.append(session_id(venue.begin_string, md_comp_id, venue.gateway_comp_id))
    zone = _zone(cfg)
    sessions = [(sid, _session_dict(venue, session_dictionary(cfg, venue), zone)) for sid in sids]
    return _settings(defaults, cfg.sessions_dir, f"sim-{venue.name}", sessions)
