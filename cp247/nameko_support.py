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
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import amqp.exceptions
import eventlet
import kombu.exceptions
import psycopg
import psycopg_pool
from eventlet.semaphore import Semaphore
from eventsourcing import persistence
from kombu import Connection, Exchange, Queue
from nameko.amqp.publish import Publisher
from nameko.events import SERVICE_POOL, EventHandler
from nameko.exceptions import RemoteError, UnknownService, get_module_path
from nameko.exceptions import registry as remote_errors
from nameko.extensions import DependencyProvider
from nameko.rpc import ReplyListener, Rpc, RpcProxy
from nameko.timer import timer
from nameko.web.handlers import http
from werkzeug.wrappers import Response

from cp247 import errors, log_redaction, metrics
from cp247.config import Settings, keep_private
from cp247.runtime.application import ServiceApplication, rpc_surface, schedule_of
from cp247.runtime.building import build_application
from cp247.runtime.deadletter import DeadLetterSeal
from cp247.runtime.inbox import Inbox, batch_of

log = logging.getLogger(__name__)

# Domain errors cross RPC as themselves (nameko rebuilds registered exceptions by path).
for _cls in errors.ALL:
    remote_errors[get_module_path(_cls)] = _cls

log_redaction.install()  # every service process: no capability or token in access logs

ALL_EVENTS = "#"  # topic binding: a consumer needs every notification id to see gaps
BATCH_ROUTING_KEY = "batch"  # a broker message carries a run of events of any names
# Every queue cp247 declares is a quorum queue (replicated, durable, never exclusive or
# auto-deleted). infra/rabbitmq/definitions.json declares the same queues with the same
# arguments: RabbitMQ refuses (406 PRECONDITION_FAILED) a declaration that differs.
QUORUM = {"x-queue-type": "quorum"}
# A consumer queue is served by one replica at a time (the others stand by and take over
# when it goes): replicas that took turns with a queue's messages each saw the other's as
# gaps, pulled them over RPC and collided applying them (issue 19, ADR 014).
CONSUMER_QUEUE = {**QUORUM, "x-single-active-consumer": True}
DEAD_LETTER_EXCHANGE = Exchange("cp247.dead-letter", type="fanout", durable=True)
DEAD_LETTER_QUEUE = Queue(
    "cp247.dead-letter",
    exchange=DEAD_LETTER_EXCHANGE,
    durable=True,
    auto_delete=False,
    queue_arguments=QUORUM,
)
RPC_TIMEOUT_SECONDS = 15
# The database cannot be reached (down, restarting, out of connections): try again later.
STORE_GONE = (
    persistence.OperationalError,
    persistence.InterfaceError,
    psycopg.OperationalError,
    psycopg.InterfaceError,
    psycopg_pool.PoolTimeout,
)
# The broker connection broke under a publish or a reply: a restart, a network cut.
BROKER_GONE = (kombu.exceptions.OperationalError, amqp.exceptions.ConnectionError, OSError)


def event_exchange(service: str) -> Exchange:
    """Exactly as nameko declares it, or RabbitMQ answers 406 PRECONDITION_FAILED."""
    return Exchange(f"{service}.events", type="topic", durable=True, auto_delete=False)


class QuorumEventHandler(EventHandler):
    """nameko's event handler, its queue a quorum queue shared by every replica.

    Service-pool handlers only: the queue is named ``evt-<source>-<event>--<service>.<method>``
    after the service, not the process, so every replica consumes from it and the queue
    outlives them all. It has a single active consumer: one replica at a time gets its
    messages, the others stand by and RabbitMQ hands the queue to one of them when it goes.
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
            queue_arguments=CONSUMER_QUEUE,
        )

    def handle_message_processed(self, message: Any, result: Any = None, exc_info: Any = None):
        # An acknowledgement lost with the broker connection must not kill the service (as
        # nameko would): the broker delivers the message again and the inbox ignores it.
        try:
            super().handle_message_processed(message, result, exc_info)
        except BROKER_GONE as exc:
            log.warning("acknowledgement lost with the broker connection: %s", exc)


event_handler = QuorumEventHandler.decorator


class ResilientRpc(Rpc):
    """nameko's RPC entrypoint, except that a reply lost with the broker connection does not
    kill the service: nameko stops the whole container when a reply cannot be published
    (a broker restart while a call is in flight). The caller times out and asks again; the
    request itself is redelivered by the broker, and cp247's commands are idempotent."""

    def handle_result(self, message: Any, worker_ctx: Any, result: Any, exc_info: Any) -> Any:
        if exc_info is not None and isinstance(exc_info[1], STORE_GONE):
            # Said as what it means to the caller (503, try again), not as a driver's error.
            log.warning("%s: its records cannot be reached: %s", self.method_name, exc_info[1])
            unavailable = ServiceUnavailable(
                f"the {self.container.service_name} service cannot reach its records just now"
            )
            exc_info = (ServiceUnavailable, unavailable, exc_info[2])
        try:
            return super().handle_result(message, worker_ctx, result, exc_info)
        except BROKER_GONE as exc:
            log.warning("reply to %s lost with the broker connection: %s", self.method_name, exc)
            return result, exc_info


