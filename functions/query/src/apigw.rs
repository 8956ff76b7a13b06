//! API Gateway HTTP API requests (payload format 2.0): the one builder of the events API
//! Gateway sends a function, and the one percent-decoder of URL parts.
//!
//! The local gateway turns every HTTP request into such an event, the bench times the
//! handler on them, and the tests make their requests with them, so that all of them hand
//! the handler what API Gateway would. The event stays JSON (a recorded fixture can be
//! edited the same way) until [`HttpApiEvent::into_request`] parses it with
//! `lambda_http::request::from_str`, exactly as the Lambda runtime does.

use audit_shared::domain::Timestamp;
use serde_json::{json, Map, Value};

/// The instant of an event whose time is not set: 2024-03-01T05:00:00Z, as in the
/// reference platform's examples, so that events built twice are the same.
const DEFAULT_TIME_MILLIS: i64 = 1_709_269_200_000;
/// [`DEFAULT_TIME_MILLIS`] as API Gateway writes it.
const DEFAULT_TIME: &str = "01/Mar/2024:05:00:00 +0000";

/// How API Gateway writes `requestContext.time`.
const TIME_FORMAT: &str = "%d/%b/%Y:%H:%M:%S %z";

/// One API Gateway v2 request event, as JSON, built field by field.
///
/// Setters keep the fields API Gateway keeps in two places in step: the path is
/// `rawPath` and `requestContext.http.path`, the route key is `routeKey` at both levels,
/// the `host` header is `requestContext.domainName` and the `user-agent` header is
/// `requestContext.http.userAgent`.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpApiEvent(Value);

impl HttpApiEvent {
    /// A `method path` request on the `$default` route and stage, from 127.0.0.1, with no
    /// header, query, body or authorizer, at 2024-03-01T05:00:00Z.
    pub fn new(method: &str, path: &str) -> Self {
        let event = json!({
            "version": "2.0",
            "routeKey": "$default",
            "rawPath": path,
            "rawQueryString": "",
            "headers": {},
            "requestContext": {
                "accountId": "000000000000",
                "apiId": "local",
                "domainName": "127.0.0.1",
                "domainPrefix": "local",
                "http": {
                    "method": method,
                    "path": path,
                    "protocol": "HTTP/1.1",
                    "sourceIp": "127.0.0.1",
                    "userAgent": "",
                },
                "requestId": "",
                "routeKey": "$default",
                "stage": "$default",
                "time": DEFAULT_TIME,
                "timeEpoch": DEFAULT_TIME_MILLIS,
            },
            "isBase64Encoded": false,
        });
        Self(event)
    }

    /// An event read elsewhere (a recorded fixture), to be edited.
    pub fn from_json(event: Value) -> Self {
        Self(event)
    }

    /// The request path, undecoded, as `rawPath` and `requestContext.http.path`.
    pub fn path(mut self, path: &str) -> Self {
        self.set(&[], "rawPath", json!(path));
        self.set(&["requestContext", "http"], "path", json!(path));
        self
    }

    /// The raw query string, and `queryStringParameters` as API Gateway derives them:
    /// decoded, a repeated name's values joined by commas, absent when there are none.
    pub fn query(mut self, raw_query: &str) -> Self {
        self.set(&[], "rawQueryString", json!(raw_query));
        let parameters = query_string_parameters(raw_query);
        if parameters.is_empty() {
            self.remove(&[], "queryStringParameters");
        } else {
            self.set(&[], "queryStringParameters", Value::Object(parameters));
        }
        self
    }

    /// The route key (`GET /api/Audit/{eventId}`) of the route that matched.
    pub fn route_key(mut self, route_key: &str) -> Self {
        self.set(&[], "routeKey", json!(route_key));
        self.set(&["requestContext"], "routeKey", json!(route_key));
        self
    }

    /// One path parameter of the route (`eventId`), already decoded.
    pub fn path_parameter(mut self, name: &str, value: &str) -> Self {
        self.set(&["pathParameters"], name, json!(value));
        self
    }

