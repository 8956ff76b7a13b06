//! Events as OCSF records (Open Cybersecurity Schema Framework, version [`OCSF_VERSION`]):
//! the mapping of each event type of the catalog to an OCSF class and activity, as data
//! ([`MAPPING`], one entry per type, checked against [`crate::catalog::EVENT_TYPES`]), and
//! [`record`], which writes one event as one record.
//!
//! A record carries the class's required attributes and what the event says, in the fields
//! OCSF has for it:
//! - `category_uid`, `class_uid`, `activity_id`, `type_uid` (`class_uid * 100 +
//!   activity_id`) and their names, `severity_id` (from the mapping), `time` (`occurredAt`,
//!   epoch milliseconds), `status_id`/`status` (from `outcome`: 1 Success, 2 Failure; in
//!   a finding class, the *finding* status instead, [`finding_status`]), `message`
//!   (`description`);
//! - `metadata`: `version`, `product` ([`PRODUCT_NAME`], [`VENDOR_NAME`]), `uid`
//!   (`eventId`), `event_code` (the event type code), `original_time` (`occurredAt` as
//!   text), `logged_time` (`recordedAt`), `tenant_uid`, `correlation_uid`;
//! - `actor.user` (`uid`, `name`, `email_addr`, `type_id` from the actor's type),
//!   `src_endpoint.ip` and `http_request.user_agent` in the classes that have them (else the
//!   actor is kept whole in `unmapped.actor`); Entity Management and Detection Finding
//!   declare the `host` profile (`metadata.profiles`), which gives them `actor`;
//! - Authentication's `service` (the product: a logon needs what it logged on to);
//! - the class's own object: `user` (Authentication, Account Change: the target when it is
//!   user, else the actor), `entity` (Entity Management: the target), `api` (API Activity:
//!   the event type's name as the operation), `file` (File Hosting Activity: the target),
//!   `finding_info` (Detection Finding: the target alert);
//! - `unmapped`: the original `eventType`, `eventTypeName`, `category`, `categoryName` and,
//!   when present, `target`, `changes`, `metadata`, `organizationId`, `source`, so nothing
//!   the event said is lost.
//!
//! Classes that require `src_endpoint` (API Activity, File Hosting Activity) get
//! `{"name": "unknown"}` when the event has no IP address: OCSF asks for at least one of the
//! endpoint's identifying attributes, and the service does not invent one.
//!
//! Every record of `tests/fixtures/ocsf/records.json` (each event type, fully and minimally
//! populated) is validated against the OCSF schema by an independent validator
//! (`make ocsf-check`).

use serde_json::{json, Map, Value};

use crate::catalog::EventTypeCode;
use crate::domain::{ActorType, AuditEvent, Outcome};

/// The OCSF version records follow, pinned: `metadata.version` of every record.
pub const OCSF_VERSION: &str = "1.3.0";
/// `metadata.product.name` of every record.
pub const PRODUCT_NAME: &str = "Audit Log";
/// `metadata.product.vendor_name` of every record.
pub const VENDOR_NAME: &str = "Audit Log service";

/// An OCSF class the service maps to, with its category.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// Detection Finding (2004), category Findings (2).
    DetectionFinding,
    /// Account Change (3001), category Identity & Access Management (3).
    AccountChange,
    /// Authentication (3002), category Identity & Access Management (3).
    Authentication,
    /// Entity Management (3004), category Identity & Access Management (3).
    EntityManagement,
    /// API Activity (6003), category Application Activity (6).
    ApiActivity,
    /// File Hosting Activity (6006), category Application Activity (6).
    FileHosting,
}

impl Class {
    /// `class_uid`.
    pub const fn uid(self) -> u32 {
        match self {
            Class::DetectionFinding => 2004,
            Class::AccountChange => 3001,
            Class::Authentication => 3002,
            Class::EntityManagement => 3004,
            Class::ApiActivity => 6003,
            Class::FileHosting => 6006,
        }
    }

