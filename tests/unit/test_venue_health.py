"""Venue rate limits and circuit breaker at their boundaries, on a controlled clock (nanoseconds)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from gateway.config.model import CircuitBreakerConfig, RateLimitConfig
from gateway.orders.enums import OrdType, Side, TimeInForce
from gateway.orders.messages import (
    CancelChildOrder,
    ReplaceChildOrder,
    RequestChildStatus,
    SendChildOrder,
)
from gateway.routing.venue_health import (
    BreakerChange,
    BreakerState,
    CircuitBreaker,
    VenueRateLimiter,
    Verdict,
)

S = 1_000_000_000
MS = 1_000_000
V = "SIM-A"
SEND, QUEUED, EXHAUSTED = Verdict.SEND, Verdict.QUEUED, Verdict.EXHAUSTED
CLOSED, OPEN, HALF_OPEN = BreakerState.CLOSED, BreakerState.OPEN, BreakerState.HALF_OPEN


def order(cl: str) -> SendChildOrder:
    return SendChildOrder(V, cl, "AAPL", Side.BUY, OrdType.LIMIT, Decimal(100), Decimal(10), TimeInForce.DAY)


def replace(cl: str, orig: str) -> ReplaceChildOrder:
    return ReplaceChildOrder(
        V, cl, orig, "V1", "AAPL", Side.BUY, OrdType.LIMIT, Decimal(50), Decimal(10), TimeInForce.DAY
    )


def cancel(cl: str, orig: str) -> CancelChildOrder:
    return CancelChildOrder(V, cl, orig, "V1", "AAPL", Side.BUY, Decimal(100))


def status(cl: str) -> RequestChildStatus:
    return RequestChildStatus(V, cl, "V1", "AAPL", Side.BUY)


def limiter(orders=None, messages=None, mode="queue", max_queue=1000, max_wait_ms=1000) -> VenueRateLimiter:
    return VenueRateLimiter(RateLimitConfig(orders, messages, mode, max_queue, max_wait_ms))


def sends_at(lim: VenueRateLimiter, now: int, n: int, prefix: str = "o") -> list[Verdict]:
    return [lim.submit(order(f"{prefix}{i}"), now) for i in range(n)]


# ================================================================================= rate limiter


@pytest.mark.parametrize(
    ("mode", "extra"), [("queue", QUEUED), ("reroute", EXHAUSTED), ("reject", EXHAUSTED)]
)
def test_exactly_n_orders_then_the_next_per_mode(mode: str, extra: Verdict) -> None:
    lim = limiter(orders=5, mode=mode)
    assert sends_at(lim, 0, 5) == [SEND] * 5
    assert lim.submit(order("x"), 0) is extra
    assert lim.queued == (1 if extra is QUEUED else 0)


def test_the_next_order_waits_a_full_second_not_one_refill() -> None:
    # a bucket of burst 4 alone would pass a 5th order at 250 ms (one token refilled)
    lim = limiter(orders=4, mode="reject")
    assert sends_at(lim, 0, 4) == [SEND] * 4
    assert lim.submit(order("a"), S // 4) is EXHAUSTED
    assert lim.submit(order("b"), S - 1) is EXHAUSTED
    assert lim.submit(order("c"), S) is SEND  # the first four have left the window (0, 1 s]
    assert sends_at(lim, S, 4, "e") == [SEND, SEND, SEND, EXHAUSTED]  # four in it again


def test_guard_widens_the_window_so_the_venue_never_sees_n_plus_one_in_its_second() -> None:
    cfg = limiter(orders=4, mode="reject").cfg
    lim = VenueRateLimiter(cfg, guard_ns=20 * MS)
    assert sends_at(lim, 0, 4) == [SEND] * 4
    assert lim.submit(order("a"), S) is EXHAUSTED  # one second is not enough with the guard
    assert lim.submit(order("b"), S + 20 * MS - 1) is EXHAUSTED
    assert lim.submit(order("c"), S + 20 * MS) is SEND


def test_no_one_second_window_holds_more_than_n_and_n_per_second_flow() -> None:
    n = 3
    lim = limiter(orders=n, mode="reject")
    sent: list[int] = []
    for t in range(0, 5 * S, S // 20):  # 20 attempts a second, two at each instant
        for k in range(2):
            if lim.submit(order(f"{t}-{k}"), t) is SEND:
                sent.append(t)
    assert all(sum(1 for u in sent if t - S < u <= t) <= n for t in sent)
    assert len(sent) == 5 * n  # and the limit is reached: n each second


def test_fractional_rate_keeps_the_long_run_rate() -> None:
    lim = limiter(orders=2.5, mode="reject")  # burst 2.5: two at once; then a token every 400 ms
    assert sends_at(lim, 0, 3) == [SEND, SEND, EXHAUSTED]
    assert lim.submit(order("a"), 200 * MS - 1) is EXHAUSTED
    assert lim.submit(order("b"), 200 * MS) is SEND  # the half token was banked
    assert lim.submit(order("c"), 600 * MS) is EXHAUSTED  # a token, but 3 = ceil(2.5) in the second
    assert lim.submit(order("d"), S) is SEND


def test_slow_rate_one_order_per_two_seconds() -> None:
    lim = limiter(orders=0.5, mode="reject")
    assert lim.submit(order("a"), 0) is SEND
    assert lim.submit(order("b"), 2 * S - 1) is EXHAUSTED
    assert lim.submit(order("c"), 2 * S) is SEND


def test_orders_and_messages_are_counted_separately() -> None:
    lim = limiter(orders=1, messages=4, mode="reject")
    assert lim.submit(order("a"), 0) is SEND  # 1 order, 1 message
    assert lim.submit(replace("b", "a"), 0) is EXHAUSTED  # a replace is an order
    assert lim.submit(status("a"), 0) is SEND  # messages only
    assert lim.submit(cancel("c", "a"), 0) is SEND  # messages only: no order token needed
    assert lim.submit(status("a"), 0) is SEND  # 4th message
    assert lim.submit(status("a"), 0) is EXHAUSTED
    assert lim.submit(cancel("d", "a"), 0) is QUEUED


def test_cancels_need_no_token_without_a_message_limit() -> None:
    lim = limiter(orders=1, mode="reject")
    assert lim.submit(order("a"), 0) is SEND
    assert [lim.submit(cancel(f"c{i}", "a"), 0) for i in range(3)] == [SEND] * 3
    assert lim.submit(status("a"), 0) is SEND


@pytest.mark.parametrize("mode", ["queue", "reroute", "reject"])
def test_cancel_is_never_exhausted_even_beyond_max_queue(mode: str) -> None:
    lim = limiter(messages=1, mode=mode, max_queue=1)
    assert lim.submit(order("a"), 0) is SEND
    assert [lim.submit(cancel(f"c{i}", "a"), 0) for i in range(3)] == [QUEUED] * 3
    # a new order never takes a message token while a cancel waits
    assert lim.submit(order("b"), S) is (QUEUED if mode == "queue" else EXHAUSTED)
    assert lim.release(S) == ([cancel("c0", "a")], [])
    assert lim.release(2 * S) == ([cancel("c1", "a")], [])


def test_cancels_go_ahead_of_queued_orders() -> None:
    lim = limiter(messages=2, max_wait_ms=5000)
    assert sends_at(lim, 0, 2) == [SEND, SEND]
    assert lim.submit(order("q1"), 0) is QUEUED
    assert lim.submit(order("q2"), 10) is QUEUED
    assert lim.submit(cancel("c1", "o0"), 20) is QUEUED
    assert lim.submit(cancel("c2", "o1"), 30) is QUEUED
    assert lim.release(S - 1) == ([], [])
    assert lim.release(S) == ([cancel("c1", "o0"), cancel("c2", "o1")], [])
    assert lim.release(2 * S) == ([order("q1"), order("q2")], [])
    assert lim.queued == 0


def test_cancel_goes_ahead_of_orders_waiting_for_an_order_token() -> None:
    lim = limiter(orders=1, messages=10)
    assert lim.submit(order("a"), 0) is SEND
    assert lim.submit(order("b"), 0) is QUEUED
    assert lim.submit(cancel("c", "a"), 0) is SEND  # message tokens are there: not held behind b


def test_cancel_of_a_queued_order_waits_right_behind_it() -> None:
    lim = limiter(orders=1, messages=10, max_wait_ms=5000)
    assert lim.submit(order("a"), 0) is SEND
    assert lim.submit(order("b"), 0) is QUEUED
    assert lim.submit(order("c"), 0) is QUEUED
    assert lim.submit(cancel("x", "b"), 0) is QUEUED  # the venue must see b first
    assert lim.release(S) == ([order("b"), cancel("x", "b")], [])
    assert lim.release(2 * S) == ([order("c")], [])


def test_a_queued_status_request_does_not_hold_back_a_cancel_of_its_order() -> None:
    lim = limiter(orders=1, messages=10)
    assert lim.submit(order("a"), 0) is SEND
    assert lim.submit(order("b"), 0) is QUEUED
    assert lim.submit(status("a"), 0) is QUEUED  # behind b (FIFO), though a is at the venue
    assert lim.submit(cancel("x", "a"), 0) is SEND


def test_queue_is_fifo_and_a_newcomer_does_not_overtake() -> None:
    lim = limiter(orders=1)
    assert lim.submit(order("a"), 0) is SEND
    assert lim.submit(order("b"), 0) is QUEUED
    assert lim.submit(order("c"), S) is QUEUED  # a token is there, but b is first
    assert lim.release(S) == ([order("b")], [])
    assert lim.next_release_ns(S) == 2 * S
    assert lim.release(2 * S) == ([order("c")], [])


def test_max_queue_bounds_held_orders() -> None:
    lim = limiter(orders=1, max_queue=2)
    assert sends_at(lim, 0, 4) == [SEND, QUEUED, QUEUED, EXHAUSTED]
    assert lim.release(S) == ([order("o1")], [])
    assert lim.submit(order("x"), S) is QUEUED  # room again


def test_max_wait_expiry_at_the_boundary() -> None:
    lim = limiter(orders=1, max_wait_ms=100)
    assert lim.submit(order("a"), 0) is SEND
    assert lim.submit(order("b"), 0) is QUEUED
    assert lim.submit(order("c"), 50 * MS) is QUEUED
    assert lim.release(100 * MS) == ([], [])  # waited exactly max_wait: not yet expired
    assert lim.release(100 * MS + 1) == ([], [order("b")])
    assert lim.release(150 * MS + 1) == ([], [order("c")])
    assert lim.queued == 0
    assert lim.submit(order("d"), S) is SEND  # expired orders took no token


def test_expired_even_if_a_token_has_come() -> None:
    lim = limiter(orders=1, max_wait_ms=1000)
    assert lim.submit(order("a"), 0) is SEND
    assert lim.submit(order("b"), 0) is QUEUED
    assert lim.release(S + 1) == ([], [order("b")])  # late: rejected, not sent
    lim = limiter(orders=1, max_wait_ms=1000)
    lim.submit(order("a"), 0)
    lim.submit(order("b"), 0)
    assert lim.release(S) == ([order("b")], [])  # on time


def test_cancels_never_expire() -> None:
    lim = limiter(messages=1, max_wait_ms=100)
    assert lim.submit(order("a"), 0) is SEND
    assert lim.submit(cancel("c", "a"), 0) is QUEUED
    assert lim.release(500 * MS) == ([], [])
    assert lim.next_release_ns(500 * MS) == S
    assert lim.release(S) == ([cancel("c", "a")], [])


def test_a_cancel_behind_an_expired_order_stays_and_goes() -> None:
    lim = limiter(orders=1, messages=10, max_wait_ms=100)
    assert lim.submit(order("a"), 0) is SEND
    assert lim.submit(order("b"), 0) is QUEUED
    assert lim.submit(cancel("x", "b"), 0) is QUEUED  # behind b
    assert lim.release(100 * MS + 1) == ([cancel("x", "b")], [order("b")])  # never rejected


def test_a_command_queued_on_a_clock_that_stepped_back_waits_from_the_latest_time() -> None:
    lim = limiter(orders=1, max_wait_ms=1000)
    assert lim.submit(order("a"), 5 * S) is SEND
    assert lim.submit(order("b"), 0) is QUEUED  # queued at 5 s, not at 0
    assert lim.next_release_ns(0) == 6 * S
    assert lim.release(6 * S) == ([order("b")], [])


def test_headroom() -> None:
    assert limiter().headroom(0) is None  # no limit at all
    lim = limiter(orders=3, messages=5)
    assert lim.headroom(0) == 3
    assert lim.submit(order("a"), 0) is SEND
    assert lim.headroom(0) == 2
    assert lim.submit(status("a"), 0) is SEND
    assert lim.submit(status("a"), 0) is SEND
    assert lim.headroom(0) == 2  # messages: 2 left, orders: 2 left
    assert lim.submit(status("a"), 0) is SEND
    assert lim.headroom(0) == 1  # now messages bind
    assert lim.headroom(S) == 3


def test_headroom_subtracts_the_queue_and_is_never_negative() -> None:
    lim = limiter(orders=2, messages=10)
    assert sends_at(lim, 0, 4) == [SEND, SEND, QUEUED, QUEUED]
    assert lim.headroom(0) == 0
    assert lim.headroom(S) == 0  # 2 tokens, 2 orders queued for them
    lim.release(S)
    assert lim.headroom(2 * S) == 2
    msgs = limiter(messages=2)
    assert msgs.submit(order("a"), 0) is SEND
    assert msgs.headroom(0) == 1
    assert msgs.submit(cancel("c", "x"), 0) is SEND
    assert msgs.submit(cancel("d", "x"), 0) is QUEUED
    assert msgs.headroom(S) == 1  # two message tokens, one for the queued cancel
    assert limiter(orders=2.5).headroom(0) == 2  # whole tokens only


def test_next_release_ns() -> None:
    lim = limiter(orders=2, max_wait_ms=5000)
    assert lim.next_release_ns(0) is None  # nothing queued
    assert sends_at(lim, 0, 2) == [SEND, SEND]
    assert lim.submit(order("a"), 300 * MS) is QUEUED
    assert lim.next_release_ns(300 * MS) == S
    assert lim.release(S - 1) == ([], [])
    assert lim.release(S) == ([order("a")], [])
    assert lim.next_release_ns(S) is None


def test_next_release_ns_for_a_fractional_rate_is_exact() -> None:
    lim = limiter(orders=3)  # the bucket alone would have a token at 333 333 334 ns
    lim2 = limiter(orders=3.5)
    assert sends_at(lim2, 0, 4) == [SEND, SEND, SEND, QUEUED]
    at = lim2.next_release_ns(0)  # the half token banked + half a token at 3.5/s: 142 857 142.9 ns
    assert at == 142_857_143
    assert lim2.release(at - 1) == ([], [])
    assert lim2.release(at) == ([order("o3")], [])
    assert sends_at(lim, 0, 4) == [SEND, SEND, SEND, QUEUED]
    assert lim.next_release_ns(0) == S  # the window, not the bucket


def test_next_release_ns_is_the_expiry_when_that_comes_first() -> None:
    lim = limiter(orders=1, max_wait_ms=200)
    assert lim.submit(order("a"), 0) is SEND
    assert lim.submit(order("b"), 100 * MS) is QUEUED
    assert lim.next_release_ns(100 * MS) == 300 * MS + 1
    assert lim.release(300 * MS + 1) == ([], [order("b")])
    assert lim.next_release_ns(300 * MS + 1) is None


def test_next_release_ns_is_now_when_something_can_go() -> None:
    lim = limiter(orders=1, max_wait_ms=10_000)
    lim.submit(order("a"), 0)
    lim.submit(order("b"), 0)
    assert lim.next_release_ns(5 * S) == 5 * S


def test_next_release_ns_for_a_waiting_cancel_uses_messages() -> None:
    lim = limiter(orders=100, messages=1)
    assert lim.submit(order("a"), 0) is SEND
    assert lim.submit(cancel("c", "a"), 0) is QUEUED
    assert lim.next_release_ns(10) == S


def test_clock_stepping_back_refills_nothing() -> None:
    lim = limiter(orders=1, mode="reject")
    assert lim.submit(order("a"), 5 * S) is SEND
    assert lim.submit(order("b"), 0) is EXHAUSTED
    assert lim.submit(order("c"), 6 * S - 1) is EXHAUSTED
    assert lim.submit(order("d"), 6 * S) is SEND


def test_drain_empties_the_queue_cancels_first() -> None:
    lim = limiter(orders=1, messages=1)
    lim.submit(order("a"), 0)
    assert lim.submit(order("b"), 0) is QUEUED
    assert lim.submit(cancel("c", "a"), 0) is QUEUED
    assert lim.drain() == [cancel("c", "a"), order("b")]
    assert lim.queued == 0 and lim.next_release_ns(0) is None
    assert lim.headroom(S) == 1


def test_bad_mode_is_refused() -> None:
    with pytest.raises(ValueError, match="on_exhausted"):
        limiter(orders=1, mode="drop")


# ================================================================================= circuit breaker


def breaker(rejects: int = 3, latency_ms: int | None = 250, half_open_s: float = 10.0) -> CircuitBreaker:
    return CircuitBreaker(V, CircuitBreakerConfig(rejects, latency_ms, half_open_s))


def opened(b: CircuitBreaker, now: int = 0) -> CircuitBreaker:
    assert b.on_disconnect(now) is not None
    assert b.on_connect(now) is None
    return b


def test_breaker_starts_closed_and_allows() -> None:
    b = breaker()
    assert b.state is CLOSED
    assert not b.is_open(0)
    assert all(b.allows(t) for t in range(3))
    assert b.poll(0) == [] and b.next_poll_ns() is None


def test_opens_on_disconnect() -> None:
    b = breaker()
    assert b.on_disconnect(7) == BreakerChange(V, CLOSED, OPEN, "disconnected", 7)
    assert b.is_open(7) and not b.allows(7)
    assert b.on_disconnect(8) is None  # already open


def test_opens_on_exactly_max_consecutive_rejects() -> None:
    b = breaker(rejects=3)
    assert b.on_reject(1) is None
    assert b.on_reject(2) is None
    assert b.consecutive_rejects == 2 and not b.is_open(2)
    assert b.on_reject(3) == BreakerChange(V, CLOSED, OPEN, "3 consecutive rejects", 3)
    assert b.is_open(3)


@pytest.mark.parametrize("reset", ["ack", "fill"])
def test_an_ack_or_fill_resets_the_reject_count(reset: str) -> None:
    b = breaker(rejects=3)
    b.on_reject(1)
    b.on_reject(2)
    assert (b.on_ack(MS, 3) if reset == "ack" else b.on_fill(3)) is None
    assert b.consecutive_rejects == 0
    assert b.on_reject(4) is None
    assert b.on_reject(5) is None
    assert b.state is CLOSED
    assert b.on_reject(6) is not None


def test_opens_on_an_ack_above_the_latency_limit() -> None:
    b = breaker(latency_ms=250)
    assert b.on_ack(250 * MS, 1) is None  # at the limit: fine
    assert b.on_ack(250 * MS + 1, 2) == BreakerChange(
        V, CLOSED, OPEN, "ack latency 250.000001 ms > 250 ms", 2
    )


def test_latency_not_watched_when_not_configured() -> None:
    b = breaker(latency_ms=None)
    assert b.on_ack(60 * S, 1) is None
    assert b.state is CLOSED


def test_half_opens_after_the_delay() -> None:
    b = breaker(half_open_s=2.5)
    b.on_reject(0)
    b.on_reject(0)
    assert b.on_reject(1 * S) is not None
    assert b.next_poll_ns() == 3_500_000_000
    assert b.is_open(3_500_000_000 - 1)
    assert not b.allows(3_500_000_000 - 1)
    assert b.poll(3_500_000_000 - 1) == []
    assert not b.is_open(3_500_000_000)  # a probe may go: route here
    assert b.state is HALF_OPEN and b.next_poll_ns() is None
    change = BreakerChange(V, OPEN, HALF_OPEN, "half-open after 2.5 s open", 3_500_000_000)
    assert b.poll(4 * S) == [change]  # reported once, with the time it became due
    assert b.poll(4 * S) == []


def test_half_open_allows_exactly_one_probe() -> None:
    b = opened(breaker())
    assert b.poll(10 * S) != []
    assert not b.is_open(10 * S)
    assert b.allows(10 * S)
    assert b.is_open(10 * S)
    assert not b.allows(10 * S)
    assert not b.allows(100 * S)


def test_allows_half_opens_itself_and_poll_reports_it() -> None:
    b = opened(breaker())
    assert b.allows(10 * S)  # nobody polled: allows sees the delay is up
    assert not b.allows(10 * S)
    assert [c.new for c in b.poll(11 * S)] == [HALF_OPEN]


def test_probe_ack_closes() -> None:
    b = opened(breaker())
    assert b.allows(10 * S)
    assert b.on_ack(250 * MS, 11 * S) == BreakerChange(
        V, HALF_OPEN, CLOSED, "probe acknowledged in 250 ms", 11 * S
    )
    assert not b.is_open(11 * S)
    assert b.allows(11 * S) and b.allows(11 * S)


def test_probe_reject_reopens_and_restarts_the_delay() -> None:
    b = opened(breaker())
    assert b.allows(10 * S)
    assert b.on_reject(12 * S) == BreakerChange(V, HALF_OPEN, OPEN, "probe rejected", 12 * S)
    assert b.next_poll_ns() == 22 * S
    assert b.is_open(22 * S - 1)
    assert b.allows(22 * S)


def test_slow_probe_ack_reopens() -> None:
    b = opened(breaker(latency_ms=250))
    assert b.allows(10 * S)
    change = b.on_ack(300 * MS, 11 * S)
    assert change == BreakerChange(V, HALF_OPEN, OPEN, "probe ack latency 300 ms > 250 ms", 11 * S)
    assert b.is_open(11 * S)


def test_answers_before_the_probe_are_ignored() -> None:
    b = breaker(rejects=1)
    assert b.on_reject(0) is not None
    assert b.on_ack(MS, 1) is None  # a late ack of an order sent before: still open
    assert b.on_reject(2) is None
    assert b.state is OPEN and b.next_poll_ns() == 10 * S  # the delay was not restarted
    assert not b.is_open(10 * S)
    assert b.on_ack(MS, 10 * S) is None  # half-open, probe not yet out: not the probe's ack
    assert b.on_reject(10 * S) is None
    assert b.state is HALF_OPEN


def test_return_probe_lets_another_go() -> None:
    b = opened(breaker())
    assert b.allows(10 * S)
    b.return_probe(10 * S)
    assert not b.is_open(10 * S)
    assert b.allows(10 * S)
    assert not b.allows(10 * S)


def test_stays_open_while_disconnected_and_half_opens_on_reconnect_after_the_delay() -> None:
    b = breaker()
    assert b.on_disconnect(0) is not None
    assert b.next_poll_ns() is None  # disconnected: the clock changes nothing
    assert b.is_open(60 * S) and b.poll(60 * S) == []
    assert b.on_connect(60 * S) == BreakerChange(V, OPEN, HALF_OPEN, "reconnected 60 s after opening", 60 * S)
    assert b.allows(60 * S)


def test_reconnect_before_the_delay_waits_for_it() -> None:
    b = breaker()
    b.on_disconnect(0)
    assert b.on_connect(4 * S) is None
    assert b.is_open(10 * S - 1)
    assert not b.is_open(10 * S)
    assert [(c.old, c.new, c.at_ns) for c in b.poll(10 * S)] == [(OPEN, HALF_OPEN, 10 * S)]


def test_disconnect_while_open_does_not_restart_the_delay() -> None:
    b = breaker(rejects=1)
    assert b.on_reject(0) is not None
    assert b.on_disconnect(5 * S) is None
    assert b.on_connect(10 * S) == BreakerChange(V, OPEN, HALF_OPEN, "reconnected 10 s after opening", 10 * S)


def test_disconnect_while_half_open_reopens() -> None:
    b = opened(breaker())
    assert b.allows(10 * S)
    assert b.on_disconnect(11 * S) == BreakerChange(V, HALF_OPEN, OPEN, "disconnected", 11 * S)
    assert b.on_connect(12 * S) is None
    assert b.next_poll_ns() == 21 * S


def test_breaker_config_is_checked() -> None:
    with pytest.raises(ValueError, match="max_consecutive_rejects"):
        breaker(rejects=0)
    with pytest.raises(ValueError, match="half_open_after_s"):
        breaker(half_open_s=0)
