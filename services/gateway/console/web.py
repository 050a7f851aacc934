"""Plumbing of the browser pages: routes, the session cookie, CSRF tokens on forms, calls
into the API on the user's behalf, rendering and errors as sentences.

Every page reads and acts through the JSON API (:class:`Session.api`), with the user's own
session token: what a page may show or do is exactly what the API lets that role do, and
reads leave the same audit trace.
"""

from __future__ import annotations

import hmac
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from jinja2 import Environment, FileSystemLoader, select_autoescape
from werkzeug.exceptions import MethodNotAllowed, RequestEntityTooLarge
from werkzeug.exceptions import NotFound as RouteNotFound
from werkzeug.test import EnvironBuilder
from werkzeug.utils import redirect
from werkzeug.wrappers import Request, Response

from services.gateway.console.formatting import FILTERS
from services.gateway.console.notes import NOTES, note_text
from services.gateway.routing import declare, route_table
from services.gateway.web_safety import client_source

log = logging.getLogger(__name__)
HERE = Path(__file__).resolve().parent
SESSION_COOKIE = "cp247_session"
HOME_OF_ROLE = {
    "police": "/console",
    "prosecution": "/console",
    "isp": "/portal",
    "oversight": "/oversight",
    "admin": "/oversight",
}
PREFIXES = ("/login", "/logout", "/console", "/portal", "/oversight", "/static/")

templates = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
templates.filters.update(FILTERS)


class ApiError(Exception):
    """The API refused: its status and error body, to be told to the user as sentences."""

    def __init__(self, status: int, body: dict[str, Any]):
        super().__init__(body.get("message", "the request failed"))
        self.status, self.body = status, body

    @property
    def sentences(self) -> list[str]:
        lines = [_sentence(self.body.get("message") or "That did not work.")]
        for field, problems in (self.body.get("fields") or {}).items():
            label = field.replace("_", " ").replace(".", " > ")
            lines.append(f"{label}: {'; '.join(str(p) for p in problems)}.")
        if self.body.get("missing"):
            letters = ", ".join(self.body["missing"])
            lines.append(f"Art 29(2) items still missing: {letters}.")
        return lines


def _sentence(text: str) -> str:
    text = text.strip()
    return (text[:1].upper() + text[1:]).rstrip(".") + "." if text else text


def page(path: str, methods: str = "GET", roles: tuple[str, ...] | None = None):
    """Declare a page; ``roles=None`` is public (the login pages, static files)."""
    return declare("page", path, methods, roles)


@dataclass
class Session:
    """One browser request: who is asking, and the API on their behalf."""

    request: Request
    backends: Any
    gateway: Any
    token: str | None
    principal: Any
    csrf: str | None

    @property
    def role(self) -> str | None:
        return self.principal.role if self.principal else None

    def api(self, method: str, path: str, body: Any = None, **query: Any) -> Any:
        """Call the JSON API as this user; raises :class:`ApiError` on a refusal."""
        status, data = self.api_status(method, path, body, **query)
        if status >= 400:
            raise ApiError(status, data if isinstance(data, dict) else {})
        return data

    def api_status(self, method: str, path: str, body: Any = None, **query: Any) -> Any:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        query = {k: v for k, v in query.items() if v not in (None, "")}
        builder = EnvironBuilder(
            path=path,
            method=method,
            query_string=urlencode(query),
            data=None if body is None else json.dumps(body),
            content_type="application/json" if body is not None else None,
            headers=headers,
            # The API throttles failed logins by the browser's address, not the console's.
            environ_overrides={"REMOTE_ADDR": client_source(self.request)},
        )
        response = self.gateway.handle(Request(builder.get_environ()), self.backends)
        if response.mimetype == "application/json":
            return response.status_code, json.loads(response.get_data(as_text=True))
        return response.status_code, response

    def render(self, template: str, status: int = 200, **context: Any) -> Response:
        html = templates.get_template(template).render(
            session=self, role=self.role, csrf=self.csrf,
            note=note_text(self.request.args.get("note")),
            home=HOME_OF_ROLE.get(self.role or "", "/login"),
            local_zone=getattr(self.gateway, "local_zone", None), **context,
        )  # fmt: skip
        return Response(html, status=status, mimetype="text/html")

    def form(self, name: str, default: str = "") -> str:
        return (self.request.form.get(name) or default).strip()


