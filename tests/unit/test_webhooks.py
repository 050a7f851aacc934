"""Signed order webhooks: signatures, scheduling, and real POSTs to a loopback receiver.

The receiver is a real ``http.server`` on 127.0.0.1 that checks every request's signature with
``verify``, as a provider's endpoint would, and answers from a script (``503`` then ``200``,
``410``, or hanging past the client's timeout).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import random
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from cp247.outbound import OutboundPolicy
from cp247.webhooks import (
    DELIVERY_HEADER,
    EVENT_HEADER,
    EVENT_ORDER_ISSUED,
    MAX_ATTEMPTS,
    SIGNATURE_HEADER,
    Delivery,
    Outcome,
    WebhookClient,
    backoff,
    canonical_json,
    outcome_for_status,
    secret_for,
    secret_hex,
    sign,
    url_problem,
    verify,
)

# The receivers here run on loopback, which only an operator's allowance lets through.
LOOPBACK = OutboundPolicy.parse("127.0.0.1")
MASTER = b"m" * 32
SECRET = secret_for("telco-a", MASTER)
BODY = b'{"order_id":"o-1","provider_id":"telco-a"}'
T = 1_800_000_000
ORDER = {
    "order_id": "0b9a7f0e-0000-4000-8000-000000000001",
    "case_id": "c-1",
    "provider_id": "telco-a",
    "identifiers": [{"kind": "ip", "value": "198.51.100.7", "port": 51234}],
    "data_types": ["traffic"],
    "legal_basis": "Art 29 Budapest Convention; Legea 161/2003 art 39",
    "issued_at": "2026-11-28T10:00:00.000000Z",
    "document_url": "/api/v1/isp/orders/0b9a7f0e-0000-4000-8000-000000000001/document",
}
HANG = "hang"  # a scripted answer: hold the request until the test ends


# --- signatures ------------------------------------------------------------------------------
def test_signature_has_the_documented_shape_and_round_trips() -> None:
    header = sign(SECRET, BODY, T)

    assert re.fullmatch(rf"t={T},v1=[0-9a-f]{{64}}", header)
    # Known answer: the MAC is over "<t>." + body, so the timestamp cannot be swapped.
    expected = hmac.new(SECRET, f"{T}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert header.endswith(expected)
    assert verify(SECRET, BODY, header, now=T)


def test_signature_binds_the_timestamp_so_a_capture_cannot_be_refreshed() -> None:
    mac = sign(SECRET, BODY, T).split("v1=")[1]

    assert not verify(SECRET, BODY, f"t={T + 3600},v1={mac}", now=T + 3600)


@pytest.mark.parametrize(
    ("secret", "body", "now"),
    [
        (secret_for("telco-b", MASTER), BODY, T),  # another provider's secret
        (SECRET, BODY.replace(b"o-1", b"o-2"), T),  # body changed in transit
        (SECRET, BODY + b" ", T),  # even by whitespace
        (SECRET, BODY, T + 301),  # stale: replayed over five minutes later
        (SECRET, BODY, T - 301),  # from the future: a sender's clock or a forgery
    ],
    ids=["wrong-secret", "changed-body", "trailing-space", "stale", "future"],
)
def test_verify_rejects(secret: bytes, body: bytes, now: float) -> None:
    assert not verify(secret, body, sign(SECRET, BODY, T), now=now)


def test_verify_accepts_up_to_the_tolerance_and_honours_a_custom_one() -> None:
    header = sign(SECRET, BODY, T)

    assert verify(SECRET, BODY, header, now=T + 300)
    assert verify(SECRET, BODY, header, now=T - 300)
    assert not verify(SECRET, BODY, header, now=T + 31, tolerance_seconds=30)


GOOD_MAC = hmac.new(SECRET, f"{T}.".encode() + BODY, hashlib.sha256).hexdigest()


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "garbage",
        f"v1={GOOD_MAC}",  # no timestamp
        f"t={T}",  # no signature
        f"t={T},v1=",
        f"t=,v1={GOOD_MAC}",
        f"t=abc,v1={GOOD_MAC}",
        f"t=-{T},v1={GOOD_MAC}",
        f"t={T}.0,v1={GOOD_MAC}",
        f"t={'9' * 5000},v1={GOOD_MAC}",  # would exceed int() digit limits if parsed
        f"t=0,t={T},v1={GOOD_MAC}",  # two timestamps: a lax parser might take either
        f"t={T},v1={GOOD_MAC[:-1]}",  # truncated
        f"t={T},v1={GOOD_MAC[:-1]}é",  # non-ASCII: compare_digest would raise on it
        f"t={T},v1={GOOD_MAC},{'x' * 5000}",  # oversized
        f"t={T};v1={GOOD_MAC}",  # wrong separator
        f"t={T},v1={GOOD_MAC},junk",
        b"t=1,v1=00",  # bytes instead of text
    ],
)
def test_verify_rejects_malformed_headers_without_raising(header: object) -> None:
    assert verify(SECRET, BODY, header, now=T) is False  # type: ignore[arg-type]


def test_verify_rejects_wrong_types_without_raising() -> None:
    header = sign(SECRET, BODY, T)

    assert verify(SECRET, BODY.decode(), header, now=T) is False  # type: ignore[arg-type]
    assert verify(SECRET.hex(), BODY, header, now=T) is False  # type: ignore[arg-type]
    assert verify(b"", BODY, header, now=T) is False


def test_verify_accepts_any_of_several_signatures_for_secret_rotation() -> None:
    old, new = secret_for("telco-a", b"o" * 32), SECRET
    header = f"{sign(old, BODY, T)},v1={sign(new, BODY, T).split('v1=')[1]},v2=future-scheme"

    assert verify(old, BODY, header, now=T)
    assert verify(new, BODY, header, now=T)
    assert not verify(secret_for("telco-b", MASTER), BODY, header, now=T)


def test_sign_refuses_an_empty_secret() -> None:
    with pytest.raises(ValueError):
        sign(b"", BODY, T)


# --- per-provider secrets --------------------------------------------------------------------
def test_provider_secret_is_derived_not_stored() -> None:
    assert secret_for("telco-a", MASTER) == hmac.new(MASTER, b"telco-a", hashlib.sha256).digest()
    assert secret_for("telco-a", MASTER) == secret_for("telco-a", MASTER)
    assert secret_for("telco-a", MASTER) != secret_for("telco-b", MASTER)
    assert secret_for("telco-a", MASTER) != secret_for("telco-a", b"n" * 32)
    assert secret_hex("telco-a", MASTER) == secret_for("telco-a", MASTER).hex()
    assert bytes.fromhex(secret_hex("telco-a", MASTER)) == SECRET  # what receivers do


def test_provider_secret_refuses_a_weak_master_key() -> None:
    with pytest.raises(ValueError):
        secret_for("telco-a", b"short")


# --- canonical bodies ------------------------------------------------------------------------
def test_canonical_json_is_independent_of_key_order_and_keeps_utf8() -> None:
    one = canonical_json({"b": 1, "a": {"y": "Ștefan", "x": [1, 2]}})
    two = canonical_json({"a": {"x": [1, 2], "y": "Ștefan"}, "b": 1})

    assert one == two == '{"a":{"x":[1,2],"y":"Ștefan"},"b":1}'.encode()
    with pytest.raises(ValueError):
        canonical_json({"x": math.nan})  # not JSON; fail at the sender, not at the receiver


# --- scheduling ------------------------------------------------------------------------------
def test_backoff_doubles_then_caps() -> None:
    delays = [backoff(n) for n in range(1, MAX_ATTEMPTS + 1)]

    assert delays[:4] == [2.0, 4.0, 8.0, 16.0]
    assert all(b >= a for a, b in zip(delays, delays[1:], strict=False))
    assert delays[-1] == 3600.0
    assert backoff(10_000) == 3600.0  # no overflow however long it has been failing
    assert backoff(3, base=1.0, cap=3.0) == 3.0
    with pytest.raises(ValueError):
        backoff(0)


def test_backoff_jitter_is_off_by_default_and_only_shortens() -> None:
    assert backoff(5) == backoff(5) == 32.0
    drawn = [backoff(5, jitter=0.5, rng=random.Random(seed)) for seed in range(50)]

    assert all(16.0 <= d <= 32.0 for d in drawn)
    assert len(set(drawn)) > 1
    assert backoff(5, jitter=0.5, rng=random.Random(7)) == backoff(
        5, jitter=0.5, rng=random.Random(7)
    )


RETRY = Outcome(ok=False, status=503, error="HTTP 503", retry=True)


def test_delivery_reschedules_with_backoff_until_attempts_run_out() -> None:
    first = Delivery.new("http://x.test/hook", EVENT_ORDER_ISSUED, ORDER, now=100.0)
    assert (first.attempt, first.next_attempt_at, first.due(100.0)) == (1, 100.0, True)

    second = first.reschedule(RETRY, now=101.0)
    assert second is not None
    assert (second.attempt, second.next_attempt_at) == (2, 101.0 + backoff(1))
    assert second.delivery_id == first.delivery_id
    assert not second.due(102.0)

    delivery: Delivery | None = first
    attempts = 0
    for _ in range(MAX_ATTEMPTS * 2):  # bounded, so a missing limit fails instead of hanging
        if delivery is None:
            break
        attempts += 1
        delivery = delivery.reschedule(RETRY, now=0.0)
    assert attempts == MAX_ATTEMPTS


@pytest.mark.parametrize(
    "outcome",
    [
        Outcome(ok=True, status=200, error=None, retry=False),
        Outcome(ok=False, status=410, error="HTTP 410 Gone", retry=False),
    ],
    ids=["delivered", "permanent"],
)
def test_delivery_is_not_rescheduled_when_done(outcome: Outcome) -> None:
    delivery = Delivery.new("http://x.test/hook", EVENT_ORDER_ISSUED, ORDER, now=0.0)

    assert delivery.reschedule(outcome, now=1.0) is None


@pytest.mark.parametrize(
    ("status", "ok", "retry"),
    [
        (200, True, False),
        (202, True, False),
        (204, True, False),
        (400, False, False),
        (401, False, False),
        (404, False, False),
        (410, False, False),
        (408, False, True),
        (429, False, True),
        (500, False, True),
        (502, False, True),
        (503, False, True),
        (301, False, True),
    ],
)
def test_status_classification(status: int, ok: bool, retry: bool) -> None:
    outcome = outcome_for_status(status)

    assert (outcome.ok, outcome.retry, outcome.status) == (ok, retry, status)
    assert (outcome.error is None) == ok


@pytest.mark.parametrize(
    "url",
    [
        "ftp://provider.test/hook",
        "file:///etc/passwd",
        "gopher://provider.test/",
        "http://",
        "http://user:pw@provider.test/hook",
        "http://provider.test:99999/hook",
        "provider.test/hook",
        "http://provider.test/a hook",
        "http://provider.test/\x00",
        "http://provider..test/hook",
        f"http://{'a' * 64}.test/hook",  # a DNS label is at most 63 octets
    ],
)
def test_unsupported_urls_fail_permanently_without_touching_the_network(url: str) -> None:
    assert url_problem(url)

    outcome = WebhookClient(timeout=0.1, policy=LOOPBACK).post(
        url, SECRET, EVENT_ORDER_ISSUED, "d-1", ORDER, T
    )

    assert outcome == Outcome(ok=False, status=None, error=url_problem(url), retry=False)


def test_acceptable_urls() -> None:
    assert url_problem("https://hooks.telco-a.example/cp247?x=1") is None
    assert url_problem("http://127.0.0.1:8080/") is None


# --- a real receiver -------------------------------------------------------------------------
@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    verified: bool


@dataclass
class Receiver:
    """A provider's endpoint: checks the signature, then answers from ``script``."""

    url: str
    script: list[int | str]
    requests: list[Received] = field(default_factory=list)


