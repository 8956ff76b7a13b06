// The transport: how one batch reaches the service and what came back for each event. A
// small interface, so that the Lambda Invoke and SQS transports and a test's own plug in.

/** How much one request of a transport may carry. */
export interface Limits {
  /** Events per request (the service takes 1,000 per batch). */
  maxEvents: number;
  /** Bytes per request body (Lambda Invoke: 6 MB; an SQS message: 256 KB). */
  maxBytes: number;
}

/** `{"events":[` and `]}`. */
const ENVELOPE_BYTES = 13;

/** Bytes of the body `{"events":[...]}` of `events` events of `eventBytes` bytes in all. */
export function bodyBytes(events: number, eventBytes: number): number {
  return ENVELOPE_BYTES + eventBytes + Math.max(events - 1, 0);
}

/** One request's worth of events: the body and the events' ids, in order. */
export interface Batch {
  body: Uint8Array;
  eventIds: string[];
}

/** The batch of these serialized events (each a JSON object). */
export function batchOf(events: ReadonlyArray<{ id: string; json: string }>): Batch {
  const body = Buffer.from(`{"events":[${events.map((e) => e.json).join(",")}]}`, "utf8");
  return { body, eventIds: events.map((e) => e.id) };
}

/** One broken rule of a rejected event. */
export interface FieldError {
  field: string;
  message: string;
}

/** What became of one event of a batch. */
export type Outcome =
  | { status: "stored" }
  | { status: "duplicate" }
  /** Accepted by a durable queue that stores it (SQS): no per-event answer. */
  | { status: "queued" }
  | { status: "conflict"; reason: string }
  | { status: "rejected"; reason: string; errors: FieldError[] }
  | { status: "failed"; reason: string };

/**
 * A request that brought no per-event answer. `retryable`: the answer was lost or the
 * service unavailable, so the whole batch is sent again (its ids make that safe);
 * otherwise the request itself was refused and its events are handed back.
 */
export class TransportError extends Error {
  constructor(message: string, readonly retryable: boolean) {
    super(message);
    this.name = "TransportError";
  }
}

/** Sends batches. */
export interface Transport {
  /** How much one request may carry. */
  readonly limits: Limits;
  /** Sends one batch; on success, one outcome per event, in batch order. */
  send(batch: Batch): Promise<Outcome[]>;
}

/** The service's direct-invoke answer. */
export interface IngestResponse {
  totals: Record<string, number>;
  results: Array<{ index: number; eventId?: string; status: string; reason?: string; errors?: FieldError[] }>;
}

/** The outcomes of a batch of `length` events from the direct-invoke answer; an event it does not mention is `failed`. */
export function outcomesOf(response: IngestResponse, length: number): Outcome[] {
  const outcomes: Outcome[] = Array.from({ length }, () => ({ status: "failed", reason: "the answer did not mention this event" }));
  for (const r of response.results) {
    if (r.index < 0 || r.index >= length) continue;
    const reason = r.reason ?? "";
    switch (r.status) {
      case "stored":
      case "duplicate":
        outcomes[r.index] = { status: r.status };
        break;
      case "conflict":
        outcomes[r.index] = { status: "conflict", reason };
        break;
      case "rejected":
        outcomes[r.index] = { status: "rejected", reason, errors: r.errors ?? [] };
        break;
      default:
        outcomes[r.index] = { status: "failed", reason };
    }
  }
  return outcomes;
}

/** Whether an HTTP status is worth a retry: throttling and server faults. */
export function retryableStatus(status: number | undefined): boolean {
  return status === undefined || status === 429 || status >= 500;
}
