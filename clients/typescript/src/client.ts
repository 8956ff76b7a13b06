// The client: a queue of events, packed into batches as full as the transport allows and
// sent in the background; flushed on size, on an interval, on flush() and on shutdown();
// `failed` events (all of a batch's when the answer is lost) sent again after a jittered
// exponential backoff up to `maxAttempts`; `rejected` and `conflict` events, and events
// still failing after the last attempt, handed back as problems. The same behaviour and
// names as the Rust crate `audit-client`.
import type { EventInput } from "./event.js";
import { batchOf, bodyBytes, TransportError, type FieldError, type Transport } from "./transport.js";
import { ulid } from "./ulid.js";

/** How the client batches, flushes and retries. */
export interface ClientConfig {
  /** A batch is sent once its oldest event has waited this long (ms, default 1,000). */
  flushIntervalMs: number;
  /** Sends of one event at most, the first included (default 8). */
  maxAttempts: number;
  /** Backoff before the first retry, doubled for each next one (ms, default 100). */
  backoffBaseMs: number;
  /** Largest backoff (ms, default 5,000). */
  backoffMaxMs: number;
  /** Batches being sent (or waiting to be retried) at once (default 4). */
  maxInFlight: number;
  /** Events queued before send() waits (default 10,000). */
  queueCapacity: number;
}

/** The defaults of {@link ClientConfig}. */
export const DEFAULT_CONFIG: ClientConfig = {
  flushIntervalMs: 1000,
  maxAttempts: 8,
  backoffBaseMs: 100,
  backoffMaxMs: 5000,
  maxInFlight: 4,
  queueCapacity: 10_000,
};

/**
 * The wait before retry number `retry` (from 1): half of the exponential step plus a
 * uniform share of the other half. Jitter spreads batches that failed together; the fixed
 * half guarantees a wait, so that the attempts span a fault instead of being spent at once.
 */
export function backoff(config: ClientConfig, retry: number): number {
  const step = Math.min(config.backoffBaseMs * 2 ** (retry - 1), config.backoffMaxMs);
  return step / 2 + Math.random() * (step / 2);
}

/** The client's counters, exact: every event queued ends in one of sent, rejected, conflicting or failed once flushed. */
export interface Counters {
  /** Events the service acknowledged: stored + duplicate + queued. */
  sent: number;
  stored: number;
  duplicate: number;
  queued: number;
  /** Sends of an event after its first. */
  retried: number;
  rejected: number;
  conflicting: number;
  /** Events handed back unsent after the last attempt or a refused request. */
  failed: number;
  /** Requests made to the transport. */
  requests: number;
}

/** Why an event is handed back. */
export type ProblemKind =
  | { kind: "rejected"; reason: string; errors: FieldError[] }
  | { kind: "conflict"; reason: string }
  | { kind: "failed"; reason: string };

/** An event the client hands back, with why. */
export type Problem = { event: EventInput } & ProblemKind;

/** Why send() did not queue an event. */
export class SendError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SendError";
  }
}

/** What shutdown() reports. */
export interface ShutdownReport {
  counters: Counters;
  problems: Problem[];
}

interface Pending {
  id: string;
  json: string;
  bytes: number;
  event: EventInput;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Sends audit events in batches through a {@link Transport}, in the background.
 *
 * ```ts
 * const client = new AuditClient(new InvokeTransport(new LambdaClient({}), "audit-ingest"));
 * await client.send(new EventBuilder("acme", "LoginFailed").actorId("user-42").build());
 * const report = await client.shutdown();
 * ```
 */
export class AuditClient {
  private readonly config: ClientConfig;
  private readonly counts: Counters = { sent: 0, stored: 0, duplicate: 0, queued: 0, retried: 0, rejected: 0, conflicting: 0, failed: 0, requests: 0 };
  private problems: Problem[] = [];
  private filling: Pending[] = [];
  private fillingBytes = 0;
  private fillingSince: number | undefined;
  /** Events queued (filling or waiting for a slot), for back-pressure. */
  private queuedEvents = 0;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly slotWaiters: Array<() => void> = [];
  private readonly capacityWaiters: Array<() => void> = [];
  private dispatching: Promise<void> = Promise.resolve();
  private readonly timer: NodeJS.Timeout;
  private closed = false;

  constructor(private readonly transport: Transport, config: Partial<ClientConfig> = {}) {
    this.config = { ...DEFAULT_CONFIG, ...config };
    const tick = Math.max(this.config.flushIntervalMs / 4, 1);
    this.timer = setInterval(() => {
      if (this.fillingSince !== undefined && Date.now() - this.fillingSince >= this.config.flushIntervalMs) {
        this.enqueueDispatch();
      }
    }, tick);
    // The timer alone must not keep a process alive; shutdown() still sends everything.
    this.timer.unref();
  }

