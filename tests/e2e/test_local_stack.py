"""End-to-end test of the local stack: the gateway binary on DynamoDB Local, driven only
through its public interfaces, as a client would.

Events go in through the Lambda Invoke API with a real AWS SDK client (boto3); queries go
out over HTTP with bearer JWTs. `tests/e2e/run.sh` starts the engine and the gateway and
passes their URLs in E2E_HTTP_URL and E2E_INVOKE_URL; without them every test fails.
"""

import base64
import json
import os
import urllib.error
import urllib.parse
import urllib.request
import uuid
from datetime import datetime, timedelta, timezone

import boto3
import pytest
from botocore.config import Config

RUN = uuid.uuid4().hex[:8]
TENANT_A = f"e2e-a-{RUN}"
TENANT_B = f"e2e-b-{RUN}"

EXAMPLES = [
    "category=100&rangeStart=2024-03-01T05:00:00.000Z",
    "category=600&rangeStart=2023-10-18T05:00:00.000Z&rangeEnd=2023-10-22T04:59:00.000Z",
    "eventType=202&rangeStart=2024-03-01T05:00:00.000Z",
    "eventType=202&rangeStart=2024-03-01T05:00:00.000Z&pageSize=50&pageNumber=1",
]


def urls():
    http, invoke = os.environ.get("E2E_HTTP_URL"), os.environ.get("E2E_INVOKE_URL")
    if not http or not invoke:
        pytest.fail("E2E_HTTP_URL and E2E_INVOKE_URL are not set: run this through tests/e2e/run.sh (make test)")
    return http, invoke


def jwt(claims):
    """An unsigned JWT: the local gateway decodes claims without verification."""
    enc = lambda obj: base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()
    return f"{enc({'alg': 'none', 'typ': 'JWT'})}.{enc(claims)}.sig"


def get(path, token=None):
    http, _ = urls()
    request = urllib.request.Request(http + path)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), json.loads(error.read() or b"null")


def iso(t):
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def make_events(tenant, prefix):
    """Events inside and just outside each example's window, for the example's filters."""
    base_recent = datetime(2024, 3, 1, 5, 0, tzinfo=timezone.utc)
    base_old = datetime(2023, 10, 18, 5, 0, tzinfo=timezone.utc)
    specs = []
    for i in range(70):  # more than one page of Configuration events after 2024-03-01
        specs.append((101 + i % 11, base_recent + timedelta(hours=7 * i)))
    specs.append((104, base_recent - timedelta(milliseconds=1)))  # just before rangeStart
    for i in range(12):  # Transfer events inside 2023-10-18T05:00 .. 2023-10-22T04:59
        specs.append((601 + i % 4, base_old + timedelta(hours=8 * i)))
    specs.append((602, datetime(2023, 10, 22, 4, 59, 0, 1000, tzinfo=timezone.utc)))  # just after rangeEnd
    specs.append((602, datetime(2023, 10, 22, 4, 59, tzinfo=timezone.utc)))  # exactly rangeEnd: included
    for i in range(60):  # LoginFailed, more than one page
        specs.append((202, base_recent + timedelta(hours=5 * i, minutes=3)))
    specs.append((201, base_recent + timedelta(hours=1)))  # another type in the same range
    return [
        {
            "eventId": f"{prefix}-{n:04d}",
            "tenantId": tenant,
            "eventType": code,
            "occurredAt": iso(at),
            "actor": {"id": f"user-{n % 5}", "name": "E2E user", "ipAddress": "198.51.100.9"},
            "organizationId": "org-1",
            "description": "end-to-end test event",
        }
        for n, (code, at) in enumerate(specs)
    ]


def reference(events, query):
    """What a query must return, computed independently of the service: newest first."""
    params = dict(urllib.parse.parse_qsl(query))
    start = params.get("rangeStart")
    end = params.get("rangeEnd")
    kept = []
    for e in events:
        if "category" in params and e["eventType"] // 100 * 100 != int(params["category"]):
            continue
        if "eventType" in params and e["eventType"] != int(params["eventType"]):
            continue
        if start and e["occurredAt"] < start:
            continue
        if end and e["occurredAt"] > end:
            continue
        kept.append(e)
    kept.sort(key=lambda e: (e["occurredAt"], e["eventId"]), reverse=True)
    return [e["eventId"] for e in kept]


@pytest.fixture(scope="module")
def lambda_client():
    _, invoke = urls()
    return boto3.client(
        "lambda",
        endpoint_url=invoke,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
        config=Config(retries={"max_attempts": 1}, read_timeout=120),
    )


def invoke(client, payload):
    response = client.invoke(FunctionName="IngestFunction", Payload=json.dumps(payload).encode())
    return response, json.loads(response["Payload"].read() or b"null")


