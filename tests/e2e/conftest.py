from __future__ import annotations

import itertools

import pytest

from tests.e2e.harness import A_SYMBOLS, B_SYMBOLS, connect, start_gateway, write_config


@pytest.fixture(scope="session")
def gateway_config(tmp_path_factory):
    return write_config(tmp_path_factory.mktemp("gw"))


@pytest.fixture(scope="session")
def gateway(gateway_config):
    """One gateway with simulated SIM-A (FIX 4.4) and SIM-B (FIX 4.2) for the order-flow tests."""
    gw = start_gateway(gateway_config)
    yield gw
    assert gw.stop() == 0, "\n".join(gw.lines[-30:])


_a_symbols = itertools.cycle(A_SYMBOLS)
_b_symbols = itertools.cycle(B_SYMBOLS)


@pytest.fixture
def sym_a():
    """A symbol with an empty book at SIM-A, fresh for this test."""
    return next(_a_symbols)


@pytest.fixture
def sym_b():
    return next(_b_symbols)


@pytest.fixture
def client1(gateway, gateway_config):
    c = connect(gateway_config, "CLIENT1")
    yield c
    c.logout()


@pytest.fixture
def client2(gateway, gateway_config):
    c = connect(gateway_config, "CLIENT2")
    yield c
    c.logout()
