//! Who the caller is, from the authorizer's claims only.
//!
//! API Gateway's JWT authorizer passes the verified token's claims in
//! `requestContext.authorizer.jwt.claims`, every value as a string: a list claim arrives as
//! `[org-1 org-2]`. A Lambda authorizer's context (`requestContext.authorizer.lambda`) is
//! read the same way, so either authorizer works. Nothing else (no header, no parameter)
//! can name a tenant.

use std::collections::HashMap;

use audit_shared::domain::TenantId;
use audit_shared::query::Caller;
use audit_shared::store::OrganizationScope;
use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};

use crate::config::ClaimNames;

/// Why a request has no usable identity; the message is for the caller.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClaimError {
    /// No tenant claim.
    #[error("The access token has no {0} claim.")]
    MissingTenant(String),
    /// A tenant claim that is not a tenant id.
    #[error("The access token's {0} claim is not a valid tenant id.")]
    InvalidTenant(String),
}

/// The authorizer's claims, as strings.
fn claims_of(request: &Request) -> HashMap<String, String> {
    let Some(RequestContext::ApiGatewayV2(context)) = request.request_context_ref() else {
        return HashMap::new();
    };
    let Some(authorizer) = &context.authorizer else {
        return HashMap::new();
    };
    let mut claims: HashMap<String, String> = authorizer
        .fields
        .iter()
        .map(|(k, v)| {
            let text = match v {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Array(items) => format!(
                    "[{}]",
                    items
                        .iter()
                        .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_owned))
                        .collect::<Vec<_>>()
                        .join(" ")
                ),
                other => other.to_string(),
            };
            (k.clone(), text)
        })
        .collect();
    if let Some(jwt) = &authorizer.jwt {
        // The JWT's claims win over anything a Lambda authorizer might also pass.
        claims.extend(jwt.claims.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    claims
}

/// Splits a list claim: `[org-1 org-2]` (API Gateway's rendering of a JSON array),
/// `["org-1","org-2"]`, or `org-1,org-2`.
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

/// The caller of `request`: its tenant, and its organizations when the claim restricts it.
pub fn caller_of(request: &Request, names: &ClaimNames) -> Result<Caller, ClaimError> {
    let claims = claims_of(request);
    let tenant = claims
        .get(&names.tenant)
        .map(|t| t.trim())
        .filter(|t| !t.is_empty())
        .ok_or_else(|| ClaimError::MissingTenant(names.tenant.clone()))?;
    let tenant =
        TenantId::parse(tenant).map_err(|_| ClaimError::InvalidTenant(names.tenant.clone()))?;
    let scope = match claims.get(&names.organizations) {
        None => OrganizationScope::Any,
        Some(value) => OrganizationScope::Only(parse_list_claim(value)),
    };
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
}
