"""Issue 19, item 6: rendering and signing the order PDF does not delay the order reaching
the provider. The order enters the inbox as the policy applies OrderIssued; the document is
rendered and signed beside it (``sign_documents``), its digest recorded; asked for before
then, it is made on the spot, the same bytes and signature that are recorded afterwards.

Real applications on the library's SQLite store, with a case-key vault; no broker.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from pathlib import Path
from uuid import uuid4

import pytest

from cp247.errors import Erased
from events import registry
from services.isp_liaison.app import IspLiaisonApplication

ISSUED_AT = "2026-12-07T02:14:07Z"
EXPIRES_AT = "2027-03-07T02:14:07Z"


@pytest.fixture
def isp(tmp_path: Path) -> IspLiaisonApplication:
    app = IspLiaisonApplication(
        env={
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": str(tmp_path / "isp_liaison.sqlite"),
            "SQLITE_LOCK_TIMEOUT": "10",
            "CP247_SIGNING_KEY": str(tmp_path / "sign.pem"),
            "CP247_CASE_KEYS_MASTER": base64.b64encode(os.urandom(32)).decode(),
            "CP247_CASE_KEYS": f"sqlite:{tmp_path / 'case-keys.sqlite'}",
        }
    )
    app.register_provider("telco-a", "Telco A", "RO")
    return app


def preservation_event(event: str, notification_id: int, payload: dict) -> object:
    body = registry.encode(
        source="preservation",
        notification_id=notification_id,
        event=event,
        originator_id=payload["order_id"],
        originator_version=notification_id,
        recorded_at=ISSUED_AT,
        payload=payload,
    )
    return registry.decode(body)


def issue(isp: IspLiaisonApplication) -> dict:
    order = {
        "order_id": str(uuid4()),
        "case_id": str(uuid4()),
        "provider_id": "telco-a",
        "identifiers": [{"kind": "ip", "value": "203.0.113.7", "port": 44123}],
        "data_types": ["traffic"],
        "legal_basis": "Art 29 Budapest Convention; national code art. 152",
        "direction": "incoming",
        "issued_at": ISSUED_AT,
        "expires_at": EXPIRES_AT,
        "actor": {"username": "pat", "role": "prosecution"},
    }
    assert isp.process(preservation_event("OrderIssued", 1, order))
    return order


def published(isp: IspLiaisonApplication, event: str) -> list[dict]:
    return [m for m in isp.outbox(1, 1000) if m.get("event") == event]


def test_the_order_is_in_the_inbox_before_its_document_is_made(isp) -> None:
    order = issue(isp)
    [listed] = isp.list_orders("telco-a")
    assert listed["order_id"] == order["order_id"] and listed["status"] == "issued"
    assert listed["document_number"].startswith("PO-2026-")
    assert listed["document_sha256"] is None  # not signed yet: nothing claims a digest
    [delivered] = published(isp, "OrderDelivered")
    assert delivered["payload"]["document"] is None  # no PDF on the way to the provider
    assert not published(isp, "OrderDocumentSigned")


def test_the_document_asked_for_early_is_the_one_signed_and_recorded_later(isp) -> None:
    order = issue(isp)
    early = isp.document("telco-a", order["order_id"])
    assert isp.sign_documents() == 1
    assert isp.sign_documents() == 0  # signed once
    later = isp.document("telco-a", order["order_id"])
    assert later == early
    pdf = base64.b64decode(later["pdf_b64"])
    digest = hashlib.sha256(pdf).hexdigest()
    assert json.loads(later["signature"])["sha256"] == digest
    [signed] = published(isp, "OrderDocumentSigned")
    assert signed["payload"]["sha256"] == digest
    assert "pdf_b64" not in signed["payload"]  # the bytes stay in this service
    assert isp.get_order("telco-a", order["order_id"])["document_sha256"] == digest


def test_the_document_states_the_order_as_issued_even_after_an_extension(isp) -> None:
    order = issue(isp)
    before = isp.document("telco-a", order["order_id"])
    extended = {
        **{k: order[k] for k in ("order_id", "case_id", "provider_id", "actor")},
        "days": 90,
        "expires_at": "2027-06-05T02:14:07Z",
    }
    assert isp.process(preservation_event("OrderExtended", 2, extended))
    assert isp.get_order("telco-a", order["order_id"])["expires_at"].startswith("2027-06-05")
    assert isp.sign_documents() == 1
    assert isp.document("telco-a", order["order_id"]) == before


def test_an_erased_case_has_no_document_and_none_is_made(isp) -> None:
    order = issue(isp)
    assert isp.mapper.vault.destroy(order["case_id"], "retention") is True
    with pytest.raises(Erased):
        isp.document("telco-a", order["order_id"])
    assert isp.sign_documents() == 0
    assert not published(isp, "OrderDocumentSigned")
