"""`audit follow` on the local stack, as a SIEM forwarder runs it for weeks.

The follower reads the feed through a gateway of this test's own (the same engine, tables
and keys as the suite's; the suite's gateway goes on sealing), with tokens from a
`--token-command` that live 6 s, one in three of them already expired (the gateway answers
401, as API Gateway's JWT authorizer would). The test's gateway is stopped for 30 s and
started again on the same port. The follower must keep running throughout, and its output
must hold every event of the tenant exactly once, in the feed's order.
"""

import json
import os
import socket
import subprocess
import sys
import time
import uuid
from datetime import datetime, timezone

TOKEN_COMMAND = r'''
import base64, json, sys, time
counter, tenant = sys.argv[1], sys.argv[2]
try:
    n = int(open(counter).read() or 0) + 1
except FileNotFoundError:
    n = 1
open(counter, "w").write(str(n))
exp = int(time.time()) + (-1 if n % 3 == 0 else 6)
enc = lambda o: base64.urlsafe_b64encode(json.dumps(o).encode()).rstrip(b"=").decode()
print(f"{enc({'alg': 'none'})}.{enc({'tenantId': tenant, 'exp': exp})}.sig")
'''


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_gateway(stack, port, log_path):
    env = dict(
        os.environ,
        AUDIT_DYNAMODB_ENDPOINT=os.environ["E2E_DYNAMODB_ENDPOINT"],
        AWS_REGION="us-east-1",
        AUDIT_TABLE_NAME=os.environ["E2E_TABLE_NAME"],
        AUDIT_LEDGER_TABLE=f"{os.environ['E2E_TABLE_NAME']}-ledger",
        LOCAL_STATE_DIR=os.environ["E2E_STATE_DIR"],
        LOCAL_HTTP_PORT=str(port),
        LOCAL_INVOKE_PORT=str(free_port()),
        SEED="0",
        LOCAL_RUNTIME="inprocess",
        LOCAL_SEAL_INTERVAL="0",
    )
    log = open(log_path, "w")
    process = subprocess.Popen([os.path.join(stack.bootstrap_dir, "gateway")], env=env,
                               stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if "  Ready." in open(log_path).read():
            return process
        assert process.poll() is None, open(log_path).read()
        time.sleep(0.2)
    raise AssertionError(f"gateway not ready: {open(log_path).read()}")


def ingest(lambda_client, tenant, first, count):
    now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    events = [{
        "eventId": f"f-{n:05d}", "tenantId": tenant, "eventType": [104, 202, 301][n % 3],
        "occurredAt": now, "actor": {"id": f"user-{n % 5}", "name": "Follower"},
        "target": {"type": "Flow", "id": f"flow-{n % 4}", "name": "payroll"},
        "description": f"event {n}",
    } for n in range(first, first + count)]
    response = lambda_client.invoke(FunctionName="IngestFunction",
                                    Payload=json.dumps({"events": events}).encode())
    answer = json.loads(response["Payload"].read())
    assert answer["totals"]["stored"] == count, answer
    return [e["eventId"] for e in events]


def lines(path):
    text = open(path).read() if os.path.exists(path) else ""
    return [json.loads(l) for l in text.splitlines() if l.endswith("}")]


def wait_for(path, count, follower, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert follower.poll() is None, "the follower must keep running"
        if len(lines(path)) >= count:
            return
        time.sleep(0.5)
    raise AssertionError(f"{len(lines(path))} of {count} events after {seconds} s")


def test_a_follower_outlives_a_stopped_gateway_and_expiring_tokens(stack, lambda_client, tmp_path):
    tenant = f"follow-{uuid.uuid4().hex[:8]}"
    port = free_port()
    gateway = start_gateway(stack, port, tmp_path / "gateway-1.log")
    counter = tmp_path / "tokens"
    script = tmp_path / "token.py"
    script.write_text(TOKEN_COMMAND)
    output, errors = tmp_path / "feed.ndjson", tmp_path / "follow.err"
    expected = ingest(lambda_client, tenant, 0, 300)
    follower = subprocess.Popen(
        [os.path.join(stack.bootstrap_dir, "audit"), "follow", f"--url=http://127.0.0.1:{port}/api/Audit",
         "--token-command", f"{sys.executable} {script} {counter} {tenant}",
         "--page-size=40", "--timeout=5"],
        stdout=open(output, "wb"), stderr=open(errors, "wb"))
    try:
        wait_for(output, 300, follower, 120)
        expected += ingest(lambda_client, tenant, 300, 200)
        gateway.terminate()
        gateway.wait(timeout=30)
        time.sleep(30)
        assert follower.poll() is None, "the follower kept running while the gateway was stopped"
        gateway = start_gateway(stack, port, tmp_path / "gateway-2.log")
        wait_for(output, 500, follower, 150)
        time.sleep(8)  # a token or two more expire; nothing else may arrive
        assert follower.poll() is None
    finally:
        follower.terminate()
        follower.wait(timeout=30)
        gateway.terminate()
        gateway.wait(timeout=30)
    ids = [e["eventId"] for e in lines(output)]
    assert len(ids) == len(set(ids)), "no event twice"
    assert sorted(ids) == sorted(expected), "every event"
    log = open(errors).read()
    assert "Connection refused" in log, log[-2000:]
    assert int(counter.read_text()) >= 6, "tokens were renewed (expired ones on 401)"
