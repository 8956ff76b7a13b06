//! The handler's errors and their one mapping to problem+json responses.
//!
//! 4xx explain what to fix; 5xx carry only the request id, while the full cause goes to
//! the logs under that id.

use std::time::Duration;

use audit_shared::api::{ParameterError, ParameterLocation, Problem};
use audit_shared::query::QueryError;
use audit_shared::store::StoreError;
use lambda_http::http::StatusCode;

use crate::claims::ClaimError;

/// Everything a request can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The `Accept` header asks for no format the listing is served in.
    #[error("not acceptable: {0}")]
    NotAcceptable(ParameterError),
    /// Bad query parameters.
    #[error("invalid query parameters: {0:?}")]
    BadRequest(Vec<ParameterError>),
    /// A bad path parameter.
    #[error("invalid path parameter: {0}")]
    BadPathParameter(ParameterError),
    /// A bad request header (an `Accept` with an invalid `q`).
    #[error("invalid header: {0}")]
    BadHeader(ParameterError),
    /// No usable identity in the authorizer claims.
    #[error(transparent)]
    Unauthorized(#[from] ClaimError),
    /// Nothing for this caller at this path.
    #[error("not found: {0}")]
    NotFound(String),
    /// A method other than GET or HEAD.
    #[error("method {0} not allowed")]
    MethodNotAllowed(String),
    /// The event exists but no checkpoint holds it yet (409 with `Retry-After`).
    #[error("not sealed: {0}")]
    NotSealed(String),
    /// The verifier key could not be read (503 with `Retry-After`).
    #[error("the verifier key is unavailable: {0}")]
    KeyUnavailable(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A response could not be built.
    #[error("cannot build the response: {0}")]
    Internal(String),
    /// The request's deadline passed before it was served; its reads were abandoned.
    #[error("the request's deadline of {0:?} passed before it was served")]
    DeadlineExceeded(Duration),
}

impl From<QueryError> for ApiError {
    fn from(error: QueryError) -> Self {
        match error {
            QueryError::Token(e) => ApiError::BadRequest(vec![ParameterError::new(
                audit_shared::api::params::NEXT_TOKEN,
                e.to_string(),
            )]),
            QueryError::Store(e) => ApiError::Store(e),
            // Nothing to resume from: the caller may only try again.
            QueryError::NothingRead => ApiError::Store(StoreError::Transient {
                operation: "Query",
                message: error.to_string(),
            }),
        }
    }
}

impl ApiError {
    /// Whether retrying the same request later may succeed (a 503 with `Retry-After`).
    pub fn is_retryable(&self) -> bool {
        match self {
            ApiError::Store(e) => e.is_retryable(),
            ApiError::DeadlineExceeded(_) | ApiError::KeyUnavailable(_) => true,
            _ => false,
        }
    }

    /// The status and the problem body; `request_id` goes into server errors only.
    pub fn problem(&self, request_id: &str) -> (StatusCode, Problem) {
        let problem = match self {
            ApiError::BadRequest(errors) => Problem::invalid_parameters(errors.clone()),
            ApiError::NotAcceptable(error) => Problem::not_acceptable(error.clone()),
            ApiError::BadPathParameter(error) => {
                Problem::invalid_parameters_in(ParameterLocation::Path, vec![error.clone()])
            }
            ApiError::BadHeader(error) => {
                Problem::invalid_parameters_in(ParameterLocation::Header, vec![error.clone()])
            }
            ApiError::Unauthorized(e) => Problem::unauthorized(e.to_string()),
            ApiError::NotFound(detail) => Problem::not_found(detail.clone()),
            ApiError::MethodNotAllowed(method) => Problem::method_not_allowed(method),
            ApiError::NotSealed(detail) => Problem::conflict(detail.clone()),
            ApiError::Store(_) | ApiError::DeadlineExceeded(_) | ApiError::KeyUnavailable(_)
                if self.is_retryable() =>
            {
                Problem::unavailable(request_id)
            }
            ApiError::Store(_)
            | ApiError::Internal(_)
            | ApiError::DeadlineExceeded(_)
            | ApiError::KeyUnavailable(_) => Problem::internal(request_id),
        };
        let status =
            StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (status, problem)
    }
}

#[cfg(test)]
mod tests {
    use audit_shared::query::TokenError;

    use super::*;

    #[test]
    fn server_errors_hide_their_cause_and_client_errors_explain() {
        let store = ApiError::Store(StoreError::Permanent {
            operation: "Query",
            message: "secret table name in here".into(),
        });
        let (status, problem) = store.problem("req-9");
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_string(&problem).unwrap();
        assert!(!body.contains("secret") && body.contains("req-9"), "{body}");

        let throttled = ApiError::Store(StoreError::Transient {
            operation: "Query",
            message: "throttled".into(),
        });
        assert_eq!(throttled.problem("r").0, StatusCode::SERVICE_UNAVAILABLE);

        let token: ApiError = QueryError::Token(TokenError::OtherFilters).into();
        let (status, problem) = token.problem("r");
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(problem.errors[0].parameter, "nextToken");
        assert!(problem.request_id.is_none());
    }
}
