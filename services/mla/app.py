"""The MLA application: follow-ups linked to preservation orders."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import uuid4

from eventsourcing.application import ProcessingEvent
from eventsourcing.persistence import IntegrityError

from cp247.clock import iso, parse_iso, utcnow
from cp247.errors import Invalid
from cp247.runtime.application import (
    ServiceApplication,
    command,
    every,
    load,
    query,
    require,
    retry_on_conflict,
)
from events import Message
from services.mla.domain import (
    PRESERVED,
    MlaCase,
    MlaFollowUp,
    MlaRequest,
    OutgoingFollowUp,
    follow_up_id_for,
    outgoing_id_for,
)
from services.preservation.national_law import national_policy

STAGES = ("pre_trial", "trial")
DIRECTIONS = ("incoming", "outgoing")
STATUSES = ("received", "executing", "produced", "refused", "sent")


class MlaApplication(ServiceApplication):
    name = "mla"
    upstreams = ("preservation", "intake")
    # its clocks run in days: a follow-up noted and linked go out in one broker message
    relay_linger_seconds = 0.2
    policies = {
        "OrderIssued": "on_order_issued",
        "OrderCoversRequest": "on_order_covers",
        "OrderRequestDropped": "on_request_dropped",
        "OrderExtended": "on_order_moved",
        "OrderReleased": "on_order_closed",
        "OrderExpired": "on_order_closed",
        "OrderOutcomeRecorded": "on_order_closed",
        "OutgoingRequestSent": "on_outgoing_sent",
        "ForeignReceiptRecorded": "on_outgoing_receipt",
        "ForeignAnswerRecorded": "on_outgoing_answer",
        "RequestWithdrawn": "on_outgoing_ended",
        "RequestClosed": "on_outgoing_ended",
    }

    def __init__(self, env: dict[str, str] | None = None):
        super().__init__(env)
        self.national_policy = national_policy(
            self.env.get("CP247_POLICY") or "police-needs-approval"
        )

    # --- commands --------------------------------------------------------------------------
    @command
    @retry_on_conflict
    def record_mla(self, case_id: str, body: dict[str, Any], actor: dict[str, str]) -> dict:
        """Record an MLA request and link it to every preservation order of the case."""
        errors: dict[str, list[str]] = {}
        direction, stage = body.get("direction"), body.get("stage")
        stage = "pre_trial" if stage is None else stage  # left out; anything else must be one
        if direction not in DIRECTIONS:
            errors["direction"] = ["incoming or outgoing"]
        if stage not in STAGES:
            errors["stage"] = ["pre_trial or trial"]
        for key in ("authority", "reference", "date"):
            value = body.get(key)
            if value is not None and (not isinstance(value, str) or len(value) > 500):
                errors[key] = ["text of at most 500 characters"]
        if errors:
            raise Invalid("the MLA request is not valid", errors)
        authority = body.get("authority") or self.national_policy.competent_authority(stage)
        mla_case = self._mla_case(case_id)
        mla = MlaRequest(
            mla_id=str(uuid4()),
            case_id=case_id,
            direction=direction,
            stage=stage,
            authority=authority,
            reference=body.get("reference"),
            date=body.get("date"),
            order_ids=list(mla_case.order_ids),
            status="received" if direction == "incoming" else "sent",
            actor=actor,
        )
        mla_case.note_mla(case_id, mla.mla_id)
        ours = self._our_mla_recorded(case_id) if direction == "outgoing" else []
        # One transaction with the case record: an order issued at the same moment conflicts
        # here, and whichever is decided second links the two.
        self.save(mla, mla_case, *self._linked_follow_ups(mla), *ours)
        return self.mla_view(mla)

    def _our_mla_recorded(self, case_id: str) -> list[OutgoingFollowUp]:
        """Our outgoing MLA request is recorded: the case's MLA clocks stop."""
        stopped = []
        for follow_up in self.of_case(OutgoingFollowUp, case_id):
            if follow_up.closed is None and follow_up.mla_due is not None:
                follow_up.close(follow_up.request_id, case_id, "our MLA request recorded")
                stopped.append(follow_up)
        return stopped

    def _linked_follow_ups(self, mla: MlaRequest) -> list[MlaFollowUp]:
        """The follow-ups of the MLA request's orders, marked with its current status."""
        follow_ups = [
            f for oid in mla.order_ids
            if (f := load(self.repository, follow_up_id_for(oid), MlaFollowUp)) is not None
        ]  # fmt: skip
        for follow_up in follow_ups:
            follow_up.link(follow_up.follow_up_id, follow_up.case_id, mla.mla_id, mla.status)
        return follow_ups

    def _mla_case(self, case_id: str) -> MlaCase:
        """The case's MLA record; begun from what the case already has when first needed."""
        mla_case = load(self.repository, str(MlaCase.create_id(case_id)), MlaCase)
        if mla_case is None:
            # Every follow-up and MLA request is recorded with its case's record, so a case
            # without one has neither yet.
            mla_case = MlaCase(case_id=case_id)
        return mla_case

    @command
    @retry_on_conflict
    def change_status(self, mla_id: str, body: dict[str, Any], actor: dict[str, str]) -> dict:
        status, note = body.get("status"), body.get("note")
        note = "" if note is None else note
        if status not in STATUSES:
            raise Invalid("unknown MLA status", {"status": [" | ".join(STATUSES)]})
        if not isinstance(note, str) or len(note) > 4000:
            raise Invalid("the note is not valid", {"note": ["text of at most 4000 characters"]})
        mla = require(self.repository, mla_id, MlaRequest, "MLA request")
        if mla.change_status(status, note, actor):
            self.save(mla, *self._linked_follow_ups(mla))
        return self.mla_view(mla)

    @query
    def get_mla(self, mla_id: str) -> dict[str, Any]:
        return self.mla_view(require(self.repository, mla_id, MlaRequest, "MLA request"))

    @query
    def mla_of_case(self, case_id: str) -> list[dict[str, Any]]:
        return [self.mla_view(m) for m in self.of_case(MlaRequest, case_id)]

    @staticmethod
    def mla_view(mla: MlaRequest) -> dict[str, Any]:
        return {
            "mla_id": mla.mla_id,
            "case_id": mla.case_id,
            "direction": mla.direction,
            "stage": mla.stage,
            "authority": mla.authority,
            "reference": mla.reference,
            "date": mla.date,
            "order_ids": mla.order_ids,
            "status": mla.status,
            "history": mla.history,
        }

    def on_order_issued(self, message: Message, processing: ProcessingEvent) -> None:
        """An issued order lapses at expiry unless formal MLA arrives (Art 29(7))."""
        order = message.payload
        if order.get("mla_intended") is False:
            return
        follow_up = MlaFollowUp(
            follow_up_id=follow_up_id_for(order["order_id"]),
            case_id=order["case_id"],
            order_id=order["order_id"],
            request_id=order.get("request_id"),
            direction=order["direction"],
            due_by=order["expires_at"],
        )
        mla_case = self._mla_case(order["case_id"])
        if order["order_id"] not in mla_case.order_ids:
            mla_case.note_order(order["case_id"], order["order_id"])
        # An MLA request that arrived before this order covers it too (Art 29(7) hold).
        for mla_id in mla_case.mla_ids:
            mla = load(self.repository, mla_id, MlaRequest)
            if mla is not None and mla.undecided:
                mla.attach(mla_id, mla.case_id, order["order_id"], mla.direction, mla.status)
                follow_up.link(follow_up.follow_up_id, follow_up.case_id, mla_id, mla.status)
                processing.collect_events(mla)
        processing.collect_events(follow_up, mla_case)
        for request_id in (order.get("request_ids") or [])[1:]:  # other requesting Parties
            self._party_follow_up(order, request_id, order["expires_at"], processing)

    def _follow_ups_of_order(self, case_id: str, order_id: str) -> list[MlaFollowUp]:
        """The order's follow-ups: its first request's by id (seen within a batch too), other
        Parties' through the case index."""
        first = load(self.repository, follow_up_id_for(order_id), MlaFollowUp)
        others = [
            f for f in self.of_case(MlaFollowUp, case_id)
            if f.order_id == order_id and (first is None or f.id != first.id)
        ]  # fmt: skip
        return ([first] if first else []) + others

    def on_order_covers(self, message: Message, processing: ProcessingEvent) -> None:
        """Another requesting Party's request on the same order: its own MLA clock."""
        cover = message.payload
        if not cover["issued"] or not cover.get("expires_at"):
            return  # the order's issue starts the clocks
        self._party_follow_up(cover, cover["request_id"], cover["expires_at"], processing)

    def _party_follow_up(
        self, order: dict[str, Any], request_id: str, due_by: str, processing: ProcessingEvent
    ) -> None:
        follow_up_id = follow_up_id_for(f"{order['order_id']}|{request_id}")
        if load(self.repository, follow_up_id, MlaFollowUp) is not None:
            return
        processing.collect_events(
            MlaFollowUp(
                follow_up_id=follow_up_id,
                case_id=order["case_id"],
                order_id=order["order_id"],
                request_id=request_id,
                direction="incoming",
                due_by=due_by,
            )
        )

    def on_request_dropped(self, message: Message, processing: ProcessingEvent) -> None:
        """A request refused or withdrawn: its reminders stop (the order may run on)."""
        dropped = message.payload
        for follow_up in self._follow_ups_of_order(dropped["case_id"], dropped["order_id"]):
            if follow_up.request_id == dropped["request_id"] and follow_up.closed is None:
                follow_up.close(
                    follow_up.follow_up_id, follow_up.case_id, follow_up.order_id,
                    f"request {dropped['reason']}",
                )  # fmt: skip
                processing.collect_events(follow_up)

    def on_order_moved(self, message: Message, processing: ProcessingEvent) -> None:
        payload = message.payload
        for follow_up in self._follow_ups_of_order(payload["case_id"], payload["order_id"]):
            follow_up.move_due(
                follow_up.follow_up_id, follow_up.case_id, follow_up.order_id,
                message.payload["expires_at"],
            )  # fmt: skip
            processing.collect_events(follow_up)

    def on_order_closed(self, message: Message, processing: ProcessingEvent) -> None:
        if message.event == "OrderOutcomeRecorded" and message.payload["outcome"] != "unavailable":
            return  # preserved data still needs its MLA request
        payload = message.payload
        reason = {"OrderReleased": "released", "OrderExpired": "expired"}.get(
            message.event, "data unavailable"
        )
        for follow_up in self._follow_ups_of_order(payload["case_id"], payload["order_id"]):
            if follow_up.closed is None:
                follow_up.close(
                    follow_up.follow_up_id, follow_up.case_id, follow_up.order_id, reason
                )
                processing.collect_events(follow_up)

    # --- our own requests abroad ---------------------------------------------------------------
    def on_outgoing_sent(self, message: Message, processing: ProcessingEvent) -> None:
        sent = message.payload
        if load(self.repository, outgoing_id_for(sent["request_id"]), OutgoingFollowUp):
            return
        role = sent["actor"].get("role")
        processing.collect_events(
            OutgoingFollowUp(
                request_id=sent["request_id"],
                case_id=sent["case_id"],
                country=sent["counterpart_country"],
                chase_at=sent["chase_at"],
                cp=role if role in ("police", "prosecution") else "police",
            )
        )

    def _outgoing(self, payload: dict[str, Any]) -> OutgoingFollowUp | None:
        return load(self.repository, outgoing_id_for(payload["request_id"]), OutgoingFollowUp)

    def on_outgoing_receipt(self, message: Message, processing: ProcessingEvent) -> None:
        follow_up = self._outgoing(message.payload)
        if follow_up is not None and follow_up.receipt_at is None:
            follow_up.note_receipt(follow_up.request_id, follow_up.case_id, message.payload["at"])
            processing.collect_events(follow_up)

    def on_outgoing_answer(self, message: Message, processing: ProcessingEvent) -> None:
        """Preserved abroad until ``expires_at``: our MLA must be sent before then."""
        answer = message.payload
        follow_up = self._outgoing(answer)
        if follow_up is None or follow_up.closed is not None:
            return
        if follow_up.receipt_at is None:  # an answer is a receipt too: no chase any more
            follow_up.note_receipt(follow_up.request_id, follow_up.case_id, message.recorded_at)
        mla_sent = any(
            m.direction == "outgoing" for m in self.of_case(MlaRequest, answer["case_id"])
        )
        # legal-rule: outgoing-preserved-starts-our-mla-clock
        if answer["outcome"] in PRESERVED and answer.get("expires_at") and not mla_sent:
            follow_up.start_mla_clock(follow_up.request_id, follow_up.case_id, answer["expires_at"])
        else:
            follow_up.close(
                follow_up.request_id, follow_up.case_id, f"answered {answer['outcome']}"
            )
        processing.collect_events(follow_up)

    def on_outgoing_ended(self, message: Message, processing: ProcessingEvent) -> None:
        follow_up = self._outgoing(message.payload)
        if follow_up is not None and follow_up.closed is None:
            follow_up.close(follow_up.request_id, follow_up.case_id, message.event)
            processing.collect_events(follow_up)

    # --- clocks --------------------------------------------------------------------------------
    @every(30)  # reminders and overdue follow-ups, derived from recorded events
    def run_clocks(self, now: datetime | None = None) -> int:
        """Reminders, overdue follow-ups and extension suggestions that are due now.

        Everything it decides is recorded as an event before anyone is told, so a restart in
        the middle of a run repeats nothing and loses nothing.
        """
        now = now or utcnow()
        offsets = self.national_policy.reminder_offsets_days
        recorded = 0
        for follow_up in self.still_open(MlaFollowUp, lambda f: f.closed is None and not f.decided):
            actions = follow_up.clocks_due(now, offsets)
            for action, value in actions:
                if action == "remind":
                    follow_up.remind(value, offsets, now)
                elif action == "overdue":
                    follow_up.mark_overdue(
                        follow_up.follow_up_id, follow_up.case_id, follow_up.order_id,
                        follow_up.request_id, follow_up.direction, follow_up.due_by,
                    )  # fmt: skip
                else:
                    follow_up.suggest_extension(
                        follow_up.follow_up_id, follow_up.case_id, follow_up.order_id,
                        follow_up.due_by, sorted(follow_up.mla),
                    )  # fmt: skip
            if actions:
                try:
                    self.save(follow_up)
                except IntegrityError:
                    continue  # changed meanwhile; the next run looks again
                recorded += len(actions)
        return recorded + self._run_outgoing_clocks(now, offsets)

    def _run_outgoing_clocks(self, now: datetime, offsets: tuple[int, ...]) -> int:
        recorded = 0
        for follow_up in self.still_open(OutgoingFollowUp, lambda f: f.closed is None):
            actions = follow_up.clocks_due(now, offsets)
            for action, value in actions:
                f = follow_up
                if action == "chase":
                    f.chase(f.request_id, f.case_id, f.country, f.chase_at, f.cp)
                elif action == "remind":
                    days_left = max(0, (parse_iso(f.mla_due) - now).days)
                    covers = [o for o in offsets if o >= value and o not in f.reminded]
                    f.remind(f.request_id, f.case_id, f.country, value, days_left, f.mla_due,
                             covers)  # fmt: skip
                else:
                    f.mark_overdue(f.request_id, f.case_id, f.country, f.mla_due)
            if actions:
                try:
                    self.save(follow_up)
                except IntegrityError:
                    continue
                recorded += len(actions)
        return recorded

    @query
    def outgoing_clocks(self, now: datetime | None = None) -> dict[str, list[dict[str, Any]]]:
        """The work list's items for our own requests: receipts to chase, our MLA clocks."""
        now_text = iso(now or utcnow())
        chases, clocks = [], []
        for f in self.still_open(OutgoingFollowUp, lambda f: f.closed is None):
            if f.closed is not None:
                continue
            view = self.outgoing_view(f)
            if f.receipt_at is None and f.chase_at <= now_text:
                chases.append(view)
            if f.mla_due is not None:
                clocks.append(view)
        return {
            "outgoing_chases": chases,
            "our_mla_clocks": sorted(clocks, key=lambda v: v["mla_due"]),
        }

    @query
    def outgoing_of_case(self, case_id: str) -> list[dict[str, Any]]:
        return [self.outgoing_view(f) for f in self.of_case(OutgoingFollowUp, case_id)]

    @staticmethod
    def outgoing_view(f: OutgoingFollowUp) -> dict[str, Any]:
        return {
            "request_id": f.request_id,
            "case_id": f.case_id,
            "counterpart_country": f.country,
            "chase_at": f.chase_at,
            "receipt_at": f.receipt_at,
            "chased": f.chased,
            "mla_due": f.mla_due,
            "reminded_days_before": sorted(f.reminded, reverse=True),
            "overdue": f.overdue,
            "closed": f.closed,
        }

    @query
    def follow_ups_of_case(self, case_id: str) -> list[dict[str, Any]]:
        return [self.follow_up_view(f) for f in self.of_case(MlaFollowUp, case_id)]

    @query
    def open_follow_ups(self) -> list[dict[str, Any]]:
        """Every MLA follow-up still waiting, soonest due first (the consoles' work list)."""
        waiting = self.still_open(MlaFollowUp, lambda f: f.closed is None)
        views = [{**self.follow_up_view(f), "case_id": f.case_id} for f in waiting]
        return sorted((v for v in views if v["closed"] is None), key=lambda v: v["due_by"])

    @staticmethod
    def follow_up_view(follow_up: MlaFollowUp) -> dict[str, Any]:
        return {
            "follow_up_id": follow_up.follow_up_id,
            "order_id": follow_up.order_id,
            "direction": follow_up.direction,
            "due_by": follow_up.due_by,
            "status": follow_up.status,
            "mla": dict(follow_up.mla),
            "reminded_days_before": sorted(follow_up.reminded, reverse=True),
            "overdue": follow_up.overdue,
            "extension_suggested": follow_up.extension_suggested,
            "closed": follow_up.closed,
        }
