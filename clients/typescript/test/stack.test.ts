// The client against the local stack (tests/e2e/run.sh starts it and runs this): the
// gateway's Lambda Invoke API in front of the ingest function's binary under the runtime
// emulator, on DynamoDB Local. Environment: E2E_INVOKE_URL, E2E_HTTP_URL, E2E_ENGINE_PID,
// E2E_INGEST_TIMEOUT (seconds).
import assert from "node:assert/strict";
import { test } from "node:test";

import { LambdaClient } from "@aws-sdk/client-lambda";

import { AuditClient, EVENT_TYPES, CATEGORIES, EventBuilder, InvokeTransport, TransportError, ulid } from "../src/index.js";
import type { Batch, Outcome, Transport } from "../src/index.js";

function env(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run this through tests/e2e/run.sh`);
  return value;
}

const lambda = () =>
  new LambdaClient({ endpoint: env("E2E_INVOKE_URL"), region: "us-east-1", credentials: { accessKeyId: "local", secretAccessKey: "local" } });

const token = (tenant: string) => {
  const enc = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");
  return `${enc({ alg: "none" })}.${enc({ tenantId: tenant })}.x`;
};

async function get(path: string, tenant = "local"): Promise<unknown> {
  const response = await fetch(env("E2E_HTTP_URL") + path, { headers: { authorization: `Bearer ${token(tenant)}` } });
  assert.equal(response.status, 200, await response.clone().text());
  return response.json();
}

/** Every event id of `tenant` through the query API, repetitions kept. */
async function readIds(tenant: string): Promise<string[]> {
  const ids: string[] = [];
  let next: string | undefined;
  for (let i = 0; i < 100; i++) {
    const page = (await get(`/api/Audit?pageSize=1000&rangeStart=2020-01-01${next ? `&nextToken=${next}` : ""}`, tenant)) as {
      items: Array<{ eventId: string }>; hasMore: boolean; nextToken?: string;
    };
    ids.push(...page.items.map((item) => item.eventId));
    if (!page.hasMore) return ids;
    next = page.nextToken;
  }
  throw new Error("more than 100 pages");
}

/** Counts what really went through the transport. */
class Counting implements Transport {
  requests = 0;
  events = 0;
  constructor(private readonly inner: Transport) {}
  get limits() {
    return this.inner.limits;
  }
  async send(batch: Batch): Promise<Outcome[]> {
    this.requests += 1;
    this.events += batch.eventIds.length;
    return this.inner.send(batch);
  }
}

const EVENTS = 20_000;
const BURST = 1_000;

test("the catalog is the one the service serves", async () => {
  const served = (await get("/api/Audit/eventTypes")) as unknown;
  const list = (Array.isArray(served) ? served : (served as { items: unknown[] }).items) as Array<{ code: number; name: string; category: number }>;
  assert.deepEqual(EVENT_TYPES.map((t) => [t.code, t.name, t.category]), list.map((t) => [t.code, t.name, t.category]));
  const cats = (await get("/api/Audit/categories")) as unknown;
  const catList = (Array.isArray(cats) ? cats : (cats as { items: unknown[] }).items) as Array<{ code: number; name: string }>;
  assert.deepEqual(CATEGORIES.map((c) => [c.code, c.name]), catList.map((c) => [c.code, c.name]));
});

test("20,000 events in bursts through an engine stall are each stored once", { timeout: 600_000 }, async () => {
  const tenant = `client-ts-${ulid().toLowerCase()}`;
  const timeout = Number(env("E2E_INGEST_TIMEOUT"));
  const pid = Number(env("E2E_ENGINE_PID"));
  const counting = new Counting(new InvokeTransport(lambda(), "IngestFunction"));
  const client = new AuditClient(counting, { flushIntervalMs: 200, maxAttempts: 12, backoffBaseMs: 250, backoffMaxMs: 4000 });
  const started = Date.now();
  let stalled = false;
  const staller = (async () => {
    while (client.counters().sent < 3_000) await new Promise((r) => setTimeout(r, 20));
    process.kill(pid, "SIGSTOP");
    stalled = true;
    try {
      await new Promise((r) => setTimeout(r, (timeout + 2) * 1000));
    } finally {
      process.kill(pid, "SIGCONT");
    }
  })();
  const sent = new Set<string>();
  const types = ["LoginSuccess", "101", "FlowManualRun", "AlertClear"];
  try {
    for (let burst = 0; burst < EVENTS / BURST; burst++) {
      for (let n = 0; n < BURST; n++) {
        // No eventId: the client gives each a ULID that its retries keep.
        const event = new EventBuilder(tenant, types[n % 4]!).actorId(`user-${n % 17}`).description(`burst ${burst} event ${n}`).build();
        sent.add(await client.send(event));
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    await staller;
  } finally {
    process.kill(pid, "SIGCONT");
  }
  const report = await client.shutdown();
  const c = report.counters;
  console.error(`typescript client: ${JSON.stringify(c)}; ${counting.events} event sends in ${counting.requests} requests; ${Date.now() - started} ms`);
  assert.ok(stalled);
  assert.deepEqual(report.problems.slice(0, 3), []);
  assert.equal(sent.size, EVENTS);
  assert.deepEqual([c.sent, c.rejected, c.conflicting, c.failed], [EVENTS, 0, 0, 0]);
  assert.equal(c.stored + c.duplicate, EVENTS);
  assert.ok(c.retried > 0, "the stall outlasted the ingest timeout: some events were retried");
  assert.equal(counting.events, EVENTS + c.retried, "every send is a first send or a counted retry");
  assert.equal(c.requests, counting.requests);
  const ids = await readIds(tenant);
  assert.equal(ids.length, EVENTS, "each event readable exactly once");
  assert.deepEqual(new Set(ids), sent);
});

test("an event without id retried after a lost answer is stored once", async () => {
  const tenant = `client-ts-lost-${ulid().toLowerCase()}`;
  const inner = new InvokeTransport(lambda(), "IngestFunction");
  const lost = new Set<string>();
  // Sends for real, then loses the first answer of every batch, as a dropped connection would.
  const transport: Transport = {
    limits: inner.limits,
    async send(batch) {
      const answer = await inner.send(batch);
      if (!lost.has(batch.eventIds[0]!)) {
        lost.add(batch.eventIds[0]!);
        throw new TransportError("answer lost on the way back", true);
      }
      return answer;
    },
  };
  const client = new AuditClient(transport, { backoffBaseMs: 10 });
  const ids = new Set<string>();
  for (let n = 0; n < 50; n++) {
    const event = new EventBuilder(tenant, "Logout").actorId(`u-${n}`).build();
    assert.equal(event.eventId, undefined);
    ids.add(await client.send(event));
  }
  const c = (await client.shutdown()).counters;
  assert.deepEqual([c.sent, c.stored, c.duplicate, c.retried, c.failed], [50, 0, 50, 50, 0]);
  const read = await readIds(tenant);
  assert.equal(read.length, 50, "stored once each");
  assert.deepEqual(new Set(read), ids);
});
