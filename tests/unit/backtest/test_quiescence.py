from gateway.backtest.quiescence import SideCounts, gateway_counts, session_quiet, unquiet


def test_quiet_when_each_side_processed_all_the_other_sent():
    # we sent 4 (next_out 5) and received 6 (next_in 7); the gateway mirrors that
    assert session_quiet(SideCounts(True, 7, 5), SideCounts(True, 5, 7))
    assert not session_quiet(SideCounts(True, 7, 5), SideCounts(True, 4, 7))  # our 5th not processed yet
    assert not session_quiet(SideCounts(True, 6, 5), SideCounts(True, 5, 7))  # its 6th still unread here


def test_logon_and_logout_half_way_are_busy_down_on_both_is_quiet():
    assert not session_quiet(SideCounts(False, 1, 2), SideCounts(True, 2, 1))
    assert not session_quiet(SideCounts(True, 2, 2), SideCounts(False, 2, 2))
    assert session_quiet(SideCounts(False, 9, 3), SideCounts(False, 1, 1))
    assert session_quiet(SideCounts(False, 1, 1), None)
    assert not session_quiet(SideCounts(True, 1, 1), None)


def test_unquiet_names_busy_sessions_from_admin_rows():
    gw = gateway_counts([
        {"name": "CME-A", "logged_on": True, "next_in": 10, "next_out": 20},
        {"name": "CLIENT1", "logged_on": True, "next_in": 3, "next_out": 4},
    ])  # fmt: skip
    ours = {
        "CME-A": SideCounts(True, 10, 20),
        "CLIENT1": SideCounts(True, 3, 4),
        "CME-B": SideCounts(False, 1, 1),
    }
    assert unquiet(ours, gw) == ["CLIENT1", "CME-A"]
    ours = {"CME-A": SideCounts(True, 20, 10), "CLIENT1": SideCounts(True, 4, 3)}
    assert unquiet(ours, gw) == []


def test_what_must_settle_before_a_send():
    from gateway.backtest.quiescence import must_settle_before

    assert not must_settle_before({}, "V1", "app")
    assert not must_settle_before({"V1": {"app", "md"}}, "V1", "app")  # same session: ordered anyway
    assert must_settle_before({"V1": {"app"}}, "C1", "app")
    assert must_settle_before({"V1": {"app"}}, "V2", "md")
    assert not must_settle_before({"V1": {"md"}}, "V2", "md")  # market data may overlap market data
    assert must_settle_before({"V1": {"md"}}, "C1", "app")  # an order must see the books first
