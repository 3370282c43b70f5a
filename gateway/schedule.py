"""Trading schedules: when the gateway's close falls, and what QuickFIX is told.

Two clocks follow one configuration (``gateway.schedule``, or a session's own ``schedule``):

- **QuickFIX** opens and closes each FIX session: at ``EndTime`` it logs the session out, and
  the first time it sees the session in a new window it starts it afresh, sequence numbers from
  1 (what FIX expects of a new session). QuickFIX C++ has no time-zone setting, only UTC or the
  process's local time (``UseLocalTime``). So the gateway runs in the schedule's time zone (it
  sets ``TZ`` for the process) and those sessions use local time, which keeps them right across
  daylight-saving changes; a session in yet another zone is converted to UTC with the offset of
  its next start and end (right until that zone's next DST change; restart then).
- **The gateway** ends Day orders at the close of ``gateway.schedule``, computed here with the
  zone's rules at every close, on the engine loop (``runtime.Gateway``).

All datetimes here are timezone-aware; nothing reads the clock (callers pass ``now``).
"""

from __future__ import annotations

import datetime as dt
import os
import time
from zoneinfo import ZoneInfo

from gateway.config import GatewayConfig, Schedule

#: Zone names that are UTC: their times go to QuickFIX as they are.
UTC_NAMES = frozenset({"UTC", "Etc/UTC", "Etc/UCT", "UCT", "Etc/GMT", "GMT", "Etc/Zulu", "Zulu", "Universal"})
#: QuickFIX reads StartDay/EndDay by their first two letters; full names are clearest in its logs.
QUICKFIX_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_DAY_S = 86_400
_WEEK_S = 7 * _DAY_S
_SEARCH_DAYS = 15  # every close is at most a week (plus a day each side) from any instant


def _seconds(hhmmss: str) -> int:
    h, m, s = (int(x) for x in hhmmss.split(":"))
    return h * 3600 + m * 60 + s


def _time(hhmmss: str) -> dt.time:
    h, m, s = (int(x) for x in hhmmss.split(":"))
    return dt.time(h, m, s)


def _in_week(s: Schedule, weekday: int, seconds: int) -> bool:
    """Whether ``weekday seconds`` falls in the weekly session (after its start, up to its end)."""
    start = s.start_day * _DAY_S + _seconds(s.start)
    end = s.end_day * _DAY_S + _seconds(s.end)
    t = weekday * _DAY_S + seconds
    if start < end:
        return start < t <= end
    if start > end:  # the session wraps past Sunday midnight
        return t > start or t <= end
    return True  # start == end: the whole week, rolling over at that instant


def _close_on(s: Schedule, day: dt.date) -> dt.datetime | None:
    """The close at ``end`` on local ``day``, if that day has one."""
    if day.weekday() not in s.days:
        return None
    if s.weekly and not _in_week(s, day.weekday(), _seconds(s.end)):
        return None
    return dt.datetime.combine(day, _time(s.end), ZoneInfo(s.timezone))


def next_close(s: Schedule, after: dt.datetime) -> dt.datetime | None:
    """The first close strictly after ``after`` (in ``s.timezone``), None if there is none.

    A close is ``end`` local time on each trading day (``days``, named by the day of the
    close); in a weekly schedule, each such ``end`` inside the week's session (so a session
    from Sunday 17:00 to Friday 17:00 closes Monday to Friday at 17:00).
    """
    local = after.astimezone(ZoneInfo(s.timezone)).date()
    for offset in range(-1, _SEARCH_DAYS):
        close = _close_on(s, local + dt.timedelta(days=offset))
        if close is not None and close > after:
            return close
    return None


def last_close(s: Schedule, at: dt.datetime) -> dt.datetime | None:
    """The latest close at or before ``at``, None if there is none."""
    local = at.astimezone(ZoneInfo(s.timezone)).date()
    for offset in range(1, -_SEARCH_DAYS, -1):
        close = _close_on(s, local + dt.timedelta(days=offset))
        if close is not None and close <= at:
            return close
    return None


# ------------------------------------------------------------------------------------ QuickFIX


def process_zone(cfg: GatewayConfig) -> str | None:
    """The zone the process runs in so QuickFIX can use local time: gateway.schedule's, else
    the one zone every scheduled session shares; None when all is UTC (or zones are mixed)."""
    if cfg.schedule is not None and cfg.schedule.timezone not in UTC_NAMES:
        return cfg.schedule.timezone
    zones = {s.schedule.timezone for s in [*cfg.clients.values(), *cfg.venues.values()]} - UTC_NAMES
    return zones.pop() if len(zones) == 1 else None


def use_process_zone(zone: str | None) -> None:
    """Run the process in ``zone`` (``TZ``), which QuickFIX's ``UseLocalTime`` follows."""
    if zone is not None and os.environ.get("TZ") != zone:
        os.environ["TZ"] = zone
        time.tzset()


def _next_local(hhmmss: str, weekday: int | None, zone: ZoneInfo, now: dt.datetime) -> dt.datetime:
    """The next instant (at or after ``now``) that is ``hhmmss`` local, on ``weekday`` if given."""
    today = now.astimezone(zone).date()
    for offset in range(8):
        day = today + dt.timedelta(days=offset)
        candidate = dt.datetime.combine(day, _time(hhmmss), zone)
        if (weekday is None or day.weekday() == weekday) and candidate >= now:
            return candidate
    return dt.datetime.combine(today, _time(hhmmss), zone)  # unreachable: some day in 8 matches


def quickfix_schedule(s: Schedule, local_zone: str | None, now: dt.datetime) -> tuple[dict[str, str], bool]:
    """QuickFIX settings for ``s``, and whether they are exact (False: converted to UTC with
    today's offsets, so they drift by the DST change until a restart).

    ``local_zone`` is the zone the process runs in (:func:`process_zone`).
    """
    if s.timezone in UTC_NAMES or s.timezone == local_zone:
        settings = {"StartTime": s.start, "EndTime": s.end}
        if s.timezone not in UTC_NAMES:
            settings["UseLocalTime"] = "Y"
        if s.weekly:
            settings["StartDay"], settings["EndDay"] = QUICKFIX_DAYS[s.start_day], QUICKFIX_DAYS[s.end_day]
        return settings, True
    zone = ZoneInfo(s.timezone)
    start = _next_local(s.start, s.start_day, zone, now).astimezone(dt.UTC)
    end = _next_local(s.end, s.end_day, zone, now).astimezone(dt.UTC)
    settings = {"StartTime": start.strftime("%H:%M:%S"), "EndTime": end.strftime("%H:%M:%S")}
    if s.weekly:  # the UTC weekday may differ from the local one
        settings["StartDay"], settings["EndDay"] = (
            QUICKFIX_DAYS[start.weekday()],
            QUICKFIX_DAYS[end.weekday()],
        )
    return settings, False
