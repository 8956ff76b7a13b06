// Checking an audit event against the tenant's ledger, in the browser (or in Node): the
// formats of docs/ledger.md, written from that page and the RFCs with nothing but the
// platform's own Web Crypto (SHA-256, Ed25519) and TextEncoder.
//
//   - the leaf `audit-event/v1`: SHA-256(0x00 || RFC 8785 JSON of the event's v1 members);
//   - RFC 6962 / 9162 hashing, inclusion (2.1.3.2) and consistency (2.1.4.2) proofs;
//   - C2SP signed notes (Ed25519) and tlog checkpoints, and verifier keys.
//
// `verifyEvent` runs the four checks the viewer's badge reports (leaf, inclusion,
// signature, key) and names the step that failed. The module has no state and no
// dependencies; tests/browser/verify.test.mjs runs it on tests/fixtures/ledger/vectors.json.

/** The top-level members the `audit-event/v1` leaf covers (docs/ledger.md). */
export const V1_FIELDS = Object.freeze([
  'eventId', 'tenantId', 'eventType', 'eventTypeName', 'category', 'categoryName',
  'occurredAt', 'recordedAt', 'actor', 'target', 'organizationId', 'outcome',
  'description', 'changes', 'metadata', 'source', 'correlationId', 'expiresAt',
]);

/** The leaf format this module computes. */
export const LEAF_FORMAT = 'audit-event/v1';

const encoder = new TextEncoder();

function subtle() {
  const s = globalThis.crypto && globalThis.crypto.subtle;
  if (!s) throw new Error('Web Crypto is not available (the page needs a secure context: https or localhost)');
  return s;
}

// ------------------------------------------------------------------ bytes

/** UTF-8 bytes of a string. */
export function utf8(text) {
  return encoder.encode(text);
}

/** Concatenation of byte arrays. */
export function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}

/** Whether two byte arrays hold the same bytes. */
export function equalBytes(a, b) {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

/** Lower-case hex of bytes. */
export function toHex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** Bytes of a hex string. */
export function fromHex(hex) {
  if (hex.length % 2 !== 0 || /[^0-9a-fA-F]/.test(hex)) throw new Error(`not hex: ${hex}`);
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** Bytes of standard base64 (with padding), refusing anything else. */
export function fromBase64(text) {
  if (typeof text !== 'string' || !/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(text)) {
    throw new Error(`not base64: ${String(text).slice(0, 80)}`);
  }
  const binary = atob(text);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

/** Standard base64 (with padding) of bytes. */
export function toBase64(bytes) {
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary);
}

/** SHA-256 of bytes. */
export async function sha256(bytes) {
  return new Uint8Array(await subtle().digest('SHA-256', bytes));
}

// ------------------------------------------------------------------ RFC 8785

/**
 * The JSON Canonicalization Scheme (RFC 8785) of a JSON value: members sorted by the UTF-16
 * code units of their names, no whitespace, ECMAScript number and string forms (which are
 * exactly what `String(number)` and `JSON.stringify(string)` produce).
 */
export function canonicalize(value) {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) throw new Error(`${value} is not a JSON number`);
      return String(value); // -0 is "0", 4.50 is "4.5", 1E30 is "1e+30"
    case 'string':
      return JSON.stringify(value);
    case 'object': {
      if (Array.isArray(value)) return `[${value.map(canonicalize).join(',')}]`;
      // Default string comparison is by UTF-16 code units, as RFC 8785 sorts.
      const names = Object.keys(value).filter((k) => value[k] !== undefined).sort();
      return `{${names.map((k) => `${JSON.stringify(k)}:${canonicalize(value[k])}`).join(',')}}`;
    }
    default:
      throw new Error(`a ${typeof value} is not JSON`);
  }
}

// ------------------------------------------------------------------ leaves and trees

/** The leaf data of an event as the API returns it: RFC 8785 of its v1 members, UTF-8. */
export function leafData(event) {
  if (event === null || typeof event !== 'object' || Array.isArray(event)) throw new Error('an event is a JSON object');
  const kept = {};
  for (const name of V1_FIELDS) if (Object.hasOwn(event, name)) kept[name] = event[name];
  return utf8(canonicalize(kept));
}

/** RFC 6962 leaf hash: SHA-256(0x00 || data). */
export function hashLeaf(data) {
  return sha256(concat(Uint8Array.of(0), data));
}

/** RFC 6962 interior node: SHA-256(0x01 || left || right). */
export function hashChildren(left, right) {
  return sha256(concat(Uint8Array.of(1), left, right));
}

