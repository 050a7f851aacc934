"""The ISP liaison application: directory, inbox delivery and provider actions."""

from __future__ import annotations

import base64
import hashlib
import re
import time
from typing import Any, NamedTuple
from uuid import NAMESPACE_URL, uuid5

from eventsourcing.application import ProcessingEvent
from eventsourcing.persistence import IntegrityError

from cp247 import metrics
from cp247.clock import iso, utcnow
from cp247.documents import Letterhead, Signer, order_number, render_signed_order
from cp247.errors import AlreadyExists, Conflict, Erased, Invalid, NotFound
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
from cp247.runtime.read_index import ReadIndex
from cp247.validation import COUNTRY_CODE
from cp247.webhooks import (
    EVENT_ORDER_ISSUED,
    MAX_ATTEMPTS,
    WebhookClient,
    backoff,
    secret_for,
    secret_hex,
    url_problem,
)
from events import Message
from services.isp_liaison import court_package
from services.isp_liaison.domain import Provider, ProviderOrder, WebhookDelivery, provider_uuid
from services.isp_liaison.production import (
    PRODUCED_CONTENT,
    Production,
    checked_files,
    production_id_for,
)
from services.preservation.national_law import national_policy

PROVIDER_ID = re.compile(r"[a-z0-9][a-z0-9._-]{0,62}")


WEBHOOK_NAMESPACE = uuid5(NAMESPACE_URL, "https://cp247.example/webhook-deliveries")


class InboxEntry(NamedTuple):
    """What the inbox index keeps of an order: nothing personal (identifiers stay sealed)."""

    order_id: str
    provider_id: str
    status: str


def inbox_entry(order: ProviderOrder) -> InboxEntry:
    return InboxEntry(order.order_id, order.provider_id, order.status)


# What an order's end is called at the provider, by the decision that ended it.
CLOSED_AS = {
    "OrderReleased": "released",
    "OrderExpired": "expired",
    "DisclosureOrderWithdrawn": "withdrawn",
}


