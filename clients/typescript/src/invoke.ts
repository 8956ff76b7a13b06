// The Lambda Invoke transport: each batch is one synchronous invoke (RequestResponse) of
// the ingest function, whose per-event answer it reads. An invocation holding `failed`
// events comes back as the function error `EventsNotStored`, its message the whole answer
// (docs/adr/0014-no-loss-on-the-asynchronous-path.md).
import { InvokeCommand, type LambdaClient } from "@aws-sdk/client-lambda";

import { outcomesOf, retryableStatus, TransportError, type Batch, type IngestResponse, type Limits, type Outcome, type Transport } from "./transport.js";

/** Largest request payload of a synchronous invoke: 6 MB (6,291,456 bytes). */
export const INVOKE_MAX_BYTES = 6 * 1024 * 1024;
/** Events per invoke: the service's batch limit. */
export const INVOKE_MAX_EVENTS = 1000;
/** The `errorType` of an invocation holding events that could not be stored. */
export const EVENTS_NOT_STORED = "EventsNotStored";

/** Reads what an invoke gave back; `functionError` is Lambda's `X-Amz-Function-Error`. */
export function readAnswer(functionError: string | undefined, payload: Uint8Array | undefined, length: number): Outcome[] {
  const text = Buffer.from(payload ?? new Uint8Array()).toString("utf8");
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new TransportError(`the function's answer is unreadable: ${String(e)}`, true);
  }
  if (functionError === undefined) return outcomesOf(parsed as IngestResponse, length);
  const error = parsed as { errorType?: string; errorMessage?: string };
  if (error.errorType === EVENTS_NOT_STORED) {
    try {
      return outcomesOf(JSON.parse(error.errorMessage ?? "") as IngestResponse, length);
    } catch (e) {
      throw new TransportError(`EventsNotStored without its answer: ${String(e)}`, true);
    }
  }
  // The batch's shape was refused: a retry would repeat it.
  if (error.errorType === "InvalidPayload") throw new TransportError(error.errorMessage ?? "InvalidPayload", false);
  // A timeout, a crash: the answer is lost, some events may be stored; their ids make a resend safe.
  throw new TransportError(`the function failed (${error.errorType}): ${error.errorMessage}`, true);
}

/** Sends each batch as one synchronous invoke of the ingest function. */
export class InvokeTransport implements Transport {
  readonly limits: Limits = { maxEvents: INVOKE_MAX_EVENTS, maxBytes: INVOKE_MAX_BYTES };

  /** Invokes `functionName` (a name or an ARN) with `client`. */
  constructor(private readonly client: LambdaClient, private readonly functionName: string) {}

  async send(batch: Batch): Promise<Outcome[]> {
    let output;
    try {
      output = await this.client.send(
        new InvokeCommand({ FunctionName: this.functionName, InvocationType: "RequestResponse", Payload: batch.body }),
      );
    } catch (e) {
      const status = (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      throw new TransportError(String(e), retryableStatus(status));
    }
    return readAnswer(output.FunctionError, output.Payload, batch.eventIds.length);
  }
}
