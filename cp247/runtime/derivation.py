"""Every key cp247 derives, derived here: HMAC-SHA256 of a master key and a label of its own.

A deployment keeps two masters (the event-store key, ``CP247_EVENTS_KEY``, and the webhook
master key, ``CP247_WEBHOOK_MASTER_KEY``); every other secret is derived from one of them
under a label that says what it is for, so no two uses share a key and nothing per use is
stored. The labels are part of the stored data's format: changing one makes what it sealed
or signed unreadable. Stdlib only (it runs in eventlet-patched services too).

| master | label | what for |
|---|---|---|
| events key | ``cp247 case keys`` | wraps the per-case keys (``cp247.casekeys``) |
| events key | ``cp247/store-ledger/v1/`` + store | a store's ledger (``runtime.ledger``) |
| events key | ``cp247/session-csrf/v1`` | session CSRF tokens (``services.gateway.identity``) |
| webhook master | ``index`` | the identifier index's keyed digests (``cp247.runtime.building``) |
| webhook master | ``ack-links`` | duty-alert acknowledgement links (notification) |
| webhook master | ``alert-webhook`` | signs the alert webhook (notification) |
| webhook master | the provider id | each provider's webhook secret (``cp247.webhooks``) |
"""

from __future__ import annotations

import base64
import hashlib
import hmac


def derive_key(master: bytes, label: bytes) -> bytes:
    """The 32-byte key for ``label`` under ``master``."""
    if not master:
        raise ValueError("a derived key needs a master key")
    return hmac.new(master, label, hashlib.sha256).digest()


def derive_from_base64(master: str, label: bytes) -> bytes:
    """:func:`derive_key` for a master kept in base64 (the event-store key)."""
    return derive_key(base64.b64decode(master.strip()), label)
