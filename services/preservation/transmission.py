"""What leaves for the requesting Party: a disclosure, under conditions.

Two kinds. A *production* disclosure hands over what a provider produced for the Party's
request: a prosecutor sends it, and the message states the conditions of use (Art 28(2),
P2 Art 9(6)) and each file's SHA-256. An *art30* disclosure is a provider's report that
another State's provider was in the communication chain (Art 30(1)): it waits, pending, until
a prosecutor approves it, trimmed to what identifies that provider and the path, or withholds
it on an Art 30(2) ground. Nothing leaves for a request refused or withdrawn: its pending
disclosures are withheld with it.
"""

from __future__ import annotations

import json
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from cp247.errors import Conflict

DISCLOSURE_NAMESPACE = uuid5(NAMESPACE_URL, "https://cp247.example/disclosures")
KINDS = ("production", "art30")
FURTHER_TRANSFER = ("forbidden", "with_consent")
# What an Art 30 disclosure may say: enough to identify the other provider and the path.
ART30_FIELDS = ("country", "provider_name", "path")


def production_disclosure_id(
    request_id: str, production_ids: list[str], conditions: dict[str, Any]
) -> str:
    """The same productions under the same conditions to the same request are one
    disclosure, however often the prosecutor presses send."""
    key = json.dumps([request_id, sorted(production_ids), conditions], sort_keys=True)
    return str(uuid5(DISCLOSURE_NAMESPACE, key))


def art30_disclosure_id(request_id: str, order_id: str, report: dict[str, Any]) -> str:
    """One pending disclosure per requesting Party for each distinct Art 30 report."""
    key = json.dumps([request_id, order_id, report], sort_keys=True)
    return str(uuid5(DISCLOSURE_NAMESPACE, key))


class Disclosure(Aggregate):
    @staticmethod
    def create_id(disclosure_id: str, **_: Any) -> UUID:
        return UUID(disclosure_id)

    @event("DisclosurePrepared")
    def __init__(
        self,
        disclosure_id: str,
        case_id: str,
        request_id: str,
        kind: str,
        order_id: str | None,
        content: dict[str, Any],
        files: list[dict[str, Any]],
        actor: dict[str, str],
    ):
        self.disclosure_id = disclosure_id
        self.case_id = case_id
        self.request_id = request_id
        self.kind = kind
        self.order_id = order_id
        self.content = content  # art30: what the provider reported (trimmed on approval)
        self.files = files  # production: each file with its production and SHA-256
        self.prepared_by = actor
        self.status = "pending"
        self.conditions: dict[str, Any] | None = None
        self.recipient: dict[str, Any] | None = None
        self.decided_by: dict[str, str] | None = None
        self.decided_at: str | None = None
        self.grounds: dict[str, Any] | None = None

    @classmethod
    def of_art30_report(
        cls, request_id: str, report: dict[str, Any], reported_at: str, actor: dict[str, str]
    ) -> Disclosure:
        """Art 30(1): a provider's report that another State's provider was in the chain
        waits for a prosecutor; nothing of it leaves by itself (Art 30(2))."""
        content = {
            "country": report["country"],
            "provider_name": report["provider_name"],
            "path": report["details"] or None,
            "reported_by": report["provider_id"],
        }
        disclosure = cls(
            disclosure_id=art30_disclosure_id(request_id, report["order_id"], content),
            case_id=report["case_id"],
            request_id=request_id,
            kind="art30",
            order_id=report["order_id"],
            content=content,
            files=[],
            actor=actor,
        )
        disclosure._art30_pending(
            disclosure.disclosure_id, disclosure.case_id, request_id, report["order_id"],
            report["provider_id"], report["country"], report["provider_name"],
            report["details"], reported_at,
        )  # fmt: skip
        return disclosure

    @event("Art30DisclosurePending")
    def _art30_pending(
        self,
        disclosure_id: str,
        case_id: str,
        request_id: str,
        order_id: str,
        provider_id: str,
        country: str,
        provider_name: str,
        details: str,
        reported_at: str,
    ) -> None:
        """Published for the duty prosecutor and the timeline; the state is the creation's."""

    # --- the decision --------------------------------------------------------------------
    def send(
        self,
        conditions: dict[str, Any],
        recipient: dict[str, Any],
        actor: dict[str, str],
        now: str,
        content: dict[str, Any] | None = None,
    ) -> None:
        """It leaves, under ``conditions``, for ``recipient`` (the requesting authority);
        for Art 30, ``content`` is what the prosecutor kept of the report."""
        self._pending()
        disclosed = {**self.content, **(content or {})}
        self._sent(
            disclosure_id=self.disclosure_id,
            case_id=self.case_id,
            request_id=self.request_id,
            kind=self.kind,
            files=self.files,
            sha256s=[f["sha256"] for f in self.files],
            content={k: disclosed.get(k) for k in ART30_FIELDS} if self.kind == "art30" else {},
            conditions=conditions,
            recipient=recipient,
            sent_at=now,
            actor=actor,
        )

    @event("DisclosureSent")
    def _sent(
        self,
        disclosure_id: str,
        case_id: str,
        request_id: str,
        kind: str,
        files: list[dict[str, Any]],
        sha256s: list[str],
        content: dict[str, Any],
        conditions: dict[str, Any],
        recipient: dict[str, Any],
        sent_at: str,
        actor: dict[str, str],
    ) -> None:
        self.status = "sent"
        self.content = content or self.content
        self.conditions = conditions
        self.recipient = recipient
        self.decided_by = actor
        self.decided_at = sent_at

    def withhold(
        self, grounds: list[str], explanation: str, actor: dict[str, str], now: str
    ) -> bool:
        """Art 30(2): it does not leave, on these grounds. False if already withheld for
        the same reason (a refusal learnt twice)."""
        if self.status == "withheld":
            return False
        self._pending()
        self._withheld(
            self.disclosure_id, self.case_id, self.request_id, self.kind, grounds,
            explanation, now, actor,
        )  # fmt: skip
        return True

    @event("DisclosureWithheld")
    def _withheld(
        self,
        disclosure_id: str,
        case_id: str,
        request_id: str,
        kind: str,
        grounds: list[str],
        explanation: str,
        withheld_at: str,
        actor: dict[str, str],
    ) -> None:
        self.status = "withheld"
        self.grounds = {"grounds": grounds, "explanation": explanation}
        self.decided_by = actor
        self.decided_at = withheld_at

    def _pending(self) -> None:
        if self.status != "pending":
            raise Conflict(f"disclosure {self.disclosure_id} was {self.status} already")
