// The numbers section of the ledger's test vectors (tests/fixtures/ledger/vectors.json)
// checked with JavaScript's own JSON reader and number form, which RFC 8785 adopts: every
// accepted number, read as sent and as served, writes its canonical form. Shares no code
// with the service. Prints one line per check; exits non-zero on any mismatch.
//
//     node tests/ledger/check_numbers.mjs [vectors.json]

import { readFileSync } from "node:fs";

const path = process.argv[2] ?? new URL("../fixtures/ledger/vectors.json", import.meta.url);
const vectors = JSON.parse(readFileSync(path, "utf8"));
let failed = 0;
let passed = 0;
for (const n of vectors.numbers.accepted) {
  // RFC 8785 writes a number as ECMAScript's Number.prototype.toString, JSON.stringify's form.
  const sent = JSON.stringify(JSON.parse(n.input));
  const served = JSON.stringify(JSON.parse(n.served));
  const ok = sent === n.canonical && served === n.canonical;
  console.log(`${ok ? "ok      " : "MISMATCH"}  number ${n.input}: served as ${n.served}, JavaScript writes ${served} (${n.canonical})`);
  ok ? passed++ : failed++;
}
console.log(`ledger numbers (JavaScript): ${passed} checks passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
