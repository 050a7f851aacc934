"""The base of every cp247 service application.

Each service is an eventsourcing process application: it records its own events (its
notification log is the outbox), and it processes other services' contract events with a
tracking record written atomically with whatever it produces, so redelivery is a no-op.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import Any, ClassVar, NamedTuple, ParamSpec, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, ProcessingEvent
from eventsourcing.persistence import IntegrityError, Mapper, Tracking
from eventsourcing.system import ProcessApplication
from eventsourcing.utils import get_topic

from cp247 import metrics
from cp247.casekeys import Shredded, case_keys_from_env
from cp247.clock import iso
from cp247.errors import Conflict, NotFound
from cp247.runtime.case_partitions import CasePartitions
from cp247.runtime.eventsourcing_internals import (
    BATCH_START,
    commit_without_waiting_for_disk,
    record_batch_start_first,
)
from cp247.runtime.job_lock import JobLocks, postgres_datastore
from cp247.runtime.read_index import ReadIndex
from cp247.runtime.sealing import SealedArguments, SealingMapper, WireSeal
from events import Message, registry
from events.contract import position_only

log = logging.getLogger(__name__)

# Attributes of a stored domain event that travel in the envelope, not the payload.
_ENVELOPE_ATTRS = frozenset(
    {"originator_id", "originator_version", "timestamp", "originator_topic"}
)

Policy = Callable[[Message, ProcessingEvent], None]

RELAY_POSITION = "cp247.relay"

T = TypeVar("T")
A = TypeVar("A")
P = ParamSpec("P")

COMMAND_ATTEMPTS = 5

_INDEXES_LOCK = threading.Lock()  # makes each application's read indexes once


# The RPC surface of a service, declared on its application: a method marked ``@query`` or
# ``@command`` is what the gateway may call, in process (embedded) or over RPC (the nameko
# adapter makes one entrypoint per marked method; a command also wakes the outbox relay).
RPC_MARK = "cp247_rpc"


def query(method: Callable[P, T]) -> Callable[P, T]:
    """Expose a read of this application to the gateway."""
    setattr(method, RPC_MARK, "query")
    return method


def command(method: Callable[P, T]) -> Callable[P, T]:
    """Expose a command of this application (it records events) to the gateway."""
    setattr(method, RPC_MARK, "command")
    return method


SCHEDULE_MARK = "cp247_every"


class Schedule(NamedTuple):
    """When a periodic job runs: every ``seconds``; ``outward`` off the event path (it talks
    to the outside world, or is slow); ``prompt`` also as soon as the process applied events
    (what they asked for goes out at once, not at the next tick)."""

    seconds: float
    outward: bool = False
    prompt: bool = False


def every(
    seconds: float, *, outward: bool = False, prompt: bool = False
) -> Callable[[Callable[P, T]], Callable[P, T]]:
    """A periodic job of this application (it takes no arguments): run every ``seconds`` by
    each replica's timer in the distributed mode, and by the embedded runner's sweep (or, if
    ``outward``, by its thread that talks to the outside world: e-mail, webhooks); if
    ``prompt``, also right after events were applied."""

    def mark(method: Callable[P, T]) -> Callable[P, T]:
        setattr(method, SCHEDULE_MARK, Schedule(float(seconds), outward, prompt))
        return method

    return mark


def schedule_of(application_class: type) -> dict[str, Schedule]:
    """Method name -> its :class:`Schedule`, for every periodic job marked on the class."""
    found = {}
    for name in dir(application_class):
        mark = getattr(getattr(application_class, name, None), SCHEDULE_MARK, None)
        if mark is not None:
            found[name] = mark
    return found


def rpc_surface(application_class: type) -> dict[str, str]:
    """Method name -> ``"query"`` or ``"command"``, for every method marked on the class."""
    found = {}
    for name in dir(application_class):
        kind = getattr(getattr(application_class, name, None), RPC_MARK, None)
        if kind in ("query", "command"):
            found[name] = kind
    return found


def retry_on_conflict(command: Callable[P, T]) -> Callable[P, T]:
    """Run a command again, from a fresh load, if a concurrent writer got there first.

    Commands change aggregates that the application's own policies and sweeps also change
    (an order the provider reports on while an officer extends it). The event store refuses
    the second writer; the command is then simply decided again on the current state.
    """

    @wraps(command)
    def run(*args: P.args, **kwargs: P.kwargs) -> T:
        for _ in range(COMMAND_ATTEMPTS - 1):
            try:
                return command(*args, **kwargs)
            except IntegrityError:
                log.info("%s met a concurrent change; deciding again", command.__qualname__)
        try:
            return command(*args, **kwargs)
        except IntegrityError:
            raise Conflict("the record kept changing while this was decided; try again") from None

    return run


def load(repository: Any, aggregate_id: str, kind: type[T]) -> T | None:
    """The aggregate of that kind with that id, or None (bad id, unknown, other kind)."""
    try:
        aggregate = repository.get(UUID(str(aggregate_id)))
    except (ValueError, AggregateNotFoundError):
        return None
    return aggregate if isinstance(aggregate, kind) else None


def require(repository: Any, aggregate_id: str, kind: type[T], what: str) -> T:
    """Like :func:`load`, but an unknown id is the caller's 404: ``no <what> <id>``."""
    aggregate = load(repository, aggregate_id, kind)
    if aggregate is None:
        raise NotFound(f"no {what} {aggregate_id}")
    return aggregate


