"""The audit log's record filters: what the document's pattern admits, the API accepts, and the
other way round (ids up to the largest a key holds, 2**31 - 1)."""

from __future__ import annotations

import re

import pytest
from support.factories import make_clinic

REFS = [
    ("patient", True),
    ("staff:1", True),
    ("patient:999999999", True),
    ("patient:2147483647", True),
    ("patient:2147483648", False),
    ("m3:6216067393", False),  # found by the schemathesis run: ten digits, over 2**31 - 1
    ("patient:0", False),
    ("Patient:3", False),
]


@pytest.mark.parametrize(("ref", "valid"), REFS)
def test_documented_pattern_and_api_agree(app_ctx, api, ref, valid):
    _clinic, admin = make_clinic()
    api.login(admin.email, account="staff")
    document = api.get("/api/openapi.json").get_json()
    parameters = document["paths"]["/api/clinic/audit-events"]["get"]["parameters"]
    for name in ("target", "actor"):
        (pattern,) = [p["schema"]["pattern"] for p in parameters if p["name"] == name]
        assert bool(re.search(pattern, ref)) is valid, (name, ref)
        response = api.get(f"/api/clinic/audit-events?{name}={ref}")
        assert response.status_code == (200 if valid else 422), (name, ref, response.get_json())
        if not valid:
            assert set(response.get_json()["error"]["fields"]) == {name}
