"""Formal documents: the preservation order as a signed PDF, and the signed-letter form of an
outgoing preservation request (seed appendix checklist), for providers and 24/7 points of contact
that want a document on letterhead rather than an API record.

Framework-free: no nameko, no HTTP. The services call these functions; the CLI verifies files.

Configuration (read by the caller, not here):

| variable            | meaning                                                           |
|---------------------|-------------------------------------------------------------------|
| CP247_LETTERHEAD    | YAML file with the issuing authority's letterhead (see            |
|                     | ``infra/letterhead.example.yaml``); unset -> a visibly generic one |

Design decisions worth knowing before changing anything here:

* **Detached signature.** Nothing is embedded in the PDF. ``Signer.sign`` signs the exact PDF
  bytes with Ed25519 and returns a ``Signature`` whose JSON form is the ``.sig`` file. The
  signature covers the document bytes only; ``signed_at``, ``key_id`` and ``public_key_pem`` in
  the JSON are descriptive (the key id is recomputed from the key on verification). A
  signature checked without a list of trusted keys proves integrity, not authorship.
* **Deterministic bytes.** The PDF creation date is taken from the order's ``issued_at`` (the
  request's registration date for letters), and the document shows nothing that changes later
  (no status, no "printed at"), so the same order renders the same bytes and the SHA-256
  recorded on the timeline can be checked again. This holds for one fpdf2 version: a different
  fpdf2 release may lay out or compress differently, so store the signed bytes at issue time
  rather than rely on re-rendering after an upgrade.
* **Latin-1 only.** fpdf2's core fonts (Helvetica) cover Latin-1 only and we bundle no font.
  Prose (names, addresses, facts) is transliterated (typographic punctuation to ASCII,
  diacritics stripped, e.g. Romanian s-comma to s) and anything left becomes ``?``.
  Identifiers are never transliterated - ``jose`` and ``josé`` can be different accounts - so
  a character outside Latin-1 in an identifier is written as ``<U+hhhh>``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import secrets
import tempfile
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from fpdf import FPDF
from fpdf.enums import XPos, YPos

from cp247.config import ConfigurationError
from cp247.validation import COUNTRY_CODE, EMAIL_ADDRESS

ALGORITHM = "Ed25519"
LETTERHEAD_ENV = "CP247_LETTERHEAD"
SIGNATURE_SUFFIX = ".sig"

# When a document has no date of its own (a draft order, a letter without a date), the PDF
# creation date must still be fixed, or two renderings of the same input would differ.
_FALLBACK_CREATION_DATE = datetime(2000, 1, 1, tzinfo=UTC)


# --------------------------------------------------------------------------------------------
# Letterhead
# --------------------------------------------------------------------------------------------

_COUNTRY = re.compile(COUNTRY_CODE)
_EMAIL = re.compile(EMAIL_ADDRESS)
_MAX_FIELD = 200  # longer than any real letterhead line; longer ones would wreck the layout
_MAX_ADDRESS_LINES = 6


@dataclass(frozen=True)
class Letterhead:
    """Who issues the documents: printed at the top, in the contact block and signature line."""

    authority_name: str
    unit: str
    address_lines: tuple[str, ...]
    phone: str
    email: str
    country: str
    city: str
    signatory_name: str
    signatory_title: str
    footer: str = ""
    fax: str = ""
    # The authority's own zone: local times are printed in it unless the caller says otherwise
    # (the T-CY template asks for the requesting authority's time zone).
    time_zone: str = "UTC"

    @classmethod
    def default(cls) -> Letterhead:
        """A generic letterhead whose footer says it is not configured, so nobody mistakes a
        document from an unconfigured installation for a finished one."""
        return cls(
            authority_name="National 24/7 Point of Contact for Cybercrime",
            unit="Cybercrime Unit",
            address_lines=("1 Example Street", "00000 Capital City"),
            phone="+00 000 000 000",
            email="cp247@authority.example",
            country="XX",
            city="Capital City",
            signatory_name="Duty officer",
            signatory_title="24/7 point of contact",
            footer=f"Default letterhead - set {LETTERHEAD_ENV} to name the issuing authority.",
        )

    @classmethod
    def load(cls, path: str | os.PathLike[str] | None) -> Letterhead:
        """Read and validate a letterhead YAML file; ``None`` gives ``Letterhead.default()``.

        Raises ``ConfigurationError`` naming the file, the field and what is wrong.
        """
        if path is None or str(path) == "":
            return cls.default()
        where = f"letterhead {path} ({LETTERHEAD_ENV})"
        try:
            text = Path(path).read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ConfigurationError(f"{where}: file not found") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigurationError(f"{where}: cannot read the file: {exc}") from None
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise ConfigurationError(f"{where}: not valid YAML: {exc}") from None
        if not isinstance(data, dict):
            raise ConfigurationError(
                f"{where}: must be a mapping of fields (authority_name: ..., unit: ...), "
                f"got {type(data).__name__}"
            )
        return cls.from_mapping(data, where=where)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], where: str = "letterhead") -> Letterhead:
        """Validate a mapping of letterhead fields (the parsed YAML)."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(str(key) for key in data if key not in known)
        if unknown:
            # A typo ("phon:") would otherwise silently fall back to a default value.
            raise ConfigurationError(
                f"{where}: unknown field {unknown[0]!r}; known fields: {', '.join(sorted(known))}"
            )
        optional = {"footer", "fax", "time_zone"}
        for name in sorted(known - optional):
            if name not in data or data[name] is None:
                raise ConfigurationError(f"{where}: field {name!r} is required")

        values: dict[str, Any] = {}
        for name in sorted(known - {"address_lines"}):
            if name in data and data[name] is not None:
                # An empty footer or fax means "none"; an empty zone is a mistake, not UTC.
                empty_ok = name in ("footer", "fax")
                values[name] = _text_field(where, name, data[name], allow_empty=empty_ok)
        values["address_lines"] = _address_lines(where, data["address_lines"])

        if not _COUNTRY.fullmatch(values["country"]):
            raise ConfigurationError(
                f"{where}: field 'country' must be an ISO 3166 alpha-2 code such as RO, "
                f"got {values['country']!r}"
            )
        if not _EMAIL.fullmatch(values["email"]):
            raise ConfigurationError(
                f"{where}: field 'email' must be an e-mail address such as "
                f"cp247@police.example, got {values['email']!r}"
            )
        if "time_zone" in values:
            _zone(values["time_zone"], f"{where}: field 'time_zone'")
        return cls(**values)


