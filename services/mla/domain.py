"""The MLA follow-up of a preservation order: the paper's biggest operational failure is
preservation never followed by MLA, so the expectation is recorded the moment an order runs."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from cp247.clock import parse_iso
from cp247.errors import Conflict

FOLLOW_UP_NAMESPACE = uuid5(NAMESPACE_URL, "https://cp247.example/mla-follow-ups")
MLA_CASE_NAMESPACE = uuid5(NAMESPACE_URL, "https://cp247.example/mla-cases")
DECIDED = ("produced", "refused")


def follow_up_id_for(order_id: str) -> str:
    return str(uuid5(FOLLOW_UP_NAMESPACE, order_id))


class MlaFollowUp(Aggregate):
    """MLA expected for one preservation order, due before the order expires."""

    @staticmethod
    def create_id(follow_up_id: str, **_: Any) -> UUID:
        return UUID(follow_up_id)

    @event("MlaExpected")
    def __init__(
        self,
        follow_up_id: str,
        case_id: str,
        order_id: str,
        request_id: str | None,
        direction: str,
        due_by: str,
    ):
        self.follow_up_id = follow_up_id
        self.request_id = request_id
        self.case_id = case_id
        self.order_id = order_id
        self.direction = direction
        self.due_by = due_by
        self.status = "expected"
        self.mla: dict[str, str] = {}  # mla_id -> status
        self.reminded: list[int] = []  # offsets (days before expiry) already reminded
        self.overdue = False
        self.extension_suggested = False
        self.closed: str | None = None

    # --- what happened to the order and its MLA ---------------------------------------------
    @event("FollowUpDueMoved")
    def move_due(self, follow_up_id: str, case_id: str, order_id: str, due_by: str) -> None:
        self.due_by = due_by

    @event("FollowUpClosed")
    def close(self, follow_up_id: str, case_id: str, order_id: str, reason: str) -> None:
        self.closed = reason

    @event("FollowUpLinked")
    def link(self, follow_up_id: str, case_id: str, mla_id: str, mla_status: str) -> None:
        self.mla[mla_id] = mla_status
        self.status = mla_status

    @property
    def decided(self) -> bool:
        return any(status in ("produced", "refused") for status in self.mla.values())

    # --- clocks ------------------------------------------------------------------------------
    def clocks_due(self, now: datetime, offsets: tuple[int, ...]) -> list[tuple[str, Any]]:
        """What the clock says must happen now: reminders, overdue, an extension to suggest."""
        if self.closed is not None or self.decided:
            return []
        due = parse_iso(self.due_by)
        actions: list[tuple[str, Any]] = []
        if not self.mla:
            passed = [
                o for o in offsets if now >= due - timedelta(days=o) and o not in self.reminded
            ]
            if passed and now < due:
                actions.append(("remind", min(passed)))  # only the nearest: one message, not three
            if now >= due and not self.overdue:
                actions.append(("overdue", None))
        elif offsets and now >= due - timedelta(days=min(offsets)) and not self.extension_suggested:
            actions.append(("suggest_extension", None))
        return actions

    def remind(self, offset_days: int, offsets: tuple[int, ...], now: datetime) -> None:
        days_left = max(0, (parse_iso(self.due_by) - now).days)
        self._reminder_due(
            self.follow_up_id, self.case_id, self.order_id, self.request_id, self.direction,
            offset_days, days_left, self.due_by,
            [o for o in offsets if o >= offset_days and o not in self.reminded],
        )  # fmt: skip

    @event("MlaReminderDue")
    def _reminder_due(
        self,
        follow_up_id: str,
        case_id: str,
        order_id: str,
        request_id: str | None,
        direction: str,
        offset_days: int,
        days_left: int,
        due_by: str,
        covers: list[int],
    ) -> None:
        self.reminded.extend(covers)

    @event("FollowUpOverdue")
    def mark_overdue(
        self,
        follow_up_id: str,
        case_id: str,
        order_id: str,
        request_id: str | None,
        direction: str,
        due_by: str,
    ) -> None:
        self.overdue = True
        self.status = "overdue"

    @event("ExtensionSuggested")
    def suggest_extension(
        self, follow_up_id: str, case_id: str, order_id: str, due_by: str, mla_ids: list[str]
    ) -> None:
        self.extension_suggested = True


# What the mutual assistance is for (Arts 31, 33, 34), by the words the API uses.
MLA_KINDS = {
    "stored_data": "Art 31: accessing stored computer data",
    "realtime_traffic": "Art 33: real-time collection of traffic data",
    "interception": "Art 34: interception of content data",
}
KIND_OF_REQUEST = {"mla_stored_data": "stored_data", "mla_realtime_traffic": "realtime_traffic",
                   "mla_interception": "interception"}  # fmt: skip
# Arts 33 and 34 are executed under domestic law, which requires a judge's authorisation for
# collecting traffic in real time and for interception: it is recorded before execution.
NEEDS_AUTHORISATION = ("realtime_traffic", "interception")
MLA_TRANSITIONS = {
    "sent": {"received", "executing", "produced", "refused"},
    "received": {"executing", "produced", "refused"},
    "executing": {"produced", "refused"},
    "produced": set(),
    "refused": set(),
}


class MlaCase(Aggregate):
    """The MLA side of one case: its orders awaiting MLA and its MLA requests.

    An MLA request and an order of the same case can be recorded in either order, or at the
    same moment; both write here, so one of them sees the other and links them.
    """

    @staticmethod
    def create_id(case_id: str, **_: Any) -> UUID:
        return uuid5(MLA_CASE_NAMESPACE, case_id)

    @event("MlaCaseOpened")
    def __init__(self, case_id: str):
        self.case_id = case_id
        self.order_ids: list[str] = []
        self.mla_ids: list[str] = []

    @event("MlaCaseOrderNoted")
    def note_order(self, case_id: str, order_id: str) -> None:
        self.order_ids.append(order_id)

    @event("MlaCaseRequestNoted")
    def note_mla(self, case_id: str, mla_id: str) -> None:
        self.mla_ids.append(mla_id)


class MlaRequest(Aggregate):
    """A formal MLA request, incoming or outgoing, linked to the case's preservation orders,
    of a kind (Art 31, 33 or 34), with the judicial authorisation it was executed under."""

    # Records made before kinds, links and authorisations (issue 20): stored data, unlinked.
    kind: str = "stored_data"
    request_id: str | None = None
    authorisation: dict[str, str] | None = None
    production_ids: tuple[str, ...] = ()

    @staticmethod
    def create_id(mla_id: str, **_: Any) -> UUID:
        return UUID(mla_id)

    @event("MlaRecorded")
    def __init__(
        self,
        mla_id: str,
        case_id: str,
        direction: str,
        stage: str,
        authority: str,
        reference: str | None,
        date: str | None,
        order_ids: list[str],
        status: str,
        actor: dict[str, str],
        kind: str = "stored_data",
        request_id: str | None = None,
        authorisation: dict[str, str] | None = None,
    ):
        self.kind = kind
        self.request_id = request_id  # the request registered by intake, if there is one
        self.authorisation = authorisation
        self.production_ids = ()
        self.mla_id = mla_id
        self.case_id = case_id
        self.direction = direction
        self.stage = stage
        self.authority = authority
        self.reference = reference
        self.date = date
        self.order_ids = order_ids
        self.status = status
        self.history = [{"status": status, "by": actor}]

    def change_status(
        self,
        status: str,
        note: str,
        actor: dict[str, str],
        production_ids: tuple[str, ...] = (),
    ) -> bool:
        """Move along expected -> sent|received -> executing -> produced|refused; what was
        produced may name the providers' productions that answer it."""
        if status == self.status:
            return False
        if status not in MLA_TRANSITIONS.get(self.status, set()):
            raise Conflict(f"MLA {self.mla_id} is {self.status}; it cannot become {status}")
        # legal-rule: art33-34-judicial-authorisation
        executed = status in ("executing", "produced") and self.direction == "incoming"
        if executed and self.kind in NEEDS_AUTHORISATION and self.authorisation is None:
            raise Conflict(
                f"{MLA_KINDS[self.kind]}: record the judicial authorisation "
                f"(POST /api/v1/mla/{self.mla_id}/authorisation) before it is executed"
            )
        self._status_changed(
            self.mla_id, self.case_id, self.direction, status, note, self.order_ids, actor,
            list(production_ids),
        )  # fmt: skip
        return True

    def authorise(self, authorisation: dict[str, str], actor: dict[str, str]) -> bool:
        """The judicial authorisation it is executed under; the same again changes nothing."""
        if self.authorisation == authorisation:
            return False
        if self.status in DECIDED:
            raise Conflict(f"MLA {self.mla_id} is {self.status} already")
        self._authorised(self.mla_id, self.case_id, self.kind, authorisation, actor)
        return True

    @event("MlaAuthorised")
    def _authorised(
        self,
        mla_id: str,
        case_id: str,
        kind: str,
        authorisation: dict[str, str],
        actor: dict[str, str],
    ) -> None:
        self.authorisation = authorisation

    def link_request(self, request_id: str) -> bool:
        if self.request_id is not None:
            return False
        self._linked_to_request(self.mla_id, self.case_id, request_id)
        return True

    @event("MlaLinkedToRequest")
    def _linked_to_request(self, mla_id: str, case_id: str, request_id: str) -> None:
        self.request_id = request_id

    @property
    def undecided(self) -> bool:
        return self.status not in DECIDED

    @event("OrderLinkedToMla")
    def attach(
        self, mla_id: str, case_id: str, order_id: str, direction: str, mla_status: str
    ) -> None:
        """An order issued after this request arrived is covered by it as well."""
        self.order_ids = [*self.order_ids, order_id]

    @event("MlaStatusChanged")
    def _status_changed(
        self,
        mla_id: str,
        case_id: str,
        direction: str,
        status: str,
        note: str,
        order_ids: list[str],
        actor: dict[str, str],
        production_ids: list[str] | None = None,
    ) -> None:
        self.status = status
        self.history.append({"status": status, "note": note, "by": actor})
        self.production_ids = (*self.production_ids, *(production_ids or []))


