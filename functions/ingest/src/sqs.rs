//! The SQS source: the event Lambda delivers (`{ "Records": [...] }`), what is read of it,
//! how its messages are stored, and the partial-batch answer (`ReportBatchItemFailures`).
//!
//! # What is read
//!
//! Only what ingestion needs: each record's `eventSource` (so that another service's
//! `Records` event is refused instead of misread), `messageId` (to name it in
//! `batchItemFailures`) and `body` (which holds one event or a batch, as a direct invoke
//! does). A record without a message id cannot be reported on its own, so it fails the
//! whole invocation ([`IngestError::InvalidSqsEvent`]) and Lambda retries the batch; a
//! record whose body is missing or not a string is only that record's failure.
//!
//! # Semantics
//!
//! The answer is `{ "batchItemFailures": [...] }` (the event source mapping must enable
//! `ReportBatchItemFailures`). A message is listed, so SQS delivers it again, alone, and
//! after the queue's `maxReceiveCount` moves it to the dead-letter queue, when:
//! - its body is missing, is not JSON, or is of no known shape (e.g. over
//!   [`MAX_BATCH_EVENTS`] events);
//! - any of its events is rejected, conflicts, or could not be stored.
//!
//! Nothing is silently dropped: a message is deleted from the queue only when every one of
//! its events is stored or was stored before. The valid events of a failed message are still
//! stored at once; when the message comes again they answer `duplicate`, so they are stored
//! once. An event without `eventId` gets one derived from the message id and its position in
//! the body ([`derived_event_id`]), so that a redelivery cannot store it twice. Rejected and
//! conflicting events cannot succeed on a retry: their message ends in the dead-letter
//! queue, where it can be inspected, instead of being lost.
//!
//! # Why not `aws_lambda_events`' types
//!
//! They were measured, and size is not the reason: with the crate (feature `sqs` only) the
//! zipped arm64 bootstrap grew by about 13 KB. But its `SqsEvent` reads every field of
//! every record strictly, so a record of an unexpected shape (a body that is not a string,
//! a record that is not an object, malformed message attributes) would fail the whole batch
//! with serde's words, where the answers here fail that one record or name the record and
//! field; read as one of [`crate::IngestInput`]'s variants it would even fall through to a
//! direct invoke. It does not check `eventSource` either, and the `sqs` feature brings
//! `serde_with` and its derive crates into the build. The types below read the three fields
//! that matter loosely and judge them here, in a few dozen lines.
//!
//! [`MAX_BATCH_EVENTS`]: audit_shared::limits::MAX_BATCH_EVENTS

use audit_shared::domain::EventId;
use audit_shared::ingest::{IngestPayload, IngestTotals, PayloadError};
use serde::de::IgnoredAny;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;
use tokio::time::Instant;

use crate::context::IngestContext;
use crate::core::{report, store_events};
use crate::error::IngestError;

/// The field that marks an event delivered by an AWS event source.
pub const RECORDS_FIELD: &str = "Records";

/// The `eventSource` of SQS records.
pub const SQS_EVENT_SOURCE: &str = "aws:sqs";

/// A value of the expected type, or `None` when the JSON holds something else: the field is
/// then judged by the code that reads it, which names the record and the rule.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Loose<T>(Option<T>);

impl<T> Default for Loose<T> {
    fn default() -> Self {
        Loose(None)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Loose<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Either<T> {
            Expected(T),
            Other(IgnoredAny),
        }
        Ok(Loose(match Either::deserialize(deserializer)? {
            Either::Expected(value) => Some(value),
            Either::Other(_) => None,
        }))
    }
}

/// An SQS event as Lambda delivers it, as read before it is judged: any object with a
/// `Records` field (no audit event or batch has one). [`SqsEvent::messages`] judges it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct SqsEvent {
    #[serde(rename = "Records")]
    records: Loose<Vec<Loose<SqsRecord>>>,
    /// The other fields, ignored. Flattening makes serde read the event from an object only:
    /// a struct is otherwise also read from an array, which would mistake `[x]` for one.
    #[serde(flatten)]
    _other: IgnoredAny,
}

/// One record, as read before it is judged.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SqsRecord {
    #[serde(default)]
    event_source: Loose<String>,
    #[serde(default)]
    message_id: Loose<String>,
    #[serde(default)]
    body: Loose<String>,
    /// As in [`SqsEvent`]: a record is an object, never an array.
    #[serde(flatten)]
    _other: IgnoredAny,
}

/// One SQS message, as far as ingestion reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqsMessage {
    /// The message id; it names the record in `batchItemFailures`.
    pub message_id: String,
    /// The message body; `None` when the record carries no string body.
    pub body: Option<String>,
}

