"""The pre-trade risk engine: each client session's checks, run in configured order.

Everything that can be decided ahead of time is: ``from_config`` builds and validates every check
(a mistake is a :class:`~gateway.config.model.ConfigError` naming the file and key, at startup, not
at the first order), and precomputes per client the tuples the hot path walks, including the
``ran`` prefix of each step and the passing :class:`Decision`, so evaluating an order allocates
nothing beyond a reject's Decision.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from gateway.config.model import CheckSpec, ConfigError, GatewayConfig, display_path
from gateway.orders.enums import OrdRejReason
from gateway.risk.api import Decision, OrderIntent, Reject, RiskCheck, RiskView
from gateway.risk.checks import BUILTIN_CHECKS, ParameterError, RestrictedList

_Step = tuple[Callable[[OrderIntent, RiskView], Reject | None], tuple[str, ...]]


class _ClientPlan:
    """One client's checks in the shapes the hot path wants."""

    __slots__ = ("checks", "message_hooks", "names", "passed", "recorders", "steps")

    def __init__(self, checks: Sequence[RiskCheck]) -> None:
        self.checks = tuple(checks)
        self.names = tuple(c.name for c in self.checks)
        # (bound check method, names that have run once it has) for each check, in order
        self.steps: tuple[_Step, ...] = tuple(
            (c.check, self.names[: i + 1]) for i, c in enumerate(self.checks)
        )
        self.passed = Decision(ran=self.names)
        self.recorders = tuple(r for c in self.checks if callable(r := getattr(c, "record", None)))
        self.message_hooks = tuple(h for c in self.checks if callable(h := getattr(c, "on_message", None)))


class RiskEngine:
    """Runs each client's checks; a client configured with no checks passes everything.

    An intent for a client the engine was not built for is rejected (fail closed): risk must never
    be skipped because a session name did not match.
    """

    def __init__(
        self,
        checks: Mapping[str, Sequence[RiskCheck]],
        specs: Mapping[str, Sequence[CheckSpec]] | None = None,
        restricted: Mapping[str, Iterable[str]] | None = None,
    ) -> None:
        self._plans = {client: _ClientPlan(client_checks) for client, client_checks in checks.items()}
        self._specs = {client: list(s) for client, s in (specs or {}).items()}
        self._restricted = {client: tuple(s) for client, s in (restricted or {}).items()}
        self._classes: dict[str, type] = {}

    @classmethod
    def from_config(cls, cfg: GatewayConfig) -> RiskEngine:
        """Build every client's checks (fresh instances per session: throttles and duplicate
        detection keep per-session state). Raises ConfigError naming the file and key."""
        classes: dict[str, type] = {}
        checks: dict[str, list[RiskCheck]] = {}
        for client in cfg.clients.values():
            built = [_build(spec, classes) for spec in client.risk.checks]
            checks[client.name] = _with_restricted(built, client.risk.restricted_symbols)
        specs = {c.name: c.risk.checks for c in cfg.clients.values()}
        return cls(checks, specs, {c.name: c.risk.restricted_symbols for c in cfg.clients.values()})

    # ------------------------------------------------------------------------------- live limits

    def limits(self, client: str) -> list[tuple[str, dict[str, Any]]]:
        """The client's configured checks and their parameters as they apply now."""
        return [(spec.name, dict(spec.params)) for spec in self._specs.get(client, [])]

    def set_param(self, client: str, check: str, param: str, value: Any) -> None:
        """Rebuild one check of one client with one parameter changed; the next order sees it.
        A stateful check (throttle, duplicate detection) starts afresh. Raises ConfigError (the
        config file and key of the check) for a bad value or parameter, KeyError for an unknown
        client or check."""
        specs = self._specs.get(client)
        if specs is None:
            raise KeyError(f"unknown client session {client!r}")
        index = next((i for i, s in enumerate(specs) if s.name == check), None)
        if index is None:
            names = ", ".join(s.name for s in specs) or "none"
            raise KeyError(f"client {client} has no {check!r} check (it has: {names})")
        spec = replace(specs[index], params={**specs[index].params, param: value})
        built = _build(spec, self._classes)
        checks = list(self._plans[client].checks)
        checks[[c.name for c in checks].index(built.name)] = built
        specs[index] = spec
        self._plans[client] = _ClientPlan(_with_restricted(checks, self._restricted.get(client, ())))

    # ---------------------------------------------------------------------------------- hot path

    def evaluate(self, intent: OrderIntent, view: RiskView) -> Decision:
        """Run the client's checks in order and stop at the first reject."""
        plan = self._plans.get(intent.client)
        if plan is None:
            return _unknown_client(intent.client)
        for check, ran in plan.steps:
            reject = check(intent, view)
            if reject is not None:
                return Decision(ran=ran, reject=reject)
        return plan.passed

    def record(self, intent: OrderIntent, view: RiskView) -> None:
        """Tell stateful checks that ``intent`` was accepted (call only after it passed)."""
        plan = self._plans.get(intent.client)
        if plan is not None:
            for record in plan.recorders:
                record(intent, view)

    def on_message(self, client: str, view: RiskView) -> Reject | None:
        """Message-rate checks for one client application message; None when it may proceed."""
        plan = self._plans.get(client)
        if plan is None:
            return _unknown_client(client).reject
        for hook in plan.message_hooks:
            reject = hook(view)
            if reject is not None:
                return reject
        return None

    # ------------------------------------------------------------------------------- inspection

    def checks(self, client: str) -> list[str]:
        """Names of the client's checks in evaluation order ([] for an unknown client)."""
        plan = self._plans.get(client)
        return list(plan.names) if plan is not None else []

    def instances(self, client: str) -> tuple[RiskCheck, ...]:
        """The client's check objects (for diagnostics and tests)."""
        plan = self._plans.get(client)
        return plan.checks if plan is not None else ()


