"""Prometheus metrics, defined once at import time (a second registration would raise)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

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