rpc = ResilientRpc.decorator


class ResilientReplyListener(ReplyListener):
    """nameko's listener for RPC replies, except that an acknowledgement lost with the broker
    connection does not kill the service. The reply itself has arrived: it is handed to the
    waiting caller; the broker may deliver it again, and an unknown correlation id is dropped."""

    def handle_message(self, body: Any, message: Any) -> None:
        ack = self.queue_consumer.ack_message
        try:
            ack(message)
        except BROKER_GONE as exc:
            log.warning("acknowledgement of an RPC reply lost with the broker connection: %s", exc)
        correlation_id = message.properties.get("correlation_id")
        waiting = self._reply_events.pop(correlation_id, None)
        if waiting is not None:
            waiting.send(body)


class ResilientRpcProxy(RpcProxy):
    rpc_reply_listener = ResilientReplyListener()


def service_proxy(service: str) -> RpcProxy:
    """An RPC proxy whose requests expire with the caller's patience: a call the caller gave
    up on (its service was down) is dropped by the broker, never run late."""
    return ResilientRpcProxy(service, expiration=RPC_TIMEOUT_SECONDS)


class ApplicationProvider(DependencyProvider):
    """The service's eventsourcing application, one per process, plus per-upstream locks."""

    def __init__(self, application_class: type[ServiceApplication]):
        self.application_class = application_class
        self.name = application_class.name
        self.app: Any = None
        self.locks: dict[str, threading.Lock] = defaultdict(threading.Lock)
        self.inboxes: dict[str, Inbox] = {}
        self._running, self._again = set(), set()  # prompt jobs (green threads: no lock)

    def setup(self) -> None:
        settings = Settings.from_env()
        keep_private(settings.data_dir)  # keys, documents and logs: the process's own
        self.app = build_application(self.application_class, settings)

    def stop(self) -> None:
        if self.app is not None:
            self.app.close()

    def run_soon(self, jobs: tuple[str, ...], then: Callable[[], None]) -> None:
        """Run the application's ``jobs`` now, each on a green thread of its own, then
        ``then``: one run of a job at a time; asked again meanwhile, it runs once more after."""
        for job in jobs:
            if job in self._running:
                self._again.add(job)
                continue
            self._running.add(job)
            self.container.spawn_managed_thread(lambda job=job: self._run(job, then))

    def _run(self, job: str, then: Callable[[], None]) -> None:
        try:
            while True:
                self._again.discard(job)
                try:
                    getattr(self.app, job)()
                except Exception:
                    log.exception("%s failed; its timer tries again", job)
                then()
                if job not in self._again:
                    return
        finally:
            self._running.discard(job)

    _running: set[str]
    _again: set[str]

    def get_dependency(self, worker_ctx: Any) -> Any:
        return self