impl SqsEvent {
    /// The messages of the event, in record order; an error names the first record and
    /// field that make the event unusable as a whole.
    pub fn messages(self) -> Result<Vec<SqsMessage>, IngestError> {
        let invalid = |reason: String| IngestError::InvalidSqsEvent { reason };
        let Loose(Some(records)) = self.records else {
            return Err(invalid(format!("{RECORDS_FIELD} must be an array")));
        };
        records
            .into_iter()
            .enumerate()
            .map(|(i, Loose(record))| {
                let record = record.unwrap_or_default();
                if record.event_source.0.as_deref() != Some(SQS_EVENT_SOURCE) {
                    return Err(invalid(format!(
                        "{RECORDS_FIELD}[{i}].eventSource must be \"{SQS_EVENT_SOURCE}\" \
                         (this function takes SQS records only)"
                    )));
                }
                let message_id = match record.message_id.0 {
                    Some(id) if !id.is_empty() => id,
                    _ => {
                        return Err(invalid(format!(
                            "{RECORDS_FIELD}[{i}].messageId must be a non-empty string"
                        )))
                    }
                };
                Ok(SqsMessage {
                    message_id,
                    body: record.body.0,
                })
            })
            .collect()
    }
}

impl Default for SqsRecord {
    fn default() -> Self {
        Self {
            event_source: Loose::default(),
            message_id: Loose::default(),
            body: Loose::default(),
            _other: IgnoredAny,
        }
    }
}

/// The event id given to the event at `index` of the message `message_id` when the sender
/// gave none: SQS redelivers a message under the same id, so a redelivered event keeps its
/// id and is stored once. `None` when the message id does not make a valid event id.
pub fn derived_event_id(message_id: &str, index: usize) -> Option<EventId> {
    EventId::parse(&format!("sqs:{message_id}:{index}")).ok()
}

/// Gives `event` the derived id of its place in the message when it has no `eventId`.
pub fn fill_event_id(event: &mut Value, message_id: &str, index: usize) {
    let Value::Object(object) = event else {
        return;
    };
    if object.get("eventId").is_some_and(|v| !v.is_null()) {
        return;
    }
    if let Some(id) = derived_event_id(message_id, index) {
        object.insert("eventId".to_owned(), Value::String(id.as_str().to_owned()));
    }
}

/// One message to be retried.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchItemFailure {
    /// The failed message's id.
    pub item_identifier: String,
}

/// The answer to an SQS invocation: the messages SQS must deliver again. Every message not
/// listed is deleted from the queue, so a message is listed unless all its events are
/// durably stored.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SqsBatchResponse {
    /// Failed messages, in the order of the records.
    pub batch_item_failures: Vec<BatchItemFailure>,
}

impl SqsBatchResponse {
    /// The ids of the failed messages.
    pub fn failed_ids(&self) -> Vec<&str> {
        self.batch_item_failures
            .iter()
            .map(|f| f.item_identifier.as_str())
            .collect()
    }
}

/// Handles an SQS invocation: judges the event, then stores its messages' events.
pub async fn handle(
    ctx: &IngestContext,
    event: SqsEvent,
    deadline: Instant,
) -> Result<SqsBatchResponse, IngestError> {
    let messages = event.messages()?;
    Ok(ingest(ctx, messages, deadline).await)
}

