//! Query parameters as data, for every route: one [`Param`] descriptor each (its name,
//! whether it may repeat or is required, its OpenAPI description, schema and example, and
//! how it parses into the route's draft), read both by the one parse loop ([`parse_query`])
//! and by the OpenAPI document ([`documented`]).
//!
//! The loop owns the rules every route shares, so that no route words them its own way:
//! an unknown parameter is refused, naming the route's known ones (a typo such as
//! `rangestart` must not silently return everything); a parameter that may not repeat is
//! given at most once; an empty value is refused rather than read as "no filter"; a required
//! parameter must be there. Every broken rule is reported at once, each naming its
//! parameter. The route's own rules that span parameters (a range's order, a target's two
//! halves) run once every parameter is parsed.
//!
//! - [`descriptor`]: the descriptor, the loop and the document's listing of a route's
//!   parameters;
//! - [`names`]: the parameter names the routes share;
//! - [`list`]: `GET /api/Audit`'s table ([`LIST_PARAMS`]) and [`parse_list_query`];
//! - [`shared`]: the parameters the feed shares with the listing (`category`, `eventType`,
//!   `pageSize`, `format`), so that both refuse a value alike, with the same message;
//! - [`values`]: the value rules every route may use (whole numbers, range bounds and their
//!   order, identifiers, the format and its negotiation with `Accept`);
//! - [`path`]: the `{eventId}` path parameter.
//!
//! The feed's and the ledger routes' tables live with their routes (`super::feed`,
//! `super::ledger`); this module depends on neither. Its files import one another by name
//! (`super::values`), never through this one, which only gathers them.

pub mod descriptor;
pub mod list;
pub mod names;
pub mod path;
pub mod shared;
pub mod values;

pub use descriptor::{documented, parse_query, Given, Param, ParamDoc, Style};
pub use list::{parse_list_query, AuditQuery, ListEventsParams, LIST_PARAMS};
pub use names::*;
pub use path::{parse_event_id, GetEventParams, EVENT_ID_PATTERN};
pub use values::{negotiate_format, FormatRefusal};