class OutboxRelay(DependencyProvider):
    """Publishes what the application recorded, in order, after it is recorded.

    A position is saved only after the broker confirmed the messages, so a crash can publish
    a message twice (consumers ignore it) but never lose one.
    """

    idle_seconds = 0.5
    batch = 50  # events per broker message: a run of documents stays well under a megabyte

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
        self.dead_letters = AmqpDeadLetters(
            self.container.config["AMQP_URI"], DeadLetterSeal.from_settings(Settings.from_env())
        )

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
        linger = self._application().relay_linger_seconds
        while self._running:
            woken = False
            with eventlet.Timeout(self.idle_seconds, False):
                woken = self._wake.wait()
            self._wake = eventlet.event.Event()
            if woken and linger and self._running:
                # Commits that follow each other closely (an order delivered, its webhook
                # attempted, its document signed) go out as one message, not one each.
                eventlet.sleep(linger)
                self._wake = eventlet.event.Event()  # what was kicked meanwhile goes now
            if not self._running:
                return
            try:
                self.flush()
            except Exception:
                log.exception("outbox relay failed; retrying")
                eventlet.sleep(1.0)

    def flush(self) -> int:
        """Publish everything after the relay position, one broker message per run of up to
        ``batch`` events (one confirm each), if no other replica's relay is at it now.

        One relay per producer at a time: replicas share one outbox, and two relays would
        publish every event twice (consumers ignore the copy, after decoding it). The store's
        lock decides; a relay that finds it taken tries again a moment later, so an event
        recorded while the other flushed is not left to the idle timer.
        """
        app = self._application()
        for _ in range(self.lock_attempts):
            with app.exclusive("relay") as mine:
                if mine:
                    return self._publish_all(app)
            eventlet.sleep(self.lock_retry_seconds)
        return 0

    lock_attempts = 10
    lock_retry_seconds = 0.05

    def _publish_all(self, app: Any) -> int:
        published = 0
        while True:
            position = app.relay_position()
            metrics.OUTBOX_PUBLISHED_POSITION.labels(app.name).set(position)
            messages = app.wire_outbox(position + 1, self.batch)
            if not messages:
                return published
            first, last = messages[0]["notification_id"], messages[-1]["notification_id"]
            self.publisher.publish(
                batch_of(messages),
                exchange=self.exchange,
                routing_key=BATCH_ROUTING_KEY,
                headers={"cp247-notification-ids": f"{first}-{last}"},
            )
            app.record_relay_position(last)
            metrics.MESSAGES_PUBLISHED.labels(app.name).inc()
            metrics.EVENTS_PUBLISHED.labels(app.name).inc(len(messages))
            published += len(messages)

    def get_dependency(self, worker_ctx: Any) -> OutboxRelay:
        return self


class AmqpDeadLetters:
    """Distributed mode: rejected messages go to the durable ``cp247.dead-letter`` queue,
    sealed (``DeadLetterSeal.open`` unseals one taken from the queue)."""

    def __init__(self, amqp_uri: str, seal: DeadLetterSeal):
        self.seal = seal
        self.publisher = Publisher(
            amqp_uri,
            use_confirms=True,
            serializer="json",
            declare=[DEAD_LETTER_EXCHANGE, DEAD_LETTER_QUEUE],
        )

    def __call__(self, body: Any, reason: str, consumer: str) -> None:
        record = self.seal.record(body, reason, consumer)
        log.error("dead-lettered for %s: %s", consumer, record["reason"])
        metrics.DEAD_LETTERS.labels(consumer).inc()
        self.publisher.publish(
            record,
            exchange=DEAD_LETTER_EXCHANGE,
            routing_key="",
        )


# Errors of a service's event store (eventsourcing's names) that mean "try again later",
# for a service older than this one that does not say ServiceUnavailable itself.
STORE_UNAVAILABLE = frozenset({"OperationalError", "InterfaceError", "PoolTimeout"})


class TimedProxy:
    """An RPC proxy whose calls fail with ``ServiceUnavailable`` instead of hanging: at once
    when no process of the service is consuming (``watch``), else after ``timeout``."""

    def __init__(
        self,
        proxy: Any,
        service: str,
        timeout: float = RPC_TIMEOUT_SECONDS,
        watch: ConsumerWatch | None = None,
    ):
        self._proxy, self._service, self._timeout = proxy, service, timeout
        self._watch = watch

    def __getattr__(self, method: str) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            if self._watch is not None and self._watch.consumers(self._service) == 0:
                raise ServiceUnavailable(f"the {self._service} service is not running")
            try:
                with eventlet.Timeout(self._timeout):
                    return getattr(self._proxy, method)(*args, **kwargs)
            except eventlet.Timeout:
                raise ServiceUnavailable(f"the {self._service} service did not answer") from None
            except UnknownService:
                raise ServiceUnavailable(f"the {self._service} service is not running") from None
            except BROKER_GONE:
                raise ServiceUnavailable("the message broker cannot be reached") from None
            except RemoteError as exc:
                if exc.exc_type in STORE_UNAVAILABLE:  # its database is down or full
                    raise ServiceUnavailable(
                        f"the {self._service} service cannot reach its records just now"
                    ) from None
                raise

        return call


