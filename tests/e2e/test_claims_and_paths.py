"""The issue's defects, end to end through the local gateway: claims that are not string
tenant ids, event ids a URL path cannot carry, and the OpenAPI document's own nextToken
example. `tests/e2e/run.sh` passes the gateway's URL in E2E_HTTP_URL."""

import http.client
import json
import os
import urllib.parse

import pytest

from test_fuzz import jwt


def raw_get(path, token=None):
    """GET `path` exactly as written (no client resolves its dot segments)."""
    url = os.environ.get("E2E_HTTP_URL")
    if not url:
        pytest.fail("E2E_HTTP_URL is not set: run this through tests/e2e/run.sh (make test)")
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    connection.request("GET", path, headers=headers)
    response = connection.getresponse()
    body = response.read()
    connection.close()
    return response.status, response.getheader("content-type"), json.loads(body or b"null")


@pytest.mark.parametrize("tenant", [None, True, 5, " local ", ["local"]])
def test_a_tenant_claim_that_is_not_a_string_tenant_id_is_a_401_naming_the_claim(tenant):
    status, content_type, body = raw_get("/api/Audit", jwt({"tenantId": tenant}))
    assert status == 401, body
    assert content_type == "application/problem+json"
    assert "tenantId claim" in body["detail"], body


def test_an_organizations_claim_with_an_item_that_is_not_a_string_is_a_401():
    status, _, body = raw_get("/api/Audit", jwt({"tenantId": "local", "organizationIds": ["org-1", 5]}))
    assert status == 401, body
    assert "organizationIds claim" in body["detail"], body


@pytest.mark.parametrize("event_id", [".", ".."])
def test_a_dot_segment_event_id_is_a_400_naming_the_path_parameter(event_id):
    status, _, body = raw_get(f"/api/Audit/{event_id}", jwt({"tenantId": "local"}))
    assert status == 400, body
    assert body["detail"] == "1 path parameter is invalid."
    assert body["errors"][0]["parameter"] == "eventId"


def test_the_documents_next_token_example_is_accepted_for_its_tenant():
    status, _, document = raw_get("/api/audit/swagger/v1/swagger.json")
    assert status == 200
    example = document["paths"]["/api/Audit"]["get"]["responses"]["200"]["content"]["application/json"]["example"]
    token = example["nextToken"]
    status, _, body = raw_get(f"/api/Audit?nextToken={token}", jwt({"tenantId": example["items"][0]["tenantId"]}))
    assert status == 200, body
    assert body["pageNumber"] == 2
