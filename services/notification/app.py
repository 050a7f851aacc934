"""The notification application: what is owed to whom, and that it was delivered.

Every cause (a receipt, a decision, a reminder, an alert) becomes one ``OutgoingMessage`` with
a deterministic id, recorded before any attempt: e-mail over SMTP with retries and back-off,
or the console inbox. Duty alerts escalate along the roster until someone acknowledges.
Scheduled work (retries, escalation) is derived from recorded events, never from in-memory
timers, so a restart loses and repeats nothing.
"""

from __future__ import annotations

import logging
import secrets
import time
from datetime import datetime
from typing import Any

from eventsourcing.application import ProcessingEvent
from eventsourcing.persistence import IntegrityError

from cp247 import metrics
from cp247.clock import iso, parse_iso, utcnow
from cp247.config import ConfigurationError
from cp247.errors import Conflict, NotFound
from cp247.outbound import OutboundPolicy
from cp247.runtime.application import (
    ServiceApplication,
    command,
    every,
    load,
    query,
    require,
    retry_on_conflict,
)
from cp247.runtime.derivation import derive_key
from cp247.webhooks import WebhookClient, url_problem
from events import Message
from services.notification.channels import MAX_ATTEMPTS, SmtpChannel, SmtpSettings, backoff
from services.notification.domain import (
    DeferredFeedback,
    DutyAlert,
    OrderParties,
    OutgoingMessage,
    Receipt,
    RequesterNotice,
    alert_id_for,
    deferred_id_for,
    message_id_for,
    notice_id_for,
    parties_id_for,
    receipt_id_for,
)
from services.notification.roster import Roster, ack_token, check_ack_token
from services.notification.templates import render_for

OUR_CPS = ("police", "prosecution")
log = logging.getLogger(__name__)


