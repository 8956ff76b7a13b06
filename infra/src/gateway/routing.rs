//! Which function serves a request: the routes of the shared table
//! (`audit_shared::api::routes::ROUTES`, which `template.yaml` is checked against), matched
//! on method and path as API Gateway matches them, case-sensitively, with the path
//! parameters it passes.

use std::collections::BTreeMap;

use audit_shared::api::routes::{self, Case, Function};
use axum::http::Method;
use query::apigw::percent_decode;

/// The route a request matched: the function that serves it, the route key and the path
/// parameters API Gateway would pass it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// The function that serves the route.
    pub function: Function,
    /// API Gateway route key, e.g. `GET /api/Audit/{eventId}`.
    pub route_key: String,
    /// Whether the route has no authorizer (the swagger routes).
    pub public: bool,
    /// Path parameters: single-segment ones (`eventId`) percent-decoded as API Gateway
    /// passes them, a greedy one (`proxy`) as it appears in the path.
    pub parameters: BTreeMap<&'static str, String>,
}

/// Matches a method and path against the route table; `None` is API Gateway's 404.
pub fn route(method: &Method, path: &str) -> Option<Route> {
    let found = routes::find(path, Case::Sensitive)?;
    if !found.route.method.accepts(method.as_str()) {
        return None;
    }
    let parameters = found
        .parameters
        .iter()
        .map(|(name, raw)| {
            let greedy = found.route.path.contains(&format!("{{{name}+}}"));
            let value = if greedy {
                raw.clone()
            } else {
                percent_decode(raw)
            };
            (*name, value)
        })
        .collect();
    Some(Route {
        function: found.route.function,
        route_key: found.route.route_key(),
        public: found.route.public,
        parameters,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn routes_match_the_template() {
        let r = |p: &str| route(&Method::GET, p);
        let list = r("/api/Audit").unwrap();
        assert_eq!(list.function, Function::Query);
        assert_eq!(list.route_key, "GET /api/Audit");
        assert!(!list.public);
        assert!(list.parameters.is_empty());
        let types = r("/api/Audit/eventTypes").unwrap();
        assert_eq!(types.function, Function::Query);
        assert_eq!(types.route_key, "GET /api/Audit/eventTypes");
        let event = r("/api/Audit/evt%2D1").unwrap();
        assert_eq!(event.function, Function::Query);
        assert_eq!(event.route_key, "GET /api/Audit/{eventId}");
        assert_eq!(event.parameters["eventId"], "evt-1");
        let file = r("/api/audit/swagger/v1/swagger.json").unwrap();
        assert_eq!(file.function, Function::Swagger);
        assert_eq!(file.route_key, "GET /api/audit/swagger/{proxy+}");
        assert!(file.public);
        assert_eq!(file.parameters["proxy"], "v1/swagger.json");
        assert_eq!(r("/api/audit/swagger/").unwrap().parameters["proxy"], "");
        assert_eq!(r("/api/audit/swagger").unwrap().function, Function::Swagger);
        assert_eq!(r("/api/Audit/a/b"), None);
        assert_eq!(r("/api/Audit/"), None);
        assert_eq!(r("/api/audit"), None);
        assert_eq!(r("/elsewhere"), None);
        assert_eq!(route(&Method::POST, "/api/Audit"), None);
        assert!(route(&Method::HEAD, "/api/Audit").is_some());
    }
}
