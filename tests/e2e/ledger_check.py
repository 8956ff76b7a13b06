"""An independent check of one event's inclusion proof and its checkpoint's signature,
against a running stack, with none of the service's code: hashlib, `cryptography` (Ed25519)
and `rfc8785` only, written from docs/ledger.md and the RFCs (RFC 6962 / 9162 hashing and
audit paths, C2SP signed-note and tlog-checkpoint).

    ledger_check.py <base URL> <event id> [<signing key file>]

With the key file (the local stack's `PRIVATE+KEY+...`), the verifier key is derived from
it and must equal what `GET /api/Audit/ledger/keys` serves; the check then uses the derived
key, not the served one. Prints what it checked; exits non-zero on any mismatch. Run by
tests/e2e/test_ledger.py with the ledger environment's Python (infra/python/
ledger-requirements.txt).
"""

import base64
import hashlib
import json
import sys
import urllib.request

import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

# The top-level members the audit-event/v1 leaf covers (docs/ledger.md).
V1_FIELDS = {
    "eventId", "tenantId", "eventType", "eventTypeName", "category", "categoryName",
    "occurredAt", "recordedAt", "actor", "target", "organizationId", "outcome",
    "description", "changes", "metadata", "source", "correlationId", "expiresAt",
}


def get(base, path):
    with urllib.request.urlopen(base + path, timeout=30) as response:
        return json.loads(response.read())


def leaf_hash(event):
    kept = {k: v for k, v in event.items() if k in V1_FIELDS}
    return hashlib.sha256(b"\x00" + rfc8785.dumps(kept)).digest()


def node(left, right):
    return hashlib.sha256(b"\x01" + left + right).digest()


def root_from_audit_path(leaf, index, size, path):
    """RFC 9162 section 2.1.3.2."""
    if index >= size:
        raise ValueError("index out of range")
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            raise ValueError("audit path too long")
        if fn & 1 or fn == sn:
            r = node(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ValueError("audit path too short")
    return r


def key_hash(name, public_key):
    return hashlib.sha256(name.encode() + b"\n" + b"\x01" + public_key).digest()[:4]


def verifier_key_text(name, public_key):
    blob = base64.b64encode(b"\x01" + public_key).decode()
    return f"{name}+{key_hash(name, public_key).hex()}+{blob}"


def parse_verifier_key(text):
    name, hash_hex, blob = text.strip().split("+", 2)
    raw = base64.b64decode(blob)
    if raw[0] != 1 or len(raw) != 33 or key_hash(name, raw[1:]).hex() != hash_hex:
        raise ValueError(f"not an Ed25519 verifier key: {text}")
    return name, raw[1:]


def key_from_key_file(path):
    text = open(path, encoding="utf-8").read().strip()
    assert text.startswith("PRIVATE+KEY+"), "not a key file"
    name, _hash, blob = text[len("PRIVATE+KEY+"):].split("+", 2)
    raw = base64.b64decode(blob)
    assert raw[0] == 1 and len(raw) == 33
    public = Ed25519PrivateKey.from_private_bytes(raw[1:]).public_key().public_bytes_raw()
    return verifier_key_text(name, public)


def verify_note(note, name, public_key):
    """C2SP signed-note: the text, a blank line, signature lines `— <name> <base64>`."""
    text, _, signatures = note.partition("\n\n")
    text += "\n"
    for line in signatures.splitlines():
        if not line.startswith("\u2014 "):
            raise ValueError(f"not a signature line: {line!r}")
        signer, blob = line[2:].split(" ", 1)
        raw = base64.b64decode(blob)
        if signer == name and raw[:4] == key_hash(name, public_key):
            Ed25519PublicKey.from_public_bytes(public_key).verify(raw[4:], text.encode())
            return text
    raise ValueError("no signature by the key")


def main(base, event_id, key_file=None):
    served = get(base, "/api/Audit/ledger/keys")
    key_text = served["keys"][0]
    if key_file:
        derived = key_from_key_file(key_file)
        assert derived == key_text, f"served key {key_text} is not the key file's {derived}"
        key_text = derived
    name, public_key = parse_verifier_key(key_text)

    event = get(base, f"/api/Audit/{event_id}")
    proof = get(base, f"/api/Audit/{event_id}/proof")
    assert proof["leafFormat"] == "audit-event/v1", proof["leafFormat"]
    leaf = leaf_hash(event)
    assert base64.b64encode(leaf).decode() == proof["leafHash"], "leaf hash differs"

    body = verify_note(proof["checkpoint"], name, public_key)
    lines = body.split("\n")
    origin, size, root = lines[0], int(lines[1]), base64.b64decode(lines[2])
    assert origin == f"{served['originPrefix']}/{event['tenantId']}", origin
    assert size == proof["treeSize"], (size, proof["treeSize"])
    path = [base64.b64decode(h) for h in proof["auditPath"]]
    computed = root_from_audit_path(leaf, proof["leafIndex"], size, path)
    assert computed == root, "the audit path does not lead to the checkpoint's root"
    print(f"ok: {event_id} is leaf {proof['leafIndex']} of {origin} at size {size}, "
          f"signed by {name}")


if __name__ == "__main__":
    main(*sys.argv[1:])
