//! Who the caller is, from the authorizer's claims only.
//!
//! API Gateway's JWT authorizer passes the verified token's claims in
//! `requestContext.authorizer.jwt.claims`, every value rendered as a string: a list claim
//! arrives as `[org-1 org-2]`, the number `5` as `"5"` and `null` as `"null"`. A claim's
//! JSON type is still known: the token the authorizer verified is the request's
//! `Authorization` header (the authorizer's identity source), so its payload says whether
//! a claim was a string. A Lambda authorizer's context (`requestContext.authorizer.lambda`)
//! keeps JSON types and is read the same way, so either authorizer works. Nothing else (no
//! other header, no parameter) can name a tenant: the token only confirms a claim's type.
//!
//! The tenant claim must be a JSON string that is a tenant id by the rule of ingestion
//! ([`TenantId::parse`], untrimmed); the organizations claim, when present, a string or a
//! list of strings, each an organization id by the same rule, at most
//! [`MAX_SCOPE_ORGANIZATIONS`] distinct ones (repeats are dropped). Anything else is a 401
//! that names the claim and the rule, never a tenant made up from the value's text.

use audit_shared::domain::{Identifier, TenantId};
use audit_shared::limits::MAX_SCOPE_ORGANIZATIONS;
use audit_shared::query::Caller;
use audit_shared::store::OrganizationScope;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};
use serde_json::{Map, Value};

use crate::config::ClaimNames;

/// Why a request has no usable identity; the message is for the caller.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClaimError {
    /// No tenant claim.
    #[error("The access token has no {0} claim.")]
    MissingTenant(String),
    /// A tenant claim that is not a tenant id.
    #[error("The access token's {claim} claim is not a valid tenant id: it {rule}.")]
    InvalidTenant {
        /// The claim's name.
        claim: String,
        /// The rule it broke.
        rule: String,
    },
    /// An organizations claim that is not a list of organization ids.
    #[error("The access token's {claim} claim is not a list of organization ids: {rule}.")]
    InvalidOrganizations {
        /// The claim's name.
        claim: String,
        /// The rule it broke.
        rule: String,
    },
}

/// The claim `name` of the request's authorizer, with its JSON type when one is known.
fn claim(request: &Request, name: &str) -> Option<Value> {
    let Some(RequestContext::ApiGatewayV2(context)) = request.request_context_ref() else {
        return None;
    };
    let authorizer = context.authorizer.as_ref()?;
    // The JWT's claims win over anything a Lambda authorizer might also pass.
    if let Some(text) = authorizer.jwt.as_ref().and_then(|jwt| jwt.claims.get(name)) {
        return Some(
            match bearer_claims(request).and_then(|mut c| c.remove(name)) {
                // API Gateway rendered a non-string claim as text: the token has its real type.
                Some(typed) if !typed.is_string() => typed,
                _ => Value::String(text.clone()),
            },
        );
    }
    authorizer.fields.get(name).cloned()
}

/// The payload of the request's bearer JWT, decoded but not verified: API Gateway's JWT
/// authorizer verified this very token before the function ran.
fn bearer_claims(request: &Request) -> Option<Map<String, Value>> {
    let header = request
        .headers()
        .get("authorization")?
        .to_str()
        .ok()?
        .trim();
    let token = match header.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => token.trim(),
        _ => header,
    };
    let payload = token.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    match serde_json::from_slice(&bytes).ok()? {
        Value::Object(claims) => Some(claims),
        _ => None,
    }
}

/// The JSON type of `value`, as the rules name it.
fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// Splits a list claim rendered as text: `[org-1 org-2]` (API Gateway's rendering of a JSON
/// array), `["org-1","org-2"]`, or `org-1,org-2`.
pub fn parse_list_claim(value: &str) -> Vec<String> {
    let inner = value.trim();
    let inner = inner
        .strip_prefix('[')
        .and_then(|v| v.strip_suffix(']'))
        .unwrap_or(inner);
    inner
        .split(|c: char| c == ',' || c.is_whitespace())
        .map(|item| item.trim().trim_matches('"'))
        .filter(|item| !item.is_empty())
        .map(str::to_owned)
        .collect()
}

