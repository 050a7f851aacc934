"""Users, providers' API access and bearer tokens (minimal identity; issue 6 hardens it).

Tokens are random, shown once, and stored only as a SHA-256 digest; the token record's id is
derived from that digest, so authenticating a call is one lookup by id. A token made by
``login`` is a *session* (a browser carries it as a cookie): logging out revokes it, and its
CSRF token is an HMAC of it (:meth:`IdentityApplication.csrf_token`), so no state is kept.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta
from functools import cached_property
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerifyMismatchError
from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import IntegrityError

from cp247 import totp
from cp247.clock import iso, parse_iso, utcnow
from cp247.config import ConfigurationError
from cp247.errors import (
    AlreadyExists,
    Conflict,
    Forbidden,
    Invalid,
    NotFound,
    TooManyAttempts,
    Unauthorized,
)
from cp247.runtime.application import ServiceApplication, load, retry_on_conflict

IDENTITY_NAMESPACE = uuid5(NAMESPACE_URL, "https://cp247.example/identity")
USER_ROLES = ("police", "prosecution", "oversight", "admin")
USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
TOKEN_PREFIX = "cp247_"
SECOND_FACTOR_ROLES = ("police", "prosecution", "admin")  # console roles (issue 6)
LOCKOUT_AFTER = 5
LOCKOUT_WINDOW = timedelta(minutes=15)
SESSION_SECONDS = 24 * 3600  # the token below lives one day: a shift and its handover
DEFAULT_TOKEN_DAYS = 365
CSRF_KEY_LABEL = b"cp247/session-csrf/v1"  # domain separation from the key's other use


_HASHER = PasswordHasher()  # argon2id with the library's current recommended parameters


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


_DECOY = _HASHER.hash("decoy")


def check_password(password: str, stored: str) -> bool:
    try:
        return _HASHER.verify(stored, password)
    except (VerifyMismatchError, InvalidHashError):
        return False


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Principal:
    """Who is calling: a CP user with a role, or a provider's integration."""

    username: str
    role: str  # police | prosecution | oversight | admin | isp
    provider_id: str | None = None

    @property
    def actor(self) -> dict[str, str]:
        return {"username": self.username, "role": self.role}


class User(Aggregate):
    @staticmethod
    def create_id(username: str, **_: Any) -> UUID:
        return uuid5(IDENTITY_NAMESPACE, f"user|{username.lower()}")

    @event("UserAdded")
    def __init__(self, username: str, role: str, password_hash: str):
        self.username = username
        self.role = role
        self.password_hash = password_hash
        self.totp_secret: str | None = None
        self.failures: list[str] = []  # failed logins since the last success

    @event("SecondFactorEnrolled")
    def enrol_totp(self, secret: str) -> None:
        self.totp_secret = secret

    @event("LoginFailed")
    def login_failed(self, at: str, reason: str) -> None:
        self.failures.append(at)

    @event("LoggedIn")
    def logged_in(self, at: str) -> None:
        self.failures = []


class ApiToken(Aggregate):
    @staticmethod
    def create_id(digest: str, **_: Any) -> UUID:
        return uuid5(IDENTITY_NAMESPACE, f"token|{digest}")

    @event("TokenIssued")
    def __init__(
        self,
        digest: str,
        username: str,
        role: str,
        provider_id: str | None,
        issued_at: str,
        expires_at: str,
        session: bool = False,  # made by login; tokens issued before sessions existed: False
    ):
        self.expires_at = expires_at
        self.digest = digest
        self.username = username
        self.role = role
        self.provider_id = provider_id
        self.issued_at = issued_at
        self.session = session
        self.revoked = False

    @event("TokenRevoked")
    def revoke(self, revoked_at: str) -> None:
        self.revoked = True


