"""The services by name, for the entry points (CLI, embedded runner, demo, retention): built
from the one list of services (``services/catalogue.py``)."""

from __future__ import annotations

from typing import Any

from cp247.config import Settings
from cp247.runtime.building import build_application
from services.catalogue import APPLICATIONS, application_class

__all__ = ["APPLICATIONS", "application_class", "make_application"]


def make_application(name: str, settings: Settings) -> Any:
    """The application of the service called ``name`` (entry points: CLI, runners, demo)."""
    return build_application(application_class(name), settings)
