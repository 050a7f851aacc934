"""Anchored heads (issue 18): the audit head, signed with the documents key, goes outside the
system (a JSON line in an append-only file, an e-mail to the oversight body), and
``cp247 audit verify --against FILE`` proves that today's history still gives every anchored
head; a history rewritten by someone with the database and the keys fails."""

from __future__ import annotations

import json
import sqlite3
import zlib

from embedded_runner import running_embedded
from eventsourcing.cryptography import AESCipher
from eventsourcing.utils import Environment
from slice_driver import PASSWORD, preservation_request, wait_for
from smtp_sink import serving

from cp247.documents import Signer

OVERSIGHT = "oversight@body.example"


def register(api, token: str, reference: str) -> dict:
    status, created = api.call("POST", "/api/v1/requests", token, preservation_request(reference))
    assert status == 201, created
    return created


def settled(platform) -> None:
    while platform.deliver():
        pass


def test_the_head_is_anchored_signed_to_a_file_and_mailed(monkeypatch, tmp_path):
    with serving() as (mailbox, port):
        monkeypatch.setenv("CP247_SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("CP247_SMTP_PORT", str(port))
        monkeypatch.setenv("CP247_SMTP_FROM", "cp247@cp.example.ro")
        monkeypatch.setenv("CP247_OVERSIGHT_EMAIL", OVERSIGHT)
        with running_embedded(tmp_path / "data") as (api, cli, platform):
            platform.apps["timeline"].anchor_due = lambda: False  # only the test's anchors
            identity = platform.apps["gateway"]
            identity.add_user("pat", "prosecution", PASSWORD)
            identity.add_user("ada", "admin", PASSWORD)
            pat = identity.issue_token(username="pat")
            ada = identity.issue_token(username="ada")
            register(api, pat, "ANCHOR-1")
            settled(platform)
            assert api.call("POST", "/api/v1/audit/anchors", pat)[0] == 403

            status, first = api.call("POST", "/api/v1/audit/anchors", ada)
            assert status == 201, first
            assert first["anchor"] == 1 and len(first["head"]) == 64 and first["entries"] > 0
            assert first["signature"]["key_id"] and first["sent"]["mailed_to"] == OVERSIGHT
            anchors = platform.settings.data_dir / "audit-anchors.jsonl"
            lines = anchors.read_text().splitlines()
            kept = {k: v for k, v in first.items() if k != "sent"}
            assert [json.loads(line) for line in lines] == [kept]
            assert oct(anchors.stat().st_mode & 0o777) == "0o600"
            mail = wait_for(lambda: mailbox.to(OVERSIGHT), what="the anchor e-mail")
            assert first["head"] in mail[0].get_payload(decode=True).decode()

            register(api, pat, "ANCHOR-2")
            settled(platform)
            status, second = api.call("POST", "/api/v1/audit/anchors", ada)
            assert status == 201 and second["anchor"] == 2, second
            assert second["previous_head"] == first["head"] != second["head"]
            assert len(anchors.read_text().splitlines()) == 2  # appended, never rewritten

            public = tmp_path / "documents.pub.pem"
            public.write_text(Signer.load_or_create(platform.settings.signing_key_path)
                              .public_key_pem())  # fmt: skip
            done = cli.run("audit", "verify", "--against", str(anchors),
                           "--trusted-key", str(public))  # fmt: skip
            assert done.returncode == 0, done.stdout + done.stderr
            assert json.loads(done.stdout) == {
                "ok": True, "anchors": 2, "verified": 2, "head": second["head"],
            }  # fmt: skip


def test_a_rewritten_history_fails_against_the_anchored_heads(embedded, tokens, tmp_path):
    api, cli, platform = embedded
    platform.apps["timeline"].anchor_due = lambda: False  # only the test's anchors
    register(api, tokens["prosecution"], "REWRITE-1")
    settled(platform)
    status, anchored = api.call("POST", "/api/v1/audit/anchors", tokens["admin"])
    assert status == 201, anchored
    anchors = platform.settings.data_dir / "audit-anchors.jsonl"
    assert cli.run("audit", "verify", "--against", str(anchors)).returncode == 0

    # A line changed in the file: its signature no longer holds.
    forged = tmp_path / "forged.jsonl"
    record = json.loads(anchors.read_text())
    forged.write_text(json.dumps({**record, "entries": record["entries"] + 1}) + "\n")
    done = cli.run("audit", "verify", "--against", str(forged))
    assert done.returncode == 1 and "signature" in done.stdout, done.stdout

    # Someone with the database and the key rewrites who registered the request.
    cipher = AESCipher(Environment(env={"CIPHER_KEY": platform.settings.event_store_key()}))
    with sqlite3.connect(platform.settings.data_dir / "intake.sqlite") as conn:
        rewritten = 0
        for rowid, state in conn.execute("SELECT rowid, state FROM stored_events").fetchall():
            plain = zlib.decompress(cipher.decrypt(state))
            if b'"pat"' in plain:
                conn.execute(
                    "UPDATE stored_events SET state = ? WHERE rowid = ?",
                    (cipher.encrypt(zlib.compress(plain.replace(b'"pat"', b'"pam"'))), rowid),
                )
                rewritten += 1
    assert rewritten
    done = cli.run("audit", "verify", "--against", str(anchors))
    assert done.returncode == 1, done.stdout
    failure = json.loads(done.stdout)["first_failure"]
    assert failure == {"anchor": 1, "at": anchored["at"],
                       "problem": "today's history does not give the anchored head"}  # fmt: skip
    assert cli.run("audit", "verify", "--against", str(tmp_path / "none.jsonl")).returncode == 2
