//! Realistic sample events for the local run: every event type, several actors, targets
//! and organizations, spread over the last 90 days, plus a slice inside the historical
//! windows of the API contract's examples so that every example query answers with data.
//!
//! Generation is deterministic for a given count and anchor time (a seeded PRNG and event
//! ids `seed-<n>`), so seeding twice stores each event once.

use chrono::{DateTime, Duration, TimeZone, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

use audit_shared::catalog::{EventType, EVENT_TYPES};

/// The tenant the local run serves when a request carries no token.
pub const LOCAL_TENANT: &str = "local";

/// How far back the recent events reach.
const RECENT_DAYS: i64 = 90;

/// One in this many events falls in the contract's historical example windows.
const HISTORICAL_ONE_IN: usize = 25;

struct Person {
    id: &'static str,
    name: &'static str,
    email: &'static str,
    ip: &'static str,
    org: &'static str,
}

const PEOPLE: &[Person] = &[
    Person {
        id: "u-1001",
        name: "Alice Martin",
        email: "alice.martin@example.com",
        ip: "203.0.113.10",
        org: "org-east",
    },
    Person {
        id: "u-1002",
        name: "Bruno Costa",
        email: "bruno.costa@example.com",
        ip: "203.0.113.24",
        org: "org-east",
    },
    Person {
        id: "u-1003",
        name: "Chen Wei",
        email: "chen.wei@example.com",
        ip: "198.51.100.7",
        org: "org-west",
    },
    Person {
        id: "u-1004",
        name: "Dana Okafor",
        email: "dana.okafor@example.com",
        ip: "198.51.100.42",
        org: "org-west",
    },
    Person {
        id: "u-1005",
        name: "Emil Novak",
        email: "emil.novak@example.com",
        ip: "192.0.2.15",
        org: "org-emea",
    },
    Person {
        id: "u-1006",
        name: "Fatima Haddad",
        email: "fatima.haddad@example.com",
        ip: "2001:db8::1f",
        org: "org-emea",
    },
    Person {
        id: "u-1007",
        name: "Gus Lindqvist",
        email: "gus.lindqvist@example.com",
        ip: "192.0.2.77",
        org: "org-east",
    },
    Person {
        id: "u-1008",
        name: "Hana Sato",
        email: "hana.sato@example.com",
        ip: "2001:db8::2a",
        org: "org-west",
    },
];

const USER_AGENTS: &[&str] = &[
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
];

const FLOWS: &[(&str, &str)] = &[
    ("flow-payroll", "Payroll to bank (SFTP)"),
    ("flow-edi-inbound", "EDI inbound from partners"),
    ("flow-backup", "Nightly backup to S3"),
    ("flow-claims", "Claims export to insurer"),
];
const ENDPOINTS: &[(&str, &str)] = &[
    ("ep-bank-sftp", "Bank SFTP"),
    ("ep-s3-archive", "S3 archive bucket"),
    ("ep-partner-as2", "Partner AS2"),
];
const NODES: &[(&str, &str)] = &[
    ("tn-dc1-01", "ThruNode DC1 #1"),
    ("tn-dc2-01", "ThruNode DC2 #1"),
    ("tn-aws-eu", "ThruNode AWS eu-west-1"),
];
const REPORTS: &[(&str, &str)] = &[
    ("rpt-transfers-daily", "Daily transfers"),
    ("rpt-failures", "Failed transfers"),
    ("rpt-audit-quarter", "Quarterly audit"),
];

/// The windows of the reference examples (docs/api.md) that lie before the recent 90 days.
fn historical_windows() -> [(DateTime<Utc>, DateTime<Utc>); 2] {
    let at = |y, m, d, h, min| {
        Utc.with_ymd_and_hms(y, m, d, h, min, 0)
            .single()
            .unwrap_or_default()
    };
    [
        (at(2023, 10, 18, 5, 0), at(2023, 10, 22, 4, 59)),
        (at(2024, 3, 1, 5, 0), at(2024, 3, 31, 5, 0)),
    ]
}

/// Login events dominate a real audit trail; weight event types accordingly.
fn weight(t: &EventType) -> u32 {
    match t.code.0 {
        201 | 203 => 12,
        202 => 8,
        204 | 211 => 5,
        601..=604 => 6,
        104 | 106 | 108 => 4,
        _ => 2,
    }
}

fn pick<'a, T>(rng: &mut StdRng, items: &'a [T]) -> &'a T {
    &items[rng.random_range(0..items.len())]
}

fn target_of(rng: &mut StdRng, t: &EventType, person: &Person) -> Option<Value> {
    let (kind, (id, name)) = match t.code.0 {
        101 | 201..=211 | 801..=805 => ("User", (person.id, person.name)),
        102 => ("UserGroup", ("grp-operators", "Operators")),
        103 => ("Role", ("role-admin", "Administrators")),
        104 | 501 | 502 | 602 => ("Flow", *pick(rng, FLOWS)),
        105 => ("Organization", (person.org, person.org)),
        106 | 108 | 503 | 601 => ("Endpoint", *pick(rng, ENDPOINTS)),
        107 | 701 | 702 => ("ThruNode", *pick(rng, NODES)),
        109 => ("SSHKey", ("key-ssh-ops", "ops@bastion ed25519")),
        110 => ("PGPKey", ("key-pgp-bank", "Bank PGP 2024")),
        111 => ("Certificate", ("cert-as2", "AS2 signing certificate")),
        301..=304 => ("Alert", ("alert-disk-dc1", "Disk almost full on DC1")),
        401 => ("Report", *pick(rng, REPORTS)),
        603 | 604 => ("File", ("file-invoices-zip", "invoices-2024-03.zip")),
        _ => return None,
    };
    Some(json!({ "type": kind, "id": id, "name": name }))
}

