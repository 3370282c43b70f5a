"""Block until a socket of this process is readable, without QuickFIX's help.

``poll()`` in the QuickFIX binding never blocks, and the binding does not expose
its sockets. Spinning on ``poll()`` gives the lowest latency but burns a core,
which on a small machine starves the very peers it talks to. Waiting in the
kernel on every socket the process owns (found in ``/proc/self/fd``) wakes the
loop the moment a message arrives and costs nothing while idle.

A readable socket that no engine of ours consumes (another thread's engine, a
database connection the server closed) would make the wait return at once,
forever; such sockets are muted for a while once a wake finds nothing to do.
"""

from __future__ import annotations

import os
import select
import time

_FD_DIR = "/proc/self/fd"
_MUTE_S = 0.05
_RESCAN_S = 0.5  # listing /proc/self/fd costs ~60 µs: not on every wait


class SocketWaiter:
    def __init__(self) -> None:
        self._names: frozenset[str] = frozenset()
        self._fds: list[int] = []
        self._poller = select.poll()
        self._muted_until = 0.0
        self._next_rescan = 0.0
        self._fruitless = 0
        self.available = os.path.isdir(_FD_DIR)

    def _rescan(self) -> None:
        names = frozenset(os.listdir(_FD_DIR))
        if names == self._names:
            return
        self._names = names
        fds = []
        for name in names:
            try:
                if os.readlink(f"{_FD_DIR}/{name}").startswith("socket:"):
                    fds.append(int(name))
            except OSError:
                continue  # closed since listdir
        self._poller = select.poll()
        for fd in fds:
            self._poller.register(fd, select.POLLIN | select.POLLPRI)
        self._fds = fds

    def wait(self, timeout_s: float, fruitless: bool) -> bool:
        """Wait until a socket is readable (True) or ``timeout_s`` passes (False).

        ``fruitless`` says the previous wait returned ready but polling the engines
        found nothing to do. Once, that is a new connection accepted (its socket is
        not watched yet): look again. Twice in a row, the readable socket is not ours
        to drain, so sleep in short steps for a while instead of spinning on it.
        """
        now = time.monotonic()
        self._fruitless = self._fruitless + 1 if fruitless else 0
        if self._fruitless >= 2:
            self._muted_until = now + _MUTE_S
            self._fruitless = 0
        if now < self._muted_until:
            time.sleep(min(timeout_s, 0.0002))
            return False
        if self._fruitless or now >= self._next_rescan:
            self._next_rescan = now + _RESCAN_S
            self._rescan()
        return bool(self._poller.poll(timeout_s * 1000))
