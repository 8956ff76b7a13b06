//! The swagger handler against API Gateway HTTP API (payload 2.0) requests, parsed by
//! `lambda_http` exactly as in the Lambda.

// The whole binary is test code: a panic is how a test fails.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use lambda_http::http::header::{
    ALLOW, CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, ETAG, IF_NONE_MATCH, LOCATION,
    X_CONTENT_TYPE_OPTIONS,
};
use lambda_http::http::{HeaderMap, HeaderValue, Method, StatusCode};
use lambda_http::{Body, Request, Response};
use serde_json::Value;
use swagger::{
    respond, Site, DOCUMENT_PATH, PAGE_CSP, RESOURCE_CSP, UI_PATH, VIEWER_CSP, VIEWER_PATH,
};

fn site() -> Site {
    Site::new().unwrap()
}

fn fixture(name: &str) -> Request {
    let path = format!("{}/tests/fixtures/{name}.json", env!("CARGO_MANIFEST_DIR"));
    let json = std::fs::read_to_string(&path).unwrap();
    lambda_http::request::from_str(&json).unwrap()
}

async fn call(name: &str) -> Response<Body> {
    swagger::handle(&site(), fixture(name)).await
}

fn get(site: &Site, path: &str) -> Response<Body> {
    respond(site, &Method::GET, path, &HeaderMap::new())
}

fn header(response: &Response<Body>, name: impl lambda_http::http::header::AsHeaderName) -> &str {
    response
        .headers()
        .get(name)
        .map(|v| v.to_str().unwrap())
        .unwrap_or_default()
}

fn text(response: &Response<Body>) -> &str {
    match response.body() {
        Body::Text(text) => text,
        other => panic!("expected a text body, got {other:?}"),
    }
}

fn bytes(body: &Body) -> &[u8] {
    match body {
        Body::Text(text) => text.as_bytes(),
        Body::Binary(bytes) => bytes,
        Body::Empty => &[],
        other => panic!("unexpected body {other:?}"),
    }
}

fn assert_hardened(response: &Response<Body>) {
    assert_eq!(header(response, X_CONTENT_TYPE_OPTIONS), "nosniff");
    assert!(!header(response, CONTENT_SECURITY_POLICY).is_empty());
    assert!(!header(response, CACHE_CONTROL).is_empty());
}

fn committed_document() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/openapi.json");
    std::fs::read_to_string(path).unwrap()
}

#[tokio::test]
async fn the_ui_page_is_html_under_the_strict_page_policy() {
    let response = call("get-ui").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(header(&response, CONTENT_TYPE), "text/html; charset=utf-8");
    assert_eq!(header(&response, CONTENT_SECURITY_POLICY), PAGE_CSP);
    assert_eq!(header(&response, CACHE_CONTROL), "no-cache");
    assert_hardened(&response);
    let csp = header(&response, CONTENT_SECURITY_POLICY);
    assert!(csp.contains("script-src 'self';"));
    assert!(!csp.contains("unsafe"), "{csp}");
    assert!(text(&response).contains("swagger-initializer.js"));
}

#[tokio::test]
async fn the_page_has_no_inline_script_or_style_for_the_policy_to_block() {
    let response = call("get-ui").await;
    let html = text(&response);
    for (i, tag) in html.match_indices("<script").map(|(i, _)| (i, &html[i..])) {
        let open = &tag[..tag.find('>').unwrap()];
        assert!(open.contains("src="), "inline script at byte {i}: {open}");
    }
    assert!(!html.contains("<style"), "inline <style> element");
    assert!(!html.contains("style="), "inline style attribute");
    assert!(
        !html.contains("http:") && !html.contains("https:"),
        "a resource from elsewhere"
    );
}

#[tokio::test]
async fn every_file_the_page_loads_is_served_with_its_content_type() {
    let site = site();
    let index = get(&site, UI_PATH);
    let html = text(&index);
    let mut loaded = Vec::new();
    for attribute in ["src=\"", "href=\""] {
        for (start, _) in html.match_indices(attribute) {
            let rest = &html[start + attribute.len()..];
            let reference = &rest[..rest.find('"').unwrap()];
            loaded.push(reference.trim_start_matches("./").to_owned());
        }
    }
    assert_eq!(loaded.len(), 7, "{loaded:?}");
    for name in loaded {
        let response = get(&site, &format!("{UI_PATH}{name}"));
        assert_eq!(response.status(), StatusCode::OK, "{name}");
        let expected = match name.rsplit_once('.').unwrap().1 {
            "js" => "text/javascript; charset=utf-8",
            "css" => "text/css; charset=utf-8",
            "png" => "image/png",
            other => panic!("unexpected file type {other}"),
        };
        assert_eq!(header(&response, CONTENT_TYPE), expected, "{name}");
        assert_eq!(header(&response, CONTENT_SECURITY_POLICY), RESOURCE_CSP);
        assert_hardened(&response);
        assert!(!bytes(response.body()).is_empty(), "{name}");
    }
}

