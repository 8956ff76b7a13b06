//! JSON text in a stable order: objects keep their members in document order (utoipa's
//! declaration order, not serde_json's alphabetical maps), with `x-` extensions last and
//! sorted, because utoipa keeps extensions in a `HashMap` whose order changes between runs.

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::Value;

/// A JSON value whose objects keep their members in document order, so that the pretty text
/// follows utoipa's declaration order instead of serde_json's alphabetical maps.
pub(super) enum Node {
    Scalar(Value),
    Array(Vec<Node>),
    Object(Vec<(String, Node)>),
}

impl Node {
    /// Puts the `x-` members of every object last, sorted, keeping the other members' order.
    pub(super) fn sort_extensions(&mut self) {
        match self {
            Node::Scalar(_) => {}
            Node::Array(items) => items.iter_mut().for_each(Node::sort_extensions),
            Node::Object(members) => {
                // A stable sort: non-extension members all compare equal and keep their order.
                members.sort_by(|(a, _), (b, _)| {
                    let key = |k: &str| k.starts_with("x-").then(|| k.to_owned());
                    key(a).cmp(&key(b))
                });
                members
                    .iter_mut()
                    .for_each(|(_, value)| value.sort_extensions());
            }
        }
    }
}

impl Serialize for Node {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Node::Scalar(value) => value.serialize(serializer),
            Node::Array(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Node::Object(members) => {
                let mut map = serializer.serialize_map(Some(members.len()))?;
                for (key, value) in members {
                    map.serialize_entry(key, value)?;
                }
                map.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Node, E> {
        Ok(Node::Scalar(Value::Bool(v)))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Node, E> {
        Ok(Node::Scalar(Value::from(v)))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Node, E> {
        Ok(Node::Scalar(Value::from(v)))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Node, E> {
        Ok(Node::Scalar(Value::from(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Node, E> {
        Ok(Node::Scalar(Value::from(v)))
    }
    fn visit_string<E>(self, v: String) -> Result<Node, E> {
        Ok(Node::Scalar(Value::String(v)))
    }
    fn visit_unit<E>(self) -> Result<Node, E> {
        Ok(Node::Scalar(Value::Null))
    }
    fn visit_none<E>(self) -> Result<Node, E> {
        Ok(Node::Scalar(Value::Null))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Node::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut members = Vec::new();
        while let Some(member) = map.next_entry()? {
            members.push(member);
        }
        Ok(Node::Object(members))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extension_members_come_last_in_sorted_order() {
        let mut node: Node =
            serde_json::from_str(r#"{"x-b":1,"title":"t","x-a":2,"type":"object"}"#).unwrap();
        node.sort_extensions();
        assert_eq!(
            serde_json::to_string(&node).unwrap(),
            r#"{"title":"t","type":"object","x-a":2,"x-b":1}"#
        );
    }
}