fn tenant_of(value: Option<Value>, claim: &str) -> Result<TenantId, ClaimError> {
    let invalid = |rule: String| ClaimError::InvalidTenant {
        claim: claim.to_owned(),
        rule,
    };
    match value {
        None => Err(ClaimError::MissingTenant(claim.to_owned())),
        Some(Value::String(text)) => TenantId::parse(&text).map_err(|e| invalid(e.message)),
        Some(other) => Err(invalid(format!("must be a string (was {})", kind(&other)))),
    }
}

fn scope_of(value: Option<Value>, claim: &str) -> Result<OrganizationScope, ClaimError> {
    let invalid = |rule: String| ClaimError::InvalidOrganizations {
        claim: claim.to_owned(),
        rule,
    };
    let items: Vec<String> = match value {
        None => return Ok(OrganizationScope::Any),
        Some(Value::String(text)) => parse_list_claim(&text),
        Some(Value::Array(items)) => items
            .into_iter()
            .enumerate()
            .map(|(i, item)| match item {
                Value::String(text) => Ok(text),
                other => Err(invalid(format!(
                    "item {i} must be a string (was {})",
                    kind(&other)
                ))),
            })
            .collect::<Result<_, _>>()?,
        Some(other) => {
            return Err(invalid(format!(
                "it must be a string or a list of strings (was {})",
                kind(&other)
            )))
        }
    };
    for item in &items {
        Identifier::parse("organizationId", item)
            .map_err(|e| invalid(format!("{item:?} {}", e.message)))?;
    }
    let mut items = items;
    items.sort();
    items.dedup();
    if items.len() > MAX_SCOPE_ORGANIZATIONS {
        return Err(invalid(format!(
            "it holds {} distinct organizations, more than the {MAX_SCOPE_ORGANIZATIONS} a caller may be scoped to",
            items.len()
        )));
    }
    Ok(OrganizationScope::Only(items))
}

/// The caller of `request`: its tenant, and its organizations when the claim restricts it.
pub fn caller_of(request: &Request, names: &ClaimNames) -> Result<Caller, ClaimError> {
    let tenant = tenant_of(claim(request, &names.tenant), &names.tenant)?;
    let scope = scope_of(claim(request, &names.organizations), &names.organizations)?;
    Ok(Caller { tenant, scope })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_claims_are_read_in_every_rendering() {
        let expected = vec!["org-1".to_owned(), "org-2".to_owned()];
        assert_eq!(parse_list_claim("[org-1 org-2]"), expected);
        assert_eq!(parse_list_claim("[\"org-1\",\"org-2\"]"), expected);
        assert_eq!(parse_list_claim("org-1, org-2"), expected);
        assert_eq!(parse_list_claim("org-1"), vec!["org-1".to_owned()]);
        assert!(parse_list_claim("[]").is_empty());
    }

    #[test]
    fn organizations_are_deduplicated_and_at_most_the_limit_distinct() {
        let scope = scope_of(Some(serde_json::json!(["org-b", "org-a", "org-b"])), "orgs");
        assert_eq!(
            scope,
            Ok(OrganizationScope::Only(vec![
                "org-a".into(),
                "org-b".into()
            ]))
        );
        // Many repeats of few organizations are fine.
        let repeated: Vec<String> = (0..1000).map(|i| format!("org-{}", i % 3)).collect();
        assert!(scope_of(Some(serde_json::json!(repeated)), "orgs").is_ok());
        let distinct = |n: usize| -> Vec<String> { (0..n).map(|i| format!("org-{i}")).collect() };
        assert!(scope_of(
            Some(serde_json::json!(distinct(MAX_SCOPE_ORGANIZATIONS))),
            "orgs"
        )
        .is_ok());
        let err = scope_of(
            Some(serde_json::json!(distinct(MAX_SCOPE_ORGANIZATIONS + 1))),
            "orgs",
        )
        .unwrap_err();
        let message = err.to_string();
        assert!(
            message.contains("orgs claim") && message.contains("301 distinct"),
            "{message}"
        );
    }
}
