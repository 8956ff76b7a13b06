//! The state file of `audit backfill --state`: the table, the number of Scan segments and,
//! per segment, where its Scan goes on (the last `LastEvaluatedKey`, or done). It is
//! written atomically (a temporary file renamed over it) after every page whose writes all
//! succeeded, so that a run stopped anywhere resumes without skipping an item; items of a
//! page visited twice are found complete and left alone.

use std::collections::HashMap;
use std::path::Path;

use aws_sdk_dynamodb::types::AttributeValue;
use serde::{Deserialize, Serialize};

/// Where a backfill is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct State {
    /// The event table.
    pub table: String,
    /// Scan segments: a state is resumed only with the same number.
    pub segments: u32,
    /// Per segment, its position.
    pub positions: Vec<Position>,
}

/// Where one segment's Scan goes on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "at")]
pub enum Position {
    /// Not started.
    Start,
    /// After this key (string attributes: the table's keys are strings).
    After {
        /// The segment's last `LastEvaluatedKey`.
        key: HashMap<String, String>,
    },
    /// Every item of the segment visited.
    Done,
}

impl State {
    /// A fresh state: every segment at its start.
    pub fn new(table: &str, segments: u32) -> Self {
        Self {
            table: table.to_owned(),
            segments,
            positions: vec![Position::Start; segments as usize],
        }
    }

    /// Reads `path`, or a fresh state when it does not exist. A state of another table or
    /// another number of segments is refused.
    pub fn load_or_new(path: &Path, table: &str, segments: u32) -> Result<Self, String> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Self::new(table, segments))
            }
            Err(e) => {
                return Err(format!(
                    "cannot read the state file {}: {e}",
                    path.display()
                ))
            }
        };
        let state: Self = serde_json::from_str(&text)
            .map_err(|e| format!("the state file {} is not a backfill's: {e}", path.display()))?;
        if state.table != table || state.segments != segments {
            return Err(format!(
                "the state file {} is of a backfill of table '{}' with {} segments, not '{table}' with {segments}: \
                 give the same --table and --segments, or another --state",
                path.display(),
                state.table,
                state.segments
            ));
        }
        if state.positions.len() != segments as usize {
            return Err(format!("the state file {} is damaged", path.display()));
        }
        Ok(state)
    }

    /// Writes the state to `path` atomically.
    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        let mut temporary = path.as_os_str().to_owned();
        temporary.push(".tmp");
        let text = serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?;
        std::fs::write(&temporary, text)?;
        std::fs::rename(&temporary, path)
    }

    /// Whether every segment is done.
    pub fn done(&self) -> bool {
        self.positions.iter().all(|p| *p == Position::Done)
    }
}

impl Position {
    /// The position after a page whose `LastEvaluatedKey` was `key`.
    pub fn after(key: Option<&HashMap<String, AttributeValue>>) -> Result<Self, String> {
        let Some(key) = key else {
            return Ok(Self::Done);
        };
        let key = key
            .iter()
            .map(|(name, value)| match value {
                AttributeValue::S(s) => Ok((name.clone(), s.clone())),
                _ => Err(format!("the key attribute '{name}' is not a string")),
            })
            .collect::<Result<_, _>>()?;
        Ok(Self::After { key })
    }

    /// The `ExclusiveStartKey` to scan from (none at the start).
    pub fn start_key(&self) -> Option<HashMap<String, AttributeValue>> {
        match self {
            Self::After { key } => Some(
                key.iter()
                    .map(|(k, v)| (k.clone(), AttributeValue::S(v.clone())))
                    .collect(),
            ),
            Self::Start | Self::Done => None,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn a_state_round_trips_and_refuses_another_run() {
        let dir = std::env::temp_dir().join(format!("backfill-state-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("state.json");
        let _ = std::fs::remove_file(&path);
        let mut state = State::load_or_new(&path, "t", 2).unwrap();
        let key = HashMap::from([("pk".to_owned(), AttributeValue::S("T#a".to_owned()))]);
        state.positions[0] = Position::after(Some(&key)).unwrap();
        state.positions[1] = Position::after(None).unwrap();
        state.save(&path).unwrap();
        let read = State::load_or_new(&path, "t", 2).unwrap();
        assert_eq!(read, state);
        assert_eq!(read.positions[0].start_key(), Some(key));
        assert!(!read.done());
        assert!(State::load_or_new(&path, "t", 3).is_err());
        assert!(State::load_or_new(&path, "other", 2).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
