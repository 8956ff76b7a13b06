"""Fault test: the storage engine stalls (SIGSTOP on DynamoDB Local's java process) past the
ingest function's deadline while concurrent batches are being stored.

What the ingest contract promises (docs/events.md) must hold: every event answered `stored`
is readable; every event answered `failed` is stored exactly once after the sender retries
it; resending everything answers `duplicate` for every event. The engine is always resumed
(SIGCONT in a finally), and every wait is bounded.
"""

import json
import os
import signal
import threading
import time
import urllib.parse
import uuid
from concurrent.futures import ThreadPoolExecutor

from conftest import jwt, request

INGEST = "/2015-03-31/functions/IngestFunction/invocations"
BATCHES = 4
EVENTS_PER_BATCH = 400
MAX_BATCH = 1000  # events per invocation
READABLE_BEFORE_STALL = 50  # of 1,600: the engine stalls in the middle of the batches


def events(tenant, batch):
    return [
        {
            "eventId": f"fault-{batch}-{n:04d}",
            "tenantId": tenant,
            "eventType": 101 + n % 11,
            "occurredAt": f"2024-03-{1 + batch:02d}T{n // 60 % 24:02d}:{n % 60:02d}:00.000Z",
            "actor": {"id": f"user-{n % 7}"},
            "description": "fault test event",
        }
        for n in range(EVENTS_PER_BATCH)
    ]


def ingest(stack, payload, timeout):
    """The per-event answer. An invocation holding `failed` events fails with errorType
    `EventsNotStored` and the whole answer as its message (docs/adr/0014), so that an
    asynchronous invoke is retried by Lambda; a synchronous caller reads it there."""
    answer = request(stack.invoke_url + INGEST, "POST", json.dumps(payload).encode(), timeout=timeout)
    assert answer.status == 200, answer.body[:500]
    if "x-amz-function-error" in answer.headers:
        error = answer.json()
        assert error["errorType"] == "EventsNotStored", answer.body[:500]
        body = json.loads(error["errorMessage"])
        assert body["totals"]["failed"] > 0
        return body
    return answer.json()


def statuses(answer):
    return {r["eventId"]: r["status"] for r in answer["results"]}


def all_ids(stack, token, page_size=1000):
    """Every event id of the tenant, following nextToken, with repetitions if any (the
    first page only with a `page_size` below 1000)."""
    ids, params = [], {"pageSize": str(page_size)}
    for _ in range(50):
        answer = request(stack.http_url + "/api/Audit?" + urllib.parse.urlencode(params),
                         headers={"Authorization": f"Bearer {token}"}, timeout=60)
        assert answer.status == 200, answer.body[:500]
        page = answer.json()
        ids += [item["eventId"] for item in page["items"]]
        if not page["hasMore"] or page_size < 1000:
            return ids
        params["nextToken"] = page["nextToken"]
    raise AssertionError("more than 50 pages")


def test_a_stalled_engine_loses_no_event_and_stores_none_twice(stack):
    tenant = f"fault-{uuid.uuid4().hex[:8]}"
    token = jwt({"tenantId": tenant})
    batches = [events(tenant, b) for b in range(BATCHES)]
    # The stall outlasts the ingest function's deadline (its timeout less a margin).
    stall = stack.ingest_timeout + 2
    answer_timeout = stack.ingest_timeout + stall + 30
    stopped = threading.Event()

    def stall_engine():
        # Stall once the first events are readable: some writes are done, most are not.
        deadline = time.monotonic() + 30
        while len(all_ids(stack, token, page_size=READABLE_BEFORE_STALL)) < READABLE_BEFORE_STALL:
            assert time.monotonic() < deadline, "no event became readable within 30 s"
            time.sleep(0.02)
        os.kill(stack.engine_pid, signal.SIGSTOP)
        stopped.set()
        time.sleep(stall)

    try:
        with ThreadPoolExecutor(max_workers=BATCHES + 1) as pool:
            staller = pool.submit(stall_engine)
            sent = [pool.submit(ingest, stack, {"events": b}, answer_timeout) for b in batches]
            answers = [f.result(timeout=answer_timeout + 10) for f in sent]
            staller.result(timeout=stall + 10)
    finally:
        os.kill(stack.engine_pid, signal.SIGCONT)
    assert stopped.is_set()

    first = {}
    for answer in answers:
        first.update(statuses(answer))
    assert len(first) == BATCHES * EVENTS_PER_BATCH
    assert set(first.values()) <= {"stored", "failed"}, sorted(set(first.values()))
    failed = [i for i, s in first.items() if s == "failed"]
    stored = [i for i, s in first.items() if s == "stored"]
    assert failed, "the stall outlasted the deadline: some events must have failed"
    assert stored, "the engine stalled once events were readable: some must be stored"

    # Every event answered `stored` is readable.
    readable = set(all_ids(stack, token))
    assert set(stored) <= readable, sorted(set(stored) - readable)[:10]

    # The sender retries the failed ones: each is stored now, or was already (`duplicate`).
    by_id = {e["eventId"]: e for b in batches for e in b}
    retried = {}
    for start in range(0, len(failed), MAX_BATCH):
        chunk = [by_id[i] for i in failed[start:start + MAX_BATCH]]
        retried.update(statuses(ingest(stack, {"events": chunk}, 120)))
    assert set(retried) == set(failed)
    assert set(retried.values()) <= {"stored", "duplicate"}, sorted(set(retried.values()))

    # Exactly once each: every event of every batch, none twice.
    ids = all_ids(stack, token)
    assert len(ids) == len(set(ids)), "an event is stored twice"
    assert set(ids) == set(by_id)

    # Resending everything answers `duplicate` for every event.
    for batch in batches:
        again = statuses(ingest(stack, {"events": batch}, 120))
        assert set(again.values()) == {"duplicate"}, sorted(set(again.values()))
