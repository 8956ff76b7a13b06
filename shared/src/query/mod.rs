//! Query planning: from validated filters to index streams, merged lazily in sort-key order.
//!
//! A query names filters ([`Filters`]) and a page ([`Paging`]). The planner ([`plan`]) picks
//! the index that serves the most selective filter and opens one stream per (value, shard);
//! the merge ([`merge`]) interleaves those streams on the sort key, reading from each only
//! as much as the page needs, so a page costs about its size whatever the date range or the
//! table size. Continuation tokens ([`token`]) hold the last sort key returned: every
//! stream resumes strictly after it, so continuing costs the same as the first page.
//!
//! Nothing here knows of HTTP: `crate::api` parses requests into these types and the
//! query function serves the result. ADR 0003 records the choices.

mod execute;
pub mod merge;
pub mod plan;
pub mod token;

use serde::Serialize;
use sha2::{Digest, Sha256};

pub use execute::{run_query, Caller, QueryEnv, QueryPage};
pub use merge::{read_merged_within, MergeOutcome, Stop};
pub use plan::Plan;
pub use token::{CursorError, FeedCursor, PageToken, TokenError, TokenKey};

use crate::catalog::{CategoryCode, EventTypeCode};
use crate::domain::{Identifier, Outcome, TargetRef, Timestamp};
use crate::keys::{self, SortKey};
use crate::store::{Condition, Order, StoreError};

/// What a query keeps, normalized: codes sorted and deduplicated, names resolved, so that
/// two spellings of the same filters (`category=Configuration` and `category=100`) are the
/// same value and bind continuation tokens alike.
///
/// Its JSON form is what [`Filters::digest`] hashes, so continuation tokens already issued
/// depend on it: a field's serialized form must never change (the digests are pinned by a
/// test), and a new filter must serialize to nothing when unset.
///
/// Indexed filters each have a rule in the planner ([`plan`]); every other filter is a
/// condition on items, listed once in [`Filters::unindexed_conditions`].
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Filters {
    /// Category codes given by the caller (empty: any).
    pub categories: Vec<CategoryCode>,
    /// Event type codes to keep (empty: any). When categories were given too, these are
    /// already restricted to types of those categories.
    pub event_types: Vec<EventTypeCode>,
    /// Inclusive lower bound on `occurredAt`.
    pub range_start: Option<Timestamp>,
    /// Inclusive upper bound on `occurredAt`.
    pub range_end: Option<Timestamp>,
    /// Direction of the listing.
    #[serde(serialize_with = "serialize_order")]
    pub order: Order,
    /// Keep only events of this actor id.
    pub actor_id: Option<String>,
    /// Keep only events on this target.
    pub target: Option<TargetRef>,
    /// Keep only events of this organization (served by the organization indexes unless a
    /// sparser one is chosen).
    pub organization_id: Option<Identifier>,
    /// Keep only events with this outcome (`failure` is served by `byFailure` unless a
    /// sparser index is chosen).
    pub outcome: Option<Outcome>,
}

fn serialize_order<S: serde::Serializer>(order: &Order, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(match order {
        Order::Asc => "asc",
        Order::Desc => "desc",
    })
}

impl Filters {
    /// A digest of the normalized filters, which a continuation token carries so that it
    /// only continues the listing it was issued for.
    pub fn digest(&self) -> [u8; 16] {
        // JSON of the normalized struct is unambiguous (strings are quoted and escaped).
        let bytes = serde_json::to_vec(self).unwrap_or_default();
        let full = Sha256::digest(&bytes);
        let mut out = [0u8; 16];
        out.copy_from_slice(&full[..16]);
        out
    }

    /// Inclusive sort-key bounds of the date range.
    pub fn sort_key_range(&self) -> (SortKey, SortKey) {
        let lower = match self.range_start {
            Some(t) => keys::sort_key_from(t),
            None => {
                keys::sort_key_from(Timestamp::from_datetime_floor(chrono::DateTime::UNIX_EPOCH))
            }
        };
        let upper = match self.range_end {
            Some(t) => keys::sort_key_until(t),
            None => SortKey::top(),
        };
        (lower, upper)
    }

    /// The conditions of the filters that are not key values of every plan: they filter
    /// what the chosen partitions yield (and cost nothing when the partition already
    /// implies them). A new non-indexed filter is one line here.
    pub fn unindexed_conditions(&self) -> Vec<Condition> {
        let mut conditions = Vec::new();
        if let Some(outcome) = self.outcome {
            conditions.push(Condition::text(keys::OUTCOME_PATH, outcome.as_str()));
        }
        if let Some(org) = &self.organization_id {
            conditions.push(Condition::text(keys::ORGANIZATION_ID_PATH, org.as_str()));
        }
        conditions
    }
}

