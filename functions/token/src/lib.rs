//! Cognito's pre-token-generation trigger for the audit log service: puts the claims the
//! API reads, the tenant (`tenantId`) and the organizations the caller may read
//! (`organizationIds`), into the access token Cognito is about to issue
//! (`response.claimsAndScopeOverrideDetails.accessTokenGeneration.claimsToAddOrOverride`
//! of a version 2 or 3 trigger event; docs/auth.md).
//!
//! - **Users** (`TokenGeneration_*` other than client credentials): the tenant is the user's
//!   `custom:tenantId` attribute, or else the one group named `tenant:<id>`; the
//!   organizations are the user's `custom:organizationIds` attribute (ids separated by
//!   commas or spaces) and every group named `org:<id>`. No organization: no
//!   `organizationIds` claim, which the API reads as the whole tenant.
//! - **Machine clients** (`TokenGeneration_ClientCredentials`, a V3_0 trigger): the app
//!   client's id is looked up in [`Settings::machine_clients`] (`AUDIT_MACHINE_CLIENTS`).
//!
//! No tenant found (or two `tenant:` groups): no claim is added, and the API answers that
//! caller 401 naming the missing claim. A tenant or organization id the API would refuse
//! (1 to 128 ASCII letters, digits, `.`, `_`, `-`, `:`) is left out the same way. A V1_0
//! trigger event, which cannot change access tokens, is an error: the sign-in fails with
//! it, so that the misconfiguration is seen at once.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

/// Where the claims' names and the machine clients come from.
pub const ENV_TENANT_CLAIM: &str = "TENANT_CLAIM";
/// The organizations claim's name (the stack's `OrganizationsClaim`).
pub const ENV_ORGANIZATIONS_CLAIM: &str = "ORGANIZATIONS_CLAIM";
/// Machine clients: a JSON object, app client id to `{"tenantId": ..., "organizationIds":
/// [...]}`.
pub const ENV_MACHINE_CLIENTS: &str = "AUDIT_MACHINE_CLIENTS";

/// The user attribute holding the tenant.
pub const TENANT_ATTRIBUTE: &str = "custom:tenantId";
/// The user attribute holding the organizations.
pub const ORGANIZATIONS_ATTRIBUTE: &str = "custom:organizationIds";
/// The prefix of a group naming the user's tenant.
pub const TENANT_GROUP: &str = "tenant:";
/// The prefix of a group naming one of the user's organizations.
pub const ORGANIZATION_GROUP: &str = "org:";
/// The trigger source of a client-credentials (machine) token.
pub const CLIENT_CREDENTIALS: &str = "TokenGeneration_ClientCredentials";

const MAX_ID_LEN: usize = 128;

/// Why a trigger event gets no answer (the sign-in fails).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not a pre-token-generation event of version 2 or 3.
    #[error("{0}")]
    Event(String),
    /// The function's settings are wrong.
    #[error("{0}")]
    Config(String),
}

/// What a caller's token says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Identity {
    /// The tenant.
    pub tenant: String,
    /// The organizations, sorted, without repeats; empty: the whole tenant.
    pub organizations: Vec<String>,
}

/// The function's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// The tenant claim's name (the API's `TenantClaim`, default `tenantId`).
    pub tenant_claim: String,
    /// The organizations claim's name (the API's `OrganizationsClaim`, default
    /// `organizationIds`).
    pub organizations_claim: String,
    /// App client id to identity, for client-credentials tokens.
    pub machine_clients: BTreeMap<String, Identity>,
}

impl Settings {
    /// Reads the settings through `lookup` (the environment, or a map in tests).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, TokenError> {
        let get = |name: &str| {
            lookup(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let machine_clients = match get(ENV_MACHINE_CLIENTS) {
            None => BTreeMap::new(),
            Some(text) => machine_clients(&text)?,
        };
        Ok(Self {
            tenant_claim: get(ENV_TENANT_CLAIM).unwrap_or_else(|| "tenantId".to_owned()),
            organizations_claim: get(ENV_ORGANIZATIONS_CLAIM)
                .unwrap_or_else(|| "organizationIds".to_owned()),
            machine_clients,
        })
    }
}

fn machine_clients(text: &str) -> Result<BTreeMap<String, Identity>, TokenError> {
    let bad = |why: String| TokenError::Config(format!("{ENV_MACHINE_CLIENTS}: {why}"));
    let value: Value = serde_json::from_str(text).map_err(|e| bad(e.to_string()))?;
    let Value::Object(clients) = value else {
        return Err(bad("must be a JSON object of app client ids".to_owned()));
    };
    clients
        .into_iter()
        .map(|(client, entry)| {
            let tenant = entry["tenantId"]
                .as_str()
                .filter(|t| valid_id(t))
                .ok_or_else(|| bad(format!("client {client}: tenantId must be an id")))?;
            let organizations = match &entry["organizationIds"] {
                Value::Null => Vec::new(),
                Value::Array(ids) => ids
                    .iter()
                    .map(|id| id.as_str().filter(|id| valid_id(id)).map(str::to_owned))
                    .collect::<Option<Vec<_>>>()
                    .ok_or_else(|| bad(format!("client {client}: organizationIds must be ids")))?,
                _ => {
                    return Err(bad(format!(
                        "client {client}: organizationIds must be a list"
                    )))
                }
            };
            let identity = Identity {
                tenant: tenant.to_owned(),
                organizations: sorted(organizations),
            };
            Ok((client, identity))
        })
        .collect()
}

/// Whether the API would take `id` as a tenant or organization id.
pub fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_ID_LEN
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | ':'))
}