def _text_field(where: str, name: str, value: Any, *, allow_empty: bool = False) -> str:
    if isinstance(value, bool):
        # YAML 1.1 reads unquoted NO/YES/ON/OFF as booleans: the "Norway problem".
        raise ConfigurationError(
            f"{where}: field {name!r} must be text, got the boolean {value}; YAML reads "
            f'unquoted NO, YES, ON and OFF as booleans - quote it, e.g. {name}: "NO"'
        )
    if not isinstance(value, str):
        # Phone numbers with a leading 0 or +, written unquoted, arrive as numbers.
        raise ConfigurationError(
            f"{where}: field {name!r} must be text, got {type(value).__name__} {value!r}; "
            f'quote it in YAML, e.g. {name}: "{value}"'
        )
    text = value.strip()
    if not text and not allow_empty:
        raise ConfigurationError(f"{where}: field {name!r} must not be empty")
    if len(text) > _MAX_FIELD:
        raise ConfigurationError(
            f"{where}: field {name!r} is longer than {_MAX_FIELD} characters ({len(text)})"
        )
    if any(unicodedata.category(ch) == "Cc" for ch in text):
        raise ConfigurationError(f"{where}: field {name!r} contains a control character")
    return text


def _address_lines(where: str, value: Any) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, list):
        raise ConfigurationError(
            f"{where}: field 'address_lines' must be a list of lines, e.g.\n"
            f"address_lines:\n  - 1 Example Street\n  - 00000 Capital City"
        )
    if not 1 <= len(value) <= _MAX_ADDRESS_LINES:
        raise ConfigurationError(
            f"{where}: field 'address_lines' must have 1 to {_MAX_ADDRESS_LINES} lines, "
            f"got {len(value)}"
        )
    return tuple(
        _text_field(where, f"address_lines[{index}]", line) for index, line in enumerate(value)
    )


def _zone(name: str, what: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigurationError(
            f"{what}: {name!r} is not an IANA time zone name such as Europe/Bucharest"
        ) from None


# --------------------------------------------------------------------------------------------
# Signing and verification
# --------------------------------------------------------------------------------------------


def sha256_hex(data: bytes) -> str:
    """The digest recorded on the timeline and in the signature file."""
    return hashlib.sha256(data).hexdigest()


def _raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id_for(key: Ed25519PublicKey) -> str:
    """First 16 hex characters of the SHA-256 of the raw 32-byte public key."""
    return hashlib.sha256(_raw_public(key)).hexdigest()[:16]


def _public_pem(key: Ed25519PublicKey) -> str:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


@dataclass(frozen=True)
class Signature:
    """A detached Ed25519 signature over one document's bytes."""

    key_id: str
    sha256: str
    signature_b64: str
    public_key_pem: str
    signed_at: str
    algorithm: str = ALGORITHM

    def to_json(self) -> str:
        """The ``.sig`` file: sorted keys, so the same signature always serialises the same."""
        body = {
            "algorithm": self.algorithm,
            "key_id": self.key_id,
            "sha256": self.sha256,
            "signature": self.signature_b64,
            "public_key_pem": self.public_key_pem,
            "signed_at": self.signed_at,
        }
        return json.dumps(body, indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str | bytes) -> Signature:
        """Parse a ``.sig`` file; ``ValueError`` says what is malformed."""
        try:
            body = json.loads(text)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ValueError(f"signature file is not JSON: {exc}") from None
        if not isinstance(body, dict):
            raise ValueError("signature file must be a JSON object")
        required = ("algorithm", "key_id", "sha256", "signature", "public_key_pem", "signed_at")
        missing = [name for name in required if not isinstance(body.get(name), str)]
        if missing:
            raise ValueError(f"signature file lacks text field(s): {', '.join(missing)}")
        return cls(
            algorithm=body["algorithm"],
            key_id=body["key_id"],
            sha256=body["sha256"],
            signature_b64=body["signature"],
            public_key_pem=body["public_key_pem"],
            signed_at=body["signed_at"],
        )


class Signer:
    """Holds the authority's Ed25519 private key; signs document bytes."""

    def __init__(self, private_key: Ed25519PrivateKey):
        self._key = private_key
        self._public = private_key.public_key()

    @property
    def key_id(self) -> str:
        return key_id_for(self._public)

    def public_key_pem(self) -> str:
        """SubjectPublicKeyInfo PEM: what verifiers put in their trusted-keys list."""
        return _public_pem(self._public)

    def sign(self, data: bytes, signed_at: datetime | None = None) -> Signature:
        """Sign ``data`` as it is (Ed25519 is deterministic: same key and bytes, same value)."""
        moment = (signed_at or datetime.now(UTC)).astimezone(UTC)
        return Signature(
            key_id=self.key_id,
            sha256=sha256_hex(data),
            signature_b64=base64.b64encode(self._key.sign(data)).decode("ascii"),
            public_key_pem=self.public_key_pem(),
            signed_at=moment.isoformat(timespec="seconds").replace("+00:00", "Z"),
        )

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> Signer:
        """Load an unencrypted PKCS8 PEM Ed25519 private key."""
        where = f"signing key {path}"
        try:
            pem = Path(path).read_bytes()
        except FileNotFoundError:
            raise ConfigurationError(f"{where}: file not found") from None
        except OSError as exc:
            raise ConfigurationError(f"{where}: cannot read the file: {exc}") from None
        try:
            key = serialization.load_pem_private_key(pem, password=None)
        except TypeError:
            raise ConfigurationError(
                f"{where}: the key is encrypted; store it unencrypted with mode 0600"
            ) from None
        except (ValueError, UnsupportedAlgorithm):
            raise ConfigurationError(f"{where}: not a PEM private key") from None
        if not isinstance(key, Ed25519PrivateKey):
            raise ConfigurationError(f"{where}: an Ed25519 key is needed, got {type(key).__name__}")
        return cls(key)

    @classmethod
    def generate(cls, path: str | os.PathLike[str]) -> Signer:
        """Create a new key at ``path`` (mode 0600); never overwrites an existing file.

        Raises ``FileExistsError`` when ``path`` exists: replacing a signing key silently
        would make every earlier signature unverifiable against the published key.
        """
        target = Path(path)
        target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        # Write a complete file under a temporary name, then hard-link it into place: link()
        # fails if the target exists, so two processes starting together cannot both create
        # a key, and nobody ever reads a half-written one. mkstemp creates it with mode 0600.
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".key-")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(pem)
                out.flush()
                os.fsync(out.fileno())
            os.chmod(temporary, 0o600)
            os.link(temporary, target)
        finally:
            os.unlink(temporary)
        return cls(key)

    @classmethod
    def load_or_create(cls, path: str | os.PathLike[str]) -> Signer:
        """The key at ``path``, generated on first use."""
        try:
            return cls.generate(path) if not Path(path).exists() else cls.from_file(path)
        except FileExistsError:
            return cls.from_file(path)  # another process created it between our two steps


