"""An in-process index of the aggregates of one kind, kept current from the notification log.

A read path that must list aggregates (the case list, an ISP's inbox) asks the index instead
of loading every aggregate on every call. The index remembers the last notification it read;
each query first reads only the notifications after it (by the aggregate class's event topics)
and refreshes the entries of the aggregates they touch. The first query builds the index by
folding the logged events straight into aggregates, without a repository read per aggregate.

Each process (replica) keeps its own index over the shared store's log, so every replica sees
what any of them recorded. An entry is whatever the owner's ``entry`` function keeps of an
aggregate: keep it free of personal data (retention erases those by destroying a case's key;
an index holding them would outlive the key), and load the aggregates for anything more.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Iterable, Iterator
from typing import Any, Generic, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import CanInitAggregate, CanSnapshotAggregate, DomainEvent
from eventsourcing.utils import get_topic

E = TypeVar("E")

PAGE = 2000  # notifications per read: few round trips on a first build, small on a catch-up


def event_topics(aggregate_class: type) -> list[str]:
    """The topics of every event class of ``aggregate_class`` (snapshots are not logged)."""
    topics = set()
    for klass in aggregate_class.__mro__:
        if klass.__module__.startswith("eventsourcing."):
            continue  # the library's base classes: their events are never recorded as such
        for value in vars(klass).values():
            if (
                isinstance(value, type)
                and issubclass(value, DomainEvent)
                and not issubclass(value, CanSnapshotAggregate)
            ):
                topics.add(get_topic(value))
    return sorted(topics)


class ReadIndex(Generic[E]):
    """Entries for the aggregates of one class, in the order they were created.

    ``entry`` turns an aggregate into what the index keeps of it; entries are shared, so
    callers must copy before changing one.
    """

    def __init__(
        self,
        application: Any,
        aggregate_class: type,
        entry: Callable[[Any], E],
        page: int = PAGE,
        group: Callable[[E], Hashable] | None = None,
    ) -> None:
        self.application = application
        self.aggregate_class = aggregate_class
        self.entry = entry
        self.page = page
        self.group = group
        self.topics = event_topics(aggregate_class)
        self.position = 0  # the last notification id read
        # Insertion order is creation order: a changed entry is replaced in place.
        self._entries: dict[UUID, E] = {}
        # group value -> ids of its aggregates, in creation order (a group never changes).
        self._groups: dict[Hashable, dict[UUID, None]] = {}
        # One catch-up at a time (server threads, nameko greenthreads): never a torn index.
        self._lock = threading.Lock()

    def __len__(self) -> int:
        with self._lock:
            self._catch_up()
            return len(self._entries)

    def select(
        self,
        keep: Callable[[E], bool] | None = None,
        limit: int | None = None,
        newest_first: bool = False,
    ) -> list[E]:
        """The entries ``keep`` accepts (all by default), at most ``limit`` of them."""
        with self._lock:
            self._catch_up()
            ordered: Iterable[E] = self._entries.values()
            if newest_first:
                ordered = reversed(self._entries.values())
            chosen: list[E] = []
            if limit is not None and limit < 1:
                return chosen
            for candidate in ordered:
                if keep is None or keep(candidate):
                    chosen.append(candidate)
                    if limit is not None and len(chosen) >= limit:
                        break
            return chosen

    def entries_of(self, aggregate_ids: Iterable[Hashable]) -> list[E]:
        """The entries of these aggregates (those it has), in the order asked."""
        with self._lock:
            self._catch_up()
            found = (self._entries.get(UUID(str(i))) for i in aggregate_ids)
            return [entry for entry in found if entry is not None]

    def in_group(self, value: Hashable) -> list[E]:
        """The entries whose ``group`` is ``value`` (a case's orders, say), oldest first."""
        if self.group is None:
            raise TypeError("this index was made without a group")
        with self._lock:
            self._catch_up()
            return [self._entries[i] for i in self._groups.get(value, ())]

    def _keep(self, aggregate_id: UUID, aggregate: Any) -> None:
        entry = self._entries[aggregate_id] = self.entry(aggregate)
        if self.group is not None:
            self._groups.setdefault(self.group(entry), {})[aggregate_id] = None

    # --- keeping current -----------------------------------------------------------------
    def _catch_up(self) -> None:
        """Read the notifications recorded since the last query; refresh what they touch."""
        recorder = self.application.recorder
        head = recorder.max_notification_id() or 0
        if head <= self.position:
            return
        # Aggregates created in this round are folded here from their events; any other
        # aggregate touched is loaded once, at the end, from the repository (snapshots help).
        folded: dict[UUID, Any] = {}
        changed: set[UUID] = set()
        mapper = self.application.mapper
        for notification in self._notifications(self.position + 1, head):
            aggregate_id = notification.originator_id
            if aggregate_id in changed:
                continue  # the reload at the end gets this change too
            aggregate = folded.get(aggregate_id)
            if aggregate is not None:
                folded[aggregate_id] = mapper.to_domain_event(notification).mutate(aggregate)
                continue
            if aggregate_id in self._entries:
                changed.add(aggregate_id)
                continue
            domain_event = mapper.to_domain_event(notification)
            if isinstance(domain_event, CanInitAggregate):
                folded[aggregate_id] = domain_event.mutate(None)
            else:  # created before this index began (cannot happen from position 0)
                changed.add(aggregate_id)
        for aggregate_id, aggregate in folded.items():
            self._keep(aggregate_id, aggregate)
        for aggregate_id in changed:
            try:
                aggregate = self.application.repository.get(aggregate_id)
            except AggregateNotFoundError:
                continue
            self._keep(aggregate_id, aggregate)
        # Everything up to ``head`` is committed (notification ids are committed in order),
        # so later rounds skip it even when none of it was ours.
        self.position = head

    def _notifications(self, start: int, stop: int) -> Iterator[Any]:
        recorder = self.application.recorder
        while start <= stop:
            batch = recorder.select_notifications(
                start=start, limit=self.page, stop=stop, topics=self.topics
            )
            yield from batch
            if len(batch) < self.page:
                return
            start = batch[-1].id + 1
