"""The nameko side of the distributed mode, shared by every service (never copied).

A service process holds one eventsourcing application (:class:`ApplicationProvider`), relays
its outbox to RabbitMQ with publisher confirms (:class:`OutboxRelay`), and applies upstream
events through the same :class:`~cp247.runtime.inbox.Inbox` as the embedded mode, pulling
from the producer over RPC when it sees a gap or when the catch-up timer finds it behind.
Domain code never imports this module.
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from typing import Any

import eventlet
from kombu import Exchange, Queue
from nameko.amqp.publish import Publisher
from nameko.events import SERVICE_POOL, EventHandler
from nameko.exceptions import RemoteError, get_module_path
from nameko.exceptions import registry as remote_errors
from nameko.extensions import DependencyProvider
from nameko.rpc import rpc
from nameko.timer import timer
from nameko.web.handlers import http
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from werkzeug.wrappers import Response

from cp247 import errors, log_redaction, metrics
from cp247.bootstrap import make_application
from cp247.config import Settings
from cp247.runtime.inbox import Inbox

log = logging.getLogger(__name__)

# Domain errors cross RPC as themselves (nameko rebuilds registered exceptions by path).
for _cls in errors.ALL:
    remote_errors[get_module_path(_cls)] = _cls

log_redaction.install()  # every service process: no capability or token in access logs

ALL_EVENTS = "#"  # topic binding: a consumer needs every notification id to see gaps
# Every queue cp247 declares is a quorum queue (replicated, durable, never exclusive or
# auto-deleted). infra/rabbitmq/definitions.json declares the same queues with the same
# arguments: RabbitMQ refuses (406 PRECONDITION_FAILED) a declaration that differs.
QUORUM = {"x-queue-type": "quorum"}
DEAD_LETTER_EXCHANGE = Exchange("cp247.dead-letter", type="fanout", durable=True)
DEAD_LETTER_QUEUE = Queue(
    "cp247.dead-letter",
    exchange=DEAD_LETTER_EXCHANGE,
    durable=True,
    auto_delete=False,
    queue_arguments=QUORUM,
)
RPC_TIMEOUT_SECONDS = 15


def event_exchange(service: str) -> Exchange:
    """Exactly as nameko declares it, or RabbitMQ answers 406 PRECONDITION_FAILED."""
    return Exchange(f"{service}.events", type="topic", durable=True, auto_delete=False)


class QuorumEventHandler(EventHandler):
    """nameko's event handler, its queue a quorum queue shared by every replica.

    Service-pool handlers only: the queue is named ``evt-<source>-<event>--<service>.<method>``
    after the service, not the process, so the replicas of a service compete for its
    messages (each message goes to one of them) and the queue outlives them all.
    """

    def __init__(self, source_service: str, event_type: str, **kwargs: Any):
        if kwargs.get("handler_type", SERVICE_POOL) != SERVICE_POOL:
            raise ValueError("cp247 consumers are service pools (one queue per service)")
        if kwargs.get("reliable_delivery") is False:
            raise ValueError("quorum queues cannot be auto-deleted: keep reliable delivery")
        super().__init__(source_service, event_type, **kwargs)

    def setup(self) -> None:
        super().setup()  # names and binds the queue, then registers with the queue consumer
        queue = self.queue  # read only when the consumer connects: replace it before start
        self.queue = Queue(
            queue.name,
            exchange=queue.exchange,
            routing_key=queue.routing_key,
            durable=True,
            auto_delete=False,
            exclusive=False,
            queue_arguments=QUORUM,
        )


event_handler = QuorumEventHandler.decorator


class ApplicationProvider(DependencyProvider):
    """The service's eventsourcing application, one per process, plus per-upstream locks."""

    def __init__(self, name: str):
        self.name = name
        self.app: Any = None
        self.locks: dict[str, threading.Lock] = defaultdict(threading.Lock)
        self.inboxes: dict[str, Inbox] = {}

    def setup(self) -> None:
        self.app = make_application(self.name, Settings.from_env())

    def stop(self) -> None:
        if self.app is not None:
            self.app.close()

    def get_dependency(self, worker_ctx: Any) -> Any:
        return self


class OutboxRelay(DependencyProvider):
    """Publishes what the application recorded, in order, after it is recorded.

    A position is saved only after the broker confirmed the messages, so a crash can publish
    a message twice (consumers ignore it) but never lose one.
    """

    idle_seconds = 0.5
    batch = 200

    def __init__(self, provider_attr: str = "application"):
        self.provider_attr = provider_attr
        self._wake = eventlet.event.Event()
        self._running = False

    def setup(self) -> None:
        service = self.container.service_name
        self.exchange = event_exchange(service)
        self.publisher = Publisher(
            self.container.config["AMQP_URI"],
            use_confirms=True,
            serializer="json",
            declare=[self.exchange],
            retry=True,
            retry_policy={"max_retries": 3, "interval_start": 0.2, "interval_step": 0.5},
        )
        self.dead_letters = AmqpDeadLetters(self.container.config["AMQP_URI"])

    def start(self) -> None:
        self._running = True
        self._thread = self.container.spawn_managed_thread(self._loop)

    def stop(self) -> None:
        self._running = False
        self.kick()
        with eventlet.Timeout(5, False):
            self._thread.wait()

    def kick(self) -> None:
        if not self._wake.ready():
            self._wake.send(True)

    def _application(self) -> Any:
        # The class attribute is only a prototype; the container holds the bound copy.
        for dependency in self.container.dependencies:
            if dependency.attr_name == self.provider_attr:
                return dependency.app
        raise LookupError(f"no {self.provider_attr} dependency on this service")

    def _loop(self) -> None:
        while self._running:
            with eventlet.Timeout(self.idle_seconds, False):
                self._wake.wait()
            self._wake = eventlet.event.Event()
            if not self._running:
                return
            try:
                self.flush()
            except Exception:
                log.exception("outbox relay failed; retrying")
                eventlet.sleep(1.0)

    def flush(self) -> int:
        app = self._application()
        published = 0
        while True:
            position = app.relay_position()
            metrics.OUTBOX_PUBLISHED_POSITION.labels(app.name).set(position)
            messages = app.outbox(position + 1, self.batch)
            if not messages:
                return published
            for message in messages:
                self.publisher.publish(
                    message,
                    exchange=self.exchange,
                    routing_key=message["event"],
                    headers={"cp247-notification-id": message["notification_id"]},
                )
            app.record_relay_position(messages[-1]["notification_id"])
            metrics.EVENTS_PUBLISHED.labels(app.name).inc(len(messages))
            published += len(messages)

    def get_dependency(self, worker_ctx: Any) -> OutboxRelay:
        return self


