"""Detached Ed25519 signatures of document bytes, and their verification."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from cp247.config import ConfigurationError

ALGORITHM = "Ed25519"
SIGNATURE_SUFFIX = ".sig"


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
    return verify_document(document, signature, trusted_keys(trusted_keys_path))


def trusted_keys(path: str | os.PathLike[str] | None) -> list[str] | None:
    """The PEM public keys of a trusted-keys file (None: no file named, nothing to trust)."""
    if path is None:
        return None
    try:
        trusted = split_public_keys_pem(Path(path).read_text(encoding="ascii"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"trusted keys {path}: {exc}") from None
    if not trusted:
        raise ConfigurationError(f"trusted keys {path}: no PUBLIC KEY block")
    return trusted
