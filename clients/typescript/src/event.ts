// Building events: the event type from the catalog by name or code, checked when the
// event is built rather than when the service rejects it. The shape is the service's
// `EventInput` (docs/events.md); names are those of the Rust crate `audit-client`.
import { eventTypeOf, type EventType, type EventTypeName } from "./catalog.js";

/** Who performed the action. */
export interface ActorInput {
  id?: string;
  name?: string;
  email?: string;
  /** `user` (the default), `system` or `api`. */
  type?: "user" | "system" | "api";
  ipAddress?: string;
  userAgent?: string;
}

/** What was acted upon. */
export interface Target {
  type: string;
  id: string;
  name?: string;
}

/** One changed field. */
export interface Change {
  field: string;
  oldValue?: unknown;
  newValue?: unknown;
}

/** One audit event as the service takes it (docs/events.md). */
export interface EventInput {
  eventId?: string;
  tenantId: string;
  eventType: number | EventTypeName;
  category?: number | string;
  occurredAt: string;
  actor: ActorInput;
  target?: Target;
  organizationId?: string;
  outcome?: "success" | "failure";
  description?: string;
  changes?: Change[];
  metadata?: Record<string, string>;
  source?: string;
  correlationId?: string;
}

const IDENTIFIER = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Builds one {@link EventInput}.
 *
 * ```ts
 * const event = new EventBuilder("acme", "LoginFailed").actorId("user-42").description("Wrong password").build();
 * ```
 */
export class EventBuilder {
  private readonly event: EventInput;

  /** An event of `tenantId` of the catalog's type `eventType` (a code or a case-insensitive name), occurring now. */
  constructor(tenantId: string, eventType: number | string | EventType) {
    const type = typeof eventType === "object" ? eventType : eventTypeOf(eventType);
    this.event = { tenantId, eventType: type.code, occurredAt: new Date().toISOString(), actor: {} };
  }

  /** The idempotency key; without one the client gives the event a ULID when it is queued. */
  eventId(id: string): this {
    this.event.eventId = id;
    return this;
  }

  /** When the action happened (default: when the builder was made). */
  occurredAt(at: Date): this {
    this.event.occurredAt = at.toISOString();
    return this;
  }

  /** Who acted, in full. */
  actor(actor: ActorInput): this {
    this.event.actor = actor;
    return this;
  }

  /** Who acted: a user of this id. */
  actorId(id: string): this {
    this.event.actor.id = id;
    return this;
  }

  /** What was acted upon; `type` must be an identifier (`Flow`, `Endpoint`...). */
  target(type: string, id: string, name?: string): this {
    if (!IDENTIFIER.test(type)) {
      throw new TypeError("target.type must be 1 to 128 characters of letters, digits and . _ : -");
    }
    this.event.target = name === undefined ? { type, id } : { type, id, name };
    return this;
  }

  /** The organization inside the tenant. */
  organizationId(id: string): this {
    this.event.organizationId = id;
    return this;
  }

  /** `success` or `failure` (default: the event type's). */
  outcome(outcome: "success" | "failure"): this {
    this.event.outcome = outcome;
    return this;
  }

  /** Free text. */
  description(text: string): this {
    this.event.description = text;
    return this;
  }

  /** One changed field. */
  change(field: string, oldValue?: unknown, newValue?: unknown): this {
    const change: Change = { field };
    if (oldValue !== undefined) change.oldValue = oldValue;
    if (newValue !== undefined) change.newValue = newValue;
    (this.event.changes ??= []).push(change);
    return this;
  }

  /** One metadata entry. */
  metadata(key: string, value: string): this {
    (this.event.metadata ??= {})[key] = value;
    return this;
  }

  /** The application that recorded the event. */
  source(source: string): this {
    this.event.source = source;
    return this;
  }

  /** Ties together the events of one operation. */
  correlationId(id: string): this {
    this.event.correlationId = id;
    return this;
  }

  /** The event. */
  build(): EventInput {
    return structuredClone(this.event);
  }
}
