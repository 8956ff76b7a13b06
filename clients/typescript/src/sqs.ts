// The SQS transport: each batch is one message to the ingest queue. The queue gives no
// per-event answer: a message SQS accepted is durable and counts as sent (`queued`); an
// event the service then rejects keeps its message coming back until the queue's
// dead-letter queue (docs/events.md).
import { SendMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";

import { retryableStatus, TransportError, type Batch, type Limits, type Outcome, type Transport } from "./transport.js";

/** Largest message body SQS takes (256 KB, 262,144 bytes). */
export const SQS_MAX_BYTES = 256 * 1024;

/** Sends each batch as one message to the ingest queue. */
export class SqsTransport implements Transport {
  readonly limits: Limits = { maxEvents: 1000, maxBytes: SQS_MAX_BYTES };

  /** Sends to the queue at `queueUrl` (the stack's `IngestQueueUrl` output) with `client`. */
  constructor(private readonly client: SQSClient, private readonly queueUrl: string) {}

  async send(batch: Batch): Promise<Outcome[]> {
    try {
      await this.client.send(
        new SendMessageCommand({ QueueUrl: this.queueUrl, MessageBody: Buffer.from(batch.body).toString("utf8") }),
      );
    } catch (e) {
      const status = (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      throw new TransportError(String(e), retryableStatus(status));
    }
    return batch.eventIds.map(() => ({ status: "queued" }) as const);
  }
}