/// Which page a query wants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paging {
    /// Items per page.
    pub page_size: u32,
    /// Where the page starts.
    pub start: PageStart,
}

/// Where a page starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PageStart {
    /// The n-th page (1-based): the first `(n - 1) * page_size` items are read and skipped,
    /// so the cost grows with `n` (capped by [`crate::limits::MAX_PAGE_OFFSET`]); tokens
    /// are the constant-cost way on.
    PageNumber(u32),
    /// Right after the page a continuation token was issued with.
    Token(String),
}

/// Why a query failed.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    /// The continuation token is not one this service issued for this caller and filters.
    #[error("invalid continuation token: {0}")]
    Token(#[from] TokenError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Reading stopped before any stream examined anything, so no token can resume it
    /// (not with a budget of one item per stream, which the query always grants).
    #[error("the read budget ran out before anything was read")]
    NothingRead,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Timestamp {
        Timestamp::parse_rfc3339("t", s).unwrap()
    }

    fn target(kind: &str, id: &str) -> TargetRef {
        TargetRef::parse(kind, id).unwrap()
    }

    fn org(id: &str) -> Identifier {
        Identifier::parse("organizationId", id).unwrap()
    }

    #[test]
    fn the_digest_depends_on_every_filter_and_only_on_filters() {
        let base = Filters::default();
        let variants = [
            Filters {
                categories: vec![CategoryCode(100)],
                ..Filters::default()
            },
            Filters {
                event_types: vec![EventTypeCode(202)],
                ..Filters::default()
            },
            Filters {
                range_start: Some(t("2024-03-01T05:00:00Z")),
                ..Filters::default()
            },
            Filters {
                range_end: Some(t("2024-03-01T05:00:00Z")),
                ..Filters::default()
            },
            Filters {
                order: Order::Asc,
                ..Filters::default()
            },
            Filters {
                actor_id: Some("u".into()),
                ..Filters::default()
            },
            Filters {
                target: Some(target("Flow", "f")),
                ..Filters::default()
            },
            Filters {
                organization_id: Some(org("o")),
                ..Filters::default()
            },
            Filters {
                outcome: Some(Outcome::Failure),
                ..Filters::default()
            },
        ];
        let mut digests = vec![base.digest()];
        for v in &variants {
            digests.push(v.digest());
        }
        let mut unique = digests.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), digests.len());
        assert_eq!(base.digest(), Filters::default().digest());
        // Free-form values cannot be confused by shifting text between fields.
        let a = Filters {
            target: Some(target("a", "bc")),
            ..Filters::default()
        };
        let b = Filters {
            target: Some(target("ab", "c")),
            ..Filters::default()
        };
        assert_ne!(a.digest(), b.digest());
    }

    #[test]
    fn unbounded_ranges_enclose_every_sort_key() {
        let (lo, hi) = Filters::default().sort_key_range();
        let first = keys::sort_key(
            t("1970-01-01T00:00:00Z"),
            &crate::domain::EventId::parse("0").unwrap(),
        );
        let last = keys::sort_key(
            t("9999-12-31T23:59:59.999Z"),
            &crate::domain::EventId::parse(&"z".repeat(128)).unwrap(),
        );
        assert!(lo <= first && first <= hi);
        assert!(lo <= last && last <= hi);
    }

    /// Fully populated filters, as the parser builds them.
    fn pinned_filters() -> Vec<Filters> {
        vec![
            Filters {
                categories: vec![CategoryCode(100), CategoryCode(200)],
                event_types: vec![EventTypeCode(202), EventTypeCode(205)],
                range_start: Some(t("2024-03-01T05:00:00Z")),
                range_end: Some(t("2024-03-31T05:00:00.123Z")),
                order: Order::Asc,
                actor_id: Some("u-1".into()),
                target: Some(target("Flow", "f 1")),
                organization_id: Some(org("org-1")),
                outcome: Some(Outcome::Failure),
            },
            Filters {
                categories: vec![CategoryCode(800)],
                event_types: Vec::new(),
                range_start: None,
                range_end: Some(t("2023-10-22T04:59:00Z")),
                order: Order::Desc,
                actor_id: Some("ü\"q".into()),
                target: Some(target("User", "u#1")),
                organization_id: Some(org("org.2")),
                outcome: Some(Outcome::Success),
            },
            Filters::default(),
        ]
    }

    #[test]
    fn the_digest_of_given_filters_never_changes() {
        // Pinned: continuation tokens clients hold carry these digests.
        let hex: Vec<String> = pinned_filters()
            .iter()
            .map(|f| f.digest().iter().map(|b| format!("{b:02x}")).collect())
            .collect();
        assert_eq!(
            hex,
            [
                "2debdf21b5ce9705e0b3a6f44c350105",
                "98c9246210a2de5deb6093c3d791bb72",
                "af68e8de2e386dd73f02cf19b259f994"
            ]
        );
    }
}
