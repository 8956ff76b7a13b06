"""The local runtime: the functions' own binaries under AWS's Lambda Runtime Interface
Emulator (from the pinned SAM CLI), and the local gateway's own behaviour in front of them:
the Invoke API's errors and payload limit, API Gateway's request line quota, CORS, and
concurrent requests beyond the emulators of one function.
"""

import http.client
import json
import os
import socket
import subprocess
import time
import urllib.parse
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

import pytest

from conftest import jwt, request

INVOCATIONS = "/2015-03-31/functions/function/invocations"
INGEST = "/2015-03-31/functions/IngestFunction/invocations"
MAX_PAYLOAD = 6 * 1024 * 1024  # Lambda's synchronous payload limit, 6,291,456 bytes


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def api_gateway_event(path, route_key, path_parameters=None, claims=None):
    """An API Gateway HTTP API (payload 2.0) event, as API Gateway sends it to a function."""
    now = datetime.now(timezone.utc)
    context = {
        "accountId": "123456789012", "apiId": "local", "domainName": "localhost",
        "domainPrefix": "localhost", "stage": "$default", "routeKey": route_key,
        "requestId": uuid.uuid4().hex,
        "http": {"method": "GET", "path": path, "protocol": "HTTP/1.1",
                 "sourceIp": "127.0.0.1", "userAgent": "e2e"},
        "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"), "timeEpoch": int(now.timestamp() * 1000),
    }
    if claims is not None:
        context["authorizer"] = {"jwt": {"claims": claims, "scopes": None}}
    return {
        "version": "2.0", "routeKey": route_key, "rawPath": path, "rawQueryString": "",
        "headers": {"host": "localhost", "accept": "application/json"},
        "pathParameters": path_parameters or {}, "requestContext": context,
        "isBase64Encoded": False,
    }


