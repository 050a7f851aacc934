"""Prometheus metrics, defined once at import time (a second registration would raise)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

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