def see_other(path: str, note: str | None = None) -> Response:
    """Post/redirect/get: a reload never repeats an action. ``note`` is a key of
    :data:`~services.gateway.console.notes.NOTES`, the sentence the next page shows."""
    if note is not None and note not in NOTES:
        raise ValueError(f"no such note: {note!r}")
    return redirect(f"{path}?{urlencode({'note': note})}" if note else path, code=303)


def alert_page(token: str | None, alert: dict[str, Any] | None, status: int = 200) -> Response:
    """The page of an alert e-mail's link, for a visitor without a session: the button that
    takes the alert, who took it, or (``alert`` None) that the link is not valid."""
    html = templates.get_template("alert_link.html").render(
        session=None, role=None, csrf=None, note=None, home="/login", token=token, alert=alert
    )
    return Response(html, status=status, mimetype="text/html")


class Console:
    """Dispatches the browser pages; mixed in with the page classes."""

    def __init__(self, gateway: Any, secure_cookies: bool):
        self.gateway, self.secure_cookies = gateway, secure_cookies
        self.url_map, self.pages = route_table(self, "page")

    @staticmethod
    def owns(path: str) -> bool:
        return path == "/" or path.startswith(PREFIXES)

    def handle(self, request: Request, backends: Any) -> tuple[str, Response]:
        """(endpoint name for metrics, response); every refusal is a page, never a stack."""
        endpoint = "console"
        session = self._session(request, backends)
        try:
            endpoint, args = self.url_map.bind_to_environ(request.environ).match()
            handler, roles = self.pages[endpoint]
            if roles is not None:
                if session.principal is None:
                    target = request.full_path.rstrip("?")
                    return endpoint, redirect(f"/login?next={quote(target)}", code=303)
                if session.role not in roles:
                    return endpoint, self._refusal(
                        session, 403, f"Your role ({session.role}) cannot open this page."
                    )
                if request.method == "POST" and not self._csrf_ok(session):
                    return endpoint, self._refusal(
                        session, 403,
                        "This form is out of date (your session changed). Reload the page and "
                        "send it again.",
                    )  # fmt: skip
            return endpoint, handler(session, **args)
        except ApiError as exc:
            return endpoint, self._refusal(session, exc.status, *exc.sentences)
        except RouteNotFound:
            return endpoint, self._refusal(session, 404, "There is no such page.")
        except MethodNotAllowed:
            return endpoint, self._refusal(session, 405, "That address does not take this action.")
        except RequestEntityTooLarge:
            return endpoint, self._refusal(session, 413, "What was sent is too large.")
        except Exception:
            log.exception("page %s failed", request.path)
            return endpoint, self._refusal(
                session, 500, "Something went wrong on our side; it was logged. Try again, or "
                "ask the administrator if it keeps happening.",
            )  # fmt: skip

    def _session(self, request: Request, backends: Any) -> Session:
        # Static files are the same for everyone: no token look-up for each of them.
        token = None if request.path.startswith("/static/") else request.cookies.get(SESSION_COOKIE)
        principal = backends.identity.authenticate(token) if token else None
        csrf = backends.identity.csrf_token(token) if principal else None
        return Session(request, backends, self.gateway, token if principal else None,
                       principal, csrf)  # fmt: skip

    @staticmethod
    def _csrf_ok(session: Session) -> bool:
        presented = (session.request.form.get("csrf_token") or "").encode()
        return hmac.compare_digest((session.csrf or "").encode(), presented)

    @staticmethod
    def _refusal(session: Session, status: int, *sentences: str) -> Response:
        return session.render("error.html", status=status, sentences=sentences)

    def start_session(self, token: str, target: str) -> Response:
        response = see_other(target)
        response.set_cookie(
            SESSION_COOKIE, token, max_age=24 * 3600, httponly=True,
            secure=self.secure_cookies, samesite="Strict", path="/",
        )  # fmt: skip
        return response

    @staticmethod
    def end_session(target: str = "/login") -> Response:
        response = see_other(target, "logged-out")
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response