BROKER_DOWN = -1


class ConsumerWatch(DependencyProvider):
    """How many processes consume each service's RPC queue, asked of the broker at most once
    a second per service: a call to a service with none is refused at once (503) instead of
    waiting out the time-out while its request sits in the queue."""

    fresh_seconds = 1.0

    def setup(self) -> None:
        self._uri = self.container.config["AMQP_URI"]
        self._connection: Connection | None = None
        self._lock = Semaphore()
        self._seen: dict[str, tuple[int | None, float]] = {}

    def stop(self) -> None:
        if self._connection is not None:
            self._connection.release()

    def get_dependency(self, worker_ctx: Any) -> ConsumerWatch:
        return self

    def consumers(self, service: str) -> int | None:
        """The number of consumers, or None when the broker could not say (then the call
        goes ahead and its own time-out or error decides); ``ServiceUnavailable`` when the
        broker cannot be reached at all."""
        seen = self._seen.get(service)
        if not seen or time.monotonic() - seen[1] >= self.fresh_seconds:
            with self._lock:
                seen = (self._ask(service), time.monotonic())
            self._seen[service] = seen
        if seen[0] == BROKER_DOWN:
            raise ServiceUnavailable("the message broker cannot be reached")
        return seen[0]

    def _ask(self, service: str) -> int | None:
        try:
            if self._connection is None:
                # One attempt: kombu would otherwise retry a refused connection for ever.
                self._connection = Connection(
                    self._uri, connect_timeout=2, transport_options={"max_retries": 0}
                )
            channel = self._connection.default_channel
            return channel.queue_declare(f"rpc-{service}", passive=True).consumer_count
        except amqp.exceptions.NotFound:
            self._drop()  # the broker closed the channel; the queue is declared on first start
            return 0
        except BROKER_GONE:
            self._drop()
            return BROKER_DOWN
        except Exception as exc:
            log.warning("cannot ask the broker about %s: %s", service, exc)
            self._drop()
            return None

    def _drop(self) -> None:
        if self._connection is not None:
            try:
                self._connection.release()
            except Exception:
                pass
        self._connection = None


def _consumer(upstream: str, name: str) -> Any:
    def consume(self: ServiceBase, body: Any) -> None:
        self.consume(upstream, body)

    consume.__name__ = consume.__qualname__ = name
    return event_handler(upstream, ALL_EVENTS)(consume)


def _periodic(method: str, seconds: float) -> Any:
    """A timer that runs the application's periodic job of that name, then wakes the relay."""

    def run(self: ServiceBase) -> None:
        self._command(getattr(self.app, method))

    run.__name__ = run.__qualname__ = method
    return timer(interval=seconds)(run)


def _entrypoint(method: str, kind: str) -> Any:
    """An RPC entrypoint that calls the application's method of that name."""

    def call(self: ServiceBase, *args: Any, **kwargs: Any) -> Any:
        run = getattr(self.app, method)
        return self._command(run, *args, **kwargs) if kind == "command" else run(*args, **kwargs)

    call.__name__ = call.__qualname__ = method
    return rpc(expected_exceptions=errors.DomainError)(call)


class ServiceUnavailable(errors.DomainError):
    code, http_status = "service_unavailable", 503


remote_errors[get_module_path(ServiceUnavailable)] = ServiceUnavailable


