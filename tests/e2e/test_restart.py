"""The gateway restarts with an open, partially filled order; a fill after the restart
reaches the client with correct cumulative quantities. SIM-A runs as its own
``fixgw venue-sim`` process so its book outlives the gateway."""

from __future__ import annotations

import signal
import time

import pytest

from gateway.tools.fixclient import field
from tests.e2e.harness import PG_URL, Process, connect, exec_type, report_for, start_gateway, write_config


def _postgres_url() -> str:
    """A fresh schema on the local server, or skip with the reason."""
    import uuid

    from sqlalchemy import create_engine, text

    try:
        engine = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
        schema = f"fixgw_e2e_{uuid.uuid4().hex[:8]}"
        with engine.connect() as conn:
            conn.execute(text(f"CREATE SCHEMA {schema}"))
    except Exception as exc:  # any connection problem means: no server here
        pytest.skip(f"PostgreSQL not reachable at {PG_URL}: {exc}")
    return f"{PG_URL}?options=-csearch_path%3D{schema}"


@pytest.mark.parametrize(
    ("how", "store"),
    [
        (signal.SIGTERM, "sqlite"),
        (signal.SIGKILL, "sqlite"),
        pytest.param(signal.SIGKILL, "postgresql", marks=pytest.mark.postgres),
    ],
    ids=["sigterm-sqlite", "kill9-sqlite", "kill9-postgresql"],
)
def test_open_order_fills_after_gateway_restart(tmp_path, how, store):
    url = _postgres_url() if store == "postgresql" else None
    config = write_config(tmp_path, store_url=url, sim_a=False)
    venue = Process("venue-sim", "--config", str(config), "SIM-A")
    venue.wait_for_log("simulated venue SIM-A")
    gw = start_gateway(config)
    try:
        c1 = connect(config, "CLIENT1")
        c2 = connect(config, "CLIENT2")
        cl = c1.new_order("TA01", "buy", 100, "20")
        assert field(report_for(c1, cl, exec_type("0")), 39) == "0"
        c2.new_order("TA01", "sell", 40, "20")
        partial = report_for(c1, cl, exec_type("F"))
        assert [field(partial, t) for t in (14, 151)] == ["40", "60"]

        gw.stop(how)
        c1.close()
        c2.close()
        gw = start_gateway(config)
        assert any("restored 1 open orders" in line for line in gw.lines), gw.lines[-20:]

        c1.logon()  # same sequence numbers: the gateway's store resumes them
        c2 = connect(config, "CLIENT2")
        c1.status(cl, "TA01", "buy")
        status = report_for(c1, cl, exec_type("I"))
        assert [field(status, t) for t in (39, 14, 151)] == ["1", "40", "60"]

        c2.new_order("TA01", "sell", 60, "20")
        fill = report_for(c1, cl, exec_type("F"))
        assert [field(fill, t) for t in (32, 14, 151, 39, 6)] == ["60", "100", "0", "2", "20"]
        c1.logout()
        c2.logout()
    finally:
        gw.stop()
        venue.stop()


def test_fill_the_gateway_missed_while_down_comes_back_by_reconciliation(tmp_path):
    """The venue resets sequence numbers on logon, so it never resends what the gateway missed;
    it acknowledges late, so the fill happens while the gateway is dead. Only reconciliation
    (OrderMassStatusRequest on logon) can bring it back."""
    config = write_config(tmp_path, sim_a=False, ack_timeout_s=20)
    venue_file = tmp_path / "venues" / "SIM-A.yaml"
    text = venue_file.read_text().replace("ack_delay_ms: 0", "ack_delay_ms: 1500")
    venue_file.write_text(text + "reset_on_logon: true\n")
    venue = Process("venue-sim", "--config", str(config), "SIM-A")
    venue.wait_for_log("simulated venue SIM-A")
    gw = start_gateway(config)
    try:
        c1 = connect(config, "CLIENT1", reset=False)
        cl = c1.new_order("AAPL", "buy", 50, "190.05")  # marketable against the seeded 190.01 ask
        time.sleep(0.4)  # the child order is journaled and sent; the venue sits on it for 1.5 s
        gw.kill()
        c1.close()
        venue.wait_for_log("logged out")
        time.sleep(1.5)  # the venue fills it now, with nobody to tell
        gw = start_gateway(config)
        gw.wait_for_log("reconciled with SIM-A")
        c1.logon()
        fill = report_for(c1, cl, exec_type("F"), timeout=5)
        assert [field(fill, t) for t in (39, 32, 31, 14, 151, 6, 30)] == [
            "2", "50", "190.01", "50", "0", "190.01", "SIM-A",
        ]  # fmt: skip
        c1.logout()
    finally:
        gw.stop()
        venue.stop()
