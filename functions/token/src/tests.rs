//! The handler on Cognito's documented trigger event shapes (fixtures/): a V2_0 user
//! sign-in and a V3_0 client-credentials grant.

#![allow(clippy::unwrap_used)]

use super::*;

fn fixture(name: &str) -> Value {
    let text = match name {
        "v2" => include_str!("../fixtures/v2-authentication.json"),
        _ => include_str!("../fixtures/v3-client-credentials.json"),
    };
    serde_json::from_str(text).unwrap()
}

fn settings() -> Settings {
    Settings::from_lookup(|name| {
        (name == ENV_MACHINE_CLIENTS).then(|| {
            r#"{"siem0client0id": {"tenantId": "acme", "organizationIds": ["org-1"]}}"#.to_owned()
        })
    })
    .unwrap()
}

fn claims(answer: &Value) -> &Value {
    &answer["response"]["claimsAndScopeOverrideDetails"]["accessTokenGeneration"]
        ["claimsToAddOrOverride"]
}

#[test]
fn a_user_gets_the_tenant_and_organizations_of_their_attributes_and_groups() {
    let event = fixture("v2");
    let answer = handle(event.clone(), &settings()).unwrap();
    assert_eq!(
        claims(&answer),
        &json!({ "tenantId": "acme", "organizationIds": ["org-1", "org-2", "org-3"] })
    );
    // The rest of the event is returned as it came.
    let mut unchanged = answer.clone();
    unchanged["response"] = event["response"].clone();
    assert_eq!(unchanged, event);
}

#[test]
fn without_organizations_the_claim_is_left_out_and_a_tenant_group_names_the_tenant() {
    let mut event = fixture("v2");
    let attributes = event["request"]["userAttributes"].as_object_mut().unwrap();
    attributes.remove(TENANT_ATTRIBUTE);
    attributes.remove(ORGANIZATIONS_ATTRIBUTE);
    event["request"]["groupConfiguration"]["groupsToOverride"] = json!(["tenant:globex"]);
    let answer = handle(event, &settings()).unwrap();
    assert_eq!(claims(&answer), &json!({ "tenantId": "globex" }));
}

#[test]
fn no_tenant_or_an_ambiguous_or_invalid_one_adds_no_claim() {
    for (attribute, groups) in [
        (None, json!([])),
        (None, json!(["tenant:a", "tenant:b"])),
        (Some("not a tenant"), json!([])),
    ] {
        let mut event = fixture("v2");
        let attributes = event["request"]["userAttributes"].as_object_mut().unwrap();
        match attribute {
            Some(value) => attributes.insert(TENANT_ATTRIBUTE.to_owned(), json!(value)),
            None => attributes.remove(TENANT_ATTRIBUTE),
        };
        event["request"]["groupConfiguration"]["groupsToOverride"] = groups;
        let answer = handle(event, &settings()).unwrap();
        assert_eq!(
            answer["response"]["claimsAndScopeOverrideDetails"],
            json!({})
        );
    }
}

#[test]
fn claim_names_follow_the_stack_parameters() {
    let settings = Settings::from_lookup(|name| match name {
        ENV_TENANT_CLAIM => Some("tenant".to_owned()),
        ENV_ORGANIZATIONS_CLAIM => Some("orgs".to_owned()),
        _ => None,
    })
    .unwrap();
    let answer = handle(fixture("v2"), &settings).unwrap();
    assert_eq!(
        claims(&answer),
        &json!({ "tenant": "acme", "orgs": ["org-1", "org-2", "org-3"] })
    );
}

#[test]
fn a_machine_client_gets_its_configured_tenant_and_an_unknown_one_nothing() {
    let answer = handle(fixture("v3"), &settings()).unwrap();
    assert_eq!(
        claims(&answer),
        &json!({ "tenantId": "acme", "organizationIds": ["org-1"] })
    );
    let mut event = fixture("v3");
    event["callerContext"]["clientId"] = json!("someone-else");
    let answer = handle(event, &settings()).unwrap();
    assert_eq!(
        answer["response"]["claimsAndScopeOverrideDetails"],
        json!({})
    );
}

#[test]
fn a_version_1_event_or_bad_settings_are_errors() {
    let mut event = fixture("v2");
    event["version"] = json!("1");
    assert!(matches!(
        handle(event, &settings()),
        Err(TokenError::Event(_))
    ));
    assert!(handle(json!([]), &settings()).is_err());
    for bad in [
        "[]",
        r#"{"c": {}}"#,
        r#"{"c": {"tenantId": "a b"}}"#,
        r#"{"c": {"tenantId": "a", "organizationIds": "o"}}"#,
    ] {
        let result =
            Settings::from_lookup(|name| (name == ENV_MACHINE_CLIENTS).then(|| bad.to_owned()));
        assert!(matches!(result, Err(TokenError::Config(_))), "{bad}");
    }
}