def _unknown_client(client: str) -> Decision:
    text = f"risk_engine: no risk configuration for client session {client!r}"
    return Decision(ran=(), reject=Reject("risk_engine", OrdRejReason.OTHER, text))


def _with_restricted(checks: list[RiskCheck], symbols: Iterable[str]) -> list[RiskCheck]:
    """Enforce the gateway-wide restricted list for every client: merged into the client's own
    ``restricted_list`` check, or run first when the client has none."""
    symbols = tuple(symbols)
    if not symbols:
        return checks
    for index, check in enumerate(checks):
        if isinstance(check, RestrictedList):
            checks[index] = check.including(symbols)
            return checks
    return [RestrictedList(symbols=symbols), *checks]


# ------------------------------------------------------------------------------------- building


def _build(spec: CheckSpec, classes: dict[str, type]) -> RiskCheck:
    """Instantiate one configured check; every failure is a ConfigError at ``spec.key``."""
    file = display_path(spec.source)

    def fail(problem: str, key: str = spec.key) -> ConfigError:
        return ConfigError(file, problem, key)

    cls = classes.get(spec.name)
    if cls is None:
        cls = classes[spec.name] = _resolve(spec.name, fail)
    _check_params(cls, spec, fail)
    try:
        check = cls(**spec.params)
    except ParameterError as exc:
        raise fail(exc.problem, f"{spec.key}.{exc.param}") from None
    except (TypeError, ValueError) as exc:
        raise fail(str(exc)) from None
    except Exception as exc:  # a user check failing in its constructor
        raise fail(f"{spec.name} failed to build: {type(exc).__name__}: {exc}") from None
    name = getattr(check, "name", None)
    if not isinstance(check, RiskCheck) or not callable(check.check) or not isinstance(name, str) or not name:
        raise fail(f"{spec.name!r} is not a risk check (it needs a name and a check(intent, view) method)")
    return check


def _resolve(name: str, fail: Callable[[str], ConfigError]) -> type:
    """A built-in by name, or ``package.module.ClassName`` imported."""
    if "." not in name:
        if name in BUILTIN_CHECKS:
            return BUILTIN_CHECKS[name]
        builtins = ", ".join(BUILTIN_CHECKS)
        raise fail(f"unknown check {name!r} (built-ins: {builtins}; or a dotted path package.module.Class)")
    module_name, _, attr = name.rpartition(".")
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:
        raise fail(f"cannot import {module_name!r} for check {name!r}: {type(exc).__name__}: {exc}") from None
    cls = getattr(module, attr, None)
    if cls is None:
        raise fail(f"cannot import check {name!r}: module {module_name!r} has no {attr!r}")
    if not isinstance(cls, type):
        raise fail(f"{name!r} is not a class")
    return cls


def _check_params(cls: type, spec: CheckSpec, fail: Callable[..., ConfigError]) -> None:
    """Unknown and missing parameters reported as YAML keys, before the constructor runs."""
    try:
        signature = inspect.signature(cls)
    except (TypeError, ValueError):  # no introspectable signature: let the constructor judge
        return
    params = signature.parameters.values()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        accepted = None
    else:
        kinds = (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
        accepted = [p.name for p in params if p.kind in kinds]
    for key in spec.params:
        if accepted is not None and key not in accepted:
            expected = ", ".join(["check", "enabled", *accepted])
            raise fail(f"unknown key {key!r} for {spec.name} (expected one of: {expected})")
    for p in params:
        required = p.default is inspect.Parameter.empty and p.kind in (
            inspect.Parameter.KEYWORD_ONLY,
            inspect.Parameter.POSITIONAL_OR_KEYWORD,
        )
        if required and p.name not in spec.params:
            raise fail("required key is missing", f"{spec.key}.{p.name}")
