//! Which function serves a request: the routes of the shared table
//! (`audit_shared::api::routes::ROUTES`, which `template.yaml` is checked against), matched
//! on method and path as API Gateway matches them, case-sensitively, with the path
//! parameters it passes; then the viewer's two routes (`swagger::VIEWER_ROUTES`, served by
//! the swagger function without the authorizer, also checked against the template).

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
    let Some(found) = routes::find(path, Case::Sensitive) else {
        return viewer_route(method, path);
    };
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

/// The viewer's routes: `GET /api/audit/ui` and `GET /api/audit/ui/{proxy+}` (the greedy
/// parameter as it appears in the path, empty for the page itself, as API Gateway passes it).
fn viewer_route(method: &Method, path: &str) -> Option<Route> {
    if method != Method::GET && method != Method::HEAD {
        return None;
    }
    let [base, files] = swagger::VIEWER_ROUTES;
    let (route_path, parameters) = if path == base {
        (base, BTreeMap::new())
    } else {
        let proxy = path.strip_prefix(base)?.strip_prefix('/')?;
        (files, BTreeMap::from([("proxy", proxy.to_owned())]))
    };
    Some(Route {
        function: Function::Swagger,
        route_key: format!("GET {route_path}"),
        public: true,
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

    #[test]
    fn the_viewer_routes_go_to_the_swagger_function_without_a_token() {
        let r = |p: &str| route(&Method::GET, p);
        let page = r("/api/audit/ui/").unwrap();
        assert_eq!(page.function, Function::Swagger);
        assert_eq!(page.route_key, "GET /api/audit/ui/{proxy+}");
        assert!(page.public);
        assert_eq!(page.parameters["proxy"], "");
        let file = r("/api/audit/ui/verify.mjs").unwrap();
        assert_eq!(file.parameters["proxy"], "verify.mjs");
        let base = r("/api/audit/ui").unwrap();
        assert_eq!(base.route_key, "GET /api/audit/ui");
        assert!(base.parameters.is_empty());
        assert!(route(&Method::HEAD, "/api/audit/ui/").is_some());
        assert_eq!(route(&Method::POST, "/api/audit/ui/"), None);
        assert_eq!(r("/api/audit/uix"), None);
        assert_eq!(r("/api/audit/UI/"), None);
    }
}
