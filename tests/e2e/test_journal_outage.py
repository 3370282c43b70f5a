"""The gateway does not trade blind: while its journal cannot be written it takes no new
orders, and it resumes by itself once it can write again."""

from __future__ import annotations

import sqlite3

from gateway.tools.fixclient import field
from tests.e2e.harness import connect, report_for, start_gateway, write_config


def test_orders_are_refused_while_the_journal_is_unwritable_and_taken_again_after(tmp_path):
    config = write_config(tmp_path)
    gw = start_gateway(config)
    try:
        c1 = connect(config, "CLIENT1")
        assert field(report_for(c1, c1.new_order("TA10", "buy", 1, "1")), 39) == "0"

        holder = sqlite3.connect(tmp_path / "sessions" / "fixgw.db", isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")  # another writer holds the database: writes time out
        try:
            lost = c1.new_order("TA10", "buy", 1, "1")
            answer = c1.wait_for(lambda m: field(m, 35) == "j", 10)  # nothing of it was sent
            assert field(answer, 379) == lost and "JournalError" in field(answer, 58)
            gw.wait_for_log("journal cannot be written")
            refused = report_for(c1, c1.new_order("TA10", "buy", 1, "1"), timeout=10)
            assert field(refused, 39) == "8" and "journal unavailable" in field(refused, 58)
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        gw.wait_for_log("journal writable again", timeout=10)
        assert field(report_for(c1, c1.new_order("TA10", "buy", 1, "1")), 39) == "0"
        c1.logout()
    finally:
        gw.stop()
