"""Block until a socket of this process is readable, without QuickFIX's help.

``poll()`` in the QuickFIX binding never blocks, and the binding does not expose
its sockets. Spinning on ``poll()`` gives the lowest latency but burns a core,
which on a small machine starves the very peers it talks to. Waiting in the
kernel on every socket the process owns (found in ``/proc/self/fd``) wakes the
loop the moment a message arrives and costs nothing while idle.

A readable socket that no engine of ours consumes (another thread's engine, a
database connection the server closed) would make the wait return at once,
forever; such sockets are muted for a while once a wake finds nothing to do.

The list of sockets is rebuilt from the links in ``/proc/self/fd``, not from the fd
numbers alone: a number that was a file at one scan can be a socket at the next (a
connection accepted right after a store file was closed and reopened), and a list
that missed it left that connection unwatched, its messages waiting for the next
timer (up to 100 ms) until some other fd changed. Sockets accepted while muted are
picked up by a rescan as soon as the mute ends.
"""

from __future__ import annotations

import os
import select
import time

_FD_DIR = "/proc/self/fd"
_MUTE_S = 0.05
_RESCAN_S = 0.5  # reading /proc/self/fd costs ~60-80 µs: not on every wait


class SocketWaiter:
    def __init__(self) -> None:
        self._fds: list[int] = []
        self._poller = select.poll()
        self._muted_until = 0.0
        self._next_rescan = 0.0
        self._fruitless = 0
        self.available = os.path.isdir(_FD_DIR)

    def _rescan(self) -> None:
        fds = []
        for name in os.listdir(_FD_DIR):
            try:
                if os.readlink(f"{_FD_DIR}/{name}").startswith("socket:"):
                    fds.append(int(name))
            except OSError:
                continue  # closed since listdir
        fds.sort()
        if fds == self._fds:
            return
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
            self._next_rescan = 0.0  # whatever was accepted meanwhile: look once the mute ends
            self._fruitless = 0
        if now < self._muted_until:
            time.sleep(min(timeout_s, 0.0002))
            return False
        if self._fruitless or now >= self._next_rescan:
            self._next_rescan = now + _RESCAN_S
            self._rescan()
        return bool(self._poller.poll(timeout_s * 1000))