def test_the_swagger_binary_under_the_emulator_answers_the_openapi_document(stack):
    bootstrap = os.path.join(stack.bootstrap_dir, "swagger")
    assert os.path.isfile(bootstrap), bootstrap
    invoke_port, api_port = free_port(), free_port()
    env = {
        "AWS_LAMBDA_FUNCTION_NAME": "SwaggerFunction", "AWS_LAMBDA_FUNCTION_TIMEOUT": "5",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128", "AWS_LAMBDA_LOG_FORMAT": "JSON",
        "AWS_REGION": "us-east-1", "PATH": "/usr/bin:/bin",
    }
    emulator = subprocess.Popen(
        [stack.rie, "--runtime-interface-emulator-address", f"127.0.0.1:{invoke_port}",
         "--runtime-api-address", f"127.0.0.1:{api_port}", "--log-level", "error", bootstrap],
        env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", invoke_port), timeout=1).close()
                break
            except OSError:
                assert emulator.poll() is None, "the emulator exited at start"
                assert time.monotonic() < deadline, "the emulator did not listen within 10 s"
                time.sleep(0.05)
        event = api_gateway_event(
            "/api/audit/swagger/v1/swagger.json", "GET /api/audit/swagger/{proxy+}",
            {"proxy": "v1/swagger.json"},
        )
        answer = request(f"http://127.0.0.1:{invoke_port}{INVOCATIONS}", "POST", json.dumps(event).encode())
        assert answer.status == 200, answer.body[:500]
        response = answer.json()
        assert response["statusCode"] == 200, response
        assert response["headers"]["content-type"] == "application/json"
        document = json.loads(response["body"])
        assert document["openapi"] == "3.1.0"
        assert "/api/Audit" in document["paths"]
    finally:
        emulator.kill()
        emulator.wait(timeout=10)


def children(pid):
    """The process ids whose parent is `pid`, from /proc."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(entry))
    return found


def command_line(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return [part.decode() for part in f.read().split(b"\0") if part]
    except OSError:
        return []


def environment(pid):
    with open(f"/proc/{pid}/environ", "rb") as f:
        return dict(part.decode().split("=", 1) for part in f.read().split(b"\0") if b"=" in part)


def test_the_gateway_serves_each_function_from_its_own_binary_under_the_emulator(stack):
    # Each function serves a request first, so that its execution environment has started.
    assert request(stack.http_url + "/api/Audit?pageSize=1").status == 200
    assert request(stack.http_url + "/api/audit/swagger/v1/swagger.json").status == 200
    answer = request(stack.invoke_url + INGEST, "POST", b'{"events": []}')
    assert answer.status == 200, answer.body
    # A child that has just exited (a restarted emulator not yet reaped) has no command
    # line; it is not one of the running emulators.
    emulators = [
        p
        for p in children(stack.gateway_pid)
        if command_line(p) and os.path.basename(command_line(p)[0]).startswith("aws-lambda-rie")
    ]
    if stack.runtime == "inprocess":
        assert emulators == [], "the in-process gateway starts no emulator"
        return
    assert stack.runtime == "emulator"
    by_binary = {}
    for pid in emulators:
        args = command_line(pid)
        assert args[0] == stack.rie, "the emulator is the pinned SAM CLI's"
        by_binary.setdefault(os.path.basename(args[-1]), []).append(pid)
    assert sorted(by_binary) == ["ingest", "query", "sealer", "swagger"]
    assert len(by_binary["sealer"]) == 1, "one sealer at a time, as its reserved concurrency says"
    expected = {"ingest": "IngestFunction", "query": "QueryFunction", "swagger": "SwaggerFunction",
                "sealer": "SealerFunction"}
    for binary, pids in by_binary.items():
        # The bootstrap runs as the emulator's child, with the function's environment only.
        # The gateway invokes the sealer every few seconds: wait for its first run.
        for _ in range(40):
            bootstraps = [c for p in pids for c in children(p)]
            if bootstraps:
                break
            time.sleep(0.25)
        assert bootstraps, f"no {binary} bootstrap runs under its emulators"
        for pid in bootstraps:
            assert command_line(pid)[0] == os.path.join(stack.bootstrap_dir, binary)
            env = environment(pid)
            assert env["AWS_LAMBDA_FUNCTION_NAME"] == expected[binary]
            assert env["AWS_LAMBDA_RUNTIME_API"].startswith("127.0.0.1:")
            assert not any(k.startswith(("LOCAL_", "E2E_")) for k in env), sorted(env)
            if binary != "swagger":
                assert env["AUDIT_TABLE_NAME"] == "audit-e2e"
                assert env["AUDIT_DYNAMODB_ENDPOINT"].startswith("http://127.0.0.1:")
    timeouts = {b: environment(by_binary[b][0])["AWS_LAMBDA_FUNCTION_TIMEOUT"] for b in by_binary}
    assert timeouts == {"ingest": str(stack.ingest_timeout), "query": "15", "swagger": "5",
                        "sealer": "60"}


def test_a_function_error_comes_back_through_the_invoke_api_as_lambda_reports_it(stack, lambda_client):
    answer = request(stack.invoke_url + INGEST, "POST", b"[1, 2]")
    assert answer.status == 200
    assert answer.headers["x-amz-function-error"] == "Unhandled"
    error = answer.json()
    assert set(error) == {"errorType", "errorMessage"}, error
    assert error["errorType"] == "InvalidPayload"
    assert "array" in error["errorMessage"]
    response = lambda_client.invoke(FunctionName="IngestFunction", Payload=b'"just a string"')
    assert response["StatusCode"] == 200
    assert response["FunctionError"] == "Unhandled"
    assert json.loads(response["Payload"].read())["errorType"] == "InvalidPayload"


def padded(size):
    """A JSON payload of exactly `size` bytes: one (invalid) event padded with spaces."""
    payload = b'{"eventId": "padded"}'
    return payload + b" " * (size - len(payload))


def test_the_invoke_api_takes_6_mb_and_refuses_one_byte_more_as_lambda_does(stack):
    answer = request(stack.invoke_url + INGEST, "POST", padded(MAX_PAYLOAD), timeout=60)
    assert answer.status == 200, answer.body[:300]
    assert "x-amzn-errortype" not in answer.headers
    assert answer.json()["results"][0]["status"] == "rejected"
    answer = request(stack.invoke_url + INGEST, "POST", padded(MAX_PAYLOAD + 1), timeout=60)
    assert answer.status == 413
    assert answer.headers["x-amzn-errortype"] == "RequestEntityTooLargeException"
    assert answer.headers["content-type"] == "application/json"
    body = answer.json()
    assert body["Type"] == "User" and "6291456" in body["message"], body


@pytest.mark.parametrize("length", [65_520, 65_534])
def test_a_uri_near_64_kib_is_a_414_problem_not_a_closed_connection(stack, length):
    prefix = "/api/Audit?actorId="
    path = prefix + "a" * (length - len(prefix))
    url = urllib.parse.urlsplit(stack.http_url)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        body = json.loads(response.read())
    finally:
        connection.close()
    assert response.status == 414
    assert response.getheader("content-type") == "application/problem+json"
    assert body["status"] == 414 and body["title"] == "URI Too Long"


def test_a_preflight_from_the_allowed_origin_is_answered_before_the_authorizer(stack):
    answer = request(stack.http_url + "/api/Audit", "OPTIONS", headers={
        "Origin": stack.cors_origin, "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "authorization", "Authorization": "Bearer not-a-jwt",
    })
    assert answer.status == 204
    assert answer.headers["access-control-allow-origin"] == stack.cors_origin
    assert answer.headers["access-control-allow-methods"] == "GET,HEAD,OPTIONS"
    assert answer.headers["access-control-allow-headers"] == "authorization,content-type"
    assert answer.headers["access-control-max-age"] == "600"


def test_a_request_from_the_allowed_origin_may_read_the_answer_and_another_origin_may_not(stack):
    allowed = request(stack.http_url + "/api/Audit?pageSize=1", headers={"Origin": stack.cors_origin})
    assert allowed.status == 200
    assert allowed.headers["access-control-allow-origin"] == stack.cors_origin
    assert allowed.headers["access-control-expose-headers"] == "link,server-timing,x-has-more,x-next-token"
    for method in ("GET", "OPTIONS"):
        other = request(stack.http_url + "/api/Audit?pageSize=1", method, headers={
            "Origin": "https://elsewhere.example.com", "Access-Control-Request-Method": "GET",
        })
        assert other.status == (200 if method == "GET" else 204)
        assert not [h for h in other.headers if h.startswith("access-control-")], other.headers


def test_more_concurrent_requests_than_emulators_are_all_served(stack):
    token = jwt({"tenantId": "local"})
    paths = [f"/api/Audit?pageSize={n}" for n in range(1, 17)]  # 16 requests, 4 emulators
    with ThreadPoolExecutor(max_workers=16) as pool:
        answers = list(pool.map(
            lambda p: request(stack.http_url + p, headers={"Authorization": f"Bearer {token}"}, timeout=60),
            paths,
        ))
    assert [a.status for a in answers] == [200] * 16
    assert [len(a.json()["items"]) for a in answers] == list(range(1, 17))
