"""Risk engine: building each client's checks from configuration (defaults, overrides, plugins),
errors that name the file and key, and evaluation order."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import pytest

from gateway.config import ConfigError, load_config
from gateway.orders.enums import OrdRejReason
from gateway.risk.api import Decision, OrderIntent, Reject, RiskView
from gateway.risk.checks import MaxOrderQty, PriceCollar, RestrictedList, Throttle
from gateway.risk.engine import RiskEngine
from tests.unit.test_risk_checks import FakeView, order, replace

REPO = Path(__file__).resolve().parents[2]


class MyCheck:
    """A user plugin, referenced from YAML as tests.unit.test_risk_engine.MyCheck."""

    name = "my_check"

    def __init__(self, *, banned_qty: int, note: str = "") -> None:
        if banned_qty <= 0:
            raise ValueError(f"banned_qty must be > 0, got {banned_qty}")
        self.banned_qty = Decimal(banned_qty)
        self.note = note

    def check(self, intent: OrderIntent, view: RiskView) -> Reject | None:
        if intent.qty == self.banned_qty:
            return Reject(self.name, OrdRejReason.OTHER, f"my_check: OrderQty {intent.qty} is banned")
        return None


class NotACheck:
    """Importable and constructible, but has no check() method."""

    name = "not_a_check"


class Exploding:
    name = "exploding"

    def __init__(self) -> None:
        raise RuntimeError("boom")

    def check(self, intent: OrderIntent, view: RiskView) -> Reject | None:
        return None


not_a_class = 42


@dataclass
class Spy:
    """A scripted check that records calls."""

    name: str
    answer: Reject | None = None
    calls: list[str] = field(default_factory=list)

    def check(self, intent: OrderIntent, view: RiskView) -> Reject | None:
        self.calls.append("check")
        return self.answer


@dataclass
class RecordingSpy(Spy):
    def record(self, intent: OrderIntent, view: RiskView) -> None:
        self.calls.append("record")


def reject(name: str) -> Reject:
    return Reject(name, OrdRejReason.OTHER, f"{name}: no")


# ----------------------------------------------------------------------------------- config tree

GATEWAY = """\
gateway:
  comp_id: FIXGW
  home: ..
  acceptor: {port: 9878}
instruments:
  - {symbol: AAPL, tick_size: "0.01", lot_size: 1, currency: USD, reference_price: "190.00"}
"""
RISK = """\
risk:
  checks:
    - {check: throttle, orders_per_s: 2}
    - {check: max_order_qty, max_qty: 1000}
    - {check: price_collar, max_pct: 10}
    - {check: tick_lot}