/** The leaf hash of an event (`audit-event/v1`). */
export function eventLeafHash(event) {
  return hashLeaf(leafData(event));
}

function split(n) {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** RFC 9162 section 2.1.1: the root of a list of leaf hashes. */
export async function merkleRoot(leaves) {
  if (leaves.length === 0) return sha256(new Uint8Array(0));
  if (leaves.length === 1) return leaves[0];
  const k = split(leaves.length);
  return hashChildren(await merkleRoot(leaves.slice(0, k)), await merkleRoot(leaves.slice(k)));
}

/**
 * RFC 9162 section 2.1.3.2: the root an audit path leads to from leaf `index` of a tree of
 * `size` leaves; throws when the path cannot belong to such a tree.
 */
export async function rootFromInclusionProof(leaf, index, size, path) {
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size) || index < 0 || index >= size) {
    throw new Error(`leaf index ${index} is not inside a tree of ${size} leaves`);
  }
  // Plain numbers stay exact below 2^53; bit operations are done by division to go past 2^31.
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  const odd = (x) => x % 2 === 1;
  const half = (x) => Math.floor(x / 2);
  for (const p of path) {
    if (sn === 0) throw new Error('the audit path is too long for the tree');
    if (odd(fn) || fn === sn) {
      r = await hashChildren(p, r);
      while (!odd(fn) && fn !== 0) { fn = half(fn); sn = half(sn); }
    } else {
      r = await hashChildren(r, p);
    }
    fn = half(fn);
    sn = half(sn);
  }
  if (sn !== 0) throw new Error('the audit path is too short for the tree');
  return r;
}

/** RFC 9162 section 2.1.4.2: whether `proof` shows the tree of `first` leaves is a prefix of the tree of `second`. */
export async function verifyConsistency(first, second, proof, firstRoot, secondRoot) {
  if (first === second) return proof.length === 0 && equalBytes(firstRoot, secondRoot);
  if (!(first > 0 && first < second) || proof.length === 0) return false;
  const odd = (x) => x % 2 === 1;
  const half = (x) => Math.floor(x / 2);
  let path = proof;
  if (Number.isInteger(Math.log2(first))) path = [firstRoot, ...proof]; // a power of two
  let fn = first - 1;
  let sn = second - 1;
  while (odd(fn)) { fn = half(fn); sn = half(sn); }
  let fr = path[0];
  let sr = path[0];
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if (odd(fn) || fn === sn) {
      fr = await hashChildren(c, fr);
      sr = await hashChildren(c, sr);
      while (!odd(fn) && fn !== 0) { fn = half(fn); sn = half(sn); }
    } else {
      sr = await hashChildren(sr, c);
    }
    fn = half(fn);
    sn = half(sn);
  }
  return sn === 0 && equalBytes(fr, firstRoot) && equalBytes(sr, secondRoot);
}

// ------------------------------------------------------------------ keys, notes, checkpoints

/** The 4-byte key hash of an Ed25519 verifier key: SHA-256(name || "\n" || 0x01 || key)[:4]. */
export async function keyHash(name, publicKey) {
  return (await sha256(concat(utf8(`${name}\n`), Uint8Array.of(1), publicKey))).slice(0, 4);
}

/**
 * Parses a verifier key `<name>+<key hash, 8 hex>+<base64(0x01 || 32-byte key)>` and checks
 * that its key hash is the hash of its name and key.
 */
export async function parseVerifierKey(text) {
  const trimmed = String(text).trim();
  const parts = trimmed.split('+');
  if (parts.length < 3) throw new Error('a verifier key is <name>+<hash>+<key>');
  const [name, hashHex] = parts;
  const blob = parts.slice(2).join('+');
  if (!name || !/^[0-9a-f]{8}$/.test(hashHex)) throw new Error(`not a verifier key: ${trimmed}`);
  const raw = fromBase64(blob);
  if (raw.length !== 33 || raw[0] !== 1) throw new Error('the verifier key is not an Ed25519 key (type 0x01, 32 bytes)');
  const publicKey = raw.slice(1);
  const computed = toHex(await keyHash(name, publicKey));
  if (computed !== hashHex) throw new Error(`the verifier key's hash ${hashHex} is not its key's (${computed})`);
  return { name, keyHash: fromHex(hashHex), publicKey, text: trimmed };
}

