"""The formats of GET /api/Audit and the `audit export` command against the local stack.

Events of a tenant of its own are ingested through the Lambda Invoke API; the JSON pages of
a quarter (followed by nextToken) are the reference. The NDJSON, CSV and OCSF pages of the
same filter must hold exactly those items; the exporter, stopped after a few pages (and
killed mid-way), then resumed, must write the same file as an uninterrupted run, which
Python's csv module reads to exactly the reference rows, formula-like cells inert.
"""

import csv
import io
import json
import os
import signal
import subprocess
import time
import urllib.parse
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from conftest import jwt, request

QUARTER = "rangeStart=2026-01-01&rangeEnd=2026-03-31"
TRICKY = ["=1+2", "+cmd", "-5 retries", "@SUM(A1)", "\tlead", "comma, \"quote\"\nnewline"]


@pytest.fixture(scope="module")
def tenant(stack, lambda_client):
    """A tenant of its own: 240 events in the quarter, 20 outside it."""
    name = f"export-{uuid.uuid4().hex[:8]}"
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    events = []
    for n in range(260):
        at = start + timedelta(minutes=523 * n) if n < 240 else start - timedelta(days=n - 239)
        events.append({
            "eventId": f"x-{n:04d}", "tenantId": name, "eventType": [104, 202, 301, 603, 802][n % 5],
            "occurredAt": at.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            "actor": {"id": f"user-{n % 7}", "name": "Export, \"E2E\"", "ipAddress": "198.51.100.9"},
            "target": {"type": "Flow", "id": f"flow-{n % 3}", "name": "=payroll" if n % 11 == 0 else "payroll"},
            "description": TRICKY[n % len(TRICKY)],
            "metadata": {"k": "v,w"},
        })
    response = lambda_client.invoke(FunctionName="IngestFunction",
                                     Payload=json.dumps({"events": events}).encode())
    answer = json.loads(response["Payload"].read())
    assert answer["totals"]["stored"] == len(events), answer["totals"]
    return {"token": jwt({"tenantId": name}), "count": 240}


def pages(stack, token, fmt, page_size=37):
    """Every page of the quarter in `fmt`, following X-Next-Token: the answers."""
    answers, next_token = [], None
    while True:
        params = {"rangeStart": "2026-01-01", "rangeEnd": "2026-03-31", "pageSize": page_size, "format": fmt}
        if next_token:
            params["nextToken"] = next_token
        answer = request(f"{stack.http_url}/api/Audit?{urllib.parse.urlencode(params)}",
                         headers={"Authorization": f"Bearer {token}"})
        assert answer.status == 200, answer.body[:500]
        answers.append(answer)
        next_token = answer.headers.get("x-next-token")
        assert answer.headers.get("x-has-more") == ("true" if next_token else "false")
        if not next_token:
            return answers


@pytest.fixture(scope="module")
def reference(stack, tenant):
    items = [i for a in pages(stack, tenant["token"], "json") for i in a.json()["items"]]
    assert len(items) == tenant["count"]
    return items


def test_ndjson_csv_and_ocsf_pages_hold_exactly_the_json_items(stack, tenant, reference):
    lines = [json.loads(l) for a in pages(stack, tenant["token"], "ndjson")
             for l in a.body.decode().splitlines()]
    assert lines == reference
    rows = []
    for answer in pages(stack, tenant["token"], "csv"):
        assert answer.headers["content-type"].startswith("text/csv")
        rows += list(csv.DictReader(io.StringIO(answer.body.decode(), newline="")))
    assert [r["eventId"] for r in rows] == [i["eventId"] for i in reference]
    records = [r for a in pages(stack, tenant["token"], "ocsf") for r in a.json()]
    assert [r["metadata"]["uid"] for r in records] == [i["eventId"] for i in reference]


def export(stack, tenant, tmp_path, name, fmt="csv", extra=(), wait=True):
    args = [os.path.join(stack.bootstrap_dir, "audit"), "export", "--url", stack.http_url,
            "--token", tenant["token"], "--query", QUARTER, "--format", fmt,
            "--output", str(tmp_path / f"{name}.{fmt}"), "--state", str(tmp_path / f"{name}.state"),
            "--page-size", "7", *extra]
    if not wait:
        return subprocess.Popen(args, stderr=subprocess.PIPE)
    return subprocess.run(args, capture_output=True, timeout=300)


def test_an_export_stopped_and_resumed_is_the_uninterrupted_file_and_parses(stack, tenant, reference, tmp_path):
    whole = export(stack, tenant, tmp_path, "whole")
    assert whole.returncode == 0, whole.stderr
    expected = (tmp_path / "whole.csv").read_bytes()

    stopped = export(stack, tenant, tmp_path, "cut", extra=["--stop-after-pages", "3"])
    assert stopped.returncode == 3, stopped.stderr
    state = json.loads((tmp_path / "cut.state").read_text())
    assert state["events"] == 21 and not state["done"]
    # A crash after a page was written, before the state recorded it.
    with open(tmp_path / "cut.csv", "ab") as f:
        f.write(b"x-9999,a row the state does not know of\r\n")
    resumed = export(stack, tenant, tmp_path, "cut")
    assert resumed.returncode == 0, resumed.stderr
    assert (tmp_path / "cut.csv").read_bytes() == expected

    rows = list(csv.reader(io.StringIO(expected.decode(), newline="")))
    header, rows = rows[0], rows[1:]
    assert len(rows) == tenant["count"]
    ids = [r[0] for r in rows]
    assert len(set(ids)) == len(ids), "no duplicate"
    assert ids == [i["eventId"] for i in reference], "no gap, the listing's order"
    description = header.index("description")
    cells = {r[description] for r in rows}
    assert {"'=1+2", "'+cmd", "'-5 retries", "'@SUM(A1)", "'\tlead", "comma, \"quote\"\nnewline"} <= cells
    assert not any(c.startswith(("=", "+", "-", "@", "\t", "\r")) for r in rows for c in r)


def test_an_export_killed_mid_way_resumes_to_the_same_file(stack, tenant, reference, tmp_path):
    for fmt in ("ndjson", "ocsf"):
        whole = export(stack, tenant, tmp_path, f"whole-{fmt}", fmt)
        assert whole.returncode == 0, whole.stderr
        expected = (tmp_path / f"whole-{fmt}.{fmt}").read_bytes()
        process = export(stack, tenant, tmp_path, f"killed-{fmt}", fmt, wait=False)
        state_file = tmp_path / f"killed-{fmt}.state"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if state_file.exists() and json.loads(state_file.read_text() or "{}").get("pages", 0) >= 5:
                break
            time.sleep(0.01)
        process.send_signal(signal.SIGKILL)
        process.wait()
        state = json.loads(state_file.read_text())
        assert not state["done"], "killed before the end"
        resumed = export(stack, tenant, tmp_path, f"killed-{fmt}", fmt)
        assert resumed.returncode == 0, resumed.stderr
        assert (tmp_path / f"killed-{fmt}.{fmt}").read_bytes() == expected
        lines = expected.decode().splitlines()
        assert len(lines) == tenant["count"]
        if fmt == "ndjson":
            assert [json.loads(l) for l in lines] == reference
        else:
            assert [json.loads(l)["metadata"]["uid"] for l in lines] == [i["eventId"] for i in reference]
