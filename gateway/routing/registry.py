"""Build a configured routing strategy: a built-in by short name or a user class by dotted path.

``build_strategy("sweep", {"rest_at": "primary"})`` or
``build_strategy("mypkg.routing.MyStrategy", {...})``. Every failure raises
:class:`RoutingConfigError` (a ``ValueError``) whose message names the problem and, when one
parameter is at fault, whose ``param`` names it; the config layer adds the file and key.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Mapping
from typing import Any

from gateway.routing.api import RoutingStrategy
from gateway.routing.strategies import BestPrice, Direct, FillRate, ParameterError, Primary, Sweep

#: Built-in strategies by configured name.
BUILTIN_STRATEGIES: dict[str, type] = {cls.name: cls for cls in (Direct, Primary, BestPrice, Sweep, FillRate)}


class RoutingConfigError(ValueError):
    """A routing strategy that cannot be built; ``param`` is the parameter at fault, if one is."""

    def __init__(self, problem: str, param: str | None = None) -> None:
        super().__init__(problem)
        self.problem = problem
        self.param = param


def build_strategy(name: str, params: Mapping[str, Any] | None = None) -> RoutingStrategy:
    """Instantiate the strategy ``name`` with ``params`` (keyword arguments to its constructor)."""
    if not isinstance(name, str) or not name.strip():
        raise RoutingConfigError(f"expected a strategy name or a dotted path, got {name!r}")
    if params is None:
        params = {}
    if not isinstance(params, Mapping):
        raise RoutingConfigError(f"parameters for strategy {name} must be a mapping, got {params!r}")
    for key in params:
        if not isinstance(key, str):
            raise RoutingConfigError(f"parameter names must be strings, got {key!r}")
    cls = resolve(name)
    _check_params(cls, name, params)
    try:
        strategy = cls(**params)
    except ParameterError as exc:
        raise RoutingConfigError(f"strategy {name}: {exc}", exc.param) from None
    except (TypeError, ValueError) as exc:
        raise RoutingConfigError(f"strategy {name}: {exc}") from None
    except Exception as exc:  # a user strategy failing in its constructor
        raise RoutingConfigError(f"strategy {name} failed to build: {type(exc).__name__}: {exc}") from None
    label = getattr(strategy, "name", None)
    if (
        not isinstance(strategy, RoutingStrategy)
        or not callable(getattr(strategy, "route", None))
        or not isinstance(label, str)
        or not label
    ):
        raise RoutingConfigError(
            f"{name!r} is not a routing strategy "
            "(it needs a string name and a route(req, market, venues, now_ns) method)"
        )
    return strategy


def resolve(name: str) -> type:
    """The class for a built-in name or ``package.module.ClassName``."""
    if "." not in name:
        cls = BUILTIN_STRATEGIES.get(name)
        if cls is None:
            builtins = ", ".join(BUILTIN_STRATEGIES)
            raise RoutingConfigError(
                f"unknown routing strategy {name!r} (built-ins: {builtins}; or a dotted path "
                "package.module.ClassName)"
            )
        return cls
    module_name, _, attr = name.rpartition(".")
    if not module_name or not attr:
        raise RoutingConfigError(f"{name!r} is not a dotted path package.module.ClassName")
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:
        raise RoutingConfigError(
            f"cannot import {module_name!r} for strategy {name!r}: {type(exc).__name__}: {exc}"
        ) from None
    cls = getattr(module, attr, None)
    if cls is None:
        raise RoutingConfigError(f"cannot import strategy {name!r}: module {module_name!r} has no {attr!r}")
    if not isinstance(cls, type):
        raise RoutingConfigError(f"{name!r} is not a class")
    if not callable(getattr(cls, "route", None)):
        raise RoutingConfigError(
            f"{name!r} is not a routing strategy (it needs a string name and a "
            "route(req, market, venues, now_ns) method)"
        )
    return cls


def _check_params(cls: type, name: str, params: Mapping[str, Any]) -> None:
    """Unknown and missing parameters named before the constructor runs."""
    try:
        signature = inspect.signature(cls)
    except (TypeError, ValueError):  # no introspectable signature: let the constructor judge
        return
    values = list(signature.parameters.values())
    kinds = (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in values):
        accepted = [p.name for p in values if p.kind in kinds]
        for key in params:
            if key not in accepted:
                expected = ", ".join(accepted) if accepted else "none"
                raise RoutingConfigError(
                    f"unknown parameter {key!r} for strategy {name} (expected: {expected})", key
                )
    for p in values:
        if p.kind in kinds and p.default is inspect.Parameter.empty and p.name not in params:
            raise RoutingConfigError(f"strategy {name}: required parameter {p.name!r} is missing", p.name)