class NotificationApplication(ServiceApplication):
    name = "notification"
    upstreams = ("intake", "isp_liaison", "preservation", "mla")
    # only the timeline and the audit read its events: a notice queued and sent go out
    # in one broker message
    relay_linger_seconds = 0.2
    policies = {
        "RequestReceived": "on_request_received",
        "RequestRefused": "on_refused",
        "Art296NoticeGiven": "on_art29_6_notice",
        "Art30DisclosurePending": "on_art30_pending",
        "DisclosureSent": "on_disclosure_sent",
        "EmergencyDecisionOverdue": "on_emergency_overdue",
        "OrderIssued": "on_feedback",
        "DataPreserved": "on_feedback",
        "DataUnavailable": "on_feedback",
        "MlaReminderDue": "on_follow_up",
        "FollowUpOverdue": "on_follow_up",
        "RequestWithdrawn": "on_withdrawn",
        "Art296DecisionRecorded": "on_art29_6_decision",
        "OrderApprovalRequested": "on_approval_requested",
        "DisclosureApprovalRequested": "on_approval_requested",
        "DisclosureReminderDue": "on_disclosure_clock",
        "DisclosureOverdue": "on_disclosure_clock",
        "OrderCoversRequest": "on_feedback",
        "OutgoingReceiptChaseDue": "on_outgoing_chase",
        "OurMlaReminderDue": "on_our_mla_clock",
        "OurMlaOverdue": "on_our_mla_clock",
        "ContactPointChangeProposed": "on_contact_point_change_proposed",
    }

    def __init__(self, env: dict[str, str] | None = None):
        super().__init__(env)
        self.roster = Roster.load(self.env.get("CP247_ROSTER") or None)
        settings = SmtpSettings.from_env(
            {k: v for k, v in self.env.items() if k.startswith("CP247_SMTP_")}
        )
        self.smtp = SmtpChannel(settings) if settings else None
        if self.smtp is None:
            log.warning("CP247_SMTP_HOST is not set: e-mail is off, messages wait in the inbox")
        if self.roster.is_default:
            log.warning("CP247_ROSTER is not set: alerts go to the built-in duty desks")
        master = _master_key(self.env.get("CP247_WEBHOOK_MASTER_KEY"))
        self.ack_secret = derive_key(master, b"ack-links")
        self.public_url = (self.env.get("CP247_PUBLIC_URL") or "http://127.0.0.1:8080").rstrip("/")
        self.contact_point = self.env.get("CP247_CONTACT_POINT") or "National 24/7 point of contact"
        # Optional: duty alerts also pushed, signed, to a paging or chat system.
        self.alert_webhook = self.env.get("CP247_ALERT_WEBHOOK") or None
        self.outbound = OutboundPolicy.from_env(self.env)
        if self.alert_webhook and (problem := url_problem(self.alert_webhook, self.outbound)):
            raise ConfigurationError(f"CP247_ALERT_WEBHOOK: {problem}")
        self.alert_webhook_secret = derive_key(master, b"alert-webhook")
        self.webhook_client = WebhookClient(timeout=5.0, policy=self.outbound)

    # --- receipts and duty alerts ----------------------------------------------------------
    def on_request_received(self, message: Message, processing: ProcessingEvent) -> None:
        request = message.payload
        cp = request["actor"]["role"] if request["actor"]["role"] in OUR_CPS else "police"
        now = parse_iso(message.recorded_at)
        if request["urgency"] == "emergency" or (  # legal-rule: p2-art9-duty-alert
            request["urgency"] == "urgent" and request["direction"] == "incoming"
        ):
            self._raise_alert(request, cp, now, processing)
        if request["direction"] != "incoming":
            return
        recipient = self._recipient(request)
        recipients = [recipient["email"]] if recipient.get("email") else []
        receipt = Receipt(
            notice_id=receipt_id_for(request["request_id"]),
            case_id=request["case_id"],
            request_id=request["request_id"],
            recipient=recipient,
            our_reference=request["our_reference"],
            channel=self._channel(recipients),  # the receipt message's own: the truth
        )
        duty = self.roster.on_duty(cp, now)
        self._queue(
            processing,
            cause=f"receipt|{request['request_id']}",
            case_id=request["case_id"],
            template="receipt",
            audience="requesting_cp",
            recipients=recipients,
            languages=(request.get("acknowledge_to") or {}).get("languages"),
            context={
                **self._requester_context(receipt),
                "received_at": request["received_at"],
                "time_zone": recipient.get("time_zone"),
                "duty_name": duty.name if duty else None,
                "duty_phone": duty.phone if duty and duty.phone else "-",
                "duty_email": duty.email if duty and duty.email else "-",
            },
        )
        processing.collect_events(receipt)
        # Always written with the receipt: feedback processed at the same moment from another
        # service then conflicts on this record and is retried, and sees the receipt.
        # The release also marks the receipt known on that record, and always writes to it:
        # feedback deferred at the same moment conflicts with it and is decided again.
        deferred = load(self.repository, deferred_id_for(request["request_id"]), DeferredFeedback)
        if deferred is None:
            deferred = DeferredFeedback(
                request_id=request["request_id"], case_id=request["case_id"]
            )
        for waiting in deferred.waiting:
            self._queue_to_requester(
                processing, receipt, waiting["cause"], waiting["template"], waiting["context"]
            )
        deferred.release(receipt.case_id, [w["cause"] for w in deferred.waiting])
        processing.collect_events(deferred)

    def _receipt_or_defer(
        self,
        processing: ProcessingEvent,
        request_id: str,
        case_id: str,
        cause: str,
        template: str,
        context: dict[str, Any],
    ) -> Receipt | None:
        """The request's receipt; while there is none here yet, keep the feedback for it."""
        receipt = load(self.repository, receipt_id_for(request_id), Receipt)
        if receipt is not None:
            return receipt
        deferred = load(self.repository, deferred_id_for(request_id), DeferredFeedback)
        deferred = deferred or DeferredFeedback(request_id=request_id, case_id=case_id)
        if deferred.receipt_known:  # recorded between the two reads: nothing to keep
            return load(self.repository, receipt_id_for(request_id), Receipt)
        if all(w["cause"] != cause for w in deferred.waiting):
            deferred.defer(case_id, cause, template, context)
            processing.collect_events(deferred)
        return None

    @staticmethod
    def _recipient(request: dict[str, Any]) -> dict[str, Any]:
        """The directory entry when the sender is known, else the authority as it wrote."""
        directory = request.get("acknowledge_to")
        authority = request["requesting_authority"]
        if directory:
            return {
                "country": directory["country"],
                "contact_point": directory.get("name"),
                "email": directory.get("email"),
                "time_zone": directory.get("time_zone"),
                "reference": authority.get("reference"),
            }
        return authority

    def _raise_alert(
        self, request: dict[str, Any], cp: str, now: datetime, processing: ProcessingEvent
    ) -> None:
        alert = DutyAlert(
            alert_id=alert_id_for(request["request_id"]),
            case_id=request["case_id"],
            request_id=request["request_id"],
            type=request["type"],
            urgency=request["urgency"],
            counterpart_country=request["counterpart_country"],
            reason=(
                "emergency request: imminent risk to life or safety"
                if request["urgency"] == "emergency"
                else "urgent incoming request"
            ),
            our_reference=request["our_reference"],
        )
        self._alert_next(alert, cp, now, processing)

    def _alert_next(
        self, alert: DutyAlert, cp: str, now: datetime, processing: ProcessingEvent | None
    ) -> bool:
        person = self.roster.next_to_alert(cp, now, list(alert.alerted))
        if person is None:
            return False
        escalation = bool(alert.alerted)
        alert.alert(cp, person.id, person.name, iso(now))
        token = ack_token(alert.alert_id, person.id, self.ack_secret)
        url = f"{self.public_url}/api/v1/alerts/ack?token={token}"
        minutes = int(self.roster.escalate_after(cp).total_seconds() // 60)
        context = {
            "our_reference": alert.our_reference,
            "type": alert.type,
            "urgency": alert.urgency,  # an emergency is worded as one, urgent as urgent
            "counterpart_country": alert.counterpart_country,
            "acknowledge_url": url,
        }
        if escalation:
            context["minutes"] = minutes
        queued = self._message(
            cause=f"alert|{alert.alert_id}|{person.id}",
            case_id=alert.case_id,
            template="duty_escalation" if escalation else "duty_alert",
            audience="duty_officer",
            recipients=[person.email] if person.email else [],
            languages=person.languages,
            context=context,
        )
        pushed = self._webhook_twin(queued)
        if processing is not None:
            processing.collect_events(alert, queued, *pushed)
        else:
            self.save(alert, queued, *pushed)
        return True

    def _webhook_twin(self, message: OutgoingMessage) -> list[OutgoingMessage]:
        """The same alert pushed to ``CP247_ALERT_WEBHOOK``, as its own delivery."""
        if not self.alert_webhook:
            return []
        return [
            OutgoingMessage(
                message_id=message_id_for(f"{message.cause}|webhook"),
                case_id=message.case_id,
                cause=f"{message.cause}|webhook",
                template=message.template,
                language=message.language,
                audience=message.audience,
                recipients=[self.alert_webhook],
                subject=message.subject,
                body=message.body,
                channel="webhook",
            )
        ]

    @every(30)  # the next person, for alerts nobody took in time
    def escalate(self, now: datetime | None = None) -> int:
        """Alert the next person for every alert nobody acknowledged in time."""
        now = now or utcnow()
        escalated = 0
        for alert in self.still_open(DutyAlert, lambda a: a.acknowledged is None):
            if alert.acknowledged or not alert.last_alerted_at or alert.cp is None:
                continue
            if now - parse_iso(alert.last_alerted_at) < self.roster.escalate_after(alert.cp):
                continue
            try:
                escalated += self._alert_next(alert, alert.cp, now, None)
            except IntegrityError:
                continue  # acknowledged or escalated meanwhile
        return escalated

    @command
    @retry_on_conflict
    def acknowledge_alert(self, alert_id: str, username: str, via: str = "console") -> dict:
        alert = require(self.repository, alert_id, DutyAlert, "alert")
        if alert.acknowledge(username, iso(utcnow()), via):
            self.save(alert)
        return self.alert_view(alert)

    @query
    def alert_link(self, token: str) -> dict:
        """What an alert e-mail's link shows before anyone presses its button. Opening the
        link changes nothing: mail scanners fetch links on their own."""
        alert, _ = self._alert_of_link(token)
        return self.link_view(alert)

    @command
    @retry_on_conflict
    def acknowledge_by_link(self, token: str) -> dict:
        alert, person_id = self._alert_of_link(token)
        if alert.acknowledge(person_id, iso(utcnow()), "link"):
            self.save(alert)
        return self.link_view(alert)

    def _alert_of_link(self, token: str) -> tuple[DutyAlert, str]:
        checked = check_ack_token(token, self.ack_secret)
        if checked is None:
            raise NotFound("this acknowledgement link is not valid")
        alert_id, person_id = checked
        return require(self.repository, alert_id, DutyAlert, "alert"), person_id

    @staticmethod
    def link_view(alert: DutyAlert) -> dict[str, Any]:
        """An alert as its link's page and answer show it: whoever holds the link (a mail
        scanner, a forwarded e-mail) learns neither the case nor the request."""
        return {"alert_id": alert.alert_id, "acknowledged": alert.acknowledged}

    @query
    def open_alerts(self) -> list[dict[str, Any]]:
        """Alerts nobody took yet, the one to escalate soonest first."""
        waiting = self.still_open(DutyAlert, lambda a: a.acknowledged is None)
        views = [self.alert_view(a) for a in waiting if a.acknowledged is None]
        return sorted(views, key=lambda v: v["escalates_at"] or v["raised_at"])

    def alert_view(self, alert: DutyAlert) -> dict[str, Any]:
        escalates_at = None
        if alert.acknowledged is None and alert.last_alerted_at and alert.cp is not None:
            after = self.roster.escalate_after(alert.cp)
            escalates_at = iso(parse_iso(alert.last_alerted_at) + after)
        return {
            "alert_id": alert.alert_id,
            "case_id": alert.case_id,
            "our_reference": alert.our_reference,
            "type": alert.type,
            "counterpart_country": alert.counterpart_country,
            "status": alert.status,
            "cp": alert.cp,
            "alerted": list(alert.alerted),
            "raised_at": iso(alert.created_on),
            "last_alerted_at": alert.last_alerted_at,
            "escalates_at": escalates_at,  # null once taken, or when nobody is left to wake
            "acknowledged": alert.acknowledged,
        }

    # --- decisions and feedback to the requesting CP ----------------------------------------
    def _end_feedback(self, message: Message, processing: ProcessingEvent, why: str) -> None:
        """A refused or withdrawn request: nothing more leaves for it (no disclosure)."""
        receipt = load(self.repository, receipt_id_for(message.payload["request_id"]), Receipt)
        if receipt is not None and receipt.ended is None:
            receipt.end(receipt.case_id, receipt.request_id, why)
            processing.collect_events(receipt)

    def on_withdrawn(self, message: Message, processing: ProcessingEvent) -> None:
        if message.payload["direction"] != "incoming":
            return  # ours: the officer tells the foreign CP on the channel used
        self._tell_requester(
            message, processing, "withdrawal",
            "The withdrawal of your request is recorded; its preservation has ended.", {},
        )  # fmt: skip
        self._end_feedback(message, processing, "withdrawn")

    def on_art29_6_decision(self, message: Message, processing: ProcessingEvent) -> None:
        if message.payload["decision"] == "withdraw":
            self._end_feedback(message, processing, "withdrawn after the Art 29(6) notice")

    def on_approval_requested(self, message: Message, processing: ProcessingEvent) -> None:
        """The approver is told at once that an order waits for them (national policy)."""
        order = message.payload
        self._queue_to_duty(
            processing, message, "prosecution",
            cause=f"approval_needed|{order['order_id']}",
            case_id=order["case_id"],
            template="approval_needed",
            audience="prosecutor",
            context={
                **self._about_case(order["case_id"]),
                "provider": order.get("provider_id") or "-",
                "reason": order["reason"],
                "kind": "disclosure" if message.event.startswith("Disclosure") else "preservation",
            },
        )  # fmt: skip

    def on_disclosure_clock(self, message: Message, processing: ProcessingEvent) -> None:
        """A disclosure order unanswered as its due-by nears: the duty prosecutor is told;
        once it passed, both CPs' duty officers are (the escalation)."""
        order = message.payload
        overdue = message.event == "DisclosureOverdue"
        template = "disclosure_overdue" if overdue else "disclosure_due"
        context: dict[str, Any] = {
            **self._about_case(order["case_id"]),
            "provider": order["provider_id"],
            "due_by": order["due_by"],
        }
        if not overdue:
            context["offset_hours"] = order["offset_hours"]
        for cp in ("prosecution", "police") if overdue else ("prosecution",):
            self._queue_to_duty(
                processing, message, cp,
                cause=f"{template}|{order['order_id']}|{order.get('offset_hours', 0)}|{cp}",
                case_id=order["case_id"],
                template=template,
                audience="prosecutor" if cp == "prosecution" else "duty_officer",
                context=context,
            )  # fmt: skip

    def on_emergency_overdue(self, message: Message, processing: ProcessingEvent) -> None:
        """P2 Art 9: an emergency still undecided after the policy's minutes. The first time
        both CPs' duty officers are told; each time after, the next person up the roster of
        the CP that received it (backups, then the head of unit)."""
        clock = message.payload
        alert = load(self.repository, alert_id_for(clock["request_id"]), DutyAlert)
        cp = (alert.cp if alert is not None else None) or "police"
        fields: dict[str, Any] = {
            "case_id": clock["case_id"],
            "template": "emergency_overdue",
            "audience": "duty_officer",
            "context": {
                **self._about_case(clock["case_id"]),
                "our_reference": alert.our_reference if alert else clock["case_id"][:8],
                "counterpart_country": clock["counterpart_country"],
                "decide_by": clock["decide_by"],
                "level": clock["level"],
            },
        }
        if clock["level"] == 1:
            for duty_cp in OUR_CPS:
                cause = f"emergency_overdue|{clock['request_id']}|1|{duty_cp}"
                self._queue_to_duty(processing, message, duty_cp, cause=cause, **fields)
            return
        chain = self.roster.escalation_chain(cp, parse_iso(message.recorded_at))
        person = chain[min(clock["level"] - 1, len(chain) - 1)]
        self._queue(
            processing,
            cause=f"emergency_overdue|{clock['request_id']}|{clock['level']}",
            recipients=[person.email] if person.email else [],
            languages=person.languages,
            **fields,
        )

    def _about_case(self, case_id: str) -> dict[str, str]:
        """What a message to our own officers says of the case: its short id and its page."""
        return {"our_reference": case_id[:8],
                "case_url": f"{self.public_url}/console/cases/{case_id}"}  # fmt: skip

    def _queue_to_duty(
        self, processing: ProcessingEvent, message: Message, cp: str, **fields: Any
    ) -> None:
        """A message to whoever of ``cp`` is on duty when ``message`` was recorded."""
        duty = self.roster.on_duty(cp, parse_iso(message.recorded_at))
        self._queue(
            processing,
            recipients=[duty.email] if duty and duty.email else [],
            languages=duty.languages if duty else None,
            **fields,
        )

    def on_outgoing_chase(self, message: Message, processing: ProcessingEvent) -> None:
        """No foreign receipt for our request in time: our duty officer chases it."""
        chase = message.payload
        self._queue_to_duty(
            processing, message, chase["cp"],
            cause=f"outgoing_chase|{chase['request_id']}",
            case_id=chase["case_id"],
            template="outgoing_chase",
            audience="duty_officer",
            context={
                **self._about_case(chase["case_id"]),
                "counterpart_country": chase["country"],
                "sent_at": chase["chase_at"],
            },
        )  # fmt: skip

    def on_our_mla_clock(self, message: Message, processing: ProcessingEvent) -> None:
        """Preserved abroad: our duty prosecutor must send our MLA request before expiry."""
        clock = message.payload
        overdue = message.event == "OurMlaOverdue"
        template = "mla_overdue" if overdue else "mla_reminder"
        context: dict[str, Any] = {
            "provider": f"the provider in {clock['country']}",
            "expires_at": clock["due_by"],
            "action": "send our MLA request to "
            f"{clock['country']} and record it on the case (direction outgoing)",
        }
        if not overdue:
            context.update(days_left=clock["days_left"], mla_reference=None)
        self._queue_to_duty(
            processing, message, "prosecution",
            cause=f"our_{template}|{clock['request_id']}|{clock.get('offset_days', 0)}",
            case_id=clock["case_id"],
            template=template,
            audience="prosecutor",
            context={"our_reference": clock["case_id"][:8], "their_reference": None,
                     "contact_point": self.contact_point, **context},
        )  # fmt: skip

    def on_contact_point_change_proposed(
        self, message: Message, processing: ProcessingEvent
    ) -> None:
        """The foreign CP is told, at the address in effect, that someone proposed to change
        where we write to it: a redirection by an insider does not go unseen by those it
        would cut off, and they can tell our duty officer before a second officer confirms."""
        change = message.payload
        duty = self.roster.on_duty("police", parse_iso(message.recorded_at))
        self._queue(
            processing,
            cause=f"directory_change|{change['change_id']}",
            case_id="",  # about no case
            template="directory_change",
            audience="contact_point",
            recipients=[change["notify"]],
            languages=change["languages"],
            context={
                "our_reference": f"DIR-{change['change_id'][:8].upper()}",
                "contact_point": self.contact_point,
                "entry_name": change["name"],
                "changes": [
                    {"field": key, "old": change["previous"].get(key), "new": value}
                    for key, value in change["changes"].items()
                ],
                "proposed_at": change["proposed_at"],
                "duty_phone": duty.phone if duty and duty.phone else "-",
                "duty_email": duty.email if duty and duty.email else "-",
            },
        )

    def on_refused(self, message: Message, processing: ProcessingEvent) -> None:
        self._end_feedback(message, processing, "refused")
        grounds = ", ".join(message.payload["grounds"])
        self._tell_requester(
            message, processing, "refusal",
            f"The request was refused on these grounds: {grounds}. "
            f"{message.payload['explanation']}",
            {"grounds": message.payload["grounds"], "explanation": message.payload["explanation"]},
        )  # fmt: skip

    def on_art29_6_notice(self, message: Message, processing: ProcessingEvent) -> None:
        self._tell_requester(
            message, processing, "art29_6_notice",
            f"Art 29(6) notice ({message.payload['reason']}): "
            f"{message.payload['explanation']} Please tell us whether to proceed.",
            {"reason": message.payload["reason"], "explanation": message.payload["explanation"]},
        )  # fmt: skip

    def on_art30_pending(self, message: Message, processing: ProcessingEvent) -> None:
        """Art 30: a provider's report waits; the duty prosecutor decides what leaves."""
        report = message.payload
        self._queue_to_duty(
            processing, message, "prosecution",
            cause=f"art30_decision|{report['disclosure_id']}",
            case_id=report["case_id"],
            template="art30_decision",
            audience="prosecutor",
            context={
                **self._about_case(report["case_id"]),
                "provider": report["provider_id"],
                "country": report["country"],
            },
        )  # fmt: skip

    def on_disclosure_sent(self, message: Message, processing: ProcessingEvent) -> None:
        """What a prosecutor let leave, told the requesting CP with its conditions (Art 28(2),
        P2 Art 9(6)) and, for files, each one's SHA-256."""
        sent = message.payload
        receipt = load(self.repository, receipt_id_for(sent["request_id"]), Receipt)
        # legal-rule: refusal-blocks-disclosure
        if receipt is not None and receipt.ended is not None:
            return  # refused or withdrawn since: nothing leaves for it
        conditions = sent["conditions"] or None
        if sent["kind"] == "art30":
            content = sent["content"]
            self._tell_requester(  # legal-rule: art30-partial-disclosure
                message, processing, "art30_disclosure",
                f"Art 30 partial disclosure: {content['provider_name']} ({content['country']}) "
                f"was in the communication chain. Path: {content['path'] or 'not given'}.",
                {"provider": content["provider_name"], "country": content["country"],
                 "path": content["path"], "conditions": conditions},
            )  # fmt: skip
            return
        digests = ", ".join(f"{f['name']} {f['sha256']}" for f in sent["files"])
        self._tell_requester(
            message, processing, "production_disclosure",
            f"Data disclosed under conditions; SHA-256 of each file: {digests}.",
            {"files": [{k: f[k] for k in ("name", "size", "sha256")} for f in sent["files"]],
             "conditions": conditions},
        )  # fmt: skip

    def _tell_requester(
        self,
        message: Message,
        processing: ProcessingEvent,
        subject: str,
        text: str,
        context: dict[str, Any],
    ) -> None:
        cause = f"{subject}|{message.source}#{message.notification_id}"
        # Not received yet here, or an outgoing request (our own units are the requester, and
        # then the feedback simply waits unused).
        receipt = self._receipt_or_defer(
            processing, message.payload["request_id"], message.payload["case_id"],
            cause, subject, context,
        )  # fmt: skip
        if receipt is None:
            return
        processing.collect_events(
            RequesterNotice(
                notice_id=notice_id_for(
                    message.payload["request_id"], subject, message.notification_id
                ),
                case_id=message.payload["case_id"],
                request_id=message.payload["request_id"],
                recipient=receipt.recipient,
                subject=subject,
                text=text,
                channel=receipt.channel,
            )
        )
        self._queue_to_requester(processing, receipt, cause, subject, context)

    def on_feedback(self, message: Message, processing: ProcessingEvent) -> None:
        """Feedback on action taken: order issued, data preserved or not available."""
        payload = message.payload
        if payload.get("kind") == "disclosure":
            return  # what leaves about a disclosure is an officer's transmission (issue 20)
        if message.event == "OrderCoversRequest":
            self._note_party(payload, processing)
            if not payload["issued"]:
                return  # not issued yet: its issue tells every Party
        if message.event == "OrderIssued":
            for other in (payload.get("request_ids") or [])[1:]:  # every requesting Party
                self._feedback(processing, {**payload, "request_id": other}, "order_issued", True)
        if not payload.get("request_id"):
            return
        template = {"OrderIssued": "order_issued", "DataPreserved": "data_preserved",
                    "DataUnavailable": "data_unavailable",
                    "OrderCoversRequest": "order_issued"}[message.event]  # fmt: skip
        self._feedback(processing, payload, template, message.event == "OrderCoversRequest")
        if message.event in ("DataPreserved", "DataUnavailable"):  # every other Party too
            parties = load(self.repository, parties_id_for(payload["order_id"]), OrderParties)
            for other in parties.request_ids if parties else []:
                self._feedback(processing, {**payload, "request_id": other}, template, True)

    def _note_party(self, payload: dict[str, Any], processing: ProcessingEvent) -> None:
        """Remember another Party of the order, for the provider's later reports."""
        parties = load(self.repository, parties_id_for(payload["order_id"]), OrderParties)
        parties = parties or OrderParties(order_id=payload["order_id"], case_id=payload["case_id"])
        if payload["request_id"] not in parties.request_ids:
            parties.note(parties.order_id, parties.case_id, payload["request_id"])
            processing.collect_events(parties)

    def _feedback(
        self, processing: ProcessingEvent, payload: dict, template: str, party: bool = False
    ) -> None:
        """Feedback to one requesting Party; ``party``: not the order's first request."""
        context: dict[str, Any] = {"provider": payload["provider_id"]}
        if template == "data_unavailable":
            context["reason"] = payload["reason"]
        elif template == "data_preserved":  # the report's time, and the period's end if known
            context.update(preserved_at=payload["preserved_at"],
                           expires_at=payload.get("expires_at"))  # fmt: skip
        else:
            context["expires_at"] = self._expiry(payload)
        cause = f"{template}|{payload['order_id']}"
        if party:  # each requesting Party gets its own feedback
            cause = f"{cause}|{payload['request_id']}"
        if payload.get("direction", "incoming") == "incoming":
            receipt = self._receipt_or_defer(
                processing, payload["request_id"], payload["case_id"], cause, template, context
            )
        else:
            receipt = load(self.repository, receipt_id_for(payload["request_id"]), Receipt)
        if receipt is None:
            return
        self._queue_to_requester(processing, receipt, cause, template, context)

    def _expiry(self, payload: dict[str, Any]) -> str:
        return payload.get("expires_at") or payload.get("preserved_at") or iso(utcnow())

    def on_follow_up(self, message: Message, processing: ProcessingEvent) -> None:
        """MLA reminders and overdue follow-ups: to the requesting CP for an incoming request,
        to our prosecution duty officer for an outgoing one."""
        follow_up = message.payload
        overdue = message.event == "FollowUpOverdue"
        template = "mla_overdue" if overdue else "mla_reminder"
        cause = f"{template}|{follow_up['follow_up_id']}|{follow_up.get('offset_days', 0)}"
        context: dict[str, Any] = {
            "provider": "-",
            "expires_at": follow_up["due_by"],
            "action": "send the MLA request now, or ask for the order to be extended"
            if follow_up["direction"] == "incoming"
            else "send our MLA request, or have the preservation extended",
        }
        if not overdue:
            context.update(days_left=follow_up["days_left"], mla_reference=None)
        if follow_up["direction"] == "incoming" and follow_up.get("request_id"):
            receipt = self._receipt_or_defer(
                processing, follow_up["request_id"], follow_up["case_id"], cause, template,
                context,
            )  # fmt: skip
            if receipt is not None:
                self._queue_to_requester(processing, receipt, cause, template, context)
            return
        duty = self.roster.on_duty("prosecution", parse_iso(message.recorded_at))
        self._queue(
            processing,
            cause=cause,
            case_id=follow_up["case_id"],
            template=template,
            audience="prosecutor",
            recipients=[duty.email] if duty and duty.email else [],
            languages=duty.languages if duty else None,
            context={"our_reference": follow_up["case_id"][:8], "their_reference": None,
                     "contact_point": self.contact_point, **context},
        )  # fmt: skip

    def _requester_context(self, receipt: Receipt) -> dict[str, Any]:
        return {
            "our_reference": receipt.our_reference,
            "their_reference": receipt.recipient.get("reference"),
            "contact_point": self.contact_point,
        }

    def _queue_to_requester(
        self,
        processing: ProcessingEvent,
        receipt: Receipt,
        cause: str,
        template: str,
        context: dict[str, Any],
    ) -> None:
        email = receipt.recipient.get("email")
        self._queue(
            processing,
            cause=cause,
            case_id=receipt.case_id,
            template=template,
            audience="requesting_cp",
            recipients=[email] if email else [],
            languages=receipt.recipient.get("languages"),
            context={**self._requester_context(receipt), **context},
        )

    # --- messages and their delivery --------------------------------------------------------
    def _channel(self, recipients: list[str]) -> str:
        """E-mail with SMTP and an address; else the console inbox (sent by hand from there)."""
        return "email" if self.smtp and recipients else "inbox"

    def _message(
        self,
        *,
        cause: str,
        case_id: str,
        template: str,
        audience: str,
        recipients: list[str],
        languages: Any,
        context: dict[str, Any],
    ) -> OutgoingMessage:
        rendered = render_for(template, languages, context)
        return OutgoingMessage(
            message_id=message_id_for(cause),
            case_id=case_id,
            cause=cause,
            template=template,
            language=rendered.language,
            audience=audience,
            recipients=recipients,
            subject=rendered.subject,
            body=rendered.body,
            # Without SMTP or an address, the message waits in the console inbox.
            channel=self._channel(recipients),
        )

    def _queue(self, processing: ProcessingEvent, **fields: Any) -> None:
        cause = fields["cause"]
        if load(self.repository, message_id_for(cause), OutgoingMessage) is not None:
            return  # that cause was handled already: never the same message twice
        processing.collect_events(self._message(**fields))

    def _send(self, message: OutgoingMessage, now: float) -> Any:
        if message.channel == "webhook":
            return self.webhook_client.post(
                message.recipients[0], self.alert_webhook_secret, f"cp247.{message.template}",
                message.message_id,
                {"case_id": message.case_id, "template": message.template,
                 "subject": message.subject, "body": message.body},
                now,
            )  # fmt: skip
        return self.smtp.send(message.recipients, message.subject, message.body,
                              message.message_id, None)  # fmt: skip

    @every(2, outward=True, prompt=True)  # e-mail what is due, at once (retries: back-off)
    def deliver_messages(self, now: float | None = None) -> int:
        """Attempt every e-mail or push that is due; returns how many were attempted.

        One replica at a time, so that two replicas never send the same message at once.
        """
        if self.smtp is None and not self.alert_webhook:
            return 0
        with self.exclusive("deliver_messages") as mine:
            return self._deliver_due(time.time() if now is None else now) if mine else 0

    def _deliver_due(self, now: float) -> int:
        attempted = 0
        for queued in self.still_open(OutgoingMessage, lambda m: m.state == "pending"):
            if queued.state != "pending" or queued.next_attempt_at > now:
                continue
            if queued.channel == "email" and self.smtp is None:
                continue
            outcome = self._send(queued, now)
            if outcome.ok:
                queued.sent(queued.message_id, queued.case_id, queued.attempt, queued.template,
                            receipt_request(queued.cause))  # fmt: skip
            elif outcome.retry and queued.attempt < MAX_ATTEMPTS:
                queued.attempt_failed(
                    queued.message_id, queued.case_id, queued.attempt,
                    outcome.error or "failed", now + backoff(queued.attempt),
                )  # fmt: skip
            else:
                queued.failed(
                    queued.message_id, queued.case_id, queued.attempt,
                    outcome.error or "failed", queued.template,
                )  # fmt: skip
                metrics.DEAD_LETTERS.labels(self.name).inc()
                try:
                    self.save(queued, *self._tell_duty_of_failure(queued, outcome.error))
                except IntegrityError:
                    continue
                attempted += 1
                continue
            try:
                self.save(queued)
            except IntegrityError:
                continue  # another replica attempted it at the same moment
            attempted += 1
        return attempted

    def _tell_duty_of_failure(self, failed: OutgoingMessage, error: str | None) -> list:
        """A message that could not be delivered is a duty officer's job now."""
        if failed.audience not in ("requesting_cp", "contact_point"):
            return []  # a failed alert to a person is escalated anyway
        cause = f"delivery_failed|{failed.message_id}"
        if load(self.repository, message_id_for(cause), OutgoingMessage) is not None:
            return []
        duty = self.roster.on_duty("police", utcnow())
        return [
            self._message(
                cause=cause,
                case_id=failed.case_id,
                template="delivery_failed",
                audience="duty_officer",
                recipients=[duty.email] if duty and duty.email else [],
                languages=duty.languages if duty else None,
                context={
                    "our_reference": None,
                    "recipients": failed.recipients,
                    "message_subject": failed.subject,
                    "attempts": failed.attempt,
                    "error": error or "failed",
                },
            )
        ]

    @query
    def inbox(self, audiences: tuple[str, ...] = ("duty_officer", "prosecutor")) -> list[dict]:
        """The console inbox: messages to our own people, and those waiting to be sent by hand."""
        items = [
            self._inbox_item(m)
            for m in self.created(OutgoingMessage.MessageQueued)
            if self._in_inbox(m, audiences)
        ]
        return list(reversed(items))

    @staticmethod
    def _in_inbox(m: OutgoingMessage, audiences: tuple[str, ...]) -> bool:
        return m.channel != "webhook" and (m.audience in audiences or m.channel == "inbox")

    @staticmethod
    def _inbox_item(m: OutgoingMessage) -> dict[str, Any]:
        return {
            "message_id": m.message_id,
            "case_id": m.case_id,
            "template": m.template,
            "audience": m.audience,
            "recipients": m.recipients,
            "subject": m.subject,
            "body": m.body,
            "state": m.state,
            "created_at": iso(m.created_on),
        }

    @query
    def messages_of_case(self, case_id: str) -> list[dict[str, Any]]:
        audiences = ("requesting_cp", "duty_officer", "prosecutor")
        messages = self.of_case(OutgoingMessage, case_id)
        return [self._inbox_item(m) for m in reversed(messages) if self._in_inbox(m, audiences)]

    @retry_on_conflict
    def mark_read(self, message_id: str, username: str) -> dict[str, Any]:
        queued = require(self.repository, message_id, OutgoingMessage, "message")
        if username in queued.read_by:
            raise Conflict("already read")
        queued.mark_read(queued.message_id, queued.case_id, username)
        self.save(queued)
        return {"message_id": message_id, "read_by": queued.read_by}


def receipt_request(cause: str) -> str | None:
    """The request a receipt message confirms (its cause is ``receipt|<request id>``): the
    oversight figures count the receipt when it is delivered, not when it is queued."""
    kind, _, request_id = cause.partition("|")
    return request_id if kind == "receipt" and request_id else None


def _master_key(configured: str | None) -> bytes:
    """The webhook master key the runner passes; without one (an application made by hand,
    in a unit test) a random key of this process: never a fixed one, which would let anyone
    forge acknowledgement links."""
    if configured:
        return bytes.fromhex(configured)
    log.warning("no CP247_WEBHOOK_MASTER_KEY: acknowledgement links hold for this process only")
    return secrets.token_bytes(32)
