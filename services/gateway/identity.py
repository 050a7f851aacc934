"""Users, providers' API access and bearer tokens.

Tokens are random, shown once, and stored only as a SHA-256 digest; the token record's id is
derived from that digest, so authenticating a call is one lookup by id. A token made by
``login`` is a *session* (a browser carries it as a cookie): logging out revokes it, and its
CSRF token is an HMAC of it (:meth:`IdentityApplication.csrf_token`), so no state is kept.

Every token carries the *credential generation* of its subject (a user or a provider) at
issue; disabling a user, setting a password or revoking "everything of" a user or a provider
moves the generation on, so every earlier token and session stops at once, even one whose
string nobody knows any more (a leaver's, a stolen integration's).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import cached_property
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerifyMismatchError
from eventsourcing.application import Repository
from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import IntegrityError
from eventsourcing.utils import get_topic

from cp247 import metrics, totp, validation
from cp247.clock import iso, months_between, parse_iso, utcnow
from cp247.config import ConfigurationError
from cp247.errors import (
    AlreadyExists,
    Conflict,
    Invalid,
    NotFound,
    TooManyAttempts,
    Unauthorized,
)
from cp247.runtime.application import ServiceApplication, load, retry_on_conflict
from cp247.runtime.derivation import derive_from_base64
from cp247.runtime.ledger import SealedStore
from services.gateway import read_figures as reading
from services.gateway.login_throttle import Burst, LoginThrottle
from services.notification.roster import ENV_VAR as ROSTER_ENV_VAR
from services.notification.roster import Roster

log = logging.getLogger(__name__)
IDENTITY_NAMESPACE = uuid5(NAMESPACE_URL, "https://cp247.example/identity")
USER_ROLES = ("police", "prosecution", "oversight", "admin")
USERNAME = re.compile(validation.USERNAME)
TOKEN_PREFIX = "cp247_"
READ_CACHE_SIZE = 2000  # read logs and monthly read counts, each a few kB
# Every person has a second factor, oversight too (it sees the audit and the figures);
# providers' integrations use tokens, not logins.
SECOND_FACTOR_ROLES = ("police", "prosecution", "oversight", "admin")
WRONG_LOGIN = "wrong username, password or code"  # one answer for every failure: tells nothing
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
        self.last_login: str | None = None
        self.last_totp_step: int | None = None  # a code is good once (RFC 6238 section 5.2)
        self.disabled = False
        self.generation = 0  # of its credentials: a token of an earlier one is not valid

    @event("SecondFactorEnrolled")
    def enrol_totp(self, secret: str) -> None:
        self.totp_secret = secret
        self.last_totp_step = None

    @event("LoginFailed")
    def login_failed(self, at: str, reason: str) -> None:
        self.failures.append(at)

    @event("LoggedIn")
    def logged_in(self, at: str, totp_step: int | None = None) -> None:
        self.failures = []
        self.last_login = at
        if totp_step is not None:
            self.last_totp_step = totp_step

    @event("UserDisabled")
    def disable(self, at: str, by: str) -> None:
        self.disabled = True
        self.generation = getattr(self, "generation", 0) + 1

    @event("UserEnabled")
    def enable(self, at: str, by: str) -> None:
        self.disabled = False

    @event("PasswordSet")
    def set_password(self, password_hash: str, at: str, by: str) -> None:
        self.password_hash = password_hash
        self.generation = getattr(self, "generation", 0) + 1

    @event("CredentialsRevoked")
    def revoke_credentials(self, at: str, by: str) -> None:
        self.generation = getattr(self, "generation", 0) + 1


class ProviderAccess(Aggregate):
    """The credential generation of a provider's integration (its tokens)."""

    @staticmethod
    def create_id(provider_id: str, **_: Any) -> UUID:
        return uuid5(IDENTITY_NAMESPACE, f"provider-access|{provider_id}")

    @event("ProviderAccessStarted")
    def __init__(self, provider_id: str):
        self.provider_id = provider_id
        self.generation = 0

    @event("ProviderCredentialsRevoked")
    def revoke_credentials(self, at: str, by: str) -> None:
        self.generation += 1