"""


def write(root: Path, rel: str, text: str) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))


@pytest.fixture
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """gateway.yaml with default checks, CLIENT1 and CLIENT2 without overrides; cwd = tmp_path."""
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "config/gateway.yaml", GATEWAY + RISK)
    write(tmp_path, "config/clients/CLIENT1.yaml", 'name: CLIENT1\nfix_version: "4.4"\n')
    write(tmp_path, "config/clients/CLIENT2.yaml", 'name: CLIENT2\nfix_version: "4.2"\n')
    return tmp_path


def client_risk(root: Path, risk: str, name: str = "CLIENT1") -> None:
    write(root, f"config/clients/{name}.yaml", f'name: {name}\nfix_version: "4.4"\n' + textwrap.dedent(risk))


def engine(root: Path) -> RiskEngine:
    return RiskEngine.from_config(load_config(root / "config/gateway.yaml"))


def build_error(root: Path) -> str:
    cfg = load_config(root / "config/gateway.yaml")  # the loader accepts the shape ...
    with pytest.raises(ConfigError) as info:
        RiskEngine.from_config(cfg)  # ... building the checks finds the mistake
    return str(info.value)


# ------------------------------------------------------------------------------------- building


def test_defaults_apply_to_every_client_in_order(tree: Path) -> None:
    eng = engine(tree)
    expected = ["throttle", "max_order_qty", "price_collar", "tick_lot"]
    assert eng.checks("CLIENT1") == expected and eng.checks("CLIENT2") == expected
    qty = eng.instances("CLIENT1")[1]
    assert isinstance(qty, MaxOrderQty) and qty.max_qty == Decimal(1000)


def test_each_session_has_its_own_check_instances(tree: Path) -> None:
    eng, view = engine(tree), FakeView()
    assert eng.instances("CLIENT1")[0] is not eng.instances("CLIENT2")[0]
    for _ in range(2):
        assert eng.evaluate(order(), view).passed
    assert eng.evaluate(order(), view).reject.check == "throttle"  # type: ignore[union-attr]
    assert eng.evaluate(order(client="CLIENT2"), view).passed  # CLIENT2's bucket is untouched


def test_client_override_merges_by_name(tree: Path) -> None:
    client_risk(
        tree,
        """\
        risk:
          checks:
            - {check: allowed_instruments, symbols: [AAPL]}
            - {check: price_collar, enabled: false}
            - {check: max_order_qty, max_qty: 5}
            - {check: tests.unit.test_risk_engine.MyCheck, banned_qty: 7}
        """,
    )
    eng = engine(tree)
    # replaced in place, removed, appended in file order
    assert eng.checks("CLIENT1") == [
        "throttle",
        "max_order_qty",
        "tick_lot",
        "allowed_instruments",
        "my_check",
    ]
    qty = eng.instances("CLIENT1")[1]
    assert isinstance(qty, MaxOrderQty) and qty.max_qty == 5
    assert eng.checks("CLIENT2") == ["throttle", "max_order_qty", "price_collar", "tick_lot"]
    view = FakeView()
    assert eng.evaluate(order(5), view).passed
    assert eng.evaluate(order(6), view).reject.check == "max_order_qty"  # type: ignore[union-attr]


def test_override_replaces_parameters_entirely(tree: Path) -> None:
    client_risk(tree, "risk:\n  checks:\n    - {check: price_collar, max_ticks: 3}\n")
    collar = engine(tree).instances("CLIENT1")[2]
    assert isinstance(collar, PriceCollar)
    assert (collar.max_ticks, collar.max_pct) == (Decimal(3), None)  # max_pct: 10 not inherited


def test_user_check_by_dotted_path(tree: Path) -> None:
    client_risk(
        tree,
        "risk:\n  checks:\n    - {check: tests.unit.test_risk_engine.MyCheck, banned_qty: 7, note: hi}\n",
    )
    eng, view = engine(tree), FakeView()
    plugin = eng.instances("CLIENT1")[-1]
    assert isinstance(plugin, MyCheck) and plugin.note == "hi"
    decision = eng.evaluate(order(7), view)
    assert decision.reject == Reject("my_check", OrdRejReason.OTHER, "my_check: OrderQty 7 is banned")
    assert decision.ran == ("throttle", "max_order_qty", "price_collar", "tick_lot", "my_check")


def test_no_risk_section_means_no_checks(tree: Path) -> None:
    write(tree, "config/gateway.yaml", GATEWAY)
    eng = engine(tree)
    assert eng.checks("CLIENT1") == []
    decision = eng.evaluate(order(10**9, "0.01"), FakeView())
    assert decision == Decision(ran=())
    assert eng.on_message("CLIENT1", FakeView()) is None


def test_global_restricted_symbols_apply_to_every_client(tree: Path) -> None:
    write(tree, "config/gateway.yaml", GATEWAY + RISK + "  restricted_symbols: [TSLA]\n")
    client_risk(tree, "risk:\n  checks:\n    - {check: restricted_list, symbols: [GME]}\n")
    client_risk(tree, "risk:\n  checks:\n    - {check: throttle, enabled: false}\n", name="CLIENT2")
    eng, view = engine(tree), FakeView()
    # CLIENT1: its own list gains the global one; CLIENT2 (no restricted_list): one is run first
    assert eng.checks("CLIENT1")[-1] == "restricted_list"
    assert eng.checks("CLIENT2") == ["restricted_list", "max_order_qty", "price_collar", "tick_lot"]
    for client, symbol in (("CLIENT1", "TSLA"), ("CLIENT1", "GME"), ("CLIENT2", "TSLA")):
        decision = eng.evaluate(order(symbol=symbol, client=client), view)
        assert decision.reject is not None and decision.reject.check == "restricted_list", (client, symbol)
    assert eng.evaluate(order(symbol="GME", client="CLIENT2"), view).passed


def test_shipped_config_builds_every_builtin(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    eng = RiskEngine.from_config(load_config(REPO / "config/gateway.yaml"))
    names = eng.checks("CLIENT1")
    assert {"market_orders", "max_order_qty", "tick_lot", "max_notional", "price_collar"} <= set(names)
    assert {"max_position", "credit_limit", "restricted_list", "max_open_orders", "throttle"} <= set(names)
    view = FakeView()
    assert eng.evaluate(order(100, "190.00"), view).passed
    assert eng.evaluate(order(100, "1.00"), view).reject.check == "price_collar"  # type: ignore[union-attr]


# --------------------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        (
            "{check: max_qtty, max_qty: 5}",
            "config/clients/CLIENT1.yaml: risk.checks[1]: unknown check 'max_qtty' "
            "(built-ins: market_orders, max_order_qty, tick_lot,",
        ),
        (
            "{check: max_order_qty, max_qty: 0}",
            "config/clients/CLIENT1.yaml: risk.checks[1].max_qty: must be > 0, got 0",
        ),
        (
            "{check: max_order_qty, max_qty: [1]}",
            "config/clients/CLIENT1.yaml: risk.checks[1].max_qty: expected a number, got [1]",
        ),
        (
            "{check: max_order_qty, max_qtty: 5}",
            "config/clients/CLIENT1.yaml: risk.checks[1]: unknown key 'max_qtty' for max_order_qty "
            "(expected one of: check, enabled, max_qty)",
        ),
        (
            "{check: max_order_qty}",
            "config/clients/CLIENT1.yaml: risk.checks[1].max_qty: required key is missing",
        ),
        (
            "{check: price_collar, market_without_reference: allow}",
            "config/clients/CLIENT1.yaml: risk.checks[1]: "
            "price_collar: set at least one of max_pct, max_ticks",
        ),
        (
            "{check: no_such_pkg.mod.Check}",
            "config/clients/CLIENT1.yaml: risk.checks[1]: cannot import 'no_such_pkg.mod' for check "
            "'no_such_pkg.mod.Check': ModuleNotFoundError",
        ),
        (
            "{check: tests.unit.test_risk_engine.Missing}",
            "config/clients/CLIENT1.yaml: risk.checks[1]: cannot import check "
            "'tests.unit.test_risk_engine.Missing': module 'tests.unit.test_risk_engine' has no 'Missing'",
        ),
        (
            "{check: tests.unit.test_risk_engine.not_a_class}",
            "config/clients/CLIENT1.yaml: risk.checks[1]: "
            "'tests.unit.test_risk_engine.not_a_class' is not a class",
        ),
        (
            "{check: tests.unit.test_risk_engine.NotACheck}",
            "config/clients/CLIENT1.yaml: risk.checks[1]: 'tests.unit.test_risk_engine.NotACheck' "
            "is not a risk check (it needs a name and a check(intent, view) method)",
        ),
        (
            "{check: tests.unit.test_risk_engine.MyCheck, banned_qty: -1}",
            "config/clients/CLIENT1.yaml: risk.checks[1]: banned_qty must be > 0, got -1",
        ),
        (
            "{check: tests.unit.test_risk_engine.Exploding}",
            "config/clients/CLIENT1.yaml: risk.checks[1]: tests.unit.test_risk_engine.Exploding failed to "
            "build: RuntimeError: boom",
        ),
    ],
)
def test_build_errors_name_file_and_key(tree: Path, entry: str, expected: str) -> None:
    client_risk(tree, f"risk:\n  checks:\n    - {{check: tick_lot}}\n    - {entry}\n")
    assert build_error(tree).startswith(expected)


def test_build_error_in_the_defaults_names_gateway_yaml(tree: Path) -> None:
    write(tree, "config/gateway.yaml", GATEWAY + RISK.replace("max_qty: 1000", "max_qty: abc"))
    assert build_error(tree) == "config/gateway.yaml: risk.checks[1].max_qty: expected a number, got 'abc'"


# ----------------------------------------------------------------------------------- evaluation


def test_evaluate_stops_at_the_first_reject_and_lists_what_ran() -> None:
    a, b, c = Spy("a"), Spy("b", answer=reject("b")), Spy("c")
    eng = RiskEngine({"CLIENT1": [a, b, c]})
    decision = eng.evaluate(order(), FakeView())
    assert decision == Decision(ran=("a", "b"), reject=reject("b"))
    assert not decision.passed
    assert (a.calls, b.calls, c.calls) == (["check"], ["check"], [])
    assert decision.describe() == "risk rejected by b: b: no (ran a, b)"


def test_evaluate_passes_after_running_every_check() -> None:
    eng = RiskEngine({"CLIENT1": [Spy("a"), Spy("b")]})
    first, second = eng.evaluate(order(), FakeView()), eng.evaluate(order(), FakeView())
    assert first == Decision(ran=("a", "b")) and first.passed
    assert first is second  # the passing decision is precomputed, not allocated per order


def test_client_without_checks_passes_and_unknown_client_is_rejected() -> None:
    eng = RiskEngine({"CLIENT1": []})
    assert eng.evaluate(order(), FakeView()) == Decision(ran=())
    decision = eng.evaluate(order(client="NOBODY"), FakeView())
    assert decision.reject is not None and decision.reject.reason is OrdRejReason.OTHER
    assert "no risk configuration for client session 'NOBODY'" in decision.reject.text
    assert eng.on_message("NOBODY", FakeView()) is not None
    assert eng.checks("NOBODY") == []


def test_record_reaches_only_checks_that_record() -> None:
    plain, recording = Spy("plain"), RecordingSpy("recording")
    eng = RiskEngine({"CLIENT1": [plain, recording]})
    eng.record(order(), FakeView())
    assert (plain.calls, recording.calls) == ([], ["record"])
    eng.record(order(client="NOBODY"), FakeView())  # nothing to record, no error


def test_record_feeds_duplicate_detection(tree: Path) -> None:
    client_risk(tree, "risk:\n  checks:\n    - {check: duplicate_order, window_s: 10}\n")
    eng, view = engine(tree), FakeView()
    intent = order()
    assert eng.evaluate(intent, view).passed
    assert eng.evaluate(intent, view).passed  # evaluated, not yet accepted
    eng.record(intent, view)
    view.now_ns = 1_000_000_000  # the throttle (2/s) has refilled
    decision = eng.evaluate(intent, view)
    assert decision.reject is not None and decision.reject.check == "duplicate_order"
    assert eng.evaluate(replace(100, 100), view).passed


def test_on_message_runs_message_throttles() -> None:
    eng, view = (
        RiskEngine({"CLIENT1": [Spy("a"), Throttle(messages_per_s=1)], "CLIENT2": [Spy("a")]}),
        FakeView(),
    )
    assert eng.on_message("CLIENT1", view) is None
    rejected = eng.on_message("CLIENT1", view)
    assert rejected is not None and rejected.check == "throttle"
    assert all(eng.on_message("CLIENT2", view) is None for _ in range(5))


def test_engine_accepts_check_objects_directly() -> None:
    eng = RiskEngine({"CLIENT1": [RestrictedList(symbols=["AAPL"])]})
    assert eng.checks("CLIENT1") == ["restricted_list"]
    assert not eng.evaluate(order(), FakeView()).passed
