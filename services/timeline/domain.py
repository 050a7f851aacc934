"""A case's timeline: every step any service took, in the order it was learnt, each entry
chained to the one before by SHA-256 so that a changed or removed entry shows."""

from __future__ import annotations

import hashlib
import json
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

TIMELINE_NAMESPACE = uuid5(NAMESPACE_URL, "https://cp247.example/timelines")
GENESIS = "0" * 64

# Summaries name no personal field (events/fields.py PERSONAL): the timeline keeps its words
# when retention erases a case's personal data, so its chain verifies ever after.
SUMMARIES: dict[str, str] = {
    "CaseOpened": "Case opened: {type}, {direction}, counterpart {counterpart_country}",
    "RequestReceived": "Request registered: {type} {direction} via {received_via} "
    "({counterpart_country}), our reference {our_reference}",
    "DuplicateDetected": "Same request received again via {received_via}; no new case",
    "ReceiptAcknowledged": "Receipt acknowledged to the requesting CP ({channel}), "
    "reference {our_reference}",
    "OrderDrafted": "Preservation order drafted for provider {provider_id} ({period_days} days)",
    "OrderApprovalRequested": "Order awaits a prosecutor's approval: {reason}",
    "OrderApproved": "Order approved",
    "OrderIssued": "Preservation order issued to {provider_id}, expires {expires_at}",
    "OrderDelivered": "Order delivered to provider {provider_id} ({channel}); signed document "
    "{document[number]}, SHA-256 {document[sha256]}, key {document[key_id]}",
    "OrderDocumentSigned": "Order document {number} signed, SHA-256 {sha256}, key {key_id}",
    "WebhookScheduled": "Webhook push to the provider scheduled",
    "WebhookAttempted": "Webhook push attempt {attempt}: {state}",
    "ProviderAcknowledgedOrder": "Provider {provider_id} acknowledged the order",
    "OrderAcknowledged": "Provider acknowledgement recorded on the order",
    "MlaExpected": "MLA request expected before {due_by}",
    "CaseLeadAssigned": "Lead: {lead} CP",
    "OrderDeliveryRecorded": "Order in the provider's inbox ({channel})",
    "OrderOutcomeRecorded": "Provider reports the data {outcome}",
    "OrderExtended": "Preservation extended by {days} days, until {expires_at}",
    "OrderReleased": "Order released: {reason}",
    "OrderHeldForMla": "MLA received: the order is held until it is decided (Art 29(7))",
    "OrderHoldLifted": "MLA decided ({decision}): the hold is lifted",
    "OrderExpired": "Preservation period ended at {expired_at}",
    "DataPreserved": "Provider {provider_id} preserved the data",
    "DataUnavailable": "Provider {provider_id}: data not available ({reason})",
    "ForeignProviderReported": "Art 30: {provider_name} ({country}) was in the chain",
    "FollowUpDueMoved": "MLA now due before {due_by}",
    "FollowUpClosed": "No MLA follow-up needed any more ({reason})",
    "FollowUpLinked": "MLA request linked to the preservation ({mla_status})",
    "MlaReminderDue": "Reminder: no MLA request yet, {days_left} days before the order expires",
    "FollowUpOverdue": "MLA follow-up overdue: the order expired at {due_by} without MLA",
    "ExtensionSuggested": "MLA under way and the order expires {due_by}: extension suggested",
    "DutyOfficerAlerted": "Duty officer {person_name} ({cp} CP) alerted",
    "EscalationRaised": "Not acknowledged in time: escalated to {person_name} (level {level})",
    "DutyAlertAcknowledged": "Alert taken by {by} ({via})",
    "MessageQueued": "Message to {audience}: {subject} ({channel})",
    "MessageAttemptFailed": "Delivery attempt {attempt} failed: {error}; retrying",
    "NotificationSent": "Message delivered ({template})",
    "NotificationFailed": "Message could not be delivered after {attempt} attempts: {error}",
    "MessageRead": "Message read by {username}",
    "MlaRecorded": "MLA request {direction} recorded ({stage}, {authority}), {status}",
    "MlaStatusChanged": "MLA request now {status}",
    "OrderLinkedToMla": "Order {order_id:.8} issued after the MLA request: covered by it "
    "({mla_status})",
    "RelatedRequestJoined": "Near-duplicate of request {matched_request_id} joined; to confirm",
    "NearDuplicateResolved": "Near-duplicate {request_id} {resolution}",
    "RequestMovedToCase": "Request moved to case {case_id}",
    "RequestRefused": "Request refused ({grounds})",
    "Art296NoticeGiven": "Art 29(6) notice ({reason})",
    "DutyAlertRaised": "Duty officer alerted: {reason}",
    "RequesterNotified": "Requesting CP informed ({subject}) by {channel}",
    "RequestWithdrawn": "Request withdrawn ({direction})",
    "Art296DecisionRecorded": "Requesting Party's decision after the Art 29(6) notice: {decision}",
    "RequestOrderDeclined": "No order for this request: the reason is recorded",
    "OutgoingRequestSent": "Our request sent to {counterpart_country} by {channel} at {at}; "
    "chase if no receipt by {chase_at}",
    "ForeignReceiptRecorded": "Foreign CP confirmed receipt at {at}",
    "ForeignAnswerRecorded": "Foreign CP answered: {outcome}",
    "RequestClosed": "Request {request_id:.8} closed with its case",
    "CaseClosed": "Case closed",
    "CaseReopened": "Case reopened: request {request_id:.8} joined it",
    "RequestJoinedCase": "Request {request_id:.8} joined the case ({relation} of {related_to:.8})",
    "OrderCoversRequest": "Order for {provider_id} also preserves for request {request_id:.8}",
    "OurMlaClockStarted": "Preserved abroad until {due_by}: our MLA request is due before then",
    "OutgoingFollowUpClosed": "Nothing more to chase for our request ({reason})",
    "OutgoingReceiptChaseDue": "No receipt from {country} by {chase_at}: duty officer to chase",
    "OurMlaReminderDue": "Reminder: our MLA request to {country} is due in {days_left} days",
    "OurMlaOverdue": "Our MLA request to {country} is overdue: the preservation ended {due_by}",
    "OrderRequestDropped": "Order no longer preserves for request {request_id:.8} ({reason})",
    "DisclosureOrderDrafted": "Disclosure order drafted for provider {provider_id}, due by "
    "{due_by}",
    "DisclosureApprovalRequested": "Disclosure order awaits a prosecutor's approval: {reason}",
    "DisclosureOrderApproved": "Disclosure order approved",
    "DisclosureOrderIssued": "Disclosure order issued to {provider_id}, due by {due_by}",
    "DataProduced": "Provider {provider_id} produced data for the disclosure order, production "
    "{production_id:.8}, SHA-256 of each file: {sha256s}",
    "DisclosureReminderDue": "Disclosure order unanswered, due by {due_by}: reminded "
    "({offset_hours} hours before)",
    "DisclosureOverdue": "Disclosure order overdue since {due_by}: escalated",
    "DisclosureOrderWithdrawn": "Disclosure order withdrawn ({reason}); the provider is told",
    "ProductionFileRead": "Produced file of production {production_id:.8} downloaded by "
    "{actor[username]} ({actor[role]}), SHA-256 {sha256}",
    "ProductionExported": "Court package of production {production_id:.8} exported by "
    "{actor[username]} ({actor[role]}), SHA-256 of the package {package_sha256}",
    "MlaAuthorised": "MLA request authorised by {authorisation[authority]} on "
    "{authorisation[date]} (ref. {authorisation[reference]})",
    "MlaLinkedToRequest": "MLA record linked to request {request_id:.8}",
    "EmergencyClockStarted": "Emergency (P2 Art 9) from {counterpart_country}: to be decided "
    "by {decide_by}",
    "EmergencyDecided": "Emergency decided ({how}) after {minutes_taken} minutes",
    "EmergencyDecisionOverdue": "Emergency undecided since {decide_by}: escalated (step {level})",
    "Art30DisclosurePending": "Art 30: {provider_name} ({country}) was in the chain; nothing "
    "leaves for the requesting Party until a prosecutor decides",
    "DisclosureSent": "Disclosed to the requesting Party ({recipient[country]}) under "
    "conditions (confidential: {conditions[confidential]}, further transfer: "
    "{conditions[further_transfer]}); SHA-256 of each file: {sha256s}",
    "DisclosureWithheld": "Disclosure ({kind}) withheld from the requesting Party: {grounds}",
}

