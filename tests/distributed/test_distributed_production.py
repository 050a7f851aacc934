"""A production across the processes (issue 20): the gateway seals the files under the case
key, isp_liaison opens and checks them in its own process and keeps them sealed at rest; the
officer gets the same bytes back."""

from __future__ import annotations

import base64
import hashlib

import pytest
from distributed_cluster import Cluster, raw_event_bytes
from slice_driver import issued_disclosure_order

pytestmark = pytest.mark.distributed

LOGS = b"2026-11-28T03:14:05Z subscriber DIST-PROD-4711 behind 198.51.100.7:40123\n"


def test_produced_files_cross_sealed_and_come_back_the_same(cluster: Cluster):
    api, tokens = cluster.api, cluster.tokens
    order = issued_disclosure_order(api, tokens, "US-DIST-PROD")
    isp = f"/api/v1/isp/orders/{order['order_id']}"
    file = {
        "name": "subscriber.csv",
        "media_type": "text/csv",
        "content_base64": base64.b64encode(LOGS).decode(),
        "sha256": hashlib.sha256(LOGS).hexdigest(),
    }
    status, receipt = api.call("POST", f"{isp}/produce", tokens["isp_a"], {"files": [file]})
    assert status == 201, receipt
    path = f"/api/v1/productions/{receipt['production_id']}/files/subscriber.csv"
    status, content = api.call("GET", path, tokens["police"])
    assert status == 200 and content.encode() == LOGS
    assert not any(b"DIST-PROD-4711" in state for state in raw_event_bytes(cluster))
    assert not any(file["content_base64"].encode() in state for state in raw_event_bytes(cluster))
