"""Where events that break the contract go: never applied, never silently dropped."""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path
from typing import Any

from cp247 import metrics
from cp247.clock import iso, utcnow

log = logging.getLogger("cp247.dead_letter")


class JsonlDeadLetters:
    """Embedded mode: one JSON line per rejected message in the data directory."""

    def __init__(self, path: Path):
        self.path = path
        self._lock = threading.Lock()

    def __call__(self, body: Any, reason: str, consumer: str) -> None:
        log.error("dead-lettered for %s: %s", consumer, reason)
        metrics.DEAD_LETTERS.labels(consumer).inc()
        record = {"at": iso(utcnow()), "consumer": consumer, "reason": reason, "body": body}
        with self._lock, self.path.open("a", encoding="utf-8") as out:
            out.write(json.dumps(record, default=str) + "\n")

    def read(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        return [json.loads(line) for line in self.path.read_text().splitlines() if line]
