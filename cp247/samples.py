"""Sample requests: the shape of ``POST /api/v1/requests`` filled in like a real foreign
CP's Art 29 request. Used by the tests, the benchmarks and demos; every reference gets an
address of its own, so samples never join as near duplicates by accident."""

from __future__ import annotations

import hashlib
import ipaddress
from typing import Any


def address_for(reference: str) -> str:
    """A documentation-range address of its own for each reference (no accidental joins)."""
    digest = hashlib.sha256(reference.encode()).hexdigest()
    return ipaddress.ip_address(f"2001:db8:{digest[:4]}:{digest[4:8]}::{digest[8:12]}").compressed


def preservation_request(reference: str, provider_id: str = "telco-a", **overrides: Any) -> dict:
    body: dict[str, Any] = {
        "direction": "incoming",
        "type": "preservation",
        "urgency": "urgent",
        "received_via": "email",
        "requesting_authority": {
            "country": "US",
            "contact_point": "US 24/7 Network",
            "person": "J. Doe",
            "email": "cp247@us.example",
            "reference": reference,
            "time_zone": "America/New_York",
        },
        "offence": {
            "description": "ransomware attack on a hospital",
            "summary_of_facts": "systems encrypted on 27 November; ransom note names a server",
        },
        "data": {
            "types": ["traffic", "subscriber"],
            "relationship_to_offence": "the server controlled the ransomware",
            "identifiers": [
                {
                    "kind": "ip",
                    "value": address_for(reference),
                    "port": 51234,
                    "observed_at": "2026-11-27T22:14:05-05:00",
                }
            ],
            "custodian": {"provider_id": provider_id},
            "period_days": 90,
        },
        "necessity": "the provider deletes logs after 7 days",
        "mla_intended": True,
        "counterpart_country": "US",
    }
    body.update(overrides)
    return body
