"""Session schedules: when the close falls (gateway.schedule), what QuickFIX is told, how the
configuration is read, and what the order core does to Day orders at the close."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from gateway.config import ConfigError, GatewayConfig, GatewaySchedule, Schedule, load_config
from gateway.orders.enums import ExecType, OrdRejReason, OrdStatus, TimeInForce
from gateway.orders.messages import CancelChildOrder, ExecutionReport
from gateway.schedule import last_close, next_close, process_zone, quickfix_schedule, use_process_zone
from tests.unit.test_core import (
    S1,
    VENUE,
    FakeClock,
    ack,
    cancel,
    fill,
    make_core,
    new_order,
    only_er,
    vexec,
    working,
)

NY = ZoneInfo("America/New_York")
UTC = dt.UTC
WEEKDAYS = frozenset(range(5))


def at(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0, tz=UTC) -> dt.datetime:
    return dt.datetime(y, mo, d, h, mi, s, tzinfo=tz)


# ---------------------------------------------------------------- next and last close


def test_next_close_daily_utc_today_then_tomorrow() -> None:
    s = Schedule("08:00:00", "16:00:00", "UTC")
    assert next_close(s, at(2024, 3, 5, 12)) == at(2024, 3, 5, 16)
    assert next_close(s, at(2024, 3, 5, 16)) == at(2024, 3, 6, 16)  # strictly after
    assert last_close(s, at(2024, 3, 5, 16)) == at(2024, 3, 5, 16)  # at or before
    assert last_close(s, at(2024, 3, 5, 15, 59, 59)) == at(2024, 3, 4, 16)


def test_next_close_follows_new_york_across_the_dst_change() -> None:
    s = Schedule("09:30:00", "16:00:00", "America/New_York")
    # 16:00 EST is 21:00 UTC; after the switch on Sunday 10 March 2024, 16:00 EDT is 20:00 UTC.
    assert next_close(s, at(2024, 3, 8, 12)) == at(2024, 3, 8, 21)
    assert next_close(s, at(2024, 3, 11, 12)) == at(2024, 3, 11, 20)
    assert next_close(s, at(2024, 3, 11, 12)).astimezone(NY).hour == 16


def test_trading_days_skip_the_weekend_and_orders_from_friday_evening_live_to_monday() -> None:
    s = Schedule("09:30:00", "16:00:00", "America/New_York", days=WEEKDAYS)
    friday_evening = at(2024, 3, 8, 18, tz=NY)
    assert next_close(s, friday_evening) == at(2024, 3, 11, 16, tz=NY)  # Monday
    assert last_close(s, at(2024, 3, 10, 12, tz=NY)) == at(2024, 3, 8, 16, tz=NY)  # Sunday: Friday's


def test_overnight_session_closes_on_the_named_day() -> None:
    # A futures-style session: Sunday 18:00 to Friday 17:00 in daily windows, closes Monday-Friday.
    s = Schedule("18:00:00", "17:00:00", "America/Chicago", days=WEEKDAYS)
    sunday_night = at(2024, 6, 2, 19, tz=ZoneInfo("America/Chicago"))
    assert next_close(s, sunday_night) == at(2024, 6, 3, 17, tz=ZoneInfo("America/Chicago"))


def test_weekly_session_closes_every_day_inside_the_week() -> None:
    # FX: Sunday 17:00 to Friday 17:00 New York; Day orders roll at 17:00 Monday to Friday.
    s = Schedule("17:00:00", "17:00:00", "America/New_York", start_day=6, end_day=4)
    sunday = at(2024, 6, 2, 17, 30, tz=NY)
    assert next_close(s, sunday) == at(2024, 6, 3, 17, tz=NY)
    friday = at(2024, 6, 7, 17, 30, tz=NY)
    assert next_close(s, friday) == at(2024, 6, 10, 17, tz=NY)  # not Saturday or Sunday
    assert last_close(s, at(2024, 6, 9, 12, tz=NY)) == at(2024, 6, 7, 17, tz=NY)


def test_no_trading_day_inside_a_weekly_session_means_no_close() -> None:
    s = Schedule("09:00:00", "17:00:00", "UTC", days=frozenset({5}), start_day=0, end_day=4)
    assert next_close(s, at(2024, 6, 3)) is None
    assert last_close(s, at(2024, 6, 3)) is None


# ---------------------------------------------------------------- what QuickFIX is told


NOW = at(2024, 1, 15, 12)  # a Monday, New York on EST (UTC-5)


def test_quickfix_utc_schedule_goes_as_it_is() -> None:
    settings, exact = quickfix_schedule(Schedule("08:00:00", "17:00:00", "UTC"), None, NOW)
    assert (settings, exact) == ({"StartTime": "08:00:00", "EndTime": "17:00:00"}, True)


def test_quickfix_schedule_in_the_process_zone_uses_local_time_and_weekly_days() -> None:
    s = Schedule("17:00:00", "17:00:00", "America/New_York", start_day=6, end_day=4)
    settings, exact = quickfix_schedule(s, "America/New_York", NOW)
    assert exact
    assert settings == {
        "StartTime": "17:00:00",
        "EndTime": "17:00:00",
        "UseLocalTime": "Y",
        "StartDay": "Sunday",
        "EndDay": "Friday",
    }


def test_quickfix_schedule_in_another_zone_is_converted_to_utc_with_the_day_shift() -> None:
    # Monday 08:00 Tokyo is Sunday 23:00 UTC; Friday 16:00 Tokyo is Friday 07:00 UTC.
    s = Schedule("08:00:00", "16:00:00", "Asia/Tokyo", start_day=0, end_day=4)
    settings, exact = quickfix_schedule(s, "America/New_York", NOW)
    assert not exact
    assert settings == {
        "StartTime": "23:00:00",
        "EndTime": "07:00:00",
        "StartDay": "Sunday",
        "EndDay": "Friday",
    }


def _cfg(schedule: GatewaySchedule | None, *session_zones: str) -> GatewayConfig:
    class Session:
        def __init__(self, tz: str):
            self.schedule = Schedule("00:00:00", "00:00:00", tz)

    class Cfg:
        pass

    cfg = Cfg()
    cfg.schedule = schedule
    cfg.clients = {str(i): Session(tz) for i, tz in enumerate(session_zones)}
    cfg.venues = {}
    return cfg  # type: ignore[return-value]


def test_process_zone_is_the_gateway_schedules_else_the_one_zone_sessions_share() -> None:
    ny = GatewaySchedule("09:30:00", "16:00:00", "America/New_York")
    assert process_zone(_cfg(ny, "Asia/Tokyo")) == "America/New_York"
    assert process_zone(_cfg(None, "UTC", "Europe/London", "Europe/London")) == "Europe/London"
    assert process_zone(_cfg(None, "Europe/London", "Asia/Tokyo")) is None  # mixed: UTC conversion
    assert process_zone(_cfg(GatewaySchedule("09:00:00", "17:00:00", "UTC"), "UTC")) is None


def test_use_process_zone_sets_tz_for_the_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "UTC")
    try:
        use_process_zone("Asia/Tokyo")
        assert time.strftime("%Z") == "JST"
    finally:
        monkeypatch.undo()
        time.tzset()


# ---------------------------------------------------------------- configuration


def write(root: Path, schedule: str = "", client_schedule: str = "") -> Path:
    (root / "clients").mkdir(parents=True)
    (root / "venues").mkdir()
    (root / "gateway.yaml").write_text(
        "gateway:\n  comp_id: GW\n  home: .\n  acceptor: {port: 9100}\n"
        + "".join(f"  {line}\n" for line in schedule.splitlines())
        + 'instruments:\n  - {symbol: AAPL, tick_size: "0.01", lot_size: 1, currency: USD, venue: V1}\n'
    )
    (root / "clients" / "C1.yaml").write_text(f'name: C1\nfix_version: "4.4"\n{client_schedule}')
    (root / "clients" / "C2.yaml").write_text('name: C2\nfix_version: "4.2"\n')
    (root / "venues" / "V1.yaml").write_text('name: V1\nhost: 127.0.0.1\nport: 9101\nfix_version: "4.4"\n')
    return root / "gateway.yaml"


def test_config_without_a_schedule_is_always_open(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path))
    assert cfg.schedule is None
    assert cfg.clients["C1"].schedule == Schedule("00:00:00", "00:00:00", "UTC")
    assert "Schedule:" not in cfg.summary()


def test_gateway_schedule_is_every_sessions_default_and_a_session_may_override_it(tmp_path: Path) -> None:
    cfg = load_config(
        write(
            tmp_path,
            'schedule: {start: 08:00:00, end: "16:30:00", timezone: America/New_York,\n'
            "           days: [mon, tue, Wednesday, thu, FRI], day_orders: done_for_day, cancel_before_s: 2}",
            client_schedule='schedule: {start: "07:00:00", end: "17:00:00", timezone: America/New_York}\n',
        )
    )
    assert cfg.schedule == GatewaySchedule(
        "08:00:00", "16:30:00", "America/New_York", WEEKDAYS, day_orders="done_for_day", cancel_before_s=2.0
    )
    shared = Schedule("08:00:00", "16:30:00", "America/New_York", WEEKDAYS)
    assert cfg.clients["C2"].schedule == shared and cfg.venues["V1"].schedule == shared
    assert cfg.clients["C1"].schedule == Schedule("07:00:00", "17:00:00", "America/New_York")
    summary = cfg.summary()
    assert "Schedule: 08:00:00 - 16:30:00 daily America/New_York, trading days mon/tue/wed/thu/fri" in summary
    assert "Day orders end as DoneForDay (canceled at the venues 2s before the close)" in summary
    assert "own schedule: C1" in summary


def test_weekly_session_schedule(tmp_path: Path) -> None:
    cfg = load_config(
        write(
            tmp_path,
            client_schedule="schedule: {start_day: sun, start: 17:00:00, end_day: friday, end: 17:00:00, "
            "timezone: America/New_York}\n",
        )
    )
    assert cfg.clients["C1"].schedule == Schedule(
        "17:00:00", "17:00:00", "America/New_York", start_day=6, end_day=4
    )


@pytest.mark.parametrize(
    ("schedule", "client_schedule", "message"),
    [
        (
            'schedule: {end: "24:00:00"}',
            "",
            'gateway.yaml: gateway.schedule.end: expected a time "HH:MM:SS" (00:00:00-23:59:59), '
            "got '24:00:00'",
        ),
        (
            "schedule: {timezone: America/Gotham}",
            "",
            "gateway.yaml: gateway.schedule.timezone: unknown time zone 'America/Gotham'",
        ),
        (
            "schedule: {days: [mon, funday]}",
            "",
            "gateway.yaml: gateway.schedule.days[1]: expected a day (mon, tue, wed, thu, fri, sat, sun), "
            "got 'funday'",
        ),
        (
            "schedule: {days: []}",
            "",
            "gateway.yaml: gateway.schedule.days: expected a non-empty list of days",
        ),
        ("schedule: {days: [mon, mon]}", "", "gateway.yaml: gateway.schedule.days: a day is listed twice"),
        (
            "schedule: {day_orders: cancel}",
            "",
            "gateway.yaml: gateway.schedule.day_orders: expected one of: expire, done_for_day, got 'cancel'",
        ),
        (
            "schedule: {cancel_before_s: -1}",
            "",
            "gateway.yaml: gateway.schedule.cancel_before_s: must be >= 0",
        ),
        (
            "schedule: {start_day: mon}",
            "",
            "gateway.yaml: gateway.schedule.end_day: a weekly session needs both start_day and end_day",
        ),
        (
            "",
            "schedule: {days: [mon]}\n",
            "clients/C1.yaml: schedule: unknown key 'days' (expected one of: start, end, timezone, "
            "start_day, end_day)",
        ),
        (
            "",
            'schedule: {timezone: "EST5EDT "}\n',
            "clients/C1.yaml: schedule.timezone: unknown time zone 'EST5EDT '",
        ),
    ],
)
def test_schedule_mistakes_name_file_key_and_problem(
    tmp_path: Path, schedule: str, client_schedule: str, message: str
) -> None:
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, schedule, client_schedule))
    assert message in str(err.value)


def test_shipped_templates_document_the_schedule_keys() -> None:
    root = Path(__file__).resolve().parents[2] / "config"
    gateway_yaml = (root / "gateway.yaml").read_text()
    for key in ("schedule:", "start:", "end:", "timezone:", "days:", "day_orders:", "cancel_before_s:"):
        assert key in gateway_yaml, key
    for template in ("client.yaml", "venue.yaml"):
        text = (root / "templates" / template).read_text()
        assert "start_day:" in text and "end_day:" in text, template


# ---------------------------------------------------------------- the order core at the close


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


REASON = "expired at the close (2024-03-08 16:00:00 America/New_York)"


def test_close_cancels_day_orders_at_the_venue_and_reports_expired_after_the_venue_confirms(
    clock: FakeClock,
) -> None:
    core = make_core(clock)
    day = working(core, "D1")
    core.new_order(S1, new_order("G1", tif=TimeInForce.GTC))
    ack(core, "GT-2", "X-ack2")

    out = core.end_day_orders(core.working_day_orders(), OrdStatus.EXPIRED, REASON)
    assert out.to_clients == []  # nothing to the client until the venue confirms
    [cxl] = out.to_venues
    assert isinstance(cxl, CancelChildOrder) and cxl.orig_cl_ord_id == "GT-1"
    assert core.order_for(S1, "G1").is_open  # GTC untouched

    done = core.venue_execution(
        vexec(cxl.cl_ord_id, ExecType.CANCELED, OrdStatus.CANCELED, "X-cxl", orig="GT-1")
    )
    er = only_er(done)
    assert (er.exec_type, er.ord_status, er.text, er.leaves_qty) == (
        ExecType.EXPIRED,
        OrdStatus.EXPIRED,
        REASON,
        0,
    )
    assert er.orig_cl_ord_id is None and er.cl_ord_id == "D1"
    assert day.status is OrdStatus.EXPIRED and day in done.changed
    assert day.children[0].status is OrdStatus.CANCELED  # what the venue did
    assert day.to_doc()["status"] == "C"  # journaled as Expired


def test_close_with_done_for_day_reports_done_for_day(clock: FakeClock) -> None:
    core = make_core(clock)
    working(core, "D1")
    fill(core, "GT-1", "40", "10", "X-f1")
    [cxl] = core.end_day_orders(core.working_day_orders(), OrdStatus.DONE_FOR_DAY, "done for day").to_venues
    er = only_er(core.venue_execution(vexec(cxl.cl_ord_id, ExecType.CANCELED, OrdStatus.CANCELED, "X-c")))
    assert (er.exec_type, er.ord_status, er.cum_qty, er.leaves_qty) == (
        ExecType.DONE_FOR_DAY,
        OrdStatus.DONE_FOR_DAY,
        40,
        0,
    )


def test_fill_racing_the_close_is_kept_and_the_order_ends_filled(clock: FakeClock) -> None:
    core = make_core(clock)
    order = working(core, "D1")
    core.end_day_orders([order], OrdStatus.EXPIRED, REASON)
    er = only_er(fill(core, "GT-1", "100", "10", "X-f", OrdStatus.FILLED))
    assert (er.exec_type, er.ord_status) == (ExecType.TRADE, OrdStatus.FILLED)
    assert core.ending_orders() == []


def test_clients_own_cancel_in_flight_at_the_close_stays_a_cancel(clock: FakeClock) -> None:
    core = make_core(clock)
    order = working(core, "D1")
    [client_cxl] = core.cancel_order(S1, cancel("D2", "D1")).to_venues
    out = core.end_day_orders([order], OrdStatus.EXPIRED, REASON)
    assert out.to_venues == []  # its cancel is already on its way
    done = core.venue_execution(vexec(client_cxl.cl_ord_id, ExecType.CANCELED, OrdStatus.CANCELED, "X-c"))
    er = only_er(done)
    assert (er.exec_type, er.ord_status, er.orig_cl_ord_id) == (ExecType.CANCELED, OrdStatus.CANCELED, "D1")


def test_venue_down_at_the_close_gets_the_cancel_when_it_logs_on(clock: FakeClock) -> None:
    core = make_core(clock)
    order = working(core, "D1")
    core.set_venue_up(VENUE, False)
    out = core.end_day_orders([order], OrdStatus.EXPIRED, REASON)
    assert out.to_venues == [] and out.notes == [("OT-1", f"close: cancel waits for {VENUE} to log on")]
    core.set_venue_up(VENUE, True)
    [cxl] = core.resume_day_ends(VENUE).to_venues
    assert cxl.orig_cl_ord_id == "GT-1"
    assert core.resume_day_ends(VENUE).to_venues == []  # once
    # The venue does not know the order any more (it expired it itself): reconciliation ends it.
    [rec] = core.reconcile_child(order.children[0], None).to_clients
    assert (rec.exec_type, rec.ord_status, rec.text) == (ExecType.EXPIRED, OrdStatus.EXPIRED, REASON)


def test_close_refuses_new_day_orders_until_the_session_ends_but_takes_gtc(clock: FakeClock) -> None:
    core = make_core(clock)
    core.day_orders_closed = "Day orders are not accepted after the close (16:00:00)"
    er = only_er(core.new_order(S1, new_order("D1")))
    assert (er.ord_status, er.ord_rej_reason, er.text) == (
        OrdStatus.REJECTED,
        OrdRejReason.EXCHANGE_CLOSED,
        core.day_orders_closed,
    )
    assert core.new_order(S1, new_order("G1", tif=TimeInForce.GTC)).to_venues


def test_working_day_orders_created_before_a_close(clock: FakeClock) -> None:
    core = make_core(clock)
    working(core, "OLD")
    clock.now += 10
    core.new_order(S1, new_order("NEW"))
    core.new_order(S1, new_order("GTC", tif=TimeInForce.GTC))
    assert [o.cl_ord_id for o in core.working_day_orders(clock.now)] == ["OLD"]
    assert [o.cl_ord_id for o in core.working_day_orders()] == ["OLD", "NEW"]


def test_day_order_with_nothing_left_at_a_venue_ends_at_once(clock: FakeClock) -> None:
    core = make_core(clock)
    order = working(core, "D1")
    order.children[0].status = OrdStatus.CANCELED  # e.g. restored so from the journal
    er = only_er(core.end_day_orders([order], OrdStatus.EXPIRED, REASON))
    assert isinstance(er, ExecutionReport)
    assert (er.exec_type, er.ord_status, er.text) == (ExecType.EXPIRED, OrdStatus.EXPIRED, REASON)