fn changes_of(rng: &mut StdRng, t: &EventType) -> Option<Value> {
    (t.category == 100).then(|| {
        let options = [
            json!([{ "field": "enabled", "oldValue": false, "newValue": true }]),
            json!([{ "field": "schedule", "oldValue": "0 2 * * *", "newValue": "0 3 * * *" },
                   { "field": "retries", "oldValue": 3, "newValue": 5 }]),
            json!([{ "field": "role", "oldValue": "Viewer", "newValue": "Operator" }]),
            json!([{ "field": "host", "oldValue": "sftp1.example.net", "newValue": "sftp2.example.net" }]),
        ];
        pick(rng, &options).clone()
    })
}

/// Generates `count` events for `tenant`, the recent ones within 90 days before `now`.
pub fn generate(tenant: &str, count: usize, now: DateTime<Utc>) -> Vec<Value> {
    let mut rng = StdRng::seed_from_u64(0x5eed_a0d1 ^ count as u64);
    let total_weight: u32 = EVENT_TYPES.iter().map(weight).sum();
    let windows = historical_windows();
    (0..count)
        .map(|n| {
            // The first 36 events cover every type once, the rest follow the weights.
            let t = if n < EVENT_TYPES.len() {
                &EVENT_TYPES[n]
            } else {
                let mut roll = rng.random_range(0..total_weight);
                EVENT_TYPES
                    .iter()
                    .find(|t| {
                        let w = weight(t);
                        if roll < w {
                            true
                        } else {
                            roll -= w;
                            false
                        }
                    })
                    .unwrap_or(&EVENT_TYPES[0])
            };
            let occurred_at = if n % HISTORICAL_ONE_IN == HISTORICAL_ONE_IN - 1 {
                let (from, to) = windows[n / HISTORICAL_ONE_IN % windows.len()];
                from + Duration::milliseconds(rng.random_range(0..(to - from).num_milliseconds()))
            } else {
                now - Duration::milliseconds(rng.random_range(60_000..RECENT_DAYS * 86_400_000))
            };
            let person = pick(&mut rng, PEOPLE);
            let actor = match t.category.0 {
                600 if t.code == 601 => json!({ "type": "system", "name": "Scheduler" }),
                700 => json!({ "id": "svc-installer", "type": "api", "name": "Node installer",
                               "ipAddress": "10.20.0.5" }),
                _ => json!({ "id": person.id, "name": person.name, "email": person.email,
                             "type": "user", "ipAddress": person.ip,
                             "userAgent": *pick(&mut rng, USER_AGENTS) }),
            };
            let mut event = json!({
                "eventId": format!("seed-{n:06}"),
                "tenantId": tenant,
                "eventType": t.code,
                "occurredAt": occurred_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                "actor": actor,
                "organizationId": person.org,
                "description": t.description,
                "source": "mft-portal",
                "correlationId": format!("req-{:08x}", rng.random::<u32>()),
            });
            if let Some(target) = target_of(&mut rng, t, person) {
                event["target"] = target;
            }
            if let Some(changes) = changes_of(&mut rng, t) {
                event["changes"] = changes;
            }
            if t.code == 202 {
                event["metadata"] = json!({ "reason": *pick(&mut rng, &["bad password", "unknown user", "expired password"]) });
            }
            event
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use audit_shared::domain::{AuditEvent, Timestamp};

    use super::*;

    #[test]
    fn seed_events_are_valid_cover_every_type_and_are_deterministic() {
        let now = Utc.with_ymd_and_hms(2026, 11, 26, 12, 0, 0).unwrap();
        let events = generate(LOCAL_TENANT, 500, now);
        assert_eq!(events.len(), 500);
        assert_eq!(events, generate(LOCAL_TENANT, 500, now));
        let server_now = Timestamp::from_datetime_floor(now);
        let parsed: Vec<AuditEvent> = events
            .iter()
            .map(|e| AuditEvent::parse(e, server_now).unwrap())
            .collect();
        let types: BTreeSet<u16> = parsed.iter().map(|e| e.event_type.0).collect();
        assert_eq!(types.len(), EVENT_TYPES.len(), "every event type appears");
        let orgs: BTreeSet<_> = parsed
            .iter()
            .filter_map(|e| e.organization_id.clone())
            .collect();
        assert!(orgs.len() >= 3);
        let oldest_recent = now - Duration::days(RECENT_DAYS);
        let historical = parsed
            .iter()
            .filter(|e| e.occurred_at.as_datetime() < oldest_recent)
            .count();
        assert_eq!(historical, 500 / HISTORICAL_ONE_IN);
        assert!(parsed.iter().all(|e| e.occurred_at.as_datetime() <= now));
    }
}