/// Stores the events of SQS messages and answers which messages must come again.
pub async fn ingest(
    ctx: &IngestContext,
    messages: Vec<SqsMessage>,
    deadline: Instant,
) -> SqsBatchResponse {
    let started = Instant::now();
    let records = messages.len();
    let mut failed = vec![false; records];
    let mut refused = 0;
    // Every event of every message goes through one bounded pool of writes; `owner` maps
    // each back to its message.
    let mut events = Vec::new();
    let mut owner = Vec::new();
    for (m, message) in messages.iter().enumerate() {
        let recognised = match &message.body {
            Some(body) => IngestPayload::from_json_text(body),
            None => Err(PayloadError::NotJson {
                message: "the record has no body".to_owned(),
            }),
        };
        match recognised {
            Ok(payload) => {
                for (i, mut event) in payload.into_events().into_iter().enumerate() {
                    fill_event_id(&mut event, &message.message_id, i);
                    events.push(event);
                    owner.push(m);
                }
            }
            Err(error) => {
                tracing::warn!(
                    message_id = %message.message_id,
                    error = %error,
                    "SQS message body refused"
                );
                failed[m] = true;
                refused += 1;
            }
        }
    }
    let results = store_events(ctx, events, deadline).await;
    for result in &results {
        if !result.status.is_acknowledged() {
            if let Some(&m) = owner.get(result.index) {
                failed[m] = true;
            }
        }
    }
    let batch_item_failures: Vec<BatchItemFailure> = messages
        .into_iter()
        .zip(failed)
        .filter(|(_, failed)| *failed)
        .map(|(message, _)| BatchItemFailure {
            item_identifier: message.message_id,
        })
        .collect();
    let totals = IngestTotals::of(&results);
    report(
        ctx,
        "sqs",
        &totals,
        started,
        Some((records, batch_item_failures.len(), refused)),
    );
    SqsBatchResponse {
        batch_item_failures,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::IngestInput;

    fn record(id: &str, body: Value) -> Value {
        json!({ "messageId": id, "receiptHandle": "r", "body": body,
                "eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:us-east-1:1:q" })
    }

    /// Reads `payload` as the entry point does, and judges it as an SQS event.
    fn parse_sqs_event(payload: &Value) -> Result<Vec<SqsMessage>, IngestError> {
        match IngestInput::from_value(payload.clone()).unwrap() {
            IngestInput::Sqs(event) => event.messages(),
            IngestInput::Direct(other) => panic!("not read as an SQS event: {other:?}"),
        }
    }

    #[test]
    fn records_are_read_in_order_with_their_ids_and_bodies() {
        let payload = json!({ "Records": [ record("m1", json!("{}")), record("m2", json!(5)) ] });
        let messages = parse_sqs_event(&payload).unwrap();
        assert_eq!(
            messages,
            vec![
                SqsMessage {
                    message_id: "m1".into(),
                    body: Some("{}".into())
                },
                SqsMessage {
                    message_id: "m2".into(),
                    body: None
                },
            ]
        );
    }

    #[test]
    fn an_event_from_another_source_or_without_message_ids_is_refused_whole() {
        let s3 = json!({ "Records": [ { "eventSource": "aws:s3", "messageId": "x" } ] });
        let err = parse_sqs_event(&s3).unwrap_err();
        assert_eq!(err.error_type(), "InvalidSqsEvent");
        assert!(err.to_string().contains("Records[0].eventSource"));
        let no_id = json!({ "Records": [ record("m1", json!("{}")), { "eventSource": "aws:sqs", "body": "{}" } ] });
        assert!(parse_sqs_event(&no_id)
            .unwrap_err()
            .to_string()
            .contains("Records[1].messageId"));
        let not_array = json!({ "Records": {} });
        assert!(parse_sqs_event(&not_array).is_err());
        assert!(parse_sqs_event(&json!({ "Records": [] }))
            .unwrap()
            .is_empty());
    }

    #[test]
    fn records_of_unexpected_shapes_are_named_by_position_not_misread() {
        let cases = [
            (json!({ "Records": null }), "Records must be an array"),
            (json!({ "Records": "x" }), "Records must be an array"),
            (json!({ "Records": [5] }), "Records[0].eventSource"),
            (
                json!({ "Records": [["aws:sqs", "m1", "{}"]] }),
                "Records[0].eventSource",
            ),
            (
                json!({ "Records": [ { "eventSource": 1, "messageId": "m" } ] }),
                "Records[0].eventSource",
            ),
            (
                json!({ "Records": [ { "eventSource": "aws:sqs", "messageId": "" } ] }),
                "Records[0].messageId",
            ),
            (
                json!({ "Records": [ { "eventSource": "aws:sqs", "messageId": 7 } ] }),
                "Records[0].messageId",
            ),
        ];
        for (payload, text) in cases {
            let error = parse_sqs_event(&payload).unwrap_err();
            assert!(error.to_string().contains(text), "{payload}: {error}");
        }
    }

    #[test]
    fn events_without_an_id_get_one_derived_from_the_message_and_position() {
        let mut event = json!({ "tenantId": "acme" });
        fill_event_id(&mut event, "059f36b4-87a3-44ab-83d2-661975830a7d", 3);
        assert_eq!(
            event["eventId"],
            "sqs:059f36b4-87a3-44ab-83d2-661975830a7d:3"
        );
        let mut again = json!({ "tenantId": "acme", "eventId": null });
        fill_event_id(&mut again, "059f36b4-87a3-44ab-83d2-661975830a7d", 3);
        assert_eq!(
            again["eventId"], event["eventId"],
            "stable across deliveries"
        );
        let mut own = json!({ "eventId": "mine" });
        fill_event_id(&mut own, "m", 0);
        assert_eq!(own["eventId"], "mine", "the sender's id wins");
        let mut odd = json!({});
        fill_event_id(&mut odd, "not a valid id", 0);
        assert!(odd.get("eventId").is_none(), "left to be generated");
        let mut not_object = json!([1]);
        fill_event_id(&mut not_object, "m", 0);
        assert_eq!(not_object, json!([1]));
    }

    #[test]
    fn the_answer_has_the_shape_lambda_expects() {
        let response = SqsBatchResponse {
            batch_item_failures: vec![BatchItemFailure {
                item_identifier: "m2".into(),
            }],
        };
        assert_eq!(
            serde_json::to_value(&response).unwrap(),
            json!({ "batchItemFailures": [ { "itemIdentifier": "m2" } ] })
        );
        assert_eq!(response.failed_ids(), vec!["m2"]);
    }
}