@dataclass(frozen=True)
class VerificationResult:
    """Outcome of checking a document against its detached signature."""

    ok: bool
    reason: str
    sha256: str  # digest of the document bytes as given
    key_id: str | None  # of the key in the signature file, when it could be read


def _load_public_key(pem: str, what: str) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(pem.encode("ascii"))
    except (ValueError, UnicodeEncodeError, UnsupportedAlgorithm):
        raise ValueError(f"{what} is not a PEM public key") from None
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError(f"{what} is not an Ed25519 key ({type(key).__name__})")
    return key


def verify_document(
    pdf_bytes: bytes,
    signature_json: str | bytes,
    trusted_public_keys_pem: Sequence[str] | None = None,
) -> VerificationResult:
    """Check the digest, the Ed25519 signature and, when ``trusted_public_keys_pem`` is given,
    that the signing key is one of them.

    Never raises for a bad document or signature file (the result says why); raises
    ``ConfigurationError`` when a trusted key itself is malformed, as that is the verifier's
    configuration, not the document's fault.
    """
    digest = sha256_hex(pdf_bytes)
    trusted: list[bytes] | None = None
    if trusted_public_keys_pem is not None:
        trusted = []
        for index, pem in enumerate(trusted_public_keys_pem):
            try:
                trusted.append(_raw_public(_load_public_key(pem, f"trusted key #{index + 1}")))
            except ValueError as exc:
                raise ConfigurationError(str(exc)) from None

    def fail(reason: str, key_id: str | None = None) -> VerificationResult:
        return VerificationResult(ok=False, reason=reason, sha256=digest, key_id=key_id)

    try:
        signature = Signature.from_json(signature_json)
    except ValueError as exc:
        return fail(str(exc))
    if signature.algorithm != ALGORITHM:
        return fail(f"unsupported algorithm {signature.algorithm!r}; expected {ALGORITHM}")
    try:
        public = _load_public_key(signature.public_key_pem, "public_key_pem")
    except ValueError as exc:
        return fail(str(exc))
    key_id = key_id_for(public)
    if signature.key_id != key_id:
        return fail(f"key_id {signature.key_id!r} does not belong to the public key ({key_id})")
    if signature.sha256.lower() != digest:
        return fail(
            "document digest does not match the signature file: the document was altered "
            "or this is another document's signature",
            key_id,
        )
    try:
        raw_signature = base64.b64decode(signature.signature_b64, validate=True)
        public.verify(raw_signature, pdf_bytes)
    except (ValueError, InvalidSignature):
        return fail("the Ed25519 signature does not verify for this document", key_id)
    if trusted is None:
        return VerificationResult(
            ok=True,
            reason=f"signature valid (key {key_id} not checked against trusted keys)",
            sha256=digest,
            key_id=key_id,
        )
    if _raw_public(public) not in trusted:
        return fail(f"signature valid but key {key_id} is not among the trusted keys", key_id)
    return VerificationResult(
        ok=True, reason=f"signature valid, trusted key {key_id}", sha256=digest, key_id=key_id
    )


_PEM_BLOCK = re.compile(r"-----BEGIN PUBLIC KEY-----.+?-----END PUBLIC KEY-----", re.DOTALL)


def split_public_keys_pem(text: str) -> list[str]:
    """The PEM public keys in a file that may hold several (a trusted-keys bundle)."""
    return [block + "\n" for block in _PEM_BLOCK.findall(text)]


