"""In-order, exactly-once application of one upstream's events to one application.

Messages may arrive late, twice, or not at all (pushed over RabbitMQ, or read in-process).
The inbox compares each one with the tracking position: older ones are dropped, a gap is
filled by pulling the missing range from the producer's outbox, and an event that breaks the
contract is dead-lettered, never half-applied.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, Protocol

from cp247 import metrics
from cp247.runtime.application import ServiceApplication
from events import ContractViolation, Message

log = logging.getLogger(__name__)

OutboxReader = Callable[[int, int], list[dict[str, Any]]]

# A broker message carries a run of consecutive outbox events: {"batch": [message, ...]}.
# A lone message (from a relay before batching, or a test) is still one of its own.
BATCH = "batch"


def batch_of(messages: list[dict[str, Any]]) -> dict[str, Any]:
    return {BATCH: messages}


def unbatched(body: Any) -> list[Any]:
    """The messages a broker message carries (anything malformed is one, to dead-letter)."""
    if isinstance(body, dict) and set(body) == {BATCH} and isinstance(body[BATCH], list):
        return body[BATCH]
    return [body]


class DeadLetters(Protocol):
    def __call__(self, body: Any, reason: str, consumer: str) -> None: ...


class Inbox:
    batch = 200

    def __init__(
        self,
        app: ServiceApplication,
        upstream: str,
        read_outbox: OutboxReader,
        dead_letter: DeadLetters,
    ):
        self.app = app
        self.upstream = upstream
        self.read_outbox = read_outbox
        self.dead_letter = dead_letter
        self._offered = {}
        self._offered_lock = threading.Lock()

    def receive(self, body: Any) -> None:
        """Handle one pushed broker message (it may be a duplicate or arrive after a gap).

        A pushed message is a fast path only: the producer's outbox is the authority. So a
        pushed message that breaks the contract is dead-lettered and the position stays where
        it is; the real event at that position is pulled from the producer.
        """
        for message in self.admit_all(body):
            self.offer(message)
        self.deliver_offered()

    def admit_all(self, body: Any) -> list[Message]:
        """The admitted events of one broker message (a batch, or a lone message)."""
        admitted = (self.admit(item) for item in unbatched(body))
        return [message for message in admitted if message is not None]

    def admit(self, body: Any) -> Message | None:
        """The pushed message if it keeps the contract and comes from this upstream; else it
        is dead-lettered (needs no lock: nothing is applied)."""
        message = self._decode(body)
        if message is not None and message.source != self.upstream:
            self.dead_letter(body, f"expected {self.upstream} events", self.app.name)
            return None
        return message

    def catch_up(self, stop: int | None = None) -> int:
        """Pull and apply everything after the tracking position (up to ``stop``), each page
        read from the producer in one transaction.

        An event from the producer's own outbox that this consumer cannot read (a newer
        contract version, say) stops this upstream here, loudly, until the consumer is
        upgraded: stepping over it would lose it.
        """
        applied = 0
        while True:
            position = self.app.position(self.upstream)
            metrics.INBOX_POSITION.labels(self.app.name, self.upstream).set(position)
            if stop is not None and position >= stop:
                return applied
            limit = self.batch if stop is None else min(self.batch, stop - position)
            bodies = self.read_outbox(position + 1, limit)
            if not bodies:
                return applied
            messages: list[Message] = []
            for body in bodies:
                message = self._decode(body, report=position + 1 != self._stuck_at)
                if message is None:
                    self._stuck_at = position + 1
                    break
                messages.append(message)
                position = message.notification_id
            applied += self._apply_all(messages)
            if len(messages) < len(bodies):
                return applied

    # --- pushed messages, applied in batches -------------------------------------------------
    def offer(self, message: Message) -> None:
        """Keep an admitted pushed message for :meth:`deliver_offered` (whoever runs it next).

        Only a fast path: what is lost here (the buffer is bounded, the process may die) is
        pulled from the producer's outbox by the catch-up.
        """
        with self._offered_lock:
            if message.notification_id in self._offered:  # the same event pushed twice
                metrics.EVENTS_DUPLICATE.labels(self.app.name, self.upstream).inc()
            elif len(self._offered) < self.offered_limit:
                self._offered[message.notification_id] = message

    def deliver_offered(self) -> int:
        """Apply the offered messages that continue the tracking position, as one batch (a
        gap before them is pulled from the producer first); returns how many were applied."""
        position = self.app.position(self.upstream)
        with self._offered_lock:
            for seen in [n for n in self._offered if n <= position]:
                del self._offered[seen]
                metrics.EVENTS_DUPLICATE.labels(self.app.name, self.upstream).inc()
            waiting = sorted(self._offered)
        if not waiting:
            return 0
        applied = 0
        if waiting[0] > position + 1:
            metrics.EVENTS_GAP.labels(self.app.name, self.upstream).inc()
            applied += self.catch_up(stop=waiting[0] - 1)
            position = self.app.position(self.upstream)
            if position < waiting[0] - 1:
                log.warning("%s: gap before %s#%s not filled", self.app.name, self.upstream,
                            waiting[0])  # fmt: skip
                return applied
        run: list[Message] = []
        with self._offered_lock:
            for notification_id in waiting:
                message = self._offered.pop(notification_id, None)
                if message is None or notification_id <= position:
                    continue
                if notification_id != position + 1 + len(run):
                    self._offered[notification_id] = message  # after a gap: the next round
                    continue
                run.append(message)
        return applied + self._apply_all(run)

    offered_limit = 2000
    _offered: dict[int, Message]
    _offered_lock: threading.Lock

    def _apply_all(self, messages: list[Message]) -> int:
        """Apply consecutive messages, at most ``batch`` to a transaction."""
        applied = 0
        for start in range(0, len(messages), self.batch):
            chunk = messages[start : start + self.batch]
            cases = {
                m.payload["case_id"] for m in chunk if isinstance(m.payload.get("case_id"), str)
            }
            with (
                self.app.case_partitions.held(cases),
                metrics.HANDLER_SECONDS.labels(self.app.name, self.upstream).time(),
            ):
                outcomes = self.app.process_batch(chunk)
            for message, applied_now in zip(chunk, outcomes, strict=True):
                if applied_now:
                    applied += 1
                    metrics.EVENTS_PROCESSED.labels(self.app.name, message.event).inc()
                else:
                    metrics.EVENTS_DUPLICATE.labels(self.app.name, self.upstream).inc()
            # Applied now or by another replica before: either way the position is at least this.
            metrics.INBOX_POSITION.labels(self.app.name, self.upstream).set(
                chunk[-1].notification_id
            )
        return applied

    _stuck_at: int | None = None

    def _decode(self, body: Any, report: bool = True) -> Message | None:
        try:
            return self.app.decode(body)
        except ContractViolation as exc:
            if report:
                self.dead_letter(body, f"{exc} {exc.errors or ''}".strip(), self.app.name)
            return None
