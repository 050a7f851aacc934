"""The authorization matrix of the API, rendered from the gateway's own route table
(``make security-doc`` writes ``docs/security.md``): one place enforces roles, and the
document can never disagree with it."""

from __future__ import annotations

from services.gateway.api import ALL_ROLES, Gateway


def matrix() -> list[tuple[str, str, tuple[str, ...] | None]]:
    """(method, path, roles or None for public), in path order."""
    gateway = Gateway(backends=None)  # type: ignore[arg-type]
    rows = []
    for rule in gateway.url_map.iter_rules():
        _, roles = gateway.handlers[rule.endpoint]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            rows.append((method, rule.rule, roles))
    return sorted(rows, key=lambda row: (row[1], row[0]))


def render() -> str:
    lines = [
        "# Security: who may call what",
        "",
        "Generated from the gateway's route table by `make security-doc`; do not edit by hand.",
        "Every call needs `Authorization: Bearer <token>` unless marked public. A role that is",
        "not allowed gets `403`; an ISP asking for another provider's order gets `404`.",
        "",
        "| method | path | " + " | ".join(ALL_ROLES) + " |",
        "|---|---|" + "---|" * len(ALL_ROLES),
    ]
    for method, path, roles in matrix():
        cells = ["public" if roles is None else ("yes" if r in roles else "-") for r in ALL_ROLES]
        lines.append(f"| {method} | `{path}` | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
