"""Heads of the audit chain, anchored outside the system.

The chain lives in the same database as what it protects: whoever holds the database and the
keys could rewrite history and the chain together. So every day (and on demand) the head is
signed with the documents key and sent away: appended as a JSON line to a file the database
does not hold, and e-mailed to the oversight body. ``cp247 audit verify --against FILE``
recomputes the chain from the producers' stores, anchor by anchor, and fails on the first
anchored head that today's history no longer gives.

An anchor's head links the entries of the producers' events after the previous anchor's
positions, up to its own, to the previous anchor's head (:func:`~services.timeline.
verification.chain`); only a history verified by the quick check is anchored.
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from eventsourcing.domain import Aggregate, event

ANCHORS_ID = uuid5(NAMESPACE_URL, "https://cp247.example/audit-anchors")
ANCHOR_EVERY_SECONDS = 24 * 3600
SIGNED_FIELDS = ("anchor", "at", "positions", "entries", "head", "previous_head")


class AnchorChain(Aggregate):
    """The last head anchored, and where it reached."""

    @staticmethod
    def create_id(**_: Any) -> UUID:
        return ANCHORS_ID

    @event("AnchorsStarted")
    def __init__(self) -> None:
        self.count = 0
        self.positions: dict[str, int] = {}
        self.head = ""
        self.entries = 0
        self.at: str | None = None

    @event("HeadAnchored")
    def anchored(self, positions: dict[str, int], head: str, entries: int, at: str) -> None:
        self.count += 1
        self.positions, self.head, self.entries, self.at = dict(positions), head, entries, at


def signed_bytes(record: dict[str, Any]) -> bytes:
    """What the signature covers: the anchor's fields, canonical JSON."""
    return json.dumps({k: record[k] for k in SIGNED_FIELDS}, sort_keys=True).encode("utf-8")


def append_line(path: Path, record: dict[str, Any]) -> None:
    """One JSON line at the end of the file (created 0600); earlier lines are never rewritten."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    with os.fdopen(descriptor, "a", encoding="utf-8") as out:
        out.write(json.dumps(record, sort_keys=True) + "\n")
        out.flush()
        os.fsync(out.fileno())


def read_lines(path: Path) -> list[dict[str, Any]]:
    """The anchors of a file; ``ValueError`` names the first line that is not one."""
    records = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            raise ValueError(f"line {number} is not JSON") from None
        missing = [k for k in (*SIGNED_FIELDS, "signature") if not isinstance(record, dict)
                   or k not in record]  # fmt: skip
        if missing:
            raise ValueError(f"line {number} is not an anchor (no {', '.join(missing)})")
        records.append(record)
    return records


def signature_problem(record: dict[str, Any], trusted_pem: str | None = None) -> str | None:
    """Why the anchor's signature does not hold, or None. ``trusted_pem``: the documents
    key's public key the verifier trusts (else the one the line names, which proves only that
    the line was not changed after signing)."""
    signature = record.get("signature") or {}
    pem = trusted_pem or signature.get("public_key_pem") or ""
    try:
        key = load_pem_public_key(pem.encode("ascii"))
        key.verify(base64.b64decode(signature.get("signature", "")), signed_bytes(record))
    except (ValueError, TypeError, InvalidSignature):
        return "the signature does not match the anchor"
    return None


class AnchorSinks:
    """Where anchors go, and the key that signs them: the documents key, the anchor file and
    (when both are configured) the oversight body's address over SMTP."""

    def __init__(self, signer: Any, path: Path, mail: Any = None, mail_to: str | None = None):
        self.signer, self.path, self.mail, self.mail_to = signer, path, mail, mail_to

    @classmethod
    def from_settings(cls, settings: Any) -> AnchorSinks:
        from cp247.config import environment, setting
        from cp247.documents import Signer
        from services.notification.channels import SmtpChannel, SmtpSettings

        smtp = SmtpSettings.from_env(environment())
        mail_to = setting("CP247_OVERSIGHT_EMAIL")
        default = settings.data_dir / "audit-anchors.jsonl"
        path = setting("CP247_AUDIT_ANCHOR_FILE") or default
        return cls(
            Signer.load_or_create(settings.signing_key_path),
            Path(path),
            SmtpChannel(smtp) if smtp and mail_to else None,
            mail_to,
        )

    def sign(self, record: dict[str, Any]) -> dict[str, str]:
        signature = self.signer.sign(signed_bytes(record))
        return {
            "key_id": signature.key_id,
            "signature": signature.signature_b64,
            "public_key_pem": signature.public_key_pem,
            "signed_at": signature.signed_at,
        }

    def publish(self, record: dict[str, Any]) -> dict[str, Any]:
        """Append to the file (must succeed), then e-mail (a failure is reported, not raised:
        the file holds the anchor, and the next day's mail carries the chain on)."""
        append_line(self.path, record)
        sent: dict[str, Any] = {"file": str(self.path), "mailed_to": None}
        if self.mail is not None and self.mail_to:
            line = json.dumps(record, sort_keys=True)
            outcome = self.mail.send(
                [self.mail_to],
                f"cp247 audit anchor {record['anchor']} ({record['at'][:10]})",
                "The head of cp247's audit chain, signed with the documents key. Keep this\n"
                "message: `cp247 audit verify --against FILE` proves the history still holds\n"
                "it (FILE: this line, with the others kept).\n\n" + line + "\n",
                f"audit-anchor-{record['anchor']}-{record['head'][:16]}",
            )
            sent["mailed_to"] = self.mail_to if outcome.ok else None
            if not outcome.ok:
                sent["mail_error"] = outcome.error
        return sent
