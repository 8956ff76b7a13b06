//! The API Gateway v2 event of one local HTTP request, made with the query function's
//! builder ([`query::apigw::HttpApiEvent`]) so that it is the event every test and the
//! bench also hand the handlers.

use std::collections::BTreeMap;

use audit_shared::domain::Timestamp;
use axum::http::{HeaderMap, Method, Uri};
use base64::Engine;
use query::apigw::HttpApiEvent;
use serde_json::{Map, Value};

/// The API Gateway v2 event for one HTTP request: its headers, query and body, the route
/// that matched with its path parameters, the authorizer's `claims`, a fresh request id
/// and the current time.
pub fn api_gateway_event(
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
    route_key: &str,
    path_parameters: &BTreeMap<&'static str, String>,
    claims: Map<String, Value>,
) -> HttpApiEvent {
    let mut event = HttpApiEvent::new(method.as_str(), uri.path())
        .route_key(route_key)
        .query(uri.query().unwrap_or(""))
        .request_id(&ulid::Ulid::new().to_string())
        .time(Timestamp::now())
        .jwt_claims(claims);
    for (name, value) in headers {
        event = event.header(name.as_str(), &String::from_utf8_lossy(value.as_bytes()));
    }
    for (name, value) in path_parameters {
        event = event.path_parameter(name, value);
    }
    match std::str::from_utf8(body) {
        Ok(text) => event.body(text, false),
        Err(_) => event.body(
            &base64::engine::general_purpose::STANDARD.encode(body),
            true,
        ),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use axum::http::HeaderValue;
    use lambda_http::RequestExt;

    use super::super::claims::claims_of;
    use super::*;

    #[test]
    fn an_http_request_becomes_an_api_gateway_v2_event_lambda_http_accepts() {
        let uri: Uri = "/api/Audit?category=100&rangeStart=2024-03-01T05%3A00%3A00.000Z"
            .parse()
            .unwrap();
        let mut headers = HeaderMap::new();
        headers.insert("host", HeaderValue::from_static("127.0.0.1:3000"));
        let claims = claims_of(None, "local").unwrap();
        let event = api_gateway_event(
            &Method::GET,
            &uri,
            &headers,
            b"",
            "GET /api/Audit",
            &BTreeMap::new(),
            claims,
        );
        let json = event.as_json();
        assert_eq!(
            json["queryStringParameters"]["rangeStart"],
            "2024-03-01T05:00:00.000Z"
        );
        assert_eq!(
            json["requestContext"]["authorizer"]["jwt"]["claims"]["tenantId"],
            "local"
        );
        let request = lambda_http::request::from_str(&json.to_string()).unwrap();
        assert_eq!(request.uri().path(), "/api/Audit");
        assert_eq!(
            request.query_string_parameters().first("category"),
            Some("100")
        );
    }

    #[test]
    fn a_body_that_is_not_utf8_travels_as_base64() {
        let uri: Uri = "/api/Audit".parse().unwrap();
        let event = api_gateway_event(
            &Method::GET,
            &uri,
            &HeaderMap::new(),
            &[0xff, 0x00],
            "GET /api/Audit",
            &BTreeMap::from([("eventId", "evt-1".to_owned())]),
            Map::new(),
        )
        .into_json();
        assert_eq!(event["body"], "/wA=");
        assert_eq!(event["isBase64Encoded"], true);
        assert_eq!(event["pathParameters"]["eventId"], "evt-1");
    }
}
