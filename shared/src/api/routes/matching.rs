//! Matching a request path to a route of [`ROUTES`], as API Gateway does.

use super::{Method, Route, ROUTES};

/// How literal path segments compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Case {
    /// Exactly, as API Gateway routes.
    Sensitive,
    /// ASCII case-insensitively after an exact match failed, and a trailing `/` ignored (the
    /// query function is lenient about `/api/audit/`).
    Lenient,
}

/// A path matched to a route, with its path parameters (raw, not percent-decoded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteMatch {
    /// The route.
    pub route: &'static Route,
    /// `(name, raw value)` of each path parameter, in template order.
    pub parameters: Vec<(&'static str, String)>,
}

impl RouteMatch {
    /// The raw value of a path parameter.
    pub fn parameter(&self, name: &str) -> Option<&str> {
        self.parameters
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// The route whose path template matches `path`, whatever the
/// method: the caller answers 405 when the method is not the route's. Literal segments win
/// over parameters, as in API Gateway (`/api/Audit/eventTypes` is not an event id).
pub fn find(path: &str, case: Case) -> Option<RouteMatch> {
    match case {
        Case::Sensitive => best_match(path, false),
        Case::Lenient => {
            let path = path
                .strip_suffix('/')
                .filter(|p| !p.is_empty())
                .unwrap_or(path);
            best_match(path, false).or_else(|| best_match(path, true))
        }
    }
}

/// The routes served at a path template's match, for `Allow` headers: the methods of every
/// route matching `path`.
pub fn allowed_methods(path: &str, case: Case) -> Vec<Method> {
    find(path, case)
        .map(|m| {
            ROUTES
                .iter()
                .filter(|r| r.path == m.route.path)
                .map(|r| r.method)
                .collect()
        })
        .unwrap_or_default()
}

fn best_match(path: &str, ignore_case: bool) -> Option<RouteMatch> {
    ROUTES
        .iter()
        .filter_map(|route| {
            match_template(route.path, path, ignore_case)
                .map(|(literals, parameters)| (literals, RouteMatch { route, parameters }))
        })
        .max_by_key(|(literals, _)| *literals)
        .map(|(_, m)| m)
}

/// Matches one template; answers the number of literal segments and the parameters.
fn match_template(
    template: &'static str,
    path: &str,
    ignore_case: bool,
) -> Option<(usize, Vec<(&'static str, String)>)> {
    let wanted: Vec<&'static str> = template.strip_prefix('/')?.split('/').collect();
    let given: Vec<&str> = path.strip_prefix('/')?.split('/').collect();
    let mut literals = 0;
    let mut parameters = Vec::new();
    for (i, segment) in wanted.iter().enumerate() {
        let name = segment.strip_prefix('{').and_then(|s| s.strip_suffix('}'));
        if let Some(greedy) = name.and_then(|n| n.strip_suffix('+')) {
            // `{name+}` takes the rest: at least one more segment, which a trailing `/` makes
            // empty (`/api/audit/swagger/` is the UI's index).
            let rest = given.get(i..).filter(|r| !r.is_empty())?;
            parameters.push((greedy, rest.join("/")));
            return Some((literals, parameters));
        }
        let value = *given.get(i)?;
        match name {
            Some(name) if !value.is_empty() => parameters.push((name, value.to_owned())),
            Some(_) => return None,
            None if value == *segment || (ignore_case && value.eq_ignore_ascii_case(segment)) => {
                literals += 1;
            }
            None => return None,
        }
    }
    (given.len() == wanted.len()).then_some((literals, parameters))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::routes::{Operation, EVENT_ID};

    fn op(path: &str, case: Case) -> Option<Operation> {
        find(path, case).map(|m| m.route.operation)
    }

    #[test]
    fn each_path_finds_its_route_and_literals_win_over_parameters() {
        for route in ROUTES {
            let concrete = route
                .path
                .replace("{eventId}", "evt-1")
                .replace("{proxy+}", "a/b.js");
            let found = find(&concrete, Case::Sensitive).unwrap();
            assert_eq!(found.route, route, "{concrete}");
        }
        assert_eq!(
            op("/api/Audit/eventTypes", Case::Sensitive),
            Some(Operation::ListEventTypes)
        );
        let event = find("/api/Audit/evt%2F1", Case::Sensitive).unwrap();
        assert_eq!(event.route.operation, Operation::GetEvent);
        assert_eq!(event.parameter(EVENT_ID), Some("evt%2F1"));
        let file = find("/api/audit/swagger/a/b.js", Case::Sensitive).unwrap();
        assert_eq!(file.parameter("proxy"), Some("a/b.js"));
    }

    #[test]
    fn unknown_paths_and_extra_or_missing_segments_match_nothing() {
        for path in [
            "/",
            "",
            "/api",
            "/api/Other",
            "/api/Audit/evt-1/more",
            "/api/Audit//x",
        ] {
            assert_eq!(op(path, Case::Lenient), None, "{path}");
        }
        assert_eq!(op("/api/Audit/", Case::Sensitive), None);
        assert_eq!(
            op("/api/audit/swagger", Case::Sensitive),
            Some(Operation::SwaggerUi)
        );
        let index = find("/api/audit/swagger/", Case::Sensitive).unwrap();
        assert_eq!(index.route.operation, Operation::SwaggerFile);
        assert_eq!(index.parameter("proxy"), Some(""));
    }

    #[test]
    fn lenient_matching_ignores_case_only_when_no_exact_route_matches() {
        assert_eq!(op("/api/audit", Case::Sensitive), None);
        assert_eq!(
            op("/api/audit/", Case::Lenient),
            Some(Operation::ListEvents)
        );
        assert_eq!(op("/API/AUDIT", Case::Lenient), Some(Operation::ListEvents));
        // An exact match keeps a case-variant event id an event id.
        let m = find("/api/Audit/EVENTTYPES", Case::Lenient).unwrap();
        assert_eq!(m.route.operation, Operation::GetEvent);
    }

    #[test]
    fn the_reserved_event_ids_are_the_dot_segments_and_the_routes_beside_the_event() {
        let parent = crate::api::routes::GET_EVENT_PATH
            .rsplit_once('/')
            .map(|(parent, _)| parent)
            .unwrap();
        let mut beside: Vec<&str> = ROUTES
            .iter()
            .filter_map(|r| r.path.rsplit_once('/'))
            .filter(|(p, last)| *p == parent && !last.starts_with('{'))
            .map(|(_, last)| last)
            .collect();
        beside.extend([".", ".."]);
        beside.sort_unstable();
        let mut reserved = crate::domain::RESERVED_EVENT_IDS.to_vec();
        reserved.sort_unstable();
        assert_eq!(reserved, beside);
        for id in crate::domain::RESERVED_EVENT_IDS
            .iter()
            .filter(|i| !i.starts_with('.'))
        {
            let found = find(&format!("{parent}/{id}"), Case::Sensitive).unwrap();
            assert_ne!(found.route.operation, Operation::GetEvent, "{id}");
        }
    }

    #[test]
    fn route_keys_are_method_and_path_and_ids_are_unique() {
        assert_eq!(ROUTES[1].route_key(), "GET /api/Audit/{eventId}");
        let mut ids: Vec<_> = ROUTES.iter().filter_map(|r| r.operation_id).collect();
        let n = ids.len();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), n);
        let mut keys: Vec<_> = ROUTES.iter().map(Route::route_key).collect();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), ROUTES.len());
    }

    #[test]
    fn get_routes_accept_head_and_allowed_methods_follow_the_table() {
        assert!(Method::Get.accepts("HEAD") && Method::Get.accepts("get"));
        assert!(!Method::Get.accepts("POST"));
        assert_eq!(
            allowed_methods("/api/Audit", Case::Sensitive),
            [Method::Get]
        );
        assert!(allowed_methods("/nope", Case::Sensitive).is_empty());
    }
}
