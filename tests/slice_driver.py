"""Drives the walking-skeleton slice over real HTTP and the real CLI, for both modes.

Only the public contract is used: ``../shared/API.md`` paths, bodies and status codes, and the
``cp247`` command line as the README documents it.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import os
import random
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from typing import Any

from cp247.samples import address_for, preservation_request  # noqa: F401 - re-exported

SLICE_EVENTS = {
    "RequestReceived",  # request registered
    "ReceiptAcknowledged",  # receipt acknowledged to the requesting CP
    "OrderIssued",  # order issued
    "OrderDelivered",  # order delivered to the provider
    "ProviderAcknowledgedOrder",  # provider acknowledged
    "MlaExpected",  # MLA expected
}


class Api:
    def __init__(self, base_url: str):
        self.base_url = base_url.rstrip("/")

    def call(
        self,
        method: str,
        path: str,
        token: str | None = None,
        body: Any = None,
        raw: bytes | None = None,
    ) -> tuple[int, Any]:
        status, answer, _ = self.call_with_headers(method, path, token, body, raw)
        return status, answer

    def call_with_headers(
        self,
        method: str,
        path: str,
        token: str | None = None,
        body: Any = None,
        raw: bytes | None = None,
    ) -> tuple[int, Any, Any]:
        """Like :meth:`call`, with the response headers as well."""
        data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        request = urllib.request.Request(self.base_url + path, data=data, method=method)
        request.add_header("Content-Type", "application/json")
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                status, payload, headers = response.status, response.read(), response.headers
        except urllib.error.HTTPError as error:
            status, payload, headers = error.code, error.read(), error.headers
        try:
            return status, json.loads(payload), headers
        except ValueError:
            try:
                return status, payload.decode(), headers
            except UnicodeDecodeError:
                return status, payload, headers  # a PDF, say


def cli_env(**extra: str) -> dict[str, str]:
    """This process's environment without cp247 settings, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CP247_", "AMQP_"))}
    env.update(extra)
    return env


