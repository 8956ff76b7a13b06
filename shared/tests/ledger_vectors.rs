//! Every test vector of tests/fixtures/ledger/vectors.json against our implementation.
//!
//! The published sections (`rfc6962`, `rfc8785`) are only ever checked. The computed ones
//! (`events[].leafData`/`leafHash`, `eventTree`, `checkpoints.verifierKey`/`signedNotes`)
//! are checked too; after a deliberate format change
//! `LEDGER_VECTORS_BLESS=1 cargo test -p audit-shared --test ledger_vectors the_computed`
//! rewrites them (then `make ledger-check`: the independent implementation must agree).

// A test binary: a panic is the assertion, helpers included.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use audit_ledger::checkpoint::{origin, Checkpoint};
use audit_ledger::merkle::{self, leaf_hash, Hash, Leaves};
use audit_ledger::{jcs, leaf, Ed25519Signer, SignedCheckpoint, Signer, VerifierKey};
use audit_shared::domain::AuditEvent;
use audit_shared::domain::Timestamp;
use serde_json::{json, Value};

const PATH: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../tests/fixtures/ledger/vectors.json"
);

fn hex32(v: &Value) -> Hash {
    let bytes = hex::decode(v.as_str().unwrap()).unwrap();
    bytes.try_into().unwrap()
}

fn hexes(v: &Value) -> Vec<Hash> {
    v.as_array().unwrap().iter().map(hex32).collect()
}

fn ts(v: &Value) -> Timestamp {
    Timestamp::parse_rfc3339("t", v.as_str().unwrap()).unwrap()
}

/// The computed sections, from the inputs of `file`.
async fn compute(file: &Value) -> Value {
    let mut out = file.clone();
    // Events: leaf data and hash, from the event exactly as the API serves it.
    let mut leaves = Vec::new();
    for entry in out["events"].as_array_mut().unwrap() {
        let event = &entry["event"];
        let served = serde_json::to_value(
            serde_json::from_value::<AuditEvent>(event.clone()).expect("an event as served"),
        )
        .unwrap();
        assert_eq!(&served, event, "the vector is exactly what the API serves");
        let data = leaf::leaf_data(event).unwrap();
        let hash = leaf_hash(&data);
        let id = event["eventId"].as_str().unwrap().to_owned();
        let recorded = event["recordedAt"].as_str().unwrap().to_owned();
        leaves.push((recorded, id, hash));
        entry["leafData"] = json!(String::from_utf8(data).unwrap());
        entry["leafHash"] = json!(hex::encode(hash));
    }
    // The tenant's tree: leaves in (recordedAt, eventId) order, one checkpoint per bucket.
    leaves.sort();
    let hashes: Vec<Hash> = leaves.iter().map(|l| l.2).collect();
    let size = hashes.len() as u64;
    let seed: [u8; 32] = hex::decode(file["checkpoints"]["seed"].as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap();
    let name = file["checkpoints"]["keyName"].as_str().unwrap();
    let signer = Ed25519Signer::from_seed(name, seed).unwrap();
    let tenant_origin = origin(
        file["checkpoints"]["originPrefix"].as_str().unwrap(),
        "acme",
    );
    let mut notes: Vec<SignedCheckpoint> = Vec::new();
    let mut sizes = Vec::new();
    for bucket in file["checkpoints"]["buckets"].as_array().unwrap() {
        let end = bucket["end"].as_str().unwrap();
        let n = leaves.iter().filter(|l| l.0.as_str() < end).count() as u64;
        let root = merkle::root(&Leaves(&hashes), n).unwrap();
        let (start, end) = (ts(&bucket["start"]), ts(&bucket["end"]));
        let body = match notes.last() {
            None => Checkpoint {
                origin: tenant_origin.clone(),
                size: n,
                root,
                bucket_start: start,
                bucket_end: end,
                seq: 0,
                prev: None,
            },
            Some(prev) => prev.next(n, root, start, end),
        };
        notes.push(SignedCheckpoint::sign(body, &signer).await.unwrap());
        sizes.push(n);
    }
    let inclusion: Vec<Value> = leaves
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let proof = merkle::inclusion_proof(&Leaves(&hashes), i as u64, size).unwrap();
            json!({"eventId": l.1, "index": i, "size": size,
                   "proof": proof.iter().map(hex::encode).collect::<Vec<_>>()})
        })
        .collect();
    let consistency: Vec<Value> = sizes
        .windows(2)
        .map(|w| {
            let proof = merkle::consistency_proof(&Leaves(&hashes), w[0], w[1]).unwrap();
            json!({"old": w[0], "new": w[1],
                   "proof": proof.iter().map(hex::encode).collect::<Vec<_>>()})
        })
        .collect();
    out["eventTree"] = json!({
        "order": "leaves sorted by (recordedAt, eventId)",
        "leafHashes": hashes.iter().map(hex::encode).collect::<Vec<_>>(),
        "roots": sizes.iter().map(|&n| json!({"size": n,
            "root": hex::encode(merkle::root(&Leaves(&hashes), n).unwrap())})).collect::<Vec<_>>(),
        "inclusion": inclusion,
        "consistency": consistency,
    });
    let cp = &mut out["checkpoints"];
    cp["publicKey"] = json!(hex::encode(signer.public_key()));
    cp["verifierKey"] = json!(signer.verifier_key().unwrap().to_string());
    cp["signedNotes"] = json!(notes
        .iter()
        .map(|n| String::from_utf8(n.as_bytes().to_vec()).unwrap())
        .collect::<Vec<_>>());
    out
}