@pytest.fixture
def receiver() -> Iterator[Callable[..., Receiver]]:
    servers: list[tuple[ThreadingHTTPServer, threading.Thread]] = []
    release = threading.Event()  # lets hanging handlers finish at teardown, not after it

    def start(*script: int | str, secret: bytes = SECRET) -> Receiver:
        state = Receiver(url="", script=list(script))

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 -- the name http.server dispatches to
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                ok = verify(secret, body, self.headers.get(SIGNATURE_HEADER), time.time())
                state.requests.append(Received(dict(self.headers.items()), body, ok))
                answer = state.script.pop(0) if state.script else 200
                if answer == HANG:
                    release.wait(5)
                    answer = 200
                status = answer if ok else 401
                self.send_response(int(status))
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass  # keep pytest output clean

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        # A short poll interval: shutdown() waits for it, and the default 0.5 s per test would
        # blow the suite's time budget.
        thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
        thread.start()
        servers.append((server, thread))
        state.url = f"http://127.0.0.1:{server.server_port}/cp247/hook?v=1"
        return state

    yield start
    release.set()
    for server, thread in servers:
        server.shutdown()
        server.server_close()
        thread.join(2)


def test_delivers_a_signed_order_that_the_receiver_verifies(receiver) -> None:
    hook = receiver(200)

    outcome = WebhookClient(timeout=2, policy=LOOPBACK).post(
        hook.url, SECRET, EVENT_ORDER_ISSUED, "d-1", ORDER, time.time()
    )

    assert outcome == Outcome(ok=True, status=200, error=None, retry=False)
    [request] = hook.requests
    assert request.verified
    assert request.body == canonical_json(ORDER)
    assert json.loads(request.body) == ORDER
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers[EVENT_HEADER] == "order.issued"
    assert request.headers[DELIVERY_HEADER] == "d-1"


