"""Every service of cp247, named once, with the application class that describes it.

The application class is the service's one description: its ``name``, its ``upstreams`` and
the events each policy consumes (``policies``), its RPC surface (methods marked ``@query`` or
``@command``), whether it publishes, and its read model. From it the nameko adapter derives
its proxies, queues and entrypoints (``cp247.nameko_support.ServiceBase``), and the embedded
runner, the launcher, the gateway's backends, the tests and the benchmarks list the services
from here. Adding a service is its folder and one line below.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

# In launch order (the launcher gives each the next port); the gateway last.
APPLICATIONS: dict[str, str] = {
    "intake": "services.intake.app:IntakeApplication",
    "preservation": "services.preservation.app:PreservationApplication",
    "isp_liaison": "services.isp_liaison.app:IspLiaisonApplication",
    "mla": "services.mla.app:MlaApplication",
    "notification": "services.notification.app:NotificationApplication",
    "timeline": "services.timeline.app:TimelineApplication",
    "gateway": "services.gateway.identity:IdentityApplication",
}
GATEWAY = "gateway"
NAMES: tuple[str, ...] = tuple(APPLICATIONS)
BEHIND_GATEWAY: tuple[str, ...] = tuple(n for n in NAMES if n != GATEWAY)


def application_class(name: str) -> Any:
    module, _, attr = APPLICATIONS[name].partition(":")
    return getattr(import_module(module), attr)


def producers() -> tuple[str, ...]:
    """The services whose events cross to others (their outboxes are relayed)."""
    return tuple(n for n in BEHIND_GATEWAY if application_class(n).publishes)


def consumers() -> tuple[str, ...]:
    """The services that apply others' events."""
    return tuple(n for n in NAMES if application_class(n).upstreams)