class IdentityApplication(ServiceApplication):
    name = "gateway"
    publishes = False  # credentials never leave the gateway

    def add_user(self, username: str, role: str, password: str) -> dict[str, str]:
        errors: dict[str, list[str]] = {}
        if not USERNAME.match(username or ""):
            errors["username"] = ["letters, digits, '.', '_', '@' or '-', at most 64"]
        if role not in USER_ROLES:
            errors["role"] = [f"one of {', '.join(USER_ROLES)}"]
        if len(password or "") < 12:
            errors["password"] = ["at least 12 characters"]
        if errors:
            raise Invalid("the user is not valid", errors)
        try:
            self.save(User(username=username, role=role, password_hash=hash_password(password)))
        except IntegrityError:
            raise AlreadyExists(f"user {username} already exists") from None
        return {"username": username, "role": role}

    def _user(self, username: str) -> User | None:
        return load(self.repository, str(User.create_id(username)), User)

    def issue_token(
        self,
        *,
        username: str | None = None,
        provider_id: str | None = None,
        valid_days: int = DEFAULT_TOKEN_DAYS,
        session: bool = False,
    ) -> str:
        """A new bearer token for a user or a provider (the caller checks the provider)."""
        if (username is None) == (provider_id is None):
            raise Invalid("name either a user or a provider")
        if not 1 <= valid_days <= 3650:
            raise Invalid("tokens live 1 to 3650 days", {"days": ["1 to 3650"]})
        if username is not None:
            user = self._user(username)
            if user is None:
                raise NotFound(f"no user {username}")
            subject, role = user.username, user.role
        else:
            subject, role = str(provider_id), "isp"
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        digest = token_digest(token)
        self.save(
            ApiToken(
                digest=digest,
                username=subject,
                role=role,
                provider_id=provider_id,
                issued_at=iso(utcnow()),
                expires_at=iso(utcnow() + timedelta(days=valid_days)),
                session=session,
            )
        )
        return token

    @retry_on_conflict
    def revoke_token(self, token: str) -> None:
        record = load(self.repository, str(ApiToken.create_id(token_digest(token))), ApiToken)
        if record is None:
            raise NotFound("no such token")
        if record.revoked:
            raise Conflict("the token was already revoked")
        record.revoke(iso(utcnow()))
        self.save(record)

    # --- login with a second factor ----------------------------------------------------------
    @retry_on_conflict
    def enrol_second_factor(self, username: str) -> str:
        """A new TOTP secret for the user; returns the otpauth:// URI for the app."""
        user = self._user(username)
        if user is None:
            raise NotFound(f"no user {username}")
        secret = totp.new_secret()
        user.enrol_totp(secret)
        self.save(user)
        return totp.otpauth_uri(secret, user.username)

    @retry_on_conflict
    def login(self, username: str, password: str, code: str | None) -> dict[str, str]:
        """Password and second factor -> a session token (bearer) valid for a shift.

        Five failures within 15 minutes lock the account for the rest of that window,
        whatever the password, so guessing is slow and visible.
        """
        user = self._user(username) if isinstance(username, str) else None
        now = utcnow()
        if user is None or not isinstance(password, str):
            check_password("not the password", _DECOY)  # same time as a real check
            raise Unauthorized("wrong username, password or code")
        recent = [f for f in user.failures if now - parse_iso(f) < LOCKOUT_WINDOW]
        if len(recent) >= LOCKOUT_AFTER:
            raise TooManyAttempts("too many failed logins: try again in 15 minutes")
        reason = None
        if not check_password(password, user.password_hash):
            reason = "password"
        elif user.role in SECOND_FACTOR_ROLES and user.totp_secret is None:
            reason = "no second factor enrolled"
        elif user.totp_secret and not totp.verify(user.totp_secret, code or "", now.timestamp()):
            reason = "code"
        if reason is not None:
            user.login_failed(iso(now), reason)
            self.save(user)
            if reason == "no second factor enrolled":
                raise Forbidden("enrol a second factor first (cp247 users enrol-totp)")
            raise Unauthorized("wrong username, password or code")
        user.logged_in(iso(now))
        self.save(user)
        token = self.issue_token(username=user.username, valid_days=1, session=True)
        return {"token": token, "role": user.role, "expires_in_seconds": str(SESSION_SECONDS)}

    @retry_on_conflict
    def end_session(self, token: str) -> None:
        """Log out: revoke a session token (from login). Long-lived API tokens are not ended
        this way (a script calling logout must not lose its integration): an admin revokes
        them with ``cp247 tokens revoke``."""
        record = load(self.repository, str(ApiToken.create_id(token_digest(token))), ApiToken)
        if record is None:
            raise NotFound("no such token")
        if not getattr(record, "session", False):
            raise Conflict("this is an API token, not a login session: revoke it instead")
        if not record.revoked:  # logging out twice is not an error
            record.revoke(iso(utcnow()))
            self.save(record)

    def csrf_token(self, token: str) -> str:
        """The CSRF token of a session: HMAC-SHA256 (hex) of the session token. Recomputed
        from the token on every request, so every gateway replica agrees without state."""
        return hmac.new(self._csrf_key, token.encode(), hashlib.sha256).hexdigest()

    @cached_property
    def _csrf_key(self) -> bytes:
        """Derived from the event-store key (``CP247_EVENTS_KEY``), which every gateway
        replica already shares, under a label of its own; never a per-process secret."""
        master = (self.env.get("CIPHER_KEY") or "").strip()
        if not master:
            raise ConfigurationError("session CSRF tokens need CP247_EVENTS_KEY (CIPHER_KEY)")
        return hmac.new(base64.b64decode(master), CSRF_KEY_LABEL, hashlib.sha256).digest()

    def record_read(self, principal: Principal, what: str, target: str) -> None:
        _record_read(self, principal, what, target)

    def reads(self, target: str) -> list[dict[str, str]]:
        return _reads_of(self, target)

    def authenticate(self, token: str) -> Principal | None:
        if not token.startswith(TOKEN_PREFIX):
            return None
        record = load(self.repository, str(ApiToken.create_id(token_digest(token))), ApiToken)
        if record is None or record.revoked or parse_iso(record.expires_at) <= utcnow():
            return None
        return Principal(username=record.username, role=record.role, provider_id=record.provider_id)


class ReadLog(Aggregate):
    """Who looked at one thing (a case, its timeline, a request, an order, a document), when."""

    @staticmethod
    def create_id(target: str, **_: Any) -> UUID:
        return uuid5(IDENTITY_NAMESPACE, f"reads|{target}")

    @event("ReadLogStarted")
    def __init__(self, target: str):
        self.target = target
        self.reads: list[dict[str, str]] = []

    @event("Read")
    def read(self, username: str, role: str, what: str, at: str) -> None:
        self.reads.append({"username": username, "role": role, "what": what, "at": at})


def _record_read(app: IdentityApplication, principal: Principal, what: str, target: str) -> None:
    """Append one read to the target's log; a simultaneous read is retried, never dropped."""
    for _ in range(10):
        log = load(app.repository, str(ReadLog.create_id(target)), ReadLog) or ReadLog(target)
        log.read(principal.username, principal.role, what, iso(utcnow()))
        try:
            app.save(log)
            return
        except IntegrityError:
            continue
    raise Conflict("the read could not be recorded; try again")


def _reads_of(app: IdentityApplication, target: str) -> list[dict[str, str]]:
    log = load(app.repository, str(ReadLog.create_id(target)), ReadLog)
    return list(log.reads) if log else []
