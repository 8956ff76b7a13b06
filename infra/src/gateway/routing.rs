//! Which function serves a request: the routes of `template.yaml`, matched on method and
//! path as API Gateway matches them, with the path parameters it extracts.

use std::collections::BTreeMap;

use axum::http::Method;
use query::apigw::percent_decode;

/// Which function serves a request, and with which route key and path parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// The query function.
    Query {
        /// API Gateway route key, e.g. `GET /api/Audit/{eventId}`.
        route_key: &'static str,
        /// Path parameters, e.g. `eventId`.
        parameters: BTreeMap<&'static str, String>,
    },
    /// The swagger function.
    Swagger {
        /// API Gateway route key.
        route_key: &'static str,
        /// Path parameters (`proxy`).
        parameters: BTreeMap<&'static str, String>,
    },
}

/// Matches a method and path against the routes of `template.yaml`.
pub fn route(method: &Method, path: &str) -> Option<Route> {
    if method != Method::GET && method != Method::HEAD {
        return None;
    }
    let none = BTreeMap::new;
    match path {
        "/api/Audit" => Some(Route::Query {
            route_key: "GET /api/Audit",
            parameters: none(),
        }),
        "/api/Audit/eventTypes" => Some(Route::Query {
            route_key: "GET /api/Audit/eventTypes",
            parameters: none(),
        }),
        "/api/Audit/categories" => Some(Route::Query {
            route_key: "GET /api/Audit/categories",
            parameters: none(),
        }),
        "/api/audit/swagger" => Some(Route::Swagger {
            route_key: "GET /api/audit/swagger",
            parameters: none(),
        }),
        _ => {
            if let Some(id) = path
                .strip_prefix("/api/Audit/")
                .filter(|s| !s.is_empty() && !s.contains('/'))
            {
                return Some(Route::Query {
                    route_key: "GET /api/Audit/{eventId}",
                    parameters: BTreeMap::from([("eventId", percent_decode(id))]),
                });
            }
            path.strip_prefix("/api/audit/swagger/")
                .map(|rest| Route::Swagger {
                    route_key: "GET /api/audit/swagger/{proxy+}",
                    parameters: BTreeMap::from([("proxy", rest.to_owned())]),
                })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_match_the_template() {
        let r = |p: &str| route(&Method::GET, p);
        assert!(matches!(
            r("/api/Audit"),
            Some(Route::Query {
                route_key: "GET /api/Audit",
                ..
            })
        ));
        assert!(matches!(
            r("/api/Audit/eventTypes"),
            Some(Route::Query {
                route_key: "GET /api/Audit/eventTypes",
                ..
            })
        ));
        match r("/api/Audit/evt%2D1") {
            Some(Route::Query {
                route_key,
                parameters,
            }) => {
                assert_eq!(route_key, "GET /api/Audit/{eventId}");
                assert_eq!(parameters["eventId"], "evt-1");
            }
            other => panic!("{other:?}"),
        }
        match r("/api/audit/swagger/v1/swagger.json") {
            Some(Route::Swagger { parameters, .. }) => {
                assert_eq!(parameters["proxy"], "v1/swagger.json")
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            r("/api/audit/swagger"),
            Some(Route::Swagger { .. })
        ));
        assert_eq!(r("/api/Audit/a/b"), None);
        assert_eq!(r("/elsewhere"), None);
        assert_eq!(route(&Method::POST, "/api/Audit"), None);
    }
}
