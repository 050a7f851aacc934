"""Text the gateway renders itself: the start page and a provider's order document."""

from __future__ import annotations

from html import escape
from typing import Any

from cp247 import __version__


def home_page() -> str:
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>cp247</title>
<style>body{{font-family:system-ui,sans-serif;background:#111;color:#eee;max-width:40rem;
margin:3rem auto;line-height:1.5}}a{{color:#8cf}}</style></head>
<body><h1>cp247 {escape(__version__)}</h1>
<p>National 24/7 point of contact for cybercrime (Budapest Convention, Art 35).</p>
<p>The REST API is described at <a href="/api/v1/openapi.json">/api/v1/openapi.json</a>.
Health: <a href="/healthz">/healthz</a>, readiness: <a href="/readyz">/readyz</a>.</p>
</body></html>
"""


def document_text(order: dict[str, Any]) -> str:
    """A plain-text preservation order a provider can file (the signed form comes later)."""
    lines = [
        "PRESERVATION ORDER",
        f"Order:        {order['order_id']}",
        f"Provider:     {order['provider_id']}",
        f"Legal basis:  {order['legal_basis']}",
        f"Issued at:    {order['issued_at']}",
        f"Preserve until: {order['expires_at']}",
        f"Data types:   {', '.join(order['data_types']) or 'as identified below'}",
        "Identifiers:",
    ]
    for identifier in order["identifiers"]:
        port = f" port {identifier['port']}" if identifier.get("port") is not None else ""
        when = f" at {identifier['observed_at']}" if identifier.get("observed_at") else ""
        lines.append(f"  - {identifier['kind']}: {identifier['value']}{port}{when}")
    lines.append("")
    lines.append("Preserve the data above and do not disclose this order to the subscriber.")
    return "\n".join(lines) + "\n"
