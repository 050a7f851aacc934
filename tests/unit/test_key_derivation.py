"""Key derivation in one function (issue 19, item 2): every derived key comes from
``derive_key`` under its own label, each label pinned here (a changed label would make what
it sealed or signed unreadable), and no fixed fallback master exists."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

import pytest

from cp247 import webhooks
from cp247.casekeys import key_encryption_key
from cp247.runtime.derivation import derive_from_base64, derive_key
from cp247.runtime.ledger import LEDGER_KEY_LABEL, ledger_keys
from services.notification.app import NotificationApplication

EVENTS_KEY = base64.b64encode(bytes(range(32))).decode()
WEBHOOK_MASTER = bytes(range(32, 64))


def reference(master: bytes, label: bytes) -> bytes:
    return hmac.new(master, label, hashlib.sha256).digest()


def test_each_derived_key_keeps_its_label():
    raw = base64.b64decode(EVENTS_KEY)
    assert key_encryption_key(EVENTS_KEY) == reference(raw, b"cp247 case keys")
    assert ledger_keys({"CIPHER_KEY": EVENTS_KEY}, "intake") == [
        reference(raw, LEDGER_KEY_LABEL + b"intake")
    ]
    assert webhooks.secret_for("telco-a", WEBHOOK_MASTER) == reference(WEBHOOK_MASTER, b"telco-a")
    assert derive_from_base64(EVENTS_KEY, b"x") == derive_key(raw, b"x")


def test_different_labels_never_share_a_key():
    labels = [b"cp247 case keys", b"index", b"ack-links", b"alert-webhook", b"telco-a"]
    assert len({derive_key(WEBHOOK_MASTER, label) for label in labels}) == len(labels)
    with pytest.raises(ValueError):
        derive_key(b"", b"index")


def test_without_a_master_key_acknowledgement_links_are_not_forgeable():
    """No fixed fallback (it was 32 zero bytes): two processes never share a made-up key."""
    env = {"PERSISTENCE_MODULE": "eventsourcing.popo"}
    first, second = NotificationApplication(env=env), NotificationApplication(env=env)
    zero = derive_key(bytes(32), b"ack-links")
    assert first.ack_secret != zero and first.ack_secret != second.ack_secret
    configured = {**env, "CP247_WEBHOOK_MASTER_KEY": os.urandom(32).hex()}
    assert (
        NotificationApplication(env=configured).ack_secret
        == NotificationApplication(env=configured).ack_secret
    )
