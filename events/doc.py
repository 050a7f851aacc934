"""Render the event catalogue (``docs/events.md``) from the registry: ``make events-doc``."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from marshmallow import Schema, fields

from events.contract import Registry


def _type_name(field: fields.Field) -> str:
    if isinstance(field, fields.Nested):
        schema = field.nested if isinstance(field.nested, type) else type(field.nested)
        return f"object ({schema.__name__})"
    if isinstance(field, fields.List):
        return f"list of {_type_name(field.inner)}"
    return type(field).__name__.lower()


def _rows(schema: type[Schema], prefix: str = "") -> Iterable[str]:
    for name, field in schema._declared_fields.items():
        required = "yes" if field.required else "no"
        description = field.metadata.get("description", "")
        if field.metadata.get("personal"):
            description = f"**personal** (sealed per case) {description}".rstrip()
        yield f"| `{prefix}{name}` | {_type_name(field)} | {required} | {description} |"
        nested = field.inner if isinstance(field, fields.List) else field
        if isinstance(nested, fields.Nested) and isinstance(nested.nested, type):
            suffix = "[]." if isinstance(field, fields.List) else "."
            yield from _rows(nested.nested, f"{prefix}{name}{suffix}")


def render(registry: Registry, consumers: Mapping[str, list[str]]) -> str:
    lines = [
        "# Event catalogue",
        "",
        "Generated from `events/catalogue.py` by `make events-doc`; do not edit by hand.",
        "",
        "Every published event travels in an envelope: `source` (producing service),",
        "`notification_id` (its position in the producer's outbox), `event`, `version`,",
        "`originator_id`, `originator_version`, `recorded_at` (UTC) and `payload`. On RabbitMQ",
        'the producer\'s relay publishes runs of consecutive events, `{"batch": [...]}`, to the',
        "topic exchange `<source>.events` with the routing key `batch`.",
        "Fields marked **personal** are sealed under their case's own key, in the stores and",
        'in every message on RabbitMQ (`{"__sealed__": 1, "shape", "ct"}` in place of the',
        "value; the consuming service opens it), and read as erased (`[]`, `{}` or",
        '`"[erased]"`) once retention has destroyed that key.',
        "",
        "An event marked *private* is a service's own bookkeeping (an index, a note to itself).",
        "It is declared here so that its personal fields are sealed in the store like any",
        "other, but it never leaves its service: in the outbox it is a placeholder carrying",
        'only its position, `{"source", "notification_id"}`, which consumers step over.',
        "",
        "| event | version | from | consumed by | meaning |",
        "|---|---|---|---|---|",
    ]
    contracts = list(registry)
    for contract in contracts:
        used_by = "*private*" if contract.private else ", ".join(consumers.get(contract.name, []))
        lines.append(
            f"| [{contract.name}](#{contract.name.lower()}) | {contract.version} | "
            f"{contract.source} | {used_by or '-'} | {contract.description} |"
        )
    for contract in contracts:
        kept = "kept inside" if contract.private else "published by"
        lines += [
            "",
            f"## {contract.name}",
            "",
            f"Version {contract.version}, {kept} `{contract.source}`. {contract.description}",
            "",
            "| field | type | required | description |",
            "|---|---|---|---|",
            *_rows(contract.schema),
        ]
    return "\n".join(lines) + "\n"
