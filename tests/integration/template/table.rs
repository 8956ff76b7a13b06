//! The table the template deploys is exactly `TableDefinition::audit()` (keys, attribute
//! types, indexes, projections, TTL), on demand, encrypted, recoverable and kept.

use std::collections::BTreeMap;

use audit_shared::table::TableDefinition;
use serde_json::{json, Value};

use super::support::{parse, resource, str_of, template, template_text, TABLE};

// ------------------------------------------------------------------------------- table

/// (attribute, HASH or RANGE) pairs of a key schema.
type KeySchema = Vec<(String, String)>;

/// An index as a comparable value: key schema, projection type, non-key attributes.
type IndexShape = (KeySchema, String, Vec<String>);

/// A table as a comparable value: what the template declares, or what the shared
/// definition requires.
#[derive(Debug, PartialEq, Eq)]
struct TableShape {
    key_schema: KeySchema,
    /// attribute -> type, for every key attribute
    attributes: BTreeMap<String, String>,
    /// index name -> (key schema, projection type, non-key attributes)
    indexes: BTreeMap<String, IndexShape>,
    /// (attribute, enabled)
    ttl: Option<(String, bool)>,
}

fn key_schema(v: &Value) -> KeySchema {
    v.as_array()
        .unwrap_or_else(|| panic!("KeySchema must be a list, found {v}"))
        .iter()
        .map(|k| (str_of(&k["AttributeName"]), str_of(&k["KeyType"])))
        .collect()
}

fn declared_table(template: &Value) -> TableShape {
    declared_table_named(template, TABLE)
}

