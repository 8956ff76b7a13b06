//! The names of the query parameters the routes share (case-sensitive, as the contract
//! spells them), so that a route, its tests and the clients that build requests say them
//! one way.

/// `category`: category codes or names, comma-separated.
pub const CATEGORY: &str = "category";
/// `eventType`: event type codes or names, comma-separated.
pub const EVENT_TYPE: &str = "eventType";
/// `rangeStart`: the inclusive lower bound of a time range.
pub const RANGE_START: &str = "rangeStart";
/// `rangeEnd`: the inclusive upper bound of a time range.
pub const RANGE_END: &str = "rangeEnd";
/// `pageSize`: items per page.
pub const PAGE_SIZE: &str = "pageSize";
/// `pageNumber`: 1-based page number.
pub const PAGE_NUMBER: &str = "pageNumber";
/// `nextToken`: continuation token of the previous page.
pub const NEXT_TOKEN: &str = "nextToken";
/// `order`: `desc` or `asc`.
pub const ORDER: &str = "order";
/// `actorId`: the actor's id.
pub const ACTOR_ID: &str = "actorId";
/// `targetType`: the target's type (with `targetId`).
pub const TARGET_TYPE: &str = "targetType";
/// `targetId`: the target's id (with `targetType`).
pub const TARGET_ID: &str = "targetId";
/// `organizationId`: one organization of the tenant.
pub const ORGANIZATION_ID: &str = "organizationId";
/// `outcome`: `success` or `failure`.
pub const OUTCOME: &str = "outcome";
/// `format`: the response's format (`json`, `ndjson`, `csv`, `ocsf`); wins over `Accept`.
pub const FORMAT: &str = "format";