def signature_path_for(document_path: str | os.PathLike[str]) -> Path:
    """Where the detached signature of a document lives by default: ``order.pdf.sig``."""
    path = Path(document_path)
    return path.with_name(path.name + SIGNATURE_SUFFIX)


def verify_files(
    document_path: str | os.PathLike[str],
    signature_path: str | os.PathLike[str] | None = None,
    trusted_keys_path: str | os.PathLike[str] | None = None,
) -> VerificationResult:
    """``cp247 documents verify FILE [--signature SIG] [--trusted-keys PEM]`` in one call.

    Unreadable document or signature files give a failed result rather than an exception.
    """
    signature_path = signature_path or signature_path_for(document_path)
    try:
        document = Path(document_path).read_bytes()
    except OSError as exc:
        return VerificationResult(False, f"cannot read {document_path}: {exc}", "", None)
    try:
        signature = Path(signature_path).read_bytes()
    except OSError as exc:
        return VerificationResult(
            False, f"cannot read signature {signature_path}: {exc}", sha256_hex(document), None
        )
    trusted = None
    if trusted_keys_path is not None:
        try:
            trusted = split_public_keys_pem(Path(trusted_keys_path).read_text(encoding="ascii"))
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigurationError(f"trusted keys {trusted_keys_path}: {exc}") from None
        if not trusted:
            raise ConfigurationError(f"trusted keys {trusted_keys_path}: no PUBLIC KEY block")
    return verify_document(document, signature, trusted)


@dataclass(frozen=True)
class SignedDocument:
    """A rendered document and its detached signature (``signature.sha256`` goes on the
    timeline)."""

    pdf: bytes = field(repr=False)  # kilobytes of PDF are no use in a log line
    signature: Signature


def render_signed_order(
    order: Mapping[str, Any],
    letterhead: Letterhead,
    signer: Signer,
    local_zone: str | None = None,
    signed_at: datetime | None = None,
) -> SignedDocument:
    """Render the order and sign the bytes in one step."""
    pdf = render_preservation_order(order, letterhead, local_zone)
    return SignedDocument(pdf=pdf, signature=signer.sign(pdf, signed_at))


# --------------------------------------------------------------------------------------------
# Text and time helpers
# --------------------------------------------------------------------------------------------

# Typographic characters people paste from word processors; outside Latin-1, with an obvious
# ASCII stand-in. (Characters NFKD cannot decompose, like the Polish L-stroke, are listed too.)
_TRANSLITERATION = {
    "\u2010": "-",
    "\u2011": "-",
    "\u2012": "-",
    "\u2013": "-",
    "\u2014": "-",
    "\u2015": "-",
    "\u2018": "'",
    "\u2019": "'",
    "\u201a": "'",
    "\u201b": "'",
    "\u201c": '"',
    "\u201d": '"',
    "\u201e": '"',
    "\u2026": "...",
    "\u2022": "*",
    "\u2032": "'",
    "\u2033": '"',
    "\u2212": "-",
    "\u20ac": "EUR",
    "\u2116": "No.",
    "\u0141": "L",
    "\u0142": "l",
    "\u0110": "D",
    "\u0111": "d",
    "\u0152": "OE",
    "\u0153": "oe",
    "\u0131": "i",
    "\u0126": "H",
    "\u0127": "h",
}


def _is_latin1_printable(ch: str) -> bool:
    return ord(ch) < 256 and unicodedata.category(ch) not in ("Cc", "Cf")


def pdf_text(value: Any) -> str:
    """Prose for a core-font PDF: Latin-1, transliterated where possible, else ``?``."""
    if value is None:
        return ""
    out: list[str] = []
    for ch in str(value):
        if ch == "\n" or _is_latin1_printable(ch):
            out.append(ch)
        elif ch in ("\t", "\r"):
            out.append(" " if ch == "\t" else "")
        elif ch in _TRANSLITERATION:
            out.append(_TRANSLITERATION[ch])
        elif unicodedata.category(ch) in ("Cc", "Cf", "Mn"):
            continue  # invisible or combining: nothing to print
        else:
            base = "".join(
                c for c in unicodedata.normalize("NFKD", ch) if unicodedata.category(c) != "Mn"
            )
            out.append(base if base and all(_is_latin1_printable(c) for c in base) else "?")
    return "".join(out)


def pdf_exact(value: Any) -> str:
    """An identifier for a core-font PDF: every character either itself or ``<U+hhhh>``, so
    a reader can tell exactly what to preserve."""
    if value is None:
        return ""
    return "".join(ch if _is_latin1_printable(ch) else f"<U+{ord(ch):04X}>" for ch in str(value))


def _parse_time(text: Any) -> datetime | None:
    if not isinstance(text, str) or not text.strip():
        return None
    try:
        return datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None


def _required_time(order: Mapping[str, Any], key: str) -> datetime | None:
    value = order.get(key)
    if value in (None, ""):
        return None
    moment = _parse_time(value)
    if moment is None or moment.tzinfo is None:
        raise ValueError(f"order {key} must be an ISO 8601 time with an offset, got {value!r}")
    return moment


def _clock(moment: datetime) -> str:
    # Seconds always; microseconds only when present, because for carrier-grade NAT the exact
    # time is what identifies a subscriber and must not be rounded away.
    spec = "microseconds" if moment.microsecond else "seconds"
    return f"{moment.date().isoformat()} {moment.time().isoformat(timespec=spec)}"


def format_utc(moment: datetime) -> str:
    return f"{_clock(moment.astimezone(UTC))} UTC"


