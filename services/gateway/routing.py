"""Routes declared on methods (``@route`` for the API, ``@page`` for the browser pages),
collected into one werkzeug map per class."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from werkzeug.routing import Map, Rule

Handler = Callable[..., Any]
Roles = tuple[str, ...] | None


def declare(marker: str, path: str, methods: str, roles: Roles) -> Callable[[Handler], Handler]:
    def mark(handler: Handler) -> Handler:
        setattr(handler, marker, (path, methods.split(","), roles))
        return handler

    return mark


def route_table(owner: Any, marker: str) -> tuple[Map, dict[str, tuple[Handler, Roles]]]:
    """Every method of ``owner`` declared with ``marker``: the map and endpoint -> handler."""
    handlers: dict[str, tuple[Handler, Roles]] = {}
    rules = []
    for name in dir(type(owner)):
        handler = getattr(owner, name)
        spec = getattr(handler, marker, None)
        if spec:
            path, methods, roles = spec
            rules.append(Rule(path, methods=methods, endpoint=name))
            handlers[name] = (handler, roles)
    return Map(rules, strict_slashes=False), handlers
