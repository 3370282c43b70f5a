"""The benchmark's venue: ``fixgw venue-sim`` with what it has accumulated kept out of the GC.

The simulator keeps every order it has ever seen (for status requests), so over a benchmark run
its heap grows by hundreds of thousands of objects, and each full garbage collection walks all of
them: 12 ms after 10,000 orders, 60 ms after 40,000, more later. Such a pause stalls whichever
target happens to be measured then, more and more as the run goes on. Here a thread calls
``gc.freeze()`` every second, moving every object alive at that moment out of the collector's
reach; young objects are collected as usual. The simulator itself is unchanged (the same CLI
command, the same config), and every target meets the same venue.

Run as ``python -m gateway.bench.venue --config DIR/gateway.yaml`` (the arguments of
``fixgw venue-sim``).
"""

from __future__ import annotations

import gc
import sys
import threading
import time

FREEZE_EVERY_S = 1.0


def _freezer() -> None:
    while True:
        time.sleep(FREEZE_EVERY_S)
        gc.freeze()


def main() -> None:
    threading.Thread(target=_freezer, daemon=True, name="gc-freeze").start()
    from gateway.cli.main import main as fixgw

    sys.argv = ["fixgw", "venue-sim", *sys.argv[1:]]
    fixgw()


if __name__ == "__main__":
    main()