class Cli:
    """The ``cp247`` command line, run as a separate process like an operator would."""

    def __init__(self, env: dict[str, str], data_dir: str | None = None):
        self.env = env
        self.data_dir = data_dir

    def run(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
        extra = ["--data-dir", self.data_dir] if self.data_dir else []
        return subprocess.run(
            [sys.executable, "-m", "cp247.cli", *args, *extra],
            env=self.env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
        )

    def ok(self, *args: str, stdin: str | None = None) -> str:
        done = self.run(*args, stdin=stdin)
        assert done.returncode == 0, f"cp247 {' '.join(args)} failed: {done.stderr}"
        return done.stdout.strip()


_taken: set[int] = set()


def free_port() -> int:
    """A port below Linux's ephemeral range (so no outgoing connection takes it meanwhile),
    free now and never handed out twice by this test run."""
    while True:
        port = random.randint(20000, 29999)
        if port in _taken:
            continue
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        _taken.add(port)
        return port


def wait_for(
    check: Callable[[], Any],
    timeout: float = 20.0,
    what: str = "condition",
    pause: float = 0.05,
    between: Callable[[], Any] | None = None,
) -> Any:
    """Poll ``check`` until it is truthy (effects travel by events); ``between`` runs
    before each new look (a browser reloading its page)."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(pause)
        if between is not None:
            between()


PASSWORD = "s3cret-enough-pw"


def identities(cli: Cli) -> dict[str, str]:
    """Users of both CPs and two providers, with a token each."""
    cli.ok(
        "users",
        "add",
        "--username",
        "pat",
        "--role",
        "prosecution",
        "--password",
        "s3cret-enough-pw",
    )
    cli.ok(
        "users", "add", "--username", "poe", "--role", "police", "--password", "s3cret-enough-pw"
    )
    cli.ok("providers", "add", "--id", "telco-a", "--name", "Telco A", "--country", "RO")
    cli.ok("providers", "add", "--id", "telco-b", "--name", "Telco B", "--country", "RO")
    return {
        "prosecution": cli.ok("tokens", "issue", "--username", "pat"),
        "police": cli.ok("tokens", "issue", "--username", "poe"),
        "isp_a": cli.ok("tokens", "issue", "--provider", "telco-a"),
        "isp_b": cli.ok("tokens", "issue", "--provider", "telco-b"),
    }


def run_slice(api: Api, tokens: dict[str, str], reference: str) -> dict[str, Any]:
    """The end-to-end slice of issue 2; returns what later assertions need."""
    status, created = api.call(
        "POST", "/api/v1/requests", tokens["prosecution"], preservation_request(reference)
    )
    assert status == 201, created
    case_id = created["case_id"]
    assert created["acknowledgement"]["our_reference"].startswith("CP247-")

    def own_order() -> dict | None:
        status, inbox = api.call("GET", "/api/v1/isp/orders", tokens["isp_a"])
        assert status == 200, inbox
        return next((o for o in inbox["orders"] if o["case_id"] == case_id), None)

    order = wait_for(own_order, what="the order in telco-a's inbox")
    assert order["status"] == "issued"
    assert order["identifiers"][0]["value"] == address_for(reference)
    assert time_difference_days(order["issued_at"], order["expires_at"]) >= 60

    # The other provider neither lists nor reads it.
    status, other = api.call("GET", "/api/v1/isp/orders", tokens["isp_b"])
    assert status == 200 and all(o["order_id"] != order["order_id"] for o in other["orders"])
    status, _ = api.call("GET", f"/api/v1/isp/orders/{order['order_id']}", tokens["isp_b"])
    assert status == 404

    path = f"/api/v1/isp/orders/{order['order_id']}/acknowledge"
    first = api.call("POST", path, tokens["isp_a"])
    assert first[0] == 200 and first[1]["status"] == "acknowledged", first
    assert api.call("POST", path, tokens["isp_a"]) == first  # idempotent

    def order_acknowledged() -> bool:
        status, body = api.call(
            "GET", f"/api/v1/preservation-orders/{order['order_id']}", tokens["police"]
        )
        return status == 200 and body["status"] == "acknowledged"

    wait_for(order_acknowledged, what="preservation to record the acknowledgement")

    timeline_path = f"/api/v1/cases/{case_id}/timeline"

    def complete_timeline() -> dict | None:
        status, timeline = api.call("GET", timeline_path, tokens["prosecution"])
        assert status == 200, timeline
        events = {entry["event"] for entry in timeline["entries"]}
        return timeline if SLICE_EVENTS | {"OrderAcknowledged"} <= events else None

    timeline = wait_for(complete_timeline, what="every step on the timeline")
    assert_chained(timeline)

    def same_for_both_cps() -> dict | None:
        # Later steps (an e-mail sent, say) may land between two reads: compare a pair.
        status, police_view = api.call("GET", timeline_path, tokens["police"])
        assert status == 200, police_view
        status, prosecution_view = api.call("GET", timeline_path, tokens["prosecution"])
        return prosecution_view if police_view == prosecution_view else None

    timeline = wait_for(same_for_both_cps, what="both CPs to see the same timeline")
    return {
        "case_id": case_id,
        "request_id": created["request_id"],
        "order": order,
        "timeline": timeline,
    }


def issued_order(api: Api, tokens: dict[str, str], reference: str) -> dict:
    """A request registered by the prosecution CP, and its order once in telco-a's inbox."""
    status, created = api.call(
        "POST", "/api/v1/requests", tokens["prosecution"], preservation_request(reference)
    )
    assert status == 201, created

    def in_inbox() -> dict | None:
        _, inbox = api.call("GET", "/api/v1/isp/orders", tokens["isp_a"])
        return next((o for o in inbox["orders"] if o["case_id"] == created["case_id"]), None)

    return wait_for(in_inbox, what="the order in telco-a's inbox")


def issued_disclosure_order(api: Api, tokens: dict[str, str], reference: str) -> dict:
    """A subscriber identification asked of us, the prosecution CP's disclosure order to
    telco-a for it, and that order once in telco-a's inbox."""
    body = preservation_request(reference, type="subscriber_identification")
    status, created = api.call("POST", "/api/v1/requests", tokens["prosecution"], body)
    assert status == 201, created
    status, order = api.call(
        "POST", f"/api/v1/cases/{created['case_id']}/disclosure-orders", tokens["prosecution"],
        {"provider_id": "telco-a", "identifiers": body["data"]["identifiers"],
         "data_types": ["subscriber"]},
    )  # fmt: skip
    assert status == 201 and order["status"] == "issued", order

    def in_inbox() -> dict | None:
        status, answer = api.call("GET", f"/api/v1/isp/orders/{order['order_id']}", tokens["isp_a"])
        return answer if status == 200 else None

    return wait_for(in_inbox, what="the disclosure order in telco-a's inbox")


def events_of(api: Api, tokens: dict[str, str], case_id: str) -> list[str]:
    _, timeline = api.call("GET", f"/api/v1/cases/{case_id}/timeline", tokens["police"])
    return [entry["event"] for entry in timeline["entries"]]


def assert_chained(timeline: dict[str, Any]) -> None:
    entries = timeline["entries"]
    assert [e["seq"] for e in entries] == list(range(1, len(entries) + 1))
    assert [e["at"] for e in entries] == sorted(e["at"] for e in entries)
    for before, after in zip(entries, entries[1:], strict=False):
        assert after["prev_hash"] == before["hash"]
    assert timeline["head_hash"] == entries[-1]["hash"]


def time_difference_days(start: str, end: str) -> float:
    from datetime import datetime

    parse = lambda text: datetime.fromisoformat(text.replace("Z", "+00:00"))  # noqa: E731
    return (parse(end) - parse(start)).total_seconds() / 86400


def assert_bad_input_is_refused(api: Api, tokens: dict[str, str]) -> None:
    """Malformed JSON 400, no token 401, wrong role 403, missing Art 29(2) items 422."""
    status, body = api.call("POST", "/api/v1/requests", tokens["prosecution"], raw=b"{not json")
    assert status == 400 and body["error"] == "bad_request", body
    status, body = api.call("POST", "/api/v1/requests", None, preservation_request("X-1"))
    assert status == 401 and body["error"] == "unauthorized", body
    status, body = api.call("POST", "/api/v1/requests", "cp247_forged", preservation_request("X-2"))
    assert status == 401, body
    status, body = api.call(
        "POST", "/api/v1/requests", tokens["isp_a"], preservation_request("X-3")
    )
    assert status == 403 and body["error"] == "forbidden", body
    incomplete = preservation_request("X-4", necessity=None)
    del incomplete["offence"]
    incomplete.pop("mla_intended")
    status, body = api.call("POST", "/api/v1/requests", tokens["police"], incomplete)
    assert status == 422, body
    assert body["missing"] == ["29.2.b", "29.2.e", "29.2.f"]
    assert {"offence.summary_of_facts", "necessity", "mla_intended"} <= set(body["fields"])
    status, body = api.call("POST", "/api/v1/requests", tokens["police"], ["a", "list"])
    assert status == 400, body
    status, body = api.call(
        "POST", "/api/v1/requests", tokens["police"], {**preservation_request("X-5"), "type": "x"}
    )
    assert status == 422 and "type" in body["fields"], body


def unused_totp(secret: str, last_step: int | None) -> str:
    """A second-factor code the product has not taken yet (a code is good once): this
    step's, else the next one's; a third login within the same 30 s waits for the clock."""
    from cp247 import totp

    while True:
        now = int(time.time() // totp.STEP_SECONDS)
        step = now if last_step is None else max(now, last_step + 1)
        if step <= now + 1:  # within the one step of drift that login accepts
            return totp.code_at(secret, step * totp.STEP_SECONDS)
        time.sleep((step - 1) * totp.STEP_SECONDS - time.time() + 0.05)


def exchange(
    base_url: str, method: str, path: str, body: bytes | None = None, headers: dict | None = None
) -> tuple[int, dict[str, str], str]:
    """One request exactly as given (path as it is, no cookie jar, no redirects followed):
    status, headers, text."""
    url = urllib.parse.urlparse(base_url)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        text = response.read().decode("utf-8", "replace")
        return response.status, dict(response.getheaders()), text
    finally:
        connection.close()


class Browser:
    """Just enough of one: a cookie jar of one cookie, forms posted as browsers do."""

    def __init__(self, base_url: str):
        self.base_url = base_url
        self.cookie: str | None = None

    def go(self, method: str, path: str, form: dict | None = None) -> tuple[int, dict, str]:
        headers = {"Cookie": f"cp247_session={self.cookie}"} if self.cookie else {}
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form, doseq=True).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        status, answer_headers, answer = exchange(self.base_url, method, path, body, headers)
        found = re.search(r"cp247_session=([^;]*)", answer_headers.get("Set-Cookie") or "")
        if found:
            self.cookie = found.group(1) or None
        return status, answer_headers, answer

    @staticmethod
    def csrf(page: str) -> str:
        """The CSRF token of a page's forms."""
        return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)

    def csrf_of(self, path: str) -> str:
        """The CSRF token of the forms of the page at ``path``."""
        status, _, page = self.go("GET", path)
        assert status == 200, page[:500]
        return self.csrf(page)