    /// `class_name`.
    pub const fn name(self) -> &'static str {
        match self {
            Class::DetectionFinding => "Detection Finding",
            Class::AccountChange => "Account Change",
            Class::Authentication => "Authentication",
            Class::EntityManagement => "Entity Management",
            Class::ApiActivity => "API Activity",
            Class::FileHosting => "File Hosting Activity",
        }
    }

    /// `category_uid`: the class uid's thousands.
    pub const fn category_uid(self) -> u32 {
        self.uid() / 1000
    }

    /// `category_name`.
    pub const fn category_name(self) -> &'static str {
        match self.category_uid() {
            2 => "Findings",
            3 => "Identity & Access Management",
            _ => "Application Activity",
        }
    }

    /// Whether the class has `http_request` (for the user agent).
    const fn has_http_request(self) -> bool {
        !matches!(self, Class::DetectionFinding | Class::FileHosting)
    }

    /// Whether the class has `src_endpoint` (for the IP address).
    const fn has_src_endpoint(self) -> bool {
        !matches!(self, Class::DetectionFinding)
    }

    /// The OCSF profiles a record of the class declares in `metadata.profiles`: `host`
    /// brings `actor` to the classes that lack it.
    pub const fn profiles(self) -> &'static [&'static str] {
        match self {
            Class::EntityManagement | Class::DetectionFinding => &["host"],
            _ => &[],
        }
    }

    /// Whether the class requires `src_endpoint`.
    const fn requires_src_endpoint(self) -> bool {
        matches!(self, Class::ApiActivity | Class::FileHosting)
    }
}

/// `severity_id` values used (OCSF's enumeration).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// 1.
    Informational,
    /// 2.
    Low,
    /// 3.
    Medium,
}

impl Severity {
    const fn id(self) -> u32 {
        match self {
            Severity::Informational => 1,
            Severity::Low => 2,
            Severity::Medium => 3,
        }
    }

    const fn name(self) -> &'static str {
        match self {
            Severity::Informational => "Informational",
            Severity::Low => "Low",
            Severity::Medium => "Medium",
        }
    }
}

/// How one event type maps: its class, activity and severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mapping {
    /// The event type.
    pub event_type: EventTypeCode,
    /// The OCSF class.
    pub class: Class,
    /// `activity_id` in that class.
    pub activity_id: u32,
    /// `activity_name`: OCSF's caption of that activity.
    pub activity_name: &'static str,
    /// `severity_id`.
    pub severity: Severity,
}

const fn map(
    code: u16,
    class: Class,
    activity_id: u32,
    activity_name: &'static str,
    severity: Severity,
) -> Mapping {
    Mapping {
        event_type: EventTypeCode(code),
        class,
        activity_id,
        activity_name,
        severity,
    }
}

use Class::{
    AccountChange, ApiActivity, Authentication, DetectionFinding, EntityManagement, FileHosting,
};
use Severity::{Informational, Low, Medium};

/// Every event type's mapping, in code order. A configuration change does not say whether
/// it created, updated or deleted its object, so it is Entity Management's `Other`.
pub const MAPPING: &[Mapping] = &[
    map(101, AccountChange, 99, "Other", Informational),
    map(102, EntityManagement, 99, "Other", Informational),
    map(103, EntityManagement, 99, "Other", Informational),
    map(104, EntityManagement, 99, "Other", Informational),
    map(105, EntityManagement, 99, "Other", Informational),
    map(106, EntityManagement, 99, "Other", Informational),
    map(107, EntityManagement, 99, "Other", Informational),
    map(108, EntityManagement, 99, "Other", Informational),
    map(109, EntityManagement, 99, "Other", Informational),
    map(110, EntityManagement, 99, "Other", Informational),
    map(111, EntityManagement, 99, "Other", Informational),
    map(201, Authentication, 1, "Logon", Informational),
    map(202, Authentication, 1, "Logon", Low),
    map(203, Authentication, 2, "Logoff", Informational),
    map(204, Authentication, 1, "Logon", Informational),
    map(205, Authentication, 1, "Logon", Low),
    map(211, Authentication, 99, "Other", Informational),
    map(301, DetectionFinding, 2, "Update", Informational),
    map(302, DetectionFinding, 3, "Close", Informational),
    map(303, DetectionFinding, 2, "Update", Informational),
    map(304, DetectionFinding, 2, "Update", Informational),
    map(401, FileHosting, 2, "Download", Informational),
    map(501, ApiActivity, 2, "Read", Informational),
    map(502, ApiActivity, 1, "Create", Informational),
    map(503, ApiActivity, 2, "Read", Informational),
    map(601, ApiActivity, 99, "Other", Informational),
    map(602, ApiActivity, 99, "Other", Informational),
    map(603, FileHosting, 2, "Download", Informational),
    map(604, FileHosting, 1, "Upload", Informational),
    map(701, EntityManagement, 6, "Enroll", Informational),
    map(702, EntityManagement, 7, "Unenroll", Informational),
    map(801, Authentication, 2, "Logoff", Informational),
    map(802, AccountChange, 9, "Lock", Medium),
    map(803, AccountChange, 99, "Other", Informational),
    map(804, AccountChange, 4, "Password Reset", Informational),
    map(805, AccountChange, 2, "Enable", Informational),
];

