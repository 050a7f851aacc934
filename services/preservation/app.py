"""The preservation application: orders from registered requests and from officers."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import uuid4

from eventsourcing.application import ProcessingEvent
from eventsourcing.persistence import IntegrityError
from marshmallow import ValidationError

from cp247.clock import iso, parse_iso, utcnow
from cp247.errors import Conflict, Forbidden, Invalid
from cp247.runtime.application import (
    ServiceApplication,
    command,
    every,
    load,
    query,
    require,
    retry_on_conflict,
)
from cp247.validation import flatten_errors
from events import Message
from services.intake.hygiene import needs_source_port, normalise_identifiers
from services.preservation import disclosure_order
from services.preservation.disclosure_order import DisclosureOrder
from services.preservation.domain import (
    LEGAL_BASIS,
    PreservationOrder,
    RequestStanding,
    order_id_for,
    standing_id_for,
)
from services.preservation.emergency import EmergencyClock, clock_id_for
from services.preservation.national_law import NationalPolicy, national_policy
from services.preservation.schemas import (
    ART30_2_GROUNDS,
    Art30ApprovalSchema,
    DisclosureOrderRequestSchema,
    OrderRequestSchema,
    TransmissionRequestSchema,
    WithholdSchema,
)
from services.preservation.transmission import Disclosure, production_disclosure_id

SYSTEM = {"username": "system", "role": "preservation"}


class PreservationApplication(ServiceApplication):
    name = "preservation"
    upstreams = ("intake", "isp_liaison", "mla")
    policies = {
        "RequestReceived": "on_request_received",
        "OrderDelivered": "on_delivered",
        "ProviderAcknowledgedOrder": "on_provider_acknowledged",
        "DataPreserved": "on_outcome",
        "DataUnavailable": "on_outcome",
        "DataProduced": "on_produced",
        "MlaRecorded": "on_mla",
        "MlaStatusChanged": "on_mla",
        "OrderLinkedToMla": "on_linked_to_mla",
        "RequestRefused": "on_request_ended",
        "RequestWithdrawn": "on_request_ended",
        "Art296DecisionRecorded": "on_art29_6_decision",
        "ForeignProviderReported": "on_foreign_provider",
    }

    def __init__(self, env: dict[str, str] | None = None):
        super().__init__(env)
        self.national_policy: NationalPolicy = national_policy(
            self.env.get("CP247_POLICY") or "police-needs-approval"
        )

    # --- policies --------------------------------------------------------------------------
    def on_request_received(self, message: Message, processing: ProcessingEvent) -> None:
        """A preservation request naming a listed provider drafts its order at once; another
        Party's request about the same data joins that order; an extension extends it."""
        request = message.payload
        custodian = request.get("custodian") or {}
        if request["urgency"] == "emergency" and request["direction"] == "incoming":
            self._start_emergency_clock(request, processing)
        if request["type"] != "preservation":
            return
        # legal-rule: outgoing-never-orders-domestically
        if request["direction"] != "incoming":
            return  # ours to a foreign CP: the foreign Party preserves, never our providers
        if request.get("extends") and self._extend_for(request, processing):
            return
        if request.get("same_data_as") and self._cover(request, processing):
            return
        if request.get("near_duplicate_of"):
            return  # the first request's order covers it until a person splits the case
        if not custodian.get("listed"):
            return  # no order drafts itself: intake lists the request as needing an order
        order = self._draft(
            order_id=order_id_for(request["request_id"], custodian["provider_id"]),
            case_id=request["case_id"],
            request_id=request["request_id"],
            provider_id=custodian["provider_id"],
            identifiers=request["identifiers"],
            data_types=request["data_types"],
            period_days=request.get("period_days"),
            direction=request["direction"],
            mla_intended=request.get("mla_intended"),
            actor=request["actor"],
        )
        processing.collect_events(order, *self._note_orders(order, [request["request_id"]]))

    def _start_emergency_clock(self, request: dict[str, Any], processing: ProcessingEvent) -> None:
        """P2 Art 9: an emergency is decided in minutes; the clock runs from its receipt."""
        clock_id = clock_id_for(request["request_id"])
        if load(self.repository, clock_id, EmergencyClock) is None:
            minutes = self.national_policy.emergency_decision_minutes
            processing.collect_events(EmergencyClock.start(request, minutes))

    def _orders_for(self, request_id: str) -> list[PreservationOrder]:
        """The request's orders still open (by its standing record: also within a batch)."""
        standing = load(self.repository, standing_id_for(request_id), RequestStanding)
        found = (
            load(self.repository, oid, PreservationOrder)
            for oid in (standing.order_ids if standing else [])
        )
        return [order for order in found if order is not None and order.closed is None]

    def _note_orders(
        self, order: PreservationOrder | DisclosureOrder, request_ids: list[str]
    ) -> list[RequestStanding]:
        """Each request's standing record learns the order that preserves for it."""
        noted = []
        for request_id in request_ids:
            standing = self._standing(request_id, order.case_id)
            if standing.note_order(order.order_id):
                noted.append(standing)
        return noted

    def _cover(self, request: dict[str, Any], processing: ProcessingEvent) -> bool:
        """Several requesting Parties, one order: the same data are preserved once."""
        orders = self._orders_for(request["same_data_as"])
        for order in orders:
            if order.cover(request["request_id"], request["actor"]):
                processing.collect_events(order, *self._note_orders(order, [request["request_id"]]))
        return bool(orders)

    def _extend_for(self, request: dict[str, Any], processing: ProcessingEvent) -> bool:
        """An extension request extends the running orders of the earlier request (False:
        none runs any more, so the extension is ordered like a new request)."""
        # Art 16(2): renewed for what the extension asks (or the default), within the maximum.
        days = request.get("period_days") or self.national_policy.default_period_days
        extended = False
        for order in self._orders_for(request["extends"]):
            order.cover(request["request_id"], request["actor"])
            processing.collect_events(*self._note_orders(order, [request["request_id"]]))
            maximum = self.national_policy.maximum_extension_days
            if order.running and (left := order.extension_left(maximum)) > 0:
                order.extend(min(days, left), maximum, request["actor"])
            processing.collect_events(order)
            extended = True
        return extended

    def on_request_ended(self, message: Message, processing: ProcessingEvent) -> None:
        """A refusal or a withdrawal takes effect: the request's orders stop preserving for
        it, and an order no requesting Party still needs is released."""
        why = "refused" if message.event == "RequestRefused" else "withdrawn"
        self._end(message, why, processing)

    def _end(self, message: Message, why: str, processing: ProcessingEvent) -> None:
        payload = message.payload
        standing = self._standing(payload["request_id"], payload["case_id"])
        standing.change(payload["request_id"], payload["case_id"], "ended", why)
        processing.collect_events(standing)
        clock = load(self.repository, clock_id_for(payload["request_id"]), EmergencyClock)
        if clock is not None and clock.decide(f"request {why}", message.recorded_at):
            processing.collect_events(clock)
        # legal-rule: refusal-releases-orders
        for order in self._orders_for(payload["request_id"]):
            order.drop_request(payload["request_id"], why)
            if not order.request_ids:
                order.release(
                    f"request {why}: no requesting Party needs the data any more",
                    payload["actor"],
                    notice="The requesting authority no longer needs the data preserved; "
                    "this order ends now. No further action is required.",
                    decided=True,
                )
            processing.collect_events(order)
        # legal-rule: refusal-withdraws-disclosure-orders
        for disclosure in self._disclosures_for(payload["request_id"]):
            if disclosure.withdraw(
                f"request {why}",
                "The requesting authority no longer needs these data; this order is "
                "withdrawn. Do not disclose anything under it.",
                payload["actor"],
            ):
                processing.collect_events(disclosure)
        # legal-rule: refusal-blocks-disclosure
        for pending in self.of_case(Disclosure, payload["case_id"]):
            if pending.request_id == payload["request_id"] and pending.status == "pending":
                ground = "request_refused" if why == "refused" else "request_withdrawn"
                explanation = f"request {why}: nothing leaves for it"
                pending.withhold([ground], explanation, payload["actor"], message.recorded_at)
                processing.collect_events(pending)

    def _disclosures_for(self, request_id: str) -> list[DisclosureOrder]:
        standing = load(self.repository, standing_id_for(request_id), RequestStanding)
        found = (
            load(self.repository, oid, DisclosureOrder)
            for oid in (standing.order_ids if standing else [])
        )
        return [order for order in found if order is not None and order.open]

    def on_art29_6_decision(self, message: Message, processing: ProcessingEvent) -> None:
        """The requesting Party withdrew after an Art 29(6) notice: as a withdrawal. (While
        the notice waits, intake, which decides it, holds new orders back: see the gateway.)"""
        if message.payload["decision"] == "withdraw":
            self._end(message, "withdrawn after the Art 29(6) notice", processing)

    def _standing(self, request_id: str, case_id: str) -> RequestStanding:
        found = load(self.repository, standing_id_for(request_id), RequestStanding)
        return found or RequestStanding(request_id=request_id, case_id=case_id)

    def _may_issue_for(self, request_ids: list[str]) -> None:
        """No order for a request refused or withdrawn (final: this copy is never stale).

        Whether an Art 29(6) notice still waits is asked of intake, which decides it, by the
        gateway before every officer's order and approval: a copy learnt by event could lag
        behind the requesting Party's decision and refuse an order it allows."""
        for request_id in request_ids:
            standing = load(self.repository, standing_id_for(request_id), RequestStanding)
            if standing is not None and standing.state == "ended":
                raise Conflict(f"request {request_id} was refused or withdrawn")

    def on_provider_acknowledged(self, message: Message, processing: ProcessingEvent) -> None:
        disclosure = load(self.repository, message.payload["order_id"], DisclosureOrder)
        if disclosure is not None:
            if disclosure.record_acknowledgement(message.payload["acknowledged_at"]):
                processing.collect_events(disclosure)
            return
        order = load(self.repository, message.payload["order_id"], PreservationOrder)
        if order is None:
            return
        if order.record_acknowledgement(
            message.payload["acknowledged_at"], message.payload["actor"]
        ):
            processing.collect_events(order)

    def on_delivered(self, message: Message, processing: ProcessingEvent) -> None:
        order = load(self.repository, message.payload["order_id"], PreservationOrder)
        if order and order.record_delivery(message.recorded_at, message.payload["channel"]):
            processing.collect_events(order)

    def on_outcome(self, message: Message, processing: ProcessingEvent) -> None:
        """What the provider reported: preserved (with a note) or not available (why)."""
        disclosure = load(self.repository, message.payload["order_id"], DisclosureOrder)
        if disclosure is not None and message.event == "DataUnavailable":
            if disclosure.record_unavailable(message.payload["reason"]):
                processing.collect_events(disclosure)
            return
        order = load(self.repository, message.payload["order_id"], PreservationOrder)
        if order is None:
            return
        if message.event == "DataPreserved":
            outcome = "preserved"
            detail = {"note": message.payload["note"], "records": message.payload["records"]}
        else:
            outcome, detail = "unavailable", {"reason": message.payload["reason"]}
        if order.record_outcome(outcome, detail, message.payload["actor"]):
            processing.collect_events(order)

    def on_produced(self, message: Message, processing: ProcessingEvent) -> None:
        """A disclosure order answered with data: its clock stops."""
        produced = message.payload
        disclosure = load(self.repository, produced["order_id"], DisclosureOrder)
        if disclosure is not None and disclosure.record_produced(
            produced["production_id"], produced["files"]
        ):
            processing.collect_events(disclosure)

    def on_foreign_provider(self, message: Message, processing: ProcessingEvent) -> None:
        """Art 30(1): a provider reports another State's provider in the chain. For each
        requesting Party the order preserves for, a disclosure waits for a prosecutor;
        nothing leaves by itself (Art 30(2) lets it be withheld)."""
        report = message.payload
        order = load(self.repository, report["order_id"], PreservationOrder)
        for request_id in order.request_ids if order is not None else []:
            standing = load(self.repository, standing_id_for(request_id), RequestStanding)
            if standing is not None and standing.state == "ended":
                continue  # legal-rule: refusal-blocks-disclosure
            pending = Disclosure.of_art30_report(request_id, report, report["reported_at"], SYSTEM)
            if load(self.repository, pending.disclosure_id, Disclosure) is None:
                processing.collect_events(pending)

    def on_mla(self, message: Message, processing: ProcessingEvent) -> None:
        """Art 29(7): an MLA request received for the data holds its orders until decided."""
        mla = message.payload
        if mla["direction"] != "incoming":
            return
        for order_id in mla["order_ids"]:
            order = load(self.repository, order_id, PreservationOrder)
            if order is None:
                continue
            if mla["status"] in ("received", "executing"):
                changed = order.hold_for_mla(mla["mla_id"])
            elif mla["status"] in ("produced", "refused"):
                changed = order.lift_hold(mla["mla_id"], mla["status"])
            else:
                changed = False
            if changed:
                processing.collect_events(order)

    def on_linked_to_mla(self, message: Message, processing: ProcessingEvent) -> None:
        """An order issued after an incoming MLA request arrived is held by it as well."""
        link = message.payload
        if link["direction"] != "incoming" or link["mla_status"] not in ("received", "executing"):
            return
        order = load(self.repository, link["order_id"], PreservationOrder)
        if order is not None and order.hold_for_mla(link["mla_id"]):
            processing.collect_events(order)

    # --- commands --------------------------------------------------------------------------
    @command
    @retry_on_conflict
    def extend_order(self, order_id: str, days: Any, actor: dict[str, str]) -> dict[str, Any]:
        if not isinstance(days, int) or isinstance(days, bool):
            raise Invalid("days must be a whole number", {"days": ["a whole number of days"]})
        order = self._get(order_id)
        self._may_order(actor)
        order.extend(days, self.national_policy.maximum_extension_days, actor)
        self.save(order)
        return self.order_view(order)

    @command
    @retry_on_conflict
    def release_order(self, order_id: str, reason: Any, actor: dict[str, str]) -> dict[str, Any]:
        if not isinstance(reason, str):
            raise Invalid("say why the data may be released", {"reason": ["required text"]})
        order = self._get(order_id)
        self._may_order(actor)
        order.release(reason, actor)
        self.save(order)
        return self.order_view(order)

    def _may_order(self, actor: dict[str, str]) -> None:
        """Extending or releasing is ordering: whoever may order directly, or approve."""
        policy = self.national_policy
        if actor["role"] not in policy.may_order_directly | policy.approvers:
            raise Forbidden(f"under {policy.name}, a {actor['role']} officer may not do this")

    @every(30)  # preservation periods end on the clock, not on a request
    def expire_due(self, now: datetime | None = None) -> list[str]:
        """Expire every order whose period ended and no MLA holds; returns their ids."""
        now = now or utcnow()
        expired = []
        for order in self.still_open(
            PreservationOrder,
            lambda o: o.closed is None and o.status != "unavailable",
        ):
            if order.expire(now):
                try:
                    self.save(order)
                except IntegrityError:
                    continue  # changed meanwhile (extended, say): the next sweep decides
                expired.append(order.order_id)
        return expired

    @every(30)  # a disclosure order's due-by nears, then passes, on the clock
    def run_disclosure_clocks(self, now: datetime | None = None) -> list[str]:
        """Remind, or mark overdue, every unanswered disclosure order whose clock is due;
        returns their ids."""
        now = now or utcnow()
        due = []
        policy = self.national_policy
        for order in self.still_open(DisclosureOrder, lambda o: o.open):
            hours = (
                policy.emergency_reminder_hours if order.emergency
                else policy.disclosure_reminder_hours
            )  # fmt: skip
            if order.clocks_due(now, hours):
                try:
                    self.save(order)
                except IntegrityError:
                    continue  # answered meanwhile, say: the next sweep decides
                due.append(order.order_id)
        return due

    @every(30)  # an emergency undecided: escalated each time its minutes pass again
    def run_emergency_clocks(self, now: datetime | None = None) -> list[str]:
        """Stop each emergency clock whose request has an order issued; escalate the
        others that passed their decision time again; returns the requests escalated."""
        now = now or utcnow()
        minutes = self.national_policy.emergency_decision_minutes
        escalated = []
        for clock in self.still_open(EmergencyClock, lambda c: c.running):
            issued = self._first_issued(clock.request_id)
            # legal-rule: p2-art9-emergency-clock
            if issued is not None:
                changed = clock.decide("order issued", issued)
            else:
                changed = clock.overdue(now, minutes)
            if not changed:
                continue
            try:
                self.save(clock)
            except IntegrityError:
                continue  # decided meanwhile: the next sweep looks again
            if clock.running:
                escalated.append(clock.request_id)
        return escalated

    def _first_issued(self, request_id: str) -> str | None:
        """When the first order for the request was issued (None: none yet)."""
        standing = load(self.repository, standing_id_for(request_id), RequestStanding)
        times = []
        for order_id in standing.order_ids if standing else []:
            order = load(self.repository, order_id, DisclosureOrder) or load(
                self.repository, order_id, PreservationOrder
            )
            if order is not None and order.issued_at:
                times.append(order.issued_at)
        return min(times, default=None)

    @query
    def emergency_clocks(self, case_id: str | None = None) -> list[dict[str, Any]]:
        """Emergencies still undecided (all of them), or a case's clocks decided or not."""
        if case_id is None:
            clocks = list(self.still_open(EmergencyClock, lambda c: c.running))
        else:
            clocks = self.of_case(EmergencyClock, case_id)
        minutes = self.national_policy.emergency_decision_minutes
        return [
            {
                "request_id": c.request_id,
                "case_id": c.case_id,
                "type": c.request_type,
                "counterpart_country": c.counterpart_country,
                "received_at": c.received_at,
                "decide_by": c.decide_by,
                "escalations": c.escalations,
                "next_escalation_at": iso(c.next_escalation_at(minutes)) if c.running else None,
                "decision": c.decision,
            }
            for c in sorted(clocks, key=lambda c: c.decide_by)
        ]

    @command
    def create_order(
        self,
        case_id: str,
        body: dict[str, Any],
        actor: dict[str, str],
        request_ids: list[str] | None = None,
    ) -> dict:
        """An officer orders preservation for one provider of a case, for ``request_ids``
        (the requests it preserves for; the gateway picks them from the case)."""
        order_request = _loaded(OrderRequestSchema, body, "the order is not valid")
        fields: dict[str, list[str]] = {}
        if problem := self.national_policy.period_problem(order_request["period_days"]):
            fields["period_days"] = [problem]
        # legal-rule: outgoing-never-orders-domestically
        if order_request["direction"] != "incoming":
            fields["direction"] = [
                "an outgoing request never produces an order to a domestic provider"
            ]
        # legal-rule: order-identifiers-time-rules
        identifiers, _, problems = normalise_identifiers(
            order_request["identifiers"], None, utcnow()
        )
        for path, reasons in problems.items():
            fields[path.replace("data.identifiers", "identifiers", 1)] = reasons
        if fields:
            raise Invalid("the order is not valid", fields)
        order_request.pop("request_id", None)
        wanted = list(request_ids or [])
        self._may_issue_for(wanted)
        order = self._draft(
            order_id=str(uuid4()),
            case_id=case_id,
            request_id=wanted[0] if wanted else None,
            actor=actor,
            **{**order_request, "identifiers": identifiers},
        )
        for request_id in wanted[1:]:
            order.cover(request_id, actor)
        self.save(order, *self._note_orders(order, wanted))
        return self.order_view(order)

    @command
    @retry_on_conflict
    def approve_order(self, order_id: str, actor: dict[str, str]) -> dict:
        order = self._get(order_id)
        # legal-rule: art29-3-prosecutor-approval
        if actor["role"] not in self.national_policy.approvers:
            raise Forbidden("only a prosecutor may approve a preservation order")
        if order.status == "awaiting_approval":
            self._may_issue_for(order.request_ids)
        order.approve(actor, utcnow())
        self.save(order)
        return self.order_view(order)

    def _draft(self, *, period_days: int | None, actor: dict[str, str], **fields: Any):
        order = PreservationOrder(
            period_days=self.national_policy.period(period_days),
            legal_basis=self.national_policy.legal_basis("preservation", LEGAL_BASIS),
            actor=actor,
            **fields,
        )
        # legal-rule: art29-3-prosecutor-approval
        if self.national_policy.needs_approval(actor["role"]):
            order.request_approval(
                f"national policy {self.national_policy.name}: "
                f"a {actor['role']} order needs a prosecutor's approval",
                actor,
            )
        else:
            order.issue(actor, utcnow())
        return order

    # --- disclosure orders (issue 20) -------------------------------------------------------
    @command
    def create_disclosure_order(
        self,
        case_id: str,
        body: dict[str, Any],
        actor: dict[str, str],
        request_ids: list[str] | None = None,
    ) -> dict[str, Any]:
        """An officer orders a listed provider of a case to hand data over by ``due_by``."""
        wanted = _loaded(DisclosureOrderRequestSchema, body, "the disclosure order is not valid")
        policy, now = self.national_policy, utcnow()
        fields: dict[str, list[str]] = {}
        # legal-rule: disclosure-of-content-by-national-law
        if "content" in wanted["data_types"] and not policy.disclosure_of_content:
            fields["data_types"] = [
                f"content data may not be ordered disclosed under {policy.name} "
                "(national law: interception and content by MLA, Art 31/34)"
            ]
        # legal-rule: order-identifiers-time-rules
        identifiers, _, problems = normalise_identifiers(wanted["identifiers"], None, now)
        for path, reasons in problems.items():
            fields[path.replace("data.identifiers", "identifiers", 1)] = reasons
        # legal-rule: subscriber-ipv4-needs-source-port
        if "subscriber" in wanted["data_types"] and not problems:
            for index, item in enumerate(identifiers):
                if needs_source_port(item):
                    fields[f"identifiers.{index}.port"] = [
                        "a subscriber is identified by a public IPv4 address only with its "
                        "source port and exact time (carrier-grade NAT)"
                    ]
        requests = list(request_ids or [])[:1]  # a disclosure order answers one request
        # legal-rule: p2-art9-emergency-order
        emergency = bool(requests) and (
            load(self.repository, clock_id_for(requests[0]), EmergencyClock) is not None
        )
        due_by = self._due_by(wanted["due_by"], wanted["data_types"], now, fields, emergency)
        if fields:
            raise Invalid("the disclosure order is not valid", fields)
        self._may_issue_for(requests)
        order = DisclosureOrder(
            order_id=str(uuid4()),
            case_id=case_id,
            request_id=requests[0] if requests else None,
            provider_id=wanted["provider_id"],
            identifiers=identifiers,
            data_types=wanted["data_types"],
            legal_basis=wanted["legal_basis"]
            or policy.legal_basis("disclosure", disclosure_order.LEGAL_BASIS),
            due_by=due_by,
            actor=actor,
            emergency=emergency,
        )
        # legal-rule: disclosure-order-approval
        if policy.disclosure_needs_approval(actor["role"]):
            order.request_approval(
                f"national policy {policy.name}: a {actor['role']} disclosure order needs a "
                "prosecutor's approval",
                actor,
            )
        else:
            order.issue(actor, now)
        self.save(order, *self._note_orders(order, requests))
        return self.disclosure_view(order)

    def _due_by(
        self,
        text: str | None,
        data_types: list[str],
        now: datetime,
        fields: dict[str, list[str]],
        emergency: bool,
    ) -> str:
        """The order's due-by in UTC: as given (with its offset, in the future), or the
        national default: hours for an emergency, else days by its data types."""
        if text is None and emergency:
            return iso(self.national_policy.emergency_due_by(now))
        if text is None:
            return iso(self.national_policy.disclosure_due_by(data_types, now))
        try:
            moment = parse_iso(text)
        except ValueError:
            moment = None
        if moment is None or moment.tzinfo is None:
            fields["due_by"] = ["an ISO 8601 time with its UTC offset, e.g. 2026-12-08T09:00+01:00"]
        elif moment <= now:
            fields["due_by"] = ["the due-by time has passed already"]
        else:
            return iso(moment)
        return ""

    @command
    @retry_on_conflict
    def approve_disclosure_order(self, order_id: str, actor: dict[str, str]) -> dict[str, Any]:
        order = require(self.repository, order_id, DisclosureOrder, "disclosure order")
        # legal-rule: disclosure-order-approval
        if actor["role"] not in self.national_policy.approvers:
            raise Forbidden("only a prosecutor may approve a disclosure order")
        if order.status == "awaiting_approval" and order.request_id:
            self._may_issue_for([order.request_id])
        order.approve(actor, utcnow())
        self.save(order)
        return self.disclosure_view(order)

    @query
    def get_disclosure_order(self, order_id: str) -> dict[str, Any]:
        return self.disclosure_view(
            require(self.repository, order_id, DisclosureOrder, "disclosure order")
        )

    @query
    def disclosure_orders_of_case(self, case_id: str) -> list[dict[str, Any]]:
        return [self.disclosure_view(o) for o in self.of_case(DisclosureOrder, case_id)]

    @query
    def open_disclosure_orders(self) -> list[dict[str, Any]]:
        """Disclosure orders still waiting for approval or for the provider, oldest first."""
        waiting = self.still_open(DisclosureOrder, lambda o: o.open)
        return [self.disclosure_view(order) for order in waiting if order.open]

    @staticmethod
    def disclosure_view(order: DisclosureOrder) -> dict[str, Any]:
        return {
            "order_id": order.order_id,
            "kind": disclosure_order.KIND,
            "case_id": order.case_id,
            "request_id": order.request_id,
            "provider_id": order.provider_id,
            "status": order.status,
            "open": order.open,  # still waiting for approval or for the provider's answer
            "identifiers": order.identifiers,
            "data_types": order.data_types,
            "legal_basis": order.legal_basis,
            "due_by": order.due_by,
            "emergency": order.emergency,
            "issued_at": order.issued_at,
            "acknowledged_at": order.acknowledged_at,
            "unavailable_reason": order.unavailable_reason,
            "withdrawn": order.withdrawn,
            "overdue": order.overdue,
            "productions": list(order.productions),
            "produced_files": order.produced_files,  # by production: name, sha256, size
            "drafted_by": order.drafted_by,
            "approved_by": order.approved_by,
        }

    # --- disclosures to the requesting Party (Art 28(2), Art 30) -----------------------------
    @command
    @retry_on_conflict
    def send_disclosure(
        self, request: dict[str, Any], body: dict[str, Any], actor: dict[str, str]
    ) -> dict[str, Any]:
        """A prosecutor transmits what providers produced for ``request`` (intake's view: the
        gateway asks the decider) to its requesting Party, under conditions. The same
        productions under the same conditions again are the same disclosure."""
        self._may_decide_disclosure(actor)
        # legal-rule: disclosure-conditions-stated
        wanted = _loaded(TransmissionRequestSchema, body, "the disclosure is not valid")
        self._may_disclose_to(request)
        conditions, production_ids = wanted["conditions"], wanted["production_ids"]
        files = self._produced_for(request, production_ids)
        disclosure_id = production_disclosure_id(request["request_id"], production_ids, conditions)
        sent = load(self.repository, disclosure_id, Disclosure)
        if sent is not None:
            return self.transmission_view(sent)
        disclosure = Disclosure(
            disclosure_id=disclosure_id,
            case_id=request["case_id"],
            request_id=request["request_id"],
            kind="production",
            order_id=None,
            content={},
            files=files,
            actor=actor,
        )
        disclosure.send(conditions, _recipient(request), actor, iso(utcnow()))
        self.save(disclosure)
        return self.transmission_view(disclosure)

    def _produced_for(
        self, request: dict[str, Any], production_ids: list[str]
    ) -> list[dict[str, Any]]:
        """Each file of the named productions, which must answer this request's case (and,
        where the order answers a request, this one: each Party receives what was obtained
        for its own request)."""
        produced: dict[str, tuple[DisclosureOrder, list[dict[str, Any]]]] = {
            production_id: (order, files)
            for order in self.of_case(DisclosureOrder, request["case_id"])
            for production_id, files in order.produced_files.items()
        }
        fields: dict[str, list[str]] = {}
        files: list[dict[str, Any]] = []
        for index, production_id in enumerate(production_ids):
            order, described = produced.get(production_id, (None, []))
            if order is None:
                fields[f"production_ids.{index}"] = ["not a production of this case"]
            elif order.request_id not in (None, request["request_id"]):
                fields[f"production_ids.{index}"] = [
                    f"produced for another request ({order.request_id}): each requesting "
                    "Party receives what was obtained for its own request"
                ]
            else:
                files += [{"production_id": production_id, **f} for f in described]
        if fields:
            raise Invalid("the disclosure is not valid", fields)
        return files

    @command
    @retry_on_conflict
    def approve_disclosure(
        self,
        disclosure_id: str,
        request: dict[str, Any],
        body: dict[str, Any],
        actor: dict[str, str],
    ) -> dict[str, Any]:
        """Art 30(1): the prosecutor lets the provider's report leave, as it is or edited
        down to what identifies the other provider and the path."""
        self._may_decide_disclosure(actor)
        disclosure = require(self.repository, disclosure_id, Disclosure, "disclosure")
        wanted = _loaded(Art30ApprovalSchema, body, "the approval is not valid")
        self._may_disclose_to(request)
        conditions = wanted.pop("conditions", None) or {}
        disclosure.send(conditions, _recipient(request), actor, iso(utcnow()), content=wanted)
        self.save(disclosure)
        return self.transmission_view(disclosure)

    @command
    @retry_on_conflict
    def withhold_disclosure(
        self, disclosure_id: str, body: dict[str, Any], actor: dict[str, str]
    ) -> dict[str, Any]:
        """Art 30(2): the prosecutor keeps the report from the requesting Party, on the
        grounds that article allows; the same decision again changes nothing."""
        self._may_decide_disclosure(actor)
        disclosure = require(self.repository, disclosure_id, Disclosure, "disclosure")
        wanted = _loaded(WithholdSchema, body, "the decision is not valid")
        # legal-rule: art30-2-withholding-grounds
        grounds = wanted["grounds"]
        grounds = [grounds] if isinstance(grounds, str) else grounds
        if (
            not isinstance(grounds, list)
            or not grounds
            or any(g not in ART30_2_GROUNDS for g in grounds)
        ):
            raise Invalid(
                "the decision is not valid",
                {"grounds": [f"Art 30(2) allows only: {', '.join(ART30_2_GROUNDS)}"]},
            )
        if disclosure.status == "withheld" and disclosure.grounds == {
            "grounds": grounds, "explanation": wanted["explanation"]
        }:  # fmt: skip
            return self.transmission_view(disclosure)
        disclosure.withhold(grounds, wanted["explanation"], actor, iso(utcnow()))
        self.save(disclosure)
        return self.transmission_view(disclosure)

    def _may_decide_disclosure(self, actor: dict[str, str]) -> None:
        # legal-rule: art30-disclosure-decided-by-prosecutor
        if actor["role"] not in self.national_policy.approvers:
            raise Forbidden("only a prosecutor decides what is disclosed to another Party")

    def _may_disclose_to(self, request: dict[str, Any]) -> None:
        """Only an incoming request has a requesting Party, and nothing leaves for one
        refused or withdrawn (intake, which decides it, or this service's own record)."""
        if request["direction"] != "incoming":
            raise Conflict(
                f"request {request['request_id']} is ours (outgoing): there is no requesting "
                "Party to disclose to"
            )
        # legal-rule: refusal-blocks-disclosure
        if request["status"] in ("refused", "withdrawn"):
            raise Conflict(
                f"request {request['request_id']} was {request['status']}: nothing is "
                "disclosed for it"
            )
        self._may_issue_for([request["request_id"]])

    @query
    def get_disclosure(self, disclosure_id: str) -> dict[str, Any]:
        return self.transmission_view(
            require(self.repository, disclosure_id, Disclosure, "disclosure")
        )

    @query
    def disclosures_of_case(self, case_id: str) -> list[dict[str, Any]]:
        return [self.transmission_view(d) for d in self.of_case(Disclosure, case_id)]

    @query
    def pending_disclosures(self) -> list[dict[str, Any]]:
        """Art 30 reports waiting for a prosecutor's decision, oldest first."""
        waiting = self.still_open(Disclosure, lambda d: d.status == "pending")
        return [self.transmission_view(d) for d in waiting]

    @staticmethod
    def transmission_view(disclosure: Disclosure) -> dict[str, Any]:
        return {
            "disclosure_id": disclosure.disclosure_id,
            "kind": disclosure.kind,
            "status": disclosure.status,
            "case_id": disclosure.case_id,
            "request_id": disclosure.request_id,
            "order_id": disclosure.order_id,
            "content": disclosure.content or None,
            "files": disclosure.files,
            "conditions": disclosure.conditions,
            "recipient": disclosure.recipient,
            "grounds": disclosure.grounds,
            "decided_by": disclosure.decided_by,
            "decided_at": disclosure.decided_at,
        }

    # --- queries ---------------------------------------------------------------------------
    def _get(self, order_id: str) -> PreservationOrder:
        return require(self.repository, order_id, PreservationOrder, "preservation order")

    @query
    def get_order(self, order_id: str) -> dict[str, Any]:
        return self.order_view(self._get(order_id))

    @query
    def orders_of_case(self, case_id: str) -> list[dict[str, Any]]:
        return [self.order_view(order) for order in self.of_case(PreservationOrder, case_id)]

    @query
    def open_orders(self) -> list[dict[str, Any]]:
        """Every order not closed for good (drafts, awaiting approval, running), oldest first."""
        running = self.still_open(PreservationOrder, lambda o: o.closed is None)
        return [self.order_view(order) for order in running if order.closed is None]

    @staticmethod
    def order_view(order: PreservationOrder) -> dict[str, Any]:
        return {
            "order_id": order.order_id,
            "case_id": order.case_id,
            "request_id": order.request_id,
            "provider_id": order.provider_id,
            "status": order.status,
            "identifiers": order.identifiers,
            "data_types": order.data_types,
            "period_days": order.period_days,
            "legal_basis": order.legal_basis,
            "issued_at": order.issued_at,
            "expires_at": order.expires_at,
            "acknowledged_at": order.acknowledged_at,
            "delivered_at": order.delivered_at,
            "outcome": order.outcome,
            "extensions": order.extensions,
            "held_for_mla": sorted(order.holds),
            "closed": order.closed,
            "request_ids": list(order.request_ids),
            "drafted_by": order.drafted_by,
            "approved_by": order.approved_by,
            "mla": [],
        }


def _loaded(schema: type, body: Any, what: str) -> dict[str, Any]:
    try:
        return schema().load(body)
    except ValidationError as exc:
        raise Invalid(what, flatten_errors(exc.messages)) from None


def _recipient(request: dict[str, Any]) -> dict[str, Any]:
    """To whom a disclosure leaves: the requesting authority, as the request names it."""
    authority = request.get("requesting_authority") or {}
    return {key: authority.get(key) for key in ("country", "contact_point", "reference")}
