"""The formal order document and the provider webhook, end to end (embedded)."""

from __future__ import annotations

import io
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from pypdf import PdfReader
from slice_driver import preservation_request, wait_for

from cp247.webhooks import SIGNATURE_HEADER, verify


def issued_order(api, tokens, reference: str, provider: str = "telco-a", isp: str = "isp_a"):
    status, created = api.call(
        "POST",
        "/api/v1/requests",
        tokens["prosecution"],
        preservation_request(reference, provider_id=provider),
    )
    assert status == 201, created

    def in_inbox() -> dict | None:
        _, inbox = api.call("GET", "/api/v1/isp/orders", tokens[isp])
        return next((o for o in inbox["orders"] if o["case_id"] == created["case_id"]), None)

    return wait_for(in_inbox, what="the order in the inbox")


def raw_get(api, path: str, token: str) -> tuple[int, bytes, str]:
    import urllib.request

    request = urllib.request.Request(api.base_url + path)
    request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status, response.read(), response.headers["Content-Type"]


def test_isp_gets_a_signed_pdf_that_the_cli_verifies(embedded, tokens, tmp_path):
    api, cli, _ = embedded
    order = issued_order(api, tokens, "DOC-1")
    base = f"/api/v1/isp/orders/{order['order_id']}"
    # The order is in the inbox first; its document, signed beside delivery, at once on demand.
    status, pdf, kind = raw_get(api, f"{base}/document", tokens["isp_a"])
    assert status == 200 and kind == "application/pdf" and pdf.startswith(b"%PDF")
    status, signature, _ = raw_get(api, f"{base}/document.sig", tokens["isp_a"])

    def signed() -> dict | None:
        _, again = api.call("GET", base, tokens["isp_a"])
        return again if again["document_sha256"] else None

    order = wait_for(signed, what="the document's digest recorded")
    assert json.loads(signature)["sha256"] == order["document_sha256"]
    assert raw_get(api, f"{base}/document", tokens["isp_a"])[1] == pdf  # the same bytes
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert order["document_number"] in text and "telco-a" in text.lower()
    assert order["identifiers"][0]["value"] in text

    (tmp_path / "order.pdf").write_bytes(pdf)
    (tmp_path / "order.pdf.sig").write_bytes(signature)
    (tmp_path / "trusted.pem").write_text(cli.ok("documents", "public-key") + "\n")
    trusted = ["--trusted-keys", str(tmp_path / "trusted.pem")]
    assert cli.ok("documents", "verify", str(tmp_path / "order.pdf"), *trusted).startswith("OK")
    (tmp_path / "order.pdf").write_bytes(pdf.replace(b"PRESERVATION", b"PRESERVATIOM", 1))
    done = cli.run("documents", "verify", str(tmp_path / "order.pdf"), *trusted)
    assert done.returncode == 1 and done.stdout.startswith("NOT VALID")

    def signed_on_timeline() -> dict | None:
        path = f"/api/v1/cases/{order['case_id']}/timeline"
        entries = api.call("GET", path, tokens["police"])[1]["entries"]
        return next((e for e in entries if e["event"] == "OrderDocumentSigned"), None)

    entry = wait_for(signed_on_timeline, what="the signature on the case's timeline")
    assert order["document_sha256"] in entry["summary"]
    assert api.call("GET", f"{base}/document", tokens["isp_b"])[0] == 404


@pytest.fixture(autouse=True)
def allow_loopback_receivers(monkeypatch):
    """The test receivers run on loopback: the operator's allowance lets webhooks reach them
    (set before the ``embedded`` platform starts; autouse fixtures come first)."""
    monkeypatch.setenv("CP247_OUTBOUND_ALLOWED_HOSTS", "127.0.0.1")