#[tokio::test]
async fn images_are_served_as_binary_bodies() {
    let response = get(&site(), &format!("{UI_PATH}favicon-32x32.png"));
    let Body::Binary(png) = response.body() else {
        panic!("expected a binary body");
    };
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
}

#[tokio::test]
async fn the_initializer_loads_the_document_by_a_relative_url_without_the_public_validator() {
    let response = get(&site(), &format!("{UI_PATH}swagger-initializer.js"));
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(header(&response, CACHE_CONTROL), "no-cache");
    let js = text(&response);
    assert!(js.contains("\"url\": \"v1/swagger.json\""), "{js}");
    assert!(js.contains("\"layout\": \"BaseLayout\""), "{js}");
    assert!(js.contains("\"validatorUrl\": \"none\""), "{js}");
    assert!(
        !js.contains("{{config}}"),
        "the template was not filled: {js}"
    );
}

#[tokio::test]
async fn the_document_is_the_committed_openapi_json() {
    let response = call("get-document").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(header(&response, CONTENT_TYPE), "application/json");
    assert_eq!(header(&response, CONTENT_SECURITY_POLICY), RESOURCE_CSP);
    assert_eq!(header(&response, CACHE_CONTROL), "no-cache");
    assert_hardened(&response);
    assert_eq!(text(&response), committed_document());
    let document: Value = serde_json::from_str(text(&response)).unwrap();
    assert_eq!(document["openapi"], "3.1.0");
}

#[tokio::test]
async fn the_etag_is_strong_and_changes_with_the_body() {
    let site = site();
    let document = get(&site, DOCUMENT_PATH);
    let page = get(&site, UI_PATH);
    let etag = header(&document, ETAG);
    assert!(etag.starts_with('"') && etag.ends_with('"'), "{etag}");
    assert_eq!(etag, header(&get(&site, DOCUMENT_PATH), ETAG), "not stable");
    assert_ne!(etag, header(&page, ETAG));
}

#[tokio::test]
async fn a_matching_if_none_match_gets_304_without_a_body() {
    let site = site();
    let etag = header(&get(&site, DOCUMENT_PATH), ETAG).to_owned();
    let mut req = fixture("get-document");
    req.headers_mut()
        .insert(IF_NONE_MATCH, HeaderValue::from_str(&etag).unwrap());
    let response = swagger::handle(&site, req).await;
    assert_eq!(response.status(), StatusCode::NOT_MODIFIED);
    assert!(matches!(response.body(), Body::Empty));
    assert_eq!(header(&response, ETAG), etag);
    assert_eq!(header(&response, CACHE_CONTROL), "no-cache");
}

#[tokio::test]
async fn a_stale_if_none_match_gets_the_full_document() {
    let mut req = fixture("get-document");
    req.headers_mut().insert(
        IF_NONE_MATCH,
        HeaderValue::from_static("\"0123456789abcdef\""),
    );
    let response = swagger::handle(&site(), req).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(text(&response), committed_document());
}

#[tokio::test]
async fn head_answers_the_get_headers_without_the_body() {
    let site = site();
    let head = swagger::handle(&site, fixture("head-document")).await;
    let get = swagger::handle(&site, fixture("get-document")).await;
    assert_eq!(head.status(), StatusCode::OK);
    assert!(matches!(head.body(), Body::Empty));
    for name in [CONTENT_TYPE, ETAG, CACHE_CONTROL, CONTENT_SECURITY_POLICY] {
        assert_eq!(header(&head, name.clone()), header(&get, name));
    }
}

#[tokio::test]
async fn the_path_without_a_slash_redirects_permanently_to_the_ui() {
    let response = call("get-ui-without-slash").await;
    assert_eq!(response.status(), StatusCode::PERMANENT_REDIRECT);
    // Relative to /api/audit/swagger, `swagger/` is /api/audit/swagger/.
    assert_eq!(header(&response, LOCATION), "swagger/");
    assert_eq!(
        format!("/api/audit/{}", header(&response, LOCATION)),
        UI_PATH
    );
    assert!(matches!(response.body(), Body::Empty));
    assert_hardened(&response);
}