    /// One header; a repeated header's values are joined by commas, as API Gateway does.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        let name = name.to_ascii_lowercase();
        let joined = match self.0["headers"].get(&name).and_then(Value::as_str) {
            Some(existing) => format!("{existing},{value}"),
            None => value.to_owned(),
        };
        match name.as_str() {
            "host" => self.set(&["requestContext"], "domainName", json!(joined)),
            "user-agent" => self.set(&["requestContext", "http"], "userAgent", json!(joined)),
            _ => {}
        }
        self.set(&["headers"], &name, json!(joined));
        self
    }

    /// The stage (`$default`, or a named stage that prefixes the path).
    pub fn stage(mut self, stage: &str) -> Self {
        self.set(&["requestContext"], "stage", json!(stage));
        self
    }

    /// The request id API Gateway assigned.
    pub fn request_id(mut self, request_id: &str) -> Self {
        self.set(&["requestContext"], "requestId", json!(request_id));
        self
    }

    /// When API Gateway received the request.
    pub fn time(mut self, at: Timestamp) -> Self {
        let text = at.as_datetime().format(TIME_FORMAT).to_string();
        self.set(&["requestContext"], "time", json!(text));
        self.set(&["requestContext"], "timeEpoch", json!(at.millis()));
        self
    }

    /// The client's address.
    pub fn source_ip(mut self, ip: &str) -> Self {
        self.set(&["requestContext", "http"], "sourceIp", json!(ip));
        self
    }

    /// The account and the API that received the request.
    pub fn api(mut self, account_id: &str, api_id: &str) -> Self {
        self.set(&["requestContext"], "accountId", json!(account_id));
        self.set(&["requestContext"], "apiId", json!(api_id));
        self.set(&["requestContext"], "domainPrefix", json!(api_id));
        self
    }

    /// A JWT authorizer's verdict: the token's claims, each value a string as API
    /// Gateway passes them (a list claim as `[a b]`).
    pub fn jwt_claims(self, claims: Map<String, Value>) -> Self {
        self.authorizer(json!({ "jwt": { "claims": claims, "scopes": null } }))
    }

    /// One claim of the JWT authorizer, added or replaced.
    pub fn claim(mut self, name: &str, value: &str) -> Self {
        self.set(
            &["requestContext", "authorizer", "jwt", "claims"],
            name,
            json!(value),
        );
        self
    }

    /// The JWT authorizer without the claim `name`.
    pub fn without_claim(mut self, name: &str) -> Self {
        self.remove(&["requestContext", "authorizer", "jwt", "claims"], name);
        self
    }

    /// The whole `requestContext.authorizer` (a Lambda authorizer's, or an empty one).
    pub fn authorizer(mut self, authorizer: Value) -> Self {
        self.set(&["requestContext"], "authorizer", authorizer);
        self
    }

    /// The body: text, or base64 of bytes that are not UTF-8 (`is_base64` says which).
    pub fn body(mut self, body: &str, is_base64: bool) -> Self {
        if body.is_empty() {
            self.remove(&[], "body");
        } else {
            self.set(&[], "body", json!(body));
        }
        self.set(&[], "isBase64Encoded", json!(is_base64));
        self
    }

    /// The event as JSON.
    pub fn as_json(&self) -> &Value {
        &self.0
    }

    /// The event as JSON.
    pub fn into_json(self) -> Value {
        self.0
    }

    /// The request the Lambda runtime would hand the function for this event.
    ///
    /// # Errors
    /// When the JSON is not an API Gateway v2 event (only possible after
    /// [`HttpApiEvent::from_json`] or [`HttpApiEvent::authorizer`] of a malformed value).
    pub fn into_request(self) -> Result<lambda_http::Request, serde_json::Error> {
        lambda_http::request::from_str(&self.0.to_string())
    }

    /// Sets `name` in the object at `path`, making the objects on the way.
    fn set(&mut self, path: &[&str], name: &str, value: Value) {
        if let Some(object) = object_at(&mut self.0, path) {
            object.insert(name.to_owned(), value);
        }
    }

    /// Removes `name` from the object at `path`, if any.
    fn remove(&mut self, path: &[&str], name: &str) {
        if let Some(object) = object_at(&mut self.0, path) {
            object.remove(name);
        }
    }
}

/// The object at `path` in `value`, made (replacing whatever was there) when missing.
fn object_at<'a>(value: &'a mut Value, path: &[&str]) -> Option<&'a mut Map<String, Value>> {
    let mut current = value;
    for key in path {
        if !current.is_object() {
            *current = Value::Object(Map::new());
        }
        current = current
            .as_object_mut()?
            .entry((*key).to_owned())
            .or_insert(Value::Null);
    }
    if !current.is_object() {
        *current = Value::Object(Map::new());
    }
    current.as_object_mut()
}

/// `queryStringParameters` of a raw query string: names and values decoded (`+` is a
/// space there), a repeated name's values joined by commas.
pub fn query_string_parameters(raw_query: &str) -> Map<String, Value> {
    let mut parameters = Map::new();
    for (name, value) in form_urlencoded::parse(raw_query.as_bytes()) {
        let joined = match parameters.get(name.as_ref()).and_then(Value::as_str) {
            Some(existing) => format!("{existing},{value}"),
            None => value.into_owned(),
        };
        parameters.insert(name.into_owned(), Value::String(joined));
    }
    parameters
}

