"""Outbound calls and data at rest as the penetration test found them (issue 17).

A provider's webhook could be ``http://169.254.169.254/...`` (the cloud metadata service) or
any loopback or internal address: the platform POSTed wherever it was told (SSRF). The data
directory was 0755 and its stores 0644, dead letters kept whole payloads in clear, anyone
could read ``/metrics`` (per-country counters), and every answer named the server software.
"""

from __future__ import annotations

import json
import socket
import stat
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from slice_driver import issued_order
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from cp247.config import ConfigurationError, Settings
from cp247.errors import Invalid
from cp247.nameko_support import AmqpDeadLetters, ServiceBase
from cp247.outbound import OutboundPolicy
from cp247.runtime.deadletter import DeadLetterSeal
from cp247.webhooks import EVENT_ORDER_ISSUED, WebhookClient

SECRET = b"s" * 32
ORDER = {"order_id": "o-1", "provider_id": "telco-a"}
NOT_PUBLIC = (
    "http://127.0.0.1:9/hook",  # plain http, and loopback
    "https://127.0.0.1/hook",
    "https://127.1.2.3/hook",
    "https://localhost/hook",
    "https://169.254.169.254/latest/meta-data/",  # cloud metadata (link-local)
    "https://[::1]/hook",
    "https://[::ffff:127.0.0.1]/hook",  # IPv4-mapped IPv6
    "https://[fe80::1]/hook",
    "https://10.0.0.5/hook",
    "https://192.168.1.1/hook",
    "https://0.0.0.0/hook",
    "https://224.0.0.1/hook",
    "https://240.0.0.1/hook",
    "http://hooks.telco-a.example/hook",  # public, but not https
)


class Recorder(BaseHTTPRequestHandler):
    """A receiver that records what reached it and answers with ``answer``."""

    answer: tuple[int, dict[str, str]] = (200, {})
    seen: list[str]

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        self.seen.append(self.path)
        status, headers = self.answer
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_POST  # noqa: N815 - a followed redirect may arrive as a GET

    def log_message(self, *args: object) -> None:
        pass


