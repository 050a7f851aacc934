"""The sealed ledger of a store (cp247/runtime/ledger.py): records deleted, altered or slipped
in behind the application's back show as the sealed range they were in, with their kind.

A small application on a real SQLite file, tampered with through sqlite3; no broker.
"""

from __future__ import annotations

import base64
import os
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from eventsourcing.domain import Aggregate, event

from cp247.runtime.application import ServiceApplication
from cp247.runtime.ledger import SealedStore, combine

KEY = base64.b64encode(os.urandom(32)).decode()


class Account(Aggregate):
    @event("Opened")
    def __init__(self, name: str):
        self.name = name
        self.closed = False

    @event("Closed")
    def close(self) -> None:
        self.closed = True

    @event("Looked")
    def look(self) -> None:
        pass


class Accounts(SealedStore, ServiceApplication):
    name = "accounts"
    publishes = False
    sealed_in_batches = frozenset({"Looked"})


def accounts(path: Path, key: str = KEY, previous: str = "") -> Accounts:
    return Accounts(
        env={
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": str(path),
            "CIPHER_TOPIC": "cp247.runtime.keyring:KeyringCipher",
            "CIPHER_KEY": key,
            "CIPHER_KEYS_PREVIOUS": previous,
        }
    )


def opened_and_closed(app: Accounts) -> Account:
    account = Account(name="a")
    app.save(account)
    account.close()
    app.save(account)
    return account


def tamper(path: Path, sql: str, *args: Any) -> int:
    with sqlite3.connect(path) as conn:
        return conn.execute(sql, args).rowcount


def test_a_change_is_sealed_at_once_and_verifies(tmp_path: Path) -> None:
    app = accounts(tmp_path / "a.db")
    opened_and_closed(app)
    report = app.ledger.verify()
    assert report["ok"] and report["unsealed"] == 0  # the last seal itself follows it
    assert report["sealed_upto"] == 3 and report["seals"] == 2


def test_a_deleted_record_names_its_range_kind_and_position(tmp_path: Path) -> None:
    path = tmp_path / "a.db"
    app = accounts(path)
    opened_and_closed(app)
    assert tamper(path, "DELETE FROM stored_events WHERE topic LIKE '%Account.Closed'") == 1
    broken = app.ledger.verify()["first_broken"]
    assert broken["problem"] == "deleted" and broken["missing"] == {"Account.Closed": 1}
    assert broken["positions_without_record"] == [3]


def test_an_altered_record_is_found(tmp_path: Path) -> None:
    path = tmp_path / "a.db"
    app = accounts(path)
    opened_and_closed(app)
    with sqlite3.connect(path) as conn:
        rowid, state = conn.execute(
            "SELECT rowid, state FROM stored_events WHERE topic LIKE '%Closed'"
        ).fetchone()
        conn.execute("UPDATE stored_events SET state = ? WHERE rowid = ?", (state[::-1], rowid))
    report = app.ledger.verify()
    assert not report["ok"] and report["first_broken"]["problem"] == "altered"


def test_reads_are_sealed_in_batches_not_each(tmp_path: Path) -> None:
    app = accounts(tmp_path / "a.db")
    account = opened_and_closed(app)
    seals = app.ledger.verify()["seals"]
    for _ in range(5):
        account.look()
        app.save(account)
    assert app.ledger.verify()["seals"] == seals  # within a few seconds: one seal later
    assert app.ledger.check()["unsealed"] == 0


def test_a_seal_that_meets_another_replicas_gives_way(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "a.db"
    mine, theirs = accounts(path), accounts(path)
    opened_and_closed(mine)
    stale = mine.ledger.latest()
    theirs.save(Account(name="b"))  # their change, sealed by them
    monkeypatch.setattr(mine.ledger, "latest", lambda: stale)
    assert mine.ledger.seal() is None  # theirs covers it; no error for my caller
    monkeypatch.undo()
    assert mine.ledger.verify()["ok"]


def test_seals_under_a_retired_key_still_verify(tmp_path: Path) -> None:
    path = tmp_path / "a.db"
    opened_and_closed(accounts(path))
    rotated = accounts(path, key=base64.b64encode(os.urandom(32)).decode(), previous=KEY)
    rotated.save(Account(name="c"))
    assert rotated.ledger.check()["ok"]


def test_the_audit_report_fails_when_any_store_does() -> None:
    timeline = {"ok": True, "entries": 3, "head_hash": "0" * 64, "failed": []}
    report = combine(timeline, gateway_store={"ok": False})
    assert report["ok"] is False and report["failed"] == ["gateway_store"]
    assert combine(timeline, gateway_store={"ok": True})["ok"] is True
