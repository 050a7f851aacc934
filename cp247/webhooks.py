"""Signed webhooks that push new orders to a provider's own endpoint.

A provider may register one webhook URL (``cp247 providers add ... --webhook URL``). When an
order reaches its inbox, the platform POSTs a JSON notification there. The inbox stays the
source of truth: a webhook is a prompt to fetch, so it is retried with back-off and then given
up on, never relied on.

Wire format (all names fixed; receivers code against them)::

    POST <webhook URL>
    Content-Type: application/json
    X-CP247-Event: order.issued
    X-CP247-Delivery: <delivery id, the same on every retry of one delivery>
    X-CP247-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, f"{t}." + body)>

    <body: canonical JSON, UTF-8>

The timestamp is inside the MAC so a captured request cannot be replayed later: receivers
reject a signature whose ``t`` is more than five minutes from their clock (``verify``), and
drop a ``X-CP247-Delivery`` they have already processed (a retry after a lost response).

The secret is per provider and derived from one master key (``secret_for``), so nothing per
provider is stored; the lead shows it to the provider once as hex (``secret_hex``). The HMAC
key is the *raw* secret, i.e. receivers use ``bytes.fromhex(shown_secret)``, not the hex text.

A receiver in Python::

    key = bytes.fromhex(os.environ["CP247_WEBHOOK_SECRET"])
    if not verify(key, raw_body, headers["X-CP247-Signature"], time.time()):
        return 401

Stdlib only: this runs inside the eventlet-patched services as well as in plain processes, and
``http.client`` is used rather than ``urllib.request`` because the latter follows redirects,
and a signed POST must never be re-sent (or turned into a GET) somewhere the provider did not
register.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import re
import socket
import ssl
import uuid
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlsplit

from cp247.outbound import OutboundPolicy, OutboundRefused
from cp247.runtime.derivation import derive_key
from cp247.runtime.retry import backoff

__all__ = [
    "CONTENT_TYPE",
    "DELIVERY_HEADER",
    "EVENT_HEADER",
    "EVENT_ORDER_ISSUED",
    "MAX_ATTEMPTS",
    "SIGNATURE_HEADER",
    "Delivery",
    "Outcome",
    "WebhookClient",
    "backoff",
    "canonical_json",
    "outcome_for_status",
    "secret_for",
    "secret_hex",
    "sign",
    "url_problem",
    "verify",
]

SIGNATURE_HEADER = "X-CP247-Signature"
EVENT_HEADER = "X-CP247-Event"
DELIVERY_HEADER = "X-CP247-Delivery"
CONTENT_TYPE = "application/json"  # RFC 8259: JSON is UTF-8, so no charset parameter

EVENT_ORDER_ISSUED = "order.issued"

# Twelve attempts with the default back-off (2 s doubling, capped at an hour) span about
# 68 minutes: long enough to ride out a receiver's restart or deploy, short enough that the
# provider's inbox (which it must poll anyway) is the fallback well within an order's life.
MAX_ATTEMPTS = 12

DEFAULT_TOLERANCE_SECONDS = 300

# Receivers see this; it tells their operators who is calling without reading the body.
USER_AGENT = "cp247-webhooks/1"

# Bounds on what ``verify`` will look at, so hostile headers cost nothing to reject.
_MAX_HEADER_LENGTH = 4096
_TIMESTAMP = re.compile(r"[0-9]{1,12}")  # 12 digits: year 33658; also avoids huge ints
_HEX_DIGEST = re.compile(r"[0-9a-f]{64}")
_HEADER_TOKEN = re.compile(r"[!-~]{1,200}")
_UNSAFE_URL_CHARACTER = re.compile(r"[\x00-\x20\x7f]")

# A derived secret is only as strong as the master key; 16 bytes is the floor, 32 the advice.
_MIN_MASTER_KEY_BYTES = 16


# --- signatures ------------------------------------------------------------------------------
def _mac(secret: bytes, body: bytes, timestamp: int) -> str:
    return hmac.new(secret, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def sign(secret: bytes, body: bytes, timestamp: int) -> str:
    """The ``X-CP247-Signature`` value for ``body`` sent at ``timestamp`` (unix seconds).

    Raises ``ValueError`` for an empty secret (anyone could forge that MAC) or a negative
    timestamp; those are the caller's bugs, not the network's.
    """
    if not secret:
        raise ValueError("a webhook secret must not be empty")
    if timestamp < 0:
        raise ValueError("the timestamp is unix seconds and cannot be negative")
    return f"t={int(timestamp)},v1={_mac(secret, body, int(timestamp))}"


def verify(
    secret: bytes,
    body: bytes,
    header: str | None,
    now: float,
    tolerance_seconds: float = DEFAULT_TOLERANCE_SECONDS,
) -> bool:
    """Whether ``header`` is a valid signature of ``body`` made within ``tolerance_seconds``.

    Never raises on what a sender controls: a missing, malformed or oversized header, a body
    of the wrong type, or any junk is simply ``False``. Several ``v1=`` entries are accepted
    (any one matching is enough) so a secret can be rotated by signing with both for a while;
    unknown keys (a future ``v2=``) are ignored for the same reason.
    """
    if not isinstance(header, str) or len(header) > _MAX_HEADER_LENGTH:
        return False
    if not isinstance(secret, bytes | bytearray) or not secret:
        return False
    if not isinstance(body, bytes | bytearray):
        return False
    timestamp: int | None = None
    candidates: list[str] = []
    for item in header.split(","):
        key, sep, value = item.strip().partition("=")
        if not sep:
            return False
        if key == "t":
            # A second ``t`` would let a forger pick which one a lax parser reads.
            if timestamp is not None or not _TIMESTAMP.fullmatch(value):
                return False
            timestamp = int(value)
        elif key == "v1" and _HEX_DIGEST.fullmatch(value):
            # Shape check first: compare_digest raises on non-ASCII text.
            candidates.append(value)
    if timestamp is None or not candidates:
        return False
    # Both directions: a timestamp far in the future is as suspect as a stale one.
    if abs(now - timestamp) > tolerance_seconds:
        return False
    expected = _mac(bytes(secret), bytes(body), timestamp).encode("ascii")
    # Check every candidate, not stopping at the first match, so timing says nothing about
    # which one matched; compare_digest keeps each comparison constant-time.
    matched = False
    for candidate in candidates:
        matched |= hmac.compare_digest(expected, candidate.encode("ascii"))
    return matched


# --- per-provider secrets --------------------------------------------------------------------
def secret_for(provider_id: str, master_key: bytes) -> bytes:
    """The provider's webhook secret: HMAC-SHA256(master_key, provider_id), 32 bytes.

    Deterministic, so the platform re-derives it at send time and stores no secret per
    provider. Use a master key dedicated to webhooks (not reused for tokens or anything else
    keyed on provider ids) and at least 32 random bytes; rotating it rotates every provider's
    secret at once.
    """
    if not provider_id:
        raise ValueError("a provider id is required")
    if len(master_key) < _MIN_MASTER_KEY_BYTES:
        raise ValueError(f"the webhook master key must be at least {_MIN_MASTER_KEY_BYTES} bytes")
    return derive_key(master_key, provider_id.encode("utf-8"))


def secret_hex(provider_id: str, master_key: bytes) -> str:
    """``secret_for`` as 64 hex characters, the form shown to the provider once."""
    return secret_for(provider_id, master_key).hex()


# --- scheduling ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """What one POST achieved. ``retry`` is only meaningful when ``ok`` is false."""

    ok: bool
    status: int | None
    error: str | None
    retry: bool


@dataclass(frozen=True)
class Delivery:
    """One notification to one webhook, as persisted between attempts.

    ``attempt`` is the number of the attempt this record schedules (1 for the first POST) and
    ``next_attempt_at`` when it is due (unix seconds). ``delivery_id`` never changes across
    retries; it is what receivers de-duplicate on.
    """

    delivery_id: str
    url: str
    event: str
    body: dict[str, Any]
    attempt: int
    next_attempt_at: float

    @classmethod
    def new(
        cls,
        url: str,
        event: str,
        body: dict[str, Any],
        now: float,
        delivery_id: str | None = None,
    ) -> Delivery:
        """A first attempt, due at once. Pass a ``delivery_id`` derived from the order when
        the caller may run twice for one order (a replayed event), so both runs share it."""
        return cls(delivery_id or str(uuid.uuid4()), url, event, body, 1, now)

    def due(self, now: float) -> bool:
        """Whether this attempt should be made now."""
        return now >= self.next_attempt_at

    def reschedule(
        self, outcome: Outcome, now: float, max_attempts: int = MAX_ATTEMPTS
    ) -> Delivery | None:
        """The next attempt after ``outcome``, or ``None`` when there is none to make:
        delivered, refused for good, or ``max_attempts`` used up."""
        if outcome.ok or not outcome.retry or self.attempt >= max_attempts:
            return None
        return replace(self, attempt=self.attempt + 1, next_attempt_at=now + backoff(self.attempt))


# --- sending ---------------------------------------------------------------------------------
def canonical_json(body: dict[str, Any]) -> bytes:
    """The exact bytes sent and signed. Canonical (sorted keys, no spaces) so the same
    notification always has the same bytes, whichever process or attempt produces it.
    ``allow_nan=False`` because NaN is not JSON and receivers' parsers would choke on it."""
    return json.dumps(
        body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def url_problem(url: str, policy: OutboundPolicy | None = None) -> str | None:
    """Why ``url`` cannot be a webhook, or ``None`` if it can. Usable to validate
    ``providers add --webhook`` as well as at send time. With a ``policy``, also whether the
    platform may call it at all (https to a public address, or an allowed host)."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 -- the property raises ValueError for a bad port
    except (ValueError, TypeError, AttributeError):
        return "not a valid URL"
    if parts.scheme not in ("http", "https"):
        return "only http and https webhook URLs are supported"
    if not parts.hostname:
        return "the webhook URL has no host"
    if _UNSAFE_URL_CHARACTER.search(url):
        # urlsplit quietly drops some of these and http.client refuses the rest at send time;
        # saying so at registration is kinder than a permanent failure on the first order.
        return "the webhook URL contains spaces or control characters"
    try:
        parts.hostname.encode("idna")  # what the socket layer will do with it
    except UnicodeError:
        return "the webhook URL's host name is not valid"
    if parts.username is not None or parts.password is not None:
        # http.client would silently drop them; refuse rather than pretend to send them.
        return "credentials in the webhook URL are not supported; the signature authenticates"
    if policy is not None:
        return policy.url_problem(url, "the webhook URL")
    return None


# Retried: the receiver may recover (408 timeout, 429 rate limit). Every other 4xx says the
# request itself is unwelcome (401 bad signature, 404/410 endpoint gone) and resending the
# same bytes cannot help; a human has to fix the directory entry or the receiver.
_RETRYABLE_CLIENT_ERRORS = frozenset({408, 429})


def outcome_for_status(status: int, reason: str = "") -> Outcome:
    """How an HTTP status is judged: 2xx delivered; 4xx permanent except 408/429; anything
    else (5xx, and 1xx/3xx, which a webhook receiver should never answer) is retried, because
    giving up is only right when the receiver has said so."""
    label = f"HTTP {status} {reason}".rstrip()
    if 200 <= status < 300:
        return Outcome(ok=True, status=status, error=None, retry=False)
    if 400 <= status < 500 and status not in _RETRYABLE_CLIENT_ERRORS:
        return Outcome(ok=False, status=status, error=label, retry=False)
    if 300 <= status < 400:
        label += " (redirects are not followed; register the final URL)"
    return Outcome(ok=False, status=status, error=label, retry=True)


class WebhookClient:
    """Makes single signed POST attempts; scheduling is the caller's (see ``Delivery``).

    ``timeout`` bounds connecting and each read/write on the socket, so a receiver that hangs
    costs one attempt at most that long per stalled operation.
    """

    def __init__(
        self,
        timeout: float = 5.0,
        ssl_context: ssl.SSLContext | None = None,
        policy: OutboundPolicy | None = None,
    ) -> None:
        self.timeout = timeout
        # Public https only unless the operator allowed a host (cp247.outbound).
        self.policy = policy if policy is not None else OutboundPolicy()
        # Verified TLS by default; a custom context is for private CAs, not for turning it off.
        # Built on first use: loading the system CA store is slow and http-only callers
        # (tests, a loopback relay) never need it.
        self._ssl_context = ssl_context

    @property
    def ssl_context(self) -> ssl.SSLContext:
        """The TLS context for https webhooks (certificate and host name verified)."""
        if self._ssl_context is None:
            self._ssl_context = ssl.create_default_context()
        return self._ssl_context

    def post(
        self,
        url: str,
        secret: bytes,
        event: str,
        delivery_id: str,
        body: dict[str, Any],
        now: float,
    ) -> Outcome:
        """POST ``body`` to ``url``, signed at ``now``, and judge the answer.

        Never raises for the URL, the network or the receiver: those come back as an
        ``Outcome``. Raises only for caller bugs: a body that is not JSON-serialisable
        (``TypeError``/``ValueError``) or an empty secret (``ValueError``).
        """
        for name, value in ((EVENT_HEADER, event), (DELIVERY_HEADER, delivery_id)):
            # Ours, not the receiver's: fail loudly rather than send a header http.client
            # would reject (or, worse, one that splits the request).
            if not isinstance(value, str) or not _HEADER_TOKEN.fullmatch(value):
                raise ValueError(f"{name} must be 1-200 printable ASCII characters, no spaces")
        problem = url_problem(url, self.policy)
        if problem:
            return Outcome(ok=False, status=None, error=problem, retry=False)
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        try:
            # Resolved and checked now, and the connection goes to that very address: the
            # name may have been re-pointed at an internal one since it was registered.
            address = self.policy.resolve(parts.hostname or "", port)[0]
        except OutboundRefused as exc:
            return Outcome(ok=False, status=None, error=str(exc), retry=False)
        except OSError as exc:
            return Outcome(ok=False, status=None, error=str(exc), retry=True)
        payload = canonical_json(body)
        headers = {
            "Content-Type": CONTENT_TYPE,
            "User-Agent": USER_AGENT,
            EVENT_HEADER: event,
            DELIVERY_HEADER: delivery_id,
            SIGNATURE_HEADER: sign(secret, payload, int(now)),
        }
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        connection: http.client.HTTPConnection
        if parts.scheme == "https":
            connection = _PinnedHTTPSConnection(
                parts.hostname, parts.port, timeout=self.timeout, context=self.ssl_context
            )
        else:
            connection = _PinnedHTTPConnection(parts.hostname, parts.port, timeout=self.timeout)
        connection.address = address
        try:
            connection.request("POST", target, body=payload, headers=headers)
            response = connection.getresponse()
            return outcome_for_status(response.status, response.reason)
        except http.client.InvalidURL as exc:
            # Checked before the generic handler below: a path with control characters is the
            # URL's fault, and resending it will not help.
            return Outcome(ok=False, status=None, error=f"invalid URL: {exc}", retry=False)
        except TimeoutError:
            return Outcome(
                ok=False, status=None, error=f"timed out after {self.timeout:g} s", retry=True
            )
        except (OSError, http.client.HTTPException) as exc:
            # Refused, reset, DNS failure, TLS failure, garbage instead of HTTP: all may be
            # transient (a receiver restarting, a certificate being renewed).
            return Outcome(ok=False, status=None, error=f"{type(exc).__name__}: {exc}", retry=True)
        except ValueError as exc:
            # Raised by http.client/idna for a host or path it cannot put on the wire (control
            # characters, an unencodable host name): the URL is wrong, resending will not help.
            return Outcome(ok=False, status=None, error=f"invalid URL: {exc}", retry=False)
        finally:
            connection.close()


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to ``address`` (checked by the policy), not to whatever the name says now;
    the Host header still names the host."""

    address: str

    def connect(self) -> None:
        self.sock = socket.create_connection((self.address, self.port), self.timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """As ``_PinnedHTTPConnection``, with TLS verified against the host name (SNI too)."""

    address: str

    def connect(self) -> None:
        sock = socket.create_connection((self.address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]
