"""The backtest coordinator: one thread, one simulated clock, the real gateway in a subprocess.

It hosts the simulated venues (QuickFIX acceptors) and the order-flow FIX clients, pops timed
events (replay, venue latencies, order flow, strategy timers, faults) in simulated-time order, and
after anything went out over FIX waits for quiescence (see :mod:`gateway.backtest.quiescence`)
before the clock moves on. In ``max`` speed results therefore do not depend on machine speed.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path

from gateway.backtest.clients import ClientApp, client_engine
from gateway.backtest.config import BacktestConfig, VenueSpec
from gateway.backtest.flows import BacktestError, StrategyContext, run_csv_action
from gateway.backtest.gwconf import GATEWAY_COMP_ID, write_gateway_config
from gateway.backtest.gwproc import GatewayProcess
from gateway.backtest.orders_csv import OrderAction, parse_orders_csv
from gateway.backtest.quiescence import SideCounts, gateway_counts, must_settle_before, unquiet
from gateway.backtest.result import build_result
from gateway.backtest.scheduler import Scheduler
from gateway.backtest.strategy import Quote, load_strategy
from gateway.backtest.tracker import OrderRecord, OrderTracker
from gateway.backtest.venue import BacktestVenue
from gateway.config import ConfigError, load_config
from gateway.orders.enums import OrdType, Side, TimeInForce
from gateway.simulator.replay.events import ReplayEvent
from gateway.simulator.replay.readers import perturbed, reader_for

log = logging.getLogger("gateway.backtest")

QUIESCE_TIMEOUT_S = 60.0
LOGON_TIMEOUT_S = 60.0


def venue_events(spec: VenueSpec) -> Iterator[ReplayEvent]:
    """The venue's replay stream: its sources merged by time, then its perturbation."""
    streams = [reader_for(src.format)(src) for src in spec.replay]
    events: Iterator[ReplayEvent] = (
        streams[0] if len(streams) == 1 else heapq.merge(*streams, key=lambda e: e.ts_ns)
    )
    if spec.perturb is not None:
        p = spec.perturb
        events = perturbed(
            events, seed=p.seed, time_shift_ns=p.time_shift_ns, size_scale=Decimal(str(p.size_scale)),
            drop_adds=p.drop_adds,
        )  # fmt: skip
    return events


