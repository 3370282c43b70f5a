"""kill -9 at random moments under load, then a full cross-check of clients, journal and venues.

Three clients (FIX 4.4, 4.2, 4.4) send resting, marketable and market orders, cancels
and replaces through the gateway to two standalone venues (SIM-A FIX 4.4, SIM-B FIX 4.2) that
outlive every kill; the gateway is SIGKILLed at random points and restarted each time. The
driver (:mod:`gateway.tools.killsoak`, also ``fixgw kill-soak`` for longer runs) then checks:
no order lost, none sent to a venue twice, no orphan left working, every fill reported to its
client exactly once with the venue's CumQty and AvgPx, positions equal to the venue fills.
"""

from __future__ import annotations

import os

import pytest

from gateway.tools.killsoak import run_soak
from tests.e2e.harness import PG_URL

# FIXGW_SOAK_SEED replays a failing run (its seed is in the figures).
SEED = int(os.environ.get("FIXGW_SOAK_SEED", "0")) or None


def _postgres() -> str:
    from sqlalchemy import create_engine, text

    try:
        engine = create_engine(PG_URL)
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as exc:  # any connection problem means: no server here
        pytest.skip(f"PostgreSQL not reachable at {PG_URL}: {exc}")
    return PG_URL  # run_soak makes a fresh schema in it and drops it afterwards


@pytest.mark.parametrize(
    ("store", "kills", "per_round"),
    [("sqlite", 10, 40), pytest.param("postgresql", 10, 30, marks=pytest.mark.postgres)],
    ids=["sqlite", "postgresql"],
)
def test_random_kill9_loses_duplicates_and_orphans_nothing(tmp_path, store, kills, per_round):
    url = _postgres() if store == "postgresql" else None
    result = run_soak(tmp_path, kills=kills, clients=3, orders_per_round=per_round, seed=SEED, store_url=url)
    figures = result.figures()
    print(f"\nkill -9 soak ({store}):\n{figures}")
    assert result.kills == kills
    assert result.orders > kills * 5 and result.fill_reports > 0 and result.venue_orders > 0, figures
    assert result.ok, f"kill -9 soak found mismatches (replay with FIXGW_SOAK_SEED={result.seed}):\n{figures}"
