"""Pages the gateway renders itself.

The Content-Security-Policy allows no inline script or style, so styling lives in
:data:`CONSOLE_CSS`, served from ``/console.css``.
"""

from __future__ import annotations

from html import escape

from cp247 import __version__

CONSOLE_CSS = """body{font-family:system-ui,sans-serif;background:#111;color:#eee;max-width:40rem;
margin:3rem auto;line-height:1.5}a{color:#8cf}
"""


def home_page() -> str:
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>cp247</title>
<link rel="stylesheet" href="/console.css"></head>
<body><h1>cp247 {escape(__version__)}</h1>
<p>National 24/7 point of contact for cybercrime (Budapest Convention, Art 35).</p>
<p>The REST API is described at <a href="/api/v1/openapi.json">/api/v1/openapi.json</a>.
Health: <a href="/healthz">/healthz</a>, readiness: <a href="/readyz">/readyz</a>.</p>
</body></html>
"""