fn declared_table_named(template: &Value, name: &str) -> TableShape {
    let table = resource(template, name);
    assert_eq!(table["Type"], "AWS::DynamoDB::Table");
    let p = &table["Properties"];
    let attributes = p["AttributeDefinitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (str_of(&a["AttributeName"]), str_of(&a["AttributeType"])))
        .collect::<Vec<_>>();
    let unique: BTreeMap<String, String> = attributes.iter().cloned().collect();
    assert_eq!(
        unique.len(),
        attributes.len(),
        "an attribute is defined twice"
    );
    let indexes = p["GlobalSecondaryIndexes"]
        .as_array()
        .map(|list| {
            list.iter()
                .map(|i| {
                    let projection = &i["Projection"];
                    let non_key = projection["NonKeyAttributes"]
                        .as_array()
                        .map(|a| a.iter().map(str_of).collect())
                        .unwrap_or_default();
                    (
                        str_of(&i["IndexName"]),
                        (
                            key_schema(&i["KeySchema"]),
                            str_of(&projection["ProjectionType"]),
                            non_key,
                        ),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let ttl = p["TimeToLiveSpecification"].as_object().map(|t| {
        (
            str_of(&t["AttributeName"]),
            t["Enabled"].as_bool().unwrap_or(false),
        )
    });
    TableShape {
        key_schema: key_schema(&p["KeySchema"]),
        attributes: unique,
        indexes,
        ttl,
    }
}

fn expected_table(def: &TableDefinition) -> TableShape {
    let hash = |a: &str| (a.to_owned(), "HASH".to_owned());
    let range = |a: &str| (a.to_owned(), "RANGE".to_owned());
    let mut key_schema = vec![hash(def.partition_key)];
    key_schema.extend(def.sort_key.map(range));
    TableShape {
        key_schema,
        attributes: def
            .key_attributes()
            .into_iter()
            .map(|a| (a.to_owned(), "S".to_owned()))
            .collect(),
        indexes: def
            .indexes
            .iter()
            .map(|i| {
                (
                    i.name.to_owned(),
                    (
                        vec![hash(i.partition_key), range(i.sort_key)],
                        i.projection.as_str().to_owned(),
                        i.projection
                            .non_key_attributes()
                            .iter()
                            .map(|a| (*a).to_owned())
                            .collect(),
                    ),
                )
            })
            .collect(),
        ttl: def.ttl_attribute.map(|a| (a.to_owned(), true)),
    }
}

#[test]
fn the_template_table_equals_the_shared_table_definition() {
    assert_eq!(
        declared_table(&template()),
        expected_table(&TableDefinition::audit())
    );
    assert_eq!(
        declared_table_named(&template(), "LedgerTable"),
        expected_table(&TableDefinition::ledger())
    );
}

#[test]
fn a_template_table_that_drifts_from_the_definition_is_detected() {
    let expected = expected_table(&TableDefinition::audit());
    let text = template_text();
    // Edits of the file itself, as a careless change would make them.
    for (from, to) in [
        ("IndexName: byActor", "IndexName: byActors"),
        ("AttributeName: expiresAt", "AttributeName: expiresOn"),
        (
            "{ AttributeName: eventTypePk, AttributeType: S }",
            "{ AttributeName: eventTypePk, AttributeType: N }",
        ),
    ] {
        assert!(text.contains(from), "mutation '{from}' matches nothing");
        let drifted = parse(&text.replacen(from, to, 1));
        assert_ne!(declared_table(&drifted), expected, "{from} -> {to}");
    }
    // Structural edits.
    type Mutation = (&'static str, fn(&mut Value));
    let mutations: Vec<Mutation> = vec![
        ("projection ALL", |t| {
            t["Resources"][TABLE]["Properties"]["GlobalSecondaryIndexes"][1]["Projection"] =
                json!({ "ProjectionType": "ALL" });
        }),
        ("INCLUDE attribute dropped", |t| {
            t["Resources"][TABLE]["Properties"]["GlobalSecondaryIndexes"][6]["Projection"] =
                json!({ "ProjectionType": "INCLUDE", "NonKeyAttributes": [] });
        }),
        ("index dropped", |t| {
            t["Resources"][TABLE]["Properties"]["GlobalSecondaryIndexes"]
                .as_array_mut()
                .unwrap()
                .pop();
        }),
        ("index sort key swapped to HASH", |t| {
            t["Resources"][TABLE]["Properties"]["GlobalSecondaryIndexes"][0]["KeySchema"][1]
                ["KeyType"] = json!("HASH");
        }),
        ("base sort key added", |t| {
            t["Resources"][TABLE]["Properties"]["KeySchema"]
                .as_array_mut()
                .unwrap()
                .push(json!({ "AttributeName": "sk", "KeyType": "RANGE" }));
        }),
        ("TTL disabled", |t| {
            t["Resources"][TABLE]["Properties"]["TimeToLiveSpecification"]["Enabled"] =
                json!(false);
        }),
        ("TTL removed", |t| {
            t["Resources"][TABLE]["Properties"]
                .as_object_mut()
                .unwrap()
                .remove("TimeToLiveSpecification");
        }),
    ];
    for (what, mutate) in mutations {
        let mut drifted = template();
        mutate(&mut drifted);
        assert_ne!(declared_table(&drifted), expected, "{what}");
    }
}

#[test]
fn the_table_is_on_demand_encrypted_recoverable_and_kept() {
    let t = template();
    let table = resource(&t, TABLE);
    assert_eq!(table["DeletionPolicy"], "Retain");
    assert_eq!(table["UpdateReplacePolicy"], "Retain");
    let p = &table["Properties"];
    assert_eq!(p["BillingMode"], "PAY_PER_REQUEST");
    assert_eq!(p["DeletionProtectionEnabled"], true);
    assert_eq!(
        p["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"],
        true
    );
    assert_eq!(p["SSESpecification"]["SSEEnabled"], true);
    assert_eq!(p["SSESpecification"]["SSEType"], "KMS");
    // A fixed name would make a retained table collide with a redeployed stack.
    assert!(p.get("TableName").is_none());
}

#[test]
fn both_tables_take_their_class_from_one_parameter_standard_ia_by_default() {
    let t = template();
    let class = &t["Parameters"]["TableClass"];
    assert_eq!(class["Default"], "STANDARD_INFREQUENT_ACCESS");
    assert_eq!(
        class["AllowedValues"],
        json!(["STANDARD", "STANDARD_INFREQUENT_ACCESS"])
    );
    for table in [TABLE, "LedgerTable"] {
        assert_eq!(
            resource(&t, table)["Properties"]["TableClass"],
            json!({ "Ref": "TableClass" }),
            "{table}"
        );
    }
}
