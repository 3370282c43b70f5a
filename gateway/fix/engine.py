"""Drive QuickFIX engines with ``poll()`` on one thread: the single writer.

Every Application callback of every engine in the loop runs on the thread that
calls :meth:`EngineLoop.run`, so order state needs no locks and no hand-off.
``poll()`` never blocks in this binding, so between polls the loop either spins
(``spin_s`` after the last message: lowest latency, one core busy) or waits in
the kernel on the process's sockets (:mod:`gateway.fix.wait`), falling back to
short sleeps where ``/proc/self/fd`` does not exist. ``docs/architecture.md``
has the measurements behind the defaults.
"""

from __future__ import annotations

import heapq
import logging
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import quickfix as fix

from gateway.fix.application import GuardedApplication
from gateway.fix.wait import SocketWaiter

log = logging.getLogger("gateway.fix.engine")


class QuickFixEngine:
    """A QuickFIX socket engine together with the settings and factories it points into.

    The C++ engine keeps references to its settings and its store and log factories;
    a Python wrapper collected early leaves it with dangling pointers, so they live here.
    """

    def __init__(self, engine_cls: type, application: fix.Application, settings: fix.SessionSettings):
        self.settings = settings
        self.store_factory = fix.FileStoreFactory(settings)
        self.log_factory = fix.FileLogFactory(settings)
        self.engine = engine_cls(application, self.store_factory, settings, self.log_factory)
        self.poll = self.engine.poll


@dataclass(order=True)
class _Timer:
    due: float
    seq: int
    fn: Callable[[], None] = field(compare=False)


class EngineLoop:
    def __init__(
        self,
        engines: list,
        apps: list[GuardedApplication],
        spin_s: float = 0.0,
        idle_sleep_s: float = 0.0001,
        tick_s: float = 0.1,
        on_tick: Callable[[], None] | None = None,
        on_round: Callable[[], None] | None = None,
    ):
        self.engines = engines
        self.apps = apps
        self.spin_s = spin_s
        self.idle_sleep_s = idle_sleep_s
        self.tick_s = tick_s
        self.on_tick = on_tick
        # Called after every poll of the engines and again after the round's tasks, timers and
        # tick: the gateway commits what the round's callbacks journaled, then sends it.
        self.on_round = on_round
        self._inbox: deque[Callable[[], None]] = deque()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._timers: list[_Timer] = []
        self._seq = 0
        self._waiter = SocketWaiter()
        self.stopping = threading.Event()
        self.ready = threading.Event()  # set once every engine has been polled (sockets bound)
        self.thread: threading.Thread | None = None
        self._changed = False  # engines added: rebuild the poll list

    def call_soon(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` on the loop thread; the only entry point safe from other threads."""
        self._inbox.append(fn)
        self._wake_w.send(b"\0")

    def call_later(self, delay_s: float, fn: Callable[[], None]) -> None:
        """Loop thread only: run ``fn`` after ``delay_s`` seconds."""
        self._seq += 1
        heapq.heappush(self._timers, _Timer(time.monotonic() + delay_s, self._seq, fn))

    def add(self, engine, app=None) -> None:
        """Loop thread: poll one more engine from the next round (a venue or client added live)."""
        self.engines.append(engine)
        if app is not None and app not in self.apps:
            self.apps.append(app)
        self._changed = True

    def pending(self) -> int:
        """Tasks and timers waiting to run (a queue depth for metrics)."""
        return len(self._inbox) + len(self._timers)

    def stop(self) -> None:
        """Thread-safe: the loop ends after its current round."""
        self.stopping.set()
        self._wake_w.send(b"\0")

    def run(self) -> None:
        self.thread = threading.current_thread()
        polls = [e.poll for e in self.engines]
        apps = self.apps
        waiter = self._waiter if self._waiter.available else None
        for poll in polls:
            poll()
        self.ready.set()
        last_activity = time.monotonic()
        next_tick = last_activity + self.tick_s
        seen = -1
        ready = fruitless = False
        on_round = self.on_round or (lambda: None)
        while not self.stopping.is_set():
            if self._changed:
                self._changed = False
                polls, apps = [e.poll for e in self.engines], self.apps
            for poll in polls:
                poll()
            self._run(on_round)
            activity = sum(a.activity for a in apps)
            now = time.monotonic()
            if activity != seen:
                seen = activity
                last_activity = now
                fruitless = False
            else:
                fruitless = ready
            if self._inbox:
                self._drain_inbox()
                fruitless = False
            while self._timers and self._timers[0].due <= now:
                self._run(heapq.heappop(self._timers).fn)
            if now >= next_tick:
                next_tick = now + self.tick_s
                if self.on_tick:
                    self._run(self.on_tick)
            self._run(on_round)
            if now - last_activity < self.spin_s:
                ready = False
                continue
            timeout = next_tick - now
            if self._timers:
                timeout = min(timeout, self._timers[0].due - now)
            timeout = max(timeout, 0.0)
            if waiter is not None:
                ready = waiter.wait(timeout, fruitless)
            else:
                time.sleep(min(timeout, self.idle_sleep_s))

    def _drain_inbox(self) -> None:
        try:
            while self._wake_r.recv(4096):
                pass
        except BlockingIOError:
            pass
        while self._inbox:
            self._run(self._inbox.popleft())

    def poll_for(self, seconds: float, until: Callable[[], bool] | None = None) -> None:
        """Keep the engines turning for up to ``seconds``, or until ``until()`` holds
        (used while logging sessions out)."""
        end = time.monotonic() + seconds
        while time.monotonic() < end and not (until and until()):
            for e in self.engines:
                e.poll()
            if self.on_round:
                self._run(self.on_round)
            time.sleep(0.001)

    @staticmethod
    def _run(fn: Callable[[], None]) -> None:
        try:
            fn()
        except Exception:  # a failing task must not stop the engines
            log.exception("engine loop task failed")
