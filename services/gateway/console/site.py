"""All browser pages of the gateway, assembled."""

from __future__ import annotations

from services.gateway.console.accounts import AccountPages
from services.gateway.console.auth import AuthPages
from services.gateway.console.disclosure_pages import DisclosurePages
from services.gateway.console.oversight import OversightPages
from services.gateway.console.portal import PortalPages
from services.gateway.console.web import Console


class ConsolePages(AuthPages, DisclosurePages, PortalPages, OversightPages, AccountPages, Console):
    """Police and prosecution consoles, the ISP portal and the oversight dashboard."""
