"""Where events that break the contract go: never applied, never silently dropped.

A rejected message may carry personal data (a payload with names and identifiers), and dead
letters outlive the stores' encryption, so the message is sealed (AES-GCM with the events
key, the cipher the stores use) before it is kept; only what says where it came from and why
it was refused stays readable: consumer, reason, source, event type.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from eventsourcing.utils import Environment

from cp247 import metrics
from cp247.clock import iso, utcnow
from cp247.runtime.keyring import PREVIOUS, KeyringCipher

log = logging.getLogger("cp247.dead_letter")

# Metadata kept in clear only if it looks like a service or event name, never free text.
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_.-]{0,63}")


class DeadLetterSeal:
    """Seals a rejected message for keeping and opens it again for whoever replays it."""

    def __init__(self, key: str, previous: Iterable[str] = ()):
        self.cipher = KeyringCipher(
            Environment(env={"CIPHER_KEY": key, PREVIOUS: ",".join(previous)})
        )

    @classmethod
    def from_settings(cls, settings: Any) -> DeadLetterSeal:
        """With the deployment's events key (``cp247.config.Settings``)."""
        return cls(settings.event_store_key(), settings.previous_event_keys())

    def record(self, body: Any, reason: str, consumer: str) -> dict[str, Any]:
        """What is kept of a rejected message: the message sealed, its metadata in clear."""
        # The full reason goes inside too: a validation error may quote what it refused.
        sealed = {"body": body, "reason": reason}
        plain = json.dumps(sealed, default=str, sort_keys=True).encode("utf-8")
        envelope = body if isinstance(body, dict) else {}
        source, event = envelope.get("source"), envelope.get("event")
        return {
            "at": iso(utcnow()),
            "consumer": consumer,
            "reason": _clear(reason),
            "source": source if isinstance(source, str) and _NAME.fullmatch(source) else None,
            "event": event if isinstance(event, str) and _NAME.fullmatch(event) else None,
            "sealed": base64.b64encode(self.cipher.encrypt(plain)).decode("ascii"),
        }

    def open(self, record: dict[str, Any]) -> dict[str, Any]:
        """``record`` with the message unsealed as ``body`` (for inspection and replay)."""
        if "sealed" not in record:
            return dict(record)  # kept by a version before sealing
        opened = {k: v for k, v in record.items() if k != "sealed"}
        sealed = json.loads(self.cipher.decrypt(base64.b64decode(record["sealed"])))
        return {**opened, "body": sealed["body"], "reason": sealed["reason"]}


def _clear(reason: str) -> str:
    """The reason in clear, minus what a validation error quotes from the payload: marshmallow
    names the fields that failed; the first part (before the field details) is enough."""
    return str(reason).split(" {", 1)[0][:300]


class JsonlDeadLetters:
    """Embedded mode: one JSON line per rejected message in the data directory, sealed."""

    def __init__(self, path: Path, seal: DeadLetterSeal):
        self.path = path
        self.seal = seal
        self._lock = threading.Lock()

    def __call__(self, body: Any, reason: str, consumer: str) -> None:
        log.error("dead-lettered for %s: %s", consumer, _clear(reason))
        metrics.DEAD_LETTERS.labels(consumer).inc()
        record = self.seal.record(body, reason, consumer)
        with self._lock, self.path.open("a", encoding="utf-8") as out:
            out.write(json.dumps(record) + "\n")

    def read(self) -> list[dict[str, Any]]:
        """Every dead letter, unsealed (``body`` is the message as it was rejected)."""
        if not self.path.exists():
            return []
        lines = self.path.read_text().splitlines()
        return [self.seal.open(json.loads(line)) for line in lines if line]