class AmqpDeadLetters:
    """Distributed mode: rejected messages go to the durable ``cp247.dead-letter`` queue."""

    def __init__(self, amqp_uri: str):
        self.publisher = Publisher(
            amqp_uri,
            use_confirms=True,
            serializer="json",
            declare=[DEAD_LETTER_EXCHANGE, DEAD_LETTER_QUEUE],
        )

    def __call__(self, body: Any, reason: str, consumer: str) -> None:
        log.error("dead-lettered for %s: %s", consumer, reason)
        metrics.DEAD_LETTERS.labels(consumer).inc()
        self.publisher.publish(
            {"consumer": consumer, "reason": reason, "body": body},
            exchange=DEAD_LETTER_EXCHANGE,
            routing_key="",
        )


# Errors of a service's event store (eventsourcing's names) that mean "try again later".
STORE_UNAVAILABLE = frozenset({"OperationalError", "InterfaceError", "PoolTimeout"})


class TimedProxy:
    """An RPC proxy whose calls fail with ``ServiceUnavailable`` instead of hanging."""

    def __init__(self, proxy: Any, service: str, timeout: float = RPC_TIMEOUT_SECONDS):
        self._proxy, self._service, self._timeout = proxy, service, timeout

    def __getattr__(self, method: str) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            try:
                with eventlet.Timeout(self._timeout):
                    return getattr(self._proxy, method)(*args, **kwargs)
            except eventlet.Timeout:
                raise ServiceUnavailable(f"the {self._service} service did not answer") from None
            except RemoteError as exc:
                if exc.exc_type in STORE_UNAVAILABLE:  # its database is down or full
                    raise ServiceUnavailable(
                        f"the {self._service} service cannot reach its records just now"
                    ) from None
                raise

        return call


class ServiceUnavailable(errors.DomainError):
    code, http_status = "service_unavailable", 503


remote_errors[get_module_path(ServiceUnavailable)] = ServiceUnavailable


class ServiceBase:
    """What every domain service process has: outbox RPC, relay, catch-up, health, metrics.

    Subclasses declare ``name``, ``application = ApplicationProvider(name)``, one
    ``RpcProxy`` attribute named after each upstream, and an ``@ns.event_handler(upstream,
    ALL_EVENTS)`` method per upstream (this module's, for quorum queues) that calls
    :meth:`consume`.
    """

    application: ApplicationProvider
    relay: OutboxRelay
    catch_up_seconds = 2.0

    @property
    def app(self) -> Any:
        return self.application.app

    def _inbox(self, upstream: str) -> Inbox:
        """The process's inbox for ``upstream``, reading through this worker's RPC proxy.

        Call with ``self.application.locks[upstream]`` held.
        """
        proxy = TimedProxy(getattr(self, upstream), upstream)
        inbox = self.application.inboxes.get(upstream)
        if inbox is None:
            inbox = Inbox(self.app, upstream, proxy.outbox, self.relay.dead_letters)
            self.application.inboxes[upstream] = inbox
        inbox.read_outbox = proxy.outbox
        return inbox

    def _command(self, command: Any, *args: Any) -> Any:
        """Run an application command, then wake the relay to publish what it recorded."""
        try:
            return command(*args)
        finally:
            self.relay.kick()

    def consume(self, upstream: str, body: Any) -> None:
        """Apply a pushed event (or note a duplicate, or fill a gap first)."""
        with self.application.locks[upstream]:
            self._inbox(upstream).receive(body)
        self.relay.kick()

    @timer(interval=2.0)
    def catch_up(self) -> None:
        """Backstop for anything the broker did not bring: pull from each producer."""
        for upstream in self.app.upstreams:
            lock = self.application.locks[upstream]
            if not lock.acquire(blocking=False):
                continue  # a handler is busy with this upstream right now
            try:
                if self._inbox(upstream).catch_up():
                    self.relay.kick()
            except Exception as exc:
                log.warning("catch-up from %s failed: %s", upstream, exc)
            finally:
                lock.release()

    @rpc
    def outbox(self, start: int, limit: int) -> list[dict[str, Any]]:
        return self.app.outbox(start, limit)

    @rpc
    def ping(self) -> bool:
        self.app.outbox_head()
        return True

    @http("GET", "/healthz")
    def healthz(self, request: Any) -> Response:
        return Response('{"status": "ok"}', mimetype="application/json")

    @http("GET", "/readyz")
    def readyz(self, request: Any) -> Response:
        try:
            self.app.outbox_head()
        except Exception:
            return Response('{"status": "not_ready"}', status=503, mimetype="application/json")
        return Response('{"status": "ready"}', mimetype="application/json")

    @http("GET", "/metrics")
    def metrics(self, request: Any) -> Response:
        return Response(generate_latest(), mimetype=CONTENT_TYPE_LATEST)
