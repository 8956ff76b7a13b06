//! Every limit of the service, defined once. The API documentation, validation and the
//! query planner all read them from here.

/// Largest stored event, in bytes of its JSON form; far below DynamoDB's 400 KB item limit.
pub const MAX_EVENT_BYTES: usize = 64 * 1024;
/// Most events in one ingest batch (`{"events": [...]}`).
pub const MAX_BATCH_EVENTS: usize = 1000;
/// How far in the future `occurredAt` may lie, to absorb clock skew.
pub const MAX_FUTURE_SKEW_SECONDS: i64 = 5 * 60;
/// Longest `description`, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 2000;
/// Most keys in `metadata`.
pub const MAX_METADATA_KEYS: usize = 50;
/// Longest metadata key, in characters.
pub const MAX_METADATA_KEY_CHARS: usize = 128;
/// Longest metadata value, in characters.
pub const MAX_METADATA_VALUE_CHARS: usize = 2048;
/// Most entries in `changes`.
pub const MAX_CHANGES: usize = 200;
/// Longest short text (names, actor id, target id, source, correlation id, change field).
pub const MAX_SHORT_TEXT_CHARS: usize = 256;
/// Longest `actor.userAgent`, in characters.
pub const MAX_USER_AGENT_CHARS: usize = 1024;
/// Longest `actor.email`, in characters (RFC 5321's path limit).
pub const MAX_EMAIL_CHARS: usize = 254;
/// Smallest and largest `pageSize`, and its default.
pub const PAGE_SIZE_MIN: u32 = 1;
/// Largest `pageSize`.
pub const PAGE_SIZE_MAX: u32 = 1000;
/// `pageSize` when the request names none.
pub const PAGE_SIZE_DEFAULT: u32 = 50;
/// Most shards per index partition key (a stack parameter fixed at table creation).
pub const MAX_SHARDS: u16 = 64;
/// Most items one list request reads from DynamoDB when the query function's setting
/// (`AUDIT_QUERY_READ_BUDGET`) names none. Items are counted as DynamoDB counts them,
/// before its FilterExpression: a request whose filters drop most items stops here and
/// answers the matches found so far with a `nextToken` that resumes where reading stopped.
/// These are index items; each one kept costs at most one fetch of its event by key (the
/// query indexes copy only their keys, docs/adr/0011-index-projections.md), so a request
/// reads at most twice this many items in all.
pub const READ_BUDGET_DEFAULT: u64 = 2_000;
/// Smallest read budget the setting accepts.
pub const READ_BUDGET_MIN: u64 = 10;
/// Largest read budget the setting accepts (about 100 MB read by one request at 1 KB an item).
pub const READ_BUDGET_MAX: u64 = 100_000;
/// Most events a `pageNumber` may skip (`(pageNumber - 1) * pageSize`): skipping reads every
/// skipped event, so the deepest page of the largest size, unfiltered, fits in the default
/// read budget; deeper pages must follow `nextToken`, which costs the same for any page.
pub const MAX_PAGE_OFFSET: u64 = READ_BUDGET_DEFAULT - PAGE_SIZE_MAX as u64;
/// Most distinct organizations a caller's organizations claim may hold: each is a value of
/// the FilterExpression that scopes every read, and DynamoDB caps an expression at 4 KB.
pub const MAX_SCOPE_ORGANIZATIONS: usize = 300;
/// Most streams (partition shards) a plan may merge to serve a caller's organizations from
/// the organization indexes; a scope wider than that is read from the tenant-wide indexes
/// with the organizations as a filter, within the read budget (docs/adr/0009-organization-scope.md).
pub const MAX_ORGANIZATION_STREAMS: usize = 64;
