"""Where cp247 may send a request of its own: https to public addresses, unless allowed.

Provider webhooks and the alert webhook are URLs someone typed in; without a check they let
whoever registers a provider make the platform POST to its own loopback, the cloud metadata
service (169.254.169.254) or the internal network (SSRF). So an outbound URL must be
``https`` and its host must resolve only to public addresses. The operator may name hosts
that are exempt (a receiver on the internal network, a test receiver on loopback) in
``CP247_OUTBOUND_ALLOWED_HOSTS``: host names or IP literals, comma-separated; an allowed host
may also use plain ``http``.

The check runs twice: when a URL is registered (``url_problem``, a clear error) and when it is
used (``resolve``): a name that was public at registration may point at loopback today (DNS
rebinding), so the connection goes to the very address that was checked.

Stdlib only: it runs in the eventlet-patched services as well as in plain processes.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

__all__ = ["ENV_VAR", "OutboundPolicy", "OutboundRefused", "address_problem"]

ENV_VAR = "CP247_OUTBOUND_ALLOWED_HOSTS"

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class OutboundRefused(Exception):
    """A request to this host is not allowed; the message says why."""


def address_problem(address: IPAddress) -> str | None:
    """Why ``address`` is not a public destination, or ``None`` if it is."""
    if isinstance(address, ipaddress.IPv6Address):
        # ::ffff:127.0.0.1 reaches 127.0.0.1; 64:ff9b::/96 and 6to4 embed IPv4 the same way.
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is not None:
            return address_problem(embedded)
    for kind, flag in (
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("unspecified", address.is_unspecified),
        ("multicast", address.is_multicast),
        ("private", address.is_private),
        ("reserved", address.is_reserved),
    ):
        if flag:
            return f"{address} is a {kind} address"
    if not address.is_global:  # shared address space (100.64/10), benchmarking, ...
        return f"{address} is not a public address"
    return None


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


@dataclass(frozen=True)
class OutboundPolicy:
    """Which outbound destinations are allowed: public https, plus ``allowed_hosts``."""

    allowed_hosts: frozenset[str] = frozenset()

    @classmethod
    def parse(cls, text: str | None) -> OutboundPolicy:
        """From the ``CP247_OUTBOUND_ALLOWED_HOSTS`` form: ``"hooks.internal, 10.0.0.7"``."""
        hosts = (h.strip().strip("[]").lower().rstrip(".") for h in (text or "").split(","))
        return cls(frozenset(h for h in hosts if h))

    @classmethod
    def from_env(cls, env: object | None = None) -> OutboundPolicy:
        """From a mapping (an application's environment) or, without one, the process's."""
        if env is None:
            from cp247.config import setting  # cp247.config imports the runtime: not at the top

            return cls.parse(setting(ENV_VAR))
        return cls.parse(env.get(ENV_VAR))  # type: ignore[attr-defined]

    def allows(self, host: str) -> bool:
        """Whether the operator exempted ``host`` (a name or an IP literal)."""
        host = host.strip("[]").lower().rstrip(".")
        if host in self.allowed_hosts:
            return True
        literal = _literal(host)
        return literal is not None and any(
            _literal(allowed) == literal for allowed in self.allowed_hosts
        )

    def url_problem(self, url: str, what: str = "the URL") -> str | None:
        """Why ``url`` may not be called, judged without the network (at registration)."""
        try:
            parts = urlsplit(url)
        except (ValueError, TypeError, AttributeError):
            return "not a valid URL"
        host = parts.hostname or ""
        if self.allows(host):
            return None
        if parts.scheme != "https":
            return f"{what} must use https (or its host must be listed in {ENV_VAR})"
        literal = _literal(host)
        if literal is not None and (problem := address_problem(literal)):
            return f"{what} must point at a public address: {problem} (see {ENV_VAR})"
        if host == "localhost" or host.endswith(".localhost"):
            return f"{what} must point at a public host, not {host} (see {ENV_VAR})"
        return None

    def resolve(self, host: str, port: int) -> list[str]:
        """The addresses to connect to for ``host``: every one public, or the host allowed.

        Raises ``OutboundRefused`` when any address the name resolves to is not public: a
        name that mixes public and internal addresses is refused whole, since the socket
        layer could pick either.
        """
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as exc:
            raise OSError(f"cannot resolve {host}: {exc}") from None
        addresses = _unique(str(info[4][0]) for info in infos)
        if not addresses:
            raise OSError(f"cannot resolve {host}")
        if self.allows(host):
            return addresses
        for address in addresses:
            problem = address_problem(ipaddress.ip_address(address.split("%")[0]))
            if problem:
                raise OutboundRefused(f"{host} resolves to {problem} (see {ENV_VAR})")
        return addresses


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))
