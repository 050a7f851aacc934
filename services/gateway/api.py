"""The v1 HTTP contract (``../shared/API.md``), independent of how it is served.

:class:`Gateway` turns a werkzeug request into a response. In the embedded mode a werkzeug
server calls it; in the distributed mode a nameko ``@http`` entrypoint does. Either way the
backends are objects with the applications' methods: the applications themselves, or nameko
RPC proxies to them. Every error leaves here as the API's JSON error body, never a trace.

A caller authenticates with ``Authorization: Bearer <token>`` or with the session cookie that
``/api/v1/login`` sets (the header wins). A cookie is an ambient credential, so a request that
changes anything with it alone must also carry ``X-CSRF-Token`` (given by login). Every
response carries the security headers of :data:`SECURITY_HEADERS`.
"""

from __future__ import annotations

import base64
import hmac
import json
import logging
import re
import time
import urllib.parse
from collections.abc import Callable
from datetime import timedelta
from typing import Any, Protocol

from eventsourcing.persistence import IntegrityError, PersistenceError
from werkzeug.exceptions import HTTPException, MethodNotAllowed, RequestEntityTooLarge
from werkzeug.exceptions import NotFound as RouteNotFound
from werkzeug.wrappers import Request, Response

from cp247 import metrics
from cp247.clock import parse_iso, utcnow
from cp247.config import Settings, setting
from cp247.documents import Letterhead
from cp247.errors import (
    BadRequest,
    Conflict,
    DomainError,
    Forbidden,
    Invalid,
    NotFound,
    PayloadTooLarge,
    Unauthorized,
    UnsupportedMediaType,
)
from cp247.runtime.ledger import combine
from cp247.validation import parse_ascii_int
from services.gateway.console.portal import UPLOAD_PATH
from services.gateway.console.site import ConsolePages
from services.gateway.console.web import alert_page
from services.gateway.identity import USER_ROLES, Principal
from services.gateway.openapi import CASE_LIST_LIMIT, openapi_document
from services.gateway.routing import Handler, declare, route_table
from services.gateway.web_safety import client_source, cross_site
from services.isp_liaison.production import PRODUCED_CONTENT
from services.preservation.national_law import national_policy

log = logging.getLogger(__name__)

# Reads that leave a trace (criminal-justice data protection): endpoint -> (what, id argument).
READ_AUDITED = {
    "get_case": ("case", "case_id"),
    "case_timeline": ("timeline", "case_id"),
    "case_messages": ("messages", "case_id"),
    "get_request": ("request", "request_id"),
    "outgoing_letter": ("letter", "request_id"),
    "get_order": ("order", "order_id"),
    "get_disclosure_order": ("disclosure_order", "order_id"),
    "get_disclosure": ("disclosure", "disclosure_id"),
    "case_disclosures": ("disclosures", "case_id"),
    "get_production": ("production", "production_id"),
    "production_file": ("production_file", "production_id"),
    "production_package": ("production_package", "production_id"),
    "isp_order": ("provider_order", "order_id"),
    "isp_order_document": ("document", "order_id"),
    "order_document": ("document", "order_id"),
    # Lists, by the day they were read: who opened them is on record as for one case.
    "work": ("work", None),
    "inbox": ("inbox", None),
    "list_cases": ("cases", None),
    "isp_orders": ("provider_orders", None),
}
WORK_ORDER_FIELDS = (
    "order_id", "case_id", "request_id", "provider_id", "status", "drafted_by",
    "period_days", "issued_at", "expires_at", "acknowledged_at", "held_for_mla",
)  # fmt: skip
WORK_DISCLOSURE_FIELDS = (
    "order_id", "kind", "case_id", "request_id", "provider_id", "status", "drafted_by",
    "data_types", "issued_at", "due_by", "acknowledged_at", "emergency",
)  # fmt: skip
RETRY_AFTER_SECONDS = "5"  # a dependency is down: clients try again, not hang
MAX_BODY_BYTES = 2_000_000  # a request with thousands of identifiers still fits
# A request nests five levels deep; anything much deeper is hostile, and a document nested
# thousands of levels deep would exhaust the parser's (and every later walker's) recursion.
MAX_JSON_DEPTH = 64
# Routes whose bodies may be larger: a production carries up to 20 MB of files, in base64.
LARGE_BODIES = {"isp_produce": 28_000_000}
CP_ROLES = ("police", "prosecution")
# The requests a disclosure order answers, when the officer names none (issue 20).
DISCLOSURE_REQUESTS = ("subscriber_identification", "emergency_disclosure")
ALL_ROLES = ("police", "prosecution", "oversight", "admin", "isp")
SESSION_COOKIE = "cp247_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")  # change nothing: no CSRF token needed
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
HSTS = "max-age=31536000"


