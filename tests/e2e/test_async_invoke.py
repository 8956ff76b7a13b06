"""No loss on the asynchronous path (docs/adr/0014-no-loss-on-the-asynchronous-path.md):
events sent with InvocationType Event while the storage engine is stalled (SIGSTOP, longer
than the ingest function's timeout) are all stored later, exactly once.

The function fails an invocation holding events it could not store (errorType
EventsNotStored); the gateway, like Lambda, answers 202 at once, retries a failed
asynchronous invocation (run.sh shortens Lambda's 1 and 2 minute waits to 1 and 2 s) and
would write one that failed every attempt to the dead-letter directory.
"""

import json
import os
import signal
import time
import urllib.parse
import uuid

from conftest import jwt, request

INGEST = "/2015-03-31/functions/IngestFunction/invocations"
INVOKES = 3
EVENTS_PER_INVOKE = 100


def ids_of(stack, tenant):
    token = jwt({"tenantId": tenant})
    ids, params = [], {"pageSize": "1000", "rangeStart": "2020-01-01"}
    for _ in range(20):
        answer = request(stack.http_url + "/api/Audit?" + urllib.parse.urlencode(params),
                         headers={"Authorization": f"Bearer {token}"}, timeout=60)
        assert answer.status == 200, answer.body[:300]
        page = answer.json()
        ids += [item["eventId"] for item in page["items"]]
        if not page["hasMore"]:
            return ids
        params["nextToken"] = page["nextToken"]
    raise AssertionError("more than 20 pages")


def test_events_of_an_async_invoke_whose_store_fails_are_all_stored_later_once(stack):
    tenant = f"async-{uuid.uuid4().hex[:8]}"
    now = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
    batches = [
        [{"eventId": f"async-{b}-{n:03d}", "tenantId": tenant, "eventType": "LoginSuccess",
          "occurredAt": now, "actor": {"id": f"u-{n}"}} for n in range(EVENTS_PER_INVOKE)]
        for b in range(INVOKES)
    ]
    with open(stack.gateway_log, "rb") as log:
        log_start = len(log.read())
    stall = stack.ingest_timeout + 2
    os.kill(stack.engine_pid, signal.SIGSTOP)
    try:
        for batch in batches:
            started = time.monotonic()
            answer = request(stack.invoke_url + INGEST, "POST", json.dumps({"events": batch}).encode(),
                             headers={"X-Amz-Invocation-Type": "Event"}, timeout=10)
            # Accepted at once, as Lambda does, however long the function will take.
            assert answer.status == 202, answer.body[:300]
            assert time.monotonic() - started < 2
        time.sleep(stall)
    finally:
        os.kill(stack.engine_pid, signal.SIGCONT)

    expected = {e["eventId"] for b in batches for e in b}
    deadline = time.monotonic() + 120
    while True:
        ids = ids_of(stack, tenant)
        if set(ids) == expected or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert set(ids) == expected, f"{len(expected - set(ids))} events never stored"
    assert len(ids) == len(expected), "an event is stored twice"
    # The first attempts failed for the stall and were retried (not answered and dropped).
    with open(stack.gateway_log, "rb") as log:
        tail = log.read()[log_start:].decode(errors="replace")
    assert "asynchronous invocation failed" in tail and "EventsNotStored" in tail, tail[-2000:]
    assert "dead-letter queue" not in tail, "no invocation may have failed every attempt"
