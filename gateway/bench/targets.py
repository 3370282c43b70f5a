"""The processes of a benchmark: the venue simulator and the three kinds of target.

* ``direct``: no process; the load client logs on to the venue itself, as the gateway would
  (SenderCompID FIXGW on SIM-A's order session).
* ``proxy`` / ``proxy-memory``: :mod:`gateway.bench.proxy` (FileStore / MemoryStore).
* ``fixgw``: ``fixgw run --no-simulators``.

The venue simulator is ``fixgw venue-sim`` (:mod:`gateway.bench.venue`), one for the whole run.

Every target process is started fresh for each measurement, in a config folder of its own, and
killed (SIGKILL) afterwards: the venue then cancels whatever the target left resting
(``cancel_on_disconnect``), so each measurement starts from an empty book and empty stores.
Logs go to files in the folder, never through a pipe into the benchmark process (fixgw logs every
order at ``info``; reading that in the load client's process would slow the client down).
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from gateway.admin.token import admin_token
from gateway.bench.config import CLIENT, GATEWAY_COMP_ID, VENUE, Defaults, Ports, write_config
from gateway.bench.procstat import Usage
from gateway.bench.wire import FixWire
from gateway.config import load_config
from gateway.tools.testbed import HOST

TARGETS = ("direct", "proxy", "proxy-memory", "fixgw")
DESCRIPTIONS = {
    "direct": "load client logged on to the simulated venue itself",
    "proxy": "bare QuickFIX pass-through, FileStore + FileLog, fixgw's EngineLoop",
    "proxy-memory": "bare QuickFIX pass-through, MemoryStore + FileLog, fixgw's EngineLoop",
    "fixgw": "fixgw run: journal (SQLite), every built-in risk check, routing, market data",
}


class BenchError(Exception):
    """A process of the benchmark did not start or stopped answering."""


class Child:
    """A subprocess in its own process group, stderr (and stdout) to a log file."""

    def __init__(self, argv: list[str], log: Path, stdin_pipe: bool = False, stdout_pipe: bool = False):
        self.log = log
        self._log_file = open(log, "w")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE if stdin_pipe else subprocess.DEVNULL,
            stdout=subprocess.PIPE if stdout_pipe else self._log_file,
            stderr=self._log_file,
            text=True,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def wait_for_log(self, text: str, timeout_s: float = 30) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if text in self.log.read_text(errors="replace"):
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise BenchError(f"{text!r} not logged within {timeout_s}s; see {self.log}:\n{self.tail()}")

    def wait_for_line(self, text: str, timeout_s: float = 30) -> None:
        """Wait for a line on the child's stdout (a pipe)."""
        assert self.proc.stdout is not None
        deadline = time.monotonic() + timeout_s
        while (left := deadline - time.monotonic()) > 0:
            ready, _, _ = select.select([self.proc.stdout], [], [], left)
            if not ready:
                break
            line = self.proc.stdout.readline()
            if not line:
                break
            if text in line:
                return
        raise BenchError(f"{text!r} not printed within {timeout_s}s; see {self.log}:\n{self.tail()}")

    def tail(self, n: int = 15) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-n:])

    def stop(self, sig: int = signal.SIGKILL, timeout_s: float = 10) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, sig)
        try:
            self.proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(5)
        for f in (self.proc.stdin, self.proc.stdout):
            if f is not None:
                with contextlib.suppress(OSError):
                    f.close()
        self._log_file.close()


def _fixgw(*args: str) -> list[str]:
    return [sys.executable, "-m", "gateway", *args]


class Venue:
    """``fixgw venue-sim`` for both simulated venues, for the whole benchmark run (through
    :mod:`gateway.bench.venue`, which keeps its growing heap out of the garbage collector)."""

    def __init__(self, root: Path, ports: Ports, defaults: Defaults):
        self.ports = ports
        config = write_config(root / "venue", ports, defaults)
        argv = [sys.executable, "-m", "gateway.bench.venue", "--config", str(config)]
        self.child = Child(argv, root / "venue" / "venue-sim.log")
        try:
            self.child.wait_for_log("simulated venue SIM-B on port")
        except BenchError:
            self.child.stop()
            raise

    @property
    def pid(self) -> int:
        return self.child.pid

    def stop(self) -> None:
        self.child.stop(signal.SIGTERM)


class Target:
    """One start of one target: :meth:`start`, :meth:`connect`, measure, :meth:`stop`."""

    def __init__(self, kind: str, folder: Path, ports: Ports, defaults: Defaults):
        if kind not in TARGETS:
            raise ValueError(f"unknown target {kind!r} (targets: {', '.join(TARGETS)})")
        self.kind, self.folder, self.ports, self.defaults = kind, folder, ports, defaults
        self.child: Child | None = None
        self.config: Path | None = None
        self._token: str | None = None

    @property
    def pid(self) -> int | None:
        return self.child.pid if self.child else None

    def start(self) -> None:
        if self.kind == "direct":
            return
        self.config = write_config(self.folder, self.ports, self.defaults)
        if self.kind == "fixgw":
            self.child = Child(
                _fixgw("run", "--config", str(self.config), "--no-simulators"), self.folder / "fixgw.log"
            )
            self.child.wait_for_log("fixgw ready: all venue sessions logged on")
            self._token = admin_token(load_config(self.config).admin)
            return
        store = "memory" if self.kind == "proxy-memory" else "file"
        argv = [sys.executable, "-m", "gateway.bench.proxy", "--config", str(self.config), "--store", store]
        self.child = Child(argv, self.folder / "proxy.log", stdin_pipe=True, stdout_pipe=True)
        self.child.wait_for_line("READY")

    def connect(self) -> FixWire:
        """A logged-on load client: to the venue (direct) or to the target's client acceptor."""
        if self.kind == "direct":
            wire = FixWire.connect(HOST, self.ports.venues[VENUE], GATEWAY_COMP_ID, VENUE)
        else:
            wire = FixWire.connect(HOST, self.ports.acceptor, CLIENT, GATEWAY_COMP_ID)
        wire.logon()
        return wire

    def usage(self) -> Usage | None:
        return Usage.of(self.child.pid) if self.child else None

    # ------------------------------------------------------------------ fixgw's admin API

    def _admin(self, method: str, path: str) -> dict:
        req = urllib.request.Request(
            f"http://{HOST}:{self.ports.admin}{path}", method=method, data=b"{}" if method == "POST" else None
        )
        req.add_header("Authorization", f"Bearer {self._token}")
        if method == "POST":
            req.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(req, timeout=10) as resp:
            return json.loads(resp.read() or b"{}")

    def reset_internal(self) -> None:
        """Forget fixgw's internal latency samples so far (the warm-up)."""
        if self.kind == "fixgw":
            self._admin("POST", "/api/latency/reset")

    def internal(self) -> dict | None:
        """fixgw's own internal-time percentiles (µs) since the reset: client and venue."""
        return self._admin("GET", "/api/latency") if self.kind == "fixgw" else None

    def stop(self) -> None:
        if self.child is not None:
            self.child.stop(signal.SIGKILL)
            self.child = None
