// Unit tests over a fake transport (run by `make test`): batching by count and bytes,
// flushing, retries after failed events and lost answers, problems, exact counters; and
// the catalog checked against docs/events.md, written from the service's catalog.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import { AuditClient, EVENT_TYPES, CATEGORIES, EventBuilder, SQS_MAX_BYTES, TransportError, bodyBytes, backoff, DEFAULT_CONFIG, eventTypeOf } from "../src/index.js";
import type { Batch, Limits, Outcome, Transport } from "../src/index.js";

type Rule = (id: string, attempt: number) => Outcome | "lost";

class Fake implements Transport {
  readonly requests: Array<{ bytes: number; ids: string[] }> = [];
  private readonly attempts = new Map<string, number>();
  constructor(readonly limits: Limits, private readonly rule: Rule) {}
  async send(batch: Batch): Promise<Outcome[]> {
    assert.ok(batch.body.length <= this.limits.maxBytes, `${batch.body.length} bytes`);
    assert.ok(batch.eventIds.length <= this.limits.maxEvents);
    assert.equal(JSON.parse(Buffer.from(batch.body).toString()).events.length, batch.eventIds.length);
    this.requests.push({ bytes: batch.body.length, ids: [...batch.eventIds] });
    let lost = false;
    const outcomes = batch.eventIds.map((id) => {
      const n = (this.attempts.get(id) ?? 0) + 1;
      this.attempts.set(id, n);
      const o = this.rule(id, n);
      if (o === "lost") {
        lost = true;
        return { status: "stored" } as Outcome;
      }
      return o;
    });
    if (lost) throw new TransportError("answer lost", true);
    return outcomes;
  }
}

const quick = { flushIntervalMs: 3_600_000, backoffBaseMs: 1, backoffMaxMs: 4 };
const event = (id: string | undefined, padding: number) => {
  const b = new EventBuilder("acme", "LoginSuccess").actorId("u-1").description("x".repeat(Math.max(padding, 1)));
  return (id ? b.eventId(id) : b).build();
};

test("batches are as full as the count and byte limits allow", async () => {
  for (const limits of [{ maxEvents: 10, maxBytes: 4_000 }, { maxEvents: 1000, maxBytes: SQS_MAX_BYTES }]) {
    const fake = new Fake(limits, () => ({ status: "stored" }));
    const client = new AuditClient(fake, quick);
    const sizes: number[] = [];
    for (let i = 0; i < 300; i++) {
      const e = event(`e${i}`, [10, 900, 50, 2_500, 300][i % 5]! + (i % 7) + (limits.maxBytes > 4000 ? 20_000 : 0));
      sizes.push(Buffer.byteLength(JSON.stringify(e)));
      await client.send(e);
    }
    const report = await client.shutdown();
    const expected: number[] = [];
    let [n, bytes] = [0, 0];
    for (const len of sizes) {
      if (n > 0 && (n === limits.maxEvents || bodyBytes(n + 1, bytes + len) > limits.maxBytes)) {
        expected.push(n);
        [n, bytes] = [0, 0];
      }
      n += 1;
      bytes += len;
    }
    expected.push(n);
    assert.deepEqual(fake.requests.map((r) => r.ids.length), expected);
    assert.equal(report.counters.sent, 300);
    assert.equal(report.counters.requests, expected.length);
  }
});

test("concurrent sends never overfill a batch", async () => {
  const fake = new Fake({ maxEvents: 7, maxBytes: 2_000 }, () => ({ status: "stored" }));
  const client = new AuditClient(fake, quick);
  await Promise.all(Array.from({ length: 200 }, (_, i) => client.send(event(`c${i}`, 40 + (i % 13) * 20))));
  const report = await client.shutdown();
  assert.equal(report.counters.sent, 200);
  assert.equal(fake.requests.reduce((s, r) => s + r.ids.length, 0), 200);
});

