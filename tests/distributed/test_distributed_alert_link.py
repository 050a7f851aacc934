"""An alert e-mail's link, through every gateway process: opening it (as a mail scanner does)
takes nothing; only its page's button does, and neither names the case."""

from __future__ import annotations

import urllib.parse

import pytest
from distributed_cluster import Cluster
from slice_driver import alert_link_token, exchange, open_alerts_of

pytestmark = pytest.mark.distributed


def test_an_alert_link_is_taken_by_its_button_only_in_every_gateway(cluster: Cluster):
    api, tokens = cluster.api, cluster.tokens
    case_id, token = alert_link_token(api, tokens, f"SCANNED-D{cluster.replicas}")
    for method in ("GET", "HEAD", "GET", "GET"):  # each gateway process in turn, twice
        status, headers, page = exchange(api.base_url, method, f"/api/v1/alerts/ack?token={token}")
        assert status == 200 and headers["Content-Type"].startswith("text/html"), page
        assert case_id not in page
    assert len(open_alerts_of(api, tokens, case_id)) == 1, "opening the link took the alert"

    form = urllib.parse.urlencode({"token": token}).encode()
    status, _, page = exchange(
        api.base_url, "POST", "/api/v1/alerts/ack", form,
        {"Content-Type": "application/x-www-form-urlencoded"},
    )  # fmt: skip
    assert status == 200 and "acknowledged" in page.lower() and case_id not in page, page
    assert open_alerts_of(api, tokens, case_id) == []
    status, _, page = exchange(api.base_url, "GET", "/api/v1/alerts/ack?token=forged")
    assert status == 404 and "not valid" in page
