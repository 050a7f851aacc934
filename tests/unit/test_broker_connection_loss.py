"""A broker connection lost while a service acknowledges an RPC reply must not stop the
service (nameko would kill the whole container): the reply still reaches its caller.

Seen in the fault suite: a caller's acknowledgement met ``ConnectionResetError`` and the
notification service died while another service was being restarted."""

from __future__ import annotations

from types import SimpleNamespace

from eventlet.event import Event

from cp247.nameko_support import ResilientReplyListener, ResilientRpcProxy, service_proxy


class LostConnection:
    def ack_message(self, message):
        raise ConnectionResetError(104, "Connection reset by peer")


def listener() -> ResilientReplyListener:
    replies = ResilientReplyListener()
    replies.queue_consumer = LostConnection()
    replies._reply_events = {}
    return replies


def test_a_reply_whose_acknowledgement_is_lost_still_reaches_the_caller():
    replies = listener()
    waiting = Event()
    replies._reply_events["call-1"] = waiting
    message = SimpleNamespace(properties={"correlation_id": "call-1"})
    replies.handle_message({"result": 7, "error": None}, message)  # must not raise
    assert waiting.ready() and waiting.wait() == {"result": 7, "error": None}


def test_a_reply_delivered_again_after_the_loss_is_dropped():
    replies = listener()
    message = SimpleNamespace(properties={"correlation_id": "nobody-waits"})
    replies.handle_message({"result": 7, "error": None}, message)
    assert replies._reply_events == {}


def test_every_service_proxy_uses_the_resilient_listener():
    proxy = service_proxy("intake")
    assert isinstance(proxy, ResilientRpcProxy)
    assert isinstance(proxy.rpc_reply_listener, ResilientReplyListener)