OUTGOING_NAMESPACE = uuid5(NAMESPACE_URL, "https://cp247.example/outgoing-follow-ups")
PRESERVED = ("preserved", "partially_preserved")


def outgoing_id_for(request_id: str) -> str:
    return str(uuid5(OUTGOING_NAMESPACE, request_id))


class OutgoingFollowUp(Aggregate):
    """Our own request to a foreign CP: chase its receipt, then our MLA before the foreign
    preservation lapses (seed 3.2, 4.3: preservation abroad not followed by our MLA)."""

    @staticmethod
    def create_id(request_id: str, **_: Any) -> UUID:
        return UUID(outgoing_id_for(request_id))

    @event("OutgoingFollowUpStarted")
    def __init__(self, request_id: str, case_id: str, country: str, chase_at: str, cp: str):
        self.request_id = request_id
        self.case_id = case_id
        self.country = country
        self.chase_at = chase_at
        self.cp = cp  # which of our CPs sent it: its duty officer chases
        self.receipt_at: str | None = None
        self.chased = False
        self.mla_due: str | None = None  # the foreign preservation's expiry
        self.reminded: list[int] = []
        self.overdue = False
        self.closed: str | None = None

    @event("OutgoingReceiptNoted")
    def note_receipt(self, request_id: str, case_id: str, at: str) -> None:
        self.receipt_at = at

    @event("OurMlaClockStarted")
    def start_mla_clock(self, request_id: str, case_id: str, due_by: str) -> None:
        self.mla_due = due_by

    @event("OutgoingFollowUpClosed")
    def close(self, request_id: str, case_id: str, reason: str) -> None:
        self.closed = reason

    def clocks_due(self, now: datetime, offsets: tuple[int, ...]) -> list[tuple[str, Any]]:
        """A chase for a missing foreign receipt; reminders and overdue for our MLA."""
        if self.closed is not None:
            return []
        actions: list[tuple[str, Any]] = []
        if self.receipt_at is None and not self.chased and now >= parse_iso(self.chase_at):
            actions.append(("chase", None))
        if self.mla_due is not None:
            due = parse_iso(self.mla_due)
            passed = [
                o for o in offsets if now >= due - timedelta(days=o) and o not in self.reminded
            ]
            if passed and now < due:
                actions.append(("remind", min(passed)))
            if now >= due and not self.overdue:
                actions.append(("overdue", None))
        return actions

    @event("OutgoingReceiptChaseDue")
    def chase(self, request_id: str, case_id: str, country: str, chase_at: str, cp: str) -> None:
        self.chased = True

    @event("OurMlaReminderDue")
    def remind(
        self, request_id: str, case_id: str, country: str, offset_days: int, days_left: int,
        due_by: str, covers: list[int],
    ) -> None:  # fmt: skip
        self.reminded.extend(covers)

    @event("OurMlaOverdue")
    def mark_overdue(self, request_id: str, case_id: str, country: str, due_by: str) -> None:
        self.overdue = True
