//! The `{eventId}` path parameter of `GET /api/Audit/{eventId}` and its proof: the rule of
//! ingestion, and its description for the OpenAPI document.

use serde_json::json;
use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::Required;
use utoipa::IntoParams;

use super::values::string;
use crate::api::problem::ParameterError;
use crate::api::routes::EVENT_ID;
use crate::domain::{EventId, MAX_IDENTIFIER_LEN};

/// The `{eventId}` path parameter's pattern: an event id ([`EventId::parse`]) other than the
/// dot segments `.` and `..`, written without look-ahead so that every JSON Schema engine
/// (and every test generator) reads it. The catalog routes' names also match it: those
/// paths are the catalog's, as documented.
pub const EVENT_ID_PATTERN: &str = r"^(?:[A-Za-z0-9_:-][A-Za-z0-9._:-]{0,127}|\.[A-Za-z0-9_:-][A-Za-z0-9._:-]{0,126}|\.\.[A-Za-z0-9._:-]{1,126})$";

/// Parses the raw (percent-decoded) `{eventId}` path parameter with the rule of ingestion,
/// so that every stored event can be asked for and nothing else reaches the store.
pub fn parse_event_id(value: &str) -> Result<EventId, ParameterError> {
    EventId::parse(value).map_err(|e| ParameterError::new(EVENT_ID, e.message))
}

/// Documents the path parameter of `GET /api/Audit/{eventId}`.
pub struct GetEventParams;

impl IntoParams for GetEventParams {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        let schema = string()
            .min_length(Some(1))
            .max_length(Some(MAX_IDENTIFIER_LEN))
            .pattern(Some(EVENT_ID_PATTERN));
        vec![ParameterBuilder::new()
            .name(EVENT_ID)
            .parameter_in(ParameterIn::Path)
            .required(Required::True)
            .description(Some(format!(
                "The event's id: 1 to {MAX_IDENTIFIER_LEN} characters of `[A-Za-z0-9._:-]`, \
                 not `.` or `..` (the rule of ingestion, which also refuses `eventTypes`, \
                 `categories` and `checkpoints`: those paths are other routes). Another value is a 400 naming \
                 `eventId`."
            )))
            .schema(Some(schema))
            .example(Some(json!("01HQZX3J8Y6K2M4N5P7R9S0T1V")))
            .build()]
    }
}
