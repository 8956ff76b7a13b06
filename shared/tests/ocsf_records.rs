//! The OCSF records of tests/fixtures/ocsf/records.json are what `audit_shared::ocsf`
//! writes for its events, and they cover every event type. The independent validation of
//! those records against the OCSF schema is `make ocsf-check` (tests/ocsf/check_records.py).
//!
//! After a deliberate change of the mapping,
//! `OCSF_SAMPLES_BLESS=1 cargo test -p audit-shared --test ocsf_records` rewrites the records
//! (then `make ocsf-check`).

// A test binary: a panic is the assertion.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;

use audit_shared::catalog::EVENT_TYPES;
use audit_shared::domain::AuditEvent;
use audit_shared::format::Format;
use audit_shared::ocsf::{self, OCSF_VERSION};
use serde_json::Value;

const PATH: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../tests/fixtures/ocsf/records.json"
);

#[test]
fn the_committed_records_are_what_the_code_writes_for_every_event_type() {
    let text = std::fs::read_to_string(PATH).unwrap();
    let mut file: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(file["ocsfVersion"], OCSF_VERSION);
    let mut types = BTreeSet::new();
    let mut changed = 0;
    for sample in file["samples"].as_array_mut().unwrap() {
        let event: AuditEvent = serde_json::from_value(sample["event"].clone()).unwrap();
        assert_eq!(
            serde_json::to_value(&event).unwrap(),
            sample["event"],
            "the sample is an event exactly as the API serves it"
        );
        types.insert(event.event_type);
        let record = ocsf::record(&event);
        // The record keeps the original code, name and category.
        assert_eq!(
            record["unmapped"]["eventType"],
            sample["event"]["eventType"]
        );
        assert_eq!(
            record["unmapped"]["eventTypeName"],
            sample["event"]["eventTypeName"]
        );
        assert_eq!(record["unmapped"]["category"], sample["event"]["category"]);
        assert_eq!(record["metadata"]["uid"], sample["event"]["eventId"]);
        let class = record["class_uid"].as_u64().unwrap();
        assert_eq!(
            record["type_uid"].as_u64().unwrap(),
            class * 100 + record["activity_id"].as_u64().unwrap()
        );
        assert_eq!(record["category_uid"].as_u64().unwrap(), class / 1000);
        // The export writes the same record, one per line.
        let mut line = Vec::new();
        Format::Ocsf
            .write_export(std::slice::from_ref(&event), true, &mut line)
            .unwrap();
        assert_eq!(serde_json::from_slice::<Value>(&line).unwrap(), record);
        if sample.get("record") != Some(&record) {
            changed += 1;
            sample["record"] = record;
        }
    }
    let all: BTreeSet<_> = EVENT_TYPES.iter().map(|t| t.code).collect();
    assert_eq!(types, all, "one sample at least per event type");
    if std::env::var_os("OCSF_SAMPLES_BLESS").is_some() {
        let mut text = serde_json::to_string_pretty(&file).unwrap();
        text.push('\n');
        std::fs::write(PATH, text).unwrap();
    } else {
        assert_eq!(
            changed, 0,
            "records differ from the code's; OCSF_SAMPLES_BLESS=1 rewrites them after a deliberate change"
        );
    }
}
