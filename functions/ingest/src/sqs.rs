//! The SQS event shape as Lambda delivers it, and the partial-batch answer
//! (`ReportBatchItemFailures`).
//!
//! Only what ingestion needs is read: each record's `messageId` (to name it in
//! `batchItemFailures`) and `body` (which holds one event or a batch). The event source is
//! checked so that another service's `Records` event is refused instead of misread.

use audit_shared::domain::EventId;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::IngestError;

/// The field that marks an event delivered by an AWS event source.
pub const RECORDS_FIELD: &str = "Records";

/// The `eventSource` of SQS records.
pub const SQS_EVENT_SOURCE: &str = "aws:sqs";

/// One SQS message, as far as ingestion reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqsMessage {
    /// The message id; it names the record in `batchItemFailures`.
    pub message_id: String,
    /// The message body; `None` when the record carries no string body.
    pub body: Option<String>,
}

/// Whether `payload` is shaped like an AWS event-source delivery (`{ "Records": [...] }`).
/// No audit event or batch has a `Records` field, so this cannot misread either of them.
pub fn is_records_event(payload: &Value) -> bool {
    payload.get(RECORDS_FIELD).is_some()
}

/// Reads the messages of an SQS event.
///
/// A record without a message id cannot be reported on its own, so it fails the whole
/// invocation (and Lambda retries the batch); a record without a body is only that
/// record's failure, reported later.
pub fn parse_sqs_event(payload: &Value) -> Result<Vec<SqsMessage>, IngestError> {
    let invalid = |reason: String| IngestError::InvalidSqsEvent { reason };
    let Some(Value::Array(records)) = payload.get(RECORDS_FIELD) else {
        return Err(invalid(format!("{RECORDS_FIELD} must be an array")));
    };
    records
        .iter()
        .enumerate()
        .map(|(i, record)| {
            let source = record.get("eventSource").and_then(Value::as_str);
            if source != Some(SQS_EVENT_SOURCE) {
                return Err(invalid(format!(
                    "{RECORDS_FIELD}[{i}].eventSource must be \"{SQS_EVENT_SOURCE}\" \
                     (this function takes SQS records only)"
                )));
            }
            let message_id = match record.get("messageId").and_then(Value::as_str) {
                Some(id) if !id.is_empty() => id.to_owned(),
                _ => {
                    return Err(invalid(format!(
                        "{RECORDS_FIELD}[{i}].messageId must be a non-empty string"
                    )))
                }
            };
            let body = record
                .get("body")
                .and_then(Value::as_str)
                .map(str::to_owned);
            Ok(SqsMessage { message_id, body })
        })
        .collect()
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn record(id: &str, body: Value) -> Value {
        json!({ "messageId": id, "receiptHandle": "r", "body": body,
                "eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:us-east-1:1:q" })
    }

    #[test]
    fn records_are_read_in_order_with_their_ids_and_bodies() {
        let payload = json!({ "Records": [ record("m1", json!("{}")), record("m2", json!(5)) ] });
        assert!(is_records_event(&payload));
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