def format_local(moment: datetime, zone: ZoneInfo, with_zone_name: bool = True) -> str:
    """Local time with its abbreviation and offset (and zone name), so a DST fold is never
    ambiguous: 01:30 CEST (UTC+02:00) and 01:30 CET (UTC+01:00) are an hour apart."""
    local = moment.astimezone(zone)
    offset = local.strftime("%z")
    offset = f"UTC{offset[:3]}:{offset[3:]}" if offset else "UTC"
    suffix = f", {zone.key}" if with_zone_name else ""
    return f"{_clock(local)} {local.tzname()} ({offset}{suffix})"


def order_number(order: Mapping[str, Any]) -> str:
    """Short human number: ``PO-<year issued>-<first 8 hex of order_id>``; ``DRAFT`` for the
    year of an order not yet issued."""
    issued = _parse_time(order.get("issued_at"))
    year = str(issued.astimezone(UTC).year) if issued and issued.tzinfo else "DRAFT"
    head = re.sub(r"[^0-9a-fA-F]", "", str(order.get("order_id", "")))[:8].upper()
    return f"PO-{year}-{head or 'UNKNOWN'}"


def _period_days(
    order: Mapping[str, Any], issued: datetime | None, expires: datetime | None
) -> int | None:
    period = order.get("period_days")
    if isinstance(period, int) and not isinstance(period, bool):
        return period
    if issued and expires:
        return round((expires - issued).total_seconds() / 86400)
    return None


# --------------------------------------------------------------------------------------------
# PDF building blocks
# --------------------------------------------------------------------------------------------

_MARGIN = 15
_NOT_STATED = "Not stated."


class _Document(FPDF):
    """A4 page with the letterhead footer and "Page n of N"."""

    def __init__(self, letterhead: Letterhead, reference: str):
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.letterhead = letterhead
        self.reference = reference
        # Not fpdf2's "{nb}": it would be substituted inside any text, including identifiers
        # a requester typed. A fresh random alias cannot be typed in advance, and saves the
        # second rendering pass that counting pages first would cost (half of an order's CPU).
        self.pages_alias = "{" + secrets.token_hex(6) + "}"
        self.alias_nb_pages(self.pages_alias)
        self.set_margins(_MARGIN, _MARGIN, _MARGIN)
        self.set_auto_page_break(auto=True, margin=22)
        self.core_fonts_encoding = "latin-1"

    def footer(self) -> None:
        self.set_y(-16)
        self.set_font("Helvetica", "", 7)
        self.set_text_color(90, 90, 90)
        self.cell(
            0,
            3.5,
            pdf_text(f"{self.reference} - page {self.page_no()} of ") + self.pages_alias,
            align="L",  # fpdf2 sizes the alias as wide as itself: right-aligned it would drift
            new_x=XPos.LMARGIN,
            new_y=YPos.NEXT,
        )
        if self.letterhead.footer:
            self.paragraph(pdf_text(self.letterhead.footer), 3.5, align="C")
        self.set_text_color(0, 0, 0)

    # --- writing helpers -------------------------------------------------------------------
    def paragraph(self, text: str, height: float, align: str = "L") -> None:
        """``text`` from the current x to the right margin, wrapped at spaces (a word wider
        than the line is broken between characters), one ``cell`` a line; then the next line
        at the left margin.

        fpdf2's ``multi_cell`` measures the whole line again for every character it adds:
        that made up a third of an order's CPU. Here each word is measured once.
        """
        left = self.get_x()
        width = self.w - self.r_margin - left
        for line in self._wrap(text, width - 2 * self.c_margin):
            self.set_x(left)
            self.cell(width, height, line, align=align, new_x=XPos.LEFT, new_y=YPos.NEXT)
        self.set_x(self.l_margin)

    def _wrap(self, text: str, room: float) -> list[str]:
        lines: list[str] = []
        space = self.get_string_width(" ")
        for paragraph in text.split("\n"):
            line, used = "", 0.0
            for word in paragraph.split(" "):
                size = self.get_string_width(word)
                gap = space if line or used else 0.0
                if used + gap + size <= room:
                    line, used = (line + " " + word if gap else word), used + gap + size
                    continue
                if line or used:
                    lines.append(line)
                while size > room:  # a word (an identifier, a URL) longer than a line
                    cut = self._fitting(word, room)
                    lines.append(word[:cut])
                    word = word[cut:]
                    size = self.get_string_width(word)
                line, used = word, size
            lines.append(line)
        return lines

    def _fitting(self, word: str, room: float) -> int:
        """How many leading characters of ``word`` fit in ``room`` (at least one)."""
        used = 0.0
        for count, char in enumerate(word):
            used += self.get_string_width(char)
            if used > room:
                return max(count, 1)
        return len(word)

    def line_text(self, text: str, size: float = 10, style: str = "", height: float = 5) -> None:
        self.set_font("Helvetica", style, size)
        self.paragraph(text, height)

    def heading(self, text: str) -> None:
        # Keep a heading with at least two lines of what it introduces.
        if self.get_y() + 18 > self.page_break_trigger:
            self.add_page()
        self.ln(1.5)
        self.line_text(pdf_text(text), size=11, style="B", height=5.5)

    def pairs(self, rows: Iterable[tuple[str, str]]) -> None:
        """Label/value lines; the value wraps under itself, not under the label."""
        for label, value in rows:
            self.set_font("Helvetica", "B", 10)
            self.cell(48, 5, pdf_text(label))
            self.set_font("Helvetica", "", 10)
            self.paragraph(value, 5)

    def rule(self) -> None:
        self.ln(1)
        self.line(self.l_margin, self.get_y(), self.w - self.r_margin, self.get_y())
        self.ln(2)


