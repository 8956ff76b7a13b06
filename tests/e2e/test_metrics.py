"""The functions' metric lines in the local gateway's log, as `make dev` shows them: one
CloudWatch Embedded Metric Format line per ingest invocation and per query request, in both
runtimes (the functions' own standard output under the emulator, the handlers' in process).

The lines are checked here only for what the log must show (one JSON object per line with
the `_aws` metadata, the namespace, the dimension and the counts); the Rust tests hold them
to every rule of the specification.
"""

import json
import time

from conftest import request

NAMESPACE = "AuditLog"


def metric_lines(path, offset):
    """The EMF lines the log holds after `offset` bytes, parsed."""
    with open(path, "rb") as log:
        log.seek(offset)
        text = log.read().decode("utf-8", "replace")
    lines = []
    for line in text.splitlines():
        if not line.startswith("{") or '"_aws"' not in line:
            continue
        document = json.loads(line)  # the whole line is the JSON object, nothing around it
        lines.append(document)
    return lines


def wait_for(path, offset, accept, timeout=10):
    """The first EMF line after `offset` that `accept` takes, waiting for the log to show it."""
    deadline = time.monotonic() + timeout
    while True:
        found = [d for d in metric_lines(path, offset) if accept(d)]
        if found:
            return found[0]
        assert time.monotonic() < deadline, f"no such metric line in {path} after {offset} bytes"
        time.sleep(0.1)


def log_size(path):
    with open(path, "rb") as log:
        return len(log.read())


def check_shape(document, dimension, metrics):
    directive = document["_aws"]["CloudWatchMetrics"][0]
    assert isinstance(document["_aws"]["Timestamp"], int)
    assert directive["Namespace"] == NAMESPACE
    assert directive["Dimensions"] == [[dimension]]
    assert [m["Name"] for m in directive["Metrics"]] == metrics
    for name in metrics:
        assert isinstance(document[name], (int, float)), name


def test_a_batch_with_rejected_events_shows_its_metric_line_in_the_log(stack, lambda_client):
    offset = log_size(stack.gateway_log)
    events = [
        {"eventId": "metrics-e2e-1", "tenantId": "metrics-e2e", "eventType": "LoginFailed",
         "occurredAt": "2026-01-01T10:00:00Z", "actor": {"id": "u-1"}},
        {"eventId": "metrics-e2e-2", "tenantId": "metrics-e2e", "eventType": 999,
         "occurredAt": "2026-01-01T10:00:00Z", "actor": {"id": "u-1"}},
        {"tenantId": "metrics-e2e"},
    ]
    answer = lambda_client.invoke(FunctionName="IngestFunction", Payload=json.dumps({"events": events}))
    totals = json.loads(answer["Payload"].read())["totals"]
    assert (totals["rejected"], totals["received"]) == (2, 3)
    line = wait_for(
        stack.gateway_log, offset,
        lambda d: d.get("Source") == "direct" and d.get("EventsReceived") == 3 and d.get("EventsRejected") == 2,
    )
    check_shape(line, "Source", ["EventsReceived", "EventsStored", "EventsDuplicate",
                                 "EventsConflict", "EventsRejected", "EventsFailed"])
    assert line["EventsStored"] + line["EventsDuplicate"] == 1


def test_a_query_request_shows_its_metric_line_in_the_log(stack):
    offset = log_size(stack.gateway_log)
    answer = request(f"{stack.http_url}/api/Audit/categories")
    assert answer.status == 200
    line = wait_for(stack.gateway_log, offset, lambda d: d.get("Route") == "listCategories")
    check_shape(line, "Route", ["ItemsRead", "ItemsReturned", "ReadCapacityUnits", "PartialPage"])
    assert line["PartialPage"] == 0