class UserRoster(Aggregate):
    """The names of every user, for the admins' list (users are found by name otherwise)."""

    @staticmethod
    def create_id(**_: Any) -> UUID:
        return uuid5(IDENTITY_NAMESPACE, "roster")

    @event("RosterStarted")
    def __init__(self, usernames: list[str]):
        self.usernames = list(usernames)

    @event("UserListed")
    def add(self, username: str) -> None:
        self.usernames.append(username)


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
        generation: int = 0,  # of the subject's credentials at issue
    ):
        self.expires_at = expires_at
        self.digest = digest
        self.username = username
        self.role = role
        self.provider_id = provider_id
        self.issued_at = issued_at
        self.session = session
        self.generation = generation
        self.revoked = False

    @event("TokenRevoked")
    def revoke(self, revoked_at: str) -> None:
        self.revoked = True


def _report_burst(burst: Burst) -> None:
    """For the admins: the LoginBurst alert (infra/prometheus/alerts.yml) and the log."""
    metrics.LOGIN_BURSTS.labels(burst.kind).inc()
    log.warning("burst of %d failed logins for one %s: %s", burst.failures, burst.kind, burst.key)


def _password_problems(password: Any) -> list[str]:
    return [] if isinstance(password, str) and len(password) >= 12 else ["at least 12 characters"]


