"""The gateway under test: a ``fixgw run`` subprocess and a small client for its admin API."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from gateway.backtest.gwconf import TOKEN_ENV, GatewayLayout
from gateway.tools.testbed import HOST


class GatewayProcess:
    def __init__(self, layout: GatewayLayout, log_path: Path):
        self.layout = layout
        self.log_path = log_path
        self._log = open(log_path, "w", encoding="utf-8")  # noqa: SIM115 (closed in stop)
        env = {**os.environ, TOKEN_ENV: layout.token}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gateway", "run", "--config", str(layout.config)],
            stdout=subprocess.DEVNULL,
            stderr=self._log,
            env=env,
            start_new_session=True,
        )
        self._conn: http.client.HTTPConnection | None = None

    def alive(self) -> bool:
        return self.proc.poll() is None

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(
                self.log_path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:]
            )
        except OSError:
            return ""

    def get(self, path: str, timeout: float = 10.0) -> Any:
        """GET an admin route; raises OSError when the gateway does not answer."""
        for attempt in (1, 2):
            if self._conn is None:
                self._conn = http.client.HTTPConnection(HOST, self.layout.admin_port, timeout=timeout)
            try:
                self._conn.request(
                    "GET",
                    path,
                    headers={"Authorization": f"Bearer {self.layout.token}", "X-Fixgw-Actor": "backtest"},
                )
                resp = self._conn.getresponse()
                body = resp.read()
                if resp.getheader("Connection", "").lower() == "close":
                    self._conn.close()
                    self._conn = None
            except (OSError, http.client.HTTPException):
                if self._conn is not None:
                    self._conn.close()
                self._conn = None
                if attempt == 2:
                    raise
                continue
            if resp.status != 200:
                raise OSError(f"admin API {path}: HTTP {resp.status}: {body[:200]!r}")
            return json.loads(body)
        raise OSError("unreachable")

    def stop(self, timeout: float = 15.0) -> int | None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            rc = self.proc.wait(5)
        self._log.close()
        return rc