fn sorted(mut ids: Vec<String>) -> Vec<String> {
    ids.sort();
    ids.dedup();
    ids
}

/// The identity of a user from their attributes and groups; `None` without a tenant.
pub fn user_identity(attributes: &Map<String, Value>, groups: &[String]) -> Option<Identity> {
    let from_groups: Vec<&str> = groups
        .iter()
        .filter_map(|g| g.strip_prefix(TENANT_GROUP))
        .collect();
    let tenant = match attributes.get(TENANT_ATTRIBUTE).and_then(Value::as_str) {
        Some(tenant) => tenant.trim().to_owned(),
        None => match from_groups.as_slice() {
            [one] => (*one).to_owned(),
            [] => return None,
            _ => {
                tracing::warn!(groups = ?from_groups, "more than one tenant group: no tenant claim");
                return None;
            }
        },
    };
    if !valid_id(&tenant) {
        tracing::warn!(tenant, "not a tenant id: no tenant claim");
        return None;
    }
    let listed = attributes
        .get(ORGANIZATIONS_ATTRIBUTE)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .split(|c: char| c == ',' || c.is_whitespace())
        .map(str::trim);
    let grouped = groups
        .iter()
        .filter_map(|g| g.strip_prefix(ORGANIZATION_GROUP));
    let organizations = listed
        .chain(grouped)
        .filter(|id| !id.is_empty())
        .filter(|id| {
            let ok = valid_id(id);
            if !ok {
                tracing::warn!(organization = id, "not an organization id: left out");
            }
            ok
        })
        .map(str::to_owned)
        .collect();
    Some(Identity {
        tenant,
        organizations: sorted(organizations),
    })
}

/// Answers a pre-token-generation trigger event (version 2 or 3): the event, with the
/// claims to add to the access token in its response.
pub fn handle(mut event: Value, settings: &Settings) -> Result<Value, TokenError> {
    if !event.is_object() {
        return Err(TokenError::Event(
            "the trigger event is not a JSON object".to_owned(),
        ));
    }
    let version = match &event["version"] {
        Value::String(v) => v.clone(),
        Value::Number(n) => n.to_string(),
        _ => String::new(),
    };
    if !matches!(version.as_str(), "2" | "3") {
        return Err(TokenError::Event(format!(
            "a pre-token-generation event of version '{version}': configure the trigger as \
             V2_0 (users) or V3_0 (users and machine clients) to customize access tokens"
        )));
    }
    let source = event["triggerSource"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let identity = if source == CLIENT_CREDENTIALS {
        let client = event["callerContext"]["clientId"]
            .as_str()
            .unwrap_or_default();
        let identity = settings.machine_clients.get(client).cloned();
        if identity.is_none() {
            tracing::warn!(client, "a machine client without a tenant: no claims");
        }
        identity
    } else {
        let empty = Map::new();
        let attributes = event["request"]["userAttributes"]
            .as_object()
            .unwrap_or(&empty);
        let groups: Vec<String> = event["request"]["groupConfiguration"]["groupsToOverride"]
            .as_array()
            .map(|groups| {
                groups
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        let identity = user_identity(attributes, &groups);
        if identity.is_none() {
            tracing::warn!(
                user = event["userName"].as_str().unwrap_or_default(),
                "a user without a tenant: no claims"
            );
        }
        identity
    };
    let mut claims = Map::new();
    if let Some(identity) = identity {
        claims.insert(settings.tenant_claim.clone(), json!(identity.tenant));
        if !identity.organizations.is_empty() {
            claims.insert(
                settings.organizations_claim.clone(),
                json!(identity.organizations),
            );
        }
    }
    let details = if claims.is_empty() {
        json!({})
    } else {
        json!({ "accessTokenGeneration": { "claimsToAddOrOverride": claims } })
    };
    match event.get_mut("response") {
        Some(Value::Object(response)) => {
            response.insert("claimsAndScopeOverrideDetails".to_owned(), details);
        }
        _ => {
            event["response"] = json!({ "claimsAndScopeOverrideDetails": details });
        }
    }
    Ok(event)
}

#[cfg(test)]
mod tests;
