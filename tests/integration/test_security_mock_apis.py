"""The running stack's mock vendor APIs keep their admin API to the admin token.

The vendor token sits in every Airflow source connection; were it to open /_admin, anything
that reads a connection could reset the sources, move their clock or inject faults.
"""

from __future__ import annotations

import httpx
import pytest

pytestmark = pytest.mark.integration

ADMIN_REQUESTS = [
    ("GET", "/_admin/counts"),
    ("GET", "/_admin/state"),
    ("GET", "/_admin/faults"),
    ("POST", "/_admin/faults"),
    ("POST", "/_admin/advance"),
    ("POST", "/_admin/reset"),
    ("GET", "/_admin/docs"),
    ("GET", "/_admin/openapi.json"),
]


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_the_vendor_token_opens_the_vendor_apis_but_not_admin(stack):
    base = stack.profile.mock_apis_url
    vendor = _bearer(stack.secrets["MOCK_API_TOKEN"])
    admin = _bearer(stack.secrets["MOCK_API_ADMIN_TOKEN"])
    assert stack.secrets["MOCK_API_TOKEN"] != stack.secrets["MOCK_API_ADMIN_TOKEN"]
    before = httpx.get(f"{base}/_admin/state", headers=admin, timeout=60).json()

    served = httpx.get(f"{base}/hubspot/crm/v3/objects/contacts?limit=1", headers=vendor)
    assert served.status_code == 200
    for method, path in ADMIN_REQUESTS:
        body = {"days": 30} if path.endswith("advance") else {"error_rate": 1.0}
        refused = httpx.request(method, f"{base}{path}", headers=vendor, json=body, timeout=60)
        assert refused.status_code == 401, (method, path)
        anonymous = httpx.request(method, f"{base}{path}", json=body, timeout=60)
        assert anonymous.status_code == 401, (method, path)

    # Nothing the refused requests asked for happened.
    after = httpx.get(f"{base}/_admin/state", headers=admin, timeout=60).json()
    assert after["as_of"] == before["as_of"]
    faults = httpx.get(f"{base}/_admin/faults", headers=admin, timeout=60).json()["faults"]
    assert faults["error_rate"] == 0.0
    assert httpx.get(f"{base}/_admin/openapi.json", headers=admin, timeout=60).status_code == 200