class Backtest:
    def __init__(
        self, cfg: BacktestConfig, out_dir: Path, progress: Callable[[int, int], None] | None = None
    ):
        self.cfg = cfg
        self.out_dir = out_dir
        self.progress = progress  # (sim ns done, sim ns total) when the window is known
        self.sched = Scheduler()
        self.tracker = OrderTracker(self._classify_reject)
        self.events_replayed = 0
        self.venues: dict[str, BacktestVenue] = {}
        self.strategies: dict[str, StrategyContext] = {}  # by client session
        self.csv_actions: list[OrderAction] = []
        self._pending: dict[str, set[str]] = {}
        self._streams: dict[str, Iterator[ReplayEvent]] = {}
        self._active_streams = 0
        self._breakers: dict[str, tuple[str, int]] = {}
        self.breaker_ns: dict[str, dict[str, int]] = {}
        self.mids: dict[str, list[tuple[int, Decimal]]] = {}
        self.gw: GatewayProcess | None = None
        self.quiesce_count = 0
        self._risk_checks: tuple[str, ...] = ()

    # ------------------------------------------------------------------ setup

    def _clients(self) -> dict[str, str]:
        clients: dict[str, str] = {}
        for flow in self.cfg.flows:
            if flow.kind == "csv":
                assert flow.file is not None
                rows = parse_orders_csv(flow.file)
                self.csv_actions += rows
                for r in rows:
                    clients.setdefault(r.client, flow.fix_version)
            else:
                assert flow.client is not None and flow.strategy is not None
                if flow.client in clients:
                    raise BacktestError(
                        f"order_flow {flow.name}: client {flow.client} is used by another flow"
                    )
                clients[flow.client] = flow.fix_version
                try:
                    here = self.cfg.source.parent
                    strategy = load_strategy(flow.strategy, flow.params, (Path.cwd(), here, here.parent))
                except ValueError as exc:
                    raise BacktestError(f"{self.cfg.source}: order_flow {flow.name}: {exc}") from None
                self.strategies[flow.client] = StrategyContext(self, flow, strategy)
        return clients

    def _prepare(self) -> None:
        clients = self._clients()
        self.layout = write_gateway_config(self.cfg, self.out_dir, clients)
        try:
            gw_cfg = load_config(self.layout.config)
        except ConfigError as exc:
            raise BacktestError(
                f"{self.cfg.source}: the gateway refuses its generated config: {exc}"
            ) from None
        self._risk_checks = tuple(c.name for c in gw_cfg.risk.checks)
        for spec in self.cfg.venues:
            self.venues[spec.name] = BacktestVenue(
                gw_cfg,
                gw_cfg.venues[spec.name],
                spec,
                self.cfg.seed,
                self.sched,
                self._transmit,
                self._on_quote,
            )
        self.client_app = ClientApp(GATEWAY_COMP_ID, clients)
        self.engines = [v.acceptor for v in self.venues.values()]
        self.apps = [*self.venues.values(), self.client_app]
        if clients:
            self.engines.append(
                client_engine(self.client_app, self.layout.sessions_dir, self.layout.acceptor_port)
            )
        # Replay windows: fast-forward every venue to the start, silently.
        firsts = {}
        for name, v in self.venues.items():
            it = venue_events(v.spec)
            first = next(it, None)
            if first is not None:
                firsts[name] = first
                self._streams[name] = itertools.chain([first], it)
        if not firsts:
            raise BacktestError(f"{self.cfg.source}: the replay sources have no events")
        self.start_ns = (
            self.cfg.start_ns if self.cfg.start_ns is not None else min(e.ts_ns for e in firsts.values())
        )
        self.end_ns = self.cfg.end_ns
        if self.end_ns is None and self.cfg.duration_ns is not None:
            self.end_ns = self.start_ns + self.cfg.duration_ns
        for name, v in self.venues.items():
            if name in self._streams:
                self._streams[name] = v.replay(self._streams[name], self.start_ns)
        self.sched.now_ns = self.start_ns

    def _start(self) -> None:
        for e in self.engines:
            e.poll()
        self.gw = GatewayProcess(self.layout, self.out_dir / "gateway.log")
        deadline = time.monotonic() + LOGON_TIMEOUT_S
        while not (all(v.counts()[0] for v in self.venues.values()) and self.client_app.logged_on()):
            self._poll_engines()
            if not self.gw.alive():
                raise BacktestError(f"the gateway exited during start-up:\n{self.gw.log_tail()}")
            if time.monotonic() > deadline:
                raise BacktestError(
                    f"sessions not logged on within {LOGON_TIMEOUT_S:.0f}s:\n{self.gw.log_tail()}"
                )
            time.sleep(0.002)
        self.quiesce()

    # ------------------------------------------------------------------ the FIX gate

    def _poll_engines(self) -> None:
        for e in self.engines:
            e.poll()

    def _poll_until_idle(self) -> None:
        seen, stable = -1, 0
        while stable < 3:
            self._poll_engines()
            activity = sum(a.activity for a in self.apps)
            if activity == seen:
                stable += 1
            else:
                seen, stable = activity, 0
            time.sleep(0.0001)

    def _our_counts(self) -> dict[str, SideCounts]:
        out = {name: SideCounts(*v.counts()) for name, v in self.venues.items()}
        out.update({c: SideCounts(*self.client_app.counts(c)) for c in self.client_app.sids})
        return out

    def quiesce(self) -> None:
        """Wait until every message either side sent has been processed; then handle what arrived."""
        assert self.gw is not None
        deadline = time.monotonic() + QUIESCE_TIMEOUT_S
        confirmed = None
        while True:
            self._poll_until_idle()
            snap = self.gw.get("/api/quiescence")
            ours = self._our_counts()
            busy = unquiet(ours, gateway_counts([{"name": n, **s} for n, s in snap["sessions"].items()]))
            if not busy:
                # A refusal by the gateway's venue flow control comes back through its loop's inbox:
                # with a breaker not closed, take a second snapshot one loop turn later.
                if all(s == "closed" for s in snap["breakers"].values()) or confirmed == snap["sessions"]:
                    break
                confirmed = snap["sessions"]
                continue
            confirmed = None
            if not self.gw.alive():
                raise BacktestError(f"the gateway exited:\n{self.gw.log_tail()}")
            if time.monotonic() > deadline:
                raise BacktestError(
                    f"no quiescence within {QUIESCE_TIMEOUT_S:.0f}s (busy: {', '.join(busy)})"
                )
            time.sleep(0.0003)
        self.quiesce_count += 1
        self._pending.clear()
        self._sample_breakers(snap["breakers"])
        if self.client_app.errors:
            raise BacktestError(self.client_app.errors[0])
        self._drain()

    def _transmit(self, key: str, kind: str, send: Callable[[], None]) -> None:
        """Send on session ``key``; first settle other sessions' traffic the gateway might interleave."""
        if must_settle_before(self._pending, key, kind):
            self.quiesce()
        send()
        self._pending.setdefault(key, set()).add(kind)

    def _drain(self) -> None:
        """What arrived during the wait, in a fixed order: venues by name, then clients by name."""
        for name in sorted(self.venues):
            v = self.venues[name]
            for owner, sid, cmd in v.take_inbox():
                v.receive(owner, sid, cmd)
        inbound = sorted(self.client_app.take_inbox(), key=lambda m: m.client)  # stable within a client
        now = self.sched.now_ns
        for m in inbound:
            report = self.tracker.received(m.client, m.report, m.last_mkt, now, m.wall_ns)
            ctx = self.strategies.get(m.client)
            if report is not None and ctx is not None:
                self.sched.at(now, f"report:{m.client}", lambda ctx=ctx, r=report: ctx.deliver_report(r))

    def _sample_breakers(self, states: dict[str, str]) -> None:
        now = self.sched.now_ns
        for venue, state in states.items():
            prev = self._breakers.get(venue)
            if prev is not None:
                acc = self.breaker_ns.setdefault(venue, {})
                acc[prev[0]] = acc.get(prev[0], 0) + now - prev[1]
            self._breakers[venue] = (state, now)

    # ------------------------------------------------------------------ order flow

    def market_mid(self, symbol: str) -> Decimal | None:
        v = self._reference_venue(symbol)
        return None if v is None else v.book.mid(symbol)

    def _reference_venue(self, symbol: str) -> BacktestVenue | None:
        for inst in self.cfg.instruments:
            if inst.get("symbol") == symbol and inst.get("venue") in self.venues:
                return self.venues[inst["venue"]]
        return next(iter(self.venues.values()), None)

    def send_new(
        self, client: str, cl_ord_id: str, symbol: str, side: Side, ord_type: OrdType, qty: Decimal,
        price: Decimal | None, tif: TimeInForce,
    ) -> None:  # fmt: skip
        def send() -> None:
            rec = OrderRecord(
                client, cl_ord_id, symbol, side, qty, price, ord_type, tif, self.sched.now_ns, time.time_ns(),
                self.market_mid(symbol),
            )  # fmt: skip
            self.tracker.sent(rec)
            self.client_app.new_order(client, cl_ord_id, symbol, side, ord_type, qty, price, tif)

        self._transmit(client, "app", send)

    def send_cancel(self, rec: OrderRecord, cl_ord_id: str, orig: str | None = None) -> None:
        def send() -> None:
            self.tracker.amend_sent(rec, cl_ord_id, None, None)
            self.client_app.cancel(
                rec.client, cl_ord_id, orig or rec.current_id, rec.symbol, rec.side, rec.qty
            )

        self._transmit(rec.client, "app", send)

    def send_replace(
        self,
        rec: OrderRecord,
        cl_ord_id: str,
        qty: Decimal | None,
        price: Decimal | None,
        orig: str | None = None,
    ) -> None:
        new_qty = qty or rec.qty

        def send() -> None:
            self.tracker.amend_sent(rec, cl_ord_id, new_qty, price)
            self.client_app.replace(
                rec.client, cl_ord_id, orig or rec.current_id, rec.symbol, rec.side, rec.ord_type, new_qty,
                price if price is not None else rec.price, rec.tif,
            )  # fmt: skip

        self._transmit(rec.client, "app", send)

    def _on_quote(self, quote: Quote) -> None:
        ref = self._reference_venue(quote.symbol)
        if ref is not None and ref.name == quote.venue and quote.mid is not None:
            self.mids.setdefault(quote.symbol, []).append((quote.ts_ns, quote.mid))
        for ctx in self.strategies.values():
            self.sched.after(
                ctx.spec.md_latency_ns, f"quote:{ctx.client}", lambda c=ctx, q=quote: c.deliver_quote(q)
            )

    def _classify_reject(self, text: str) -> str:
        if any(r and r in text for v in self.venues.values() for r in v.stats.reject_texts):
            return "venue"
        if text.startswith(tuple(f"{c}:" for c in self._risk_checks)):
            return "risk"
        if text.startswith(("trading halted", "trading state")):
            return "risk"
        return "gateway"

    # ------------------------------------------------------------------ faults

    def _schedule_faults(self, v: BacktestVenue) -> None:
        dm = v.models.disconnects
        if dm is not None:
            self.sched.at(dm.next_disconnect_ns(v.rng_disconnect, self.start_ns), f"disconnect:{v.name}",
                          lambda: self._random_disconnect(v))  # fmt: skip
        for w in v.models.outages.windows:
            if w.end_ns <= self.start_ns or (self.end_ns is not None and w.start_ns > self.end_ns):
                continue
            self.sched.at(
                w.start_ns, f"outage:{v.name}", lambda w=w: self._go_down(v, w.end_ns, "simulated outage")
            )
            self.sched.at(w.end_ns, f"outage-end:{v.name}", lambda: self._come_up(v))

    def _random_disconnect(self, v: BacktestVenue) -> None:
        dm = v.models.disconnects
        assert dm is not None
        now = self.sched.now_ns
        if v.down_until_ns is None:
            until = now + dm.reconnect_after_ns
            self._go_down(v, until, "simulated disconnect")
            self.sched.at(until, f"reconnect:{v.name}", lambda: self._come_up(v))
            now = until
        if self._active_streams > 0:
            self.sched.at(dm.next_disconnect_ns(v.rng_disconnect, now), f"disconnect:{v.name}",
                          lambda: self._random_disconnect(v))  # fmt: skip

    def _wait(self, what: str, done: Callable[[], bool]) -> None:
        assert self.gw is not None
        deadline = time.monotonic() + LOGON_TIMEOUT_S
        while not done():
            self._poll_engines()
            if not self.gw.alive():
                raise BacktestError(f"the gateway exited:\n{self.gw.log_tail()}")
            if time.monotonic() > deadline:
                raise BacktestError(f"{what} did not happen within {LOGON_TIMEOUT_S:.0f}s")
            time.sleep(0.001)

    def _go_down(self, v: BacktestVenue, until_ns: int, why: str) -> None:
        if v.down_until_ns is not None:
            v.down_until_ns = max(v.down_until_ns, until_ns)
            return
        self.quiesce()
        v.go_down(until_ns, why)
        self._wait(f"{v.name} logout", lambda: not v.counts()[0])
        self.quiesce()

    def _come_up(self, v: BacktestVenue) -> None:
        if v.down_until_ns is None or v.down_until_ns > self.sched.now_ns:
            return  # another window keeps it down longer
        self.quiesce()
        v.come_up()
        self._wait(f"{v.name} logon", lambda: v.counts()[0])
        self.quiesce()

    # ------------------------------------------------------------------ the loop

    def _replay_step(self, v: BacktestVenue, ev: ReplayEvent, it: Iterator[ReplayEvent]) -> None:
        v.apply(ev)
        self.events_replayed += 1
        nxt = next(it, None)
        if nxt is None or (self.end_ns is not None and nxt.ts_ns > self.end_ns):
            self._active_streams -= 1
            return
        self.sched.at(nxt.ts_ns, "replay", lambda: self._replay_step(v, nxt, it))

    def _schedule_all(self) -> None:
        for name, it in self._streams.items():
            first = next(it, None)
            if first is None or (self.end_ns is not None and first.ts_ns > self.end_ns):
                continue
            self._active_streams += 1
            v = self.venues[name]
            self.sched.at(first.ts_ns, "replay", lambda v=v, e=first, it=it: self._replay_step(v, e, it))
        for a in self.csv_actions:
            self.sched.at(a.time_ns(self.start_ns), f"csv:{a.client}", lambda a=a: run_csv_action(self, a))
        for ctx in self.strategies.values():
            self.sched.at(self.start_ns, f"start:{ctx.client}", lambda c=ctx: c.strategy.on_start(c))
        for v in self.venues.values():
            self._schedule_faults(v)

    def _loop(self) -> None:
        factor = self.cfg.speed_factor
        wall0 = time.monotonic()
        total = (self.end_ns - self.start_ns) if self.end_ns is not None else 0
        n = 0
        while len(self.sched):
            nxt = self.sched.peek_ns()
            assert nxt is not None
            if self.end_ns is not None and nxt > self.end_ns:
                break
            if nxt > self.sched.now_ns and any("app" in k for k in self._pending.values()):
                self.quiesce()
                continue
            if factor is not None:
                self._pace(wall0, nxt, factor)
            item = self.sched.pop()
            try:
                item.action()
            except BacktestError:
                raise
            except Exception as exc:
                raise BacktestError(
                    f"{item.kind} at {item.at_ns} failed: {type(exc).__name__}: {exc}"
                ) from exc
            n += 1
            if n % 250 == 0:
                self._poll_engines()
                if self.progress is not None:
                    self.progress(self.sched.now_ns - self.start_ns, total)
        self.quiesce()
        if self.end_ns is not None:
            self.sched.now_ns = max(self.sched.now_ns, self.end_ns)
        self._sample_breakers({v: s for v, (s, _) in self._breakers.items()})
        if self.progress is not None:
            self.progress(total, total)

    def _pace(self, wall0: float, sim_ns: int, factor: float) -> None:
        target = wall0 + (sim_ns - self.start_ns) / 1e9 / factor
        while time.monotonic() < target:
            self._poll_engines()
            time.sleep(min(0.001, max(0.0, target - time.monotonic())))

    def run(self) -> dict:
        wall0 = time.monotonic()
        self.out_dir.mkdir(parents=True, exist_ok=True)
        try:
            self._prepare()
            self._start()
            self._schedule_all()
            self._loop()
        finally:
            self._shutdown()
        return build_result(self, time.monotonic() - wall0)

    def _shutdown(self) -> None:
        if self.gw is not None:
            self.gw.stop()
            self._poll_engines()
