"""``fixgw bench``: fixgw against a bare QuickFIX pass-through and the venue itself (issue #7).

``config`` writes the benchmark's configuration; ``targets`` starts the venue simulator
(through ``venue``) and the targets (direct, ``proxy`` = :mod:`gateway.bench.proxy` with FileStore
or MemoryStore, fixgw); ``wire`` is the raw-socket FIX client and ``load`` the load generators on
it (ping-pong, open-loop paced, burst); ``procstat`` reads CPU and memory from /proc; ``runner``
orchestrates the scenarios, ``soak`` the long steady run; ``report`` makes the table, the JSON and
the PNG. ``docs/performance.md`` describes the method.
"""