test("an event without id gets a ULID kept across the retry after a lost answer", async () => {
  const fake = new Fake({ maxEvents: 1000, maxBytes: 1 << 20 }, (_, n) => (n === 1 ? "lost" : { status: "duplicate" }));
  const client = new AuditClient(fake, quick);
  const id = await client.send(event(undefined, 10));
  assert.match(id, /^[0-9A-HJKMNP-TV-Z]{26}$/);
  const { counters } = await client.shutdown();
  assert.deepEqual(fake.requests.map((r) => r.ids), [[id], [id]]);
  assert.deepEqual([counters.sent, counters.duplicate, counters.retried, counters.failed], [1, 1, 1, 0]);
});

test("failed events are retried alone; problems are handed back; counters are exact", async () => {
  const rule: Rule = (id, n) => {
    switch (id.split("-")[0]) {
      case "ok": return { status: "stored" };
      case "flaky": return n < 3 ? { status: "failed", reason: "slow" } : { status: "stored" };
      case "bad": return { status: "rejected", reason: "invalid", errors: [{ field: "actor.id", message: "is required" }] };
      case "taken": return { status: "conflict", reason: "taken" };
      default: return { status: "failed", reason: "down" };
    }
  };
  const fake = new Fake({ maxEvents: 1000, maxBytes: 1 << 20 }, rule);
  const client = new AuditClient(fake, { ...quick, maxAttempts: 4 });
  for (const id of ["ok-1", "flaky-1", "bad-1", "taken-1", "never-1", "ok-2", "flaky-2"]) await client.send(event(id, 10));
  await client.flush();
  const c = client.counters();
  assert.deepEqual([c.sent, c.stored, c.retried, c.rejected, c.conflicting, c.failed, c.requests], [4, 4, 7, 1, 1, 1, 4]);
  const sends = fake.requests.reduce((s, r) => s + r.ids.length, 0);
  assert.equal(sends, 7 + c.retried);
  const problems = client.takeProblems().map((p) => `${p.event.eventId}:${p.kind}`).sort();
  assert.deepEqual(problems, ["bad-1:rejected", "never-1:failed", "taken-1:conflict"]);
  assert.equal((await client.shutdown()).problems.length, 0);
});

test("a partial batch is flushed once its oldest event waited the interval", async () => {
  const fake = new Fake({ maxEvents: 1000, maxBytes: 1 << 20 }, () => ({ status: "stored" }));
  const client = new AuditClient(fake, { flushIntervalMs: 200 });
  await client.send(event("a", 10));
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(fake.requests.length, 0);
  await new Promise((r) => setTimeout(r, 250));
  assert.equal(fake.requests.length, 1);
  await client.shutdown();
});

test("the backoff grows to its bound and always waits half of it", () => {
  for (let retry = 1; retry < 12; retry++) {
    const step = Math.min(DEFAULT_CONFIG.backoffBaseMs * 2 ** (retry - 1), DEFAULT_CONFIG.backoffMaxMs);
    const wait = backoff(DEFAULT_CONFIG, retry);
    assert.ok(wait >= step / 2 && wait <= step);
  }
});

test("event types by name or code, sent as the code; unknown ones refused", () => {
  for (const spelling of ["LoginFailed", "loginfailed", "202", 202]) {
    assert.equal(new EventBuilder("acme", spelling).build().eventType, 202);
  }
  assert.throws(() => eventTypeOf("Nope"), /unknown event type 'Nope'/);
  assert.throws(() => new EventBuilder("acme", 101).target("bad type", "x"), /target.type/);
});

test("the catalog is the service's: every row of docs/events.md's tables", () => {
  const doc = readFileSync(new URL("../../../../docs/events.md", import.meta.url), "utf8");
  const rows = [...doc.matchAll(/^\| (\d{3}) \| (\w+) \| (\w+) \| .+? \| \**(success|failure)\** \|$/gm)];
  const categories = [...doc.matchAll(/^\| (\w+) \| (\d{3}) \| .+? \|$/gm)];
  const categoryCode = new Map(categories.map((m) => [m[1], Number(m[2])]));
  assert.equal(rows.length, 36);
  assert.deepEqual(
    EVENT_TYPES.map((t) => [t.code, t.name, t.category, t.failureByDefault]),
    rows.map((m) => [Number(m[1]), m[2], categoryCode.get(m[3]!), m[4] === "failure"]),
  );
  assert.deepEqual(CATEGORIES.map((c) => [c.code, c.name]), categories.map((m) => [Number(m[2]), m[1]]));
});