def _letterhead_block(pdf: _Document, letterhead: Letterhead) -> None:
    pdf.line_text(pdf_text(letterhead.authority_name), size=14, style="B", height=7)
    pdf.line_text(pdf_text(letterhead.unit), size=11, height=5.5)
    for line in letterhead.address_lines:
        pdf.line_text(pdf_text(line), size=9, height=4.5)
    pdf.line_text(pdf_text(f"{letterhead.city}, {letterhead.country}"), size=9, height=4.5)
    contact = [f"Tel. {letterhead.phone}"]
    if letterhead.fax:
        contact.append(f"Fax {letterhead.fax}")
    contact.append(f"E-mail {letterhead.email}")
    pdf.line_text(pdf_text("  |  ".join(contact)), size=9, height=4.5)
    pdf.rule()


def _title(pdf: _Document, title: str) -> None:
    pdf.ln(2)
    pdf.set_font("Helvetica", "B", 15)
    pdf.paragraph(pdf_text(title), 7.5, align="C")  # a long title wraps, never runs off
    pdf.ln(2)


def _identifier_table(
    pdf: _Document, identifiers: Sequence[Mapping[str, Any]], zone: ZoneInfo, fallback_zone: str
) -> None:
    """One row per identifier: the value exactly, the port, and its time in UTC, in local time
    and as the requester wrote it. The times share one column so the identifier gets the width
    (an IPv6 address or a URL broken over lines is easy to misread)."""
    if not identifiers:
        pdf.line_text(pdf_text("No identifiers given."))
        return
    with_service = any(item.get("service") for item in identifiers)
    headings = ["#", "Kind", "Identifier", "Port"]
    widths = [6.0, 14.0, 62.0, 12.0]
    if with_service:
        headings.append("Service")
        widths.append(20.0)
    headings.append(f"Observed (UTC; local = {zone.key})")
    widths.append(180.0 - sum(widths))
    pdf.set_font("Helvetica", "", 8)
    with pdf.table(
        col_widths=tuple(widths),
        width=180,
        text_align="LEFT",
        line_height=4,
        padding=1,
        first_row_as_headings=True,
    ) as table:
        row = table.row()
        for heading in headings:
            row.cell(pdf_text(heading))
        for number, item in enumerate(identifiers, start=1):
            port = item.get("port")
            cells = [
                str(number),
                pdf_text(item.get("kind") or "-"),
                pdf_exact(item.get("value") or "-"),
                "-" if port in (None, "") else pdf_exact(port),
            ]
            if with_service:
                cells.append(pdf_text(item.get("service") or "-"))
            cells.append(_observed(item, zone, fallback_zone))
            row = table.row()
            for cell in cells:
                row.cell(cell)
    pdf.ln(1)


def _observed(item: Mapping[str, Any], zone: ZoneInfo, fallback_zone: str) -> str:
    """UTC, local and as-written lines for an identifier's time. A time without an offset is
    read in the zone the requester declared and marked so, never silently taken as UTC."""
    raw = item.get("observed_at")
    if raw in (None, ""):
        return "-"
    as_written = f"As written: {pdf_exact(item.get('observed_at_text') or raw)}"
    moment = _parse_time(raw)
    if moment is None:
        return f"Not a valid time.\n{as_written}"
    note = ""
    if moment.tzinfo is None:
        declared = item.get("observed_at_zone") or fallback_zone
        try:
            moment = moment.replace(tzinfo=ZoneInfo(str(declared)))
        except (ZoneInfoNotFoundError, ValueError):
            return f"Unknown: no UTC offset and no time zone given.\n{as_written}"
        note = f" (read in {pdf_text(declared)})"
    utc = format_utc(moment) + note
    local = format_local(moment, zone, with_zone_name=False)
    return f"UTC: {utc}\nLocal: {local}\n{as_written}"


def _render(
    build: Callable[[_Document], None],
    letterhead: Letterhead,
    reference: str,
    creation: datetime,
    title: str,
) -> bytes:
    pdf = _Document(letterhead, reference)
    pdf.set_creation_date(creation)
    pdf.set_title(pdf_text(title))
    pdf.set_author(pdf_text(letterhead.authority_name))
    pdf.set_subject(pdf_text(reference))
    pdf.set_creator("cp247")
    pdf.add_page()
    build(pdf)
    return bytes(pdf.output())


# --------------------------------------------------------------------------------------------
# The preservation order
# --------------------------------------------------------------------------------------------