def alert_link_token(api: Any, tokens: dict[str, str], reference: str) -> tuple[str, str]:
    """Register an urgent request; its duty alert's (case id, token of the e-mailed link)."""
    status, created = api.call(
        "POST", "/api/v1/requests", tokens["prosecution"], preservation_request(reference)
    )
    assert status == 201, created

    def link() -> str | None:
        _, inbox = api.call("GET", "/api/v1/inbox", tokens["prosecution"])
        for message in inbox["messages"]:
            if message["case_id"] == created["case_id"] and message["template"] == "duty_alert":
                return re.search(r"/api/v1/alerts/ack\?token=(\S+)", message["body"]).group(1)
        return None

    return created["case_id"], wait_for(link, what="the duty alert with its link")


def open_alerts_of(api: Any, tokens: dict[str, str], case_id: str) -> list[dict]:
    _, alerts = api.call("GET", "/api/v1/alerts", tokens["police"])
    return [a for a in alerts["alerts"] if a["case_id"] == case_id]


def full_verification(api: Any, token: str) -> dict[str, Any]:
    """Ask for a full re-verification (a background job), wait until it is done; its job."""
    status, job = api.call("POST", "/api/v1/audit/verifications", token)
    assert status == 202 and job["status"] == "pending", job
    path = f"/api/v1/audit/verifications/{job['verification_id']}"

    def finished() -> dict[str, Any] | None:
        status, now = api.call("GET", path, token)
        assert status == 200, now
        return now if now["status"] == "done" else None

    return wait_for(finished, what="the full re-verification")


