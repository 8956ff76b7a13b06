// @audit-log/client: the producer library of the audit log service, the TypeScript twin
// of the Rust crate `audit-client` (same behaviour, same names). README, "Sending events".
export { AuditClient, backoff, DEFAULT_CONFIG, SendError } from "./client.js";
export type { ClientConfig, Counters, Problem, ProblemKind, ShutdownReport } from "./client.js";
export { CATEGORIES, CatalogError, EVENT_TYPE_NAMES, EVENT_TYPES, eventTypeOf } from "./catalog.js";
export type { Category, EventType, EventTypeName } from "./catalog.js";
export { EventBuilder } from "./event.js";
export type { ActorInput, Change, EventInput, Target } from "./event.js";
export { EVENTS_NOT_STORED, INVOKE_MAX_BYTES, INVOKE_MAX_EVENTS, InvokeTransport, readAnswer } from "./invoke.js";
export { SQS_MAX_BYTES, SqsTransport } from "./sqs.js";
export { batchOf, bodyBytes, outcomesOf, TransportError } from "./transport.js";
export type { Batch, FieldError, IngestResponse, Limits, Outcome, Transport } from "./transport.js";
export { ulid } from "./ulid.js";