#[tokio::test]
async fn an_unknown_path_is_a_404_problem() {
    let response = call("get-unknown").await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(header(&response, CONTENT_TYPE), "application/problem+json");
    assert_eq!(header(&response, CACHE_CONTROL), "no-store");
    assert_hardened(&response);
    let problem: Value = serde_json::from_str(text(&response)).unwrap();
    assert_eq!(problem["status"], 404);
    assert_eq!(problem["title"], "Not Found");
    assert!(problem["detail"].as_str().unwrap().contains(DOCUMENT_PATH));
}

#[tokio::test]
async fn only_the_ui_its_files_and_the_document_exist() {
    let site = site();
    for path in [
        "/",
        "/api/Audit",
        "/api/audit/swaggerx",
        "/api/audit/swagger//",
        "/api/audit/swagger/v1/",
        "/api/audit/swagger/v1/swagger.yaml",
        "/api/audit/swagger/../swagger/v1/swagger.json",
        "/api/audit/swagger/oauth2-redirect.html",
        "/api/audit/swagger/swagger-ui.js",
        "/API/AUDIT/SWAGGER/",
    ] {
        let response = get(&site, path);
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
        assert_eq!(header(&response, CONTENT_TYPE), "application/problem+json");
    }
    assert_eq!(
        get(&site, "/api/audit/swagger/index.html").status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn other_methods_are_a_405_problem_that_lists_get_and_head() {
    let response = call("post-document").await;
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(header(&response, ALLOW), "GET, HEAD");
    assert_eq!(header(&response, CONTENT_TYPE), "application/problem+json");
    let problem: Value = serde_json::from_str(text(&response)).unwrap();
    assert_eq!(problem["status"], 405);
    let site = site();
    for method in [Method::PUT, Method::DELETE, Method::OPTIONS, Method::PATCH] {
        for path in ["/api/audit/swagger", UI_PATH, DOCUMENT_PATH] {
            let response = respond(&site, &method, path, &HeaderMap::new());
            assert_eq!(
                response.status(),
                StatusCode::METHOD_NOT_ALLOWED,
                "{method} {path}"
            );
        }
    }
}

#[tokio::test]
async fn a_named_stage_prefix_is_not_part_of_the_route() {
    let request = fixture("get-ui-named-stage");
    assert_eq!(request.uri().path(), "/prod/api/audit/swagger/");
    let response = swagger::handle(&site(), request).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(header(&response, CONTENT_TYPE), "text/html; charset=utf-8");
}

// ------------------------------------------------------------------ the viewer

/// Every file of the viewer directory, by name, as committed.
fn viewer_sources() -> Vec<(String, String)> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/viewer");
    let mut files: Vec<(String, String)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_str().unwrap().to_owned();
            (name, std::fs::read_to_string(&path).unwrap())
        })
        .collect();
    files.sort();
    files
}

#[tokio::test]
async fn the_viewer_page_is_html_under_its_own_strict_policy() {
    let response = call("get-viewer").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(header(&response, CONTENT_TYPE), "text/html; charset=utf-8");
    assert_eq!(header(&response, CONTENT_SECURITY_POLICY), VIEWER_CSP);
    assert_eq!(header(&response, CACHE_CONTROL), "no-cache");
    assert_hardened(&response);
    let csp = header(&response, CONTENT_SECURITY_POLICY);
    for directive in [
        "default-src 'none'",
        "script-src 'self'",
        "connect-src 'self'",
        "frame-ancestors 'none'",
        "require-trusted-types-for 'script'",
    ] {
        assert!(csp.contains(directive), "{directive} in {csp}");
    }
    assert!(!csp.contains("unsafe"), "{csp}");
    assert!(!csp.contains("data:") && !csp.contains('*'), "{csp}");
    assert!(text(&response).contains("src=\"app.mjs\""));
}

#[tokio::test]
async fn every_viewer_file_in_the_directory_is_served_byte_for_byte() {
    let site = site();
    for (name, source) in viewer_sources() {
        let response = get(&site, &format!("{VIEWER_PATH}{name}"));
        assert_eq!(response.status(), StatusCode::OK, "{name}");
        assert_eq!(bytes(response.body()), source.as_bytes(), "{name}");
        assert_eq!(header(&response, CACHE_CONTROL), "no-cache", "{name}");
        assert_hardened(&response);
    }
}

