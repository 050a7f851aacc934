"""Minimal identity: users, provider tokens, revocation."""

from __future__ import annotations

import pytest

from cp247.errors import AlreadyExists, Conflict, Invalid, NotFound
from services.gateway.identity import IdentityApplication, check_password, hash_password

POPO = {"PERSISTENCE_MODULE": "eventsourcing.popo"}


def test_token_identifies_user_with_role_until_revoked():
    identity = IdentityApplication(env=POPO)
    identity.add_user("poe", "police", "twelve chars!")
    token = identity.issue_token(username="poe")
    principal = identity.authenticate(token)
    assert principal is not None and principal.role == "police"
    assert principal.actor == {"username": "poe", "role": "police"}
    identity.revoke_token(token)
    assert identity.authenticate(token) is None
    with pytest.raises(Conflict):
        identity.revoke_token(token)


def test_provider_token_is_bound_to_its_provider():
    identity = IdentityApplication(env=POPO)
    principal = identity.authenticate(identity.issue_token(provider_id="telco-a"))
    assert principal is not None
    assert (principal.role, principal.provider_id) == ("isp", "telco-a")


def test_bad_users_and_tokens_are_refused():
    identity = IdentityApplication(env=POPO)
    with pytest.raises(Invalid) as raised:
        identity.add_user("", "judge", "short")
    assert set(raised.value.fields) == {"username", "role", "password"}
    identity.add_user("pat", "prosecution", "twelve chars!")
    with pytest.raises(AlreadyExists):
        identity.add_user("PAT", "police", "twelve chars!")
    with pytest.raises(NotFound):
        identity.issue_token(username="nobody")
    assert identity.authenticate("cp247_made-up") is None
    assert identity.authenticate("") is None


def test_passwords_are_stored_as_salted_hashes():
    stored = hash_password("correct horse")
    assert "correct horse" not in stored
    assert stored != hash_password("correct horse")
    assert check_password("correct horse", stored)
    assert not check_password("wrong horse", stored)


def test_token_stops_working_when_it_expires(monkeypatch):
    from datetime import timedelta

    import services.gateway.identity as identity_module
    from cp247.clock import utcnow

    identity = IdentityApplication(env=POPO)
    identity.add_user("poe", "police", "twelve chars!")
    token = identity.issue_token(username="poe", valid_days=1)
    assert identity.authenticate(token) is not None
    later = utcnow() + timedelta(days=1, seconds=1)
    monkeypatch.setattr(identity_module, "utcnow", lambda: later)
    assert identity.authenticate(token) is None
    with pytest.raises(Invalid):
        identity.issue_token(username="poe", valid_days=0)


def test_password_hashes_are_argon2id():
    assert hash_password("correct horse").startswith("$argon2id$")