/** Splits a signed note into its body (final newline included) and signature lines. */
export function splitNote(note) {
  const at = note.indexOf('\n\n');
  if (at < 0) throw new Error('a signed note has a blank line between its text and its signatures');
  const body = note.slice(0, at + 1);
  const signatures = note.slice(at + 2).split('\n').filter((l) => l !== '').map((line) => {
    if (!line.startsWith('\u2014 ')) throw new Error(`not a signature line: ${line}`);
    const rest = line.slice(2);
    const space = rest.lastIndexOf(' ');
    if (space <= 0) throw new Error(`not a signature line: ${line}`);
    const raw = fromBase64(rest.slice(space + 1));
    if (raw.length < 5) throw new Error(`signature too short: ${line}`);
    return { name: rest.slice(0, space), keyHash: raw.slice(0, 4), signature: raw.slice(4) };
  });
  return { body, signatures };
}

/** Verifies a pure Ed25519 signature (RFC 8032) with Web Crypto. */
export async function ed25519Verify(publicKey, signature, message) {
  const key = await subtle().importKey('raw', publicKey, { name: 'Ed25519' }, false, ['verify']);
  return subtle().verify({ name: 'Ed25519' }, key, signature, message);
}

/**
 * Verifies a signed note with a parsed verifier key: its signature line by that key (name and
 * key hash) and the Ed25519 signature over the body. Returns the body; throws naming what failed.
 */
export async function verifyNote(note, key) {
  const { body, signatures } = splitNote(note);
  const mine = signatures.find((s) => s.name === key.name && equalBytes(s.keyHash, key.keyHash));
  if (!mine) {
    const by = signatures.map((s) => `${s.name}+${toHex(s.keyHash)}`).join(', ') || 'nobody';
    throw Object.assign(new Error(`the checkpoint is not signed by key ${key.name}+${toHex(key.keyHash)} (signed by ${by})`), { step: 'key' });
  }
  if (mine.signature.length !== 64 || !(await ed25519Verify(key.publicKey, mine.signature, utf8(body)))) {
    throw Object.assign(new Error('the Ed25519 signature does not verify over the checkpoint text'), { step: 'signature' });
  }
  return body;
}

/** Parses a checkpoint body (C2SP tlog-checkpoint plus the ledger's extension lines). */
export function parseCheckpoint(body) {
  const lines = body.split('\n');
  if (lines.length < 4 || lines[lines.length - 1] !== '') throw new Error('a checkpoint is at least three lines, each ending in a newline');
  const [origin, sizeText, rootText] = lines;
  if (!/^(0|[1-9][0-9]*)$/.test(sizeText) || !Number.isSafeInteger(Number(sizeText))) throw new Error(`bad tree size ${sizeText}`);
  const root = fromBase64(rootText);
  if (root.length !== 32) throw new Error('the root hash is not 32 bytes');
  const checkpoint = { origin, treeSize: Number(sizeText), root, bucket: null, sequence: null, prev: null };
  for (const line of lines.slice(3, -1)) {
    const [word, ...rest] = line.split(' ');
    if (word === 'bucket' && rest.length === 2) checkpoint.bucket = { start: rest[0], end: rest[1] };
    else if (word === 'seq' && rest.length === 1) checkpoint.sequence = Number(rest[0]);
    else if (word === 'prev' && rest.length === 1) checkpoint.prev = fromBase64(rest[0]);
  }
  return checkpoint;
}

// ------------------------------------------------------------------ one event

/** The steps of `verifyEvent`, in the order the badge shows them. */
export const STEPS = Object.freeze(['leaf', 'inclusion', 'signature', 'key']);

const STEP_NAMES = {
  leaf: 'leaf recomputed from the event as shown',
  inclusion: 'inclusion in the signed tree',
  signature: 'checkpoint signature',
  key: 'verifier key',
};

/** The reader-facing name of a step. */
export function stepName(step) {
  return STEP_NAMES[step] || step;
}

/**
 * Checks one event against its proof, the checkpoint the proof carries and the verifier key.
 *
 * - `event`: the event object exactly as shown (as `GET /api/Audit/{eventId}` returned it);
 * - `proof`: the answer of `GET /api/Audit/{eventId}/proof`;
 * - `keys`: the answer of `GET /api/Audit/ledger/keys`;
 * - `pinnedKey` (optional): a verifier key the reader holds; the served key must be it.
 *
 * Returns `{ ok, failedStep, steps: [{ step, ok, detail, skipped }], leafIndex, treeSize, origin,
 * sequence, keyName, pinned }`; every step is reported, none is skipped silently.
 */
