"""Logging set-up for the gateway's processes: human-readable lines, or JSON lines.

Order events are logged with ``extra={"client", "cl_ord_id", "order_id", "venue"}``; the
JSON form carries them as fields, the text form has them in the message, so one order can
be followed with grep either way.
"""

from __future__ import annotations

import json
import logging
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


def setup_logging(level: str, fmt: str = "text") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(getattr(logging, level.upper(), logging.INFO))
