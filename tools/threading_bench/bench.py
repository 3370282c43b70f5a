"""Threading-design benchmark for a QuickFIX proxy hop (client -> proxy -> venue -> proxy -> client).

Three kinds of process, all on 127.0.0.1:

* venue (child process): QuickFIX SocketAcceptor, FIX.4.4, MemoryStoreFactory, driven by ``poll()``
  in a busy loop; answers every NewOrderSingle with one ExecutionReport (ExecType 0) from ``fromApp``.
* proxy (child process, one per design/store run): a SocketAcceptor for the client and a
  SocketInitiator to the venue, forwarding NOS -> venue and ER -> client by copying fields by tag
  number. Designs:
    A   start() on both engines; forward inside the callback (QuickFIX threads send).
    B   start() on both engines; callbacks copy fields into a queue.SimpleQueue, one Python
        "core" thread builds and sends (hand-off to a single writer).
    C   one thread calls acceptor.poll() + initiator.poll() in a busy loop, forwarding inline.
    D   as C, time.sleep(100 us) after any poll round that saw no callback activity.
    D2  as C, spins until 200 ms after the last activity, then sleeps 100 us per idle round
        (the policy of gateway/fix/engine.py EngineLoop, re-implemented here without the rest).
* client (this process): plain socket + simplefix, one order outstanding at a time; latency is
  perf_counter_ns from just before ``sendall`` of the encoded NOS to the parsed first ER.

Proxy CPU is read from /proc/<pid>/stat (utime+stime, all threads, 10 ms ticks). "other%" is the
CPU the rest of the machine used (from /proc/stat) in the measured windows: on a shared machine it
marks disturbed rows, and each run first waits (--quiet-wait) for other processes to go quiet.
Every QuickFIX session validates against fix_specs/FIX44.xml (--dict '' turns that off), has no
message log (no LogFactory), ResetOnLogon=Y, HeartBtInt=30, SocketNodelay=Y.

Options beyond the brief: --venue-mode start (venue on start(), no spinning core; shows how much the
2-core box's scheduling shapes the spinning designs) and --sparse N (N isolated orders, --sparse-gap
apart, after the timed run: the first-message cost once D2 has gone back to sleeping).

Run:  .venv/bin/python tools/threading_bench/bench.py            (2 rounds, ~2 minutes)
      .venv/bin/python tools/threading_bench/bench.py --help
"""

from __future__ import annotations

import argparse
import os
import queue
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from pathlib import Path

import quickfix as fix
import simplefix

HERE = Path(__file__).resolve()
DEFAULT_DICT = HERE.parents[2] / "fix_specs" / "FIX44.xml"
BEGIN = "FIX.4.4"
NOS_TAGS = (11, 55, 54, 60, 38, 40, 44, 59)
ER_TAGS = (37, 17, 150, 39, 11, 55, 54, 38, 44, 151, 14, 6, 60)
DESIGNS = ("A", "B", "C", "D", "D2")
CLK_TCK = os.sysconf("SC_CLK_TCK")


