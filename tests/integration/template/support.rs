//! What the template tests share: `template.yaml` read as CloudFormation sees it (short-form
//! tags in their long form), a resource by name, and the template's HTTP routes.

use std::collections::BTreeSet;

use serde_json::{json, Value};

pub(crate) const TABLE: &str = "AuditTable";
pub(crate) const KEY: &str = "AuditKey";

pub(crate) fn template_text() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../template.yaml");
    std::fs::read_to_string(path).unwrap()
}

pub(crate) fn parse(text: &str) -> Value {
    let yaml: serde_yaml_ng::Value = serde_yaml_ng::from_str(text).unwrap();
    long_form(&yaml)
}

pub(crate) fn template() -> Value {
    parse(&template_text())
}

/// Converts YAML to JSON, turning short-form intrinsic functions into their long form:
/// `!Ref X` -> `{"Ref": "X"}`, `!GetAtt A.B` -> `{"Fn::GetAtt": ["A", "B"]}`,
/// `!Sub s` -> `{"Fn::Sub": s}` and so on.
fn long_form(yaml: &serde_yaml_ng::Value) -> Value {
    use serde_yaml_ng::Value as Y;
    match yaml {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(*b),
        Y::Number(n) => {
            if let Some(i) = n.as_i64() {
                json!(i)
            } else if let Some(u) = n.as_u64() {
                json!(u)
            } else {
                json!(n.as_f64().unwrap())
            }
        }
        Y::String(s) => Value::String(s.clone()),
        Y::Sequence(items) => Value::Array(items.iter().map(long_form).collect()),
        Y::Mapping(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let key = match k {
                        Y::String(s) => s.clone(),
                        other => serde_yaml_ng::to_string(other).unwrap().trim().to_owned(),
                    };
                    (key, long_form(v))
                })
                .collect(),
        ),
        Y::Tagged(tagged) => {
            let tag = tagged.tag.to_string();
            let name = tag.trim_start_matches('!');
            let inner = long_form(&tagged.value);
            match (name, &inner) {
                ("Ref", _) => json!({ "Ref": inner }),
                ("Condition", _) => json!({ "Condition": inner }),
                ("GetAtt", Value::String(s)) => {
                    let (resource, attribute) = s.split_once('.').unwrap();
                    json!({ "Fn::GetAtt": [resource, attribute] })
                }
                _ => json!({ format!("Fn::{name}"): inner }),
            }
        }
    }
}

pub(crate) fn resource<'a>(template: &'a Value, name: &str) -> &'a Value {
    let r = &template["Resources"][name];
    assert!(r.is_object(), "template has no resource {name}");
    r
}

pub(crate) fn str_of(v: &Value) -> String {
    v.as_str()
        .unwrap_or_else(|| panic!("expected a string, found {v}"))
        .to_owned()
}

/// Every HTTP route of the template: (function, method, path, public).
pub(crate) fn routes(t: &Value) -> BTreeSet<(String, String, String, bool)> {
    let mut routes = BTreeSet::new();
    for (name, r) in t["Resources"].as_object().unwrap() {
        if r["Type"] != "AWS::Serverless::Function" {
            continue;
        }
        let events = r["Properties"]["Events"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        for event in events.values().filter(|e| e["Type"] == "HttpApi") {
            let p = &event["Properties"];
            assert_eq!(p["ApiId"], json!({ "Ref": "HttpApi" }), "{name}");
            let public = match p["Auth"]["Authorizer"].as_str() {
                None => false,
                Some("NONE") => true,
                Some(other) => panic!("{name}: unexpected authorizer {other}"),
            };
            routes.insert((
                name.clone(),
                str_of(&p["Method"]),
                str_of(&p["Path"]),
                public,
            ));
        }
    }
    routes
}