class ServiceBase:
    """What every domain service process has: outbox RPC, relay, catch-up, health, metrics.

    A subclass declares ``application = ApplicationProvider(TheApplication)`` and ``relay =
    OutboxRelay()``; the rest is derived from the application class, which describes the
    service once (:meth:`__init_subclass__`):

    - its ``name`` (nameko's service name: its queues, RPC and event exchange);
    - per upstream in ``upstreams``, an RPC proxy of that name (the catch-up pulls through
      it) and a handler ``from_<upstream>`` on a quorum queue of every event it publishes;
    - per method marked ``@query`` or ``@command``, an RPC entrypoint of that name (a command
      then wakes the relay);
    - per method marked ``@every(seconds)``, a timer that runs it (then wakes the relay);
      if marked ``prompt``, it also runs as soon as events were applied.

    A method the subclass writes itself takes the place of the derived one.
    """

    application: ApplicationProvider
    relay: OutboxRelay
    prompt_jobs: tuple[str, ...] = ()  # run as soon as events were applied, too
    catch_up_seconds = 2.0
    lock_wait_seconds = 1.0

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        described = cls.__dict__.get("application")
        if not isinstance(described, ApplicationProvider):
            return
        application_class = described.application_class
        cls.name = application_class.name  # nameko's service name: queues, RPC, exchange
        for upstream in application_class.upstreams:
            if upstream not in cls.__dict__:
                setattr(cls, upstream, service_proxy(upstream))
            handler = f"from_{upstream}"  # names the queue: evt-<upstream>-#--<service>.<handler>
            if handler not in cls.__dict__:
                setattr(cls, handler, _consumer(upstream, handler))
        for method, kind in rpc_surface(application_class).items():
            if method not in cls.__dict__:
                setattr(cls, method, _entrypoint(method, kind))
        schedules = schedule_of(application_class)
        for method, schedule in schedules.items():
            if method not in cls.__dict__:
                setattr(cls, method, _periodic(method, schedule.seconds))
        cls.prompt_jobs = tuple(m for m, schedule in schedules.items() if schedule.prompt)

    @property
    def app(self) -> Any:
        return self.application.app

    def _inbox(self, upstream: str, pull: bool = True) -> Inbox:
        """The process's inbox for ``upstream``; with ``pull``, reading through this worker's
        RPC proxy (then call with ``self.application.locks[upstream]`` held)."""
        proxy = TimedProxy(getattr(self, upstream), upstream)
        inbox = self.application.inboxes.get(upstream)
        if inbox is None:
            inbox = Inbox(self.app, upstream, proxy.outbox, self.relay.dead_letters)
            self.application.inboxes[upstream] = inbox
        if pull:
            inbox.read_outbox = proxy.outbox
        return inbox

    def _command(self, command: Any, *args: Any, **kwargs: Any) -> Any:
        """Run an application command, then wake the relay to publish what it recorded."""
        try:
            return command(*args, **kwargs)
        finally:
            self.relay.kick()

    def consume(self, upstream: str, body: Any) -> None:
        """Apply a pushed event, with any others offered meanwhile (or note a duplicate, or
        fill a gap first).

        If another worker holds this upstream for long (it is pulling a gap over RPC), the
        pushed copy is left to the catch-up timer: workers waiting here would be missing from
        the pool that answers other services' RPC calls, and two services pulling from each
        other would starve one another until their calls time out.
        """
        inbox = self._inbox(upstream, pull=False)
        metrics.MESSAGES_DELIVERED.labels(self.app.name, upstream).inc()
        messages = inbox.admit_all(body)
        if not messages:
            return  # dead-lettered
        # Whichever worker holds the upstream next applies every message offered meanwhile,
        # in one transaction: under load, one commit for many events.
        for message in messages:
            inbox.offer(message)
        lock = self.application.locks[upstream]
        if not lock.acquire(timeout=self.lock_wait_seconds):
            metrics.EVENTS_DEFERRED.labels(self.app.name, upstream).inc()
            log.debug("%s busy: the catch-up brings this event", upstream)
            return
        try:
            applied = self._inbox(upstream).deliver_offered()
        finally:
            lock.release()
        if applied:
            self._applied()

    def _applied(self) -> None:
        """Events were applied: publish what they recorded, and run the prompt jobs (the
        order's webhook, the receipt's e-mail) now rather than at their next tick."""
        self.relay.kick()
        if self.prompt_jobs:
            self.application.run_soon(self.prompt_jobs, self.relay.kick)

    @timer(interval=2.0)
    def catch_up(self) -> None:
        """Backstop for anything the broker did not bring: pull from each producer."""
        for upstream in self.app.upstreams:
            lock = self.application.locks[upstream]
            if not lock.acquire(blocking=False):
                continue  # a handler is busy with this upstream right now
            try:
                if self._inbox(upstream).catch_up():
                    self._applied()
            except Exception as exc:
                log.warning("catch-up from %s failed: %s", upstream, exc)
            finally:
                lock.release()
        ledger = getattr(self.app, "ledger", None)  # a sealed store: a quiet moment's records
        if ledger is not None:
            ledger.seal_soon()

    @rpc
    def outbox(self, start: int, limit: int) -> list[dict[str, Any]]:
        return self.app.wire_outbox(start, limit)

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
        return metrics.scrape(request.headers.get("Authorization"), Settings.from_env())