/// The mapping of an event type.
pub fn mapping_of(code: EventTypeCode) -> Option<&'static Mapping> {
    MAPPING.iter().find(|m| m.event_type == code)
}

/// Fallback for an event type without a mapping (none, by the test below): Entity
/// Management's `Other`, which requires nothing the event may lack.
const UNMAPPED: Mapping = map(0, EntityManagement, 99, "Other", Informational);

/// The finding status (`status_id`, `status`) of an alert event in a finding class: in
/// OCSF 1.3.0 a finding's `status_id` is the state of the finding, not the outcome of the
/// event. The action of a successful event sets it: acknowledged is 2 In Progress, cleared 4
/// Resolved, suppressed 3 Suppressed, reactivated 1 New. A failed action leaves the state
/// unknown from the event: 99 Other, with `status` `"Unchanged (the action failed)"` (the
/// source's own text OCSF asks for with Other); the outcome is kept in `unmapped.outcome`.
pub fn finding_status(event: &AuditEvent) -> (u32, &'static str) {
    if event.outcome == Outcome::Failure {
        return (99, "Unchanged (the action failed)");
    }
    match event.event_type.0 {
        301 => (2, "In Progress"),
        302 => (4, "Resolved"),
        303 => (3, "Suppressed"),
        304 => (1, "New"),
        _ => (99, "Other"),
    }
}

/// The OCSF record of one event.
pub fn record(event: &AuditEvent) -> Value {
    let m = mapping_of(event.event_type).unwrap_or(&UNMAPPED);
    let class = m.class;
    let mut r = Map::new();
    r.insert("category_uid".into(), json!(class.category_uid()));
    r.insert("category_name".into(), json!(class.category_name()));
    r.insert("class_uid".into(), json!(class.uid()));
    r.insert("class_name".into(), json!(class.name()));
    r.insert("activity_id".into(), json!(m.activity_id));
    r.insert("activity_name".into(), json!(m.activity_name));
    r.insert(
        "type_uid".into(),
        json!(u64::from(class.uid()) * 100 + u64::from(m.activity_id)),
    );
    r.insert(
        "type_name".into(),
        json!(format!("{}: {}", class.name(), m.activity_name)),
    );
    r.insert("severity_id".into(), json!(m.severity.id()));
    r.insert("severity".into(), json!(m.severity.name()));
    r.insert("time".into(), json!(event.occurred_at.millis()));
    let (status_id, status) = if class == Class::DetectionFinding {
        finding_status(event)
    } else {
        match event.outcome {
            Outcome::Success => (1, "Success"),
            Outcome::Failure => (2, "Failure"),
        }
    };
    r.insert("status_id".into(), json!(status_id));
    r.insert("status".into(), json!(status));
    if let Some(description) = &event.description {
        r.insert("message".into(), json!(description));
    }
    r.insert("metadata".into(), metadata(event, class));
    let actor_user = actor_user(event);
    r.insert("actor".into(), json!({ "user": actor_user.clone() }));
    match (event.actor.ip_address, class.requires_src_endpoint()) {
        (Some(ip), _) if class.has_src_endpoint() => {
            r.insert("src_endpoint".into(), json!({ "ip": ip.to_string() }));
        }
        (None, true) => {
            r.insert("src_endpoint".into(), json!({ "name": "unknown" }));
        }
        _ => {}
    }
    if let (Some(agent), true) = (&event.actor.user_agent, class.has_http_request()) {
        r.insert("http_request".into(), json!({ "user_agent": agent }));
    }
    let target_name = event
        .target
        .as_ref()
        .map(|t| t.name.clone().unwrap_or_else(|| t.id.clone()));
    match class {
        Class::Authentication | Class::AccountChange => {
            if class == Class::Authentication {
                // Authentication needs the service or the endpoint logged on to.
                r.insert("service".into(), json!({ "name": PRODUCT_NAME }));
            }
            let user = match &event.target {
                Some(t) if t.target_type.as_str().eq_ignore_ascii_case("user") => {
                    let mut user = Map::new();
                    user.insert("uid".into(), json!(t.id));
                    if let Some(name) = &t.name {
                        user.insert("name".into(), json!(name));
                    }
                    Value::Object(user)
                }
                _ => actor_user,
            };
            r.insert("user".into(), user);
        }
        Class::EntityManagement => {
            let entity = match &event.target {
                Some(t) => {
                    let mut entity = Map::new();
                    entity.insert("uid".into(), json!(t.id));
                    entity.insert("type".into(), json!(t.target_type.as_str()));
                    if let Some(name) = &t.name {
                        entity.insert("name".into(), json!(name));
                    }
                    Value::Object(entity)
                }
                None => json!({ "name": event.event_type_name }),
            };
            r.insert("entity".into(), entity);
        }
        Class::ApiActivity => {
            r.insert("api".into(), json!({ "operation": event.event_type_name }));
        }
        Class::FileHosting => {
            let name = target_name.unwrap_or_else(|| event.event_type_name.clone());
            let mut file = Map::new();
            file.insert("name".into(), json!(name));
            // 1: Regular File.
            file.insert("type_id".into(), json!(1));
            if let Some(t) = &event.target {
                file.insert("uid".into(), json!(t.id));
            }
            r.insert("file".into(), Value::Object(file));
        }
        Class::DetectionFinding => {
            let (uid, title) = match &event.target {
                Some(t) => (t.id.clone(), target_name.unwrap_or_default()),
                None => (
                    event.event_id.as_str().to_owned(),
                    event.event_type_name.clone(),
                ),
            };
            r.insert("finding_info".into(), json!({ "uid": uid, "title": title }));
        }
    }
    r.insert("unmapped".into(), unmapped(event, class));
    Value::Object(r)
}

