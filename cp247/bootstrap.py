"""The services by name, for the entry points (CLI, embedded runner, demo, retention): the one
place above the services that maps a name to its application class."""

from __future__ import annotations

from importlib import import_module
from typing import Any

from cp247.config import Settings
from cp247.runtime.application import ServiceApplication
from cp247.runtime.building import build_application

APPLICATIONS: dict[str, str] = {
    "intake": "services.intake.app:IntakeApplication",
    "preservation": "services.preservation.app:PreservationApplication",
    "isp_liaison": "services.isp_liaison.app:IspLiaisonApplication",
    "mla": "services.mla.app:MlaApplication",
    "notification": "services.notification.app:NotificationApplication",
    "timeline": "services.timeline.app:TimelineApplication",
    "gateway": "services.gateway.identity:IdentityApplication",
}


def application_class(name: str) -> type[ServiceApplication]:
    module, _, attr = APPLICATIONS[name].partition(":")
    return getattr(import_module(module), attr)


def make_application(name: str, settings: Settings) -> Any:
    """The application of the service called ``name`` (entry points: CLI, runners, demo)."""
    return build_application(application_class(name), settings)
