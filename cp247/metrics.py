"""Prometheus metrics, defined once at import time (a second registration would raise)."""

from __future__ import annotations

import hmac
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest
from werkzeug.wrappers import Response

REQUESTS_REGISTERED = Counter(
    "cp247_requests_registered_total",
    "Requests registered at intake",
    ["type", "direction", "country"],
)
DUPLICATES_DETECTED = Counter(
    "cp247_duplicate_requests_total", "Requests recognised as already registered", ["type"]
)
EVENTS_PUBLISHED = Counter(
    "cp247_events_published_total", "Contract events relayed from the outbox", ["service"]
)
MESSAGES_PUBLISHED = Counter(
    "cp247_messages_published_total",
    "Broker messages the relay published (each carries a run of outbox events)",
    ["service"],
)
MESSAGES_DELIVERED = Counter(
    "cp247_messages_delivered_total",
    "Broker messages a consumer received from an upstream",
    ["service", "upstream"],
)
EVENTS_PROCESSED = Counter(
    "cp247_events_processed_total", "Upstream events applied", ["service", "event"]
)
EVENTS_DUPLICATE = Counter(
    "cp247_events_redelivered_total",
    "Upstream events received again and ignored",
    ["service", "upstream"],
)
EVENTS_GAP = Counter(
    "cp247_event_gaps_total", "Gaps in an upstream's notification ids", ["service", "upstream"]
)
EVENTS_DEFERRED = Counter(
    "cp247_events_deferred_total",
    "Pushed events left to the catch-up because their upstream was busy for over a second",
    ["service", "upstream"],
)
BATCH_SETBACKS = Counter(
    "cp247_batch_setbacks_total",
    "Batches of upstream events decided again after a concurrent writer (retried) or applied "
    "one event at a time after a failure (one_by_one)",
    ["service", "setback"],
)
DEAD_LETTERS = Counter(
    "cp247_dead_letters_total", "Messages rejected by the event contract", ["service"]
)
HANDLER_SECONDS = Histogram(
    "cp247_event_handler_seconds", "Time to apply one upstream event", ["service", "upstream"]
)
HTTP_REQUESTS = Counter(
    "cp247_http_requests_total", "HTTP requests by route and status", ["route", "status"]
)
HTTP_SECONDS = Histogram("cp247_http_request_seconds", "HTTP request latency", ["route"])

# Queue lag: an upstream's published position minus a consumer's applied position (both are
# notification ids, so the difference is a number of events; see infra/grafana).
OUTBOX_PUBLISHED_POSITION = Gauge(
    "cp247_outbox_published_position",
    "Notification id of the last event the outbox relay published (broker confirmed)",
    ["service"],
)
INBOX_POSITION = Gauge(
    "cp247_inbox_position",
    "Notification id of the last upstream event applied (the tracking position)",
    ["service", "upstream"],
)
WEBHOOK_ATTEMPTS = Counter(
    "cp247_webhook_attempts_total",
    "Webhook delivery attempts by outcome: delivered, retry (scheduled again), failed (gave up)",
    ["outcome"],
)
LOGIN_FAILURES = Counter("cp247_login_failures_total", "Failed logins (any reason)")
LOGIN_BURSTS = Counter(
    "cp247_login_bursts_total",
    "Bursts of failed logins (20 within 15 minutes) from one source or for one account",
    ["kind"],
)

# --- the scrape endpoint ---------------------------------------------------------------------
# Per-country counters say where requests come from: /metrics is for the operator's Prometheus
# only. Without CP247_METRICS_TOKEN it is not served at all (404, as if it did not exist); with
# one, a scrape must send ``Authorization: Bearer <token>`` (else 401).
SCRAPE_REALM = 'Bearer realm="cp247 metrics"'


def scrape_allowed(authorization: str | None, token: str | None) -> bool:
    """Whether ``authorization`` (the header's value) carries ``token``, compared in constant
    time; never with no token configured."""
    if not token:
        return False
    scheme, _, given = (authorization or "").partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(given.strip().encode("utf-8"), token.encode("utf-8"))


def scrape(authorization: str | None, settings: Any) -> Response:
    """The answer to ``GET /metrics`` (gateway and every service) for ``settings``
    (``cp247.config.Settings``): the samples, 401 without the token, 404 without one set."""
    token = settings.metrics_token
    if not token:
        return Response("not found\n", status=404, mimetype="text/plain")
    if not scrape_allowed(authorization, token):
        response = Response("the scrape token is missing or wrong\n", status=401)
        response.headers["WWW-Authenticate"] = SCRAPE_REALM
        return response
    return Response(generate_latest(), mimetype=CONTENT_TYPE_LATEST)
