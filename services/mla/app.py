"""The MLA application: MLA requests of a kind (Arts 31, 33, 34) with their judicial
authorisation and execution, and the follow-ups linked to preservation orders."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any
from uuid import NAMESPACE_URL, uuid4, uuid5

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
    KIND_OF_REQUEST,
    MLA_KINDS,
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
KINDS = tuple(MLA_KINDS)
MLA_NAMESPACE = uuid5(NAMESPACE_URL, "https://cp247.example/mla-requests")
DATE = re.compile(r"\d{4}-\d{2}-\d{2}")  # fullmatch


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
        "RequestReceived": "on_request_received",
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
        """Record an MLA request and link it to every preservation order of the case; one
        naming a request registered by intake joins that request's record."""
        errors: dict[str, list[str]] = {}
        direction, stage = body.get("direction"), body.get("stage")
        stage = "pre_trial" if stage is None else stage  # left out; anything else must be one
        kind = "stored_data" if body.get("kind") is None else body["kind"]
        if direction not in DIRECTIONS:
            errors["direction"] = ["incoming or outgoing"]
        if stage not in STAGES:
            errors["stage"] = ["pre_trial or trial"]
        if not isinstance(kind, str) or kind not in KINDS:
            errors["kind"] = [" | ".join(f"{k} ({w[:6]})" for k, w in MLA_KINDS.items())]
        for key in ("authority", "reference", "date", "request_id"):
            value = body.get(key)
            if value is not None and (not isinstance(value, str) or len(value) > 500):
                errors[key] = ["text of at most 500 characters"]
        authorisation = None
        if body.get("authorisation") is not None:
            authorisation = _authorisation(body["authorisation"], errors, "authorisation.")
        if errors:
            raise Invalid("the MLA request is not valid", errors)
        request_id = body.get("request_id")
        if request_id and (joined := self._mla_of_request(request_id)) is not None:
            if joined.case_id != case_id:
                raise Invalid("the MLA request is not valid",
                              {"request_id": ["a request of another case"]})  # fmt: skip
            if authorisation is not None and joined.authorise(authorisation, actor):
                self.save(joined)
            return self.mla_view(joined)
        mla = self._new_mla(
            mla_id=mla_id_for(request_id) if request_id else str(uuid4()),
            case_id=case_id,
            direction=direction,
            stage=stage,
            authority=body.get("authority"),
            reference=body.get("reference"),
            date=body.get("date"),
            actor=actor,
            kind=kind,
            request_id=request_id,
            authorisation=authorisation,
        )
        self.save(*mla)
        return self.mla_view(mla[0])

    def _new_mla(self, **fields: Any) -> list[Any]:
        """A new MLA request with what it changes: the case's record, the follow-ups of its
        orders, and (ours abroad) our MLA clocks stopped. One transaction: an order issued at
        the same moment conflicts with the case record, and whichever is second links both."""
        case_id, stage = fields["case_id"], fields["stage"]
        fields["authority"] = fields["authority"] or self.national_policy.competent_authority(stage)
        mla_case = self._mla_case(case_id)
        mla = MlaRequest(
            order_ids=list(mla_case.order_ids),
            status="received" if fields["direction"] == "incoming" else "sent",
            **fields,
        )
        mla_case.note_mla(case_id, mla.mla_id)
        ours = self._our_mla_recorded(case_id) if mla.direction == "outgoing" else []
        return [mla, mla_case, *self._linked_follow_ups(mla), *ours]

    def _mla_of_request(self, request_id: str) -> MlaRequest | None:
        return load(self.repository, mla_id_for(request_id), MlaRequest)

    def on_request_received(self, message: Message, processing: ProcessingEvent) -> None:
        """Intake registered an MLA request (mla_stored_data, mla_realtime_traffic,
        mla_interception): its MLA record is made here, or, where an officer recorded the
        case's MLA by hand already, that record is linked to it; never two that stand apart."""
        request = message.payload
        kind = KIND_OF_REQUEST.get(request["type"])
        if kind is None or self._mla_of_request(request["request_id"]) is not None:
            return
        unlinked = [
            m for m in self.of_case(MlaRequest, request["case_id"])
            if m.request_id is None and m.direction == request["direction"] and m.kind == kind
        ]  # fmt: skip
        if unlinked:
            unlinked[0].link_request(request["request_id"])
            processing.collect_events(unlinked[0])
            return
        authority = request.get("requesting_authority") or {}
        reference = authority.get("reference") if request["direction"] == "incoming" else None
        processing.collect_events(
            *self._new_mla(
                mla_id=mla_id_for(request["request_id"]),
                case_id=request["case_id"],
                direction=request["direction"],
                stage="pre_trial",
                authority=None,
                reference=reference or request.get("our_reference"),
                date=(request.get("received_at") or message.recorded_at)[:10],
                actor=request["actor"],
                kind=kind,
                request_id=request["request_id"],
                authorisation=None,
            )
        )

    @command
    @retry_on_conflict
    def authorise(self, mla_id: str, body: dict[str, Any], actor: dict[str, str]) -> dict:
        """The judicial authorisation an MLA request is executed under (Arts 33, 34)."""
        errors: dict[str, list[str]] = {}
        authorisation = _authorisation(body, errors)
        if errors:
            raise Invalid("the authorisation is not valid", errors)
        mla = require(self.repository, mla_id, MlaRequest, "MLA request")
        if mla.authorise(authorisation, actor):
            self.save(mla)
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
        """A new status; ``produced`` may name the productions that answer it (the gateway
        checks they are of the MLA request's case)."""
        status, note = body.get("status"), body.get("note")
        note = "" if note is None else note
        produced = [] if body.get("production_ids") is None else body["production_ids"]
        if status not in STATUSES:
            raise Invalid("unknown MLA status", {"status": [" | ".join(STATUSES)]})
        if not isinstance(produced, list) or not all(isinstance(p, str) for p in produced):
            raise Invalid("the status is not valid",
                          {"production_ids": ["a list of production ids"]})  # fmt: skip
        if not isinstance(note, str) or len(note) > 4000:
            raise Invalid("the note is not valid", {"note": ["text of at most 4000 characters"]})
        if produced and status != "produced":
            raise Invalid("the status is not valid",
                          {"production_ids": ["only with status produced"]})  # fmt: skip
        mla = require(self.repository, mla_id, MlaRequest, "MLA request")
        if mla.change_status(status, note, actor, tuple(produced)):
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
            "kind": mla.kind,
            "article": MLA_KINDS[mla.kind].split(":")[0],
            "request_id": mla.request_id,
            "authorisation": mla.authorisation,
            "production_ids": list(mla.production_ids),
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


def mla_id_for(request_id: str) -> str:
    """The MLA record of a request registered by intake: one, however often it arrives."""
    return str(uuid5(MLA_NAMESPACE, request_id))


def _authorisation(body: Any, errors: dict[str, list[str]], prefix: str = "") -> dict[str, str]:
    """The judicial authorisation: the authority that gave it, its date and its reference."""
    if not isinstance(body, dict):
        errors[prefix.rstrip(".") or "authorisation"] = ["{authority, date, reference}"]
        return {}
    for key in ("authority", "reference"):
        value = body.get(key)
        if not isinstance(value, str) or not value.strip() or len(value) > 500:
            errors[f"{prefix}{key}"] = ["required text of at most 500 characters"]
    when = body.get("date")
    valid = isinstance(when, str) and DATE.fullmatch(when) and _is_date(when)
    if not valid or when > iso(utcnow())[:10]:
        errors[f"{prefix}date"] = ["the date it was given, YYYY-MM-DD, not in the future"]
    if unknown := sorted(set(body) - {"authority", "date", "reference"}):
        errors[f"{prefix}unknown"] = [f"unknown fields {unknown}"]
    return {k: str(body.get(k, "")).strip() for k in ("authority", "date", "reference")}


def _is_date(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True