  /** Queues `event`, giving it a ULID eventId when it has none, and answers that id. Waits only while the queue is full. */
  async send(event: EventInput): Promise<string> {
    if (this.closed) throw new SendError("the client is shut down");
    const withId: EventInput = event.eventId ? event : { ...event, eventId: ulid() };
    const id = withId.eventId as string;
    const json = JSON.stringify(withId);
    const bytes = Buffer.byteLength(json, "utf8");
    const { maxBytes, maxEvents } = this.transport.limits;
    if (bodyBytes(1, bytes) > maxBytes) {
      throw new SendError(`the event is ${bodyBytes(1, bytes)} bytes as a batch, over the transport's ${maxBytes} bytes`);
    }
    while (this.queuedEvents >= this.config.queueCapacity) {
      await new Promise<void>((resolve) => this.capacityWaiters.push(resolve));
    }
    // Checked again after every wait: another send() may have filled the batch meanwhile;
    // from the check to the push nothing awaits, so no batch exceeds the limits.
    for (;;) {
      await this.dispatching;
      const fits = this.filling.length < maxEvents && bodyBytes(this.filling.length + 1, this.fillingBytes + bytes) <= maxBytes;
      if (this.filling.length === 0 || fits) break;
      this.enqueueDispatch();
    }
    this.filling.push({ id, json, bytes, event: withId });
    this.fillingBytes += bytes;
    this.fillingSince ??= Date.now();
    this.queuedEvents += 1;
    if (this.filling.length >= maxEvents) this.enqueueDispatch();
    return id;
  }

  /** Sends everything queued and waits until every batch is settled (retries included). */
  async flush(): Promise<void> {
    this.enqueueDispatch();
    await this.dispatching;
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
  }

  /** The counters now. */
  counters(): Counters {
    return { ...this.counts };
  }

  /** The events handed back since the last call. */
  takeProblems(): Problem[] {
    const taken = this.problems;
    this.problems = [];
    return taken;
  }

  /** Sends everything queued, waits for every batch to settle, stops the timer and reports. */
  async shutdown(): Promise<ShutdownReport> {
    await this.flush();
    this.closed = true;
    clearInterval(this.timer);
    return { counters: this.counters(), problems: this.takeProblems() };
  }

  /** Hands the filling batch to a sending task, in order, once a slot is free. */
  private enqueueDispatch(): void {
    if (this.filling.length === 0) return;
    const events = this.filling;
    this.filling = [];
    this.fillingBytes = 0;
    this.fillingSince = undefined;
    this.dispatching = this.dispatching.then(async () => {
      while (this.inFlight.size >= Math.max(this.config.maxInFlight, 1)) {
        await new Promise<void>((resolve) => this.slotWaiters.push(resolve));
      }
      this.queuedEvents -= events.length;
      this.capacityWaiters.splice(0).forEach((wake) => wake());
      const task: Promise<void> = this.deliver(events).finally(() => {
        this.inFlight.delete(task);
        this.slotWaiters.shift()?.();
      });
      this.inFlight.add(task);
    });
  }

  private handBack(event: EventInput, problem: ProblemKind): void {
    const counter = problem.kind === "rejected" ? "rejected" : problem.kind === "conflict" ? "conflicting" : "failed";
    this.counts[counter] += 1;
    this.problems.push({ event, ...problem });
  }

  /** Sends one batch until every event is settled or out of attempts. */
  private async deliver(initial: Pending[]): Promise<void> {
    let events = initial;
    for (let attempt = 1; ; attempt++) {
      this.counts.requests += 1;
      const again: Array<{ event: Pending; reason: string }> = [];
      try {
        const outcomes = await this.transport.send(batchOf(events));
        events.forEach((event, i) => {
          const outcome = outcomes[i];
          switch (outcome?.status) {
            case "stored":
            case "duplicate":
            case "queued":
              this.counts[outcome.status] += 1;
              this.counts.sent += 1;
              break;
            case "conflict":
              this.handBack(event.event, { kind: "conflict", reason: outcome.reason });
              break;
            case "rejected":
              this.handBack(event.event, { kind: "rejected", reason: outcome.reason, errors: outcome.errors });
              break;
            case "failed":
              again.push({ event, reason: outcome.reason });
              break;
            default:
              again.push({ event, reason: "the transport gave no outcome" });
          }
        });
      } catch (e) {
        const reason = e instanceof Error ? e.message : String(e);
        if (e instanceof TransportError && !e.retryable) {
          for (const event of events) this.handBack(event.event, { kind: "failed", reason });
          return;
        }
        for (const event of events) again.push({ event, reason });
      }
      if (again.length === 0) return;
      if (attempt >= this.config.maxAttempts) {
        for (const { event, reason } of again) this.handBack(event.event, { kind: "failed", reason });
        return;
      }
      this.counts.retried += again.length;
      await sleep(backoff(this.config, attempt));
      events = again.map((a) => a.event);
    }
  }
}