#[tokio::test]
async fn the_computed_vectors_are_what_our_code_computes() {
    let text = std::fs::read_to_string(PATH).unwrap();
    let file: Value = serde_json::from_str(&text).unwrap();
    let computed = compute(&file).await;
    if std::env::var_os("LEDGER_VECTORS_BLESS").is_some() {
        std::fs::write(
            PATH,
            serde_json::to_string_pretty(&computed).unwrap() + "\n",
        )
        .unwrap();
        return;
    }
    for section in ["events", "eventTree", "checkpoints"] {
        assert_eq!(file[section], computed[section], "section {section}");
    }
}

#[test]
fn the_published_rfc_6962_tree_is_what_our_code_computes() {
    let file: Value = serde_json::from_str(&std::fs::read_to_string(PATH).unwrap()).unwrap();
    let t = &file["rfc6962"];
    let leaves: Vec<Hash> = t["leaves"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| leaf_hash(&hex::decode(l.as_str().unwrap()).unwrap()))
        .collect();
    assert_eq!(leaves, hexes(&t["leafHashes"]));
    assert_eq!(
        merkle::root(&Leaves(&leaves), 0).unwrap(),
        hex32(&t["emptyRoot"])
    );
    let roots = hexes(&t["roots"]);
    for (i, root) in roots.iter().enumerate() {
        assert_eq!(&merkle::root(&Leaves(&leaves), i as u64 + 1).unwrap(), root);
    }
    for p in t["inclusion"].as_array().unwrap() {
        let (i, n) = (p["index"].as_u64().unwrap(), p["size"].as_u64().unwrap());
        let proof = hexes(&p["proof"]);
        assert_eq!(
            merkle::inclusion_proof(&Leaves(&leaves), i, n).unwrap(),
            proof
        );
        let root = roots[n as usize - 1];
        assert_eq!(
            merkle::verify_inclusion(&leaves[i as usize], i, n, &proof, &root),
            Ok(())
        );
    }
    for p in t["consistency"].as_array().unwrap() {
        let (m, n) = (p["old"].as_u64().unwrap(), p["new"].as_u64().unwrap());
        let proof = hexes(&p["proof"]);
        assert_eq!(
            merkle::consistency_proof(&Leaves(&leaves), m, n).unwrap(),
            proof
        );
        let (a, b) = (roots[m as usize - 1], roots[n as usize - 1]);
        assert_eq!(merkle::verify_consistency(m, n, &proof, &a, &b), Ok(()));
    }
}

