//! Problem details (RFC 9457), the body of every error response.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The media type of problem details.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// One bad query parameter and the rule it broke.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ParameterError {
    /// The parameter's name, as sent (e.g. `rangeEnd`).
    #[schema(example = "rangeEnd")]
    pub parameter: String,
    /// The rule, phrased for the caller.
    #[schema(
        example = "must not be earlier than rangeStart (rangeStart=2024-03-01T05:00:00.000Z is later than rangeEnd=2023-10-23T04:59:00.000Z)"
    )]
    pub message: String,
}

impl ParameterError {
    /// A failure of `parameter` against the rule described by `message`.
    pub fn new(parameter: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            parameter: parameter.into(),
            message: message.into(),
        }
    }
}

impl std::fmt::Display for ParameterError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.parameter, self.message)
    }
}

/// Every bad parameter of a request, so that a caller can fix them all at once.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
pub struct InvalidParameters(pub Vec<ParameterError>);

/// Where a request carries a parameter, as a problem's `detail` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParameterLocation {
    /// In the query string (`?pageSize=0`).
    Query,
    /// In the path (`/api/Audit/{eventId}`).
    Path,
    /// In a request header (`Accept`).
    Header,
}

impl ParameterLocation {
    /// The word a problem's `detail` uses: `query` or `path`.
    pub const fn as_str(self) -> &'static str {
        match self {
            ParameterLocation::Query => "query",
            ParameterLocation::Path => "path",
            ParameterLocation::Header => "header",
        }
    }
}

/// The body API Gateway itself sends, before any function runs: `{"message": "Unauthorized"}`
/// for a missing, expired or invalid token, `{"message": "Not Found"}` for a method or path
/// no route serves. Its media type is `application/json`, not problem+json.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({ "message": "Unauthorized" }))]
pub struct GatewayMessage {
    /// The reason phrase.
    pub message: String,
}

/// An RFC 9457 problem: what went wrong, for people and programs.
///
/// `type` is `about:blank` (the status says it all) and `title` the status phrase. A 400
/// lists every bad parameter in `errors`; a 5xx carries only the request id, never a cause.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({
    "type": "about:blank",
    "title": "Bad Request",
    "status": 400,
    "detail": "2 query parameters are invalid.",
    "errors": [
        { "parameter": "rangeStart", "message": "must not be later than rangeEnd (rangeStart=2024-03-01T05:00:00.000Z is later than rangeEnd=2023-10-23T04:59:00.000Z)" },
        { "parameter": "rangeEnd", "message": "must not be earlier than rangeStart (rangeStart=2024-03-01T05:00:00.000Z is later than rangeEnd=2023-10-23T04:59:00.000Z)" }
    ]
}))]
pub struct Problem {
    /// A URI naming the problem type; `about:blank` means the status code says it all.
    #[serde(rename = "type")]
    #[schema(example = "about:blank")]
    pub problem_type: String,
    /// The status code's phrase.
    #[schema(example = "Bad Request")]
    pub title: String,
    /// The HTTP status code.
    #[schema(example = 400)]
    pub status: u16,
    /// What happened, for people.
    pub detail: String,
    /// The request id, on server errors: quote it when reporting the problem.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// Every bad parameter (400 only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<ParameterError>,
}

impl Problem {
    fn new(status: u16, title: &str, detail: impl Into<String>) -> Self {
        Self {
            problem_type: "about:blank".to_owned(),
            title: title.to_owned(),
            status,
            detail: detail.into(),
            request_id: None,
            errors: Vec::new(),
        }
    }

    /// 400: the request's query parameters broke these rules.
    pub fn invalid_parameters(errors: Vec<ParameterError>) -> Self {
        Self::invalid_parameters_in(ParameterLocation::Query, errors)
    }

    /// 400: the request's parameters, all sent in `location`, broke these rules.
    pub fn invalid_parameters_in(location: ParameterLocation, errors: Vec<ParameterError>) -> Self {
        let kind = location.as_str();
        let detail = match errors.len() {
            1 => format!("1 {kind} parameter is invalid."),
            n => format!("{n} {kind} parameters are invalid."),
        };
        Self {
            errors,
            ..Self::new(400, "Bad Request", detail)
        }
    }

    /// 401: the caller's credentials do not say which tenant it belongs to.
    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(401, "Unauthorized", detail)
    }

    /// 404: nothing here for this caller.
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(404, "Not Found", detail)
    }

    /// 406: no format of the listing suits the request's `Accept` header; `errors` names
    /// the header and the formats on offer.
    pub fn not_acceptable(error: ParameterError) -> Self {
        Self {
            errors: vec![error],
            ..Self::new(
                406,
                "Not Acceptable",
                "The Accept header asks for no format this listing is served in.",
            )
        }
    }

    /// 409: the resource exists but is not in the state the request needs (an event not
    /// sealed yet has no inclusion proof).
    pub fn conflict(detail: impl Into<String>) -> Self {
        Self::new(409, "Conflict", detail)
    }

    /// 414: the request line (method, URI and protocol) is `bytes` long, over `limit`.
    pub fn uri_too_long(bytes: usize, limit: usize) -> Self {
        Self::new(
            414,
            "URI Too Long",
            format!(
                "The request line (method, URI and protocol) is {bytes} bytes; at most \
                 {limit} are accepted. Shorten the query."
            ),
        )
    }

    /// 405: the route exists, the method does not.
    pub fn method_not_allowed(method: &str) -> Self {
        Self::new(
            405,
            "Method Not Allowed",
            format!("{method} is not supported here; use GET."),
        )
    }

    /// 500: something failed on our side; the cause is in the logs under `request_id`.
    pub fn internal(request_id: impl Into<String>) -> Self {
        Self {
            request_id: Some(request_id.into()),
            ..Self::new(
                500,
                "Internal Server Error",
                "The request could not be served. Quote the request id when reporting it.",
            )
        }
    }

    /// 503: the store is overloaded or briefly unavailable; retrying later may succeed.
    pub fn unavailable(request_id: impl Into<String>) -> Self {
        Self {
            request_id: Some(request_id.into()),
            ..Self::new(
                503,
                "Service Unavailable",
                "The service is briefly overloaded. Retry the request in a moment.",
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_request_lists_every_parameter_in_rfc_9457_shape() {
        let p = Problem::invalid_parameters(vec![
            ParameterError::new("pageSize", "must be a whole number from 1 to 1000"),
            ParameterError::new("order", "must be asc or desc"),
        ]);
        let json = serde_json::to_value(&p).unwrap();
        assert_eq!(json["type"], "about:blank");
        assert_eq!(json["title"], "Bad Request");
        assert_eq!(json["status"], 400);
        assert_eq!(json["detail"], "2 query parameters are invalid.");
        assert_eq!(json["errors"][1]["parameter"], "order");
        assert!(json.get("requestId").is_none());
    }

    #[test]
    fn a_bad_path_parameter_is_called_a_path_parameter() {
        let one = Problem::invalid_parameters_in(
            ParameterLocation::Path,
            vec![ParameterError::new("eventId", "must not be '.'")],
        );
        assert_eq!(one.detail, "1 path parameter is invalid.");
        assert_eq!(one.status, 400);
        assert_eq!(one.errors[0].parameter, "eventId");
    }

    #[test]
    fn a_server_error_carries_the_request_id_and_nothing_else() {
        let json = serde_json::to_value(Problem::internal("req-1")).unwrap();
        assert_eq!(json["status"], 500);
        assert_eq!(json["requestId"], "req-1");
        assert!(json.get("errors").is_none());
        assert_eq!(json.as_object().unwrap().len(), 5);
    }
}