def log(*a: object) -> None:
    print(*a, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- QuickFIX settings


def make_settings(
    kind: str,
    sessions: list[tuple[str, str]],
    port: int,
    store_dir: str,
    dictionary: str | None,
) -> fix.SessionSettings:
    s = fix.SessionSettings()
    d = fix.Dictionary()
    d.setString("ConnectionType", kind)
    d.setString("StartTime", "00:00:00")
    d.setString("EndTime", "00:00:00")
    d.setString("NonStopSession", "Y")
    d.setString("HeartBtInt", "30")
    d.setString("ResetOnLogon", "Y")
    d.setString("SocketNodelay", "Y")
    d.setString("FileStorePath", store_dir)
    if dictionary:
        d.setString("UseDataDictionary", "Y")
        d.setString("DataDictionary", dictionary)
    else:
        d.setString("UseDataDictionary", "N")
    if kind == "acceptor":
        d.setString("SocketAcceptHost", "127.0.0.1")
        d.setString("SocketAcceptPort", str(port))
    else:
        d.setString("SocketConnectHost", "127.0.0.1")
        d.setString("SocketConnectPort", str(port))
        d.setString("ReconnectInterval", "1")
    s.set(d)
    for sender, target in sessions:
        s.set(fix.SessionID(BEGIN, sender, target), fix.Dictionary())
    return s


def make_store(store: str, settings: fix.SessionSettings):
    return fix.FileStoreFactory(settings) if store == "file" else fix.MemoryStoreFactory()


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def die_with_parent() -> None:
    """Children exit (without QuickFIX teardown, which can segfault) when the parent closes stdin."""

    def watch() -> None:
        try:
            sys.stdin.buffer.read()
        finally:
            os._exit(0)

    threading.Thread(target=watch, daemon=True).start()


# --------------------------------------------------------------------------- venue


class VenueApp(fix.Application):
    def __init__(self) -> None:
        super().__init__()
        self.n = 0

    def onCreate(self, sessionID):
        pass

    def onLogon(self, sessionID):
        pass

    def onLogout(self, sessionID):
        pass

    def toAdmin(self, message, sessionID):
        pass

    def fromAdmin(self, message, sessionID):
        pass

    def toApp(self, message, sessionID):
        pass

    def fromApp(self, message, sessionID):
        try:
            if message.getHeader().getField(35) != "D":
                return
            self.n += 1
            n = str(self.n)
            qty = message.getField(38)
            er = fix.Message()
            er.getHeader().setField(35, "8")
            er.setField(37, "V" + n)
            er.setField(17, "E" + n)
            er.setField(150, "0")
            er.setField(39, "0")
            er.setField(11, message.getField(11))
            er.setField(55, message.getField(55))
            er.setField(54, message.getField(54))
            er.setField(38, qty)
            er.setField(44, message.getField(44))
            er.setField(151, qty)
            er.setField(14, "0")
            er.setField(6, "0")
            er.setField(60, message.getField(60))
            fix.Session.sendToTarget(er, sessionID)
        except Exception:
            traceback.print_exc()


def run_venue(args: argparse.Namespace) -> None:
    die_with_parent()
    store_dir = tempfile.gettempdir()  # unused: the venue's store is in memory
    settings = make_settings(
        "acceptor", [("VENUE", "GW"), ("VENUE", "CLIENT")], args.port, store_dir, args.dict
    )
    app = VenueApp()
    store = fix.MemoryStoreFactory()
    acceptor = fix.SocketAcceptor(app, store, settings)
    if args.venue_mode == "start":  # QuickFIX's own thread, blocks in select: frees the core
        acceptor.start()
        time.sleep(0.2)
        print("READY", flush=True)
        while True:
            signal.pause()
    poll = acceptor.poll
    poll()
    print("READY", flush=True)
    while True:
        poll()


# --------------------------------------------------------------------------- proxy


class ProxyApp(fix.Application):
    """One Application for both engines; routes by MsgType (D -> venue, 8 -> client)."""

    def __init__(self, handoff: queue.SimpleQueue | None) -> None:
        super().__init__()
        self.activity = 0
        self.handoff = handoff
        self.client_sid = fix.SessionID(BEGIN, "GW", "CLIENT")
        self.venue_sid = fix.SessionID(BEGIN, "GW", "VENUE")
        self.venue_up = threading.Event()

    def onCreate(self, sessionID):
        pass

    def onLogon(self, sessionID):
        self.activity += 1
        try:
            if sessionID.getTargetCompID().getValue() == "VENUE":
                self.venue_up.set()
        except Exception:
            traceback.print_exc()

    def onLogout(self, sessionID):
        self.activity += 1

    def toAdmin(self, message, sessionID):
        pass

    def toApp(self, message, sessionID):
        pass

    def fromAdmin(self, message, sessionID):
        self.activity += 1

    def fromApp(self, message, sessionID):
        self.activity += 1
        try:
            mt = message.getHeader().getField(35)
            if mt == "D":
                item = (mt, [(t, message.getField(t)) for t in NOS_TAGS], self.venue_sid)
            elif mt == "8":
                item = (mt, [(t, message.getField(t)) for t in ER_TAGS], self.client_sid)
            else:
                return
            if self.handoff is not None:
                self.handoff.put(item)
            else:
                forward(item)
        except Exception:
            traceback.print_exc()


def forward(item) -> None:
    mt, fields, dest = item
    m = fix.Message()
    m.getHeader().setField(35, mt)
    for tag, value in fields:
        m.setField(tag, value)
    fix.Session.sendToTarget(m, dest)


def core_thread(q: queue.SimpleQueue) -> None:
    get = q.get
    while True:
        item = get()
        try:
            forward(item)
        except Exception:
            traceback.print_exc()


def run_proxy(args: argparse.Namespace) -> None:
    die_with_parent()
    design = args.design
    handoff: queue.SimpleQueue | None = queue.SimpleQueue() if design == "B" else None
    app = ProxyApp(handoff)
    acc_settings = make_settings(
        "acceptor", [("GW", "CLIENT")], args.port, args.store_dir + "/acc", args.dict
    )
    ini_settings = make_settings(
        "initiator", [("GW", "VENUE")], args.venue_port, args.store_dir + "/ini", args.dict
    )
    acc_store = make_store(args.store, acc_settings)
    ini_store = make_store(args.store, ini_settings)
    acceptor = fix.SocketAcceptor(app, acc_store, acc_settings)
    initiator = fix.SocketInitiator(app, ini_store, ini_settings)

    if design in ("A", "B"):
        if handoff is not None:
            threading.Thread(target=core_thread, args=(handoff,), daemon=True, name="core").start()
        acceptor.start()
        initiator.start()
        if not app.venue_up.wait(15):
            log("proxy: venue logon timed out")
            os._exit(2)
        print("READY", flush=True)
        while True:
            signal.pause()

    a_poll, i_poll = acceptor.poll, initiator.poll
    deadline = time.monotonic() + 15
    while not app.venue_up.is_set():
        a_poll()
        i_poll()
        time.sleep(0.001)
        if time.monotonic() > deadline:
            log("proxy: venue logon timed out")
            os._exit(2)
    print("READY", flush=True)

    sleep = time.sleep
    if design == "C":
        while True:
            a_poll()
            i_poll()
    elif design == "D":
        seen = -1
        while True:
            a_poll()
            i_poll()
            act = app.activity
            if act == seen:
                sleep(0.0001)
            else:
                seen = act
    elif design == "D2":
        seen = -1
        mono = time.monotonic
        last = mono()
        while True:
            a_poll()
            i_poll()
            act = app.activity
            now = mono()
            if act != seen:
                seen = act
                last = now
            elif now - last > 0.2:
                sleep(0.0001)
    else:
        raise SystemExit(f"unknown design {design}")


# --------------------------------------------------------------------------- client (simplefix)


class Client:
    def __init__(self, port: int, sender: str, target: str) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sender, self.target = sender, target
        self.seq = 0
        self.parser = simplefix.FixParser()

    def encode(self, msg_type: str, body: list[tuple[int, str]]) -> bytes:
        self.seq += 1
        m = simplefix.FixMessage()
        m.append_pair(8, BEGIN, header=True)
        m.append_pair(35, msg_type, header=True)
        m.append_pair(49, self.sender, header=True)
        m.append_pair(56, self.target, header=True)
        m.append_pair(34, self.seq, header=True)
        m.append_utc_timestamp(52, precision=3, header=True)
        for tag, value in body:
            m.append_pair(tag, value)
        return m.encode()

    def send(self, msg_type: str, body: list[tuple[int, str]]) -> None:
        self.sock.sendall(self.encode(msg_type, body))

    def recv(self, want: bytes) -> simplefix.FixMessage:
        parser, sock = self.parser, self.sock
        while True:
            msg = parser.get_message()
            if msg is None:
                data = sock.recv(65536)
                if not data:
                    raise ConnectionError("peer closed")
                parser.append_buffer(data)
                continue
            mt = msg.get(35)
            if mt == want:
                return msg
            if mt == b"1":  # TestRequest
                self.send("0", [(112, msg.get(112).decode())])
            elif mt in (b"3", b"5", b"j"):
                raise RuntimeError(f"unexpected {msg}")

    def logon(self) -> None:
        self.send("A", [(98, "0"), (108, "30"), (141, "Y")])
        self.recv(b"A")

    def logout(self) -> None:
        try:
            self.send("5", [])
            self.sock.settimeout(2)
            self.recv(b"5")
        except (OSError, RuntimeError, ConnectionError):
            pass
        self.sock.close()

    def nos(self, clordid: str) -> bytes:
        ts = time.strftime("%Y%m%d-%H:%M:%S.000", time.gmtime())
        return self.encode(
            "D",
            [
                (11, clordid),
                (55, "AAPL"),
                (54, "1"),
                (60, ts),
                (38, "100"),
                (40, "2"),
                (44, "10.5"),
                (59, "0"),
            ],
        )

    def orders(self, n: int, tag: str) -> list[int]:
        lat: list[int] = []
        sock, clock = self.sock, time.perf_counter_ns
        for i in range(n):
            raw = self.nos(f"{tag}-{i}")
            t0 = clock()
            sock.sendall(raw)
            er = self.recv(b"8")
            t1 = clock()
            if er.get(11) != f"{tag}-{i}".encode():
                raise RuntimeError(f"ER for {er.get(11)} while waiting for {tag}-{i}")
            lat.append(t1 - t0)
        return lat


# --------------------------------------------------------------------------- harness


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def spawn(argv: list[str]) -> subprocess.Popen:
    p = subprocess.Popen(
        [sys.executable, str(HERE), *argv], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    line = p.stdout.readline() if p.stdout else ""
    if line.strip() != "READY":
        stop(p)
        raise RuntimeError(f"child {argv} did not start (got {line!r})")
    return p


def stop(p: subprocess.Popen) -> None:
    try:
        if p.stdin:
            p.stdin.close()  # the child's watcher thread calls os._exit(0)
        p.wait(2)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()


def pct(sorted_ns: list[int], q: float) -> float:
    return sorted_ns[min(len(sorted_ns) - 1, int(q * len(sorted_ns)))] / 1000


def system_busy() -> float:
    """Busy CPU seconds of the whole machine (all CPUs, steal included) from /proc/stat."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return (v[0] + v[1] + v[2] + v[7]) / CLK_TCK  # user, nice, system, steal


def other_cpu(ours: list[int], seconds: float) -> float:
    """% of one CPU used by processes not in ``ours`` over the next ``seconds``."""
    own0, sys0, t0 = sum(map(cpu_seconds, ours)), system_busy(), time.monotonic()
    time.sleep(seconds)
    own1, sys1, t1 = sum(map(cpu_seconds, ours)), system_busy(), time.monotonic()
    return max(0.0, 100 * ((sys1 - sys0) - (own1 - own0)) / (t1 - t0))


def wait_quiet(ours: list[int], limit_s: float) -> None:
    """On a shared machine, wait (at most ``limit_s``) until other processes use < 15% of a CPU."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        busy = other_cpu(ours, 0.3)
        if busy < 15:
            return
        log(f"  machine busy ({busy:.0f}% of a CPU used by other processes), waiting")


class Window:
    """CPU of one process and of everything outside ``ours`` over a stretch of wall time."""

    def __init__(self, pid: int | None, ours: list[int]) -> None:
        self.pid, self.ours = pid, ours
        self.cpu0 = cpu_seconds(pid) if pid else 0.0
        self.own0, self.sys0, self.t0 = sum(map(cpu_seconds, ours)), system_busy(), time.monotonic()

    def close(self) -> tuple[float, float, float]:
        """(seconds elapsed, CPU seconds of ``pid``, % of one CPU used by other processes)."""
        cpu = (cpu_seconds(self.pid) - self.cpu0) if self.pid else 0.0
        own, busy, wall = sum(map(cpu_seconds, self.ours)), system_busy(), time.monotonic() - self.t0
        return wall, cpu, max(0.0, 100 * ((busy - self.sys0) - (own - self.own0)) / wall)


def measure(port: int, sender: str, target: str, args, tag: str, pid: int | None, venue_pid: int) -> dict:
    ours = [os.getpid(), venue_pid] + ([pid] if pid else [])
    if args.quiet_wait > 0:
        wait_quiet(ours, args.quiet_wait)
    c = Client(port, sender, target)
    try:
        c.logon()
        c.orders(args.warmup, tag + "w")
        w = Window(pid, ours)
        lat = sorted(c.orders(args.orders, tag))
        _, cpu, other = w.close()
        row = {
            "p50": pct(lat, 0.50),
            "p90": pct(lat, 0.90),
            "p99": pct(lat, 0.99),
            "max": lat[-1] / 1000,
            "mean": statistics.fmean(lat) / 1000,
            "cpu_per_1k": cpu * 1000 / args.orders if pid else None,
            "idle": None,
            # CPU used by anything but the benchmark's processes (other work, steal), % of one CPU,
            # the worse of the orders and the idle window: rows with a high value were disturbed
            "other": other,
        }
        if pid and args.idle > 0:
            time.sleep(0.5)  # past D2's 200 ms spin
            w = Window(pid, ours)
            time.sleep(args.idle)
            wall, cpu, other = w.close()
            row["idle"] = 100 * cpu / wall
            row["other"] = max(row["other"], other)
        if args.sparse > 0:  # isolated orders: each one finds the proxy idle (D2 asleep again)
            lat = []
            w = Window(pid, ours)
            for i in range(args.sparse):
                time.sleep(args.sparse_gap)
                lat += c.orders(1, f"{tag}s{i}")
            row["other"] = max(row["other"], w.close()[2])
            lat.sort()
            row["sparse"] = (pct(lat, 0.5), pct(lat, 0.9), lat[-1] / 1000)
    finally:
        c.logout()
    return row


def run_one(args, design: str, store: str, rnd: int, venue: subprocess.Popen, tmp: str) -> dict | str:
    tag = f"{design}{store[0]}{rnd}"
    if design == "direct":  # baseline: the client logs straight on to the venue
        try:
            return measure(args.venue_port, "CLIENT", "VENUE", args, tag, None, venue.pid)
        except Exception as exc:
            return f"failed: {exc!r}"
    port = free_port()
    argv = ["_proxy", "--design", design, "--store", store, "--port", str(port)]
    argv += ["--venue-port", str(args.venue_port), "--store-dir", os.path.join(tmp, tag)]
    proxy = None
    try:
        proxy = spawn(["--dict", args.dict or "", *argv])
        return measure(port, "CLIENT", "GW", args, tag, proxy.pid, venue.pid)
    except Exception as exc:
        return f"failed: {exc!r}"
    finally:
        if proxy:
            stop(proxy)


def fmt(v: float | None, spec: str) -> str:
    return "-" if v is None else format(v, spec)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--orders", type=int, default=2000)
    ap.add_argument("--warmup", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=2, help="run every design this many times (interleaved)")
    ap.add_argument("--designs", default=",".join(DESIGNS))
    ap.add_argument("--stores", default="memory,file")
    ap.add_argument(
        "--venue-mode",
        choices=("spin", "start"),
        default="spin",
        help="venue driven by a busy poll() loop (default) or by start() (no spinning core)",
    )
    ap.add_argument(
        "--quiet-wait",
        type=float,
        default=10.0,
        help="before each run wait up to this many seconds for other processes to go quiet (0 = off)",
    )
    ap.add_argument("--sparse", type=int, default=0, help="extra isolated orders per run (0 = off)")
    ap.add_argument("--sparse-gap", type=float, default=0.25, help="seconds between isolated orders")
    ap.add_argument("--idle", type=float, default=3.0, help="seconds of idle-CPU measurement (0 = skip)")
    ap.add_argument(
        "--dict",
        default=str(DEFAULT_DICT),
        help="DataDictionary for every QuickFIX session ('' = UseDataDictionary=N)",
    )
    sub = ap.add_subparsers(dest="role")
    v = sub.add_parser("_venue")
    v.add_argument("--port", type=int, required=True)
    v.add_argument("--venue-mode", default="spin")
    p = sub.add_parser("_proxy")
    p.add_argument("--design", required=True)
    p.add_argument("--store", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--venue-port", type=int, required=True)
    p.add_argument("--store-dir", required=True)
    args = ap.parse_args(argv)
    args.dict = args.dict or None
    if args.role == "_venue":
        return run_venue(args)
    if args.role == "_proxy":
        return run_proxy(args)

    designs = [d.strip() for d in args.designs.split(",") if d.strip()]
    stores = [s.strip() for s in args.stores.split(",") if s.strip()]
    started = time.monotonic()
    args.venue_port = free_port()
    venue = spawn(
        ["--dict", args.dict or "", "_venue", "--port", str(args.venue_port), "--venue-mode", args.venue_mode]
    )
    rows: list[tuple[str, str, int, dict | str]] = []
    try:
        with tempfile.TemporaryDirectory(prefix="threading-bench-") as tmp:
            jobs = [("direct", "-")] + [(d, st) for st in stores for d in designs]
            for rnd in range(1, args.rounds + 1):
                for design, store in jobs:
                    log(f"round {rnd}: {design} {store}")
                    rows.append((design, store, rnd, run_one(args, design, store, rnd, venue, tmp)))
    finally:
        stop(venue)

    order = {d: i for i, d in enumerate(["direct", *designs])}
    store_order = {s: i for i, s in enumerate(["-", *stores])}
    rows.sort(key=lambda r: (order[r[0]], store_order[r[1]], r[2]))
    print(
        f"# {args.orders} orders after {args.warmup} warm-up, one outstanding; latency in us; "
        f"dictionary: {args.dict or 'none'}; venue {args.venue_mode}; {os.cpu_count()} CPUs; "
        f"{time.monotonic() - started:.0f} s"
    )
    head = (
        f"{'design':<7}{'store':<7}{'run':>4}{'p50':>8}{'p90':>8}{'p99':>8}{'max':>9}{'mean':>8}"
        f"{'cpu_s/1k':>10}{'idle_cpu%':>11}{'other%':>8}"
    )
    print(head)
    print("-" * len(head))
    for design, store, rnd, r in rows:
        if isinstance(r, str):
            print(f"{design:<7}{store:<7}{rnd:>4}  {r}")
            continue
        print(
            f"{design:<7}{store:<7}{rnd:>4}{r['p50']:>8.0f}{r['p90']:>8.0f}{r['p99']:>8.0f}{r['max']:>9.0f}"
            f"{r['mean']:>8.0f}{fmt(r['cpu_per_1k'], '.3f'):>10}{fmt(r['idle'], '.1f'):>11}"
            f"{r['other']:>7.0f}{'*' if r['other'] >= 15 else ' '}"
        )
    sparse = [r for r in rows if isinstance(r[3], dict) and "sparse" in r[3]]
    if sparse:
        print(f"# {args.sparse} isolated orders, {args.sparse_gap} s apart: p50 / p90 / max us")
        for design, store, rnd, r in sparse:
            p50, p90, mx = r["sparse"]
            print(f"{design:<7}{store:<7}{rnd:>4}{p50:>8.0f}{p90:>8.0f}{mx:>9.0f}")
    print("# other%: CPU of other processes in the orders or idle window (the worse), % of a CPU; * >= 15")


if __name__ == "__main__":
    main()