export async function verifyEvent({ event, proof, keys, pinnedKey }) {
  const results = new Map();
  // `skipped`: not checked because a step it depends on failed (never counted as the cause).
  const set = (step, ok, detail, skipped = false) => { if (!results.has(step)) results.set(step, { step, ok, detail, skipped }); };
  const summary = { leafIndex: proof && proof.leafIndex, treeSize: proof && proof.treeSize, origin: null, sequence: null, keyName: null, pinned: Boolean(pinnedKey) };

  // Key: the served key parses, its hash is its own, and it is the pinned one when there is one.
  let key = null;
  try {
    const served = keys && Array.isArray(keys.keys) ? keys.keys : [];
    if (served.length === 0) throw new Error('the API serves no verifier key');
    if (pinnedKey) {
      key = await parseVerifierKey(pinnedKey);
      if (!served.some((k) => String(k).trim() === key.text)) throw new Error(`the API's key (${served.join(', ')}) is not the pinned key ${key.text}`);
    } else {
      key = await parseVerifierKey(served[0]);
    }
    summary.keyName = key.name;
  } catch (e) {
    set('key', false, e.message);
  }

  // Leaf: recomputed from the event as shown, compared with the leaf the tree holds.
  let sealedLeaf = null;
  try {
    if (!proof || proof.leafFormat !== LEAF_FORMAT) throw new Error(`unknown leaf format ${proof && proof.leafFormat}`);
    sealedLeaf = fromBase64(proof.leafHash);
    const computed = await eventLeafHash(event);
    if (proof.eventId !== event.eventId) throw new Error(`the proof is for ${proof.eventId}, not ${event.eventId}`);
    if (equalBytes(computed, sealedLeaf)) set('leaf', true, `SHA-256 of the event's RFC 8785 form is the sealed leaf ${toHex(computed).slice(0, 16)}...`);
    else set('leaf', false, `the event as shown hashes to ${toHex(computed).slice(0, 16)}..., the sealed leaf is ${toHex(sealedLeaf).slice(0, 16)}...: the event was changed after it was sealed`);
  } catch (e) {
    set('leaf', false, e.message);
  }

  // Signature (and the key's part in it): the checkpoint note verifies with the key.
  let checkpoint = null;
  if (key) {
    try {
      const body = await verifyNote(proof.checkpoint, key);
      checkpoint = parseCheckpoint(body);
      summary.origin = checkpoint.origin;
      summary.sequence = checkpoint.sequence;
      const expected = `${keys.originPrefix}/${event.tenantId}`;
      if (checkpoint.origin !== expected) throw Object.assign(new Error(`the checkpoint's origin ${checkpoint.origin} is not ${expected}`), { step: 'signature' });
      set('signature', true, `Ed25519 signature by ${key.name} over checkpoint ${checkpoint.origin} size ${checkpoint.treeSize}`);
      set('key', true, pinnedKey ? `the pinned key ${key.name}+${toHex(key.keyHash)}` : `${key.name}+${toHex(key.keyHash)}, as served by this API (pin your own copy to check it)`);
    } catch (e) {
      set(e.step || 'signature', false, e.message);
      if (e.step === 'key') set('signature', false, 'not checked: no signature by the key', true);
      else set('key', true, `${key.name}+${toHex(key.keyHash)}${pinnedKey ? ' (pinned)' : ', as served by this API'}`);
    }
  } else {
    set('signature', false, 'not checked: no usable verifier key', true);
  }

  // Inclusion: the sealed leaf's audit path leads to the signed root.
  if (checkpoint && sealedLeaf) {
    try {
      if (proof.treeSize !== checkpoint.treeSize) throw new Error(`the proof is for a tree of ${proof.treeSize} leaves, the checkpoint has ${checkpoint.treeSize}`);
      const path = (proof.auditPath || []).map(fromBase64);
      const root = await rootFromInclusionProof(sealedLeaf, proof.leafIndex, proof.treeSize, path);
      if (!equalBytes(root, checkpoint.root)) throw new Error("the audit path does not lead to the checkpoint's root");
      set('inclusion', true, `leaf ${proof.leafIndex} of ${proof.treeSize}, audit path of ${path.length} hashes to the signed root`);
    } catch (e) {
      set('inclusion', false, e.message);
    }
  } else {
    set('inclusion', false, 'not checked: no verified checkpoint or no sealed leaf', true);
  }

  const steps = STEPS.map((s) => results.get(s));
  const failed = steps.find((s) => !s.ok && !s.skipped) || steps.find((s) => !s.ok);
  return { ok: !failed, failedStep: failed ? failed.step : null, steps, ...summary };
}
