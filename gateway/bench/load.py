"""Load generators: ping-pong, an open-loop paced sender and a burst, on one :class:`FixWire`.

Every order is a Day limit buy of AAPL below the simulated venue's seeded book (175.00-176.99
against a book around 190.00, quantities 1-100): the venue acknowledges it (one ExecutionReport,
ExecType New) and it rests, far from the five levels the venue publishes, so every order costs the
venue the same work and produces no market data. Quantity and price cycle through 20,000
combinations so fixgw's duplicate-order check (on, with a one-second window) never fires. With
``ioc=True`` (the soak) the venue answers New then Canceled and nothing stays open anywhere.

Latency is ``time.perf_counter_ns`` from the moment an order was due to be sent to the moment its
first ExecutionReport was read. For ping-pong "due" is just before ``sendall``; for the paced
sender it is the order's slot in the fixed schedule, whether or not the client managed to send it
then, so a target that falls behind is charged for the queue it builds (no coordinated omission).
"""

from __future__ import annotations

import contextlib
import ctypes
import select
import time
from array import array
from collections.abc import Callable
from dataclasses import dataclass, field

from gateway.bench.wire import FixWire, WireError, recv_ready, utc_timestamp
from gateway.bench.wire import field as get

SYMBOL = b"AAPL"
_QTYS = [b"%d" % q for q in range(1, 101)]
_PRICES = [b"%d.%02d" % divmod(17500 + c, 100) for c in range(200)]  # 175.00 .. 176.99


def fine_timers() -> None:
    """Ask Linux for 1 µs timer slack instead of 50 µs, so the paced sender's waits end close to
    each order's due time (the rest of the wake-up lag is reported as ``send_lag_us``)."""
    with contextlib.suppress(OSError, AttributeError):  # not Linux: the default slack
        ctypes.CDLL(None, use_errno=True).prctl(29, 1000, 0, 0, 0)  # PR_SET_TIMERSLACK


