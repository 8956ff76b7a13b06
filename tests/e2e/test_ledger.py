"""The ledger through the public API of the running local stack: the sealer (every 3 s)
seals the seeded events, then audit-verify (the workspace binary) verifies the default
tenant's whole ledger through HTTP, and an independent Python implementation
(ledger_check.py: hashlib, cryptography, rfc8785; none of our code) checks one event's
leaf hash, inclusion proof and checkpoint signature, with the key derived from the local
key file rather than the one the API serves.
"""

import os
import subprocess
import time
from pathlib import Path

import pytest

from conftest import request

HERE = Path(__file__).resolve().parent


def ledger_python():
    python = os.environ.get("E2E_LEDGER_PYTHON")
    if not python:
        pytest.fail("E2E_LEDGER_PYTHON not set: run this through tests/e2e/run.sh")
    return python


def key_file():
    state = os.environ.get("E2E_STATE_DIR")
    if not state:
        pytest.fail("E2E_STATE_DIR not set: run this through tests/e2e/run.sh")
    return str(Path(state) / "signing.key")


def sealed(stack, event_id, within=150):
    """Waits until the event has a proof (its minute ended and was sealed)."""
    deadline = time.monotonic() + within
    while True:
        answer = request(f"{stack.http_url}/api/Audit/{event_id}/proof")
        if answer.status == 200:
            return answer.json()
        assert answer.status == 409, (answer.status, answer.body)
        assert "not sealed yet" in answer.json()["detail"]
        assert time.monotonic() < deadline, f"{event_id} not sealed after {within} s"
        time.sleep(2)


def test_an_inclusion_proof_and_a_checkpoint_signature_check_out_independently(stack):
    sealed(stack, "seed-000000")
    for event_id in ["seed-000000", "seed-000100", "seed-000199"]:
        out = subprocess.run(
            [ledger_python(), str(HERE / "ledger_check.py"), stack.http_url, event_id, key_file()],
            capture_output=True, text=True, timeout=60,
        )
        assert out.returncode == 0, out.stdout + out.stderr
        assert out.stdout.startswith(f"ok: {event_id} is leaf "), out.stdout


def test_audit_verify_verifies_the_sealed_range_through_the_api(stack):
    sealed(stack, "seed-000199")
    key = subprocess.run(
        [ledger_python(), "-c",
         "import sys, ledger_check; print(ledger_check.key_from_key_file(sys.argv[1]))", key_file()],
        capture_output=True, text=True, timeout=30, cwd=HERE, check=True,
    ).stdout.strip()
    binary = str(Path(stack.bootstrap_dir) / "audit-verify")
    out = subprocess.run(
        [binary, "--url", stack.http_url, "--key", key, "--proofs"],
        capture_output=True, text=True, timeout=300,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    counts = dict(line.rsplit(" ", 1) for line in out.stdout.splitlines()[:5])
    assert int(counts["verified"]) >= 200, out.stdout
    for finding in ["modified", "missing", "unexpected", "chain broken"]:
        assert counts[finding] == "0", out.stdout
    # Without a key of its own, it refuses to run (exit 2), unless told to trust the API.
    refused = subprocess.run([binary, "--url", stack.http_url], capture_output=True, text=True, timeout=30)
    assert refused.returncode == 2 and "--key" in refused.stderr, refused.stderr
    # A wrong key: every checkpoint's signature fails.
    wrong = key.split("+")
    wrong[0] = "someone.else"
    out = subprocess.run(
        [binary, "--url", stack.http_url, "--key", "+".join(wrong)],
        capture_output=True, text=True, timeout=120,
    )
    assert out.returncode in (1, 2), out.stdout + out.stderr


def test_the_verifier_key_is_public(stack):
    answer = request(f"{stack.http_url}/api/Audit/ledger/keys")
    assert answer.status == 200
    body = answer.json()
    assert body["leafFormat"] == "audit-event/v1"
    assert body["originPrefix"] == "audit.local"
    assert len(body["keys"]) == 1