#[tokio::test]
async fn every_file_the_viewer_loads_is_served_with_its_content_type() {
    let site = site();
    let page = get(&site, VIEWER_PATH);
    let html = text(&page);
    let mut loaded = Vec::new();
    for attribute in ["src=\"", "href=\""] {
        for (start, _) in html.match_indices(attribute) {
            let rest = &html[start + attribute.len()..];
            let reference = &rest[..rest.find('"').unwrap()];
            if !reference.starts_with('#') {
                loaded.push(reference.to_owned());
            }
        }
    }
    // Modules import modules: follow `from './x.mjs'`.
    for (name, source) in viewer_sources() {
        if name.ends_with(".mjs") {
            for (start, _) in source.match_indices("from './") {
                let rest = &source[start + "from './".len()..];
                loaded.push(rest[..rest.find('\'').unwrap()].to_owned());
            }
        }
    }
    loaded.sort();
    assert_eq!(loaded, ["app.mjs", "icon.svg", "verify.mjs", "viewer.css"]);
    for name in loaded {
        let response = get(&site, &format!("{VIEWER_PATH}{name}"));
        assert_eq!(response.status(), StatusCode::OK, "{name}");
        let expected = match name.rsplit_once('.').unwrap().1 {
            "mjs" => "text/javascript; charset=utf-8",
            "css" => "text/css; charset=utf-8",
            "svg" => "image/svg+xml",
            other => panic!("unexpected file type {other}"),
        };
        assert_eq!(header(&response, CONTENT_TYPE), expected, "{name}");
        assert_eq!(header(&response, CONTENT_SECURITY_POLICY), RESOURCE_CSP);
    }
    let module = call("get-viewer-module").await;
    assert_eq!(module.status(), StatusCode::OK);
    assert!(text(&module).contains("export async function verifyEvent"));
}

#[tokio::test]
async fn the_viewer_has_no_inline_script_or_style_and_names_no_other_origin() {
    let response = call("get-viewer").await;
    let html = text(&response);
    for (i, tag) in html.match_indices("<script").map(|(i, _)| (i, &html[i..])) {
        let open = &tag[..tag.find('>').unwrap()];
        assert!(open.contains("src="), "inline script at byte {i}: {open}");
    }
    assert!(!html.contains("<style"), "inline <style> element");
    assert!(!html.contains("style="), "inline style attribute");
    for (name, source) in viewer_sources() {
        // The one URL allowed is the SVG namespace, a name rather than a request.
        let scrubbed = source.replace("xmlns=\"http://www.w3.org/2000/svg\"", "");
        assert!(
            !scrubbed.contains("http:")
                && !scrubbed.contains("https:")
                && !scrubbed.contains("//cdn"),
            "{name} names another origin"
        );
        assert!(!source.contains("innerHTML"), "{name} writes markup");
        assert!(!source.contains("eval("), "{name} evaluates code");
    }
}

#[tokio::test]
async fn the_viewer_without_a_slash_redirects_permanently_to_the_page() {
    let response = call("get-viewer-without-slash").await;
    assert_eq!(response.status(), StatusCode::PERMANENT_REDIRECT);
    // Relative to /api/audit/ui, `ui/` is /api/audit/ui/.
    assert_eq!(header(&response, LOCATION), "ui/");
    assert_eq!(
        format!("/api/audit/{}", header(&response, LOCATION)),
        VIEWER_PATH
    );
    assert!(matches!(response.body(), Body::Empty));
    assert_hardened(&response);
}

#[tokio::test]
async fn the_viewer_page_answers_head_and_if_none_match() {
    let site = site();
    let page = get(&site, VIEWER_PATH);
    let etag = header(&page, ETAG).to_owned();
    assert!(etag.starts_with('"'), "{etag}");
    let head = respond(&site, &Method::HEAD, VIEWER_PATH, &HeaderMap::new());
    assert_eq!(head.status(), StatusCode::OK);
    assert!(matches!(head.body(), Body::Empty));
    assert_eq!(header(&head, ETAG), etag);
    let mut headers = HeaderMap::new();
    headers.insert(IF_NONE_MATCH, HeaderValue::from_str(&etag).unwrap());
    let cached = respond(&site, &Method::GET, VIEWER_PATH, &headers);
    assert_eq!(cached.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(header(&cached, CONTENT_SECURITY_POLICY), VIEWER_CSP);
}

#[tokio::test]
async fn only_the_viewer_files_exist_under_its_path() {
    let site = site();
    for path in [
        "/api/audit/uix",
        "/api/audit/ui//",
        "/api/audit/ui/app.js",
        "/api/audit/ui/../swagger/",
        "/api/audit/ui/index.css",
        "/api/audit/ui/v1/swagger.json",
        "/api/audit/swagger/app.mjs",
        "/API/AUDIT/UI/",
    ] {
        let response = get(&site, path);
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
    }
    for method in [Method::POST, Method::PUT, Method::DELETE] {
        let response = respond(&site, &method, VIEWER_PATH, &HeaderMap::new());
        assert_eq!(
            response.status(),
            StatusCode::METHOD_NOT_ALLOWED,
            "{method}"
        );
    }
    assert_eq!(
        get(&site, "/api/audit/ui/index.html").status(),
        StatusCode::OK
    );
}
