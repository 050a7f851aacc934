"""A service whose database is down or full answers RPC with the store's error: the gateway
turns that into 503 (try again), not 500."""

from __future__ import annotations

import pytest
from nameko.exceptions import RemoteError

from cp247.nameko_support import ServiceUnavailable, TimedProxy


class Proxy:
    """An RPC proxy whose remote side raised ``error``."""

    def __init__(self, error: Exception):
        self.error = error

    def register_request(self, *args, **kwargs):
        raise self.error


@pytest.mark.parametrize("exc_type", ["OperationalError", "InterfaceError", "PoolTimeout"])
def test_store_errors_of_a_service_are_unavailable_not_internal(exc_type):
    proxy = TimedProxy(Proxy(RemoteError(exc_type, "too many clients already")), "intake", 1)
    with pytest.raises(ServiceUnavailable, match="intake service cannot reach its records"):
        proxy.register_request({})
    assert ServiceUnavailable.http_status == 503


def test_other_remote_errors_pass_through():
    proxy = TimedProxy(Proxy(RemoteError("KeyError", "'x'")), "intake", 1)
    with pytest.raises(RemoteError):
        proxy.register_request({})
