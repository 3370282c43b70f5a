"""What a process costs, from ``/proc``: CPU seconds, resident and peak memory, machine load.

CPU is utime + stime of every thread (``/proc/<pid>/stat``, clock ticks, usually 10 ms), so
figures per 1,000 orders are only meaningful over a few hundred ticks. Memory is ``VmRSS``
(now) and ``VmHWM`` (the peak since the process started) from ``/proc/<pid>/status``.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of every thread of ``pid`` so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def _status_kb(pid: int, key: str) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key):
                return int(line.split()[1])
    raise KeyError(f"{key} not in /proc/{pid}/status")


def rss_mb(pid: int) -> float:
    """Resident set size now, MB."""
    return _status_kb(pid, "VmRSS:") / 1024


def peak_rss_mb(pid: int) -> float:
    """Peak resident set size since the process started (VmHWM), MB."""
    return _status_kb(pid, "VmHWM:") / 1024


@dataclass(frozen=True)
class Usage:
    """One process at one moment."""

    cpu_s: float
    rss_mb: float
    peak_rss_mb: float

    @classmethod
    def of(cls, pid: int) -> Usage:
        return cls(cpu_seconds(pid), rss_mb(pid), peak_rss_mb(pid))


def machine_busy_s() -> float:
    """Busy CPU seconds of the whole machine (every CPU; user, nice, system, steal) from /proc/stat."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return (v[0] + v[1] + v[2] + v[7]) / CLK_TCK


class Window:
    """CPU used by a set of our processes, and by everything else, over a stretch of wall time.

    ``other_pct`` is the CPU the rest of the machine used meanwhile, in % of one CPU: on a shared
    machine it marks measurements another workload disturbed.
    """

    def __init__(self, pids: dict[str, int | None]):
        self.pids = {k: p for k, p in pids.items() if p}
        self.cpu0 = {k: cpu_seconds(p) for k, p in self.pids.items()}
        self.busy0 = machine_busy_s()
        self.t0 = time.monotonic()

    def close(self) -> tuple[float, dict[str, float], float]:
        """(wall seconds, CPU seconds per named process, other_pct)."""
        cpu = {k: cpu_seconds(p) - self.cpu0[k] for k, p in self.pids.items()}
        wall = max(time.monotonic() - self.t0, 1e-9)
        other = (machine_busy_s() - self.busy0) - sum(cpu.values())
        return wall, cpu, max(0.0, 100 * other / wall)


def wait_quiet(pids: dict[str, int | None], limit_s: float, busy_pct: float = 15.0) -> float:
    """Wait at most ``limit_s`` until processes other than ``pids`` use less than ``busy_pct`` of a
    CPU (sampled over 0.3 s); returns the last sample."""
    deadline = time.monotonic() + limit_s
    other = 0.0
    while True:
        w = Window(pids)
        time.sleep(0.3)
        other = w.close()[2]
        if other < busy_pct or time.monotonic() >= deadline:
            return other