class IspLiaisonApplication(ServiceApplication):
    name = "isp_liaison"
    upstreams = ("preservation",)
    # nobody waits on its events: an order delivered, its webhook attempted and its
    # document signed go out in one broker message
    relay_linger_seconds = 0.2
    webhook_client = WebhookClient(timeout=5.0)

    def __init__(self, env: dict[str, str] | None = None):
        super().__init__(env)
        self.signer = Signer.load_or_create(self.env.get("CP247_SIGNING_KEY") or "keys/sign.pem")
        self.letterhead = Letterhead.load(self.env.get("CP247_LETTERHEAD") or None)
        policy = national_policy(self.env.get("CP247_POLICY") or "police-needs-approval")
        self.local_zone = policy.local_time_zone
        master = self.env.get("CP247_WEBHOOK_MASTER_KEY") or ""
        self.webhook_master_key = bytes.fromhex(master) if master else None
        self.outbound = OutboundPolicy.from_env(self.env)
        self.webhook_client = WebhookClient(timeout=5.0, policy=self.outbound)
        self.inbox_index: ReadIndex[InboxEntry] = ReadIndex(self, ProviderOrder, inbox_entry)

    policies = {
        "OrderIssued": "on_order_issued",
        "OrderExtended": "on_order_extended",
        "OrderReleased": "on_order_closed",
        "OrderExpired": "on_order_closed",
        "DisclosureOrderIssued": "on_order_issued",
        "DisclosureOrderWithdrawn": "on_order_closed",
        "DisclosureReminderDue": "on_disclosure_clock",
        "DisclosureOverdue": "on_disclosure_clock",
    }

    # --- directory -------------------------------------------------------------------------
    def register_provider(
        self,
        provider_id: str,
        name: str,
        country: str,
        email: str | None = None,
        webhook: str | None = None,
    ) -> dict[str, Any]:
        errors: dict[str, list[str]] = {}
        if not isinstance(provider_id, str) or not PROVIDER_ID.fullmatch(provider_id):
            errors["id"] = ["lower-case letters, digits, '.', '_' or '-', e.g. telco-a"]
        if not (name or "").strip():
            errors["name"] = ["required"]
        if not isinstance(country, str) or not re.fullmatch(COUNTRY_CODE, country):
            errors["country"] = ["an ISO 3166-1 alpha-2 code, e.g. RO"]
        if webhook is not None and (problem := url_problem(webhook, self.outbound)):
            errors["webhook"] = [problem]
        if errors:
            raise Invalid("the provider is not valid", errors)
        provider = Provider(
            provider_id=provider_id,
            name=name.strip(),
            country=country,
            email=email,
            webhook=webhook,
        )
        try:
            self.save(provider)
        except IntegrityError:
            raise AlreadyExists(f"provider {provider_id} is already in the directory") from None
        return self.provider_view(provider)

    @query
    def get_provider(self, provider_id: str) -> dict[str, Any]:
        provider = load(self.repository, str(provider_uuid(provider_id)), Provider)
        if provider is None:
            raise NotFound(f"no provider {provider_id!r} in the directory")
        return self.provider_view(provider)

    @query
    def has_provider(self, provider_id: str) -> bool:
        return load(self.repository, str(provider_uuid(provider_id)), Provider) is not None

    @query
    def providers(self) -> list[dict[str, Any]]:
        """The provider directory, by id (the consoles' pick-lists)."""
        listed = self.still_open(Provider, lambda p: True)
        return sorted((self.provider_view(p) for p in listed), key=lambda v: v["provider_id"])

    @staticmethod
    def provider_view(provider: Provider) -> dict[str, Any]:
        return {
            "provider_id": provider.provider_id,
            "name": provider.name,
            "country": provider.country,
            "email": provider.email,
            "webhook": provider.webhook,
        }

    # --- delivery --------------------------------------------------------------------------
    def on_order_issued(self, message: Message, processing: ProcessingEvent) -> None:
        """The order enters the provider's inbox at once; its document is rendered and signed
        beside delivery (:meth:`sign_documents`), never on the way there (issue 19, item 6)."""
        order = message.payload
        provider = load(self.repository, str(provider_uuid(order["provider_id"])), Provider)
        if provider is None:
            return  # an order for a provider we cannot reach; the directory issue handles it
        disclosure = message.event == "DisclosureOrderIssued"
        processing.collect_events(
            ProviderOrder(
                order_id=order["order_id"],
                case_id=order["case_id"],
                request_id=order.get("request_id"),
                provider_id=order["provider_id"],
                identifiers=order["identifiers"],
                data_types=order["data_types"],
                legal_basis=order["legal_basis"],
                issued_at=order["issued_at"],
                expires_at=order.get("expires_at"),
                channel="api+webhook" if provider.webhook else "api",
                kind="disclosure" if disclosure else "preservation",
                due_by=order.get("due_by"),
                emergency=bool(order.get("emergency")),
                issued_by=order.get("actor"),
            )
        )
        if provider.webhook and self.webhook_master_key:
            processing.collect_events(self._schedule_webhook(order, provider))

    # --- webhooks ----------------------------------------------------------------------------
    def _schedule_webhook(self, order: dict[str, Any], provider: Provider) -> WebhookDelivery:
        """A short notice (no identifiers): the provider fetches the order from its inbox."""
        delivery_id = str(uuid5(WEBHOOK_NAMESPACE, f"{order['order_id']}|{EVENT_ORDER_ISSUED}"))
        return WebhookDelivery(
            delivery_id=delivery_id,
            order_id=order["order_id"],
            case_id=order["case_id"],
            provider_id=provider.provider_id,
            url=provider.webhook,
            hook_event=EVENT_ORDER_ISSUED,
            body={
                "event": EVENT_ORDER_ISSUED,
                "order_id": order["order_id"],
                "provider_id": provider.provider_id,
                "issued_at": order["issued_at"],
                "expires_at": order.get("expires_at"),
                "kind": "disclosure" if "due_by" in order else "preservation",
                "due_by": order.get("due_by"),
                "emergency": bool(order.get("emergency")),
                "order_url": f"/api/v1/isp/orders/{order['order_id']}",
                "document_url": f"/api/v1/isp/orders/{order['order_id']}/document",
            },
            next_attempt_at=0.0,
        )

    def provider_secret(self, provider_id: str) -> str:
        """The provider's webhook secret (hex), to be handed over once."""
        self.get_provider(provider_id)
        if self.webhook_master_key is None:
            raise Conflict("no webhook master key is configured")
        return secret_hex(provider_id, self.webhook_master_key)

    @every(1, outward=True, prompt=True)  # network I/O, off the event path; at once too
    def dispatch_webhooks(self, now: float | None = None) -> int:
        """Attempt every webhook delivery that is due; returns how many were attempted.

        One replica at a time, so that a provider never gets the same push twice at once.
        """
        with self.exclusive("dispatch_webhooks") as mine:
            return self._dispatch_due(time.time() if now is None else now) if mine else 0

    def _dispatch_due(self, now: float) -> int:
        attempted = 0
        for delivery in self.still_open(WebhookDelivery, lambda d: d.state == "pending"):
            if delivery.state != "pending" or (delivery.next_attempt_at or 0) > now:
                continue
            outcome = self.webhook_client.post(
                delivery.url,
                secret_for(delivery.provider_id, self.webhook_master_key),
                delivery.hook_event,
                delivery.delivery_id,
                delivery.body,
                now,
            )
            retry_at = None
            if outcome.ok:
                state = "delivered"
            elif outcome.retry and delivery.attempt < MAX_ATTEMPTS:
                state, retry_at = "pending", now + backoff(delivery.attempt)
            else:
                state = "failed"
            delivery.attempted(
                delivery.delivery_id,
                delivery.order_id,
                delivery.case_id,
                delivery.attempt,
                outcome.status,
                outcome.error,
                state,
                retry_at,
            )
            try:
                self.save(delivery)
            except IntegrityError:
                continue  # another replica attempted it at the same moment
            metrics.WEBHOOK_ATTEMPTS.labels("retry" if state == "pending" else state).inc()
            attempted += 1
        return attempted

    # --- the order document, signed beside delivery ---------------------------------------
    @every(0.5, outward=True, prompt=True)  # ~30 ms of layout an order: off the event path
    def sign_documents(self) -> int:
        """Render and sign the document of every order delivered without one, recording its
        digest (on the case's timeline) and its bytes; returns how many were signed."""
        pending = list(self.still_open(ProviderOrder, lambda o: not o.signed))
        if not pending:
            return 0
        signed = 0
        with self.exclusive("sign_documents") as mine:  # one replica renders each
            for order in pending if mine else []:
                if order.signed or self.shredded(order.case_id):
                    continue
                order.sign(**self._signed_document(order))
                try:
                    self.save(order)
                except IntegrityError:
                    continue  # changed meanwhile (an extension, say): the next round signs it
                signed += 1
        return signed

    def _signed_document(self, order: ProviderOrder) -> dict[str, str]:
        """The order's PDF (base64) and signature, as :meth:`ProviderOrder.sign` records them:
        the same bytes whenever and wherever it is made (it states the order as issued; the
        signature is dated by the delivery)."""
        provider = load(self.repository, str(provider_uuid(order.provider_id)), Provider)
        fields = order.document_fields(provider.name if provider else "")
        signed = render_signed_order(
            fields, self.letterhead, self.signer, self.local_zone, signed_at=order.created_on
        )
        return {
            "number": order_number(fields),
            "sha256": signed.signature.sha256,
            "key_id": signed.signature.key_id,
            "signature": signed.signature.to_json(),
            "pdf_b64": base64.b64encode(signed.pdf).decode("ascii"),
        }

    @query
    def document(self, provider_id: str, order_id: str) -> dict[str, str]:
        """The signed order document (base64 PDF) and its detached signature.

        Asked for before :meth:`sign_documents` got to it, the document is made here: the
        same bytes and signature that will be recorded."""
        order = self._own(provider_id, order_id)
        if self.shredded(order.case_id):
            raise Erased("the order's document was erased at the end of its retention period")
        document = order.document if "pdf_b64" in order.document else self._signed_document(order)
        return {key: document[key] for key in ("pdf_b64", "signature", "number")}

    def on_order_extended(self, message: Message, processing: ProcessingEvent) -> None:
        order = load(self.repository, message.payload["order_id"], ProviderOrder)
        if order is not None:
            order.extended(order.order_id, message.payload["expires_at"])
            processing.collect_events(order)

    def on_order_closed(self, message: Message, processing: ProcessingEvent) -> None:
        order = load(self.repository, message.payload["order_id"], ProviderOrder)
        if order is not None and order.closed_as is None:
            closed_as = CLOSED_AS[message.event]
            notice = message.payload.get("notice") if closed_as != "expired" else None
            order.close(order.order_id, closed_as, notice)
            processing.collect_events(order)
            provider = load(self.repository, str(provider_uuid(order.provider_id)), Provider)
            # legal-rule: refusal-releases-orders (the provider is told, by webhook too)
            if provider is not None and provider.webhook and self.webhook_master_key:
                processing.collect_events(self._schedule_closed_webhook(order, provider, notice))

    def _schedule_closed_webhook(
        self, order: ProviderOrder, provider: Provider, notice: str | None
    ) -> WebhookDelivery:
        """The provider is told at once that it may stop preserving (no identifiers)."""
        return self._notice_webhook(
            order, provider, f"order.{order.closed_as}", status=order.closed_as, notice=notice
        )

    def _notice_webhook(
        self,
        order: ProviderOrder,
        provider: Provider,
        hook_event: str,
        once: str = "",
        **about: Any,
    ) -> WebhookDelivery:
        """A short notice about one order (no identifiers), once per ``hook_event`` (and
        ``once``, where one event may be sent several times)."""
        key = f"{order.order_id}|{hook_event}" + (f"|{once}" if once else "")
        return WebhookDelivery(
            delivery_id=str(uuid5(WEBHOOK_NAMESPACE, key)),
            order_id=order.order_id,
            case_id=order.case_id,
            provider_id=provider.provider_id,
            url=provider.webhook,
            hook_event=hook_event,
            body={
                "event": hook_event,
                "order_id": order.order_id,
                "provider_id": provider.provider_id,
                **about,
                "order_url": f"/api/v1/isp/orders/{order.order_id}",
            },
            next_attempt_at=0.0,
        )

    def on_disclosure_clock(self, message: Message, processing: ProcessingEvent) -> None:
        """A disclosure order unanswered near or past its due-by: the provider is reminded
        by webhook (its inbox shows ``due_by`` all along)."""
        order = load(self.repository, message.payload["order_id"], ProviderOrder)
        if order is None or order.closed_as is not None or not self.webhook_master_key:
            return
        provider = load(self.repository, str(provider_uuid(order.provider_id)), Provider)
        if provider is None or not provider.webhook:
            return
        overdue = message.event == "DisclosureOverdue"
        hours = message.payload.get("offset_hours")
        hook_event = "order.overdue" if overdue else "order.due_soon"
        notice = self._notice_webhook(
            order, provider, hook_event, once=str(hours or ""), due_by=order.due_by
        )
        processing.collect_events(notice)

    # --- the provider's own view -----------------------------------------------------------
    def _own(self, provider_id: str, order_id: str) -> ProviderOrder:
        order = load(self.repository, order_id, ProviderOrder)
        if order is None or order.provider_id != provider_id:
            raise NotFound(f"no order {order_id}")  # another provider's order does not exist
        return order

    @query
    def list_orders(self, provider_id: str, status: str | None = None) -> list[dict[str, Any]]:
        """The provider's own orders, oldest first, optionally only those in ``status``."""
        entries = self.inbox_index.select(
            lambda e: e.provider_id == provider_id and (status is None or e.status == status)
        )
        # Loaded per request, so a case key destroyed by retention is honoured on read.
        orders = (load(self.repository, e.order_id, ProviderOrder) for e in entries)
        return [
            self.order_view(order)
            for order in orders
            if order is not None
            and order.provider_id == provider_id
            and (status is None or order.status == status)  # it may have moved on since
        ]

    @query
    def get_order(self, provider_id: str, order_id: str) -> dict[str, Any]:
        return self.order_view(self._own(provider_id, order_id))

    @command
    @retry_on_conflict
    def acknowledge(self, provider_id: str, order_id: str, actor: dict[str, str]) -> dict:
        return self._report(provider_id, order_id, lambda o, now: o.acknowledge(now, actor))

    @command
    @retry_on_conflict
    def report_preserved(
        self, provider_id: str, order_id: str, body: dict[str, Any], actor: dict[str, str]
    ) -> dict:
        self._own(provider_id, order_id)  # another provider's order is a 404 first
        note, records = body.get("note"), body.get("records")
        note = "" if note is None else note
        errors = {}
        if not isinstance(note, str) or len(note) > 4000:
            errors["note"] = ["text of at most 4000 characters"]
        if records is not None and (
            not isinstance(records, int) or isinstance(records, bool) or records < 0
        ):
            errors["records"] = ["a number of records, 0 or more"]
        if errors:
            raise Invalid("the report is not valid", errors)
        return self._report(
            provider_id, order_id, lambda o, now: o.report_preserved(note, records, now, actor)
        )

    @command
    @retry_on_conflict
    def report_unavailable(
        self, provider_id: str, order_id: str, body: dict[str, Any], actor: dict[str, str]
    ) -> dict:
        self._own(provider_id, order_id)  # another provider's order is a 404 first
        reason = body.get("reason")
        if not isinstance(reason, str) or not reason.strip() or len(reason) > 4000:
            raise Invalid("say why the data are not available", {"reason": ["required text"]})
        return self._report(
            provider_id, order_id, lambda o, now: o.report_unavailable(reason, now, actor)
        )

    @command
    @retry_on_conflict
    def report_foreign_provider(
        self, provider_id: str, order_id: str, body: dict[str, Any], actor: dict[str, str]
    ) -> dict:
        self._own(provider_id, order_id)  # another provider's order is a 404 first
        country, name = body.get("country"), body.get("provider_name")
        details = body.get("details")
        details = "" if details is None else details
        errors = {}
        if not isinstance(country, str) or not re.fullmatch(COUNTRY_CODE, country):
            errors["country"] = ["ISO 3166-1 alpha-2, e.g. DE"]
        if not isinstance(name, str) or not name.strip() or len(name) > 200:
            errors["provider_name"] = ["the other provider's name"]
        if not isinstance(details, str) or len(details) > 4000:
            errors["details"] = ["text of at most 4000 characters"]
        if errors:
            raise Invalid("the Art 30 report is not valid", errors)
        return self._report(
            provider_id,
            order_id,
            lambda o, now: o.report_foreign_provider(country, name.strip(), details, now, actor),
        )

    # --- production (issue 20) ---------------------------------------------------------------
    @command
    @retry_on_conflict
    def produce(
        self, provider_id: str, order_id: str, body: dict[str, Any], actor: dict[str, str]
    ) -> dict[str, Any]:
        """The provider hands over files for a disclosure order, each checked against its
        SHA-256 on receipt and kept sealed under the case key. The same files again give
        the same answer and record nothing."""
        order = self._own(provider_id, order_id)  # another provider's order is a 404 first
        if order.kind != "disclosure":
            raise Conflict(f"order {order_id} is a preservation order: nothing to produce")
        if self.shredded(order.case_id):
            raise Erased("the order's case was erased at the end of its retention period")
        files, note = checked_files(self._opened_files(order.case_id, body))
        production_id = production_id_for(order_id, files)
        described = [f.described() for f in files]
        if order.report_produced(production_id, described, note, iso(utcnow()), actor):
            contents = {f.name: base64.b64encode(f.content).decode("ascii") for f in files}
            stored = Production(
                production_id=production_id, order_id=order_id, case_id=order.case_id,
                provider_id=provider_id, contents=contents,
            )  # fmt: skip
            self.save(order, stored)
        return {
            "production_id": production_id,
            "order_id": order_id,
            "files": [{k: f[k] for k in ("name", "sha256", "size")} for f in described],
        }

    def _opened_files(self, case_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """The body with each file's bytes opened, where the gateway sealed them for the
        broker (``Invalid`` if one does not open: it was not sealed for this case)."""
        files = body.get("files")
        if self.sealed_arguments is None or not isinstance(files, list):
            return body
        opened = []
        for index, item in enumerate(files):
            if isinstance(item, dict) and "content_base64" in item:
                try:
                    content = self.sealed_arguments.open(
                        case_id, PRODUCED_CONTENT, item["content_base64"]
                    )
                except ValueError as exc:
                    raise Invalid(
                        "the production is not valid", {f"files.{index}.content_base64": [str(exc)]}
                    ) from None
                item = {**item, "content_base64": content}
            opened.append(item)
        return {**body, "files": opened}

    def _production(self, production_id: str) -> tuple[Production, dict[str, Any]]:
        """The stored bytes and, from the provider's order, what the production recorded."""
        stored = require(self.repository, production_id, Production, "production")
        order = require(self.repository, stored.order_id, ProviderOrder, "order")
        recorded = next(p for p in order.produced if p["production_id"] == production_id)
        return stored, recorded

    @query
    def production(self, production_id: str) -> dict[str, Any]:
        """What was produced, for officers: the provider, the time and each file's digest."""
        return self._production_view(*self._production(production_id))

    @query
    def production_cases(self, production_ids: list[str]) -> dict[str, str | None]:
        """The case of each production named (None: no such production)."""
        found = {p: load(self.repository, p, Production) for p in production_ids}
        return {p: stored.case_id if stored else None for p, stored in found.items()}

    def _production_view(self, stored: Production, recorded: dict[str, Any]) -> dict[str, Any]:
        return {
            "production_id": stored.production_id,
            "order_id": stored.order_id,
            "case_id": stored.case_id,
            "provider_id": stored.provider_id,
            "produced_at": recorded["at"],
            "note": recorded["note"],
            "files": recorded["files"],
            "erased": self.shredded(stored.case_id) is not None,
        }

    @command
    @retry_on_conflict
    def production_file(
        self, production_id: str, name: str, actor: dict[str, str]
    ) -> dict[str, Any]:
        """One produced file's bytes (base64) with its media type and digest; the read is
        recorded for the case's timeline (chain of custody)."""
        stored, recorded = self._production(production_id)
        if self.shredded(stored.case_id):
            raise Erased("the production was erased at the end of its retention period")
        described = next((f for f in recorded["files"] if f["name"] == name), None)
        if described is None or name not in stored.contents:
            raise NotFound(f"no file {name!r} in production {production_id}")
        stored.record_read(name, described["sha256"], actor, iso(utcnow()))
        self.save(stored)
        return {**described, "content_base64": stored.contents[name], "case_id": stored.case_id}

    @command
    @retry_on_conflict
    def production_package(
        self, production_id: str, timeline: dict[str, Any], actor: dict[str, str]
    ) -> dict[str, Any]:
        """The production for a court: its files, a manifest with their SHA-256 and the
        case's ``timeline``, signed with the documents key; the export is recorded."""
        stored, recorded = self._production(production_id)
        if self.shredded(stored.case_id):
            raise Erased("the production was erased at the end of its retention period")
        described = self._production_view(stored, recorded)
        contents = {name: base64.b64decode(text) for name, text in stored.contents.items()}
        now = iso(utcnow())
        package = court_package.build_package(
            described, contents, timeline, self.signer, now, actor
        )
        digest = hashlib.sha256(package).hexdigest()
        stored.record_export(digest, actor, now)
        self.save(stored)
        return {
            "case_id": stored.case_id,
            "filename": court_package.package_name(production_id),
            "sha256": digest,
            "content_base64": base64.b64encode(package).decode("ascii"),
        }

    def _report(self, provider_id: str, order_id: str, act: Any) -> dict[str, Any]:
        """Apply a provider action once; a repeat returns the same view and records nothing."""
        for _ in range(5):
            order = self._own(provider_id, order_id)
            if not act(order, iso(utcnow())):
                return self.order_view(order)
            try:
                self.save(order)
            except IntegrityError:
                continue  # a simultaneous action on the same order: look again
            return self.order_view(order)
        raise Conflict(f"order {order_id} is busy; try again")

    @staticmethod
    def order_view(order: ProviderOrder) -> dict[str, Any]:
        return {
            "order_id": order.order_id,
            "kind": order.kind,
            "case_id": order.case_id,
            "provider_id": order.provider_id,
            "status": order.status,
            "due_by": order.due_by,
            "emergency": order.emergency,
            "identifiers": order.identifiers,
            "data_types": order.data_types,
            "issued_at": order.issued_at,
            "expires_at": order.expires_at,
            "acknowledged_at": order.acknowledged_at,
            "outcome": order.outcome,
            "foreign_providers": list(order.foreign_reports),
            "release_notice": getattr(order, "closed_reason", None),
            "legal_basis": order.legal_basis,
            "document_url": f"/api/v1/isp/orders/{order.order_id}/document",
            "document_signature_url": f"/api/v1/isp/orders/{order.order_id}/document.sig",
            "document_number": order_number(order.document_fields("")),
            "document_sha256": order.document.get("sha256"),  # null until signed
            "productions": [
                {
                    "production_id": p["production_id"],
                    "produced_at": p["at"],
                    "files": [{k: f[k] for k in ("name", "sha256", "size")} for f in p["files"]],
                }
                for p in order.produced
            ],  # fmt: skip
        }
