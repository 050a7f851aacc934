"""nameko adapter of the gateway (distributed mode): the same :class:`Gateway` as the
embedded mode, its backends being RPC proxies (with time-outs) to the services."""

from __future__ import annotations

from typing import Any

from nameko.timer import timer
from nameko.web.handlers import http
from werkzeug.wrappers import Request, Response

from cp247.errors import DomainError
from cp247.nameko_support import ApplicationProvider, ConsumerWatch, TimedProxy, service_proxy
from services.catalogue import BEHIND_GATEWAY
from services.gateway.api import Gateway
from services.gateway.identity import IdentityApplication

REMOTE = BEHIND_GATEWAY
METHODS = "GET,POST,PUT,PATCH,DELETE"


class RemoteBackends:
    def __init__(self, service: GatewayService):
        for name in REMOTE:
            setattr(self, name, TimedProxy(getattr(service, name), name, watch=service.watch))
        self.identity = service.identity.app
        self._service = service

    def changed(self) -> None:
        """Events travel over RabbitMQ; nothing to do here."""

    def ready(self) -> dict[str, bool]:
        try:
            self.identity.outbox_head()  # its own records: users, sessions, tokens
            checks = {"gateway": True}
        except Exception:
            checks = {"gateway": False}
        for name in REMOTE:
            try:
                proxy = TimedProxy(getattr(self._service, name), name, 3, self._service.watch)
                checks[name] = bool(proxy.ping())
            except DomainError:
                checks[name] = False
        return checks


class GatewayService:
    name = "gateway"
    identity = ApplicationProvider(IdentityApplication)
    watch = ConsumerWatch()

    _gateway: Gateway | None = None

    def _handle(self, request: Request) -> Response:
        backends = RemoteBackends(self)
        if GatewayService._gateway is None:
            GatewayService._gateway = Gateway(backends)
        return GatewayService._gateway.handle(request, backends)

    @timer(interval=30.0)
    def seal_ledger(self) -> None:
        """Seal the reads of a quiet moment too (changes to users and tokens are sealed at
        once, reads every few seconds while they come: cp247/runtime/ledger.py)."""
        self.identity.app.ledger.seal_soon()

    @http(METHODS, "/")
    def root(self, request: Request) -> Any:
        return self._handle(request)

    @http(METHODS, "/<path:path>")
    def everything(self, request: Request, path: str) -> Any:
        return self._handle(request)


for _name in REMOTE:  # one RPC proxy per service behind the gateway, named after it
    setattr(GatewayService, _name, service_proxy(_name))
del _name
