"""Run the real gateway the way users do: ``fixgw run`` in a subprocess, on free loopback ports.

Tests write a configuration into a temporary folder, start the CLI, wait until it
says it is ready, and talk to it with :class:`gateway.tools.fixclient.FixClient`.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable

from gateway.tools.fixclient import FixClient, FixMessage, field

# The config writer and the process helpers live in the package: ``fixgw kill-soak`` uses them too.
from gateway.tools.testbed import (  # noqa: F401  (re-exported for the tests)
    A_SYMBOLS,
    B_SYMBOLS,
    HOST,
    PG_URL,
    Process,
    acceptor_port,
    connect,
    free_port,
    fresh_pg_schema,
    start_gateway,
    write_config,
)


def report_for(
    client: FixClient, cl_ord_id: str, check: Callable[[FixMessage], bool] | None = None, timeout: float = 5
) -> FixMessage:
    """The next ExecutionReport or OrderCancelReject for ``cl_ord_id`` (matching ``check`` if given)."""

    def match(m: FixMessage) -> bool:
        return field(m, 35) in ("8", "9") and field(m, 11) == cl_ord_id and (check is None or check(m))

    return client.wait_for(match, timeout)


def reports_for(
    client: FixClient,
    cl_ord_ids: set[str] | list[str],
    check: Callable[[FixMessage], bool] | None = None,
    timeout: float = 5,
) -> dict[str, FixMessage]:
    """One matching report per ClOrdID, in whatever order they arrive (wait_for drops the others)."""
    wanted, found = set(cl_ord_ids), {}

    def match(m: FixMessage) -> bool:
        cl = field(m, 11)
        return field(m, 35) in ("8", "9") and cl in wanted and cl not in found and (check is None or check(m))

    while len(found) < len(wanted):
        msg = client.wait_for(match, timeout)
        found[field(msg, 11)] = msg
    return found


def exec_type(*values: str) -> Callable[[FixMessage], bool]:
    return lambda m: field(m, 150) in values


def fields(msg: FixMessage, *tags: int) -> dict[int, str | None]:
    return {t: field(msg, t) for t in tags}


def fixgw(config, *args: str) -> subprocess.CompletedProcess:
    """Run one ``fixgw`` command against ``config`` as a user would; output captured."""
    return subprocess.run(
        [sys.executable, "-m", "gateway", *args, "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
    )


def fixgw_ok(config, *args: str) -> str:
    """Its stdout; the command must succeed."""
    done = fixgw(config, *args)
    assert done.returncode == 0, done.stderr
    return done.stdout