fn metadata(event: &AuditEvent, class: Class) -> Value {
    let mut m = Map::new();
    m.insert("version".into(), json!(OCSF_VERSION));
    if !class.profiles().is_empty() {
        m.insert("profiles".into(), json!(class.profiles()));
    }
    m.insert(
        "product".into(),
        json!({ "name": PRODUCT_NAME, "vendor_name": VENDOR_NAME }),
    );
    m.insert("uid".into(), json!(event.event_id.as_str()));
    m.insert("event_code".into(), json!(event.event_type.to_string()));
    m.insert("original_time".into(), json!(event.occurred_at.to_string()));
    m.insert("logged_time".into(), json!(event.recorded_at.millis()));
    m.insert("tenant_uid".into(), json!(event.tenant_id.as_str()));
    if let Some(correlation) = &event.correlation_id {
        m.insert("correlation_uid".into(), json!(correlation));
    }
    Value::Object(m)
}

/// `actor.user`: who acted. A system actor without an id is named `system`.
fn actor_user(event: &AuditEvent) -> Value {
    let actor = &event.actor;
    let mut user = Map::new();
    if let Some(id) = &actor.id {
        user.insert("uid".into(), json!(id));
    }
    match (&actor.name, &actor.id, actor.actor_type) {
        (Some(name), _, _) => {
            user.insert("name".into(), json!(name));
        }
        (None, None, ActorType::System) => {
            user.insert("name".into(), json!("system"));
        }
        _ => {}
    }
    if let Some(email) = &actor.email {
        user.insert("email_addr".into(), json!(email));
    }
    // OCSF's user types: 1 User, 3 System, 99 Other.
    let (type_id, type_name) = match actor.actor_type {
        ActorType::User => (1, "User"),
        ActorType::System => (3, "System"),
        ActorType::Api => (99, "API"),
    };
    user.insert("type_id".into(), json!(type_id));
    user.insert("type".into(), json!(type_name));
    Value::Object(user)
}