def render_preservation_order(
    order: Mapping[str, Any], letterhead: Letterhead, local_zone: str | None = None
) -> bytes:
    """The order as served at ``GET /api/v1/isp/orders/{order_id}/document``.

    ``order`` has the keys of the ISP order view (order_id, case_id, provider_id, identifiers,
    data_types, issued_at, expires_at, legal_basis; optional period_days, provider_name,
    request_id). ``local_zone`` (IANA) defaults to the letterhead's zone. The status is not
    printed: it changes after issue, and the document - and its recorded digest - must not.
    Raises ``ValueError`` for unparseable issue/expiry times and ``ConfigurationError`` for an
    unknown zone.
    """
    zone_name = local_zone or letterhead.time_zone or "UTC"
    zone = _zone(zone_name, "local time zone")
    issued = _required_time(order, "issued_at")
    expires = _required_time(order, "expires_at")
    number = order_number(order)
    period = _period_days(order, issued, expires)
    title = "PRESERVATION ORDER" if issued else "PRESERVATION ORDER - DRAFT, NOT ISSUED"

    def when(moment: datetime | None) -> str:
        if moment is None:
            return "Not yet issued."
        return f"{format_utc(moment)}\n{format_local(moment, zone)}"

    def build(pdf: _Document) -> None:
        _letterhead_block(pdf, letterhead)
        _title(pdf, title)
        provider = str(order.get("provider_id") or "-")
        if order.get("provider_name"):
            provider = f"{order['provider_name']} ({provider})"
        pdf.pairs(
            [
                ("Order number", pdf_text(number)),
                ("Order ID", pdf_exact(order.get("order_id") or "-")),
                ("Case reference", pdf_exact(order.get("case_id") or "-")),
            ]
            + (
                [("Request reference", pdf_exact(order["request_id"]))]
                if order.get("request_id")
                else []
            )
            + [("Addressed to", pdf_text(provider))]
        )
        pdf.heading("Legal basis")
        pdf.line_text(pdf_text(order.get("legal_basis") or _NOT_STATED))
        pdf.ln(1)
        pdf.line_text(
            pdf_text(
                "The provider named above is ordered to preserve expeditiously, and to keep "
                "intact, the stored computer data described below, in its possession or "
                "control, until the time stated, pending a request for its disclosure."
            )
        )
        pdf.heading("Period of preservation")
        pdf.pairs(
            [
                ("Issued at", when(issued)),
                ("Preserve until", when(expires) if expires else "Set at issue."),
                ("Period", f"{period} days" if period is not None else _NOT_STATED),
            ]
        )
        pdf.heading("Data to preserve")
        types = order.get("data_types") or []
        pdf.pairs([("Types of data", pdf_text(", ".join(map(str, types)) or _NOT_STATED))])
        pdf.ln(1)
        _identifier_table(pdf, order.get("identifiers") or [], zone, zone_name)
        pdf.line_text(
            pdf_text(
                "Each time is given in UTC, in local time and exactly as the requester wrote it. "
                "Where a port is given, the subscriber is identified by address, port and time "
                "together."
            ),
            size=8,
            height=4,
        )
        pdf.heading("Confidentiality")
        pdf.line_text(
            pdf_text(
                "The provider shall keep this order and its execution confidential and shall "
                "not inform the subscriber or any third party (Budapest Convention Art 16(3))."
            )
        )
        pdf.heading("Contact")
        pdf.line_text(
            pdf_text(
                f"{letterhead.unit}, {letterhead.authority_name}: telephone {letterhead.phone}"
                + (f", fax {letterhead.fax}" if letterhead.fax else "")
                + f", e-mail {letterhead.email}. Available 24 hours a day, 7 days a week. "
                f"Quote order number {number}."
            )
        )
        _signature_block(pdf, letterhead, issued)

    return _render(build, letterhead, number, issued or _FALLBACK_CREATION_DATE, title)


def _signature_block(pdf: _Document, letterhead: Letterhead, dated: datetime | None) -> None:
    # A signatory line alone at the top of a page, cut off from the text it signs, invites the
    # question whether pages were swapped: move the whole block when it would not fit.
    if pdf.get_y() + 36 > pdf.page_break_trigger:
        pdf.add_page()
    pdf.ln(4)
    place = f"{letterhead.city}, {dated.astimezone(UTC).date().isoformat()}" if dated else ""
    if place:
        pdf.line_text(pdf_text(place))
    pdf.ln(3)
    pdf.line_text(pdf_text(letterhead.signatory_name), style="B")
    pdf.line_text(pdf_text(letterhead.signatory_title))
    pdf.line_text(pdf_text(letterhead.authority_name))
    pdf.ln(2)
    pdf.line_text(
        pdf_text(
            "Signed electronically with a detached Ed25519 signature (file with the suffix "
            f"'{SIGNATURE_SUFFIX}'). Verify with: cp247 documents verify FILE."
        ),
        size=8,
        height=4,
    )


# --------------------------------------------------------------------------------------------
# The outgoing preservation request (signed letter)
# --------------------------------------------------------------------------------------------

# The appendix checklist, in its order; the letter prints every heading, "Not stated." where
# the request lacks the item, so a gap is visible to the signatory before the letter goes out.
CHECKLIST_HEADINGS = (
    "1. Requesting authority",
    "2. Responsible authority and case number",
    "3. Offence, legal provisions and maximum penalty",
    "4. Summary of facts",
    "5. Related investigations and earlier requests",
    "6. Data to preserve",
    "7. Custodian of the data",
    "8. Necessity of preservation",
    "9. Intention to submit a mutual legal assistance request",
    "10. Partial disclosure and feedback",
    "11. Period of preservation",
)


def _letter_date(request: Mapping[str, Any]) -> datetime | None:
    """The letter's date: when the request was registered, else the date the requesting
    authority put on it."""
    for key in ("registered_at", "received_at", "created_at"):
        moment = _parse_time(request.get(key))
        if moment is not None and moment.tzinfo is not None:
            return moment
    authority = request.get("requesting_authority") or {}
    try:
        day = date.fromisoformat(str(authority.get("date")))
    except ValueError:
        return None
    return datetime.combine(day, time(0, 0), tzinfo=UTC)


def _yes_no(value: Any) -> str:
    if value is True:
        return "Yes"
    if value is False:
        return "No"
    return _NOT_STATED