def test_receiver_refuses_a_wrong_secret_and_that_is_permanent(receiver) -> None:
    hook = receiver(200)
    wrong = secret_for("telco-b", MASTER)

    outcome = WebhookClient(timeout=2, policy=LOOPBACK).post(
        hook.url, wrong, EVENT_ORDER_ISSUED, "d-1", ORDER, time.time()
    )

    assert not hook.requests[0].verified
    assert (outcome.ok, outcome.status, outcome.retry) == (False, 401, False)


def test_retries_after_a_503_and_then_delivers(receiver) -> None:
    hook = receiver(503, 200)
    client, now = WebhookClient(timeout=2, policy=LOOPBACK), time.time()
    delivery = Delivery.new(hook.url, EVENT_ORDER_ISSUED, ORDER, now)

    first = client.post(hook.url, SECRET, delivery.event, delivery.delivery_id, ORDER, now)
    assert (first.ok, first.status, first.retry) == (False, 503, True)
    assert first.error and "503" in first.error

    retry = delivery.reschedule(first, now)
    assert retry is not None and retry.attempt == 2
    later = retry.next_attempt_at  # as if the dispatcher waited until it was due
    second = client.post(hook.url, SECRET, retry.event, retry.delivery_id, ORDER, later)
    assert second.ok and second.status == 200
    assert retry.reschedule(second, later) is None
    assert [r.verified for r in hook.requests] == [True, True]


