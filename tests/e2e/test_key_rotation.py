"""`cp247 keys rotate`: new events under a new key, old ones still readable, case keys
re-wrapped so that the new key alone unlocks them."""

from __future__ import annotations

import os

import pytest
from eventsourcing.cryptography import AESCipher
from eventsourcing.utils import Environment
from slice_driver import Cli, cli_env

from cp247.bootstrap import make_application
from cp247.casekeys import CaseKeys, key_encryption_key
from cp247.config import Settings

PROSECUTOR = {"username": "pat", "role": "prosecution"}
IP = "203.0.113.9"


def cipher(key: str) -> AESCipher:
    return AESCipher(Environment(env={"CIPHER_KEY": key}))


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    for name in ("CP247_EVENTS_KEY", "CP247_EVENTS_KEY_PREVIOUS", "CP247_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path / "data"


def test_rotation_keeps_history_readable_and_writes_with_the_new_key(data_dir):
    before = Settings.from_env(str(data_dir))
    old_key = before.event_store_key()
    preservation = make_application("preservation", before)
    identifiers = [{"kind": "ip", "value": IP, "port": 1}]
    order = preservation.create_order(
        "case-rotated", {"provider_id": "telco-a", "identifiers": identifiers}, PROSECUTOR
    )

    done = Cli(cli_env(), str(data_dir)).run("keys", "rotate")
    assert done.returncode == 0, done.stderr
    assert "re-wrapped" in done.stderr
    after = Settings.from_env(str(data_dir))
    new_key = after.event_store_key()
    assert new_key != old_key and after.previous_event_keys() == [old_key]
    assert oct(os.stat(after.previous_keys_path).st_mode & 0o777) == "0o600"

    rotated = make_application("preservation", after)
    assert rotated.get_order(order["order_id"])["identifiers"][0]["value"] == IP
    rotated.extend_order(order["order_id"], 10, PROSECUTOR)
    newest = rotated.recorder.select_notifications(start=1, limit=100)[-1]
    assert cipher(new_key).decrypt(newest.state)
    with pytest.raises(ValueError):
        cipher(old_key).decrypt(newest.state)
    oldest = rotated.recorder.select_notifications(start=1, limit=1)[0]
    assert cipher(old_key).decrypt(oldest.state)

    # The case key now opens with the new key alone: the old one could be lost safely for it.
    location = after.persistence_env("timeline")["CP247_CASE_KEYS"]
    alone = CaseKeys(location, key_encryption_key(new_key))
    assert alone.key_for("case-rotated", create=False) is not None


def test_rotation_refuses_keys_managed_in_the_environment(data_dir):
    env = cli_env(CP247_EVENTS_KEY=Settings.from_env(str(data_dir)).event_store_key())
    done = Cli(env, str(data_dir)).run("keys", "rotate")
    assert done.returncode == 2 and "CP247_EVENTS_KEY_PREVIOUS" in done.stderr
