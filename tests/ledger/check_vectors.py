#!/usr/bin/env python3
"""Independent check of the ledger's test vectors (tests/fixtures/ledger/vectors.json).

Shares no code with the service: it recomputes, from the definitions in docs/ledger.md and
the RFCs, with hashlib, the `rfc8785` package and `cryptography`:
  - every event's leaf data (RFC 8785 over the audit-event/v1 members) and leaf hash;
  - the RFC 8785 number and object samples;
  - the rule for numbers: accepted numbers hash alike as sent and as served, refused ones
    break the rule as docs/events.md states it;
  - the RFC 6962 leaf hashes, roots and proofs of Certificate Transparency's reference tree,
    proofs checked by an own implementation of RFC 9162 sections 2.1.3.2 and 2.1.4.2;
  - the event tree's roots and its inclusion and consistency proofs;
  - the checkpoints: verifier key, key hash, Ed25519 signatures, body lines and the chain.
Prints one line per check and exits non-zero on any mismatch.

    .venv/ledger/bin/python tests/ledger/check_vectors.py [vectors.json]
"""

import base64
import hashlib
import json
import struct
import sys
from pathlib import Path

import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

DEFAULT = Path(__file__).resolve().parents[1] / "fixtures" / "ledger" / "vectors.json"

# docs/ledger.md, "Leaf data": the top-level members of audit-event/v1.
V1_FIELDS = {
    "eventId", "tenantId", "eventType", "eventTypeName", "category", "categoryName",
    "occurredAt", "recordedAt", "actor", "target", "organizationId", "outcome",
    "description", "changes", "metadata", "source", "correlationId", "expiresAt",
}

failures = []
passed = 0


def check(ok, what):
    global passed
    if ok:
        passed += 1
        print(f"ok        {what}")
    else:
        failures.append(what)
        print(f"MISMATCH  {what}")


def sha256(data):
    return hashlib.sha256(data).digest()


def leaf_hash(data):
    return sha256(b"\x00" + data)


def node_hash(left, right):
    return sha256(b"\x01" + left + right)


def split(n):
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def mth(leaves):
    """RFC 9162 2.1.1, on leaf hashes."""
    if not leaves:
        return sha256(b"")
    if len(leaves) == 1:
        return leaves[0]
    k = split(len(leaves))
    return node_hash(mth(leaves[:k]), mth(leaves[k:]))


def path(m, leaves):
    """RFC 9162 2.1.3.1."""
    if len(leaves) <= 1:
        return []
    k = split(len(leaves))
    if m < k:
        return path(m, leaves[:k]) + [mth(leaves[k:])]
    return path(m - k, leaves[k:]) + [mth(leaves[:k])]


def subproof(m, leaves, complete):
    """RFC 9162 2.1.4.1."""
    n = len(leaves)
    if m == n:
        return [] if complete else [mth(leaves)]
    k = split(n)
    if m <= k:
        return subproof(m, leaves[:k], complete) + [mth(leaves[k:])]
    return subproof(m - k, leaves[k:], False) + [mth(leaves[:k])]


