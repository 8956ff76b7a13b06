"""Fuzzing of the HTTP API against its own OpenAPI document, on the local stack.

schemathesis (pinned, with everything it pulls in, by infra/python/fuzz-requirements.txt,
installed into its own environment .venv/fuzz/ by `make e2e`) reads the document the stack
serves and sends every operation generated requests, with a fixed seed and a bounded number
of cases, as a caller of the local default tenant. Every response must be what the document
says: no server error, no status code the operation does not document, and a content type,
headers and body that match the documented ones. Nothing is fetched from the network: the
document comes from the local gateway.

`tests/e2e/run.sh` starts the engine and the gateway and passes the gateway's URL in
E2E_HTTP_URL; without it, or without the fuzz environment, the test fails.
"""

import base64
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCHEMATHESIS = ROOT / ".venv" / "fuzz" / "bin" / "schemathesis"
DOCUMENT = ROOT / "docs" / "openapi.json"

# Fixed, so that a run can be repeated case for case.
SEED = 20261126
# Per operation; the listing and the single event each get this many generated cases, on
# top of the examples and coverage phases, so the run sends at least MIN_CASES in total.
MAX_EXAMPLES = 150
MIN_CASES = 300
CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_headers_conformance",
        "response_schema_conformance",
    ]
)


def jwt(claims):
    """An unsigned JWT: the local gateway decodes claims without verification."""
    enc = lambda obj: base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()
    return f"{enc({'alg': 'none', 'typ': 'JWT'})}.{enc(claims)}.sig"


def test_the_event_id_pattern_is_the_rule_of_ingestion():
    """The documented pattern, which the fuzzer generates from, refuses what ingestion
    refuses and a URL path cannot carry back, and accepts the rest."""
    document = json.loads(DOCUMENT.read_text(encoding="utf-8"))
    parameter = document["paths"]["/api/Audit/{eventId}"]["get"]["parameters"][0]
    pattern = re.compile(parameter["schema"]["pattern"])
    for ok in ["a", "...", ".a", "..b", "a.", "01HQZX3J8Y6K2M4N5P7R9S0T1V", "x" * 128, "a:b_c-d"]:
        assert pattern.search(ok), ok
    for bad in [".", "..", "", "a b", "a/b", "a#b", "é"]:
        assert not pattern.search(bad), bad
    assert parameter["schema"]["maxLength"] == 128 and parameter["schema"]["minLength"] == 1


def test_schemathesis_finds_no_server_error_and_no_response_the_document_does_not_describe(
    capsys, tmp_path
):
    http = os.environ.get("E2E_HTTP_URL")
    if not http:
        pytest.fail("E2E_HTTP_URL is not set: run this through tests/e2e/run.sh (make test)")
    if not SCHEMATHESIS.exists():
        pytest.fail(
            f"{SCHEMATHESIS} is missing: `make e2e` installs it "
            "(bash infra/scripts/venv.sh --env fuzz infra/python/fuzz-requirements.txt)"
        )
    tenant = os.environ.get("LOCAL_DEFAULT_TENANT", "local")
    report = tmp_path / "report.ndjson"
    command = [
        str(SCHEMATHESIS),
        "run",
        f"{http}/api/audit/swagger/v1/swagger.json",
        "--url",
        http,
        "--header",
        f"Authorization: Bearer {jwt({'tenantId': tenant})}",
        "--checks",
        CHECKS,
        "--mode",
        "positive",
        "--phases",
        "examples,coverage,fuzzing",
        "--max-examples",
        str(MAX_EXAMPLES),
        "--seed",
        str(SEED),
        "--workers",
        "1",
        "--generation-database",
        "none",
        "--request-timeout",
        "30",
        "--report",
        "ndjson",
        "--report-ndjson-path",
        str(report),
        "--no-color",
    ]
    env = dict(os.environ, SCHEMATHESIS_TELEMETRY="false", NO_COLOR="1")
    run = subprocess.run(command, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=900)
    output = run.stdout + run.stderr
    cases = count_cases(report)
    with capsys.disabled():
        # The summary belongs in the test command's output whatever the outcome.
        summary = output[output.find("SUMMARY") :] if "SUMMARY" in output else output[-4000:]
        sys.stdout.write(f"\n--- schemathesis (seed {SEED}, {cases} cases) ---\n{summary.strip()}\n")
    assert run.returncode == 0, output[-20000:]
    assert cases >= MIN_CASES, f"only {cases} cases were sent"


def count_cases(report):
    """The number of requests schemathesis sent, from its NDJSON event stream."""
    if not report.exists():
        return 0
    sent = 0
    for line in report.read_text(encoding="utf-8").splitlines():
        if '"ScenarioFinished"' not in line:
            continue
        event = json.loads(line)
        recorder = event.get("ScenarioFinished", {}).get("recorder", {})
        sent += sum(len(interactions) for interactions in [recorder.get("interactions", {})])
    return sent
