//! The ingest contract, which has no HTTP route: the `x-ingest` extension says how the
//! `IngestRequest` and `IngestResponse` schemas under `components` are used.

use serde_json::json;
use utoipa::openapi::OpenApi as Document;
use utoipa::{Modify, ToSchema};

use crate::ingest::{IngestRequest, IngestResponse};
use crate::limits::{MAX_BATCH_EVENTS, MAX_EVENT_BYTES};

/// Name of the document extension that describes how events are recorded.
pub const INGEST_EXTENSION: &str = "x-ingest";

/// Describes the ingest contract, which has no HTTP route: the ingest function is invoked
/// directly (Lambda Invoke API) or by an SQS event source. Its payload and answer are
/// schemas under `components`; this extension says how they are used.
pub(super) struct IngestContract;

impl Modify for IngestContract {
    fn modify(&self, openapi: &mut Document) {
        let schema = |name: std::borrow::Cow<'static, str>| json!({ "$ref": format!("#/components/schemas/{name}") });
        let contract = json!({
            "summary": "Events are recorded by invoking the ingest Lambda function, not over HTTP.",
            "limits": {
                "maxEventBytes": MAX_EVENT_BYTES,
                "maxBatchEvents": MAX_BATCH_EVENTS,
            },
            "directInvoke": {
                "description": format!(
                    "Lambda Invoke API, invocation type RequestResponse. The payload is one \
                     event or a batch of 1 to {MAX_BATCH_EVENTS}; the answer reports, in input \
                     order, whether each event was stored, a duplicate, a conflict, rejected \
                     (with every broken rule, each naming its field) or failed (send it again). \
                     Invalid events never block the valid ones beside them, and an event is \
                     reported stored only once it is durably written. A payload of no known \
                     shape, or of more than {MAX_BATCH_EVENTS} events, fails the invocation as a \
                     whole with a function error whose `errorType` is stable and whose \
                     `errorMessage` names the rule."
                ),
                "request": schema(IngestRequest::name()),
                "response": schema(IngestResponse::name()),
            },
            "sqs": {
                "description": "Each message body holds one event or a batch, as for a direct \
                    invoke. The function answers the SQS event with `batchItemFailures` (the \
                    event source mapping enables ReportBatchItemFailures): a message is listed, \
                    and so delivered again and eventually dead-lettered, unless every one of its \
                    events is stored or was stored before. Events without `eventId` get one \
                    derived from the message, so a redelivery stores them once.",
                "messageBody": schema(IngestRequest::name()),
                "response": {
                    "type": "object",
                    "required": ["batchItemFailures"],
                    "properties": {
                        "batchItemFailures": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "required": ["itemIdentifier"],
                                "properties": {
                                    "itemIdentifier": {
                                        "type": "string",
                                        "description": "The SQS message id to deliver again."
                                    }
                                }
                            }
                        }
                    }
                },
            },
        });
        openapi
            .extensions
            .get_or_insert_with(Default::default)
            .insert(INGEST_EXTENSION.to_owned(), contract);
    }
}