@pytest.fixture(scope="module")
def ingested(lambda_client):
    events_a = make_events(TENANT_A, "a")
    events_b = make_events(TENANT_B, "b")
    for events in (events_a, events_b):
        response, answer = invoke(lambda_client, {"events": events})
        assert response["StatusCode"] == 200 and "FunctionError" not in response, answer
        assert answer["totals"]["stored"] == len(events), answer["totals"]
    return {"a": events_a, "b": events_b}


def walk(query, token):
    """Every page of a query, following nextToken; returns the ids and the page count."""
    ids, pages, path = [], 0, f"/api/Audit?{query}"
    while True:
        status, headers, body = get(path, token)
        assert status == 200, body
        pages += 1
        ids += [item["eventId"] for item in body["items"]]
        if not body["hasMore"]:
            assert "nextToken" not in body
            return ids, pages
        assert "link" in {k.lower() for k in headers}, "a page with a successor carries a Link header"
        params = dict(urllib.parse.parse_qsl(query))
        params.pop("pageNumber", None)
        params["nextToken"] = body["nextToken"]
        path = "/api/Audit?" + urllib.parse.urlencode(params)


@pytest.mark.parametrize("query", EXAMPLES)
def test_the_contract_examples_return_exactly_the_reference_result(ingested, query):
    token = jwt({"tenantId": TENANT_A})
    expected = reference(ingested["a"], query)
    assert expected, "the data set covers every example"
    status, headers, first = get(f"/api/Audit?{query}", token)
    assert status == 200, first
    assert [i["eventId"] for i in first["items"]] == expected[:50]
    assert "server-timing" in {k.lower() for k in headers}
    ids, _ = walk(query, token)
    assert ids == expected


def test_the_reversed_range_example_is_a_400_naming_both_values(ingested):
    status, headers, body = get(
        "/api/Audit?category=600&rangeStart=2024-03-01T05:00:00.000Z&rangeEnd=2023-10-23T04:59:00.000Z",
        jwt({"tenantId": TENANT_A}),
    )
    assert status == 400
    assert headers.get("Content-Type", headers.get("content-type")).startswith("application/problem+json")
    text = json.dumps(body)
    assert "2024-03-01T05:00:00.000Z" in text and "2023-10-23T04:59:00.000Z" in text
    assert {e["parameter"] for e in body["errors"]} >= {"rangeStart", "rangeEnd"}


def test_tenants_are_isolated(ingested):
    token_a, token_b = jwt({"tenantId": TENANT_A}), jwt({"tenantId": TENANT_B})
    ids_a, _ = walk("pageSize=1000", token_a)
    ids_b, _ = walk("pageSize=1000", token_b)
    assert sorted(ids_a) == sorted(e["eventId"] for e in ingested["a"])
    assert sorted(ids_b) == sorted(e["eventId"] for e in ingested["b"])
    # A's event ids are not visible to B, even by id.
    status, _, _ = get(f"/api/Audit/{ingested['a'][0]['eventId']}", token_b)
    assert status == 404
    status, _, body = get(f"/api/Audit/{ingested['a'][0]['eventId']}", token_a)
    assert status == 200 and body["tenantId"] == TENANT_A
    # A continuation token issued to A is refused to B.
    _, _, page = get("/api/Audit?pageSize=5", token_a)
    status, _, _ = get(f"/api/Audit?pageSize=5&nextToken={page['nextToken']}", token_b)
    assert status == 400


def test_a_retried_batch_is_stored_once(lambda_client, ingested):
    response, answer = invoke(lambda_client, {"events": ingested["a"][:10]})
    assert answer["totals"]["duplicate"] == 10 and answer["totals"]["stored"] == 0
    ids, _ = walk("pageSize=1000", jwt({"tenantId": TENANT_A}))
    assert len(ids) == len(ingested["a"])


def test_an_sqs_shaped_invoke_reports_only_the_bad_record(lambda_client, ingested):
    good = dict(ingested["a"][0], eventId=f"sqs-{RUN}")
    record = lambda body, mid: {
        "messageId": mid, "receiptHandle": "h", "body": body, "attributes": {},
        "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:000000000000:audit-ingest", "awsRegion": "us-east-1",
    }
    _, answer = invoke(lambda_client, {"Records": [record(json.dumps(good), "m-1"), record("{not json", "m-2")]})
    assert answer == {"batchItemFailures": [{"itemIdentifier": "m-2"}]}
    status, _, body = get(f"/api/Audit/sqs-{RUN}", jwt({"tenantId": TENANT_A}))
    assert status == 200 and body["eventId"] == f"sqs-{RUN}"


def test_a_payload_of_more_than_1000_events_fails_the_invocation_clearly(lambda_client):
    events = [make_events(TENANT_A, "big")[0]] * 1001
    response, answer = invoke(lambda_client, {"events": events})
    assert response.get("FunctionError") == "Unhandled"
    assert answer["errorType"] and "1000" in answer["errorMessage"].replace(",", "")


def test_requests_without_a_valid_token_shape_are_unauthorized(ingested):
    status, _, _ = get("/api/Audit", "not-a-jwt")
    assert status == 401