def verify_inclusion(leaf, index, size, proof, root):
    """RFC 9162 2.1.3.2."""
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(first, second, proof, first_hash, second_hash):
    """RFC 9162 2.1.4.2 (for 0 < first < second)."""
    if not 0 < first < second or not proof:
        return False
    if first & (first - 1) == 0:
        proof = [first_hash] + list(proof)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = proof[0]
    for c in proof[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == first_hash and sr == second_hash


def hexes(values):
    return [bytes.fromhex(v) for v in values]


def check_events(vectors):
    hashes = {}
    for entry in vectors["events"]:
        event = entry["event"]
        name = event.get("eventId", "?")
        kept = {k: v for k, v in event.items() if k in V1_FIELDS}
        data = rfc8785.dumps(kept)
        check(data == entry["leafData"].encode("utf-8"), f"event {name}: leaf data (RFC 8785)")
        digest = leaf_hash(data)
        check(digest.hex() == entry["leafHash"], f"event {name}: leaf hash")
        hashes[name] = (event["recordedAt"], name, digest)
    return hashes


def check_rfc8785(vectors):
    section = vectors["rfc8785"]
    for bits, text in section["numbers"]:
        value = struct.unpack(">d", bytes.fromhex(bits))[0]
        check(rfc8785.dumps(value) == text.encode(), f"RFC 8785 number {bits} -> {text}")
    for i, sample in enumerate(section["objects"]):
        got = rfc8785.dumps(json.loads(sample["input"]))
        check(got == sample["canonical"].encode("utf-8"), f"RFC 8785 object {i}")


MAX_SAFE = 2**53 - 1


def number_rule(value):
    """The rule for numbers of docs/events.md, written from its text: zero or a magnitude
    from 1e-130 to below 1e126 (what DynamoDB stores), and no integer beyond 2^53 - 1,
    also when its RFC 8785 form is an integer literal (1e16 is 10000000000000000)."""
    if isinstance(value, int):
        return abs(value) <= MAX_SAFE
    try:
        canonical = rfc8785.dumps(value).decode()
    except Exception:  # the package refuses what it cannot write exactly
        return False
    digits = canonical.lstrip("-")
    if digits.isdigit() and int(digits) > MAX_SAFE:
        return False
    return value == 0 or 1e-130 <= abs(value) < 1e126


def check_numbers(vectors):
    section = vectors["numbers"]
    for n in section["accepted"]:
        sent, served = json.loads(n["input"]), json.loads(n["served"])
        check(number_rule(sent) and number_rule(served), f"number {n['input']}: within the rule, as sent and as served")
        try:
            ok = rfc8785.dumps(sent) == rfc8785.dumps(served) == n["canonical"].encode()
        except Exception as e:  # IntegerDomainError: not hashable as served
            ok = False
            print(f"          {n['input']}: {e!r}")
        check(ok, f"number {n['input']}: served as {n['served']}, hashed alike ({n['canonical']})")
    for text in section["refused"]:
        check(not number_rule(json.loads(text)), f"number {text}: outside the rule")


def check_rfc6962(vectors):
    t = vectors["rfc6962"]
    leaves = [leaf_hash(bytes.fromhex(x)) for x in t["leaves"]]
    check(leaves == hexes(t["leafHashes"]), "RFC 6962 leaf hashes")
    check(mth([]) == bytes.fromhex(t["emptyRoot"]), "RFC 6962 empty root")
    roots = hexes(t["roots"])
    for n in range(1, len(leaves) + 1):
        check(mth(leaves[:n]) == roots[n - 1], f"RFC 6962 root of size {n}")
    for p in t["inclusion"]:
        i, n, proof = p["index"], p["size"], hexes(p["proof"])
        check(path(i, leaves[:n]) == proof, f"RFC 6962 inclusion proof {i} in {n}: computed")
        check(verify_inclusion(leaves[i], i, n, proof, roots[n - 1]),
              f"RFC 6962 inclusion proof {i} in {n}: verifies")
    for p in t["consistency"]:
        m, n, proof = p["old"], p["new"], hexes(p["proof"])
        check(subproof(m, leaves[:n], True) == proof,
              f"RFC 6962 consistency proof {m} -> {n}: computed")
        check(verify_consistency(m, n, proof, roots[m - 1], roots[n - 1]),
              f"RFC 6962 consistency proof {m} -> {n}: verifies")


def check_event_tree(vectors, events):
    tree = vectors["eventTree"]
    ordered = [h for _, _, h in sorted(events.values())]
    check(ordered == hexes(tree["leafHashes"]), "event tree: leaves in (recordedAt, eventId) order")
    for r in tree["roots"]:
        check(mth(ordered[: r["size"]]).hex() == r["root"], f"event tree: root of size {r['size']}")
    size = len(ordered)
    root = mth(ordered)
    for p in tree["inclusion"]:
        _, _, leaf = events[p["eventId"]]
        check(p["size"] == size and verify_inclusion(leaf, p["index"], size, hexes(p["proof"]), root),
              f"event tree: inclusion of {p['eventId']} at {p['index']}")
    for p in tree["consistency"]:
        m, n = p["old"], p["new"]
        check(verify_consistency(m, n, hexes(p["proof"]), mth(ordered[:m]), mth(ordered[:n])),
              f"event tree: consistency {m} -> {n}")
    return ordered


def parse_note(note):
    """C2SP signed-note: text, empty line, lines '<em dash> <name> <base64(keyhash||sig)>'."""
    text, _, block = note.rpartition("\n\n")
    text += "\n"
    sigs = []
    for line in block.rstrip("\n").split("\n"):
        assert line.startswith("\u2014 "), line
        name, b64 = line[2:].split(" ")
        blob = base64.b64decode(b64, validate=True)
        sigs.append((name, blob[:4], blob[4:]))
    return text, sigs


def check_checkpoints(vectors, ordered):
    cp = vectors["checkpoints"]
    name = cp["keyName"]
    derived = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(cp["seed"])).public_key()
    pub = derived.public_bytes_raw()
    check(pub.hex() == cp["publicKey"], "checkpoints: public key of the test seed")
    vname, vhash, vkey = cp["verifierKey"].split("+", 2)
    blob = base64.b64decode(vkey, validate=True)
    key_hash = sha256(name.encode() + b"\n" + b"\x01" + pub)[:4]
    check(vname == name and blob == b"\x01" + pub and vhash == key_hash.hex(),
          "checkpoints: verifier key <name>+<key hash>+<base64(0x01||key)>")
    public = Ed25519PublicKey.from_public_bytes(blob[1:])
    previous = None
    roots = {r["size"]: r["root"] for r in vectors["eventTree"]["roots"]}
    for seq, (note, bucket) in enumerate(zip(cp["signedNotes"], cp["buckets"])):
        text, sigs = parse_note(note)
        ours = [s for s in sigs if s[0] == name and s[1] == key_hash]
        try:
            public.verify(ours[0][2], text.encode("utf-8")) if ours else None
            verified = bool(ours)
        except InvalidSignature:
            verified = False
        check(verified, f"checkpoint {seq}: Ed25519 signature by {name}")
        lines = text.rstrip("\n").split("\n")
        size = int(lines[1])
        want = [
            f"{cp['originPrefix']}/acme",
            str(size),
            base64.b64encode(bytes.fromhex(roots.get(size, ""))).decode(),
            f"bucket {bucket['start']} {bucket['end']}",
            f"seq {seq}",
        ]
        if previous is not None:
            want.append("prev " + base64.b64encode(sha256(previous)).decode())
        check(lines == want, f"checkpoint {seq}: body lines (origin, size, root, bucket, seq, prev)")
        check(base64.b64decode(lines[2]) == mth(ordered[:size]),
              f"checkpoint {seq}: root is the tree of its first {size} leaves")
        previous = note.encode("utf-8")


def main():
    source = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT
    vectors = json.loads(source.read_text(encoding="utf-8"))
    check(vectors.get("leafFormat") == "audit-event/v1", "leaf format audit-event/v1")
    events = check_events(vectors)
    check_rfc8785(vectors)
    check_numbers(vectors)
    check_rfc6962(vectors)
    ordered = check_event_tree(vectors, events)
    check_checkpoints(vectors, ordered)
    print(f"ledger vectors: {passed} checks passed, {len(failures)} failed ({source.name})")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
