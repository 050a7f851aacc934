"""Where we write to a foreign CP, as the penetration test tried it (issue 17).

The finding: any police or prosecution user could change a directory entry's institutional
e-mail; receipts and order notices then went there, and ``ContactPointUpdated`` named nobody.
Now a change of an entry's addresses or phones is proposed by one officer, the address in
effect is told, and it takes effect only when another officer confirms it; every step
records who took it."""

from __future__ import annotations

from collections.abc import Iterator
from email.header import decode_header, make_header
from pathlib import Path
from typing import Any

import pytest
from embedded_runner import running_embedded
from slice_driver import PASSWORD, preservation_request, wait_for
from smtp_sink import Mailbox, serving

from services.intake.directory import FIELDS

OLD, NEW = "cp247@us.example", "duty-desk@attacker.example"
ENTRY = {
    "country": "US", "kind": "police", "name": "US 24/7 Network",
    "institutional_email": OLD, "phones": ["+1 202 555 0100"], "time_zone": "America/New_York",
    "languages": ["en"], "can_order_preservation": True,
}  # fmt: skip
CHANGES = "/api/v1/contact-points/changes"


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[dict[str, Any]]:
    """The embedded platform mailing through a real SMTP server; two police officers, a
    prosecutor and an admin; the US police CP listed by the admin."""
    with serving() as (mailbox, port):
        monkeypatch.setenv("CP247_SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("CP247_SMTP_PORT", str(port))
        monkeypatch.setenv("CP247_SMTP_FROM", "cp247@cp.example.ro")
        with running_embedded(tmp_path / "data") as (api, _, platform):
            identity = platform.apps["gateway"]
            people = {"poe": "police", "pia": "police", "pat": "prosecution", "ada": "admin"}
            for username, role in people.items():
                identity.add_user(username, role, PASSWORD)
            platform.apps["isp_liaison"].register_provider("telco-a", "Telco A", "RO")
            tokens = {username: identity.issue_token(username=username) for username in people}
            status, listed = api.call("POST", "/api/v1/contact-points", tokens["ada"], ENTRY)
            assert status == 200, listed  # a new entry is listed at once
            yield {"api": api, "platform": platform, "mailbox": mailbox, "tokens": tokens}


def propose_new_address(
    world: dict[str, Any], who: str = "poe", entry: dict[str, Any] = ENTRY
) -> dict[str, Any]:
    api, token = world["api"], world["tokens"][who]
    status, answer = api.call(
        "POST", "/api/v1/contact-points", token, {**entry, "institutional_email": NEW}
    )
    assert status == 202 and answer["awaiting_confirmation"] is True, answer
    return answer["pending_change"]


def in_effect(world: dict[str, Any]) -> str:
    _, entry = world["api"].call("GET", "/api/v1/contact-points/US/police", world["tokens"]["pat"])
    return entry["institutional_email"]


def subject(message: Any) -> str:
    return str(make_header(decode_header(message["Subject"])))


def receipts_to(mailbox: Mailbox, address: str) -> list[Any]:
    return [m for m in mailbox.to(address) if "receipt" in subject(m).lower()]


def register(world: dict[str, Any], reference: str) -> dict[str, Any]:
    status, created = world["api"].call(
        "POST", "/api/v1/requests", world["tokens"]["poe"], preservation_request(reference)
    )
    assert status == 201, created
    return created


def test_a_new_address_takes_effect_only_when_a_second_officer_confirms_it(world):
    api, mailbox, tokens = world["api"], world["mailbox"], world["tokens"]
    change = propose_new_address(world)
    assert change["changes"] == {"institutional_email": NEW}
    assert change["previous"] == {"institutional_email": OLD}
    assert in_effect(world) == OLD
    _, waiting = api.call("GET", CHANGES, tokens["pat"])
    assert [c["change_id"] for c in waiting["changes"]] == [change["change_id"]]

    # Until it is confirmed, the receipt still goes to the address in effect.
    created = register(world, "FOUR-EYES-1")
    assert created["acknowledgement"]["to"]["email"] == OLD
    wait_for(lambda: receipts_to(mailbox, OLD), what="the receipt at the old address")
    assert not mailbox.to(NEW), mailbox.subjects()

    status, decided = api.call("POST", f"{CHANGES}/{change['change_id']}/confirm", tokens["pia"])
    assert status == 200 and decided["status"] == "confirmed", decided
    assert in_effect(world) == NEW
    assert api.call("GET", CHANGES, tokens["pat"])[1]["changes"] == []
    created = register(world, "FOUR-EYES-2")
    assert created["acknowledgement"]["to"]["email"] == NEW
    wait_for(lambda: receipts_to(mailbox, NEW), what="the receipt at the confirmed address")


def test_the_proposer_cannot_confirm_their_own_change(world):
    api, tokens = world["api"], world["tokens"]
    change = propose_new_address(world, "poe")
    status, answer = api.call("POST", f"{CHANGES}/{change['change_id']}/confirm", tokens["poe"])
    assert status == 403, answer
    assert "another officer" in answer["message"]
    assert in_effect(world) == OLD
    # Neither can a second proposal replace the waiting one; a rejection ends it.
    other = {**ENTRY, "institutional_email": "someone@else.example"}
    assert api.call("POST", "/api/v1/contact-points", tokens["pat"], other)[0] == 409
    status, rejected = api.call("POST", f"{CHANGES}/{change['change_id']}/reject", tokens["pat"])
    assert status == 200 and rejected["status"] == "rejected", rejected
    assert in_effect(world) == OLD
    status, _ = api.call("POST", f"{CHANGES}/{change['change_id']}/confirm", tokens["pia"])
    assert status == 409
    assert in_effect(world) == OLD


def test_every_change_of_the_directory_records_its_actor(world):
    api, tokens, platform = world["api"], world["tokens"], world["platform"]
    renamed = {**ENTRY, "name": "US 24/7 Network (DOJ)"}
    assert api.call("POST", "/api/v1/contact-points", tokens["pat"], renamed)[0] == 200
    change = propose_new_address(world, "poe", renamed)
    api.call("POST", f"{CHANGES}/{change['change_id']}/confirm", tokens["pia"])

    events = [
        (m["event"], m["payload"])
        for m in platform.apps["intake"].outbox(1, 1000)
        if m["event"].startswith("ContactPoint")
    ]
    actors = [(name, payload["actor"]) for name, payload in events]
    assert actors == [
        ("ContactPointListed", {"username": "ada", "role": "admin"}),
        ("ContactPointUpdated", {"username": "pat", "role": "prosecution"}),
        ("ContactPointChangeProposed", {"username": "poe", "role": "police"}),
        ("ContactPointChangeConfirmed", {"username": "pia", "role": "police"}),
    ]
    assert events[3][1]["proposed_by"] == {"username": "poe", "role": "police"}


def test_the_address_in_effect_is_told_of_a_proposed_change(world):
    mailbox = world["mailbox"]
    change = propose_new_address(world)

    def notices() -> list[Any]:
        return [m for m in mailbox.to(OLD) if "contact details" in subject(m)]

    (notice,) = wait_for(notices, what="the notice at the address in effect")
    body = notice.get_payload(decode=True).decode()
    reference = f"DIR-{change['change_id'][:8].upper()}"
    assert reference in subject(notice) and reference in body
    assert OLD in body and NEW in body
    assert "second officer" in body
    assert not mailbox.to(NEW), mailbox.subjects()


def test_an_import_proposes_new_addresses_and_phones_and_applies_them_on_confirmation(world):
    api, tokens = world["api"], world["tokens"]
    row = {**ENTRY, "institutional_email": NEW, "phones": "+1 202 555 0199", "languages": "en",
           "personal_emails": "", "office_hours": "24/7", "required_format": "",
           "can_order_preservation": "yes"}  # fmt: skip
    csv = ",".join(FIELDS) + "\n" + ",".join(str(row[f]) for f in FIELDS) + "\n"
    status, counts = api.call(
        "POST", "/api/v1/contact-points/import", tokens["ada"], raw=csv.encode()
    )
    assert status == 200, counts
    assert counts == {"created": 0, "updated": 1, "unchanged": 0, "pending": 1}  # office hours
    assert in_effect(world) == OLD
    (change,) = api.call("GET", CHANGES, tokens["poe"])[1]["changes"]
    assert change["proposed_by"] == {"username": "ada", "role": "admin"}
    assert set(change["changes"]) == {"institutional_email", "phones"}
    assert api.call("POST", f"{CHANGES}/{change['change_id']}/confirm", tokens["ada"])[0] == 403
    assert api.call("POST", f"{CHANGES}/{change['change_id']}/confirm", tokens["poe"])[0] == 200
    _, entry = api.call("GET", "/api/v1/contact-points/US/police", tokens["pat"])
    assert (entry["institutional_email"], entry["phones"]) == (NEW, ["+12025550199"])