# Where one payload value changes what happened, the words for that value: (event, field) ->
# {value: summary}; any other value keeps SUMMARIES' words (so entries already recorded with
# them still verify). A message in the console inbox has not reached the requesting CP: no
# SMTP, or no address, and someone must send it by hand.
_BY_HAND = "console inbox: to be sent by hand"
SUMMARY_VARIANTS: dict[tuple[str, str], dict[str | None, str]] = {
    # Since issue 20 an MLA request says what it is for (records before it: the words above).
    ("MlaRecorded", "kind"): {
        kind: f"MLA request ({article}) {{direction}} recorded ({{stage}}, {{authority}}), "
        "{status}"
        for kind, article in (
            ("stored_data", "Art 31"),
            ("realtime_traffic", "Art 33"),
            ("interception", "Art 34"),
        )
    },
    ("DisclosureSent", "kind"): {
        "art30": "Art 30 disclosure sent to the requesting Party ({recipient[country]}): "
        "the other provider and the path, as the prosecutor approved"
    },
    # Since issue 19 the document is signed beside delivery: OrderDocumentSigned has it.
    ("OrderDelivered", "document"): {None: "Order delivered to provider {provider_id} ({channel})"},
    ("ReceiptAcknowledged", "channel"): {
        "inbox": f"Receipt to the requesting CP queued ({_BY_HAND}), reference {{our_reference}}",
    },
    ("RequesterNotified", "channel"): {
        "inbox": f"Notice to the requesting CP queued ({{subject}}; {_BY_HAND})",
    },
}