@dataclass
class OrderFlow:
    """Encodes the ``i``-th order of a run; ClOrdIDs are ``prefix`` + i, unique per benchmark run."""

    prefix: str
    ioc: bool = False

    def __post_init__(self) -> None:
        self._cl = self.prefix.encode()
        self._tail = b"\x0140=2\x0159=%s\x01" % (b"3" if self.ioc else b"0")

    def body(self, i: int, ts: bytes) -> bytes:
        return b"11=%s%d\x0121=1\x0155=%s\x0154=1\x0160=%s\x0138=%s\x0144=%s%s" % (
            self._cl,
            i,
            SYMBOL,
            ts,
            _QTYS[i % 100],
            _PRICES[(i // 100) % 200],
            self._tail,
        )

    def index(self, msg: bytes) -> int | None:
        """The order number an ExecutionReport answers (None: not one of this flow's orders)."""
        cl = get(msg, b"11")
        if cl is None or not cl.startswith(self._cl):
            return None
        try:
            return int(cl[len(self._cl) :])
        except ValueError:
            return None


@dataclass
class RunResult:
    """Raw outcome of one load run: per-order latencies and the counts that prove nothing was lost."""

    scenario: str
    sent: int
    acked: int
    rejected: int
    latencies_ns: list[int]
    elapsed_s: float  # first send (or first slot) until the last acknowledgement
    offered_rate: float | None = None
    send_lag_ns: list[int] = field(default_factory=list)  # actual send - scheduled (paced only)
    reject_texts: list[str] = field(default_factory=list)

    @property
    def lost(self) -> int:
        return self.sent - self.acked - self.rejected

    @property
    def throughput(self) -> float:
        return self.acked / self.elapsed_s if self.elapsed_s > 0 else 0.0


def _is_reject(msg: bytes) -> bool:
    return get(msg, b"39") == b"8" or get(msg, b"35") == b"9"


def pingpong(
    wire: FixWire, flow: OrderFlow, count: int, start: int = 0, timeout_s: float = 10.0
) -> RunResult:
    """One order outstanding: send, wait for its first ExecutionReport, repeat."""
    clock = time.perf_counter_ns
    sock = wire.sock
    sock.setblocking(True)
    lat: list[int] = []
    acked = rejected = 0
    texts: list[str] = []
    t_begin = clock()
    for i in range(start, start + count):
        raw = wire.encode(b"D", flow.body(i, utc_timestamp()))
        t0 = clock()
        sock.sendall(raw)
        deadline = time.monotonic() + timeout_s
        got = False
        while not got:
            msgs = wire.recv(max(0.0, deadline - time.monotonic()))
            t1 = clock()
            for m in msgs:
                if got or flow.index(m) != i:
                    continue  # a later report (IOC's Canceled), of this order or an earlier one
                got = True
                if _is_reject(m):
                    rejected += 1
                    texts.append((get(m, b"58") or b"").decode(errors="replace"))
                else:
                    acked += 1
                    lat.append(t1 - t0)
            if not got and time.monotonic() >= deadline:
                raise WireError(f"no ExecutionReport for order {i} within {timeout_s}s")
    return RunResult("pingpong", count, acked, rejected, lat, (clock() - t_begin) / 1e9, reject_texts=texts)


class _Pump:
    """Non-blocking send queue + receive loop shared by the paced and burst senders."""

    def __init__(self, wire: FixWire, flow: OrderFlow, first: int, count: int):
        self.wire, self.flow = wire, flow
        self.sock = wire.sock
        self.sock.setblocking(False)
        self.first, self.count = first, count
        self.out = bytearray()
        self.recv_ns = array("q", bytes(8 * count))  # 0: not answered yet
        self.rejects: set[int] = set()
        self.acked = 0
        self.texts: list[str] = []
        self.last_ns = 0
        self.progress = time.monotonic()  # last answer (or start): to give up on a stuck target

    def flush(self) -> None:
        if self.out:
            try:
                n = self.sock.send(self.out)
            except BlockingIOError:
                return
            except OSError as exc:
                raise WireError(f"send failed: {exc}") from exc
            del self.out[:n]

    def wait(self, timeout_s: float, clock: Callable[[], int]) -> None:
        """Wait for the socket (readable, or writable while output is queued), then service it."""
        r, w, _ = select.select([self.sock], [self.sock] if self.out else [], [], max(timeout_s, 0.0))
        if w:
            self.flush()
        if r:
            data = recv_ready(self.sock)
            if data is None:
                return
            now = clock()
            self.progress = time.monotonic()
            for m in self.wire.feed(data):
                k = self.flow.index(m)
                if k is None:
                    continue
                k -= self.first
                if not 0 <= k < self.count or self.recv_ns[k]:
                    continue  # not this run's, or a later report of an answered order
                self.recv_ns[k] = now
                self.last_ns = now
                if _is_reject(m):
                    self.rejects.add(k)
                    if len(self.texts) < 20:
                        self.texts.append((get(m, b"58") or b"").decode(errors="replace"))
                else:
                    self.acked += 1

    def stuck(self, idle_timeout_s: float) -> bool:
        """Nothing received for ``idle_timeout_s``: the rest is lost."""
        return time.monotonic() - self.progress > idle_timeout_s

    @property
    def rejected(self) -> int:
        return len(self.rejects)

    @property
    def answered(self) -> int:
        return self.acked + self.rejected

    def latencies(self, due: Callable[[int], int]) -> list[int]:
        """Receive time minus ``due(i)`` for every acknowledged (not rejected) order."""
        recv, rejects = self.recv_ns, self.rejects
        return [recv[i] - due(i) for i in range(self.count) if recv[i] and i not in rejects]


def paced(
    wire: FixWire,
    flow: OrderFlow,
    rate: float,
    duration_s: float,
    start: int = 0,
    idle_timeout_s: float = 30.0,
) -> RunResult:
    """Open loop: order ``k`` is due at ``t0 + k / rate``; everything due is sent at once (a client
    that fell behind catches up in one write), and latency counts from the due time. Orders not
    answered once nothing has arrived for ``idle_timeout_s`` are lost."""
    count = max(1, int(rate * duration_s))
    clock = time.perf_counter_ns
    pump = _Pump(wire, flow, start, count)
    interval = 1e9 / rate
    t0 = clock() + 2_000_000
    sent_ns = array("q", bytes(8 * count))
    k = 0
    while pump.answered < count:
        now = clock()
        if k < count:
            if t0 + int(k * interval) <= now:
                ts = utc_timestamp()
                chunk = []
                while k < count and t0 + int(k * interval) <= now:
                    chunk.append(wire.encode(b"D", flow.body(start + k, ts)))
                    sent_ns[k] = now
                    k += 1
                pump.out += b"".join(chunk)
                pump.flush()
            wait = (t0 + k * interval - clock()) / 1e9 if k < count else 0.05
        elif pump.stuck(idle_timeout_s):
            break
        else:
            wait = 0.05
        pump.wait(wait, clock)
    lat = pump.latencies(lambda i: t0 + int(i * interval))
    lag = [sent_ns[i] - (t0 + int(i * interval)) for i in range(k)]
    elapsed = (pump.last_ns - t0) / 1e9 if pump.last_ns else 0.0
    return RunResult(
        "sweep",
        k,
        pump.acked,
        pump.rejected,
        lat,
        elapsed,
        offered_rate=rate,
        send_lag_ns=lag,
        reject_texts=pump.texts,
    )


def burst(
    wire: FixWire, flow: OrderFlow, count: int, start: int = 0, idle_timeout_s: float = 30.0
) -> RunResult:
    """Every order as fast as the client can write them; throughput is the acknowledgements per
    second from the first write to the last acknowledgement."""
    clock = time.perf_counter_ns
    pump = _Pump(wire, flow, start, count)
    sent_ns = array("q", bytes(8 * count))
    k = 0
    t0 = clock()
    while pump.answered < count:
        if k < count and len(pump.out) < 256 * 1024:
            now = clock()
            ts = utc_timestamp()
            n = min(count - k, 200)
            pump.out += b"".join([wire.encode(b"D", flow.body(start + k + j, ts)) for j in range(n)])
            for j in range(n):
                sent_ns[k + j] = now
            k += n
            pump.flush()
            pump.wait(0.0, clock)
            continue
        if k >= count and pump.stuck(idle_timeout_s):
            break
        pump.wait(0.05, clock)
    lat = pump.latencies(lambda i: sent_ns[i])
    elapsed = (pump.last_ns - t0) / 1e9 if pump.last_ns else 0.0
    return RunResult("burst", k, pump.acked, pump.rejected, lat, elapsed, reject_texts=pump.texts)
