"""Where a browser request comes from and where it may be sent: one answer for each.

- :func:`cross_site`: a login posted from another site (login CSRF: the victim would work
  in the attacker's session) is refused by its ``Sec-Fetch-Site`` or ``Origin`` header.
- :func:`local_target`: the only check of a redirect target (``/login?next=``): a path of
  this site, never ``//host``, ``/\\host`` or ``/%09/host``, which browsers read as another
  site once they drop tabs and newlines and turn backslashes into slashes.
- :func:`client_source`: the caller's address, for throttling failed logins; behind a
  reverse proxy the operator says how many hops to trust (``CP247_TRUSTED_PROXY_HOPS``).
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from werkzeug.wrappers import Request

from cp247.config import setting

# Printable ASCII but space, backslash and the characters browsers strip or reinterpret.
_PATH = re.compile(r"/(?![/\\])[!-\[\]-~]*")


def local_target(target: object) -> str | None:
    """``target`` if it is a path on this site, else None."""
    if not isinstance(target, str) or not _PATH.fullmatch(target):
        return None
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc else None


def cross_site(request: Request) -> bool:
    """True when the browser says the request was made by another site."""
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site is not None:  # the browser's own word; under no-referrer Origin is "null"
        return fetch_site not in ("same-origin", "none")
    origin = request.headers.get("Origin")
    if origin is None:
        return False  # not a browser, or one that tells nothing: CSRF needs a browser
    return origin != f"{request.scheme}://{request.host}"


def client_source(request: Request) -> str:
    """The address that sent the request, trusting ``CP247_TRUSTED_PROXY_HOPS`` proxies."""
    hops = setting("CP247_TRUSTED_PROXY_HOPS", "0")
    trusted = int(hops) if hops in {"0", "1", "2", "3"} else 0
    forwarded = [a.strip() for a in request.headers.get("X-Forwarded-For", "").split(",")]
    forwarded = [a for a in forwarded if a]
    if trusted and len(forwarded) >= trusted:
        return forwarded[-trusted]
    return request.remote_addr or "unknown"