def summary_template(event_name: str, payload: dict[str, Any]) -> str | None:
    """The summary's format string for this event and payload (None: not summarised)."""
    for (name, field), variants in SUMMARY_VARIANTS.items():
        value = payload.get(field)
        if name == event_name and (value is None or isinstance(value, str)) and value in variants:
            return variants[value]
    return SUMMARIES.get(event_name)


def summarise(event_name: str, payload: dict[str, Any]) -> str:
    template = summary_template(event_name, payload)
    if template is None:
        return event_name
    try:
        return template.format(**payload)
    except (KeyError, IndexError):
        return event_name


def timeline_id(case_id: str) -> UUID:
    return uuid5(TIMELINE_NAMESPACE, case_id)


def entry_hash(prev_hash: str, entry: dict[str, Any]) -> str:
    """SHA-256 over the previous hash and the entry's canonical JSON."""
    canonical = json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256((prev_hash + canonical).encode()).hexdigest()


def sort_key(entry: dict[str, Any]) -> tuple[str, str, int]:
    """Recorded time first; ties broken by the producing service and its notification id."""
    return (entry["at"], entry["source"]["service"], entry["source"]["notification_id"])


class CaseTimeline(Aggregate):
    """What every service recorded about one case.

    Entries are stored as they are learnt, from several services at once; the chain is laid
    over them in recorded-time order, so it is the same however and whenever it is rebuilt.
    """

    @staticmethod
    def create_id(case_id: str, **_: Any) -> UUID:
        return timeline_id(case_id)

    @event("TimelineStarted")
    def __init__(self, case_id: str):
        self.case_id = case_id
        self.recorded: list[dict[str, Any]] = []
        self.milestones: dict[str, str] = {}

    @event("EntryRecorded")
    def record(
        self,
        at: str,
        actor: dict[str, str],
        service: str,
        event_name: str,
        summary: str,
        source: dict[str, Any],
        milestones: dict[str, str],
    ) -> None:
        self.milestones.update(milestones)
        self.recorded.append(
            {
                "at": at,
                "actor": actor,
                "service": service,
                "event": event_name,
                "summary": summary,
                "source": source,
            }
        )

    def entries(self) -> list[dict[str, Any]]:
        """The chained timeline, oldest first: ``entries[i].prev_hash == entries[i-1].hash``."""
        chained: list[dict[str, Any]] = []
        prev = GENESIS
        for seq, recorded in enumerate(sorted(self.recorded, key=sort_key), start=1):
            entry = {
                "seq": seq,
                "at": recorded["at"],
                "actor": recorded["actor"],
                "service": recorded["service"],
                "event": recorded["event"],
                "summary": recorded["summary"],
                "prev_hash": prev,
            }
            entry["hash"] = prev = entry_hash(prev, entry)
            chained.append(entry)
        return chained