def _not_plain_json(document: Any, max_depth: int) -> str | None:
    """What makes parsed JSON unfit to take in, or None: nesting deeper than ``max_depth``
    arrays/objects, or a string (key or value) with a lone UTF-16 surrogate (``"\\ud800"``
    is valid JSON syntax, but no UTF-8 text, so it could be neither stored nor answered).
    Iterative, so that hostile nesting cannot exhaust the stack here either."""
    stack = [(document, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > max_depth:
            return f"the body nests deeper than {max_depth} levels"
        items = node.items() if isinstance(node, dict) else enumerate(node)
        for key, value in items:
            for text in (key, value):
                if isinstance(text, str) and not _is_utf8_text(text):
                    return "the body has a string that is not Unicode text (a lone surrogate)"
            if isinstance(value, dict | list):
                stack.append((value, depth + 1))
    return None


def _is_utf8_text(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


class CsrfTokenInvalid(Forbidden):
    """A cookie-authenticated request that changes something without its session's token."""

    code = "csrf_token_invalid"


class Backends(Protocol):
    intake: Any
    preservation: Any
    isp_liaison: Any
    mla: Any
    timeline: Any
    notification: Any
    identity: Any

    def changed(self) -> None:
        """Called after every command: the embedded mode delivers events at once."""

    def ready(self) -> dict[str, bool]: ...


def route(path: str, methods: str, roles: tuple[str, ...] | None) -> Callable[[Handler], Handler]:
    """Declare an endpoint; ``roles=None`` means no token is needed."""
    return declare("route", path, methods, roles)


class Gateway:
    def __init__(self, backends: Backends):
        self.backends = backends
        # Secure cookies need HTTPS; CP247_INSECURE_COOKIES=1 only for a laptop on plain http.
        self.secure_cookies = setting("CP247_INSECURE_COOKIES") != "1"
        # The consoles show the national local time beside UTC (the policy's zone).
        self.local_zone = national_policy(
            setting("CP247_POLICY", "police-needs-approval") or "police-needs-approval"
        ).local_time_zone
        # Whom a provider calls: the issuing authority of the orders (CP247_LETTERHEAD).
        self.letterhead = Letterhead.load(setting("CP247_LETTERHEAD"))
        # MLA follow-ups further off than this stay on their case, not on the work list.
        horizon = parse_ascii_int(setting("CP247_FOLLOW_UP_HORIZON_DAYS", "30") or "30")
        self.follow_up_horizon = timedelta(days=horizon if horizon and horizon > 0 else 30)
        self.url_map, self.handlers = route_table(self, "route")
        self.console = ConsolePages(self, self.secure_cookies)
        self._gateway_checks: dict[str, dict[str, Any]] = {}  # a finished job: its store check

    # --- plumbing ------------------------------------------------------------------------
    def wsgi(self, environ: dict, start_response: Callable) -> Any:
        return self.handle(Request(environ))(environ, start_response)

    def handle(self, request: Request, backends: Backends | None = None) -> Response:
        """Serve one request; ``backends`` overrides the default (nameko: per worker)."""
        backends = backends or self.backends
        started = time.perf_counter()
        endpoint = "unmatched"
        # Also bounds bodies sent without a Content-Length (chunked), read as they stream in:
        # reading stops one byte past the limit, which tells a body at the limit from one
        # beyond it (werkzeug would silently cut the latter short).
        request.max_content_length = MAX_BODY_BYTES + 1
        try:
            if self.console.owns(request.path):  # the browser pages, over this same API
                if UPLOAD_PATH.fullmatch(request.path):
                    request.max_content_length = LARGE_BODIES["isp_produce"] + 1
                endpoint, response = self.console.handle(request, backends)
                return self._finish(request, response, endpoint, started)
            endpoint, args = self.url_map.bind_to_environ(request.environ).match()
            request.max_content_length = LARGE_BODIES.get(endpoint, MAX_BODY_BYTES) + 1
            handler, roles = self.handlers[endpoint]
            principal = None if roles is None else self._authorise(backends, request, roles)
            result = handler(backends, request, principal, **args)
            response = result if isinstance(result, Response) else self._json(*result)
            audited = READ_AUDITED.get(endpoint)
            if audited and principal is not None and response.status_code == 200:
                what, key = audited
                subject = args[key] if key else utcnow().date().isoformat()
                target, case_id = f"{what}:{subject}", _case_read(args, result)
                backends.identity.record_read(principal, what, target, case_id)
            if request.method not in ("GET", "HEAD"):
                backends.changed()
        except DomainError as exc:
            response = self._json(exc.http_status, exc.body())
            if isinstance(exc, Unauthorized):
                response.headers["WWW-Authenticate"] = 'Bearer realm="cp247"'
            if exc.http_status == 503:
                response.headers["Retry-After"] = RETRY_AFTER_SECONDS
            if "retry_after_seconds" in exc.extra:
                response.headers["Retry-After"] = str(exc.extra["retry_after_seconds"])
        except IntegrityError:  # a command without retry_on_conflict lost a race: not a 500
            log.warning("concurrent change on %s %s", request.method, request.path)
            response = self._json(409, Conflict("changed at the same moment; try again").body())
        except PersistenceError:  # the store is down or locked: nothing was recorded, say when
            log.warning("event store unavailable on %s %s", request.method, request.path)
            response = self._json(
                503,
                {"error": "service_unavailable",
                 "message": "the records cannot be reached just now; nothing was recorded, "
                            "send it again shortly"},
            )  # fmt: skip
            response.headers["Retry-After"] = RETRY_AFTER_SECONDS
        except MethodNotAllowed as exc:
            response = self._json(405, {"error": "method_not_allowed", "message": str(exc)})
            response.headers["Allow"] = ", ".join(exc.valid_methods or [])
        except RouteNotFound:
            response = self._json(404, {"error": "not_found", "message": "no such endpoint"})
        except RequestEntityTooLarge:  # a form or a streamed body beyond MAX_BODY_BYTES
            response = self._json(413, PayloadTooLarge(_too_large(request)).body())
        except HTTPException as exc:
            response = self._json(exc.code or 400, {"error": "bad_request", "message": str(exc)})
        except Exception:
            log.exception("unhandled error on %s %s", request.method, request.path)
            response = self._json(
                500, {"error": "internal_error", "message": "an internal error was logged"}
            )
        return self._finish(request, response, endpoint, started)

    def _finish(self, request: Request, response: Response, endpoint: str, started: float):
        # Security headers on every response, whatever produced it (errors and 404s too).
        for name, value in SECURITY_HEADERS.items():
            response.headers[name] = value
        if not request.path.startswith("/static/"):  # case data must not linger in caches
            response.headers["Cache-Control"] = "no-store"
        if self.secure_cookies:  # served over HTTPS: browsers should never try plain http
            response.headers["Strict-Transport-Security"] = HSTS
        metrics.HTTP_REQUESTS.labels(endpoint, str(response.status_code)).inc()
        metrics.HTTP_SECONDS.labels(endpoint).observe(time.perf_counter() - started)
        return response

    @staticmethod
    def _pdf(document: dict[str, str]) -> Response:
        response = Response(base64.b64decode(document["pdf_b64"]), mimetype="application/pdf")
        response.headers["Content-Disposition"] = f'inline; filename="{document["number"]}.pdf"'
        return response

    @staticmethod
    def _json(status: int, body: Any) -> Response:
        return Response(
            json.dumps(body, ensure_ascii=False), status=status, mimetype="application/json"
        )

    @staticmethod
    def _credential(request: Request) -> tuple[str, bool]:
        """The caller's token and whether it came from the session cookie (a bearer header
        wins over the cookie)."""
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer":
            cookie = request.cookies.get(SESSION_COOKIE, "")
            if cookie:
                return cookie, True
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("a bearer token is required (Authorization: Bearer <token>)")
        return token.strip(), False

    @classmethod
    def _authorise(cls, backends: Backends, request: Request, roles: tuple[str, ...]) -> Principal:
        token, from_cookie = cls._credential(request)
        principal = backends.identity.authenticate(token)
        if principal is None:
            raise Unauthorized("the token is invalid, expired or revoked")
        if from_cookie and request.method not in SAFE_METHODS:
            expected = backends.identity.csrf_token(token).encode()
            presented = request.headers.get(CSRF_HEADER, "").encode("utf-8", "replace")
            if not hmac.compare_digest(expected, presented):
                raise CsrfTokenInvalid(
                    f"a request with the session cookie needs the {CSRF_HEADER} header "
                    "given at login"
                )
        if principal.role not in roles:
            raise Forbidden(f"the {principal.role} role may not do this")
        return principal

    @staticmethod
    def _raw_body(request: Request) -> bytes:
        """The body's bytes, at most :data:`MAX_BODY_BYTES` (the route's own limit in
        :data:`LARGE_BODIES`) whether or not its length was announced."""
        limit = (request.max_content_length or MAX_BODY_BYTES + 1) - 1
        too_large = _too_large(request)
        if (request.content_length or 0) > limit:
            raise PayloadTooLarge(too_large)
        try:
            data = request.get_data()
        except RequestEntityTooLarge:
            raise PayloadTooLarge(too_large) from None
        if len(data) > limit:
            raise PayloadTooLarge(too_large)
        return data

    @classmethod
    def _body_or_empty(cls, request: Request) -> dict[str, Any]:
        """A body that may be left out altogether (``{}``)."""
        return cls._body(request) if cls._raw_body(request) else {}

    @classmethod
    def _body(cls, request: Request) -> dict[str, Any]:
        data = cls._raw_body(request)
        try:
            # Strict UTF-8 (werkzeug's as_text would quietly replace bad bytes, and the API
            # would then store and answer something other than what was sent); NaN and
            # Infinity are not JSON.
            text = data.decode("utf-8")
            body = json.loads(text or "null", parse_constant=_no_constant)
        except UnicodeDecodeError:
            raise BadRequest("the body is not UTF-8") from None
        except ValueError:
            raise BadRequest("the body is not valid JSON") from None
        except RecursionError:  # thousands of nested brackets: the parser gave up
            raise BadRequest(f"the body nests deeper than {MAX_JSON_DEPTH} levels") from None
        if not isinstance(body, dict):
            raise BadRequest("the body must be a JSON object")
        problem = _not_plain_json(body, MAX_JSON_DEPTH)
        if problem:
            raise BadRequest(problem)
        return body

    # --- public --------------------------------------------------------------------------
    @route("/healthz", "GET", None)
    def healthz(self, b: Backends, request: Request, _: None) -> tuple[int, Any]:
        return 200, {"status": "ok"}

    @route("/readyz", "GET", None)
    def readyz(self, b: Backends, request: Request, _: None) -> tuple[int, Any]:
        checks = b.ready()
        # Without intake no request can be taken: not ready. Any other service down leaves
        # the consoles and the ISP API useful, so the gateway stays in service, degraded.
        if not checks.get("intake", True):
            return 503, {"status": "not_ready", "checks": checks}
        return 200, {"status": "ready" if all(checks.values()) else "degraded", "checks": checks}

    @route("/metrics", "GET", None)
    def metrics(self, b: Backends, request: Request, _: None) -> Response:
        """Prometheus samples, for the scrape token only (``CP247_METRICS_TOKEN``)."""
        return metrics.scrape(request.headers.get("Authorization"), Settings.from_env())

    @route("/api/v1/login", "POST", None)
    def login(self, b: Backends, request: Request, _: None) -> Response:
        """Password and TOTP code -> a session token for a shift (also set as a cookie) and
        the ``csrf_token`` to send as ``X-CSRF-Token`` with the cookie."""
        if cross_site(request):  # login CSRF: the victim would work in the attacker's session
            raise Forbidden("a login cannot be sent from another site")
        if request.mimetype != "application/json":  # an HTML form cannot send it cross-site
            raise UnsupportedMediaType("send the login as application/json")
        body = self._body(request)
        session = b.identity.login(
            body.get("username"), body.get("password"), body.get("totp"), client_source(request)
        )
        session["csrf_token"] = b.identity.csrf_token(session["token"])
        response = self._json(200, session)
        response.set_cookie(
            SESSION_COOKIE,
            session["token"],
            max_age=int(session["expires_in_seconds"]),
            httponly=True,
            secure=self.secure_cookies,
            samesite="Strict",
        )
        return response

    @route("/api/v1/logout", "POST", USER_ROLES)
    def logout(self, b: Backends, request: Request, who: Principal) -> Response:
        """End the session (cookie or bearer): its token is revoked and the cookie cleared."""
        token, _ = self._credential(request)
        b.identity.end_session(token)
        response = self._json(200, {"status": "logged_out"})
        response.delete_cookie(
            SESSION_COOKIE, httponly=True, secure=self.secure_cookies, samesite="Strict"
        )
        return response

    # --- accounts (admins) ---------------------------------------------------------------
    @route("/api/v1/admin/users", "GET", ("admin",))
    def list_users(self, b: Backends, request: Request, who: Principal) -> tuple[int, Any]:
        return 200, {"users": b.identity.list_users()}

    @route("/api/v1/admin/users/<username>/disable", "POST", ("admin",))
    def disable_user(self, b: Backends, request: Request, who: Principal, username: str):
        return 200, b.identity.disable_user(username, who.username)

    @route("/api/v1/admin/users/<username>/enable", "POST", ("admin",))
    def enable_user(self, b: Backends, request: Request, who: Principal, username: str):
        return 200, b.identity.enable_user(username, who.username)

    @route("/api/v1/admin/users/<username>/revoke-tokens", "POST", ("admin",))
    def revoke_user_tokens(self, b: Backends, request: Request, who: Principal, username: str):
        return 200, b.identity.revoke_all(username=username, by=who.username)

    @route("/api/v1/admin/providers/<provider_id>/revoke-tokens", "POST", ("admin",))
    def revoke_provider_tokens(
        self, b: Backends, request: Request, who: Principal, provider_id: str
    ) -> tuple[int, Any]:
        if not b.isp_liaison.has_provider(provider_id):
            raise NotFound(f"no provider {provider_id}")
        return 200, b.identity.revoke_all(provider_id=provider_id, by=who.username)

    @route("/api/v1/openapi.json", "GET", None)
    def openapi(self, b: Backends, request: Request, _: None) -> tuple[int, Any]:
        return 200, openapi_document()

    # --- requests and cases --------------------------------------------------------------
    @route("/api/v1/requests", "POST", CP_ROLES)
    def register_request(self, b: Backends, request: Request, who: Principal) -> tuple[int, Any]:
        body = self._body(request)
        custodian = (
            (body.get("data") or {}).get("custodian")
            if isinstance(body.get("data"), dict)
            else None
        )
        provider_id = custodian.get("provider_id") if isinstance(custodian, dict) else None
        listed = isinstance(provider_id, str) and b.isp_liaison.has_provider(provider_id)
        result = b.intake.register_request(body, who.actor, listed)
        created = result.pop("created")
        return (201 if created else 200), result

    @route("/api/v1/cases", "GET", CP_ROLES)
    def list_cases(self, b: Backends, request: Request, who: Principal) -> tuple[int, Any]:
        names = ("status", "type", "country", "direction", "q")
        filters = {k: request.args.get(k) for k in names}
        limit, offset = request.args.get("limit"), request.args.get("offset")
        if limit is not None:  # left out: every case, as v1 always answered
            # ASCII digits only, as for the year: int() would also take " 5", "+5" or "٥".
            count = parse_ascii_int(limit)
            if count is None or not 1 <= count <= CASE_LIST_LIMIT:
                raise Invalid(
                    f"limit must be a whole number from 1 to {CASE_LIST_LIMIT}",
                    {"limit": ["e.g. 50"]},
                )
            filters["limit"] = limit
        if offset is not None:
            skip = parse_ascii_int(offset)
            if skip is None:
                raise Invalid("offset is a whole number of cases to skip",
                              {"offset": ["e.g. 50, with limit=50"]})  # fmt: skip
            filters["offset"] = offset
        q = filters.get("q")
        if q is not None and len(q) > 200:
            raise Invalid("the search is too long", {"q": ["at most 200 characters"]})
        return 200, {"cases": b.intake.list_cases(filters)}

    @route("/api/v1/work", "GET", CP_ROLES)
    def work(self, b: Backends, request: Request, who: Principal) -> tuple[int, Any]:
        """What needs someone now: the consoles' start page (both CPs see the same)."""
        # What the duty officer needs to act, never the data ordered (the identifiers stay
        # on the case, whose every read is audited).
        orders = [{k: o.get(k) for k in WORK_ORDER_FIELDS} for o in b.preservation.open_orders()]
        running = [o for o in orders if o["status"] not in ("draft", "awaiting_approval")]
        work = {
            # P2 Art 9: emergencies still undecided, the soonest due first, on top.
            "emergencies": b.preservation.emergency_clocks(),
            "alerts": b.notification.open_alerts(),
            "awaiting_approval": [o for o in orders if o["status"] == "awaiting_approval"],
            "awaiting_acknowledgement": [o for o in orders if o["status"] == "issued"],
            "expiring": sorted(running, key=lambda o: o["expires_at"] or "")[:20],
            # Disclosure orders to approve or still unanswered, the soonest due first.
            "disclosure_orders": sorted(
                (
                    {k: o.get(k) for k in WORK_DISCLOSURE_FIELDS}
                    for o in b.preservation.open_disclosure_orders()
                ),
                key=lambda o: o["due_by"],
            ),
            # Art 30 reports nothing of which leaves until a prosecutor decides.
            "pending_disclosures": [
                {k: d[k] for k in ("disclosure_id", "kind", "case_id", "request_id", "order_id")}
                for d in b.preservation.pending_disclosures()
            ],
            # Due within the horizon (or overdue), soonest first; the others wait on the case.
            "follow_ups": [
                f
                for f in b.mla.open_follow_ups()
                if parse_iso(f["due_by"]) <= utcnow() + self.follow_up_horizon
            ],  # fmt: skip
            "flagged_cases": b.intake.list_cases({"flagged": "1"}),
            # No silent lapse: preservation requests nothing preserves yet (Art 29(2)(d)).
            "requests_without_order": b.intake.requests_needing_action()["requests_without_order"],
            # Our own requests abroad: receipts to chase, our MLA before their expiry.
            **b.mla.outgoing_clocks(),
        }
        # Every case named as people name it: our reference and the requester's.
        mentioned = {item["case_id"] for items in work.values() for item in items
                     if isinstance(item, dict) and item.get("case_id")}  # fmt: skip
        return 200, {**work, "case_names": b.intake.case_names(sorted(mentioned))}

    @route("/api/v1/cases/<case_id>", "GET", CP_ROLES)
    def get_case(
        self, b: Backends, request: Request, who: Principal, case_id: str
    ) -> tuple[int, Any]:
        case = b.intake.get_case(case_id)
        case["preservation_orders"] = b.preservation.orders_of_case(case_id)
        case["disclosure_orders"] = b.preservation.disclosure_orders_of_case(case_id)
        case["disclosures"] = b.preservation.disclosures_of_case(case_id)
        case["emergency_clocks"] = b.preservation.emergency_clocks(case_id)
        case["mla"] = b.mla.follow_ups_of_case(case_id)
        case["outgoing_follow_ups"] = b.mla.outgoing_of_case(case_id)
        return 200, case

    @route("/api/v1/cases/<case_id>/close", "POST", CP_ROLES)
    def close_case(
        self, b: Backends, request: Request, who: Principal, case_id: str
    ) -> tuple[int, Any]:
        """Close a case; 409 while any of its orders still runs or MLA is pending."""
        body = self._body(request)
        b.intake.get_case(case_id)
        running = [
            o["order_id"] for o in b.preservation.orders_of_case(case_id)
            if o["closed"] is None and o["status"] != "unavailable"
        ]  # fmt: skip
        pending = [
            m["mla_id"] for m in b.mla.mla_of_case(case_id)
            if m["status"] not in ("produced", "refused")
        ]  # fmt: skip
        # Preserved abroad and our MLA not yet sent: closing would drop that deadline.
        ours = [
            f["request_id"] for f in b.mla.outgoing_of_case(case_id)
            if f["closed"] is None and f["mla_due"] is not None
        ]  # fmt: skip
        if running or pending or ours:
            raise Conflict(
                "the case cannot close while something of it still runs: "
                + "; ".join(
                    [f"order {o} still preserves (release it or let it end)" for o in running]
                    + [f"MLA request {m} is not decided" for m in pending]
                    + [f"our MLA request is due for request {r} (preserved abroad)" for r in ours]
                ),
                extra={"running_orders": running, "pending_mla": pending, "our_mla_due": ours},
            )
        return 200, b.intake.close_case(case_id, body, who.actor)

    @route("/api/v1/cases/<case_id>/timeline", "GET", CP_ROLES)
    def case_timeline(
        self, b: Backends, request: Request, who: Principal, case_id: str
    ) -> tuple[int, Any]:
        b.intake.get_case(case_id)  # 404 for an unknown case
        try:
            return 200, b.timeline.case_timeline(case_id)
        except NotFound:  # registered a moment ago: the first entries are on their way
            return 200, {"case_id": case_id, "entries": [], "head_hash": "0" * 64}

    @route("/api/v1/cases/<case_id>/lead", "POST", CP_ROLES)
    def assign_lead(
        self, b: Backends, request: Request, who: Principal, case_id: str
    ) -> tuple[int, Any]:
        body = self._body(request)
        return 200, b.intake.assign_lead(case_id, body.get("lead"), who.actor)

    @route("/api/v1/cases/<case_id>/near-duplicates/<request_id>", "POST", CP_ROLES)
    def resolve_near_duplicate(
        self, b: Backends, request: Request, who: Principal, case_id: str, request_id: str
    ) -> tuple[int, Any]:
        resolution = self._body(request).get("resolution")
        return 200, b.intake.resolve_near_duplicate(case_id, request_id, resolution, who.actor)

    @route("/api/v1/requests/<request_id>", "GET", CP_ROLES)
    def get_request(
        self, b: Backends, request: Request, who: Principal, request_id: str
    ) -> tuple[int, Any]:
        return 200, b.intake.get_request(request_id)

    @route("/api/v1/requests/<request_id>/letter", "GET", CP_ROLES)
    def outgoing_letter(
        self, b: Backends, request: Request, who: Principal, request_id: str
    ) -> Response:
        """An outgoing preservation request as a signed PDF letter (``letter.sig``: signature)."""
        return self._pdf(b.intake.outgoing_letter(request_id))

    @route("/api/v1/requests/<request_id>/letter.sig", "GET", CP_ROLES)
    def outgoing_letter_signature(
        self, b: Backends, request: Request, who: Principal, request_id: str
    ) -> Response:
        letter = b.intake.outgoing_letter(request_id)
        return Response(letter["signature"], mimetype="application/json")

    # legal-rule: art29-5-prosecutor-decides
    @route("/api/v1/requests/<request_id>/refuse", "POST", ("prosecution",))
    def refuse_request(
        self, b: Backends, request: Request, who: Principal, request_id: str
    ) -> tuple[int, Any]:
        body = self._body(request)
        grounds = body.get("grounds")
        if not isinstance(grounds, list) or not all(isinstance(g, str) for g in grounds):
            raise Invalid("grounds must be a list", {"grounds": ["a list of grounds"]})
        explanation = body.get("explanation")
        if not isinstance(explanation, str):
            raise Invalid("explanation must be text", {"explanation": ["text"]})
        return 200, b.intake.refuse_request(request_id, grounds, explanation, who.actor)

    @route("/api/v1/requests/<request_id>/art29-6-notice", "POST", CP_ROLES)
    def art29_6_notice(
        self, b: Backends, request: Request, who: Principal, request_id: str
    ) -> tuple[int, Any]:
        body = self._body(request)
        reason, explanation = body.get("reason"), body.get("explanation")
        if not isinstance(reason, str) or not isinstance(explanation, str):
            raise Invalid(
                "reason and explanation are required",
                {"reason": ["availability|confidentiality|prejudice"], "explanation": ["text"]},
            )
        return 200, b.intake.give_art29_6_notice(request_id, reason, explanation, who.actor)

    @route("/api/v1/requests/<request_id>/art29-6-decision", "POST", CP_ROLES)
    def art29_6_decision(
        self, b: Backends, request: Request, who: Principal, request_id: str
    ) -> tuple[int, Any]:
        body = self._body(request)
        return 200, b.intake.record_art29_6_decision(
            request_id, body.get("decision"), body.get("note"), who.actor
        )

    @route("/api/v1/requests/<request_id>/withdraw", "POST", CP_ROLES)
    def withdraw_request(
        self, b: Backends, request: Request, who: Principal, request_id: str
    ) -> tuple[int, Any]:
        reason = self._body(request).get("reason")
        return 200, b.intake.withdraw_request(request_id, reason, who.actor)

    @route("/api/v1/requests/<request_id>/no-order", "POST", CP_ROLES)
    def decline_order(
        self, b: Backends, request: Request, who: Principal, request_id: str
    ) -> tuple[int, Any]:
        """Why a preservation request gets no order: no silent lapse, the reason recorded."""
        reason = self._body(request).get("reason")
        return 200, b.intake.decline_order(request_id, reason, who.actor)

    @route("/api/v1/requests/<request_id>/sent", "POST", CP_ROLES)
    def request_sent(
        self, b: Backends, request: Request, who: Principal, request_id: str
    ) -> tuple[int, Any]:
        return 200, b.intake.mark_sent(request_id, self._body(request), who.actor)

    @route("/api/v1/requests/<request_id>/foreign-receipt", "POST", CP_ROLES)
    def foreign_receipt(
        self, b: Backends, request: Request, who: Principal, request_id: str
    ) -> tuple[int, Any]:
        return 200, b.intake.record_foreign_receipt(request_id, self._body(request), who.actor)

    @route("/api/v1/requests/<request_id>/answer", "POST", CP_ROLES)
    def foreign_answer(
        self, b: Backends, request: Request, who: Principal, request_id: str
    ) -> tuple[int, Any]:
        return 200, b.intake.record_answer(request_id, self._body(request), who.actor)

    # --- directory of foreign contact points -------------------------------------------
    @route("/api/v1/providers", "GET", CP_ROLES)
    def providers(self, b: Backends, request: Request, who: Principal) -> tuple[int, Any]:
        """The provider directory: whom an order may go to (id, name, country)."""
        listed = [{k: p[k] for k in ("provider_id", "name", "country")}
                  for p in b.isp_liaison.providers()]  # fmt: skip
        return 200, {"providers": listed}

    @route("/api/v1/contact-points", "GET", (*CP_ROLES, "admin"))
    def contact_points(self, b: Backends, request: Request, who: Principal) -> tuple[int, Any]:
        country = request.args.get("country") or None
        return 200, {"contact_points": b.intake.contact_points(country)}

    @route("/api/v1/contact-points/<country>/<kind>", "GET", (*CP_ROLES, "admin"))
    def contact_point(
        self, b: Backends, request: Request, who: Principal, country: str, kind: str
    ) -> tuple[int, Any]:
        return 200, b.intake.contact_point(country, kind)

    @route("/api/v1/contact-points", "POST", (*CP_ROLES, "admin"))
    def list_contact_point(self, b: Backends, request: Request, who: Principal) -> tuple[int, Any]:
        listed = b.intake.list_contact_point(self._body(request), who.actor)
        # 202: new addresses or phones wait for another officer (four eyes); not yet in effect.
        return (202 if listed["awaiting_confirmation"] else 200), listed

    @route("/api/v1/contact-points/changes", "GET", (*CP_ROLES, "admin"))
    def contact_point_changes(
        self, b: Backends, request: Request, who: Principal
    ) -> tuple[int, Any]:
        return 200, {"changes": b.intake.contact_point_changes()}

    @route("/api/v1/contact-points/changes/<change_id>/confirm", "POST", (*CP_ROLES, "admin"))
    def confirm_contact_point_change(
        self, b: Backends, request: Request, who: Principal, change_id: str
    ) -> tuple[int, Any]:
        return 200, b.intake.confirm_contact_point_change(change_id, who.actor)

    @route("/api/v1/contact-points/changes/<change_id>/reject", "POST", (*CP_ROLES, "admin"))
    def reject_contact_point_change(
        self, b: Backends, request: Request, who: Principal, change_id: str
    ) -> tuple[int, Any]:
        return 200, b.intake.reject_contact_point_change(change_id, who.actor)

    @route("/api/v1/contact-points/import", "POST", ("admin",))
    def import_contact_points(
        self, b: Backends, request: Request, who: Principal
    ) -> tuple[int, Any]:
        try:
            text = self._raw_body(request).decode("utf-8-sig")
        except UnicodeDecodeError:
            raise BadRequest("the CSV must be UTF-8") from None
        return 200, b.intake.import_contact_points(text, who.actor)

    # --- preservation orders -------------------------------------------------------------
    @route("/api/v1/cases/<case_id>/preservation-orders", "POST", CP_ROLES)
    def create_order(
        self, b: Backends, request: Request, who: Principal, case_id: str
    ) -> tuple[int, Any]:
        body = self._body(request)
        case = b.intake.get_case(case_id)
        self._listed(b, body.get("provider_id"))
        return 201, b.preservation.create_order(
            case_id, body, who.actor, self._requests_to_cover(case, body.get("request_id"))
        )

    @staticmethod
    def _requests_to_cover(
        case: dict[str, Any], wanted: Any, types: tuple[str, ...] = ("preservation",)
    ) -> list[str]:
        """The requests an officer's order is for: the one named, else every incoming
        request of the case of one of ``types`` still open."""
        requests = case["requests"]
        if wanted is not None:
            if not any(r["request_id"] == wanted for r in requests):
                raise Invalid(
                    "the request is not one of this case's",
                    {"request_id": [f"{wanted!r} is not a request of case {case['case_id']}"]},
                )
            Gateway._may_order_for(next(r for r in requests if r["request_id"] == wanted))
            return [wanted]
        # legal-rule: outgoing-never-orders-domestically
        if case["direction"] == "outgoing" and not any(
            r["direction"] == "incoming" for r in requests
        ):
            raise Conflict(
                "an outgoing request never produces an order to a domestic provider: "
                "the foreign CP preserves"
            )
        open_requests = [
            r for r in requests
            if r["type"] in types and r["direction"] == "incoming"
            and r["status"] not in ("refused", "withdrawn", "closed")
        ]  # fmt: skip
        for wanted_request in open_requests:
            Gateway._may_order_for(wanted_request)
        return [r["request_id"] for r in open_requests]

    # --- disclosure orders (issue 20) -------------------------------------------------------
    @route("/api/v1/cases/<case_id>/disclosure-orders", "POST", CP_ROLES)
    def create_disclosure_order(
        self, b: Backends, request: Request, who: Principal, case_id: str
    ) -> tuple[int, Any]:
        body = self._body(request)
        case = b.intake.get_case(case_id)
        self._listed(b, body.get("provider_id"))
        answers = self._requests_to_cover(case, body.get("request_id"), DISCLOSURE_REQUESTS)
        if len(answers) > 1:  # each requesting Party's request is answered on its own
            raise Invalid(
                "the case has several requests this order could answer: name one",
                {"request_id": [f"one of {', '.join(answers)}"]},
            )
        return 201, b.preservation.create_disclosure_order(case_id, body, who.actor, answers)

    @route("/api/v1/disclosure-orders/<order_id>", "GET", CP_ROLES)
    def get_disclosure_order(
        self, b: Backends, request: Request, who: Principal, order_id: str
    ) -> tuple[int, Any]:
        return 200, b.preservation.get_disclosure_order(order_id)

    @route("/api/v1/disclosure-orders/<order_id>/approve", "POST", ("prosecution",))
    def approve_disclosure_order(
        self, b: Backends, request: Request, who: Principal, order_id: str
    ) -> tuple[int, Any]:
        order = b.preservation.get_disclosure_order(order_id)
        if order["request_id"]:
            self._may_order_for(b.intake.get_request(order["request_id"]))
        return 200, b.preservation.approve_disclosure_order(order_id, who.actor)

    @staticmethod
    def _listed(b: Backends, provider_id: Any) -> None:
        """An order names a provider of the directory: a mistyped id is the caller's 422."""
        if isinstance(provider_id, str) and not b.isp_liaison.has_provider(provider_id):
            raise Invalid(
                "the provider is not in the directory",
                {"provider_id": [f"{provider_id!r} is not in the provider directory"]},
            )

    @route("/api/v1/preservation-orders/<order_id>", "GET", CP_ROLES)
    def get_order(
        self, b: Backends, request: Request, who: Principal, order_id: str
    ) -> tuple[int, Any]:
        order = b.preservation.get_order(order_id)
        order["mla"] = [
            m for m in b.mla.mla_of_case(order["case_id"]) if order_id in m["order_ids"]
        ]
        order["mla_follow_up"] = [
            f for f in b.mla.follow_ups_of_case(order["case_id"]) if f["order_id"] == order_id
        ]
        return 200, order

    @route("/api/v1/preservation-orders/<order_id>/document", "GET", CP_ROLES)
    def order_document(
        self, b: Backends, request: Request, who: Principal, order_id: str
    ) -> Response:
        """The signed order exactly as the provider received it (404 until delivered)."""
        order = b.preservation.get_order(order_id)
        return self._pdf(b.isp_liaison.document(order["provider_id"], order_id))

    @route("/api/v1/preservation-orders/<order_id>/extend", "POST", CP_ROLES)
    def extend_order(
        self, b: Backends, request: Request, who: Principal, order_id: str
    ) -> tuple[int, Any]:
        days = self._body(request).get("days")
        return 200, b.preservation.extend_order(order_id, days, who.actor)

    @route("/api/v1/preservation-orders/<order_id>/release", "POST", CP_ROLES)
    def release_order(
        self, b: Backends, request: Request, who: Principal, order_id: str
    ) -> tuple[int, Any]:
        reason = self._body(request).get("reason")
        order = b.preservation.get_order(order_id)
        # legal-rule: art29-7-release-held (asked of mla too: its hold may still be on its way)
        pending = [
            m["mla_id"] for m in b.mla.mla_of_case(order["case_id"])
            if m["direction"] == "incoming" and m["status"] in ("received", "executing")
            and (order_id in m["order_ids"] or not m["order_ids"])
        ]  # fmt: skip
        if pending and order["closed"] is None:
            raise Conflict(
                f"Art 29(7): an MLA request for these data is pending ({', '.join(pending)}); "
                "the preservation continues until it is decided"
            )
        return 200, b.preservation.release_order(order_id, reason, who.actor)

    # --- MLA -----------------------------------------------------------------------------
    @route("/api/v1/cases/<case_id>/mla", "POST", CP_ROLES)
    def record_mla(self, b: Backends, request: Request, who: Principal, case_id: str):
        body = self._body(request)
        b.intake.get_case(case_id)  # 404 for an unknown case
        named = body.get("request_id")
        if isinstance(named, str) and named:
            try:
                joined = b.intake.get_request(named)["case_id"]
            except NotFound:
                joined = None
            if joined != case_id:
                raise Invalid("the MLA request is not valid",
                              {"request_id": ["a request of this case"]})  # fmt: skip
        return 201, b.mla.record_mla(case_id, body, who.actor)

    @route("/api/v1/cases/<case_id>/mla", "GET", CP_ROLES)
    def case_mla(self, b: Backends, request: Request, who: Principal, case_id: str):
        b.intake.get_case(case_id)
        return 200, {"mla": b.mla.mla_of_case(case_id)}

    @route("/api/v1/mla/<mla_id>", "GET", CP_ROLES)
    def get_mla(self, b: Backends, request: Request, who: Principal, mla_id: str):
        return 200, b.mla.get_mla(mla_id)

    @route("/api/v1/mla/<mla_id>/status", "POST", CP_ROLES)
    def mla_status(self, b: Backends, request: Request, who: Principal, mla_id: str):
        body = self._body(request)
        produced = body.get("production_ids")
        if isinstance(produced, list) and produced:
            case_id = b.mla.get_mla(mla_id)["case_id"]
            cases = b.isp_liaison.production_cases([p for p in produced if isinstance(p, str)])
            if len(cases) != len(produced) or set(cases.values()) != {case_id}:
                raise Invalid(
                    "the status is not valid",
                    {"production_ids": ["each a production of the MLA request's case"]},
                )
        return 200, b.mla.change_status(mla_id, body, who.actor)

    @route("/api/v1/mla/<mla_id>/authorisation", "POST", CP_ROLES)
    def mla_authorisation(self, b: Backends, request: Request, who: Principal, mla_id: str):
        return 200, b.mla.authorise(mla_id, self._body(request), who.actor)

    @route("/api/v1/preservation-orders/<order_id>/approve", "POST", ("prosecution",))
    def approve_order(
        self, b: Backends, request: Request, who: Principal, order_id: str
    ) -> tuple[int, Any]:
        order = b.preservation.get_order(order_id)
        for request_id in order.get("request_ids") or []:
            self._may_order_for(b.intake.get_request(request_id))
        return 200, b.preservation.approve_order(order_id, who.actor)

    @staticmethod
    def _may_order_for(wanted: dict[str, Any]) -> None:
        """Art 29(6) and decisions take effect at once here too (preservation learns them by
        event as well): no new order for a request that waits or has ended."""
        # legal-rule: art29-6-no-new-order
        if wanted["status"] == "awaiting_requester":
            raise Conflict(
                "Art 29(6): the requesting Party was told preservation may not do; nothing "
                "new is issued until its decision is recorded"
            )
        if wanted["status"] in ("refused", "withdrawn", "closed"):
            raise Conflict(f"request {wanted['request_id']} is {wanted['status']}")

    # --- duty officers: inbox and alerts ----------------------------------------------------
    @route("/api/v1/inbox", "GET", CP_ROLES)
    def inbox(self, b: Backends, request: Request, who: Principal) -> tuple[int, Any]:
        return 200, {"messages": b.notification.inbox()}

    @route("/api/v1/cases/<case_id>/messages", "GET", CP_ROLES)
    def case_messages(self, b: Backends, request: Request, who: Principal, case_id: str):
        b.intake.get_case(case_id)
        return 200, {"messages": b.notification.messages_of_case(case_id)}

    @route("/api/v1/alerts", "GET", CP_ROLES)
    def alerts(self, b: Backends, request: Request, who: Principal) -> tuple[int, Any]:
        return 200, {"alerts": b.notification.open_alerts()}

    @route("/api/v1/alerts/<alert_id>/acknowledge", "POST", CP_ROLES)
    def acknowledge_alert(self, b: Backends, request: Request, who: Principal, alert_id: str):
        return 200, b.notification.acknowledge_alert(alert_id, who.username, "console")

    @route("/api/v1/alerts/ack", "GET", None)
    def alert_link(self, b: Backends, request: Request, _: None) -> Response:
        """The link in an alert e-mail (the signed token is the credential). Opening it takes
        nothing: mail scanners fetch (GET, HEAD) every link of a message, which would take
        the alert and stop its escalation. The page's button POSTs the token."""
        token = request.args.get("token") or ""
        try:
            alert = b.notification.alert_link(token)
        except NotFound:
            return alert_page(None, None, 404)
        return alert_page(token, alert)

    @route("/api/v1/alerts/ack", "POST", None)
    def acknowledge_by_link(self, b: Backends, request: Request, _: None) -> Any:
        """The button of the link's page (a form), or a client sending ``{"token"}``."""
        as_json = request.mimetype == "application/json" or _prefers_json(request)
        if request.mimetype == "application/json":
            token = self._body(request).get("token")
        else:
            token = urllib.parse.parse_qs(self._raw_body(request).decode("utf-8", "replace"))
            token = (token.get("token") or [""])[0]
        token = token if isinstance(token, str) else ""
        try:
            alert = b.notification.acknowledge_by_link(token)
        except NotFound:
            if as_json:
                raise
            return alert_page(None, None, 404)
        return (200, alert) if as_json else alert_page(token, alert)

    # --- oversight -------------------------------------------------------------------------
    @route("/api/v1/stats", "GET", ("oversight", "admin"))
    def stats(self, b: Backends, request: Request, who: Principal) -> tuple[int, Any]:
        """Aggregates only: no case ids, names or identifiers. A year (``?year=``), or any
        run of months (``?from=2026-01&to=2026-06``, both included)."""
        if "from" in request.args or "to" in request.args:
            first, last = _period(request.args.get("from"), request.args.get("to"))
            return 200, b.timeline.period_statistics(first, last)
        text = request.args.get("year", str(utcnow().year))  # left out: this year
        # ASCII digits only: str.isdigit() is also true of "²", which int() refuses.
        year = parse_ascii_int(text)
        if year is None or not 1990 <= year <= 2100:
            raise Invalid("year must be a calendar year", {"year": ["e.g. 2026"]})
        return 200, b.timeline.statistics(year)

    @route("/api/v1/audit/reads", "GET", ("admin",))
    def audit_reads(self, b: Backends, request: Request, who: Principal) -> tuple[int, Any]:
        """Who read what: ``?target=case:<id>`` (also timeline:, request:, order:, document:;
        lists by the day: work:<YYYY-MM-DD>, inbox:, cases:, provider_orders:)."""
        target = request.args.get("target") or ""
        what, _, key = target.partition(":")
        if what not in {w for w, _ in READ_AUDITED.values()} or not key:
            raise Invalid("name the target, e.g. case:<case_id>", {"target": ["what:id"]})
        return 200, {"target": target, "reads": b.identity.reads(target)}

    @route("/api/v1/audit/read-figures", "GET", ("admin", "oversight"))
    def audit_read_figures(self, b: Backends, request: Request, who: Principal) -> tuple[int, Any]:
        """The read audit as figures, per user and month (``?from=YYYY-MM&to=YYYY-MM``, both
        included; left out: this month): reads, reads outside the user's duty hours, reads of
        cases the user has no part in. No case id: oversight sees no case."""
        this_month = utcnow().strftime("%Y-%m")
        first, last = _period(request.args.get("from", this_month), request.args.get("to"))
        return 200, b.identity.read_figures(first, last, b.timeline.participants)

    @route("/api/v1/audit/verify", "GET", ("admin", "oversight"))
    def audit_verify(self, b: Backends, request: Request, who: Principal) -> tuple[int, Any]:
        """Recompute the timeline from the event stores, cross-check each producer's events of
        each case against the timeline's tally, verify the sealed stores (the timeline's; the
        gateway's: users, tokens, sessions, the read audit); ``ok`` false names the first
        break of each. Case ids only for an admin: oversight sees no case."""
        report = b.timeline.audit_verify(name_cases=who.role == "admin")
        return 200, combine(report, gateway_store=b.identity.ledger.check(incremental=True))

    @route("/api/v1/audit/anchors", "POST", ("admin",))
    def anchor(self, b: Backends, request: Request, who: Principal) -> tuple[int, Any]:
        """Anchor the audit head now (it is also done daily): signed with the documents key,
        appended to the anchor file, e-mailed to the oversight body; ``201`` with the line."""
        return 201, b.timeline.anchor()

    @route("/api/v1/audit/verifications", "POST", ("admin", "oversight"))
    def request_verification(
        self, b: Backends, request: Request, who: Principal
    ) -> tuple[int, Any]:
        """A full re-verification from every producer's first event, as a background job:
        ``202`` with its id; follow it at ``GET /api/v1/audit/verifications/{id}``."""
        job = b.timeline.request_verification(who.username, who.role == "admin")
        return 202, job

    @route("/api/v1/audit/verifications/<verification_id>", "GET", ("admin", "oversight"))
    def verification(
        self, b: Backends, request: Request, who: Principal, verification_id: str
    ) -> tuple[int, Any]:
        """Progress (done, total, percent, ETA) and, once done, the report; the gateway's own
        store is verified in full when the job's report is first shown here."""
        job = b.timeline.verification(verification_id)
        if job["status"] == "done" and job["result"] is not None:
            kept = self._gateway_checks.get(verification_id)
            if kept is None:
                kept = self._gateway_checks[verification_id] = b.identity.ledger.check()
            job["result"] = combine(job["result"], gateway_store=kept)
            if who.role != "admin":  # oversight sees no case, whoever asked
                job["result"].get("producers", {}).get("first_mismatch", {}).pop("case_id", None)
        return 200, job

    # --- ISP liaison ---------------------------------------------------------------------
    @route("/api/v1/isp/orders", "GET", ("isp",))
    def isp_orders(self, b: Backends, request: Request, who: Principal) -> tuple[int, Any]:
        status = request.args.get("status") or None
        return 200, {"orders": b.isp_liaison.list_orders(who.provider_id, status)}

    @route("/api/v1/isp/orders/<order_id>", "GET", ("isp",))
    def isp_order(
        self, b: Backends, request: Request, who: Principal, order_id: str
    ) -> tuple[int, Any]:
        return 200, b.isp_liaison.get_order(who.provider_id, order_id)

    @route("/api/v1/isp/orders/<order_id>/document", "GET", ("isp",))
    def isp_order_document(
        self, b: Backends, request: Request, who: Principal, order_id: str
    ) -> Response:
        """The signed order as PDF; its detached signature is at ``document.sig``."""
        return self._pdf(b.isp_liaison.document(who.provider_id, order_id))

    @route("/api/v1/isp/orders/<order_id>/document.sig", "GET", ("isp",))
    def isp_order_signature(
        self, b: Backends, request: Request, who: Principal, order_id: str
    ) -> Response:
        document = b.isp_liaison.document(who.provider_id, order_id)
        return Response(document["signature"], mimetype="application/json")

    @route("/api/v1/isp/orders/<order_id>/preserved", "POST", ("isp",))
    def isp_preserved(self, b: Backends, request: Request, who: Principal, order_id: str):
        body = self._body_or_empty(request)
        return 200, b.isp_liaison.report_preserved(who.provider_id, order_id, body, who.actor)

    @route("/api/v1/isp/orders/<order_id>/unavailable", "POST", ("isp",))
    def isp_unavailable(self, b: Backends, request: Request, who: Principal, order_id: str):
        body = self._body(request)
        return 200, b.isp_liaison.report_unavailable(who.provider_id, order_id, body, who.actor)

    @route("/api/v1/isp/orders/<order_id>/produce", "POST", ("isp",))
    def isp_produce(self, b: Backends, request: Request, who: Principal, order_id: str):
        """Files for a disclosure order (API.md: up to 20 MB a call); their bytes are sealed
        under the case key before they cross to isp_liaison."""
        body = self._body(request)
        order = b.isp_liaison.get_order(who.provider_id, order_id)  # another's order: 404
        return 201, b.isp_liaison.produce(
            who.provider_id, order_id, _sealed_files(b, order["case_id"], body), who.actor
        )

    # --- productions, for officers (issue 20) ---------------------------------------------
    @route("/api/v1/productions/<production_id>", "GET", CP_ROLES)
    def get_production(self, b: Backends, request: Request, who: Principal, production_id: str):
        return 200, b.isp_liaison.production(production_id)

    @route("/api/v1/productions/<production_id>/files/<name>", "GET", CP_ROLES)
    def production_file(
        self, b: Backends, request: Request, who: Principal, production_id: str, name: str
    ) -> Response:
        produced = b.isp_liaison.production_file(production_id, name, who.actor)
        response = Response(base64.b64decode(produced["content_base64"]))
        response.headers["Content-Type"] = produced["media_type"]
        response.headers["Content-Disposition"] = f'attachment; filename="{produced["name"]}"'
        response.headers["X-Content-SHA256"] = produced["sha256"]
        response.audit_case_id = produced["case_id"]  # type: ignore[attr-defined]
        return response

    @route("/api/v1/productions/<production_id>/package", "GET", CP_ROLES)
    def production_package(
        self, b: Backends, request: Request, who: Principal, production_id: str
    ) -> Response:
        """The production for a court: a ZIP of its files, a manifest with their SHA-256 and
        the case's timeline, signed (``cp247 documents verify``); the export is recorded."""
        production = b.isp_liaison.production(production_id)
        timeline = b.timeline.case_timeline(production["case_id"])
        package = b.isp_liaison.production_package(production_id, timeline, who.actor)
        response = Response(base64.b64decode(package["content_base64"]))
        response.headers["Content-Type"] = "application/zip"
        response.headers["Content-Disposition"] = f'attachment; filename="{package["filename"]}"'
        response.headers["X-Content-SHA256"] = package["sha256"]
        response.audit_case_id = package["case_id"]  # type: ignore[attr-defined]
        return response

    # --- what leaves for the requesting Party (issue 20) ----------------------------------
    @route("/api/v1/requests/<request_id>/disclosures", "POST", ("prosecution",))
    def send_disclosure(
        self, b: Backends, request: Request, who: Principal, request_id: str
    ) -> tuple[int, Any]:
        """Productions to the requesting Party, under conditions (Art 28(2), P2 Art 9(6));
        the request's state is asked of intake, which decides it."""
        body = self._body(request)
        wanted = b.intake.get_request(request_id)
        return 201, b.preservation.send_disclosure(wanted, body, who.actor)

    @route("/api/v1/cases/<case_id>/disclosures", "GET", CP_ROLES)
    def case_disclosures(
        self, b: Backends, request: Request, who: Principal, case_id: str
    ) -> tuple[int, Any]:
        b.intake.get_case(case_id)  # an unknown case: 404
        return 200, {"disclosures": b.preservation.disclosures_of_case(case_id)}

    @route("/api/v1/disclosures/<disclosure_id>", "GET", CP_ROLES)
    def get_disclosure(
        self, b: Backends, request: Request, who: Principal, disclosure_id: str
    ) -> tuple[int, Any]:
        return 200, b.preservation.get_disclosure(disclosure_id)

    @route("/api/v1/disclosures/<disclosure_id>/approve", "POST", ("prosecution",))
    def approve_disclosure(
        self, b: Backends, request: Request, who: Principal, disclosure_id: str
    ) -> tuple[int, Any]:
        """Art 30: the provider's report leaves, as it is or edited down."""
        body = self._body_or_empty(request)
        pending = b.preservation.get_disclosure(disclosure_id)
        wanted = b.intake.get_request(pending["request_id"])
        return 200, b.preservation.approve_disclosure(disclosure_id, wanted, body, who.actor)

    @route("/api/v1/disclosures/<disclosure_id>/withhold", "POST", ("prosecution",))
    def withhold_disclosure(
        self, b: Backends, request: Request, who: Principal, disclosure_id: str
    ) -> tuple[int, Any]:
        body = self._body(request)
        return 200, b.preservation.withhold_disclosure(disclosure_id, body, who.actor)

    @route("/api/v1/isp/orders/<order_id>/foreign-provider", "POST", ("isp",))
    def isp_foreign_provider(self, b: Backends, request: Request, who: Principal, order_id: str):
        body = self._body(request)
        report = b.isp_liaison.report_foreign_provider
        return 200, report(who.provider_id, order_id, body, who.actor)

    @route("/api/v1/isp/orders/<order_id>/acknowledge", "POST", ("isp",))
    def isp_acknowledge(
        self, b: Backends, request: Request, who: Principal, order_id: str
    ) -> tuple[int, Any]:
        return 200, b.isp_liaison.acknowledge(who.provider_id, order_id, who.actor)


def _prefers_json(request: Request) -> bool:
    accepted = request.accept_mimetypes
    return accepted["application/json"] > accepted["text/html"]


MONTH = re.compile(r"(19[9][0-9]|20[0-9][0-9]|2100)-(0[1-9]|1[0-2])")  # fullmatch
MAX_PERIOD_MONTHS = 120


def _case_read(args: dict[str, Any], result: Any) -> str | None:
    """The case whose records a read showed: named in the path, else in the JSON answer (a
    request, an order, a letter); None for lists and documents."""
    case_id = args.get("case_id") or getattr(result, "audit_case_id", None)
    if case_id is None and isinstance(result, tuple) and isinstance(result[1], dict):
        case_id = result[1].get("case_id")
    return case_id if isinstance(case_id, str) else None


def _sealed_files(b: Backends, case_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """A production's body with each file's bytes sealed under the case key (the gateway
    shares the vault with isp_liaison), so that no file crosses the broker in clear."""
    seal = getattr(b.identity, "sealed_arguments", None)
    files = body.get("files")
    if seal is None or not isinstance(files, list):
        return body
    sealed = [
        {**f, "content_base64": seal.seal(case_id, PRODUCED_CONTENT, f["content_base64"])}
        if isinstance(f, dict) and isinstance(f.get("content_base64"), str)
        else f
        for f in files
    ]
    return {**body, "files": sealed}


def _period(first: str | None, last: str | None) -> tuple[str, str]:
    """``from`` and ``to`` as months (``YYYY-MM``, ASCII digits, 1990 to 2100); ``to`` left
    out: the current month; at most ten years."""
    last = last if last is not None else utcnow().strftime("%Y-%m")
    problems = {
        name: ["a month, e.g. 2026-01"]
        for name, value in (("from", first), ("to", last))
        if not isinstance(value, str) or not MONTH.fullmatch(value)
    }
    if problems:
        raise Invalid("name the period in months", problems)
    span = (int(last[:4]) - int(first[:4])) * 12 + int(last[5:]) - int(first[5:])
    if span < 0:
        raise Invalid("the period ends before it begins", {"to": ["not before from"]})
    if span >= MAX_PERIOD_MONTHS:
        raise Invalid("a period of at most ten years", {"to": ["within 120 months of from"]})
    return first, last


def _too_large(request: Request) -> str:
    limit = (request.max_content_length or MAX_BODY_BYTES + 1) - 1
    return f"the body is larger than {limit / 1_000_000:g} MB"
