"""The case page's action forms: flat form fields to the API bodies of decisions.

Only shape is done here (empty optional fields left out, numbers, identifier lines); every
rule of substance (allowed states, times with an offset, outcomes) is the API's, and its
answer is shown to the user as is.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from cp247.validation import parse_ascii_int
from services.gateway.console.request_form import identifier_lines

Form = Callable[[str], str]  # a field's value, stripped ("" when not sent)


def whole_number(text: str) -> Any:
    """A whole number in ASCII digits, or the text itself (the API then says what is wrong
    with it): ``"²"`` is a digit to ``str.isdigit()`` but not to ``int()``."""
    number = parse_ascii_int(text.strip())
    return text if number is None else number


def _given(form: Form, names: Iterable[str]) -> dict[str, str]:
    """The fields that were filled in: an empty optional field is not sent at all (an empty
    time would be a 422, a left-out one means "now")."""
    return {name: form(name) for name in names if form(name)}


def order_body(form: Form, data_types: list[str]) -> tuple[dict[str, Any], list[str]]:
    """An officer's preservation order; identifiers one a line as on the request form
    (``kind value [port] [observed at]``)."""
    identifiers, problems = identifier_lines(form("identifiers"))
    body: dict[str, Any] = {
        "provider_id": form("provider_id"),
        "data_types": data_types,
        "identifiers": identifiers,
    }
    if form("period_days"):
        body["period_days"] = whole_number(form("period_days"))
    if form("request_id"):
        body["request_id"] = form("request_id")
    return body, problems


def reason_body(form: Form) -> dict[str, Any]:
    """A withdrawal, or why no order is made: the reason, always sent (the API wants one)."""
    return {"reason": form("reason")}


def art29_6_decision_body(form: Form) -> dict[str, Any]:
    return {"decision": form("decision"), "note": form("note")}


def sent_body(form: Form) -> dict[str, Any]:
    """How and when our request left; no time means now."""
    return {"channel": form("channel"), **_given(form, ("at",))}


def foreign_receipt_body(form: Form) -> dict[str, Any]:
    return _given(form, ("reference", "at"))


def answer_body(form: Form) -> dict[str, Any]:
    """The foreign CP's answer; ``expires_at`` (preserved until) starts our MLA clock."""
    return {"outcome": form("outcome"), "note": form("note"), **_given(form, ("expires_at",))}


def close_body(form: Form) -> dict[str, Any]:
    return {"outcome": form("outcome"), "note": form("note")}