def test_delivery_id_is_stable_across_attempts(receiver) -> None:
    hook = receiver(500, 429, 200)
    client, now = WebhookClient(timeout=2, policy=LOOPBACK), time.time()
    delivery: Delivery | None = Delivery.new(hook.url, EVENT_ORDER_ISSUED, ORDER, now)
    first_id = delivery.delivery_id
    outcomes = []

    while delivery is not None:
        at = delivery.next_attempt_at
        outcome = client.post(
            delivery.url, SECRET, delivery.event, delivery.delivery_id, delivery.body, at
        )
        outcomes.append(outcome)
        delivery = delivery.reschedule(outcome, at)

    assert [o.status for o in outcomes] == [500, 429, 200]
    assert [r.headers[DELIVERY_HEADER] for r in hook.requests] == [first_id] * 3
    assert len({r.headers[SIGNATURE_HEADER] for r in hook.requests}) == 3  # re-signed each time
    assert all(r.verified for r in hook.requests)


def test_gone_receiver_is_not_retried(receiver) -> None:
    hook = receiver(410)

    outcome = WebhookClient(timeout=2, policy=LOOPBACK).post(
        hook.url, SECRET, EVENT_ORDER_ISSUED, "d-1", ORDER, time.time()
    )

    assert (outcome.ok, outcome.status, outcome.retry) == (False, 410, False)
    assert outcome.error == "HTTP 410 Gone"


def test_connection_refused_is_retried_with_an_error() -> None:
    with socket.socket() as probe:  # a port that was free a moment ago and now has no listener
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    outcome = WebhookClient(timeout=2, policy=LOOPBACK).post(
        f"http://127.0.0.1:{port}/hook", SECRET, EVENT_ORDER_ISSUED, "d-1", ORDER, time.time()
    )

    assert (outcome.ok, outcome.status, outcome.retry) == (False, None, True)
    assert outcome.error and "refused" in outcome.error.lower()


def test_a_receiver_slower_than_the_timeout_is_retried(receiver) -> None:
    hook = receiver(HANG)
    started = time.monotonic()

    outcome = WebhookClient(timeout=0.2, policy=LOOPBACK).post(
        hook.url, SECRET, EVENT_ORDER_ISSUED, "d-1", ORDER, time.time()
    )

    assert time.monotonic() - started < 1.5
    assert (outcome.ok, outcome.status, outcome.retry) == (False, None, True)
    assert outcome.error and "timed out" in outcome.error


def test_header_injection_through_the_event_name_is_refused() -> None:
    with pytest.raises(ValueError):
        WebhookClient(policy=LOOPBACK).post(
            "http://127.0.0.1:9/hook", SECRET, "order.issued\r\nX-Evil: 1", "d-1", ORDER, T
        )


def test_https_to_a_receiver_without_tls_is_a_retryable_tls_error(receiver) -> None:
    hook = receiver(200)
    url = hook.url.replace("http://", "https://")

    outcome = WebhookClient(timeout=2, policy=LOOPBACK).post(
        url, SECRET, EVENT_ORDER_ISSUED, "d-1", ORDER, time.time()
    )

    assert (outcome.ok, outcome.status, outcome.retry) == (False, None, True)
    assert outcome.error and "SSL" in outcome.error
    assert hook.requests == []  # the order never went out in clear text
