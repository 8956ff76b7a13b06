//! The authorizer's claims of a local request, from a bearer JWT decoded WITHOUT verifying
//! its signature (local use only: this never runs in a Lambda), in the form API Gateway's
//! JWT authorizer passes them (an `exp` in the past is refused, as the authorizer does;
//! the signature, issuer and audience are not checked). Without a token the default tenant
//! is the caller, as `sam local start-api` has no authorizer either.

use base64::Engine;
use serde_json::{Map, Value};

/// Why a bearer token could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed bearer token: {0}")]
pub struct TokenError(&'static str);

/// The claims of a bearer JWT, decoded without verifying its signature, in the form
/// API Gateway passes them: every value a string, lists as `[a b]`.
pub fn claims_of(
    authorization: Option<&str>,
    default_tenant: &str,
) -> Result<Map<String, Value>, TokenError> {
    let Some(header) = authorization else {
        return Ok(Map::from_iter([(
            "tenantId".to_owned(),
            Value::String(default_tenant.to_owned()),
        )]));
    };
    let token = header
        .strip_prefix("Bearer ")
        .or_else(|| header.strip_prefix("bearer "))
        .ok_or(TokenError(
            "the Authorization header must be `Bearer <jwt>`",
        ))?;
    let payload = token
        .split('.')
        .nth(1)
        .ok_or(TokenError("a JWT has three dot-separated parts"))?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .map_err(|_| TokenError("the payload is not base64url"))?;
    let Ok(Value::Object(claims)) = serde_json::from_slice::<Value>(&bytes) else {
        return Err(TokenError("the payload is not a JSON object"));
    };
    // As API Gateway's JWT authorizer: a token past its `exp` is refused (401), so that a
    // client's renewal (`audit follow --token-command`) is exercised locally too.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    if claims
        .get("exp")
        .and_then(Value::as_f64)
        .is_some_and(|exp| exp <= now)
    {
        return Err(TokenError("the token has expired"));
    }
    Ok(claims
        .into_iter()
        .map(|(k, v)| {
            let text = match v {
                Value::String(s) => s,
                Value::Array(items) => format!(
                    "[{}]",
                    items
                        .iter()
                        .map(|i| i
                            .as_str()
                            .map(str::to_owned)
                            .unwrap_or_else(|| i.to_string()))
                        .collect::<Vec<_>>()
                        .join(" ")
                ),
                other => other.to_string(),
            };
            (k, Value::String(text))
        })
        .collect())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn claims_come_from_the_token_or_the_default_tenant() {
        assert_eq!(claims_of(None, "local").unwrap()["tenantId"], "local");
        let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(r#"{"tenantId":"acme","organizationIds":["org-1","org-2"],"exp":4102444800}"#);
        let claims = claims_of(Some(&format!("Bearer h.{payload}.s")), "local").unwrap();
        assert_eq!(claims["tenantId"], "acme");
        assert_eq!(claims["organizationIds"], "[org-1 org-2]");
        assert_eq!(claims["exp"], "4102444800");
        let expired = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(r#"{"tenantId":"acme","exp":1}"#);
        assert!(claims_of(Some(&format!("Bearer h.{expired}.s")), "local").is_err());
        assert!(claims_of(Some("Basic abc"), "local").is_err());
        assert!(claims_of(Some("Bearer nodots"), "local").is_err());
        assert!(claims_of(Some("Bearer a.!!!.c"), "local").is_err());
    }
}