def edit_stored_event(store: Any, key: str, old: bytes, new: bytes, after_rowid: int = 0) -> int:
    """What an insider with the SQLite file and the events key can do: replace ``old`` by
    ``new`` in the first stored event after ``after_rowid`` that holds it, re-encrypted as
    the product stores it. Returns its rowid; fails when no event holds ``old``."""
    import sqlite3
    import zlib

    from eventsourcing.cryptography import AESCipher
    from eventsourcing.utils import Environment

    cipher = AESCipher(Environment(env={"CIPHER_KEY": key}))
    with sqlite3.connect(store) as conn:
        rows = conn.execute(
            "SELECT rowid, state FROM stored_events WHERE rowid > ?", (after_rowid,)
        ).fetchall()
        for rowid, state in rows:
            plain = zlib.decompress(cipher.decrypt(state))
            if old in plain:
                conn.execute(
                    "UPDATE stored_events SET state = ? WHERE rowid = ?",
                    (cipher.encrypt(zlib.compress(plain.replace(old, new))), rowid),
                )
                return rowid
    raise AssertionError(f"no stored event holds {old!r}")


# Both CPs' duty rosters: police with a backup and a head of unit, prosecution one person.
ROSTER = """
police:
  time_zone: UTC
  escalate_after_minutes: 10
  people:
    ana: {name: Ana, email: ana@police.example, phone: "+40700000001", languages: [en]}
    bob: {name: Bob, email: bob@police.example, phone: "+40700000002", languages: [en]}
    hea: {name: Head, email: head@police.example, phone: "+40700000003", languages: [en]}
  shifts:
    - {days: [mon, tue, wed, thu, fri, sat, sun], start: "00:00", end: "24:00", person: ana}
  backup: [bob]
  head_of_unit: hea
prosecution:
  time_zone: UTC
  people:
    pat: {name: Pat, email: pat@pros.example, phone: "+40700000004", languages: [en]}
  shifts:
    - {days: [mon, tue, wed, thu, fri, sat, sun], start: "00:00", end: "24:00", person: pat}
  head_of_unit: pat
"""


def produced_file(content: bytes, name: str = "subscriber.csv", **overrides: Any) -> dict:
    """One file of a production as the ISP API takes it: bytes in base64 and their SHA-256."""
    return {
        "name": name,
        "media_type": "text/csv",
        "content_base64": base64.b64encode(content).decode(),
        "sha256": hashlib.sha256(content).hexdigest(),
        **overrides,
    }
