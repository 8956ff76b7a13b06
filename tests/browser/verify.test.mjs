// Unit test of the viewer's verifying module (functions/swagger/viewer/verify.mjs), the code
// the page runs, on the repository's ledger test vectors (tests/fixtures/ledger/vectors.json):
// RFC 8785 samples, RFC 6962 reference tree, every event's leaf, the event tree's roots and
// proofs, the verifier key and the signed, chained checkpoints; then whole-event checks as the
// page makes them, a tampered copy failing at the step it breaks. Needs no browser:
//   node --test tests/browser/verify.test.mjs
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { webcrypto } from 'node:crypto';
import * as v from '../../functions/swagger/viewer/verify.mjs';

// Node 18 has Web Crypto but not yet as a global (the page finds it on `globalThis`).
if (!globalThis.crypto) globalThis.crypto = webcrypto;

const vectors = JSON.parse(readFileSync(new URL('../fixtures/ledger/vectors.json', import.meta.url), 'utf8'));
const hex = (bytes) => v.toHex(bytes);
const bytes = (h) => v.fromHex(h);

test('RFC 8785: every number sample and the sample object', () => {
  for (const [bits, expected] of vectors.rfc8785.numbers) {
    const n = new DataView(bytes(bits).buffer).getFloat64(0);
    assert.equal(v.canonicalize(n), expected, bits);
  }
  for (const { input, canonical } of vectors.rfc8785.objects) {
    assert.equal(v.canonicalize(JSON.parse(input)), canonical);
  }
  assert.throws(() => v.canonicalize(NaN));
  // Sorted by UTF-16 code units: U+1F600 (0xD83D 0xDE00) before U+FB01, unlike code points.
  assert.equal(v.canonicalize({ b: 1, a: [true, null, 'x\u0001'], '\ufb01': 0, '\ud83d\ude00': 1 }),
    '{"a":[true,null,"x\\u0001"],"b":1,"\ud83d\ude00":1,"\ufb01":0}');
});

test('RFC 6962: leaf hashes, every root, inclusion and consistency proofs of the reference tree', async () => {
  const t = vectors.rfc6962;
  assert.equal(hex(await v.merkleRoot([])), t.emptyRoot);
  const leaves = [];
  for (const [i, data] of t.leaves.entries()) {
    const leaf = await v.hashLeaf(bytes(data));
    assert.equal(hex(leaf), t.leafHashes[i], `leaf ${i}`);
    leaves.push(leaf);
  }
  for (const [i, root] of t.roots.entries()) {
    assert.equal(hex(await v.merkleRoot(leaves.slice(0, i + 1))), root, `root of ${i + 1}`);
  }
  for (const { index, size, proof } of t.inclusion) {
    const root = await v.rootFromInclusionProof(leaves[index], index, size, proof.map(bytes));
    assert.equal(hex(root), t.roots[size - 1], `inclusion ${index} in ${size}`);
    if (proof.length > 0) {
      const bad = await v.rootFromInclusionProof(leaves[index], index, size, [bytes(proof[0]).map((b) => b ^ 1), ...proof.slice(1).map(bytes)]);
      assert.notEqual(hex(bad), t.roots[size - 1]);
    }
  }
  for (const { old, new: size, proof } of t.consistency) {
    const ok = await v.verifyConsistency(old, size, proof.map(bytes), bytes(t.roots[old - 1]), bytes(t.roots[size - 1]));
    assert.ok(ok, `consistency ${old} -> ${size}`);
    assert.ok(!(await v.verifyConsistency(old, size, proof.map(bytes), bytes(t.roots[old - 1]), bytes(t.roots[0]))));
  }
  await assert.rejects(v.rootFromInclusionProof(leaves[0], 8, 8, []));
});

test('audit-event/v1: every event of the vectors hashes to its leaf data and leaf hash', async () => {
  for (const { event, leafData, leafHash } of vectors.events) {
    assert.equal(new TextDecoder().decode(v.leafData(event)), leafData, event.eventId);
    assert.equal(hex(await v.eventLeafHash(event)), leafHash, event.eventId);
    // Members outside v1 do not change the leaf.
    assert.equal(hex(await v.eventLeafHash({ ...event, addedLater: 1 })), leafHash);
  }
});

test('the event tree: roots and proofs of the vectors', async () => {
  const t = vectors.eventTree;
  const leaves = t.leafHashes.map(bytes);
  for (const { size, root } of t.roots) assert.equal(hex(await v.merkleRoot(leaves.slice(0, size))), root);
  for (const { eventId, index, size, proof } of t.inclusion) {
    const event = vectors.events.find((e) => e.event.eventId === eventId).event;
    const root = await v.rootFromInclusionProof(await v.eventLeafHash(event), index, size, proof.map(bytes));
    assert.equal(hex(root), t.roots.find((r) => r.size === size).root, eventId);
  }
  for (const { old, new: size, proof } of t.consistency) {
    const root = (n) => bytes(t.roots.find((r) => r.size === n).root);
    assert.ok(await v.verifyConsistency(old, size, proof.map(bytes), root(old), root(size)));
  }
});