class IdentityApplication(SealedStore, ServiceApplication):
    name = "gateway"
    publishes = False  # credentials never leave the gateway
    # Its store is sealed (issue 17): a change to users or tokens at once, reads in batches.
    sealed_in_batches = reading.EVENT_NAMES | {"ReadLogStarted", "Read", "LoginFailed", "LoggedIn"}
    # A user's reads of a month are one aggregate: loaded at each read, so snapshotted.
    snapshotting_intervals = {reading.UserReads: 10}

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        # Duty hours for the read figures: the same roster as the duty alerts'.
        self.duty_roster = Roster.load(self.env.get(ROSTER_ENV_VAR) or None)
        self.throttle = LoginThrottle()
        self.pause: Callable[[float], None] = time.sleep  # eventlet makes it green

    @cached_property
    def read_repository(self) -> Repository:
        """The read audit's aggregates, through a bounded cache: every audited read loads its
        target's log and the reader's count of the month, and the cache halves its cost. Each
        get still fast-forwards from the store (other replicas' reads are seen) and hands out
        a copy. Users and tokens never go through it: a change to them is read afresh."""
        return Repository(
            event_store=self.events,
            snapshot_store=self.snapshots,
            cache_maxsize=READ_CACHE_SIZE,
            fastforward=True,
            deepcopy_from_cache=True,
        )

    def add_user(self, username: str, role: str, password: str) -> dict[str, str]:
        errors: dict[str, list[str]] = {}
        if not isinstance(username, str) or not USERNAME.fullmatch(username):
            errors["username"] = ["letters, digits, '.', '_', '@' or '-', at most 64"]
        if role not in USER_ROLES:
            errors["role"] = [f"one of {', '.join(USER_ROLES)}"]
        if _password_problems(password):
            errors["password"] = _password_problems(password)
        if errors:
            raise Invalid("the user is not valid", errors)
        try:
            self.save(User(username=username, role=role, password_hash=hash_password(password)))
        except IntegrityError:
            raise AlreadyExists(f"user {username} already exists") from None
        self._list_user(username)
        return {"username": username, "role": role}

    def _user(self, username: str) -> User | None:
        if not isinstance(username, str) or not USERNAME.fullmatch(username):
            return None
        return load(self.repository, str(User.create_id(username)), User)

    def _existing_user(self, username: str) -> User:
        user = self._user(username)
        if user is None:
            raise NotFound(f"no user {username}")
        return user

    # --- the roster, and each person's credentials ----------------------------------------
    @retry_on_conflict
    def _list_user(self, username: str) -> None:
        roster = self._roster()
        if username not in roster.usernames:
            roster.add(username)
        self.save(roster)

    def _roster(self) -> UserRoster:
        roster = load(self.repository, str(UserRoster.create_id()), UserRoster)
        if roster is not None:
            return roster
        # Users added before the roster existed: found once from the store's own log.
        topic = get_topic(User.UserAdded)
        names, start = [], 1
        while batch := self.recorder.select_notifications(start=start, limit=500, topics=[topic]):
            names += [self._user_by_id(n.originator_id) for n in batch]
            start = batch[-1].id + 1
        return UserRoster(usernames=[name for name in names if name])

    def _user_by_id(self, originator_id: UUID) -> str | None:
        user = load(self.repository, str(originator_id), User)
        return user.username if user else None

    def list_users(self) -> list[dict[str, Any]]:
        """Every account, for the admins: role, second factor, disabled, last login."""
        users = [self._user(name) for name in sorted(set(self._roster().usernames))]
        return [
            {
                "username": user.username,
                "role": user.role,
                "second_factor": user.totp_secret is not None,
                "disabled": getattr(user, "disabled", False),
                "last_login": getattr(user, "last_login", None),
                "failed_logins_since": len(user.failures),
            }
            for user in users
            if user is not None
        ]

    @retry_on_conflict
    def disable_user(self, username: str, by: str) -> dict[str, Any]:
        """A leaver or a suspected account: no login, and every token and session ends."""
        user = self._existing_user(username)
        if getattr(user, "disabled", False):
            raise Conflict(f"user {username} is already disabled")
        user.disable(iso(utcnow()), by)
        self.save(user)
        return {"username": user.username, "disabled": True}

    @retry_on_conflict
    def enable_user(self, username: str, by: str) -> dict[str, Any]:
        """Logins work again; tokens from before the disabling stay ended."""
        user = self._existing_user(username)
        if not getattr(user, "disabled", False):
            raise Conflict(f"user {username} is not disabled")
        user.enable(iso(utcnow()), by)
        self.save(user)
        return {"username": user.username, "disabled": False}

    @retry_on_conflict
    def set_password(self, username: str, password: str, by: str) -> dict[str, Any]:
        """A new password; the user's sessions and tokens end (whoever had them)."""
        user = self._existing_user(username)
        if _password_problems(password):
            raise Invalid("the password is not valid", {"password": _password_problems(password)})
        user.set_password(hash_password(password), iso(utcnow()), by)
        self.save(user)
        return {"username": user.username, "password_set": True}

    @retry_on_conflict
    def revoke_all(
        self, *, username: str | None = None, provider_id: str | None = None, by: str
    ) -> dict[str, Any]:
        """End every token and session of a user, or every token of a provider."""
        if (username is None) == (provider_id is None):
            raise Invalid("name either a user or a provider")
        now = iso(utcnow())
        if username is not None:
            user = self._existing_user(username)
            user.revoke_credentials(now, by)
            self.save(user)
            return {"username": user.username, "revoked_before": now}
        access = self._provider_access(str(provider_id)) or ProviderAccess(str(provider_id))
        access.revoke_credentials(now, by)
        self.save(access)
        return {"provider_id": provider_id, "revoked_before": now}

    def _provider_access(self, provider_id: str) -> ProviderAccess | None:
        return load(self.repository, str(ProviderAccess.create_id(provider_id)), ProviderAccess)

    def _generation_of(self, username: str, provider_id: str | None) -> int | None:
        """The subject's credential generation now; None: it may hold no token at all."""
        if provider_id is not None:
            access = self._provider_access(provider_id)
            return access.generation if access else 0
        user = self._user(username)
        if user is None or getattr(user, "disabled", False):
            return None
        return getattr(user, "generation", 0)

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
            user = self._existing_user(username)
            if getattr(user, "disabled", False):
                raise Conflict(f"user {username} is disabled: enable the account first")
            subject, role = user.username, user.role
        else:
            subject, role = str(provider_id), "isp"
        generation = self._generation_of(subject, provider_id) or 0
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
                generation=generation,
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

    def login(
        self, username: str, password: str, code: str | None, source: str = "unknown"
    ) -> dict[str, str]:
        """Password and second factor -> a session token (bearer) valid for a shift.

        Failures are slowed by source and by account (:mod:`login_throttle`), never locked:
        the right password and code always pass, and every failure, for a user who exists
        or not, is answered with the same words after the same work.
        """
        wait = self.throttle.source_wait(source)
        if wait > 0:
            raise TooManyAttempts(
                f"too many failed logins from this address: try again in {int(wait) + 1} s",
                extra={"retry_after_seconds": int(wait) + 1},
            )
        try:
            session = self._login(username, password, code)
        except Unauthorized:
            metrics.LOGIN_FAILURES.inc()
            for burst in self.throttle.failed(source, username):
                _report_burst(burst)
            self.pause(self.throttle.account_pause(username))
            raise
        self.throttle.succeeded(source, username)
        return session

    @retry_on_conflict
    def _login(self, username: str, password: str, code: str | None) -> dict[str, str]:
        user = self._user(username)
        now = utcnow()
        if user is None or not isinstance(password, str):
            check_password("not the password", _DECOY)  # same time as a real check
            raise Unauthorized(WRONG_LOGIN)
        reason, step = None, None
        if not check_password(password, user.password_hash):
            reason = "password"
        elif getattr(user, "disabled", False):
            reason = "disabled"
        elif user.role in SECOND_FACTOR_ROLES and user.totp_secret is None:
            reason = "no second factor enrolled"
        elif user.totp_secret:
            step = totp.matching_step(user.totp_secret, code or "", now.timestamp())
            last = getattr(user, "last_totp_step", None)
            if step is None:
                reason = "code"
            elif last is not None and step <= last:
                reason = "code used before"  # a code is good once: a watched code is no key
        if reason is not None:
            user.login_failed(iso(now), reason)
            self.save(user)
            raise Unauthorized(WRONG_LOGIN)  # the reason stays in the record, not the answer
        user.logged_in(iso(now), step)
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
        return derive_from_base64(master, CSRF_KEY_LABEL)

    def record_read(
        self, principal: Principal, what: str, target: str, case_id: str | None = None
    ) -> None:
        """One audited read: on the target's log (for admins) and counted per user and month
        (for oversight); ``case_id``: the case whose records were read, where known."""
        _record_read(self, principal, what, target, case_id)

    def reads(self, target: str) -> list[dict[str, str]]:
        return _reads_of(self, target)

    def read_figures(
        self, first: str, last: str, participants: reading.Participants
    ) -> dict[str, Any]:
        """The read audit of the months ``first`` to ``last`` as figures: no case id."""
        report = reading.figures(self.repository, months_between(first, last), participants)
        return {"from": first, "to": last, "duty_roster": not self.duty_roster.is_default, **report}

    def authenticate(self, token: str) -> Principal | None:
        if not token.startswith(TOKEN_PREFIX):
            return None
        record = load(self.repository, str(ApiToken.create_id(token_digest(token))), ApiToken)
        if record is None or record.revoked or parse_iso(record.expires_at) <= utcnow():
            return None
        if self._generation_of(record.username, record.provider_id) != getattr(
            record, "generation", 0
        ):
            return None  # disabled, password set, or everything of the subject revoked
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


def _record_read(
    app: IdentityApplication, principal: Principal, what: str, target: str, case_id: str | None
) -> None:
    """Append one read to the target's log and count it, in one transaction; a simultaneous
    read is retried, never dropped."""
    at = utcnow()
    outside = reading.outside_duty(app.duty_roster, principal.role, principal.username, at)
    repository = app.read_repository
    for _ in range(10):
        log = load(repository, str(ReadLog.create_id(target)), ReadLog) or ReadLog(target)
        log.read(principal.username, principal.role, what, iso(at))
        counts = reading.counted(
            repository, principal.username, principal.role, at, outside, case_id
        )
        try:
            app.save(log, *counts)
            return
        except IntegrityError:
            continue
    raise Conflict("the read could not be recorded; try again")


def _reads_of(app: IdentityApplication, target: str) -> list[dict[str, str]]:
    log = load(app.repository, str(ReadLog.create_id(target)), ReadLog)
    return list(log.reads) if log else []