fn unmapped(event: &AuditEvent, class: Class) -> Value {
    let mut u = Map::new();
    let lost_ip = event.actor.ip_address.is_some() && !class.has_src_endpoint();
    let lost_agent = event.actor.user_agent.is_some() && !class.has_http_request();
    if lost_ip || lost_agent {
        // The class has no field for them: the actor as the event gave it.
        u.insert("actor".into(), json!(event.actor));
    }
    u.insert("eventType".into(), json!(event.event_type));
    u.insert("eventTypeName".into(), json!(event.event_type_name));
    u.insert("category".into(), json!(event.category));
    u.insert("categoryName".into(), json!(event.category_name));
    if let Some(target) = &event.target {
        u.insert("target".into(), json!(target));
    }
    if !event.changes.is_empty() {
        u.insert("changes".into(), json!(event.changes));
    }
    if !event.metadata.is_empty() {
        u.insert("metadata".into(), json!(event.metadata));
    }
    if let Some(org) = &event.organization_id {
        u.insert("organizationId".into(), json!(org.as_str()));
    }
    if let Some(source) = &event.source {
        u.insert("source".into(), json!(source));
    }
    if class == Class::DetectionFinding {
        // Its status is the finding's: the event's outcome is kept here.
        u.insert("outcome".into(), json!(event.outcome));
    }
    Value::Object(u)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::EVENT_TYPES;

    #[test]
    fn every_catalog_type_has_exactly_one_mapping_and_nothing_else_has_one() {
        for t in EVENT_TYPES {
            let n = MAPPING.iter().filter(|m| m.event_type == t.code).count();
            assert_eq!(n, 1, "{} {}", t.code, t.name);
        }
        assert_eq!(MAPPING.len(), EVENT_TYPES.len());
    }

    #[test]
    fn activities_exist_in_their_class_and_type_uids_derive_from_them() {
        // OCSF 1.3.0's activities of each class used (their captions).
        let activities = |class: Class| -> &'static [(u32, &'static str)] {
            match class {
                Class::DetectionFinding => {
                    &[(1, "Create"), (2, "Update"), (3, "Close"), (99, "Other")]
                }
                Class::AccountChange => &[
                    (1, "Create"),
                    (2, "Enable"),
                    (3, "Password Change"),
                    (4, "Password Reset"),
                    (5, "Disable"),
                    (6, "Delete"),
                    (9, "Lock"),
                    (99, "Other"),
                ],
                Class::Authentication => &[(1, "Logon"), (2, "Logoff"), (99, "Other")],
                Class::EntityManagement => &[
                    (1, "Create"),
                    (2, "Read"),
                    (3, "Update"),
                    (4, "Delete"),
                    (6, "Enroll"),
                    (7, "Unenroll"),
                    (99, "Other"),
                ],
                Class::ApiActivity => &[
                    (1, "Create"),
                    (2, "Read"),
                    (3, "Update"),
                    (4, "Delete"),
                    (99, "Other"),
                ],
                Class::FileHosting => &[(1, "Upload"), (2, "Download"), (99, "Other")],
            }
        };
        for m in MAPPING {
            assert!(
                activities(m.class).contains(&(m.activity_id, m.activity_name)),
                "{m:?}"
            );
        }
    }

    #[test]
    fn a_finding_gets_the_finding_status_of_its_action_and_others_the_outcome() {
        let event = |code: u16, outcome: &str| {
            let value = json!({
                "eventId": "e-1", "tenantId": "acme", "eventType": code,
                "occurredAt": "2024-03-01T05:00:00.000Z", "outcome": outcome,
                "actor": { "id": "u-1" }, "target": { "type": "Alert", "id": "a-1" }
            });
            let now =
                crate::domain::Timestamp::parse_rfc3339("now", "2024-03-01T06:00:00.000Z").unwrap();
            record(&AuditEvent::parse(&value, now).unwrap())
        };
        for (code, id, caption) in [
            (301, 2, "In Progress"),
            (302, 4, "Resolved"),
            (303, 3, "Suppressed"),
            (304, 1, "New"),
        ] {
            let r = event(code, "success");
            assert_eq!(
                (r["status_id"].clone(), r["status"].clone()),
                (json!(id), json!(caption))
            );
            assert_eq!(r["unmapped"]["outcome"], "success");
            let r = event(code, "failure");
            assert_eq!(r["status_id"], 99);
            assert_eq!(r["status"], "Unchanged (the action failed)");
            assert_eq!(r["unmapped"]["outcome"], "failure");
        }
        let r = event(202, "failure");
        assert_eq!(
            (r["status_id"].clone(), r["status"].clone()),
            (json!(2), json!("Failure"))
        );
        assert!(r["unmapped"].get("outcome").is_none());
    }
}