test('checkpoints: the verifier key, every signature, body and the chain', async () => {
  const c = vectors.checkpoints;
  const key = await v.parseVerifierKey(c.verifierKey);
  assert.equal(key.name, c.keyName);
  assert.equal(hex(key.publicKey), c.publicKey);
  await assert.rejects(v.parseVerifierKey(c.verifierKey.replace(/\+[0-9a-f]{8}\+/, '+00000000+')), /hash/);
  let previous = null;
  for (const [i, note] of c.signedNotes.entries()) {
    const body = await v.verifyNote(note, key);
    const checkpoint = v.parseCheckpoint(body);
    assert.equal(checkpoint.origin, `${c.originPrefix}/acme`);
    assert.equal(checkpoint.sequence, i);
    assert.deepEqual(checkpoint.bucket, c.buckets[i]);
    const expectedRoot = vectors.eventTree.roots.find((r) => r.size === checkpoint.treeSize);
    if (expectedRoot) assert.equal(hex(checkpoint.root), expectedRoot.root);
    if (previous === null) assert.equal(checkpoint.prev, null);
    else assert.equal(hex(checkpoint.prev), hex(await v.sha256(v.utf8(previous))));
    previous = note;
    // A changed body no longer verifies.
    await assert.rejects(v.verifyNote(note.replace('\nseq ', '\nseq 9'), key), (e) => e.step === 'signature');
  }
});

// A proof as GET /api/Audit/{eventId}/proof answers it, from the vectors: the event tree at
// the size of a signed checkpoint.
function proofFor(eventId) {
  const c = vectors.checkpoints;
  const inclusion = vectors.eventTree.inclusion.find((p) => p.eventId === eventId);
  const note = c.signedNotes.find((n) => n.split('\n')[1] === String(inclusion.size));
  assert.ok(note, `a checkpoint of size ${inclusion.size}`);
  const event = vectors.events.find((e) => e.event.eventId === eventId);
  return {
    eventId,
    leafFormat: 'audit-event/v1',
    leafIndex: inclusion.index,
    treeSize: inclusion.size,
    leafHash: v.toBase64(bytes(event.leafHash)),
    auditPath: inclusion.proof.map((h) => v.toBase64(bytes(h))),
    checkpoint: note,
    sealedBy: 1,
  };
}

test('verifyEvent: a genuine event passes the four steps; each kind of tampering fails at its step', async () => {
  const keys = { keys: [vectors.checkpoints.verifierKey], originPrefix: 'audit.local', leafFormat: 'audit-event/v1' };
  const eventId = vectors.eventTree.inclusion[0].eventId;
  const event = structuredClone(vectors.events.find((e) => e.event.eventId === eventId).event);
  const proof = proofFor(eventId);

  const ok = await v.verifyEvent({ event, proof, keys });
  assert.equal(ok.ok, true, JSON.stringify(ok.steps));
  assert.deepEqual(ok.steps.map((s) => s.step), ['leaf', 'inclusion', 'signature', 'key']);
  assert.ok(ok.steps.every((s) => s.ok));
  const pinned = await v.verifyEvent({ event, proof, keys, pinnedKey: vectors.checkpoints.verifierKey });
  assert.equal(pinned.ok, true);
  assert.match(pinned.steps[3].detail, /pinned/);

  const changed = await v.verifyEvent({ event: { ...event, description: 'nothing happened' }, proof, keys });
  assert.equal(changed.ok, false);
  assert.equal(changed.failedStep, 'leaf');
  assert.ok(changed.steps.slice(1).every((s) => s.ok), 'only the leaf fails');

  const path = [...proof.auditPath];
  path[0] = v.toBase64(bytes(vectors.eventTree.leafHashes[3]));
  const badPath = await v.verifyEvent({ event, proof: { ...proof, auditPath: path }, keys });
  assert.equal(badPath.failedStep, 'inclusion');

  const forged = proof.checkpoint.replace(/\n\d+\n/, '\n5\n');
  const badSignature = await v.verifyEvent({ event, proof: { ...proof, checkpoint: forged }, keys });
  assert.equal(badSignature.failedStep, 'signature');

  const otherKey = 'audit.local+00000000+' + v.toBase64(new Uint8Array(33).fill(1));
  const badKey = await v.verifyEvent({ event, proof, keys: { ...keys, keys: [otherKey] } });
  assert.equal(badKey.failedStep, 'key');
  const notPinned = await v.verifyEvent({ event, proof, keys, pinnedKey: 'someone+' + vectors.checkpoints.verifierKey.split('+').slice(1).join('+') });
  assert.equal(notPinned.failedStep, 'key');

  const otherTenant = await v.verifyEvent({ event: { ...event, tenantId: 'other' }, proof, keys });
  assert.equal(otherTenant.ok, false);
  assert.equal(otherTenant.steps[0].ok, false); // the leaf covers tenantId too
  assert.equal(otherTenant.steps[2].ok, false); // and the origin names the tenant
});