class ServiceApplication(ProcessApplication):
    """A service's event-sourced application.

    Subclasses set ``name``, ``upstreams`` (the services whose events they consume) and
    ``policies`` (contract event name -> method name), and define commands and queries
    that take and return plain data.
    """

    name: ClassVar[str] = "service"
    upstreams: ClassVar[tuple[str, ...]] = ()
    policies: ClassVar[dict[str, str]] = {}
    # Applications whose events are internal (identity, read models) do not publish.
    publishes: ClassVar[bool] = True
    # A read model, rebuildable from the producers' stores: its commits need not wait for the
    # disk (cp247/runtime/eventsourcing_internals.py).
    read_model: ClassVar[bool] = False
    # How long the outbox relay waits, once woken, for further commits to publish with the
    # first in one broker message: 0 where a consumer's next step waits on the event (the
    # order on its way to the provider), more where nobody does (ADR 014).
    relay_linger_seconds: ClassVar[float] = 0.0

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        if self.read_model:
            commit_without_waiting_for_disk(self.recorder)
        self._batch = threading.local()  # per thread (per greenthread under eventlet)
        vault = getattr(self.mapper, "vault", None)
        self.wire = WireSeal(vault) if vault is not None else None
        self.sealed_arguments = SealedArguments(vault) if vault is not None else None
        self.repository.get = self._get_in_batch(self.repository.get)
        record_batch_start_first(self.recorder)
        self._job_locks = JobLocks(self.name, postgres_datastore(self.recorder))
        self.case_partitions = CasePartitions()

    # --- outbox --------------------------------------------------------------------------
    def outbox(self, start: int, limit: int = 100) -> list[dict[str, Any]]:
        """Contract messages for notification ids ``start``.. (at most ``limit``)."""
        if not self.publishes:
            return []
        notifications = self.recorder.select_notifications(start=max(start, 1), limit=limit)
        return [self._to_message(n) for n in notifications]

    def wire_outbox(self, start: int, limit: int = 100) -> list[dict[str, Any]]:
        """The outbox as it crosses the broker (relay, catch-up RPC): personal fields sealed."""
        messages = self.outbox(start, limit)
        return messages if self.wire is None else [self.wire.seal(m) for m in messages]

    def decode(self, body: Any) -> Message:
        """A message from the outbox of an upstream, over the wire or not, as a consumer
        applies it: sealed fields opened, the contract checked (``ContractViolation``)."""
        return registry.decode(body if self.wire is None else self.wire.open(body))

    def outbox_head(self) -> int:
        return self.recorder.max_notification_id() or 0

    def _to_message(self, notification: Any) -> dict[str, Any]:
        # A private event crosses as its position only, known by its topic: never decoded.
        if registry.is_private(notification.topic.rpartition(".")[2]):
            return position_only(self.name, notification.id)
        return self._encode(self.mapper.to_domain_event(notification), notification.id)

    @staticmethod
    def _payload(domain_event: Any) -> dict[str, Any]:
        return {k: v for k, v in vars(domain_event).items() if k not in _ENVELOPE_ATTRS}

    def _encode(self, domain_event: Any, notification_id: int) -> dict[str, Any]:
        payload = self._payload(domain_event)
        return registry.encode(
            source=self.name,
            notification_id=notification_id,
            event=type(domain_event).__name__,
            originator_id=str(domain_event.originator_id),
            originator_version=domain_event.originator_version,
            recorded_at=iso(domain_event.timestamp),
            payload=payload,
        )

    def construct_mapper(self) -> Mapper:
        """Personal fields are sealed under their case's key when the deployment has a vault."""
        mapper = super().construct_mapper()
        vault = case_keys_from_env(self.env)
        if vault is None:
            return mapper
        return SealingMapper(
            vault=vault,
            transcoder=mapper.transcoder,
            compressor=mapper.compressor,
            cipher=mapper.cipher,
        )

    def shredded(self, case_id: str) -> Shredded | None:
        """When and why retention destroyed the case's key (None: it has not, or no vault)."""
        vault = getattr(self.mapper, "vault", None)
        return vault.shredded(case_id) if vault is not None else None

    @contextmanager
    def exclusive(self, job: str) -> Iterator[bool]:
        """Whether this replica runs ``job`` now: one at a time across replicas (and threads).

        For periodic jobs that act on the outside world (sending e-mail, pushing webhooks),
        where the event store's conflict check comes only after the act
        (:mod:`cp247.runtime.job_lock`).
        """
        with self._job_locks.hold(job) as mine:
            yield mine

    def close(self) -> None:
        self._job_locks.close()
        super().close()

    def relay_position(self) -> int:
        return self.recorder.max_tracking_id(RELAY_POSITION) or 0

    def record_relay_position(self, notification_id: int) -> None:
        """Remember what has been published; a lower or equal position is ignored."""
        try:
            self.recorder.insert_tracking(Tracking(RELAY_POSITION, notification_id))
        except IntegrityError:
            pass  # another replica's relay got there first

    # --- queries -------------------------------------------------------------------------
    def created(self, created_event: type, page: int = 500) -> Iterator[Any]:
        """Every aggregate whose creation event is ``created_event``, oldest first.

        A scan of the notification log by topic that loads every aggregate: fine for rare
        reads; a hot read path keeps a :class:`cp247.runtime.read_index.ReadIndex` instead.
        """
        for _, aggregate in self._created_from(created_event, 1, page):
            yield aggregate

    def still_open(self, aggregate_class: type[A], is_open: Callable[[A], bool]) -> Iterator[A]:
        """The aggregates of that class a periodic sweep must look at: those ``is_open`` accepts,
        oldest first.

        A read index (per process) remembers whether each aggregate was open when it last
        changed; a sweep reads only what was recorded since the previous one and loads just
        the open aggregates. A message pending for days must not make every sweep read every
        message recorded after it.
        """
        # One index per question asked: sweeps with other ideas of "open" keep their own.
        key = ("open", aggregate_class, getattr(is_open, "__code__", is_open))
        index = self._read_index(
            key, lambda: ReadIndex(self, aggregate_class, lambda a: (a.id, is_open(a)))
        )
        for aggregate_id, _ in index.select(lambda entry: entry[1]):
            aggregate = load(self.repository, str(aggregate_id), aggregate_class)
            if aggregate is not None and is_open(aggregate):  # it may have closed meanwhile
                yield aggregate

    def of_case(self, aggregate_class: type[A], case_id: str) -> list[A]:
        """The aggregates of that class (they have a ``case_id``) of one case, oldest first:
        an index look-up and a load each, never a scan of every case's."""
        index = self._read_index(
            ("case", aggregate_class),
            lambda: ReadIndex(
                self, aggregate_class, lambda a: (a.id, a.case_id), group=lambda e: e[1]
            ),
        )
        found = (load(self.repository, str(i), aggregate_class) for i, _ in index.in_group(case_id))
        return [aggregate for aggregate in found if aggregate is not None]

    def _read_index(self, key: Hashable, make: Callable[[], ReadIndex]) -> ReadIndex:
        indexes: dict[Hashable, ReadIndex] = self.__dict__.setdefault("_read_indexes", {})
        with _INDEXES_LOCK:
            if key not in indexes:
                indexes[key] = make()
            return indexes[key]

    def _created_from(
        self, created_event: type, start: int, page: int = 500
    ) -> Iterator[tuple[int, Any]]:
        topic = get_topic(created_event)
        while True:
            batch = self.recorder.select_notifications(start=start, limit=page, topics=[topic])
            for notification in batch:
                yield notification.id, self.repository.get(notification.originator_id)
            if len(batch) < page:
                return
            start = batch[-1].id + 1

    # --- inbox ---------------------------------------------------------------------------
    def position(self, upstream: str) -> int:
        """The last notification id of ``upstream`` that this application has processed."""
        return self.recorder.max_tracking_id(upstream) or 0

    def process(self, message: Message) -> bool:
        """Apply one upstream event atomically with its tracking record.

        Returns False when it had already been processed (a redelivery), which changes nothing.
        A conflict with a concurrent writer of the same aggregate is retried from a fresh load.
        """
        for _ in range(self.conflict_retries):
            processing: ProcessingEvent = ProcessingEvent(
                Tracking(application_name=message.source, notification_id=message.notification_id)
            )
            self.apply_policy(message, processing)
            try:
                self._record(processing)
            except IntegrityError:
                if self.position(message.source) >= message.notification_id:
                    return False
                continue
            self._take_snapshots(processing)
            return True
        raise RuntimeError(
            f"{self.name}: {message.source}#{message.notification_id} kept conflicting"
        )

    conflict_retries: ClassVar[int] = 20

    def process_batch(self, messages: list[Message]) -> list[bool]:
        """Apply consecutive events of one upstream in one transaction; returns, for each,
        whether it was applied now (False: it had been processed before).

        One commit instead of one per event (the store's commits bound the pipeline), and an
        aggregate that several of them change is loaded once. Should the batch meet anything
        (a concurrent writer, a replica that got to some of them first, a policy that fails),
        nothing of it is recorded and each event is processed on its own instead.
        """
        if len(messages) < 2:
            return [self.process(message) for message in messages]
        first = messages[0]
        for _ in range(self.batch_attempts):
            processing = self._batch_processing(messages)
            try:
                for message in messages:
                    self.apply_policy(message, processing)
                self._record(processing)
                failure: Exception | None = None
            except IntegrityError as exc:
                # A concurrent writer changed an aggregate: decide again. A replica that got
                # to the first event: let each event find out on its own what is left.
                failure = None if self.position(first.source) < first.notification_id else exc
                if failure is None:
                    metrics.BATCH_SETBACKS.labels(self.name, "retried").inc()
                    continue
            except Exception as exc:
                failure = exc
            finally:
                # Before anything else: later loads come from the store, not from this batch.
                self._batch.aggregates = None
            if failure is None:
                self._take_snapshots(processing)
                return [True] * len(messages)
            log.info("%s: a batch of %d goes one by one: %r", self.name, len(messages), failure)
            metrics.BATCH_SETBACKS.labels(self.name, "one_by_one").inc()
            break
        return [self.process(message) for message in messages]

    batch_attempts: ClassVar[int] = 3

    def _batch_processing(self, messages: list[Message]) -> ProcessingEvent:
        first, last = messages[0], messages[-1]
        processing: ProcessingEvent = ProcessingEvent(
            Tracking(application_name=last.source, notification_id=last.notification_id)
        )
        # Recorded in the same transaction before the batch's own: it fails, as a single
        # event's would, if another replica processed the first event meanwhile.
        processing.saved_kwargs[BATCH_START] = Tracking(first.source, first.notification_id)
        self._batch.aggregates = processing.aggregates
        return processing

    def _get_in_batch(self, get: Callable[..., Any]) -> Callable[..., Any]:
        """The repository's ``get``, but within a batch an aggregate a policy already changed
        is that same object, not a second copy from the store (whose events would clash)."""

        def get_in_batch(aggregate_id: Any, *args: Any, **kwargs: Any) -> Any:
            pending = getattr(self._batch, "aggregates", None)
            if pending and not args and kwargs.get("version") is None:
                aggregate = pending.get(aggregate_id)
                if aggregate is not None:
                    return aggregate
            return get(aggregate_id, *args, **kwargs)

        return get_in_batch

    def apply_policy(self, message: Message, processing: ProcessingEvent) -> None:
        """Collect on ``processing`` what this application does about ``message``."""
        method = self.policies.get(message.event)
        if method is not None:
            getattr(self, method)(message, processing)

    def _record(self, processing_event: ProcessingEvent) -> Any:
        # The outbox must never hold an event the contract refuses: check before recording.
        if self.publishes:
            for domain_event in processing_event.events:
                registry.check(self.name, type(domain_event).__name__, self._payload(domain_event))
        return super()._record(processing_event)