class Receiver(BaseHTTPRequestHandler):
    """A provider's webhook endpoint: refuses the first push, then accepts."""

    script: list[int] = []
    seen: list[dict] = []
    secret = b""

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        body = self.rfile.read(int(self.headers["Content-Length"]))
        valid = verify(self.secret, body, self.headers[SIGNATURE_HEADER], time.time())
        status = self.script.pop(0) if self.script else 200
        type(self).seen.append(
            {"valid": valid, "status": status, "delivery": self.headers["X-CP247-Delivery"],
             "body": json.loads(body)}
        )  # fmt: skip
        self.send_response(status if valid else 401)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def test_webhook_push_is_signed_and_retried_after_a_failure(embedded, tokens):
    api, cli, platform = embedded
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/cp247-hook"
        cli.ok("providers", "add", "--id", "telco-w", "--name", "Telco W", "--country", "RO",
               "--webhook", url)  # fmt: skip
        Receiver.secret = bytes.fromhex(cli.ok("providers", "secret", "telco-w"))
        Receiver.script, Receiver.seen = [503], []
        tokens["isp_w"] = cli.ok("tokens", "issue", "--provider", "telco-w")
        order = issued_order(api, tokens, "HOOK-1", provider="telco-w", isp="isp_w")
        wait_for(lambda: len(Receiver.seen) >= 2, timeout=30, what="a retried webhook push")
        first, second = Receiver.seen[:2]
        assert first["valid"] and first["status"] == 503
        assert second["valid"] and second["status"] == 200
        assert first["delivery"] == second["delivery"]
        assert second["body"]["order_id"] == order["order_id"]
        assert "identifiers" not in second["body"]  # a prompt to fetch, no case data

        def pushed() -> bool:
            _, timeline = api.call(
                "GET", f"/api/v1/cases/{order['case_id']}/timeline", tokens["police"]
            )
            states = [e["summary"] for e in timeline["entries"] if e["event"] == "WebhookAttempted"]
            return any("delivered" in s for s in states)

        wait_for(pushed, what="the delivered push on the timeline")
    finally:
        server.shutdown()
    assert cli.run("providers", "add", "--id", "telco-x", "--name", "X", "--country", "RO",
                   "--webhook", "javascript:alert(1)").returncode == 1  # fmt: skip


def test_art29_5_a_withdrawal_pushes_order_released_to_the_providers_webhook(embedded, tokens):
    api, cli, _ = embedded
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/cp247-hook"
        cli.ok("providers", "add", "--id", "telco-r", "--name", "Telco R", "--country", "RO",
               "--webhook", url)  # fmt: skip
        Receiver.secret = bytes.fromhex(cli.ok("providers", "secret", "telco-r"))
        Receiver.script, Receiver.seen = [], []
        tokens["isp_r"] = cli.ok("tokens", "issue", "--provider", "telco-r")
        order = issued_order(api, tokens, "HOOK-REL-1", provider="telco-r", isp="isp_r")
        _, cp_view = api.call(
            "GET", f"/api/v1/preservation-orders/{order['order_id']}", tokens["police"]
        )
        status, _ = api.call(
            "POST", f"/api/v1/requests/{cp_view['request_id']}/withdraw", tokens["police"],
            {"reason": "the requesting Party withdrew it"},
        )  # fmt: skip
        assert status == 200

        def released_push() -> dict | None:
            pushes = [s["body"] for s in Receiver.seen if s["valid"]]
            return next((b for b in pushes if b["event"] == "order.released"), None)

        push = wait_for(released_push, timeout=30, what="the order.released push")
        assert push["order_id"] == order["order_id"] and push["status"] == "released"
        assert push["notice"] and "withdrew" not in push["notice"]  # neutral words only
        assert "identifiers" not in push
    finally:
        server.shutdown()


def test_outgoing_preservation_request_as_a_signed_letter(embedded, tokens, tmp_path):
    api, cli, _ = embedded
    outgoing = preservation_request("RO-OUT-1", direction="outgoing", counterpart_country="NO")
    outgoing["requesting_authority"] = {
        "country": "RO", "contact_point": "Cybercrime Directorate 24/7 Unit",
        "reference": "RO-OUT-1", "time_zone": "Europe/Bucharest",
    }  # fmt: skip
    status, created = api.call("POST", "/api/v1/requests", tokens["police"], outgoing)
    assert status == 201, created
    path = f"/api/v1/requests/{created['request_id']}/letter"
    status, pdf, kind = raw_get(api, path, tokens["police"])
    assert kind == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert "EXPEDITED PRESERVATION" in text and "RO-OUT-1" in text
    _, signature, _ = raw_get(api, f"{path}.sig", tokens["police"])
    (tmp_path / "letter.pdf").write_bytes(pdf)
    (tmp_path / "letter.pdf.sig").write_bytes(signature)
    assert cli.ok("documents", "verify", str(tmp_path / "letter.pdf")).startswith("OK")

    _, incoming = api.call("POST", "/api/v1/requests", tokens["police"], preservation_request("IN"))
    status, body = api.call("GET", f"/api/v1/requests/{incoming['request_id']}/letter",
                            tokens["police"])  # fmt: skip
    assert status == 409, body
