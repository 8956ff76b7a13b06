//! The HTTP API: its routes are the route table, only swagger and the verifier key are
//! public, and CORS is off unless origins are given.

use std::collections::BTreeSet;

use audit_shared::api::routes::{Function, ROUTES};
use serde_json::json;

use super::support::{resource, routes, template};

// ------------------------------------------------------------------------------- API

#[test]
fn the_api_routes_are_the_contract_and_only_swagger_and_the_verifier_key_are_public() {
    let t = template();
    let api = &resource(&t, "HttpApi")["Properties"];
    assert_eq!(api["Auth"]["DefaultAuthorizer"], "JwtAuthorizer");
    let jwt = &api["Auth"]["Authorizers"]["JwtAuthorizer"]["JwtConfiguration"];
    assert_eq!(jwt["issuer"], json!({ "Ref": "JwtIssuer" }));
    assert_eq!(jwt["audience"], json!({ "Ref": "JwtAudience" }));
    assert!(api["DefaultRouteSettings"]["ThrottlingRateLimit"].is_object());
    assert!(api["DefaultRouteSettings"]["ThrottlingBurstLimit"].is_object());

    // The route table is the one declaration of the HTTP surface, with the viewer's two
    // static routes, which the swagger function declares and serves (docs/adr/0013-viewer.md).
    let mut expected: BTreeSet<_> = ROUTES
        .iter()
        .map(|r| {
            (
                r.function.logical_id().to_owned(),
                r.method.as_str().to_owned(),
                r.path.to_owned(),
                r.public,
            )
        })
        .collect();
    for path in swagger::VIEWER_ROUTES {
        expected.insert((
            Function::Swagger.logical_id().to_owned(),
            "GET".to_owned(),
            path.to_owned(),
            true,
        ));
    }
    assert_eq!(routes(&t), expected);
    // Only the swagger function's routes and the verifier key are public.
    for route in ROUTES {
        assert_eq!(
            route.public,
            route.function == Function::Swagger
                || route.path == audit_shared::api::routes::LEDGER_KEYS_PATH,
            "{}",
            route.path
        );
    }
}

// ------------------------------------------------------------------------------- CORS

#[test]
fn cors_is_off_by_default_and_when_on_allows_reads_with_a_token() {
    let t = template();
    let parameter = &t["Parameters"]["CorsAllowedOrigins"];
    assert_eq!(parameter["Type"], "String");
    assert_eq!(parameter["Default"], "");
    assert_eq!(
        t["Conditions"]["HasCorsOrigins"],
        json!({ "Fn::Not": [{ "Fn::Equals": [{ "Ref": "CorsAllowedOrigins" }, ""] }] })
    );
    let cors = &resource(&t, "HttpApi")["Properties"]["CorsConfiguration"];
    assert_eq!(
        cors,
        &json!({ "Fn::If": [
            "HasCorsOrigins",
            {
                "AllowOrigins": { "Fn::Split": [",", { "Ref": "CorsAllowedOrigins" }] },
                "AllowMethods": ["GET", "HEAD", "OPTIONS"],
                "AllowHeaders": ["Authorization", "Content-Type"],
                "ExposeHeaders": ["Link", "Server-Timing", "X-Has-More", "X-Next-Token"],
                "AllowCredentials": false,
                "MaxAge": 600
            },
            { "Ref": "AWS::NoValue" }
        ] })
    );
    // Every route's method is allowed.
    let allowed = cors["Fn::If"][1]["AllowMethods"].as_array().unwrap();
    for route in ROUTES {
        assert!(
            allowed.contains(&json!(route.method.as_str())),
            "{}",
            route.path
        );
    }
}