def receiver(status: int = 200, headers: dict[str, str] | None = None) -> ThreadingHTTPServer:
    handler = type("Handler", (Recorder,), {"answer": (status, headers or {}), "seen": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_a_webhook_to_loopback_or_link_local_is_refused(embedded, tokens, monkeypatch):
    _, cli, platform = embedded
    providers = platform.apps["isp_liaison"]
    for url in NOT_PUBLIC:  # at registration: a clear error on the field
        with pytest.raises(Invalid) as refused:
            providers.register_provider("telco-s", "Telco S", "RO", webhook=url)
        assert refused.value.fields["webhook"], url
    done = cli.run("providers", "add", "--id", "telco-s", "--name", "S", "--country", "RO",
                   "--webhook", "https://169.254.169.254/latest/meta-data/")  # fmt: skip
    assert done.returncode == 1 and "link-local" in done.stderr, done.stderr
    assert providers.register_provider(
        "telco-s", "Telco S", "RO", webhook="https://hooks.telco-s.example/cp247"
    )["webhook"]
    with pytest.raises(ConfigurationError, match="CP247_ALERT_WEBHOOK"):
        type(platform.apps["notification"])(
            env={"PERSISTENCE_MODULE": "eventsourcing.popo",
                 "CP247_ALERT_WEBHOOK": "https://169.254.169.254/page"}
        )  # fmt: skip

    # At send time: a name that was public when registered now points inside (DNS rebinding).
    server = receiver()
    port = server.server_port
    real = socket.getaddrinfo
    rebound = {"hooks.telco-s.example": "127.0.0.1", "mapped.telco-s.example": "::ffff:127.0.0.1"}

    def getaddrinfo(host, *args, **kwargs):
        if host in rebound:
            family = socket.AF_INET6 if ":" in rebound[host] else socket.AF_INET
            return [(family, socket.SOCK_STREAM, 6, "", (rebound[host], port))]
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    try:
        for host in rebound:
            outcome = WebhookClient(timeout=2).post(
                f"https://{host}:{port}/hook", SECRET, EVENT_ORDER_ISSUED, "d-1", ORDER, 0
            )
            assert not outcome.ok and not outcome.retry, outcome
            assert "loopback" in (outcome.error or "")
        assert server.RequestHandlerClass.seen == []  # nothing was sent
        # The operator's allowance is what lets a host on the internal network through.
        allowed = WebhookClient(timeout=2, policy=OutboundPolicy.parse("127.0.0.1"))
        assert allowed.post(
            f"http://127.0.0.1:{port}/hook", SECRET, EVENT_ORDER_ISSUED, "d-1", ORDER, 0
        ).ok
    finally:
        server.shutdown()


def test_redirects_are_not_followed():
    inside = receiver()
    outside = receiver(307, {"Location": f"http://127.0.0.1:{inside.server_port}/metadata"})
    try:
        client = WebhookClient(timeout=2, policy=OutboundPolicy.parse("127.0.0.1"))
        outcome = client.post(
            f"http://127.0.0.1:{outside.server_port}/hook",
            SECRET,
            EVENT_ORDER_ISSUED,
            "d-1",
            ORDER,
            0,
        )
        assert not outcome.ok and outcome.status == 307
        assert "redirects are not followed" in (outcome.error or "")
        assert outside.RequestHandlerClass.seen == ["/hook"]
        assert inside.RequestHandlerClass.seen == []
    finally:
        inside.shutdown()
        outside.shutdown()


def _wide_open(path: Path) -> list[str]:
    return [
        f"{p} {stat.filemode(p.stat().st_mode)}"
        for p in (path, *path.rglob("*"))
        if not p.is_symlink() and p.stat().st_mode & 0o077
    ]


def test_data_directory_and_stores_are_private(embedded, tokens, tmp_path):
    api, _, platform = embedded
    issued_order(api, tokens, "AT-REST-1")  # stores, their -wal/-shm, keys: all written
    data = platform.settings.data_dir
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    stores = [p.name for p in data.glob("*.sqlite*")]
    assert any(name.endswith("-wal") for name in stores), stores
    assert _wide_open(data) == []
    # A data directory an earlier version left readable is tightened at start.
    old = tmp_path / "old-data"
    old.mkdir(mode=0o755)
    (old / "intake.sqlite").write_text("")
    (old / "intake.sqlite").chmod(0o644)
    (old / "logs").mkdir(mode=0o755)
    (old / "logs" / "gateway.log").write_text("")
    (old / "logs" / "gateway.log").chmod(0o644)
    Settings.from_env(str(old)).persistence_env("intake")
    assert _wide_open(old) == []


def test_dead_letters_are_sealed(embedded):
    _, cli, platform = embedded
    breaking = {
        "source": "intake",
        "notification_id": 1,
        "event": "RequestReceived",
        "version": 1,
        "payload": {"requester": "Ion Popescu", "identifiers": ["+40 721 000 111"]},
    }
    platform.inboxes[0].receive(breaking)
    kept = (platform.settings.data_dir / "dead-letters.jsonl").read_text()
    assert kept and "Popescu" not in kept and "721" not in kept
    [record] = [json.loads(line) for line in kept.splitlines()]
    assert record["source"] == "intake" and record["event"] == "RequestReceived"
    assert record["consumer"] and record["reason"] and record["sealed"]
    [opened] = platform.dead_letters.read()  # the reading side unseals
    assert opened["body"] == breaking
    [printed] = cli.ok("dead-letters", "open").splitlines()  # and so does the operator's tool
    assert json.loads(printed)["body"] == breaking

    # Distributed mode: what goes to the cp247.dead-letter queue is sealed the same way.
    published: list[dict] = []
    seal = DeadLetterSeal.from_settings(platform.settings)
    queue = AmqpDeadLetters("memory://", seal)
    queue.publisher = type("Publisher", (), {"publish": lambda _, m, **k: published.append(m)})()
    queue(breaking, "RequestReceived v1 payload is invalid", "preservation")
    [message] = published
    assert "Popescu" not in json.dumps(message)
    assert seal.open(message)["body"] == breaking
    done = cli.run("dead-letters", "open", "--stdin", stdin=json.dumps(message))
    assert done.returncode == 0 and json.loads(done.stdout)["body"] == breaking


def _scrape(authorization: str | None) -> int:
    """A service process's own ``/metrics`` handler (cp247.nameko_support)."""
    headers = {"Authorization": authorization} if authorization else {}
    request = Request(EnvironBuilder(path="/metrics", headers=headers).get_environ())
    return ServiceBase.metrics(None, request).status_code  # type: ignore[arg-type]


def test_metrics_need_the_scrape_token(embedded, monkeypatch):
    api, _, _ = embedded
    monkeypatch.delenv("CP247_METRICS_TOKEN", raising=False)
    assert api.call("GET", "/metrics")[0] == 404  # no token configured: not served at all
    assert _scrape(None) == 404
    monkeypatch.setenv("CP247_METRICS_TOKEN", "scrape-token-0123456789")
    for wrong in (None, "wrong-token", "scrape-token-012345678"):
        status, _, headers = api.call_with_headers("GET", "/metrics", wrong)
        assert status == 401 and headers["WWW-Authenticate"].startswith("Bearer")
        assert _scrape(f"Bearer {wrong}" if wrong else None) == 401
    status, text = api.call("GET", "/metrics", "scrape-token-0123456789")
    assert status == 200 and "cp247_requests_registered_total" in text
    assert _scrape("Bearer scrape-token-0123456789") == 200


def test_no_server_banner(embedded):
    api, _, _ = embedded
    for path in ("/healthz", "/api/v1/nowhere", "/login"):
        _, _, headers = api.call_with_headers("GET", path)
        assert "Server" not in headers, (path, headers["Server"])
