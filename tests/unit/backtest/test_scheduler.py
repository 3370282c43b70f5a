from gateway.backtest.scheduler import Scheduler


def test_pops_in_time_then_schedule_order_and_moves_the_clock():
    s = Scheduler(now_ns=100)
    seen = []
    s.at(300, "a", lambda: seen.append("a300"))
    s.at(200, "b", lambda: seen.append("b200"))
    s.at(300, "c", lambda: seen.append("c300"))
    s.at(50, "past", lambda: seen.append("past"))  # the past runs now, after nothing earlier
    s.after(100, "d", lambda: seen.append("d200"))
    times = []
    while len(s):
        item = s.pop()
        item.action()
        times.append(s.now_ns)
    assert seen == ["past", "b200", "d200", "a300", "c300"]
    assert times == [100, 200, 200, 300, 300]


def test_events_scheduled_while_running_keep_order():
    s = Scheduler(0)
    seen = []

    def first():
        seen.append("first")
        s.after(0, "same-time", lambda: seen.append("same-time"))

    s.at(10, "first", first)
    s.at(10, "second", lambda: seen.append("second"))
    while len(s):
        s.pop().action()
    assert seen == ["first", "second", "same-time"]