/// A URL part with its `%XX` escapes decoded. `+` stays a plus (it means a space only in
/// a query string), a `%` without two hex digits stays as it is, and bytes that are not
/// UTF-8 become U+FFFD.
pub fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = match (bytes[i], bytes.get(i + 1), bytes.get(i + 2)) {
            (b'%', Some(&high), Some(&low)) => hex_value(high).zip(hex_value(low)),
            _ => None,
        };
        match escaped {
            Some((high, low)) => {
                out.push(high << 4 | low);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex_value(digit: u8) -> Option<u8> {
    char::from(digit)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use lambda_http::request::RequestContext;
    use lambda_http::RequestExt;

    use super::*;

    #[test]
    fn percent_escapes_are_decoded_and_a_plus_stays_a_plus() {
        assert_eq!(percent_decode("evt%3A1+x"), "evt:1+x");
        assert_eq!(percent_decode("evt%2D1"), "evt-1");
        assert_eq!(percent_decode("caf%C3%A9"), "café");
        assert_eq!(percent_decode("a%2"), "a%2");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz%+1"), "%zz%+1");
        assert_eq!(percent_decode("a&b=c"), "a&b=c");
        assert_eq!(percent_decode("%aé"), "%aé");
        assert_eq!(percent_decode("%FF"), "\u{FFFD}");
    }

    #[test]
    fn query_parameters_are_decoded_and_repeated_names_joined_by_commas() {
        let parameters = query_string_parameters(
            "category=100&category=200&rangeStart=2024-03-01T05%3A00%3A00.000Z&q=a+b",
        );
        assert_eq!(parameters["category"], "100,200");
        assert_eq!(parameters["rangeStart"], "2024-03-01T05:00:00.000Z");
        assert_eq!(parameters["q"], "a b");
        assert!(query_string_parameters("").is_empty());
    }

    #[test]
    fn a_built_event_is_one_lambda_http_accepts_as_api_gateway_v2() {
        let claims = Map::from_iter([("tenantId".to_owned(), json!("acme"))]);
        let event = HttpApiEvent::new("GET", "/api/Audit/evt%2D1")
            .route_key("GET /api/Audit/{eventId}")
            .path_parameter("eventId", "evt-1")
            .query("category=100")
            .header("host", "127.0.0.1:3000")
            .header("Accept", "text/html")
            .header("accept", "application/json")
            .request_id("req-1")
            .jwt_claims(claims);
        let json = event.as_json().clone();
        assert_eq!(json["routeKey"], "GET /api/Audit/{eventId}");
        assert_eq!(
            json["requestContext"]["routeKey"],
            "GET /api/Audit/{eventId}"
        );
        assert_eq!(json["requestContext"]["domainName"], "127.0.0.1:3000");
        assert_eq!(json["headers"]["accept"], "text/html,application/json");
        assert_eq!(json["requestContext"]["time"], DEFAULT_TIME);
        assert_eq!(json["requestContext"]["timeEpoch"], DEFAULT_TIME_MILLIS);
        assert_eq!(json["queryStringParameters"]["category"], "100");
        let request = event.into_request().unwrap();
        assert_eq!(request.uri().path(), "/api/Audit/evt%2D1");
        assert_eq!(request.uri().query(), Some("category=100"));
        assert_eq!(
            request
                .path_parameters_ref()
                .and_then(|p| p.first("eventId")),
            Some("evt-1")
        );
        assert_eq!(
            request.query_string_parameters().first("category"),
            Some("100")
        );
        let Some(RequestContext::ApiGatewayV2(context)) = request.request_context_ref() else {
            panic!("not an API Gateway v2 request");
        };
        assert_eq!(context.request_id.as_deref(), Some("req-1"));
        assert_eq!(
            context
                .authorizer
                .as_ref()
                .unwrap()
                .jwt
                .as_ref()
                .unwrap()
                .claims["tenantId"],
            "acme"
        );
    }

    #[test]
    fn the_time_is_written_as_api_gateway_writes_it() {
        let at = Timestamp::parse_rfc3339("t", "2024-03-01T05:00:00Z").unwrap();
        assert_eq!(at.millis(), DEFAULT_TIME_MILLIS);
        let event = HttpApiEvent::new("GET", "/").time(at).into_json();
        assert_eq!(event["requestContext"]["time"], DEFAULT_TIME);
        assert_eq!(event["requestContext"]["timeEpoch"], DEFAULT_TIME_MILLIS);
    }

    #[test]
    fn a_fixture_is_edited_in_place_and_empty_parts_are_left_out() {
        let fixture = HttpApiEvent::new("GET", "/api/Audit")
            .query("a=1")
            .claim("tenantId", "acme")
            .claim("organizationIds", "[org-1]")
            .body("{}", false)
            .into_json();
        let edited = HttpApiEvent::from_json(fixture)
            .query("")
            .path("/prod/api/Audit")
            .stage("prod")
            .without_claim("organizationIds")
            .body("", false)
            .into_json();
        assert!(edited.get("queryStringParameters").is_none());
        assert!(edited.get("body").is_none());
        assert_eq!(edited["rawPath"], "/prod/api/Audit");
        assert_eq!(edited["requestContext"]["http"]["path"], "/prod/api/Audit");
        assert_eq!(edited["requestContext"]["stage"], "prod");
        let claims = &edited["requestContext"]["authorizer"]["jwt"]["claims"];
        assert_eq!(claims["tenantId"], "acme");
        assert!(claims.get("organizationIds").is_none());
    }
}