def render_outgoing_request(
    request: Mapping[str, Any], letterhead: Letterhead, local_zone: str | None = None
) -> bytes:
    """A signed-letter form of an outgoing preservation request (``POST /api/v1/requests``
    body shape; missing keys print "Not stated."), for destinations that want a letter on
    letterhead. Local times are in ``local_zone``, else the requesting authority's
    ``time_zone``, else the letterhead's zone.
    """
    authority: Mapping[str, Any] = request.get("requesting_authority") or {}
    responsible: Mapping[str, Any] = request.get("responsible_authority") or {}
    offence: Mapping[str, Any] = request.get("offence") or {}
    data: Mapping[str, Any] = request.get("data") or {}
    custodian: Mapping[str, Any] = data.get("custodian") or {}
    follow_up: Mapping[str, Any] = request.get("follow_up") or {}
    declared_zone = str(authority.get("time_zone") or letterhead.time_zone or "UTC")
    zone_name = local_zone or declared_zone
    zone = _zone(zone_name, "local time zone")
    dated = _letter_date(request)
    reference = str(authority.get("reference") or request.get("request_id") or "")
    label = f"Preservation request {reference}".strip()
    title = "REQUEST FOR EXPEDITED PRESERVATION OF STORED COMPUTER DATA"

    def stated(value: Any) -> str:
        return pdf_text(value) if value not in (None, "", []) else _NOT_STATED

    def build(pdf: _Document) -> None:
        _letterhead_block(pdf, letterhead)
        destination = request.get("counterpart_country") or custodian.get("country")
        pdf.pairs(
            [
                ("To", stated(f"24/7 point of contact, {destination}" if destination else None)),
                ("Our reference", stated(reference)),
                ("Date", stated(dated.date().isoformat() if dated else authority.get("date"))),
                ("Legal basis", "Budapest Convention (CETS 185) Art 29 and Art 35"),
            ]
        )
        _title(pdf, title)

        pdf.heading(CHECKLIST_HEADINGS[0])
        pdf.pairs(
            [
                ("Authority", stated(authority.get("contact_point") or letterhead.authority_name)),
                ("Unit", stated(letterhead.unit)),
                ("Person", stated(authority.get("person"))),
                (
                    "City / country",
                    stated(
                        ", ".join(
                            str(part)
                            for part in (
                                authority.get("city") or letterhead.city,
                                authority.get("country") or letterhead.country,
                            )
                            if part
                        )
                    ),
                ),
                ("Telephone", stated(authority.get("phone") or letterhead.phone)),
                ("Fax", stated(authority.get("fax") or letterhead.fax)),
                ("E-mail", stated(authority.get("email") or letterhead.email)),
                ("Reference", stated(authority.get("reference"))),
                ("Time zone", stated(declared_zone)),
            ]
        )
        pdf.heading(CHECKLIST_HEADINGS[1])
        pdf.pairs(
            [
                ("Authority", stated(responsible.get("name"))),
                ("Contact", stated(responsible.get("contact"))),
                ("Case / file number", stated(responsible.get("case_number"))),
            ]
        )
        pdf.heading(CHECKLIST_HEADINGS[2])
        pdf.pairs(
            [
                ("Offence", stated(offence.get("description"))),
                ("Legal provisions", stated(offence.get("provisions"))),
                ("Maximum penalty", stated(offence.get("max_penalty"))),
            ]
        )
        pdf.heading(CHECKLIST_HEADINGS[3])
        pdf.line_text(stated(offence.get("summary_of_facts")))
        pdf.heading(CHECKLIST_HEADINGS[4])
        related = offence.get("related_requests") or []
        pdf.line_text(
            pdf_text("\n".join(f"- {item}" for item in related)) if related else "None stated."
        )
        pdf.heading(CHECKLIST_HEADINGS[5])
        pdf.pairs(
            [
                ("Types of data", stated(", ".join(map(str, data.get("types") or [])))),
                ("Relationship to offence", stated(data.get("relationship_to_offence"))),
            ]
        )
        pdf.ln(1)
        _identifier_table(pdf, data.get("identifiers") or [], zone, declared_zone)
        pdf.heading(CHECKLIST_HEADINGS[6])
        pdf.pairs(
            [
                ("Provider", stated(custodian.get("name") or custodian.get("provider_id"))),
                ("Provider id", stated(custodian.get("provider_id"))),
                ("Country", stated(custodian.get("country"))),
            ]
        )
        pdf.heading(CHECKLIST_HEADINGS[7])
        pdf.line_text(stated(request.get("necessity")))
        pdf.heading(CHECKLIST_HEADINGS[8])
        intended = request.get("mla_intended")
        pdf.line_text(
            pdf_text(
                "The requesting Party intends to submit a request for mutual assistance for "
                "the search, seizure or disclosure of the preserved data."
                if intended is True
                else "No mutual legal assistance request is intended at present."
                if intended is False
                else _NOT_STATED
            )
        )
        pdf.heading(CHECKLIST_HEADINGS[9])
        pdf.pairs(
            [
                (
                    "Partial disclosure wanted",
                    _yes_no(follow_up.get("partial_disclosure_requested")),
                ),
                ("Feedback wanted", _yes_no(follow_up.get("feedback_requested"))),
            ]
        )
        pdf.heading(CHECKLIST_HEADINGS[10])
        period = data.get("period_days")
        pdf.line_text(pdf_text(f"{period} days" if period not in (None, "") else _NOT_STATED))
        _signature_block(pdf, letterhead, dated)

    return _render(build, letterhead, label, dated or _FALLBACK_CREATION_DATE, title)


__all__ = [
    "ALGORITHM",
    "CHECKLIST_HEADINGS",
    "LETTERHEAD_ENV",
    "Letterhead",
    "Signature",
    "SignedDocument",
    "Signer",
    "VerificationResult",
    "format_local",
    "format_utc",
    "key_id_for",
    "order_number",
    "pdf_exact",
    "pdf_text",
    "render_outgoing_request",
    "render_preservation_order",
    "render_signed_order",
    "sha256_hex",
    "signature_path_for",
    "split_public_keys_pem",
    "verify_document",
    "verify_files",
]