#[test]
fn the_published_rfc_8785_values_are_what_our_code_computes() {
    let file: Value = serde_json::from_str(&std::fs::read_to_string(PATH).unwrap()).unwrap();
    for pair in file["rfc8785"]["numbers"].as_array().unwrap() {
        let bits = u64::from_str_radix(pair[0].as_str().unwrap(), 16).unwrap();
        assert_eq!(
            jcs::ecmascript_number(f64::from_bits(bits)),
            pair[1].as_str().unwrap()
        );
    }
    for o in file["rfc8785"]["objects"].as_array().unwrap() {
        let input: Value = serde_json::from_str(o["input"].as_str().unwrap()).unwrap();
        let got = String::from_utf8(jcs::canonicalize(&input).unwrap()).unwrap();
        assert_eq!(got, o["canonical"].as_str().unwrap());
    }
}

#[test]
fn the_vector_checkpoints_verify_chain_and_extend_each_other() {
    let file: Value = serde_json::from_str(&std::fs::read_to_string(PATH).unwrap()).unwrap();
    let key = VerifierKey::parse(file["checkpoints"]["verifierKey"].as_str().unwrap()).unwrap();
    let notes: Vec<SignedCheckpoint> = file["checkpoints"]["signedNotes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| SignedCheckpoint::open(n.as_str().unwrap().as_bytes(), &key).unwrap())
        .collect();
    assert!(notes.len() >= 2);
    let tree = &file["eventTree"];
    let consistency = tree["consistency"].as_array().unwrap();
    for (i, pair) in notes.windows(2).enumerate() {
        pair[0].check_next(&pair[1].checkpoint).unwrap();
        let (a, b) = (&pair[0].checkpoint, &pair[1].checkpoint);
        let proof = hexes(&consistency[i]["proof"]);
        assert_eq!(
            merkle::verify_consistency(a.size, b.size, &proof, &a.root, &b.root),
            Ok(())
        );
    }
    let last = &notes[notes.len() - 1].checkpoint;
    let leaves = hexes(&tree["leafHashes"]);
    for p in tree["inclusion"].as_array().unwrap() {
        let i = p["index"].as_u64().unwrap();
        let proof = hexes(&p["proof"]);
        assert_eq!(
            merkle::verify_inclusion(&leaves[i as usize], i, last.size, &proof, &last.root),
            Ok(())
        );
    }
}

#[test]
fn the_number_vectors_follow_ingestions_rule_and_the_stores_round_trip() {
    use aws_sdk_dynamodb::types::AttributeValue;
    let file: Value = serde_json::from_str(&std::fs::read_to_string(PATH).unwrap()).unwrap();
    let section = &file["numbers"];
    for n in section["accepted"].as_array().unwrap() {
        let input: Value = serde_json::from_str(n["input"].as_str().unwrap()).unwrap();
        assert_eq!(jcs::check_numbers(&input), Ok(()), "{n}");
        // As the store writes and reads it back, then as the API serves it.
        let stored: AttributeValue = serde_dynamo::to_attribute_value(&input).unwrap();
        let back: Value = serde_dynamo::from_attribute_value(stored).unwrap();
        assert_eq!(back.to_string(), n["served"].as_str().unwrap(), "{n}");
        let canonical = String::from_utf8(jcs::canonicalize(&back).unwrap()).unwrap();
        assert_eq!(canonical, n["canonical"].as_str().unwrap(), "{n}");
        assert_eq!(
            jcs::canonicalize(&input).unwrap(),
            canonical.as_bytes(),
            "{n}"
        );
    }
    for text in section["refused"].as_array().unwrap() {
        let input: Value = serde_json::from_str(text.as_str().unwrap()).unwrap();
        assert!(jcs::check_numbers(&input).is_err(), "{text}");
    }
}
